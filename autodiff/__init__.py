"""autodiff: a numpy Tensor that records its computation graph, and reverse-mode gradients.

from autodiff import Tensor
x = Tensor([[1.0, 2.0]], requires_grad=True)
y = (x * x).sum()
y.backward()          # x.grad == 2 * x.data
"""

from .anomaly import AnomalyError
from .capture import Captured, capture
from .compare import GradientComparison, GradientRow, compare_gradients
from .draw import draw_graph
from .engine import backpropagate, grad, sum_to_shape, topological_order
from .function import Op
from .functions import concatenate, maximum, minimum, stack, where
from .gradcheck import GradcheckError, gradcheck, numerical_gradient
from .mode import detect_anomaly, enable_grad, no_grad
from .tensor import ShapeError, Tensor, apply

__all__ = [
    "AnomalyError",
    "Captured",
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
    "grad",
    "gradcheck",
    "maximum",
    "minimum",
    "no_grad",
    "numerical_gradient",
    "stack",
    "sum_to_shape",
    "topological_order",
    "where",
]
