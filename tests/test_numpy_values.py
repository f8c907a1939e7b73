"""numpy functions with no gradient work on Tensors and give numpy results; anything else
unsupported raises a TypeError naming the function."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal

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
