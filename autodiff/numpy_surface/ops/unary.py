"""Elementwise ops of one input beyond the core's neg exp log tanh sigmoid relu: sqrt, abs,
trigonometry, expm1/log1p, clipping, rounding, dtype casts.

Each rule is written with numpy functions, so it runs on arrays (first order) and on Tensors
(second order) alike.
"""

from __future__ import annotations

import numpy as np

from ...core.op import Op


class Expm1(Op):
    """z = exp(x) - 1 (accurate near 0);  dx = g * (z + 1)"""

    def forward(self, x):
        return np.expm1(x)

    def backward(self, grad_out, x, z):
        return (grad_out * (z + 1),)


class Log1p(Op):
    """z = log(1 + x) (accurate near 0);  dx = g / (1 + x)"""

    def forward(self, x):
        return np.log1p(x)

    def backward(self, grad_out, x, z):
        return (grad_out / (1 + x),)


class Sqrt(Op):
    """z = sqrt(x);  dx = g / (2 z)"""

    def forward(self, x):
        return np.sqrt(x)

    def backward(self, grad_out, x, z):
        return (grad_out / (2 * z),)


class Abs(Op):
    """z = |x|;  dx = g * sign(x)  (0 at x = 0)"""

    def forward(self, x):
        return np.abs(x)

    def backward(self, grad_out, x, z):
        return (grad_out * np.sign(x),)


class Sin(Op):
    """z = sin(x);  dx = g * cos(x)"""

    def forward(self, x):
        return np.sin(x)

    def backward(self, grad_out, x, z):
        return (grad_out * np.cos(x),)


class Cos(Op):
    """z = cos(x);  dx = -g * sin(x)"""

    def forward(self, x):
        return np.cos(x)

    def backward(self, grad_out, x, z):
        return (-grad_out * np.sin(x),)


class Tan(Op):
    """z = tan(x);  dx = g * (1 + z^2)"""

    def forward(self, x):
        return np.tan(x)

    def backward(self, grad_out, x, z):
        return (grad_out * (1 + z * z),)


class Arctan(Op):
    """z = arctan(x);  dx = g / (1 + x^2)"""

    def forward(self, x):
        return np.arctan(x)

    def backward(self, grad_out, x, z):
        return (grad_out / (1 + x * x),)


class Sinh(Op):
    """z = sinh(x);  dx = g * cosh(x)"""

    def forward(self, x):
        return np.sinh(x)

    def backward(self, grad_out, x, z):
        return (grad_out * np.cosh(x),)


class Cosh(Op):
    """z = cosh(x);  dx = g * sinh(x)"""

    def forward(self, x):
        return np.cosh(x)

    def backward(self, grad_out, x, z):
        return (grad_out * np.sinh(x),)


class Clip(Op):
    """z = clip(x, low, high);  dx = g where low <= x <= high"""

    def __init__(self, low: float | None, high: float | None):
        self.low, self.high = low, high

    def forward(self, x):
        return np.clip(x, self.low, self.high)

    def backward(self, grad_out, x, z):
        low = -np.inf if self.low is None else self.low
        high = np.inf if self.high is None else self.high
        return (grad_out * np.logical_and(x >= low, x <= high),)


class _Flat(Op):
    """Step functions: piecewise constant, so the gradient is 0 (where it exists)."""

    def backward(self, grad_out, x, z):
        return (grad_out * 0,)


class Sign(_Flat):
    """z = sign(x);  dx = 0"""

    def forward(self, x):
        return np.sign(x)


class Floor(_Flat):
    """z = floor(x);  dx = 0"""

    def forward(self, x):
        return np.floor(x)


class Ceil(_Flat):
    """z = ceil(x);  dx = 0"""

    def forward(self, x):
        return np.ceil(x)


class Round(_Flat):
    """z = round(x, decimals) (halves to even, as numpy);  dx = 0"""

    def __init__(self, decimals: int = 0):
        self.decimals = decimals

    def forward(self, x):
        return np.round(x, self.decimals)


class AsType(Op):
    """z = x cast to another float dtype;  dx = g cast back to x's dtype"""

    def __init__(self, dtype: np.dtype):
        self.dtype = dtype

    def forward(self, x):
        return x.astype(self.dtype)

    def backward(self, grad_out, x, z):
        return (grad_out.astype(x.dtype),)
