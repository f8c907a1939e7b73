"""The Tensor: a numpy array that records the ops made from it, and `apply`, where they meet.

Its operators and methods (methods.py) are one-liners that lift constants and call `apply`;
the rules live in ops.py and the backward walk in engine.py. The numpy surface adds numpy's
dispatch protocols (numpy_surface/methods.py), so `np.ones(3) + t` and `np.exp(t)` give Tensors
and one gradient rule serves both orders.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from .arguments import ShapeError
from .mode import switches
from .numbers import float_array, numeric_array
from .op import Op

_creation_counter = itertools.count()


def apply(op: Op, *inputs):
    """Run op on the inputs' data and, when any input requires a gradient, record the node.

    A recorded op keeps the arrays it computed with (`op.saved`: the inputs', then the
    output's), which the in-place protection makes read-only while backward needs them.
    Called with plain arrays (as gradient rules do), it just runs the forward.
    """
    if not isinstance(inputs[0], Tensor) and not any(isinstance(t, Tensor) for t in inputs):
        return op.forward(*inputs)
    # List comprehensions, not generators: apply runs once per op, and at small batch sizes
    # its own cost is a visible part of a training step.
    arrays = [t.data for t in inputs]
    try:
        data = op.forward(*arrays)
        if not isinstance(data, np.ndarray):  # numpy gives scalars for 0-d results
            data = np.asarray(data)
    except (ValueError, IndexError) as error:
        shapes = " and ".join(str(t.shape) for t in inputs)
        kind = IndexError if isinstance(error, IndexError) else ShapeError
        raise kind(f"{op!r} on input shapes {shapes}: {error}") from error
    needs_input_grad = tuple([t.requires_grad for t in inputs])
    out = Tensor._make(data, switches.grad_enabled and True in needs_input_grad)
    if out.requires_grad:
        arrays.append(data)
        op.inputs, op.needs_input_grad, op.saved, out.op = inputs, needs_input_grad, arrays, op
        if switches.protection is not None:  # the in-place protection (tools/inplace.py)
            switches.protection.lock(op)
    if switches.anomaly is not None:  # detect_anomaly() (autodiff/tools/anomaly.py)
        switches.anomaly.record_origin(op)
        switches.anomaly.check_finite(op, (data,), "forward")
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


# Tensor inherits its operators and methods; they call apply and lift, defined above.
from .methods import TensorMethods  # noqa: E402


class Tensor(TensorMethods):
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


# The backward walk lives in engine.py, which builds on Tensor, so it is imported last. (A
# function-level import would cost about a microsecond on every backward call.)
from . import engine  # noqa: E402
