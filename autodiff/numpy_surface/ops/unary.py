"""Elementwise ops of one input beyond the core's neg exp log tanh sigmoid relu: sqrt, abs,
trigonometry, expm1/log1p, clipping, rounding, dtype casts.

Each rule is written with numpy functions, so it runs on arrays (first order) and on Tensors
(second order) alike.
"""

from __future__ import annotations

import numpy as np

from ...core.code import Code, number
from ...core.op import Op


class Expm1(Op):
    """z = exp(x) - 1 (accurate near 0);  dx = g * (z + 1)"""

    def forward(self, x):
        return np.expm1(x)

    def backward(self, grad_out, x, z):
        return (grad_out * (z + 1),)

    code = Code("np.expm1({x})", ("{g} * ({out} + 1)", "expm1' = exp"))


class Log1p(Op):
    """z = log(1 + x) (accurate near 0);  dx = g / (1 + x)"""

    def forward(self, x):
        return np.log1p(x)

    def backward(self, grad_out, x, z):
        return (grad_out / (1 + x),)

    code = Code("np.log1p({x})", ("{g} / (1 + {x})", "log1p' = 1 / (1 + x)"))


class Sqrt(Op):
    """z = sqrt(x);  dx = g / (2 z)"""

    def forward(self, x):
        return np.sqrt(x)

    def backward(self, grad_out, x, z):
        # At x = 0 the slope is inf, exactly: no warning (std at zero spread still gets 0,
        # from the square's slope of 0 below it; see PowConst).
        with np.errstate(divide="ignore"):
            return (grad_out / (2 * z),)

    code = Code("np.sqrt({x})", ("{g} / (2 * {out})", "sqrt' = 1 / (2 sqrt(x))"))


class Abs(Op):
    """z = |x|;  dx = g * sign(x)  (0 at x = 0)"""

    def forward(self, x):
        return np.abs(x)

    def backward(self, grad_out, x, z):
        return (grad_out * np.sign(x),)

    code = Code("np.abs({x})", ("{g} * np.sign({x})", "abs' = sign(x)"))


class Sin(Op):
    """z = sin(x);  dx = g * cos(x)"""

    def forward(self, x):
        return np.sin(x)

    def backward(self, grad_out, x, z):
        return (grad_out * np.cos(x),)

    code = Code("np.sin({x})", ("{g} * np.cos({x})", "sin' = cos"))


class Cos(Op):
    """z = cos(x);  dx = -g * sin(x)"""

    def forward(self, x):
        return np.cos(x)

    def backward(self, grad_out, x, z):
        return (-grad_out * np.sin(x),)

    code = Code("np.cos({x})", ("-{g} * np.sin({x})", "cos' = -sin"))


class Tan(Op):
    """z = tan(x);  dx = g * (1 + z^2)"""

    def forward(self, x):
        return np.tan(x)

    def backward(self, grad_out, x, z):
        return (grad_out * (1 + z * z),)

    code = Code("np.tan({x})", ("{g} * (1 + {out} * {out})", "tan' = 1 + tan^2"))


class Arctan(Op):
    """z = arctan(x);  dx = g / (1 + x^2)"""

    def forward(self, x):
        return np.arctan(x)

    def backward(self, grad_out, x, z):
        return (grad_out / (1 + x * x),)

    code = Code("np.arctan({x})", ("{g} / (1 + {x} * {x})", "arctan' = 1 / (1 + x^2)"))


class Sinh(Op):
    """z = sinh(x);  dx = g * cosh(x)"""

    def forward(self, x):
        return np.sinh(x)

    def backward(self, grad_out, x, z):
        return (grad_out * np.cosh(x),)

    code = Code("np.sinh({x})", ("{g} * np.cosh({x})", "sinh' = cosh"))


class Cosh(Op):
    """z = cosh(x);  dx = g * sinh(x)"""

    def forward(self, x):
        return np.cosh(x)

    def backward(self, grad_out, x, z):
        return (grad_out * np.sinh(x),)

    code = Code("np.cosh({x})", ("{g} * np.sinh({x})", "cosh' = sinh"))


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

    def code(self, x, z) -> Code:
        low, high = self.low, self.high
        inside = " & ".join(
            [f"({{x}} >= {number(low)})"] * (low is not None)
            + [f"({{x}} <= {number(high)})"] * (high is not None)
        )
        grad = f"{{g}} * ({inside})" if inside else "{g}"
        bounds = (
            f"{'None' if low is None else number(low)}, {'None' if high is None else number(high)}"
        )
        return Code(f"np.clip({{x}}, {bounds})", (grad, "clip: g where low <= x <= high"))


class _Flat(Op):
    """Step functions: piecewise constant, so the gradient is 0 (where it exists)."""

    def backward(self, grad_out, x, z):
        return (grad_out * 0,)


class Sign(_Flat):
    """z = sign(x);  dx = 0"""

    def forward(self, x):
        return np.sign(x)

    code = Code("np.sign({x})", ("{g} * 0", "sign: flat"))


class Floor(_Flat):
    """z = floor(x);  dx = 0"""

    def forward(self, x):
        return np.floor(x)

    code = Code("np.floor({x})", ("{g} * 0", "floor: flat"))


class Ceil(_Flat):
    """z = ceil(x);  dx = 0"""

    def forward(self, x):
        return np.ceil(x)

    code = Code("np.ceil({x})", ("{g} * 0", "ceil: flat"))


class Round(_Flat):
    """z = round(x, decimals) (halves to even, as numpy);  dx = 0"""

    def __init__(self, decimals: int = 0):
        self.decimals = decimals

    def forward(self, x):
        return np.round(x, self.decimals)

    code = Code("np.round({x}, {decimals})", ("{g} * 0", "round: flat"))


class AsType(Op):
    """z = x cast to another float dtype;  dx = g cast back to x's dtype"""

    def __init__(self, dtype: np.dtype):
        self.dtype = dtype

    def forward(self, x):
        return x.astype(self.dtype)

    def backward(self, grad_out, x, z):
        return (grad_out.astype(x.dtype),)

    def code(self, x, z) -> Code:
        return Code(
            f"{{x}}.astype(np.{np.dtype(self.dtype).name})",
            ("{g}.astype({x}.dtype)", "astype: g cast back"),
        )
