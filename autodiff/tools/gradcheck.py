"""Gradient checking: the engine's gradients against float64 central differences.

Independent of the backward walk: the numerical side only evaluates the function.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..core.engine import grad
from ..core.mode import no_grad
from ..core.tensor import Tensor


class GradcheckError(AssertionError):
    """Analytic and numerical gradients disagree."""


def numerical_gradient(fn: Callable, *arrays: np.ndarray, eps: float = 1e-6) -> list[np.ndarray]:
    """Central differences (f(x + eps) - f(x - eps)) / 2 eps of a scalar fn, one array each.

    fn takes the arrays (perturbed in place, then restored) and returns a number or Tensor.
    """
    gradients = []
    for array in arrays:
        g = np.zeros_like(array, dtype=np.float64)
        for index in np.ndindex(array.shape):
            original = array[index]
            array[index] = original + eps
            upper = float(_value(fn(*arrays)))
            array[index] = original - eps
            lower = float(_value(fn(*arrays)))
            array[index] = original
            g[index] = (upper - lower) / (2 * eps)
        gradients.append(g)
    return gradients


def _value(result):
    return result.data if isinstance(result, Tensor) else result


def gradcheck(
    fn: Callable,
    *inputs,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    max_elements: int = 2000,
    directions: int = 20,
    seed: int = 0,
) -> bool:
    """Check d fn / d input for every input Tensor with requires_grad=True; True or raise.

    Inputs are copied to float64. A non-scalar output is reduced to the scalar sum(out * r)
    with a fixed random r, which checks the full vector-Jacobian product. Inputs larger than
    max_elements are checked along `directions` random directions instead of element by
    element. On a mismatch, GradcheckError names the input, the worst element's index, and
    the analytic and numerical values.
    """
    rng = np.random.default_rng(seed)
    arrays = [np.array(_value(x), dtype=np.float64) for x in inputs]
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck needs at least one input Tensor with requires_grad=True")
    projection = None

    def scalar(*values):
        nonlocal projection
        tensors = [Tensor._make(v, i in checked) for i, v in enumerate(values)]
        out = fn(*tensors)
        out = out if isinstance(out, Tensor) else Tensor(out)
        if out.size == 1:
            return out.sum(), tensors
        if projection is None:
            projection = rng.standard_normal(out.shape)
        return (out * projection).sum(), tensors

    out, tensors = scalar(*arrays)
    analytic = grad(out, [tensors[i] for i in checked])

    def evaluate(*values):
        with no_grad():
            return scalar(*values)[0]

    for position, g in zip(checked, analytic):
        array, g = arrays[position], g.data
        if array.size <= max_elements:
            numeric = numerical_gradient(
                lambda v, p=position: evaluate(*arrays[:p], v, *arrays[p + 1 :]), array, eps=eps
            )[0]
            _compare(g, numeric, atol, rtol, f"input {position} (shape {array.shape})")
            continue
        for k in range(directions):
            direction = rng.standard_normal(array.shape)
            direction /= np.linalg.norm(direction)
            upper = evaluate(*_replaced(arrays, position, array + eps * direction)).item()
            lower = evaluate(*_replaced(arrays, position, array - eps * direction)).item()
            numeric = np.array([(upper - lower) / (2 * eps)])
            what = f"input {position} (shape {array.shape}) along random direction {k}"
            _compare(np.array([np.vdot(g, direction)]), numeric, atol, rtol, what)
    return True


def _replaced(arrays: list, position: int, value: np.ndarray) -> list:
    return arrays[:position] + [value] + arrays[position + 1 :]


def _compare(analytic: np.ndarray, numeric: np.ndarray, atol: float, rtol: float, what: str):
    with np.errstate(invalid="ignore"):  # Inf - Inf: NaN, reported below as a failure
        excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    worst = np.unravel_index(np.argmax(excess), excess.shape)
    # argmax finds the first NaN, and `not NaN <= 0` holds; an Inf on either side makes the
    # excess Inf or NaN. Either way the check fails at that element.
    if not excess[worst] <= 0:
        raise GradcheckError(
            f"gradcheck failed for {what} at index {tuple(int(i) for i in worst)}: "
            f"analytic {analytic[worst]:.10g}, numerical {numeric[worst]:.10g} "
            f"(tolerance atol={atol}, rtol={rtol})"
        )
