"""The whole derivative table under its old path: `autodiff.ops.Sigmoid` and the like.

The elementary ops live in the core (autodiff/core/ops.py), the rest in the numpy surface
(autodiff/numpy_surface/ops/); this module only re-exports them.
"""

from .numpy_surface.ops import *  # noqa: F403
from .numpy_surface.ops import __all__  # noqa: F401
