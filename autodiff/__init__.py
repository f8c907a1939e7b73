"""autodiff: a numpy Tensor that records its computation graph, and reverse-mode gradients.

from autodiff import Tensor
x = Tensor([[1.0, 2.0]], requires_grad=True)
y = (x * x).sum()
y.backward()          # x.grad == 2 * x.data

A house of four rooms, each importing only the rooms before it. Read the core first:
- core/           the Tensor, `apply`, the elementary ops (each with its code form), the
                  backward walk and `grad`, no_grad (its __init__ gives the reading order)
- numpy_surface/  numpy's dispatch protocols, the rest of the derivative table, linear
                  algebra and layout functions; importing it installs numpy's protocols
- tools/          the in-place protection, gradcheck, detect_anomaly, compare_gradients,
                  gradient_source, capture
- drawing/        graphviz drawings of the graph, and the explorer page stepping through it
ops.py, tensor.py and draw.py keep the old paths `autodiff.ops.X`, `autodiff.tensor.Tensor`
and `autodiff.draw.render`.
"""

from . import (  # noqa: F401  (the old paths autodiff.ops.X, autodiff.tensor.X)
    numpy_surface,  # noqa: F401  (installs numpy's protocols on the Tensor)
    ops,
    tensor,
)
from .core import (
    Code,
    CodeUnavailable,
    Op,
    ShapeError,
    Tensor,
    apply,
    backpropagate,
    enable_grad,
    grad,
    no_grad,
    sum_to_shape,
    topological_order,
)
from .drawing import draw_graph, explore
from .numpy_surface import concatenate, maximum, minimum, stack, where
from .tools import (
    AnomalyError,
    Captured,
    GradcheckError,
    GradientComparison,
    GradientRow,
    capture,
    compare_gradients,
    detect_anomaly,
    gradcheck,
    gradient_source,
    numerical_gradient,
)

__all__ = [
    "AnomalyError",
    "Captured",
    "Code",
    "CodeUnavailable",
    "GradcheckError",
    "GradientComparison",
    "GradientRow",
    "Op",
    "ShapeError",
    "Tensor",
    "apply",
    "backpropagate",
    "capture",
    "compare_gradients",
    "concatenate",
    "detect_anomaly",
    "draw_graph",
    "enable_grad",
    "explore",
    "grad",
    "gradcheck",
    "gradient_source",
    "maximum",
    "minimum",
    "no_grad",
    "numerical_gradient",
    "stack",
    "sum_to_shape",
    "topological_order",
    "where",
]
