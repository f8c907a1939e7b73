"""The Tensor under its old path, `autodiff.tensor.Tensor`: it lives in autodiff/core/tensor.py."""

from .core.arguments import ShapeError
from .core.tensor import Tensor, apply, lift

__all__ = ["ShapeError", "Tensor", "apply", "lift"]
