"""Checks and normal forms of what users pass: axes (numpy's rules) and matmul shapes.

Errors name what was expected and what was given.
"""

from __future__ import annotations

import numpy as np


class ShapeError(ValueError):
    """Operands whose shapes do not fit the operation."""


def normalize_axis(axis, ndim: int) -> tuple | None:
    """None, or the sorted tuple of non-negative axes; numpy's AxisError when out of range.

    A 0-d tensor has no axis 0 or -1 here (as numpy's layout functions); see reduction_axes.
    """
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"axis must be an integer or a tuple of integers, got {axis!r}")
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(f"axis {a} is out of range for a tensor of rank {ndim}")
    normalized = tuple(sorted(int(a) % ndim for a in axes))
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"duplicate value in axis {axis!r}")
    return normalized


def reduction_axes(axis, ndim: int) -> tuple | None:
    """normalize_axis for reductions, where a 0-d tensor also takes the integer axis 0 or -1
    (meaning: no axis), as numpy's sum, max, min and prod do, and PyTorch's every reduction."""
    if ndim == 0 and isinstance(axis, (int, np.integer)) and axis in (0, -1):
        return ()
    return normalize_axis(axis, ndim)


def check_matmul(x, y) -> None:
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
