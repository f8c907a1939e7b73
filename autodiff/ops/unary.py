"""Elementwise ops of one input: powers, exp/log, trigonometry, activations, clipping, rounding.

Each rule is written with numpy functions, so it runs on arrays (first order) and on Tensors
(second order) alike.
"""

from __future__ import annotations

import numpy as np

from ..function import Op

# exp(t) overflows above log(largest float): about 709 in float64, 88 in float32 (one less,
# for margin against rounding the limit itself).
_EXP_LIMIT = {np.dtype(t): float(np.log(np.finfo(t).max)) - 1 for t in (np.float32, np.float64)}


class Neg(Op):
    """z = -x;  dx = -g"""

    def forward(self, x):
        return -x

    def backward(self, grad_out, x, z):
        return (-grad_out,)


class PowConst(Op):
    """z = x ** p for a constant p;  dx = g * p * x ** (p - 1)  (0 for p = 0, also at x = 0)"""

    def __init__(self, exponent: float):
        self.exponent = exponent

    def forward(self, x):
        return x**self.exponent

    def backward(self, grad_out, x, z):
        p = self.exponent
        if p == 0:  # x ** 0 is flat; the formula would give 0 * 0 ** -1 = NaN at x = 0
            return (grad_out * 0,)
        return (grad_out * p * x ** (p - 1),)


class Exp(Op):
    """z = exp(x);  dx = g * z"""

    def forward(self, x):
        return np.exp(x)

    def backward(self, grad_out, x, z):
        return (grad_out * z,)


class Expm1(Op):
    """z = exp(x) - 1 (accurate near 0);  dx = g * (z + 1)"""

    def forward(self, x):
        return np.expm1(x)

    def backward(self, grad_out, x, z):
        return (grad_out * (z + 1),)


class Log(Op):
    """z = log(x);  dx = g / x"""

    def forward(self, x):
        return np.log(x)

    def backward(self, grad_out, x, z):
        return (grad_out / x,)


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


class Tanh(Op):
    """z = tanh(x);  dx = g * (1 - z^2)"""

    def forward(self, x):
        return np.tanh(x)

    def backward(self, grad_out, x, z):
        return (grad_out * (1 - z * z),)


class Sigmoid(Op):
    """z = 1 / (1 + exp(-x));  dx = g * z * (1 - z)"""

    def forward(self, x):
        if x.ndim == 0:  # ufuncs give 0-d results as scalars, which cannot be written in place
            return self.forward(x.reshape(1)).reshape(())
        if x.dtype == np.float16:  # its exp overflows at 11: clipping there would be visible
            return self.forward(x.astype(np.float32)).astype(np.float16)
        # This form keeps relative precision at both ends (sigmoid(-40) is 4.2e-18, where
        # 0.5 + 0.5 tanh(x / 2) cancels to 0). -x is clipped where exp would overflow: z there
        # is about 1e-308 (float64) or 1e-38 (float32), true values smaller still. In place.
        z = np.negative(x)
        np.minimum(z, _EXP_LIMIT.get(x.dtype, 709.0), out=z)
        np.exp(z, out=z)
        z += 1
        return np.reciprocal(z, out=z)

    def backward(self, grad_out, x, z):
        # Built in place in one fresh array (on Tensors, *= records a Mul as usual).
        dx = 1 - z
        dx *= z
        dx *= grad_out
        return (dx,)


class Relu(Op):
    """z = max(x, 0);  dx = g where x > 0"""

    def forward(self, x):
        return np.maximum(x, 0)

    def backward(self, grad_out, x, z):
        return (grad_out * (x > 0),)


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
