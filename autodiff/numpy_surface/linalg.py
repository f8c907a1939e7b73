"""numpy's linear algebra on Tensors: einsum, dot, vdot, inner, outer, tensordot, diagonal,
trace, diag and norm, composed of the MatMul, Einsum, Index and reduction ops.

tensordot (hence dot on higher ranks) runs as transpose, reshape and one matmul, as numpy's
does, so it reaches BLAS; einsum is its own op.
"""

from __future__ import annotations

import math
import string

import numpy as np

from ..core.arguments import ShapeError, normalize_axis
from ..core.tensor import Tensor, apply
from . import ops
from .functions import as_tensor, lift_together, one_axis


def einsum(subscripts: str, *operands, optimize=False) -> Tensor:
    """numpy's einsum in its string form: explicit ('ij,jk->ik') or implicit, with '...'."""
    if not isinstance(subscripts, str):
        raise TypeError("einsum on Tensors takes its subscripts as a string, e.g. 'ij,jk->ik'")
    tensors = lift_together(operands)
    spec = subscripts.replace(" ", "")
    inputs, arrow, output = spec.partition("->")
    inputs = inputs.split(",")
    if len(inputs) != len(tensors):
        raise ValueError(f"einsum: {len(inputs)} operand subscripts for {len(tensors)} operands")
    # '...' becomes explicit letters, aligned from the right as numpy broadcasts them.
    spare = [c for c in string.ascii_letters if c not in spec]
    ranks = [t.ndim - len(s.replace("...", "")) for s, t in zip(inputs, tensors) if "..." in s]
    ellipsis = "".join(spare[: max(ranks, default=0)])
    for i, (s, t) in enumerate(zip(inputs, tensors)):
        if "..." in s:
            rank = t.ndim - (len(s) - 3)
            inputs[i] = s.replace("...", ellipsis[len(ellipsis) - rank :] if rank else "")
        if len(inputs[i]) != t.ndim or (inputs[i] and not inputs[i].isalpha()):
            raise ValueError(f"einsum: subscripts {s!r} do not fit an operand of shape {t.shape}")
    if arrow:
        output = output.replace("...", ellipsis)
    else:  # implicit: the letters used once, in alphabetical order, after the '...' ones
        letters = "".join(inputs)
        output = ellipsis + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ellipsis)
        )
    return apply(ops.Einsum(tuple(inputs), output, optimize), *tensors)


def tensordot(a, b, axes=2) -> Tensor:
    """Sum over pairs of axes of a and b: the last `axes` of a with the first of b, or the
    listed ones. One matmul of the two operands laid out as matrices."""
    a, b = lift_together([a, b])
    if np.ndim(axes) == 0:
        a_axes, b_axes = list(range(a.ndim - int(axes), a.ndim)), list(range(int(axes)))
    else:
        a_axes = [one_axis(int(i), a.ndim) for i in np.atleast_1d(axes[0])]
        b_axes = [one_axis(int(i), b.ndim) for i in np.atleast_1d(axes[1])]
    contracted = [a.shape[i] for i in a_axes]
    if len(a_axes) != len(b_axes) or contracted != [b.shape[i] for i in b_axes]:
        raise ShapeError(
            f"tensordot: axes {a_axes} of shape {a.shape} do not match axes {b_axes} of shape "
            f"{b.shape}"
        )
    free_a = [i for i in range(a.ndim) if i not in a_axes]
    free_b = [i for i in range(b.ndim) if i not in b_axes]
    size = math.prod(contracted)
    left = a.transpose(free_a + a_axes).reshape(math.prod(a.shape[i] for i in free_a), size)
    right = b.transpose(b_axes + free_b).reshape(size, math.prod(b.shape[i] for i in free_b))
    shape = tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b)
    return (left @ right).reshape(shape)


def dot(a, b) -> Tensor:
    """numpy's dot: a product for 0-d, matmul up to 2-D (or with a 1-D right operand), else a
    sum over the last axis of a and the second-to-last of b."""
    a, b = lift_together([a, b])
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if b.ndim == 1 or (a.ndim <= 2 and b.ndim <= 2):
        return a @ b
    return tensordot(a, b, axes=([-1], [-2]))


def vdot(a, b) -> Tensor:
    a, b = lift_together([a, b])
    if a.size != b.size:
        raise ShapeError(f"vdot needs operands of one size, got shapes {a.shape} and {b.shape}")
    return a.ravel() @ b.ravel()


def inner(a, b) -> Tensor:
    a, b = lift_together([a, b])
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return tensordot(a, b, axes=([-1], [-1]))


def outer(a, b) -> Tensor:
    a, b = lift_together([a, b])
    return a.reshape(-1, 1) * b.reshape(1, -1)


def diagonal(x, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The entries x[..., i, i + offset] of axes axis1, axis2, which move to the end."""
    x = as_tensor(x)
    axis1, axis2 = one_axis(axis1, x.ndim), one_axis(axis2, x.ndim)
    if axis1 == axis2:
        raise ValueError("diagonal: axis1 and axis2 cannot be the same")
    rest = [i for i in range(x.ndim) if i not in (axis1, axis2)]
    rows = np.arange(max(0, -offset), min(x.shape[axis1], x.shape[axis2] - offset))
    return x.transpose(rest + [axis1, axis2])[..., rows, rows + offset]


def trace(x, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    return diagonal(x, offset, axis1, axis2).sum(-1)


def diag(v, k: int = 0) -> Tensor:
    """A 1-D input becomes a square matrix with it on diagonal k; a 2-D one gives diagonal k."""
    v = as_tensor(v)
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise ValueError(f"diag takes a 1-D or 2-D input, got shape {v.shape}")
    n = len(v) + abs(k)
    positions = np.arange(len(v))
    index = (positions + max(0, -k), positions + max(0, k))
    return apply(ops.ScatterAdd((n, n), index), v)


def norm(x, ord=None, axis=None, keepdims: bool = False) -> Tensor:
    """numpy.linalg.norm: vector norms over one axis, matrix norms over two."""
    x = as_tensor(x)
    if axis is None and ord is None:
        return (x * x).sum(keepdims=keepdims).sqrt()
    if axis is None:
        if x.ndim not in (1, 2):
            raise ValueError(f"norm with ord={ord!r} needs a 1-D or 2-D input, got {x.shape}")
        axis = tuple(range(x.ndim))
    axes = tuple(int(a) % x.ndim for a in np.atleast_1d(axis))
    normalize_axis(axes, x.ndim)  # range and duplicate checks
    result = _vector_norm(x, ord, axes[0]) if len(axes) == 1 else _matrix_norm(x, ord, axes)
    if keepdims:
        return result
    return result.reshape(tuple(n for i, n in enumerate(x.shape) if i not in axes))


def _vector_norm(x: Tensor, ord, axis: int) -> Tensor:
    """The norm over axis, kept as a size-1 axis."""
    if ord is None or ord == 2:
        return (x * x).sum(axis, keepdims=True).sqrt()
    if ord == np.inf:
        return abs(x).max(axis, keepdims=True)
    if ord == -np.inf:
        return abs(x).min(axis, keepdims=True)
    if ord == 0:  # a count of nonzero entries: no gradient
        return as_tensor((x != 0).data.sum(axis, keepdims=True).astype(x.dtype))
    if ord == 1:
        return abs(x).sum(axis, keepdims=True)
    if isinstance(ord, str):
        raise ValueError(f"norm: ord={ord!r} is a matrix norm; a vector norm takes a number")
    return (abs(x) ** ord).sum(axis, keepdims=True) ** (1 / ord)


def _matrix_norm(x: Tensor, ord, axes: tuple) -> Tensor:
    """The norm over the two axes (rows, columns), kept as size-1 axes."""
    rows, columns = axes
    if ord is None or ord == "fro":
        return (x * x).sum(axes, keepdims=True).sqrt()
    if ord in (1, -1):  # the largest (smallest) column sum of |x|
        sums = abs(x).sum(rows, keepdims=True)
        return sums.max(columns, keepdims=True) if ord == 1 else sums.min(columns, keepdims=True)
    if ord in (np.inf, -np.inf):  # the largest (smallest) row sum of |x|
        sums = abs(x).sum(columns, keepdims=True)
        return sums.max(rows, keepdims=True) if ord > 0 else sums.min(rows, keepdims=True)
    if ord == 2:
        moved = [i for i in range(x.ndim) if i not in axes] + [rows, columns]
        largest = apply(ops.SpectralNorm(), x.transpose(moved))
        return largest.reshape(tuple(1 if i in axes else n for i, n in enumerate(x.shape)))
    raise ValueError(f"norm: ord={ord!r} is not supported on Tensors (None, 'fro', 1, -1, 2, inf)")
