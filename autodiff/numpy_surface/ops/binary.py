"""Elementwise ops of two inputs beyond the core's + - * / **: floor division, remainder,
maximum/minimum, where, logaddexp (with numpy broadcasting).

The engine sums each gradient back to its input's shape, so rules here ignore broadcasting.
"""

from __future__ import annotations

import numpy as np

from ...core.code import Code
from ...core.op import Op


class Maximum(Op):
    """z = max(x, y);  dx = g where x > y, dy = g where y > x, g / 2 each at ties"""

    def forward(self, x, y):
        return np.maximum(x, y)

    def backward(self, grad_out, x, y, z):
        share = _winner_share(np.greater(x, y), np.equal(x, y), z)
        dx = grad_out * share
        return dx, grad_out - dx

    code = Code(
        "np.maximum({x}, {y})",
        (
            "np.where({x} > {y}, {g}, np.where({x} == {y}, {g} / 2, 0))",
            "max: g where x wins, g / 2 at ties",
        ),
        (
            "np.where({y} > {x}, {g}, np.where({x} == {y}, {g} / 2, 0))",
            "max: g where y wins, g / 2 at ties",
        ),
    )


class Minimum(Op):
    """z = min(x, y);  dx = g where x < y, dy = g where y < x, g / 2 each at ties"""

    def forward(self, x, y):
        return np.minimum(x, y)

    def backward(self, grad_out, x, y, z):
        share = _winner_share(np.less(x, y), np.equal(x, y), z)
        dx = grad_out * share
        return dx, grad_out - dx

    code = Code(
        "np.minimum({x}, {y})",
        (
            "np.where({x} < {y}, {g}, np.where({x} == {y}, {g} / 2, 0))",
            "min: g where x wins, g / 2 at ties",
        ),
        (
            "np.where({y} < {x}, {g}, np.where({x} == {y}, {g} / 2, 0))",
            "min: g where y wins, g / 2 at ties",
        ),
    )


def _winner_share(x_wins, tie, z) -> np.ndarray:
    """x's share of the gradient: 1 where it wins, 1/2 at ties (like max over a stack)."""
    share = np.asarray(x_wins, dtype=z.dtype) + 0.5 * np.asarray(tie, dtype=z.dtype)
    return share.astype(z.dtype, copy=False)


class Where(Op):
    """z = where(condition, x, y);  dx = g where condition, dy = g elsewhere"""

    def __init__(self, condition: np.ndarray):
        self.condition = condition

    def forward(self, x, y):
        return np.where(self.condition, x, y)

    def backward(self, grad_out, x, y, z):
        return np.where(self.condition, grad_out, 0), np.where(self.condition, 0, grad_out)

    code = Code(
        "np.where({condition}, {x}, {y})",
        ("np.where({condition}, {g}, 0)", "where: g where the condition holds"),
        ("np.where({condition}, 0, {g})", "where: g where it does not"),
    )


class LogAddExp(Op):
    """z = log(exp(x) + exp(y));  dx = g * exp(x - z), dy = g * exp(y - z)"""

    def forward(self, x, y):
        return np.logaddexp(x, y)

    def backward(self, grad_out, x, y, z):
        return grad_out * np.exp(x - z), grad_out * np.exp(y - z)

    code = Code(
        "np.logaddexp({x}, {y})",
        ("{g} * np.exp({x} - {out})", "logaddexp: g e^(x - z)"),
        ("{g} * np.exp({y} - {out})", "logaddexp: g e^(y - z)"),
    )


class FloorDivide(Op):
    """z = floor(x / y) (numpy's floor_divide);  dx = 0, dy = 0 (a step function)"""

    def forward(self, x, y):
        return np.floor_divide(x, y)

    def backward(self, grad_out, x, y, z):
        return grad_out * 0, grad_out * 0

    code = Code("{x} // {y}", ("{g} * 0", "floor_divide: flat"), ("{g} * 0", "floor_divide: flat"))


class Mod(Op):
    """z = x mod y = x - y * floor(x / y) (sign of y, as numpy);  dx = g, dy = -g * floor(x / y)"""

    def forward(self, x, y):
        return np.mod(x, y)

    def backward(self, grad_out, x, y, z):
        return grad_out, -grad_out * np.floor_divide(x, y)

    code = Code("{x} % {y}", ("{g}", "mod: g"), ("-{g} * ({x} // {y})", "mod: -g floor(x / y)"))
