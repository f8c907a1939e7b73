"""GELU, x * Phi(x) with Phi the standard normal CDF, exact or by tanh as PyTorch's
nn.GELU(approximate="none" | "tanh"); and the error function erf / erfc on numpy arrays, which
the exact form needs (numpy has none, and scipy is not a dependency).

erf is computed in float64 by two classical expansions (Abramowitz & Stegun 7.1.6 and 7.1.14):
for |x| <= 1 the all-positive series
    erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1 * 3 * ... * (2n+1)),
and beyond it the continued fraction
    erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))),
which gives erfc's tails with full relative accuracy. Tested against math.erf to 1e-15.
"""

from __future__ import annotations

import math

import numpy as np

from autodiff import Op, Tensor, apply
from autodiff.core import Code

SERIES_LIMIT = 1.0  # |x| up to here: the series; beyond: the continued fraction
SERIES_TERMS = 22  # 2^n / (2n+1)!! at x = 1 falls below 1e-18 by then
FRACTION_TERMS = 240  # at x = 1 the fraction has converged to 1e-16 after about 150
TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def _exp_minus_square(x: np.ndarray) -> np.ndarray:
    """exp(-x^2) without the rounding of x*x: x = high + (x - high), high with 12 bits, so
    high*high is exact and exp(-x^2) = exp(-high^2) * exp(-(x - high)(x + high))."""
    high = np.round(x * 4096) / 4096
    return np.exp(-high * high) * np.exp(-(x - high) * (x + high))


def _erf_series(x: np.ndarray) -> np.ndarray:
    """erf for |x| <= 1, the series summed by Horner's rule from its far end."""
    two_x_squared = 2 * x * x
    total = np.ones_like(x)
    for n in range(SERIES_TERMS, 0, -1):
        total = 1 + total * (two_x_squared / (2 * n + 1))
    return TWO_OVER_SQRT_PI * _exp_minus_square(x) * x * total


def _erfc_fraction(x: np.ndarray) -> np.ndarray:
    """erfc for x >= 1, the continued fraction evaluated from its far end."""
    x = np.minimum(x, 40.0)  # erfc(40) underflows to 0 already; infinity would give nan
    denominator = x.copy()
    for k in range(FRACTION_TERMS, 0, -1):
        denominator = x + (k / 2) / denominator
    return _exp_minus_square(x) / (math.sqrt(math.pi) * denominator)


def erf(x) -> np.ndarray:
    """The error function 2/sqrt(pi) * integral from 0 to x of exp(-t^2) dt, elementwise."""
    x = np.asarray(x, dtype=np.float64)
    result = np.empty_like(x)
    small = np.abs(x) <= SERIES_LIMIT
    result[small] = _erf_series(x[small])
    large = ~small & ~np.isnan(x)
    result[large] = np.sign(x[large]) * (1 - _erfc_fraction(np.abs(x[large])))
    result[np.isnan(x)] = np.nan
    return result


def erfc(x) -> np.ndarray:
    """1 - erf(x), accurate in relative terms in the right tail where erf(x) rounds to 1."""
    x = np.asarray(x, dtype=np.float64)
    result = np.empty_like(x)
    small = np.abs(x) <= SERIES_LIMIT
    result[small] = 1 - _erf_series(x[small])
    right, left = ~small & (x > 0), ~small & (x < 0)
    result[right] = _erfc_fraction(x[right])
    result[left] = 2 - _erfc_fraction(-x[left])
    result[np.isnan(x)] = np.nan
    return result


def _normal_density(x):
    """phi(x) = exp(-x^2/2) / sqrt(2 pi), on arrays or Tensors."""
    return np.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))


def _cdf_source(target: str) -> str:
    """numpy statements assigning Phi({x}) to target, the same two expansions as erfc above,
    for the code generator (autodiff.capture), whose programs see numpy only."""
    t = "{out}_t"
    return "\n".join(
        [
            f"{t} = {{x}} * {-1 / math.sqrt(2)!r}",  # Phi(x) = erfc(t) / 2
            f"{{out}}_s = np.clip({t}, -1.0, 1.0)",
            "{out}_h = np.round({out}_s * 4096) / 4096",
            "{out}_sum = np.ones_like({out}_s)",
            f"for {{out}}_n in range({SERIES_TERMS}, 0, -1):",
            "    {out}_sum = 1 + {out}_sum * (2 * {out}_s * {out}_s / (2 * {out}_n + 1))",
            f"{{out}}_erf = {TWO_OVER_SQRT_PI!r} * (np.exp(-{{out}}_h * {{out}}_h) * np.exp("
            "-({out}_s - {out}_h) * ({out}_s + {out}_h))) * {out}_s * {out}_sum",
            f"{{out}}_a = np.clip(np.abs({t}), 1.0, 40.0)",
            "{out}_ha = np.round({out}_a * 4096) / 4096",
            "{out}_den = {out}_a.copy()",
            f"for {{out}}_k in range({FRACTION_TERMS}, 0, -1):",
            "    {out}_den = {out}_a + ({out}_k / 2) / {out}_den",
            "{out}_frac = np.exp(-{out}_ha * {out}_ha) * np.exp(-({out}_a - {out}_ha) * ("
            f"{{out}}_a + {{out}}_ha)) / ({math.sqrt(math.pi)!r} * {{out}}_den)",
            f"{target} = 0.5 * np.where(np.abs({t}) <= 1.0, 1 - {{out}}_erf, np.where({t} > 0, "
            "{out}_frac, 2 - {out}_frac))",
        ]
    )


DENSITY_SOURCE = f"(np.exp(-0.5 * {{x}} * {{x}}) * {1 / math.sqrt(2 * math.pi)!r})"


class NormalCdf(Op):
    """z = Phi(x) = erfc(-x / sqrt(2)) / 2;  dx = g * exp(-x^2/2) / sqrt(2 pi)"""

    code = Code(_cdf_source("{out}"), (f"{{g}} * {DENSITY_SOURCE}", "normal cdf: g phi(x)"))

    def forward(self, x):
        return _cdf(x)

    def backward(self, grad_out, x, z):
        return (grad_out * _normal_density(x),)


def normal_cdf(x) -> Tensor:
    """Phi(x), the standard normal CDF, as one recorded op (second order through phi)."""
    return apply(NormalCdf(), x if isinstance(x, Tensor) else Tensor(np.asarray(x, float)))


TANH_SCALE = math.sqrt(2 / math.pi)
TANH_CUBIC = 0.044715


def _cdf(x):
    """Phi(x) on arrays, or as the recorded NormalCdf op on Tensors (for second order)."""
    if isinstance(x, Tensor):
        return normal_cdf(x)
    return (0.5 * erfc(-x * (1 / math.sqrt(2)))).astype(x.dtype, copy=False)  # float32 stays


class Gelu(Op):
    """z = x Phi(x);  dx = g (Phi(x) + x phi(x)).  With approximate="tanh":
    z = x (1 + tanh(u)) / 2, u = sqrt(2/pi) (x + 0.044715 x^3);
    dx = g ((1 + tanh u) / 2 + x (1 - tanh^2 u) u' / 2), u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2)

    One op rather than a chain of products: the chain's backward ran a dozen full-size
    multiplications (measured the largest cost of makemore's Transformer step). The rule is
    written with operators Tensors share, so it also gives the second order.
    """

    def __init__(self, approximate: str):
        self.approximate = approximate

    def forward(self, x):
        if self.approximate == "tanh":
            return 0.5 * x * (1 + np.tanh(TANH_SCALE * (x + TANH_CUBIC * x * x * x)))
        return x * _cdf(x)

    def code(self, x, z) -> Code:
        if self.approximate == "tanh":
            # Written as the rule computes, operation for operation: a captured step must give
            # the eager step's numbers bit for bit.
            cube = "{x} * {x} * {x}"
            return Code(
                f"{{out}}_t = np.tanh({TANH_SCALE!r} * ({{x}} + {TANH_CUBIC!r} * {cube}))\n"
                "{out} = 0.5 * {x} * (1 + {out}_t)",
                (
                    f"{{g}} * (0.5 * (1 + {{out}}_t) + 0.5 * {{x}} * (1 - {{out}}_t * {{out}}_t) * "
                    f"({TANH_SCALE!r} * (1 + {3 * TANH_CUBIC!r} * {{x}} * {{x}})))",
                    "gelu (tanh): g ((1 + t) / 2 + x (1 - t^2) u' / 2)",
                ),
            )
        return Code(
            _cdf_source("{out}_cdf") + "\n{out} = {x} * {out}_cdf",
            (f"{{g}} * ({{out}}_cdf + {{x}} * {DENSITY_SOURCE})", "gelu: g (Phi(x) + x phi(x))"),
        )

    def backward(self, grad_out, x, z):
        if self.approximate == "tanh":
            t = np.tanh(TANH_SCALE * (x + TANH_CUBIC * x * x * x))
            slope = TANH_SCALE * (1 + 3 * TANH_CUBIC * x * x)
            return (grad_out * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * slope),)
        return (grad_out * (_cdf(x) + x * _normal_density(x)),)


def gelu(x, approximate: str = "none") -> Tensor:
    """GELU(x) = x * Phi(x) (approximate="none"), or PyTorch's tanh form
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (approximate="tanh"), as one op."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f'gelu: approximate must be "none" or "tanh", got {approximate!r}')
    return apply(Gelu(approximate), x if isinstance(x, Tensor) else Tensor(np.asarray(x, float)))
