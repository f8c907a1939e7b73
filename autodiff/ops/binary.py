"""Elementwise ops of two inputs (with numpy broadcasting): arithmetic, powers, max/min, where.

The engine sums each gradient back to its input's shape, so rules here ignore broadcasting.
"""

from __future__ import annotations

import numpy as np

from ..function import Op


class Add(Op):
    """z = x + y;  dx = g, dy = g"""

    def forward(self, x, y):
        return x + y

    def backward(self, grad_out, x, y, z):
        return grad_out, grad_out


class Sub(Op):
    """z = x - y;  dx = g, dy = -g"""

    def forward(self, x, y):
        return x - y

    def backward(self, grad_out, x, y, z):
        return grad_out, -grad_out


class Mul(Op):
    """z = x * y;  dx = g * y, dy = g * x"""

    def forward(self, x, y):
        return x * y

    def backward(self, grad_out, x, y, z):
        return grad_out * y, grad_out * x


class Div(Op):
    """z = x / y;  dx = g / y, dy = -g * z / y"""

    def forward(self, x, y):
        return x / y

    def backward(self, grad_out, x, y, z):
        dx = grad_out / y
        return dx, -dx * z


class Pow(Op):
    """z = x ** y;  dx = g * y * x ** (y - 1), dy = g * z * log(x)  (0 where x = 0, y >= 0)"""

    def forward(self, x, y):
        return x**y

    def backward(self, grad_out, x, y, z):
        x_is_zero = np.asarray(np.equal(x, 0))
        dx = dy = None
        if self.needs_input_grad[0]:
            # At x = y = 0 the formula is 0 * 0 ** -1 = NaN, but x ** 0 is flat: its slope is 0.
            # Only that point changes its exponent (1 - 1), so second order stays exact elsewhere.
            both_zero = np.logical_and(x_is_zero, np.asarray(np.equal(y, 0)))
            dx = grad_out * y * x ** (np.where(both_zero, 1, y) - 1)
        if self.needs_input_grad[1]:
            # 0 ** y is 0 for y > 0: slope 0, where z * log(x) would be 0 * -inf = NaN. log is
            # taken of a safe base, so its own gradient (second order) is finite too.
            dy = grad_out * z * np.log(np.where(x_is_zero, 1, x))
        return dx, dy


class Maximum(Op):
    """z = max(x, y);  dx = g where x > y, dy = g where y > x, g / 2 each at ties"""

    def forward(self, x, y):
        return np.maximum(x, y)

    def backward(self, grad_out, x, y, z):
        share = _winner_share(np.greater(x, y), np.equal(x, y), z)
        dx = grad_out * share
        return dx, grad_out - dx


class Minimum(Op):
    """z = min(x, y);  dx = g where x < y, dy = g where y < x, g / 2 each at ties"""

    def forward(self, x, y):
        return np.minimum(x, y)

    def backward(self, grad_out, x, y, z):
        share = _winner_share(np.less(x, y), np.equal(x, y), z)
        dx = grad_out * share
        return dx, grad_out - dx


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


class LogAddExp(Op):
    """z = log(exp(x) + exp(y));  dx = g * exp(x - z), dy = g * exp(y - z)"""

    def forward(self, x, y):
        return np.logaddexp(x, y)

    def backward(self, grad_out, x, y, z):
        return grad_out * np.exp(x - z), grad_out * np.exp(y - z)


class FloorDivide(Op):
    """z = floor(x / y) (numpy's floor_divide);  dx = 0, dy = 0 (a step function)"""

    def forward(self, x, y):
        return np.floor_divide(x, y)

    def backward(self, grad_out, x, y, z):
        return grad_out * 0, grad_out * 0


class Mod(Op):
    """z = x mod y = x - y * floor(x / y) (sign of y, as numpy);  dx = g, dy = -g * floor(x / y)"""

    def forward(self, x, y):
        return np.mod(x, y)

    def backward(self, grad_out, x, y, z):
        return grad_out, -grad_out * np.floor_divide(x, y)
