"""numpy interop: numpy functions and operators on Tensors give Tensors with gradients.

Each numpy call is made twice, on a Tensor and on plain arrays: the plain result is the
expected value, and its central differences the expected gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from autodiff import Tensor, numerical_gradient

MASK = np.array([[True, False, True], [False, True, True]])

# Each takes x, a (2, 3) array or Tensor with positive values, and calls numpy on it.
NUMPY_CALLS = {
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "tanh": np.tanh,
    "abs": lambda x: np.abs(x - 1.0),
    "negative": np.negative,
    "ones_plus": lambda x: np.ones(3) + x,
    "ones_minus": lambda x: np.ones(3) - x,
    "ones_times": lambda x: np.ones(3) * x,
    "ones_over": lambda x: np.ones(3) / x,
    "power_scalar_base": lambda x: np.power(2.0, x),
    "power_scalar_exponent": lambda x: np.power(x, 3),
    "float64_scalar_times": lambda x: np.float64(2.5) * x,
    "where_zero": lambda x: np.where(MASK, x, 0),
    "where_zero_first": lambda x: np.where(MASK, 0.0, x),
    "maximum": lambda x: np.maximum(x, 1.05),
    "minimum": lambda x: np.minimum(0.95, x),
    "matmul_left": lambda x: np.ones((4, 2)) @ x,
    "matmul_right": lambda x: np.matmul(x, np.arange(3.0)),
    "sum_axis": lambda x: np.sum(x, axis=0),
    "sum_keepdims": lambda x: np.sum(x, axis=1, keepdims=True),
    "mean": np.mean,
    "max": lambda x: np.max(x, axis=1),
    "min": np.min,
    "reshape": lambda x: np.reshape(x, (3, 2)),
    "transpose": np.transpose,
    "swapaxes": lambda x: np.swapaxes(x, 0, 1),
    "broadcast_to": lambda x: np.broadcast_to(x, (4, 2, 3)),
    "concatenate": lambda x: np.concatenate([x, np.ones((1, 3))]),
    "stack": lambda x: np.stack([x, x * 2.0], axis=1),
    "clip": lambda x: np.clip(x, 0.9, 1.6),
}


def positive_values() -> np.ndarray:
    # Well away from the kinks at 1.0, 0.9, 1.05 and 1.6 used above, and from ties.
    return np.array([[0.52, 0.81, 1.23], [1.37, 1.91, 0.66]])


@pytest.mark.parametrize("name", sorted(NUMPY_CALLS))
def test_numpy_call_on_a_tensor_gives_a_tensor_with_gradients(name):
    call = NUMPY_CALLS[name]
    values = positive_values()
    x = Tensor(values, requires_grad=True)
    out = call(x)
    assert isinstance(out, Tensor) and out.requires_grad
    expected = call(values)
    assert_allclose(out.data, expected, rtol=1e-12)
    weights = np.random.default_rng(0).standard_normal(np.shape(expected))
    out.backward(weights)
    (numeric,) = numerical_gradient(lambda v: np.sum(call(v) * weights), values.copy())
    assert_allclose(x.grad, numeric, rtol=1e-6, atol=1e-8)


def test_python_numbers_and_lists_on_either_side():
    x = Tensor([1.0, 2.0], requires_grad=True)
    for out in (2 * x, x * 2, [1.0, 1.0] + x, 1 - x, 1 / x, 2**x, x**2):
        assert isinstance(out, Tensor) and out.requires_grad


def test_shape_queries_and_asarray():
    x = Tensor(np.ones((2, 3)))
    assert (np.shape(x), np.ndim(x), np.size(x), len(x)) == ((2, 3), 2, 6, 2)
    assert_array_equal(np.asarray(x), np.ones((2, 3)))


def test_comparisons_give_constant_masks():
    x = Tensor([-1.0, 0.5, 2.0], requires_grad=True)
    for mask in (x > 0, x <= 0.5, np.greater(x, 0), np.isfinite(x), np.logical_not(x > 0)):
        assert isinstance(mask, Tensor) and mask.dtype == bool and not mask.requires_grad
    assert_array_equal((x > 0).data, [False, True, True])
    assert_array_equal(np.sign(x).data, [-1.0, 1.0, 1.0])


def test_a_boolean_tensor_indexes_as_a_mask():
    x = Tensor([-1.0, 0.5, 2.0], requires_grad=True)
    selected = x[x > 0]
    assert_array_equal(selected.data, [0.5, 2.0])
    (selected * selected).sum().backward()
    assert_array_equal(x.grad, [0.0, 1.0, 4.0])


@pytest.mark.parametrize(
    "call, name",
    [
        (np.arcsin, "arcsin"),
        (np.linalg.svd, "linalg.svd"),
        (np.fft.fft, "fft.fft"),
        (np.add.reduce, "add"),
    ],
)
def test_an_unsupported_numpy_function_raises_a_clear_type_error(call, name):
    with pytest.raises(TypeError, match=rf"numpy\.{name}.*not differentiable"):
        call(Tensor([1.0, 2.0, 3.0], requires_grad=True))


def test_an_unsupported_out_argument_is_refused_by_its_name():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    for call in (lambda: np.add(x, 1.0, out=np.empty(3)), lambda: np.sum(x, out=np.empty(()))):
        with pytest.raises(TypeError, match=r"out= is not supported") as error:
            call()
        assert "not differentiable" not in str(error.value)


def test_np_array_of_a_tensor_copies_and_np_asarray_shares():
    t = Tensor([1.0, 2.0])
    copied = np.array(t)
    copied[0] = 9.0
    assert_allclose(t.data, [1.0, 2.0])
    assert np.asarray(t) is t.data
    assert np.asarray(t, dtype=np.float32).dtype == np.float32


def test_a_mask_times_numbers_keeps_the_numbers():
    mask = Tensor([-1.0, 2.0]) > 0
    assert_allclose((mask * np.array([0.5, 3.0])).data, [0.0, 3.0])
