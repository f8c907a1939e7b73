"""The Tensor's operators and numpy-style methods: one-liners that lift constants and call apply.

tensor.py holds the data, the gradient and `apply`; the rules live in ops/; functions of the
numpy surface built from several ops (var, dot, norm, layout helpers) live in functions.py and
linalg.py, and numpy's dispatch protocols are answered in numpy_ufuncs.py and numpy_functions.py.
"""

from __future__ import annotations

import numpy as np

from . import ops
from .arguments import check_matmul, normalize_axis, one_axis, reduction_axes


def data_of(value):
    return value.data if isinstance(value, TensorMethods) else value


def apply_binary(op_class, a, b):
    like = a if isinstance(a, TensorMethods) else b
    return apply(op_class(), lift(a, like), lift(b, like))


def _plain_index(index):
    """Tensors used as indices are replaced by their data: boolean masks only.

    Tensor data is always floating point, so a float Tensor index is a cast waiting to go
    wrong (1.7 would become 1; a 0/1 mask would pick positions 0 and 1): it is refused.
    """
    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    if isinstance(index, TensorMethods):
        if index.dtype == bool:
            return index.data
        raise IndexError(
            f"a Tensor used as an index must be a boolean mask (from a comparison), got dtype "
            f"{index.dtype} with values {index.data.ravel()[:5]}: index with an integer numpy "
            "array for positions (e.g. t.data.astype(int)), or with a mask such as t > 0.5"
        )
    return index


class TensorMethods:
    """Operators and methods of Tensor (defined in tensor.py, which inherits them)."""

    __slots__ = ()

    T = property(lambda self: self.transpose())

    # ------------------------------------------------------------ arithmetic

    def __add__(self, other):
        return apply(ops.Add(), self, lift(other, self))

    def __radd__(self, other):
        return apply(ops.Add(), lift(other, self), self)

    def __sub__(self, other):
        return apply(ops.Sub(), self, lift(other, self))

    def __rsub__(self, other):
        return apply(ops.Sub(), lift(other, self), self)

    def __mul__(self, other):
        return apply(ops.Mul(), self, lift(other, self))

    def __rmul__(self, other):
        return apply(ops.Mul(), lift(other, self), self)

    def __truediv__(self, other):
        return apply(ops.Div(), self, lift(other, self))

    def __rtruediv__(self, other):
        return apply(ops.Div(), lift(other, self), self)

    def __floordiv__(self, other):
        return apply(ops.FloorDivide(), self, lift(other, self))

    def __rfloordiv__(self, other):
        return apply(ops.FloorDivide(), lift(other, self), self)

    def __mod__(self, other):
        return apply(ops.Mod(), self, lift(other, self))

    def __rmod__(self, other):
        return apply(ops.Mod(), lift(other, self), self)

    def __pow__(self, exponent):
        if isinstance(exponent, TensorMethods):
            return apply(ops.Pow(), self, exponent)
        if np.ndim(exponent) == 0:
            # As a Python number, so that a numpy float64 exponent does not promote float32.
            return apply(ops.PowConst(np.asarray(exponent).item()), self)
        return apply(ops.Pow(), self, lift(exponent, self))

    def __rpow__(self, base):
        return apply(ops.Pow(), lift(base, self), self)

    def __neg__(self):
        return apply(ops.Neg(), self)

    def __abs__(self):
        return apply(ops.Abs(), self)

    def __matmul__(self, other):
        other = lift(other, self)
        check_matmul(self, other)
        return apply(ops.MatMul(), self, other)

    def __rmatmul__(self, other):
        other = lift(other, self)
        check_matmul(other, self)
        return apply(ops.MatMul(), other, self)

    def __round__(self, ndigits: int | None = None):
        # A Tensor (zero gradient), as PyTorch; Python's round of a float would give an int.
        return self.round(0 if ndigits is None else ndigits)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    # Comparisons give constant boolean Tensors (no gradient), as masks; == and != too, as in
    # numpy, so t * (t != 0) masks. Hashing stays by identity: dicts and sets compare the
    # (unique) hashes and identity before ==, so Tensors remain usable as keys.
    def __eq__(self, other):
        return self._make(np.asarray(self.data == data_of(other)), False)

    def __ne__(self, other):
        return self._make(np.asarray(self.data != data_of(other)), False)

    def __gt__(self, other):
        return self._make(np.asarray(self.data > data_of(other)), False)

    def __ge__(self, other):
        return self._make(np.asarray(self.data >= data_of(other)), False)

    def __lt__(self, other):
        return self._make(np.asarray(self.data < data_of(other)), False)

    def __le__(self, other):
        return self._make(np.asarray(self.data <= data_of(other)), False)

    __hash__ = object.__hash__

    # ------------------------------------------------------------ elementwise functions

    def exp(self):
        return apply(ops.Exp(), self)

    def log(self):
        return apply(ops.Log(), self)

    def sqrt(self):
        return apply(ops.Sqrt(), self)

    def abs(self):
        return apply(ops.Abs(), self)

    def tanh(self):
        return apply(ops.Tanh(), self)

    def sigmoid(self):
        return apply(ops.Sigmoid(), self)

    def relu(self):
        return apply(ops.Relu(), self)

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

    # ------------------------------------------------------------ reductions

    def sum(self, axis=None, keepdims: bool = False):
        return apply(ops.Sum(reduction_axes(axis, self.ndim), keepdims), self)

    def mean(self, axis=None, keepdims: bool = False):
        return apply(ops.Mean(reduction_axes(axis, self.ndim), keepdims), self)

    def max(self, axis=None, keepdims: bool = False):
        return apply(ops.Max(reduction_axes(axis, self.ndim), keepdims), self)

    def min(self, axis=None, keepdims: bool = False):
        return apply(ops.Min(reduction_axes(axis, self.ndim), keepdims), self)

    def prod(self, axis=None, keepdims: bool = False):
        return apply(ops.Prod(reduction_axes(axis, self.ndim), keepdims), self)

    def var(self, axis=None, ddof: int = 0, keepdims: bool = False):
        """sum((x - mean)^2) / (n - ddof), composed of mean, sum and products."""
        axes = reduction_axes(axis, self.ndim)
        count = self.size if axes is None else int(np.prod([self.shape[a] for a in axes]))
        centered = self - self.mean(axes, keepdims=True)
        return (centered * centered).sum(axes, keepdims) / max(count - ddof, 0)

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

    # ------------------------------------------------------------ shape

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
        return apply(ops.Reshape(tuple(shape)), self)

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

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes
        axes = tuple(range(self.ndim))[::-1] if not axes else tuple(a % self.ndim for a in axes)
        return apply(ops.Transpose(axes), self)

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
        from .linalg import dot

        return dot(self, other)

    def trace(self, offset: int = 0, axis1: int = 0, axis2: int = 1):
        from .linalg import trace

        return trace(self, offset, axis1, axis2)

    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1):
        from .linalg import diagonal

        return diagonal(self, offset, axis1, axis2)

    def __getitem__(self, index):
        return apply(ops.Index(_plain_index(index)), self)

    def __iter__(self):
        # Without this, Python would iterate through __getitem__ until an IndexError, which
        # makes a 0-d tensor look empty; numpy refuses, and so do we.
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self)))

    # ------------------------------------------------------------ numpy protocols

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from .numpy_ufuncs import call_ufunc  # it builds on tensor.py, which builds on this

        return call_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from .numpy_functions import call_function

        return call_function(func, args, kwargs)


# tensor.py defines apply and lift, then imports this module to define Tensor on top of it.
from .tensor import apply, lift  # noqa: E402
