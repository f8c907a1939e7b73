"""Layout ops beyond the core's reshape, transpose and indexing: broadcast, concatenate, stack,
and reordering along an axis (sort). They move entries around; gradients move them back.
"""

from __future__ import annotations

import numpy as np

from ...core.code import Code
from ...core.op import Op
from ...core.tensor import apply  # the inverse reordering is itself an op, for second order


class BroadcastTo(Op):
    """z = broadcast_to(x, shape);  dx = g summed back to x.shape (by the engine)"""

    def __init__(self, shape: tuple):
        self.shape = shape

    def forward(self, x):
        return np.broadcast_to(x, self.shape)

    def backward(self, grad_out, x, z):
        return (grad_out,)

    code = Code("np.broadcast_to({x}, {shape})", ("{g}", "broadcast_to: g"))


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

    def code(self, *xs_and_z) -> Code:
        xs, lead = xs_and_z[:-1], ":, " * self.axis
        bounds = np.cumsum([0] + [x.shape[self.axis] for x in xs])
        names = ", ".join(f"{{x{i}}}" for i in range(len(xs)))
        return Code(
            f"np.concatenate([{names}], axis={self.axis})",
            *[
                (f"{{g}}[{lead}{a}:{b}]", "concatenate: the slice of g that x filled")
                for a, b in zip(bounds[:-1], bounds[1:])
            ],
        )


class Stack(Op):
    """z = stack(xs, axis);  dx_i = g[..., i, ...] along axis"""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, *xs):
        return np.stack(xs, axis=self.axis)

    def backward(self, grad_out, *xs_and_z):
        lead = (slice(None),) * self.axis
        return tuple(grad_out[lead + (i,)] for i in range(len(xs_and_z) - 1))

    def code(self, *xs_and_z) -> Code:
        count, lead = len(xs_and_z) - 1, ":, " * self.axis
        names = ", ".join(f"{{x{i}}}" for i in range(count))
        return Code(
            f"np.stack([{names}], axis={self.axis})",
            *[(f"{{g}}[{lead}{i}]", "stack: x's slice of g") for i in range(count)],
        )


class Permute(Op):
    """z = x reordered along axis by `order` (a permutation per slice, as argsort gives);
    dx = g put back in place by the inverse permutation"""

    def __init__(self, order: np.ndarray, axis: int):
        self.order, self.axis = order, axis

    def forward(self, x):
        return np.take_along_axis(x, self.order, axis=self.axis)

    def backward(self, grad_out, x, z):
        inverse = np.argsort(self.order, axis=self.axis)
        return (apply(Permute(inverse, self.axis), grad_out),)

    code = Code(
        "np.take_along_axis({x}, {order}, axis={axis})",
        (
            "np.take_along_axis({g}, np.argsort({order}, axis={axis}), axis={axis})",
            "permute: g put back by the inverse order",
        ),
    )
