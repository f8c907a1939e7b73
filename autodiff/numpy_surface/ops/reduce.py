"""Reductions and scans beyond the core's sum, mean and max: min, prod, logsumexp, softmax,
log_softmax, cumsum/cumprod.

`axis` is None or a tuple of non-negative axes (the methods normalize what users pass); the
scans take one axis. Gradients come back at the input's rank, ready to broadcast.
"""

from __future__ import annotations

import numpy as np

from ...core.code import Code, expanded, reduction_arguments
from ...core.op import Op
from ...core.ops import Max, _reduced_shape, _Reduction


class Min(Max):
    """z = min(x, axis);  dx = g where x == z, shared equally between ties"""

    def forward(self, x):
        return x.min(axis=self.axis, keepdims=self.keepdims)


class Prod(_Reduction):
    """z = prod(x, axis);  dx = g * (product of the other entries), z / x without zeros"""

    def forward(self, x):
        return x.prod(axis=self.axis, keepdims=self.keepdims)

    def backward(self, grad_out, x, z):
        grad_out = self.expand(grad_out, x)
        if not np.asarray(np.equal(x, 0)).any():
            return (grad_out * self.expand(z, x) / x,)
        # z / x is 0 / 0 at a zero. Then each entry's "others" is the product of its slice with
        # that entry set to 1: n^2 memory per slice, but exact at every order.
        axes = list(range(x.ndim)) if self.axis is None else list(self.axis)
        rest = [i for i in range(x.ndim) if i not in axes]
        moved = x.transpose(rest + axes)
        flat = moved.reshape(moved.shape[: len(rest)] + (-1,))
        n = flat.shape[-1]
        others = np.where(np.eye(n, dtype=bool), 1, np.expand_dims(flat, -2)).prod(axis=-1)
        back = tuple(int(i) for i in np.argsort(rest + axes))
        return (grad_out * others.reshape(moved.shape).transpose(back),)

    def code(self, x, z) -> Code:
        z, g = (
            expanded("{out}", self.axis, self.keepdims),
            expanded("{g}", self.axis, self.keepdims),
        )
        return Code(
            f"{{x}}.prod({reduction_arguments(self.axis, self.keepdims)})",
            (f"{g} * {z} / {{x}}", "prod: g times the product of the others, z / x"),
            requires=("np.all({x} != 0)", "prod's rule z / x needs x without zeros"),
        )


class LogSumExp(_Reduction):
    """z = log(sum(exp(x), axis));  dx = g * exp(x - z)"""

    def forward(self, x):
        shift = _finite_max(x, self.axis)
        total = np.exp(x - shift).sum(axis=self.axis, keepdims=True)
        z = np.log(total) + shift
        return z if self.keepdims else z.reshape(_reduced_shape(x.shape, self.axis))

    def backward(self, grad_out, x, z):
        return (self.expand(grad_out, x) * np.exp(x - self.expand(z, x)),)

    def code(self, x, z) -> Code:
        keep = reduction_arguments(self.axis, keepdims=True)
        total = f"np.log(np.exp({{x}} - {{out}}_shift).sum({keep})) + {{out}}_shift"
        if not self.keepdims:
            total = f"({total}).reshape({z.shape!r})"
        z, g = (
            expanded("{out}", self.axis, self.keepdims),
            expanded("{g}", self.axis, self.keepdims),
        )
        return Code(
            f"{{out}}_shift = {{x}}.max({keep})\n{{out}} = {total}",
            (f"{g} * np.exp({{x}} - {z})", "logsumexp: g softmax(x)"),
        )


def _finite_max(x: np.ndarray, axis) -> np.ndarray:
    """The max along axis (keepdims), with infinities replaced by 0 so x - max stays finite."""
    shift = x.max(axis=axis, keepdims=True)
    return np.where(np.isfinite(shift), shift, 0)


class Softmax(Op):
    """z = exp(x) / sum(exp(x), axis);  dx = z * (g - sum(g * z, axis))"""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        e = np.exp(x - _finite_max(x, self.axis))
        return e / e.sum(axis=self.axis, keepdims=True)

    def backward(self, grad_out, x, z):
        return (z * (grad_out - (grad_out * z).sum(axis=self.axis, keepdims=True)),)

    code = Code(
        "{out}_e = np.exp({x} - {x}.max(axis={axis}, keepdims=True))\n"
        "{out} = {out}_e / {out}_e.sum(axis={axis}, keepdims=True)",
        (
            "{out} * ({g} - ({g} * {out}).sum(axis={axis}, keepdims=True))",
            "softmax: z (g - sum(g z))",
        ),
    )


class LogSoftmax(Op):
    """z = x - logsumexp(x, axis);  dx = g - exp(z) * sum(g, axis)"""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        shifted = x - _finite_max(x, self.axis)
        return shifted - np.log(np.exp(shifted).sum(axis=self.axis, keepdims=True))

    def backward(self, grad_out, x, z):
        return (grad_out - np.exp(z) * grad_out.sum(axis=self.axis, keepdims=True),)

    code = Code(
        "{out}_shifted = {x} - {x}.max(axis={axis}, keepdims=True)\n"
        "{out} = {out}_shifted - np.log(np.exp({out}_shifted).sum(axis={axis}, keepdims=True))",
        (
            "{g} - np.exp({out}) * {g}.sum(axis={axis}, keepdims=True)",
            "log_softmax: g - softmax sum(g)",
        ),
    )


def _reverse_cumsum(a, axis: int):
    """sum over k >= i of a_k along axis: the transpose of a running sum."""
    return np.flip(np.cumsum(np.flip(a, axis), axis), axis)


class CumSum(Op):
    """z_i = sum_{k <= i} x_k along axis;  dx_i = sum_{k >= i} g_k"""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        return np.cumsum(x, axis=self.axis)

    def backward(self, grad_out, x, z):
        return (_reverse_cumsum(grad_out, self.axis),)

    code = Code(
        "np.cumsum({x}, axis={axis})",
        (
            "np.flip(np.cumsum(np.flip({g}, {axis}), {axis}), {axis})",
            "cumsum: g summed from the end",
        ),
    )


class CumProd(Op):
    """z_i = prod_{k <= i} x_k along axis;  dx_i = sum_{k >= i} g_k z_k / x_i (no zeros)"""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        return np.cumprod(x, axis=self.axis)

    def backward(self, grad_out, x, z):
        if not np.asarray(np.equal(x, 0)).any():
            return (_reverse_cumsum(grad_out * z, self.axis) / x,)
        # With a zero, z_k / x_i is 0 / 0: build prod_{j <= k, j != i} x_j for every pair
        # (i, k) instead, as running products of x with x_i set to 1 (n^2 memory per slice).
        x, grad_out = np.moveaxis(x, self.axis, -1), np.moveaxis(grad_out, self.axis, -1)
        n = x.shape[-1]
        without_i = np.where(np.eye(n, dtype=bool), 1, np.expand_dims(x, -2))
        later = np.triu(np.ones((n, n), dtype=x.dtype))  # k >= i
        dx = (later * np.expand_dims(grad_out, -2) * np.cumprod(without_i, axis=-1)).sum(-1)
        return (np.moveaxis(dx, -1, self.axis),)

    code = Code(
        "np.cumprod({x}, axis={axis})",
        (
            "np.flip(np.cumsum(np.flip({g} * {out}, {axis}), {axis}), {axis}) / {x}",
            "cumprod: sum of later g z, over x",
        ),
        requires=("np.all({x} != 0)", "cumprod's rule divides by x"),
    )
