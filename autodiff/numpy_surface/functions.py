"""Functions of the numpy surface built on Tensor ops: where, maximum, minimum, joining and
splitting (concatenate, stack, the *stack family, split), and layout (moveaxis, flip, roll,
tile, pad, sort, ...). Each is composed of recorded ops, so second order comes for free.

Linear algebra lives in linalg.py; numpy's names reach these through array_functions.py.
"""

from __future__ import annotations

import numpy as np

from ..core.arguments import normalize_axis
from ..core.methods import data_of
from ..core.tensor import Tensor, apply, lift
from . import ops


def one_axis(axis, ndim: int) -> int:
    """One axis of a tensor of rank ndim, made non-negative (functions taking a single axis)."""
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be one integer here, got {axis!r}")
    return normalize_axis(axis, ndim)[0]


def as_tensor(value) -> Tensor:
    """value itself if a Tensor, else a constant float Tensor (float64 unless it is float)."""
    if isinstance(value, Tensor):
        return value
    array = np.asarray(value)
    if array.dtype.kind != "f":
        array = array.astype(np.float64)
    return Tensor._make(array, False)


def apply_binary(op_class, a, b):
    """op_class on a and b, the constant among them lifted to the Tensor's dtype."""
    like = a if isinstance(a, Tensor) else b
    return apply(op_class(), lift(a, like), lift(b, like))


def lift_together(values) -> list[Tensor]:
    """Constants among values take the dtype of the first Tensor, as in arithmetic."""
    tensors = [v for v in values if isinstance(v, Tensor)]
    if not tensors:
        return [as_tensor(v) for v in values]
    return [lift(v, tensors[0]) for v in values]


def where(condition, x, y) -> Tensor:
    """Elementwise x where condition holds, else y; gradients flow to x and y only."""
    x, y = lift_together([x, y])
    return apply(ops.Where(np.asarray(data_of(condition), dtype=bool)), x, y)


def masked_fill(x: Tensor, mask, value: float) -> Tensor:
    """x with value wherever mask is true, as PyTorch's Tensor.masked_fill; mask is boolean
    and broadcasts to x's shape (never enlarges it). The gradient is zero where filled."""
    mask = np.asarray(data_of(mask))
    if mask.dtype != bool:
        raise TypeError(f"masked_fill expects a boolean mask, got dtype {mask.dtype}")
    try:
        shape = np.broadcast_shapes(mask.shape, x.shape)
    except ValueError:
        raise ValueError(
            f"masked_fill: mask of shape {mask.shape} does not broadcast to x's {x.shape}"
        ) from None
    if shape != x.shape:
        raise ValueError(f"masked_fill: mask of shape {mask.shape} would enlarge x's {x.shape}")
    return apply(ops.Where(mask), lift(np.asarray(value, dtype=x.dtype), x), x)


def maximum(x, y) -> Tensor:
    return apply_binary(ops.Maximum, x, y)


def minimum(x, y) -> Tensor:
    return apply_binary(ops.Minimum, x, y)


# ---------------------------------------------------------------- joining and splitting


def concatenate(tensors, axis: int | None = 0) -> Tensor:
    tensors = lift_together(tensors)
    if axis is None:  # numpy flattens every input first
        return concatenate([t.ravel() for t in tensors], 0)
    return apply(ops.Concatenate(one_axis(axis, tensors[0].ndim)), *tensors)


def stack(tensors, axis: int = 0) -> Tensor:
    tensors = lift_together(tensors)
    return apply(ops.Stack(one_axis(axis, tensors[0].ndim + 1)), *tensors)


def atleast_1d(x) -> Tensor:
    x = as_tensor(x)
    return x.reshape(1) if x.ndim == 0 else x


def atleast_2d(x) -> Tensor:
    x = as_tensor(x)
    return x.reshape((1,) * (2 - x.ndim) + x.shape) if x.ndim < 2 else x


def atleast_3d(x) -> Tensor:
    """numpy's rule: (n,) becomes (1, n, 1) and (m, n) becomes (m, n, 1)."""
    x = as_tensor(x)
    shapes = {0: (1, 1, 1), 1: (1,) + x.shape + (1,), 2: x.shape + (1,)}
    return x.reshape(shapes[x.ndim]) if x.ndim < 3 else x


def vstack(tensors) -> Tensor:
    return concatenate([atleast_2d(t) for t in tensors], 0)


def hstack(tensors) -> Tensor:
    tensors = [atleast_1d(t) for t in tensors]
    return concatenate(tensors, 0 if tensors[0].ndim == 1 else 1)


def dstack(tensors) -> Tensor:
    return concatenate([atleast_3d(t) for t in tensors], 2)


def column_stack(tensors) -> Tensor:
    """1-D inputs become columns; 2-D ones are joined as they are."""
    tensors = [as_tensor(t) for t in tensors]
    return concatenate([t.reshape(-1, 1) if t.ndim < 2 else t for t in tensors], 1)


def array_split(x, sections, axis: int = 0) -> list[Tensor]:
    """Pieces along axis: `sections` equal-ish parts (the first ones one longer), or the
    pieces between the given split positions."""
    x = as_tensor(x)
    axis = one_axis(axis, x.ndim)
    n = x.shape[axis]
    if np.ndim(sections) == 0:
        count = int(sections)
        if count <= 0:
            raise ValueError(f"number of sections must be larger than 0, got {sections}")
        sizes = [n // count + 1] * (n % count) + [n // count] * (count - n % count)
        bounds = np.concatenate([[0], np.cumsum(sizes)])
    else:
        bounds = np.concatenate([[0], np.asarray(sections, dtype=int), [n]])
    lead = (slice(None),) * axis
    return [x[lead + (slice(int(a), int(max(a, b))),)] for a, b in zip(bounds[:-1], bounds[1:])]


def split(x, sections, axis: int = 0) -> list[Tensor]:
    """As array_split, but a number of sections must divide the axis, as in numpy."""
    x = as_tensor(x)
    n = x.shape[one_axis(axis, x.ndim)]
    if np.ndim(sections) == 0 and n % int(sections):
        raise ValueError(f"array split does not result in an equal division: {n} by {sections}")
    return array_split(x, sections, axis)


# ---------------------------------------------------------------- layout


def expand_dims(x, axis) -> Tensor:
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim + len(np.atleast_1d(axis)))
    shape = iter(x.shape)
    return x.reshape(tuple(1 if i in axes else next(shape) for i in range(x.ndim + len(axes))))


def moveaxis(x, source, destination) -> Tensor:
    x = as_tensor(x)
    sources = [one_axis(a, x.ndim) for a in np.atleast_1d(source)]
    destinations = [one_axis(a, x.ndim) for a in np.atleast_1d(destination)]
    if len(sources) != len(destinations):
        raise ValueError("moveaxis: source and destination must have the same number of axes")
    order = [a for a in range(x.ndim) if a not in sources]
    for destination_axis, source_axis in sorted(zip(destinations, sources)):
        order.insert(destination_axis, source_axis)
    return x.transpose(tuple(order))


def flip(x, axis=None) -> Tensor:
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim)
    axes = range(x.ndim) if axes is None else axes
    return x[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(x.ndim))]


def roll(x, shift, axis=None) -> Tensor:
    """Entries shifted along axis, those falling off one end coming back at the other."""
    x = as_tensor(x)
    if axis is None:
        return roll(x.ravel(), shift, 0).reshape(x.shape)
    shifts, axes = np.broadcast_arrays(np.atleast_1d(shift), np.atleast_1d(axis))
    for s, a in zip(shifts, axes):
        a = one_axis(int(a), x.ndim)
        positions = (np.arange(x.shape[a]) - int(s)) % x.shape[a]
        x = x[(slice(None),) * a + (positions,)]
    return x


def tile(x, reps) -> Tensor:
    """Copies of x side by side: each axis of x laid out `reps` times, by broadcasting."""
    x = as_tensor(x)
    reps = tuple(np.atleast_1d(reps).astype(int))
    rank = max(x.ndim, len(reps))
    reps = (1,) * (rank - len(reps)) + reps
    x = x.reshape((1,) * (rank - x.ndim) + x.shape)
    interleaved = tuple(n for size in x.shape for n in (1, size))
    stretched = tuple(n for r, size in zip(reps, x.shape) for n in (r, size))
    tiled = x.reshape(interleaved).broadcast_to(stretched)
    return tiled.reshape(tuple(r * size for r, size in zip(reps, x.shape)))


def pad(x, pad_width, mode: str = "constant", constant_values=0) -> Tensor:
    """x inside a border of constant_values (numpy's constant mode only)."""
    if mode != "constant":
        raise TypeError(f"numpy.pad(mode={mode!r}) is not supported on Tensors: only 'constant'")
    if np.ndim(constant_values) != 0:
        raise TypeError("numpy.pad on Tensors takes one number as constant_values")
    x = as_tensor(x)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (x.ndim, 2))
    if (widths < 0).any():
        raise ValueError(
            f"numpy.pad: pad widths must be non-negative (0 or more on each side), got "
            f"{np.asarray(pad_width).tolist()}"
        )
    shape = tuple(int(n + before + after) for n, (before, after) in zip(x.shape, widths))
    inside = tuple(slice(int(before), int(before + n)) for n, (before, _) in zip(x.shape, widths))
    padded = apply(ops.ScatterAdd(shape, inside), x)
    if constant_values != 0:
        border = np.full(shape, constant_values, dtype=x.dtype)
        border[inside] = 0
        padded = padded + border
    return padded


def sort(x, axis: int | None = -1) -> Tensor:
    x = as_tensor(x)
    if axis is None:
        return sort(x.ravel(), 0)
    axis = one_axis(axis, x.ndim)
    return apply(ops.Permute(np.argsort(x.data, axis=axis, kind="stable"), axis), x)


def tril(x, k: int = 0) -> Tensor:
    x = as_tensor(x)
    return x * np.tri(x.shape[-2], x.shape[-1], k, dtype=bool)


def triu(x, k: int = 0) -> Tensor:
    x = as_tensor(x)
    return x * ~np.tri(x.shape[-2], x.shape[-1], k - 1, dtype=bool)
