"""numpy functions with no gradient work on Tensors and give numpy results; anything else
unsupported raises a TypeError naming the function."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import autodiff
from autodiff import Tensor

VALUES = np.array([[0.5, -np.inf, 2.0], [np.nan, 0.0, 2.0]])

# Each is called on a Tensor and on its values; results must be equal and not Tensors.
VALUE_CALLS = {
    "zeros_like": np.zeros_like,
    "ones_like": np.ones_like,
    "full_like": lambda x: np.full_like(x, 7.0),
    "allclose": lambda x: np.allclose(x, x, equal_nan=True),
    "isclose": lambda x: np.isclose(x, 2.0),
    "argmax": lambda x: np.argmax(x, axis=1),
    "argmin": lambda x: np.argmin(x, axis=0),
    "argsort": lambda x: np.argsort(x, axis=-1),
    "shape": np.shape,
    "ndim": np.ndim,
    "size": np.size,
    "count_nonzero": np.count_nonzero,
    "nonzero": lambda x: np.nonzero(x)[1],
    "where one argument": lambda x: np.where(x)[0],
    "any": lambda x: np.any(x, axis=0),
    "all": np.all,
}


@pytest.mark.parametrize("name", sorted(VALUE_CALLS))
def test_functions_without_gradient_give_numpy_results(name):
    call = VALUE_CALLS[name]
    x = Tensor(VALUES, requires_grad=True)
    result, expected = call(x), call(VALUES)
    assert not isinstance(result, Tensor)
    assert_array_equal(result, expected)


def test_argmax_on_a_tensor_needs_no_cleaning():
    x = Tensor([[0.5, 3.0], [2.0, 1.0]], requires_grad=True)
    assert_array_equal(np.argmax(x, axis=1), [1, 0])
    assert_array_equal(x.argmax(axis=0), [1, 0])
    assert x.argmin() == 0


@pytest.mark.parametrize("ufunc", [np.isnan, np.isinf, np.isfinite])
def test_value_tests_give_constant_masks(ufunc):
    x = Tensor(VALUES, requires_grad=True)
    mask = ufunc(x)
    assert isinstance(mask, Tensor) and mask.dtype == bool and not mask.requires_grad
    assert_array_equal(mask.data, ufunc(VALUES))


@pytest.mark.parametrize(
    "call, name",
    [
        (np.arccos, "arccos"),
        (np.linalg.inv, "linalg.inv"),
        (np.median, "median"),
        (lambda x: np.multiply.outer(x, x), "multiply"),
    ],
)
def test_unsupported_functions_name_themselves(call, name):
    with pytest.raises(TypeError, match=rf"numpy\.{name}\b.*not differentiable here"):
        call(Tensor(np.eye(2), requires_grad=True))


def test_iteration_gives_rows_and_refuses_0d():
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    rows = list(x)
    assert len(rows) == 2 and all(r.requires_grad for r in rows)
    sum(r.sum() * (k + 1) for k, r in enumerate(rows)).backward()
    assert_array_equal(x.grad, [[1.0, 1.0], [2.0, 2.0]])
    with pytest.raises(TypeError, match="0-d"):
        list(Tensor(1.0))


@pytest.mark.parametrize("pair, reduce", [(np.maximum, np.max), (np.minimum, np.min)])
def test_ties_share_the_gradient_in_half_like_a_reduction_over_a_stack(pair, reduce):
    # The choice where numpy is silent and PyTorch splits ties too: maximum(x, y) and
    # max(stack([x, y])) are the same function, so they get the same subgradient.
    x, y = Tensor([1.0, 2.0, 3.0], requires_grad=True), Tensor([1.0, 5.0, 3.0], requires_grad=True)
    pair(x, y).sum().backward()
    stacked_x, stacked_y = Tensor(x.data, requires_grad=True), Tensor(y.data, requires_grad=True)
    reduce(np.stack([stacked_x, stacked_y]), axis=0).sum().backward()
    assert_array_equal(x.grad, stacked_x.grad)
    assert_array_equal(y.grad, stacked_y.grad)
    assert_array_equal(x.grad + y.grad, [1.0, 1.0, 1.0])
    assert x.grad[0] == 0.5 and x.grad[2] == 0.5


@pytest.mark.parametrize("axis", [0, -1])
def test_a_0d_tensor_reduces_over_axis_0_or_minus_1(axis):
    # numpy's sum, max, min and prod take axis 0 or -1 on a 0-d array (its mean, var and std
    # refuse); PyTorch takes them for every reduction. We answer wherever numpy does, with its
    # value, and follow PyTorch where numpy refuses.
    t = Tensor(2.0, requires_grad=True)
    for reduce in (np.sum, np.max, np.min, np.prod):
        assert reduce(t, axis=axis).data == reduce(t.data, axis=axis)
    assert t.mean(axis=axis).data == 2.0 and t.var(axis=axis).data == 0.0
    assert autodiff.grad(t.max(axis=axis) * t, t).data == 4.0  # d(t^2)/dt


def test_other_axes_of_a_0d_tensor_are_refused_as_in_numpy():
    t = Tensor(2.0, requires_grad=True)
    for axis in (1, (0,)):
        with pytest.raises(np.exceptions.AxisError):
            np.sum(t.data, axis=axis)
        with pytest.raises(np.exceptions.AxisError):
            t.sum(axis=axis)
    with pytest.raises(np.exceptions.AxisError):
        np.flip(t, axis=0)
    assert t.sum(axis=()).data == 2.0 and t.max(axis=None).data == 2.0
    with pytest.raises(ValueError, match="duplicate"):
        Tensor(np.ones((2, 3))).sum(axis=(1, -1))
