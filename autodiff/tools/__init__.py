"""The tools around the engine: the in-place protection (inplace.py, on from import), checking
gradients (gradcheck, compare_gradients), finding NaN (detect_anomaly), the backward pass
written out as numpy source (gradient_source, codegen.py), and capturing a training step to
run it as that compiled program (capture).

Each builds on the core and the numpy surface and nothing else; none is needed to follow the
backward pass itself.
"""

from . import inplace
from .anomaly import AnomalyError, detect_anomaly
from .capture import Captured, capture
from .compare import GradientComparison, GradientRow, compare_gradients
from .gradcheck import GradcheckError, gradcheck, numerical_gradient
from .source import gradient_source

inplace.install()

__all__ = [
    "AnomalyError",
    "Captured",
    "GradcheckError",
    "GradientComparison",
    "GradientRow",
    "capture",
    "compare_gradients",
    "detect_anomaly",
    "gradcheck",
    "gradient_source",
    "numerical_gradient",
]
