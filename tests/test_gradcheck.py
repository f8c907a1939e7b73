"""gradcheck and numerical_gradient: the oracle passes correct ops and catches wrong ones."""

from __future__ import annotations

import re

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from autodiff import GradcheckError, Op, Tensor, apply, gradcheck, numerical_gradient


class _SquareWithBump(Op):
    """z = x^2, with a backward that is wrong by `bump` (an array like x, zero where right)."""

    def __init__(self, bump: np.ndarray):
        self.bump = bump

    def forward(self, x):
        return x * x

    def backward(self, grad_out, x, z):
        return (grad_out * (2 * x + self.bump),)


class _NanAwayFromOne(Op):
    """z = x at x == 1, NaN anywhere else; its backward claims dz/dx = 1."""

    def forward(self, x):
        return np.where(x == 1.0, x, np.nan)

    def backward(self, grad_out, x, z):
        return (grad_out,)


def reported(message: str) -> tuple[tuple[int, ...], float, float]:
    """The index, analytic and numerical values a GradcheckError message reports."""
    match = re.search(r"at index \(([\d, ]*)\): analytic (\S+), numerical (\S+)", message)
    assert match, message
    index = tuple(int(i) for i in match[1].replace(",", " ").split())
    return index, float(match[2]), float(match[3].rstrip(","))


def test_gradcheck_passes_correct_ops():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = Tensor(rng.standard_normal((4, 2)), requires_grad=True)
    constant = Tensor(rng.standard_normal(2))
    assert gradcheck(lambda x, w, c: ((x @ w).tanh() * c).sum(), x, w, constant) is True
    assert gradcheck(lambda x, w: (x @ w).sigmoid(), x, w) is True  # non-scalar output


def test_gradcheck_reports_input_worst_index_and_both_values():
    values = np.arange(1.0, 7.0).reshape(2, 3)
    bump = np.zeros((2, 3))
    bump[1, 2], bump[0, 1] = 0.5, 0.1  # [1, 2] is the worst
    with pytest.raises(GradcheckError) as caught:
        gradcheck(
            lambda x: apply(_SquareWithBump(bump), x).sum(), Tensor(values, requires_grad=True)
        )
    message = str(caught.value)
    assert "input 0" in message and "(2, 3)" in message
    index, analytic, numerical = reported(message)
    assert index == (1, 2)
    assert_allclose(analytic, 2 * values[1, 2] + 0.5, rtol=1e-8)
    assert_allclose(numerical, 2 * values[1, 2], rtol=1e-6)


def test_gradcheck_names_the_wrong_input_among_several():
    a, b = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, -1.0], requires_grad=True)
    bump = np.array([0.0, 1.0])
    with pytest.raises(GradcheckError, match="input 1") as caught:
        gradcheck(lambda a, b: (a * apply(_SquareWithBump(bump), b)).sum(), a, b)
    index, analytic, numerical = reported(str(caught.value))
    assert index == (1,)
    assert_allclose([analytic, numerical], [2 * (-2.0 + 1.0), 2 * (-2.0)], rtol=1e-6)


def test_gradcheck_catches_a_wrong_op_with_a_non_scalar_output():
    bump = np.full((2, 2), 0.3)
    with pytest.raises(GradcheckError):
        gradcheck(
            lambda x: apply(_SquareWithBump(bump), x), Tensor(np.ones((2, 2)), requires_grad=True)
        )


def test_gradcheck_fails_when_the_numerical_side_is_nan():
    with pytest.raises(GradcheckError, match="nan"):
        gradcheck(lambda x: apply(_NanAwayFromOne(), x).sum(), Tensor([1.0], requires_grad=True))


def test_gradcheck_uses_random_directions_for_large_inputs():
    values = np.random.default_rng(1).standard_normal((30, 30))
    calls = []

    def square(x, bump):
        calls.append(1)
        return apply(_SquareWithBump(bump), x).sum()

    x = Tensor(values, requires_grad=True)
    assert gradcheck(lambda x: square(x, np.zeros((30, 30))), x, max_elements=100, directions=5)
    assert len(calls) == 1 + 2 * 5  # one analytic pass, two evaluations per direction

    with pytest.raises(GradcheckError, match="random direction"):
        gradcheck(lambda x: square(x, np.full((30, 30), 0.2)), x, max_elements=100, directions=5)


def test_gradcheck_leaves_its_inputs_alone():
    values = np.array([0.5, -1.5, 2.0])
    x = Tensor(values, requires_grad=True)
    gradcheck(lambda x: (x * x).exp().sum(), x)
    assert_array_equal(x.data, values)
    assert x.grad is None


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="requires_grad"):
        gradcheck(lambda x: x.sum(), Tensor([1.0]))


def test_numerical_gradient_matches_formulas_and_restores_its_arrays():
    x, y = np.array([0.5, -1.0, 2.0]), np.array([[1.5, 0.25]])
    saved = x.copy(), y.copy()
    gx, gy = numerical_gradient(lambda x, y: np.sum(x**3) * np.sum(np.sin(y)), x, y)
    assert_allclose(gx, 3 * saved[0] ** 2 * np.sum(np.sin(saved[1])), rtol=1e-7)
    assert_allclose(gy, np.sum(saved[0] ** 3) * np.cos(saved[1]), rtol=1e-7)
    assert_array_equal(x, saved[0])
    assert_array_equal(y, saved[1])
