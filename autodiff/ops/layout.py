"""Layout ops: reshape, transpose, broadcast, indexing and its scatter, concatenate, stack, and
reordering along an axis (sort). They move entries around; gradients move them back.
"""

from __future__ import annotations

import numpy as np

from ..function import Op


class Reshape(Op):
    """z = reshape(x, shape);  dx = reshape(g, x.shape)"""

    def __init__(self, shape: tuple):
        self.shape = shape

    def forward(self, x):
        return x.reshape(self.shape)

    def backward(self, grad_out, x, z):
        return (grad_out.reshape(x.shape),)


class Transpose(Op):
    """z = transpose(x, axes);  dx = transpose(g, inverse of axes)"""

    def __init__(self, axes: tuple):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, grad_out, x, z):
        return (grad_out.transpose(tuple(np.argsort(self.axes))),)


class BroadcastTo(Op):
    """z = broadcast_to(x, shape);  dx = g summed back to x.shape (by the engine)"""

    def __init__(self, shape: tuple):
        self.shape = shape

    def forward(self, x):
        return np.broadcast_to(x, self.shape)

    def backward(self, grad_out, x, z):
        return (grad_out,)


def _is_basic(index) -> bool:
    """True for ints, slices, None and Ellipsis: such an index never repeats a position."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


class Index(Op):
    """z = x[index];  dx = zeros like x with g added at index"""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        return x[self.index]

    def backward(self, grad_out, x, z):
        from ..tensor import apply  # the scatter is itself an op, for second order

        return (apply(ScatterAdd(x.shape, self.index), grad_out),)


class ScatterAdd(Op):
    """z = zeros(shape) with x added at index (repeats add up);  dx = g[index]"""

    def __init__(self, shape: tuple, index):
        self.shape, self.index = shape, index

    def forward(self, x):
        z = np.zeros(self.shape, dtype=x.dtype)
        if _is_basic(self.index):
            z[self.index] = x
        else:
            np.add.at(z, self.index, x)
        return z

    def backward(self, grad_out, x, z):
        return (grad_out[self.index],)


class Concatenate(Op):
    """z = concatenate(xs, axis);  dx_i = the slice of g that x_i filled"""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, *xs):
        return np.concatenate(xs, axis=self.axis)

    def backward(self, grad_out, *xs_and_z):
        *xs, z = xs_and_z
        lead = (slice(None),) * self.axis
        bounds = np.cumsum([0] + [x.shape[self.axis] for x in xs])
        return tuple(grad_out[lead + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:]))


class Stack(Op):
    """z = stack(xs, axis);  dx_i = g[..., i, ...] along axis"""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, *xs):
        return np.stack(xs, axis=self.axis)

    def backward(self, grad_out, *xs_and_z):
        lead = (slice(None),) * self.axis
        return tuple(grad_out[lead + (i,)] for i in range(len(xs_and_z) - 1))


class Permute(Op):
    """z = x reordered along axis by `order` (a permutation per slice, as argsort gives);
    dx = g put back in place by the inverse permutation"""

    def __init__(self, order: np.ndarray, axis: int):
        self.order, self.axis = order, axis

    def forward(self, x):
        return np.take_along_axis(x, self.order, axis=self.axis)

    def backward(self, grad_out, x, z):
        from ..tensor import apply  # the inverse reordering is itself an op, for second order

        inverse = np.argsort(self.order, axis=self.axis)
        return (apply(Permute(inverse, self.axis), grad_out),)
