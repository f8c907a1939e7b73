"""The Tensor's operators and core methods: one-liners that lift constants and call apply.

`+ - * / ** @`, comparisons (constant masks), exp log tanh sigmoid relu, sum mean max,
reshape transpose and indexing: each names its op from ops.py. The numpy surface
(autodiff/numpy_surface/methods.py) adds numpy's protocols and the other methods.
"""

from __future__ import annotations

import numpy as np

from . import ops
from .arguments import check_matmul, reduction_axes


def data_of(value):
    """The numpy array of a Tensor; anything else as it is."""
    return value.data if isinstance(value, TensorMethods) else value


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

    def __matmul__(self, other):
        other = lift(other, self)
        check_matmul(self, other)
        return apply(ops.MatMul(), self, other)

    def __rmatmul__(self, other):
        other = lift(other, self)
        check_matmul(other, self)
        return apply(ops.MatMul(), other, self)

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

    def tanh(self):
        return apply(ops.Tanh(), self)

    def sigmoid(self):
        return apply(ops.Sigmoid(), self)

    def relu(self):
        return apply(ops.Relu(), self)

    # ------------------------------------------------------------ reductions

    def sum(self, axis=None, keepdims: bool = False):
        return apply(ops.Sum(reduction_axes(axis, self.ndim), keepdims), self)

    def mean(self, axis=None, keepdims: bool = False):
        return apply(ops.Mean(reduction_axes(axis, self.ndim), keepdims), self)

    def max(self, axis=None, keepdims: bool = False):
        return apply(ops.Max(reduction_axes(axis, self.ndim), keepdims), self)

    # ------------------------------------------------------------ shape

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
        return apply(ops.Reshape(tuple(shape)), self)

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes
        axes = tuple(range(self.ndim))[::-1] if not axes else tuple(a % self.ndim for a in axes)
        return apply(ops.Transpose(axes), self)

    def __getitem__(self, index):
        return apply(ops.Index(_plain_index(index)), self)

    def __iter__(self):
        # Without this, Python would iterate through __getitem__ until an IndexError, which
        # makes a 0-d tensor look empty; numpy refuses, and so do we.
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self)))


# tensor.py defines apply and lift, then imports this module to define Tensor on top of it.
from .tensor import apply, lift  # noqa: E402
