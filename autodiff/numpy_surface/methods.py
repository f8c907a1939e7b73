"""numpy's side of the Tensor: its dispatch protocols and the numpy-style methods beyond the core.

`install` adds them to the core's Tensor when autodiff is imported (numpy_surface/__init__.py),
so `np.exp(t)`, `np.ones(3) + t`, `t.clip(0, 1)` and `t.var(axis=0)` work, while the core
itself never imports this room. One-liners that lift constants and call apply, as the core's.
"""

from __future__ import annotations

import numpy as np

from ..core.arguments import normalize_axis, reduction_axes
from ..core.methods import data_of
from ..core.mode import switches
from ..core.tensor import apply, lift
from . import ops
from .array_functions import call_function
from .functions import apply_binary, masked_fill, one_axis
from .linalg import diagonal, dot, trace
from .ufuncs import call_ufunc


def install(tensor_class: type) -> None:
    """Give tensor_class (the core's Tensor) every method and protocol of NumpyMethods."""
    for name, member in vars(NumpyMethods).items():
        if name not in ("__module__", "__qualname__", "__doc__", "__slots__"):
            setattr(tensor_class, name, member)


class NumpyMethods:
    """The methods install() adds to Tensor: numpy's protocols, then numpy-style methods."""

    __slots__ = ()

    def __floordiv__(self, other):
        return apply(ops.FloorDivide(), self, lift(other, self))

    def __rfloordiv__(self, other):
        return apply(ops.FloorDivide(), lift(other, self), self)

    def __mod__(self, other):
        return apply(ops.Mod(), self, lift(other, self))

    def __rmod__(self, other):
        return apply(ops.Mod(), lift(other, self), self)

    def __abs__(self):
        return apply(ops.Abs(), self)

    def __round__(self, ndigits: int | None = None):
        # A Tensor (zero gradient), as PyTorch; Python's round of a float would give an int.
        return self.round(0 if ndigits is None else ndigits)

    def sqrt(self):
        return apply(ops.Sqrt(), self)

    def abs(self):
        return apply(ops.Abs(), self)

    def clip(self, min: float | None = None, max: float | None = None):
        return apply(ops.Clip(data_of(min), data_of(max)), self)

    def round(self, decimals: int = 0):
        return apply(ops.Round(decimals), self)

    def maximum(self, other):
        return apply_binary(ops.Maximum, self, other)

    def minimum(self, other):
        return apply_binary(ops.Minimum, self, other)

    def astype(self, dtype):
        """A float dtype gives a Tensor (gradients cast back); others give a plain array."""
        if not np.issubdtype(np.dtype(dtype), np.floating):
            return self.data.astype(dtype)
        return apply(ops.AsType(np.dtype(dtype)), self)  # a copy even in the same dtype, as numpy

    def min(self, axis=None, keepdims: bool = False):
        return apply(ops.Min(reduction_axes(axis, self.ndim), keepdims), self)

    def prod(self, axis=None, keepdims: bool = False):
        return apply(ops.Prod(reduction_axes(axis, self.ndim), keepdims), self)

    def var(self, axis=None, ddof: int = 0, keepdims: bool = False):
        """sum((x - mean)^2) / (n - ddof), composed of mean, sum and a square (whose slope at
        zero spread is exactly 0, so std there has gradient 0, not inf * 0)."""
        axes = reduction_axes(axis, self.ndim)
        count = self.size if axes is None else int(np.prod([self.shape[a] for a in axes]))
        centered = self - self.mean(axes, keepdims=True)
        return (centered**2).sum(axes, keepdims) / max(count - ddof, 0)

    def std(self, axis=None, ddof: int = 0, keepdims: bool = False):
        return self.var(axis, ddof, keepdims).sqrt()

    def logsumexp(self, axis=None, keepdims: bool = False):
        return apply(ops.LogSumExp(reduction_axes(axis, self.ndim), keepdims), self)

    def softmax(self, axis: int = -1):
        return apply(ops.Softmax(one_axis(axis, self.ndim)), self)

    def log_softmax(self, axis: int = -1):
        return apply(ops.LogSoftmax(one_axis(axis, self.ndim)), self)

    def cumsum(self, axis=None):
        if axis is None:
            return self.ravel().cumsum(0)
        return apply(ops.CumSum(one_axis(axis, self.ndim)), self)

    def cumprod(self, axis=None):
        if axis is None:
            return self.ravel().cumprod(0)
        return apply(ops.CumProd(one_axis(axis, self.ndim)), self)

    # Positions and truth values have no gradient: plain numpy results, as numpy gives them.
    def argmax(self, axis=None, keepdims: bool = False):
        return np.argmax(self.data, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims: bool = False):
        return np.argmin(self.data, axis=axis, keepdims=keepdims)

    def argsort(self, axis: int = -1):
        return np.argsort(self.data, axis=axis)

    def any(self, axis=None, keepdims: bool = False):
        return self.data.any(axis=axis, keepdims=keepdims)

    def all(self, axis=None, keepdims: bool = False):
        return self.data.all(axis=axis, keepdims=keepdims)

    def flatten(self):
        return self.reshape(-1)

    def ravel(self):
        return self.reshape(-1)

    def squeeze(self, axis=None):
        axes = normalize_axis(axis, self.ndim)
        if axes is None:
            axes = tuple(i for i, n in enumerate(self.shape) if n == 1)
        wide = [a for a in axes if self.shape[a] != 1]
        if wide:
            raise ValueError(
                f"squeeze: axis {wide[0]} of shape {self.shape} has size {self.shape[wide[0]]}; "
                "only axes of size 1 can be squeezed out"
            )
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if i not in axes))

    def masked_fill(self, mask, value: float):
        return masked_fill(self, mask, value)

    def swapaxes(self, axis1: int, axis2: int):
        axes = list(range(self.ndim))
        axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
        return apply(ops.Transpose(tuple(axes)), self)

    def broadcast_to(self, shape):
        return apply(ops.BroadcastTo(tuple(shape)), self)

    def repeat(self, repeats, axis=None):
        if axis is None:
            return self.ravel().repeat(repeats, 0)
        axis = one_axis(axis, self.ndim)
        positions = np.repeat(np.arange(self.shape[axis]), repeats)
        return self[(slice(None),) * axis + (positions,)]

    def dot(self, other):
        return dot(self, other)

    def trace(self, offset: int = 0, axis1: int = 0, axis2: int = 1):
        return trace(self, offset, axis1, axis2)

    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1):
        return diagonal(self, offset, axis1, axis2)

    def __array__(self, dtype=None, copy=None):
        # numpy cannot record a graph: np.array([x, x]), np.r_ or np.mean([x, y]) would give
        # values without gradients, so a tensor that requires grad refuses to become an array.
        if self.requires_grad and switches.grad_enabled:
            raise TypeError(
                "a Tensor that requires grad cannot become a numpy array (its gradient would be "
                "lost): build arrays of tensors with autodiff.stack([...]) or "
                "autodiff.concatenate, or use t.data (t.detach()) for the values alone"
            )
        # numpy 2 passes copy=True when its caller asked for a copy: then it must not alias.
        if copy:
            return np.array(self.data, dtype=dtype)
        return np.asarray(self.data, dtype=dtype)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return call_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return call_function(func, args, kwargs)
