"""Functions of several tensors (where, maximum, minimum, concatenate, stack), and the tables
through which numpy's ufuncs and functions reach Tensor ops (numpy's dispatch protocols).

Builds on tensor.py; the rules themselves live in ops.py.
"""

from __future__ import annotations

import numpy as np

from . import ops
from .tensor import Tensor, _binary, _data, _normalize_axis, apply, lift


def _lift_any(value) -> Tensor:
    return value if isinstance(value, Tensor) else Tensor._make(np.asarray(value), False)


def _lift_together(values) -> list[Tensor]:
    """Constants among values take the dtype of the first Tensor, as in arithmetic."""
    tensors = [v for v in values if isinstance(v, Tensor)]
    if not tensors:
        return [_lift_any(v) for v in values]
    return [lift(v, tensors[0]) for v in values]


def where(condition, x, y) -> Tensor:
    """Elementwise x where condition holds, else y; gradients flow to x and y only."""
    like = x if isinstance(x, Tensor) else y if isinstance(y, Tensor) else _lift_any(x)
    return apply(ops.Where(np.asarray(_data(condition), dtype=bool)), lift(x, like), lift(y, like))


def maximum(x, y) -> Tensor:
    return _binary(ops.Maximum, x, y)


def minimum(x, y) -> Tensor:
    return _binary(ops.Minimum, x, y)


def concatenate(tensors, axis: int = 0) -> Tensor:
    tensors = _lift_together(tensors)
    return apply(ops.Concatenate(_normalize_axis(axis, tensors[0].ndim)[0]), *tensors)


def stack(tensors, axis: int = 0) -> Tensor:
    tensors = _lift_together(tensors)
    return apply(ops.Stack(_normalize_axis(axis, tensors[0].ndim + 1)[0]), *tensors)


UFUNCS = {
    np.add: lambda a, b: _binary(ops.Add, a, b),
    np.subtract: lambda a, b: _binary(ops.Sub, a, b),
    np.multiply: lambda a, b: _binary(ops.Mul, a, b),
    np.true_divide: lambda a, b: _binary(ops.Div, a, b),
    np.power: lambda a, b: a**b if isinstance(a, Tensor) else _binary(ops.Pow, a, b),
    np.matmul: lambda a, b: a @ b if isinstance(a, Tensor) else lift(a, b) @ b,
    np.maximum: maximum,
    np.minimum: minimum,
    np.negative: lambda a: -a,
    np.exp: Tensor.exp,
    np.log: Tensor.log,
    np.sqrt: Tensor.sqrt,
    np.absolute: Tensor.abs,
    np.tanh: Tensor.tanh,
}

# Ufuncs whose result has no gradient: they give constant tensors, for masks.
MASK_UFUNCS = {
    np.greater,
    np.greater_equal,
    np.less,
    np.less_equal,
    np.equal,
    np.not_equal,
    np.sign,
    np.logical_and,
    np.logical_or,
    np.logical_not,
    np.isfinite,
    np.isnan,
}

FUNCTIONS = {
    np.shape: lambda x: x.shape,
    np.ndim: lambda x: x.ndim,
    np.size: lambda x: x.size,
    np.broadcast_to: lambda x, shape: x.broadcast_to(shape),
    np.where: where,
    np.concatenate: concatenate,
    np.stack: stack,
    np.sum: lambda x, axis=None, keepdims=False: x.sum(axis, keepdims),
    np.mean: lambda x, axis=None, keepdims=False: x.mean(axis, keepdims),
    np.max: lambda x, axis=None, keepdims=False: x.max(axis, keepdims),
    np.min: lambda x, axis=None, keepdims=False: x.min(axis, keepdims),
    np.reshape: lambda x, shape: x.reshape(shape),
    np.transpose: lambda x, axes=None: x.transpose(axes) if axes else x.transpose(),
    np.swapaxes: lambda x, a, b: x.swapaxes(a, b),
    np.clip: lambda x, low, high: x.clip(low, high),
}
