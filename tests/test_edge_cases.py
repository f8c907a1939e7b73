"""Edge cases found by other projects' test suites: each refused with a message that says what
was expected, or differentiated as central differences say."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

import autodiff
import nn
from autodiff import Tensor

# ---------------------------------------------------------------- widths and strides


@pytest.mark.parametrize("padding", [-1, (0, -2), (-1, 0)])
def test_conv2d_refuses_negative_padding_widths(padding):
    x, w = Tensor(np.ones((1, 1, 5, 5))), Tensor(np.ones((1, 1, 3, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"padding widths must be non-negative \(0 or more\)"):
        nn.conv2d(x, w, padding=padding)
    with pytest.raises(ValueError, match=r"padding widths must be non-negative"):
        nn.Conv2d(1, 1, 3, padding=padding)


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Conv2d(1, 1, 3, stride=0),
        lambda: nn.Conv2d(1, 1, (3, 0)),
        lambda: nn.MaxPool2d(2, stride=(1, 0)),
        lambda: nn.max_pool2d(Tensor(np.ones((1, 1, 4, 4))), 0),
    ],
    ids=["conv stride 0", "conv kernel 0", "pool stride 0", "pool size 0"],
)
def test_kernel_sizes_and_strides_must_be_positive(make):
    with pytest.raises(ValueError, match=r"must be 1 or more, got"):
        make()


# ---------------------------------------------------------------- the engine's edge cases


def central_differences(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """d f / d x by (f(x + h) - f(x - h)) / 2h, one element at a time, on plain arrays."""
    x = np.array(x, dtype=np.float64)
    slopes = np.empty_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += h
        down[index] -= h
        with np.errstate(all="ignore"):
            slopes[index] = (np.sum(f(up)) - np.sum(f(down))) / (2 * h)
    return slopes


SPREADS = {
    "std of a scalar": (3.5, lambda x: np.std(x)),
    "std of equal values": ([2.0, 2.0, 2.0], lambda x: np.std(x)),
    "sqrt of var": ([2.0, 2.0, 2.0], lambda x: np.sqrt(np.var(x))),
    "std with ddof=1": ([-1.5, -1.5], lambda x: np.std(x, ddof=1)),
    "std of one flat row": ([[1.0, 1.0], [1.0, 3.0]], lambda x: np.std(x, axis=-1)),
    "the std method": ([[0.5, 0.5, 0.5]], lambda x: x.std(axis=1, keepdims=True)),
}


@pytest.mark.parametrize("case", SPREADS)
def test_std_where_the_spread_is_zero_has_the_central_difference_gradient(case):
    value, f = SPREADS[case]
    x = Tensor(value, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero or invalid-value warning either
        (gradient,) = autodiff.grad([f(x).sum()], [x])
    expected = central_differences(f, np.asarray(value))
    assert np.all(np.isfinite(gradient.data))
    assert_allclose(gradient.data, expected, atol=1e-8)


def test_std_keeps_its_second_order_gradient_away_from_zero_spread():
    x = Tensor([1.0, 2.0, 4.0], requires_grad=True)
    (first,) = autodiff.grad([np.std(x)], [x], create_graph=True)
    (second,) = autodiff.grad([(first * first).sum()], [x])  # |grad std|^2 = 1 / n: flat
    assert_allclose(second.data, 0.0, atol=1e-12)
    expected = central_differences(lambda a: np.std(a), x.data)
    assert_allclose(first.data, expected, atol=1e-8)


@pytest.mark.parametrize("exponent", [2.0, 0.5, 3.0])
def test_zero_to_a_positive_power_has_gradient_zero_in_the_exponent(exponent):
    base, power = Tensor(0.0, requires_grad=True), Tensor(exponent, requires_grad=True)
    with np.errstate(divide="ignore"):  # d/d base of 0 ** 0.5 is inf: a pole of its own
        _, d_power = autodiff.grad(base**power, [base, power])
    assert d_power.item() == 0.0
    assert d_power.item() == pytest.approx(
        central_differences(lambda y: 0.0**y, np.array(exponent)).item(), abs=1e-8
    )


def test_zero_to_a_negative_power_is_a_pole_with_no_finite_gradient():
    # The README's promise: gradient 0 at base 0 only where 0 ** y is finite (y >= 0).
    base, power = Tensor(0.0, requires_grad=True), Tensor(-1.0, requires_grad=True)
    with np.errstate(all="ignore"):
        value = base**power
        d_base, d_power = autodiff.grad(value, [base, power])
        numeric = central_differences(lambda y: 0.0**y, np.array(-1.0))
    assert value.item() == np.inf
    assert np.isnan(d_power.item()) and np.isnan(numeric.item())  # inf - inf
    assert not np.isfinite(d_base.item())


def test_vstack_takes_numpys_default_casting_and_row_stack_works():
    a = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    stacked = np.vstack([a, 2 * a], casting="same_kind")
    assert_allclose(stacked.data, np.vstack([a.data, 2 * a.data]))
    gradient = autodiff.grad(stacked.sum(), a)
    assert_allclose(gradient.data, np.full((2, 3), 3.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # numpy 2 deprecates row_stack
        assert np.row_stack([a, a]).shape == (4, 3)  # noqa: NPY201 (it passes casting=)
    with pytest.raises(TypeError, match=r"cannot cast a Tensor of dtype float32 to float64"):
        np.vstack([a, a.astype(np.float32)], casting="no")


@pytest.mark.parametrize("widths", [-1, ((0, -1), (0, 0)), ((1, 1), (-2, 0))])
def test_np_pad_refuses_negative_widths(widths):
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"numpy.pad: pad widths must be non-negative"):
        np.pad(a, widths)


def test_grad_of_a_comparison_says_comparisons_are_constant():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"output 0 .* booleans .*comparisons.*constant"):
        autodiff.grad(x > 1, x, grad_outputs=np.ones(2))
    with pytest.raises(RuntimeError, match=r"integers \(dtype int64\).*comparisons.*constant"):
        autodiff.grad((x > 1).sum(), x)
    with pytest.raises(RuntimeError, match=r"backward\(\).*comparisons.*constant"):
        (x > 1).sum().backward()


def test_tensor_of_strings_says_strings():
    with pytest.raises(TypeError, match=r"got a list of strings \(<U3"):
        Tensor(["1.5", "2"])
