"""The Tensor: a numpy array that records the ops made from it, and `apply`, where they meet.

Tensor methods are one-liners that lift constants and call `apply`; the rules live in ops.py
and the backward walk in engine.py. Tensors also speak numpy's dispatch protocols, so
`np.ones(3) + t` and `np.exp(t)` give Tensors, and one gradient rule serves both orders.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from . import anomaly, ops, saved
from .function import Op
from .mode import switches
from .numbers import float_array, numeric_array
from .saved import PINNED

_creation_counter = itertools.count()


class ShapeError(ValueError):
    """Operands whose shapes do not fit the operation."""


def apply(op: Op, *inputs):
    """Run op on the inputs' data and, when any input requires a gradient, record the node.

    A recorded op keeps the arrays it computed with (`op.saved`: the inputs', then the
    output's), and those arrays are read-only: leaves' until a backward pass through the op
    releases them (see saved.py), the output for good. Called with plain arrays (as gradient
    rules do), it just runs the forward.
    """
    if not isinstance(inputs[0], Tensor) and not any(isinstance(t, Tensor) for t in inputs):
        return op.forward(*inputs)
    # List comprehensions, not generators: apply runs once per op, and at small batch sizes
    # its own cost is a visible part of a training step.
    arrays = [t.data for t in inputs]
    try:
        data = op.forward(*arrays)
    except (ValueError, IndexError) as error:
        shapes = " and ".join(str(t.shape) for t in inputs)
        kind = IndexError if isinstance(error, IndexError) else ShapeError
        raise kind(f"{op!r} on input shapes {shapes}: {error}") from error
    needs_input_grad = tuple([t.requires_grad for t in inputs])
    out = Tensor._make(data, switches.grad_enabled and True in needs_input_grad)
    if out.requires_grad:
        # What backward reads becomes read-only: the output for good (it is the graph's
        # record), leaf inputs until a backward pass releases them (saved.py); an input made
        # by a recorded op was locked as that op's output. setflags with a positional
        # argument: the keyword form and flags.writeable = ... cost several times more.
        for t, array in zip(inputs, arrays):
            if t.op is None and id(array) not in PINNED and array.flags.writeable:
                array.setflags(False)
                PINNED[id(array)] = array, type(op)  # the class: the op holds its graph
                if len(PINNED) > saved.prune_at:
                    saved.prune()
        if data.flags.writeable:
            data.setflags(False)
        arrays.append(data)
        op.inputs, op.needs_input_grad, op.saved, out.op = inputs, needs_input_grad, arrays, op
    if switches.anomaly:
        anomaly.record_origin(op)
        anomaly.check_finite(op, (data,), "forward")
    if switches.recording is not None:
        switches.recording.append((op, inputs, out))
    return out


def lift(value: Any, like: Tensor) -> Tensor:
    """Wrap a constant (number or array) as a Tensor in the dtype of the tensor it meets.

    An array already in that dtype is shared, not copied: `model(x[idx])` uses the batch as
    it is.
    """
    if isinstance(value, Tensor):
        return value
    array = np.asarray(value)
    # Builtin dtypes are singletons: `is` is the fast path for a batch already in the dtype.
    if array.dtype is not like.data.dtype:
        if array.dtype.kind not in "biuf":
            array = numeric_array(value, f"an operation on a Tensor of dtype {like.dtype}")
        # Only a floating tensor sets the dtype: a boolean mask must not turn numbers into bools.
        if array.dtype != like.data.dtype and like.data.dtype.kind == "f":
            array = array.astype(like.data.dtype)
    return Tensor._make(array, False)


def _binary(op_class, a, b):
    like = a if isinstance(a, Tensor) else b
    return apply(op_class(), lift(a, like), lift(b, like))


def _normalize_axis(axis, ndim: int) -> tuple | None:
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(f"axis {a} is out of range for a tensor of rank {ndim}")
    return tuple(sorted(int(a) % ndim for a in axes))


def _plain_index(index):
    """Tensors used as indices are replaced by their (integer) data."""
    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    if isinstance(index, Tensor):
        # Comparisons give boolean tensors: they index as masks, not as positions 0 and 1.
        return index.data if index.dtype == bool else index.data.astype(np.intp)
    return index


def _check_matmul(x: Tensor, y: Tensor) -> None:
    """Name both shapes and what would fit, instead of numpy's bare message."""
    if x.ndim == 0 or y.ndim == 0:
        raise ShapeError(f"matmul needs tensors of rank >= 1, got shapes {x.shape} @ {y.shape}")
    inner_y = y.shape[0] if y.ndim == 1 else y.shape[-2]
    if x.shape[-1] != inner_y:
        fitting_y = (x.shape[-1],) if y.ndim == 1 else y.shape[:-2] + (x.shape[-1], y.shape[-1])
        raise ShapeError(
            f"matmul of left operand shape {x.shape} with right operand shape {y.shape}: "
            f"the left's last dimension ({x.shape[-1]}) must equal the right's "
            f"{'length' if y.ndim == 1 else 'second-to-last dimension'} ({inner_y}). "
            f"A right operand of shape {fitting_y} would fit, or a left one of shape "
            f"{x.shape[:-1] + (inner_y,)}"
        )


class Tensor:
    """An n-dimensional array of floats that remembers how it was computed.

    `data` is the numpy array; `grad` the accumulated gradient (a numpy array of the same
    shape, or None); `op` the operation that made it (None for leaves) with `op.inputs`.
    """

    __slots__ = ("data", "grad", "requires_grad", "name", "op", "_id", "__weakref__")

    def __init__(self, data: Any, requires_grad: bool = False, dtype=None, name: str | None = None):
        self.data = float_array(data.data if isinstance(data, Tensor) else data, dtype)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.name = name
        self.op = None
        self._id = next(_creation_counter)

    @classmethod
    def _make(cls, data: np.ndarray, requires_grad: bool) -> Tensor:
        """The internal constructor: takes the array as it is, no copy, no checks."""
        t = object.__new__(cls)
        t.data, t.grad, t.requires_grad, t.name, t.op = data, None, requires_grad, None, None
        t._id = next(_creation_counter)
        return t

    # ------------------------------------------------------------ attributes

    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size)
    inputs = property(lambda self: () if self.op is None else self.op.inputs)
    is_leaf = property(lambda self: self.op is None)
    T = property(lambda self: self.transpose())

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", prefix="Tensor(")
        extras = "".join(
            [
                f", dtype={self.dtype}" if self.dtype != np.float64 else "",
                f", op={self.op.name}" if self.op else "",
                ", requires_grad=True" if self.requires_grad and not self.op else "",
                f", name={self.name!r}" if self.name else "",
            ]
        )
        return f"Tensor({body}{extras})"

    def __len__(self) -> int:
        return len(self.data)

    def __bool__(self) -> bool:
        return bool(self.data)

    def __array__(self, dtype=None, copy=None):
        # numpy 2 passes copy=True when its caller asked for a copy: then it must not alias.
        if copy:
            return np.array(self.data, dtype=dtype)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    # ------------------------------------------------------------ gradients

    def backward(self, grad: Any = None) -> None:
        """Add d(self)/d(t) to t.grad for every tensor t in the graph that requires a gradient.

        For a tensor of more than one element pass `grad`, the gradient of the final scalar
        with respect to this tensor (np.ones(shape) gives the gradient of its sum).
        """
        engine.backward(self, grad)

    def zero_grad(self) -> None:
        self.grad = None

    def detach(self) -> Tensor:
        """The same data (shared, not copied) as a new leaf outside the graph."""
        return Tensor._make(self.data, False)

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> float:
        if self.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if self.op is not None and not requires_grad:
            raise RuntimeError("requires_grad_(False) only applies to leaves; use detach()")
        self.requires_grad = requires_grad
        return self

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
        if isinstance(exponent, Tensor):
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
        _check_matmul(self, other)
        return apply(ops.MatMul(), self, other)

    def __rmatmul__(self, other):
        other = lift(other, self)
        _check_matmul(other, self)
        return apply(ops.MatMul(), other, self)

    # Comparisons give constant boolean tensors (no gradient), as masks. `==` stays identity,
    # so tensors can be dict keys; use np.equal(a, b) for an elementwise test.
    def __gt__(self, other):
        return Tensor._make(self.data > _data(other), False)

    def __ge__(self, other):
        return Tensor._make(self.data >= _data(other), False)

    def __lt__(self, other):
        return Tensor._make(self.data < _data(other), False)

    def __le__(self, other):
        return Tensor._make(self.data <= _data(other), False)

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

    def clip(self, low: float | None = None, high: float | None = None):
        return apply(ops.Clip(low, high), self)

    def maximum(self, other):
        return _binary(ops.Maximum, self, other)

    def minimum(self, other):
        return _binary(ops.Minimum, self, other)

    # ------------------------------------------------------------ reductions

    def sum(self, axis=None, keepdims: bool = False):
        return apply(ops.Sum(_normalize_axis(axis, self.ndim), keepdims), self)

    def mean(self, axis=None, keepdims: bool = False):
        return apply(ops.Mean(_normalize_axis(axis, self.ndim), keepdims), self)

    def max(self, axis=None, keepdims: bool = False):
        return apply(ops.Max(_normalize_axis(axis, self.ndim), keepdims), self)

    def min(self, axis=None, keepdims: bool = False):
        return apply(ops.Min(_normalize_axis(axis, self.ndim), keepdims), self)

    def logsumexp(self, axis=None, keepdims: bool = False):
        return apply(ops.LogSumExp(_normalize_axis(axis, self.ndim), keepdims), self)

    def softmax(self, axis: int = -1):
        return apply(ops.Softmax(_normalize_axis(axis, self.ndim)[0]), self)

    def log_softmax(self, axis: int = -1):
        return apply(ops.LogSoftmax(_normalize_axis(axis, self.ndim)[0]), self)

    # ------------------------------------------------------------ shape

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
        return apply(ops.Reshape(tuple(shape)), self)

    def flatten(self):
        return self.reshape(-1)

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

    def __getitem__(self, index):
        return apply(ops.Index(_plain_index(index)), self)

    # ------------------------------------------------------------ numpy protocols

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from .functions import MASK_UFUNCS, UFUNCS  # functions.py builds on this module

        if method == "__call__" and not kwargs:
            if ufunc in UFUNCS:
                return UFUNCS[ufunc](*inputs)
            if ufunc in MASK_UFUNCS:
                return Tensor._make(ufunc(*[_data(i) for i in inputs]), False)
        raise TypeError(
            f"numpy.{ufunc.__name__} ({method}) is not differentiable here: use a Tensor "
            "method, or apply it to t.data if you do not need its gradient"
        )

    def __array_function__(self, func, types, args, kwargs):
        from .functions import FUNCTIONS

        if func not in FUNCTIONS:
            raise TypeError(
                f"numpy.{func.__name__} is not differentiable here: use a Tensor method or "
                "autodiff function, or apply it to t.data if you do not need its gradient"
            )
        return FUNCTIONS[func](*args, **kwargs)


def _data(value):
    return value.data if isinstance(value, Tensor) else value


# The backward walk lives in engine.py, which builds on Tensor, so it is imported last. (A
# function-level import would cost about a microsecond on every backward call.)
from . import engine  # noqa: E402
