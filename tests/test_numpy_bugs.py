"""Regression tests for the numpy-surface bugs of issue 13, one group per bug.

Each failed on the engine before the fix. Expected values are derived in the comments.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import autodiff
from autodiff import Tensor, numerical_gradient

# ---------------------------------------------------------------- 0-d results are arrays


def test_a_0d_result_converts_to_an_array():
    total = Tensor([1.0, 2.0]).sum()
    assert isinstance(total.data, np.ndarray)
    assert_array_equal(np.asarray(total), 3.0)
    assert float(np.asarray(Tensor(2.0) * Tensor(3.0))) == 6.0


def test_gradients_of_a_0d_tensor_are_arrays():
    x = Tensor(2.0, requires_grad=True)
    (x * x).backward()
    assert isinstance(x.grad, np.ndarray) and x.grad == 4.0
    assert isinstance(autodiff.grad(x * x, x).data, np.ndarray)


def test_second_order_through_max_of_a_0d_tensor():
    x = Tensor(1.5, requires_grad=True)
    first = autodiff.grad(x.max() * x, x, create_graph=True)  # d(x^2)/dx = 2x = 3
    assert_allclose(first.data, 3.0)
    assert_allclose(autodiff.grad(first, x).data, 2.0)


# ---------------------------------------------------------------- arrays built from Tensors


@pytest.mark.parametrize(
    "build",
    [
        lambda x, y: np.array([x, y]),
        lambda x, y: np.asarray([x, x]),
        lambda x, y: np.r_[x, y],
        lambda x, y: np.c_[x, y],
        lambda x, y: np.mean([x, y]),
    ],
    ids=["array", "asarray", "r_", "c_", "mean of a list"],
)
def test_building_an_array_from_tensors_that_need_gradients_raises(build):
    x, y = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 4.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"gradient would be lost.*autodiff\.stack"):
        build(x, y)


def test_arrays_from_constant_tensors_and_stack_with_gradients_still_work():
    c = Tensor([1.0, 2.0])
    assert_array_equal(np.array([c, c]), [[1.0, 2.0], [1.0, 2.0]])
    x = Tensor([1.0, 2.0], requires_grad=True)
    with autodiff.no_grad():
        assert_array_equal(np.asarray(x), [1.0, 2.0])
    (autodiff.stack([x, 2 * x]).sum()).backward()
    assert_array_equal(x.grad, [3.0, 3.0])


# ---------------------------------------------------------------- numpy's keyword names


def grad_of(call, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """call on a Tensor: its value and the gradient of sum(call(x) * w), w fixed."""
    x = Tensor(values, requires_grad=True)
    out = call(x)
    weights = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(weights)
    (numeric,) = numerical_gradient(lambda v: np.sum(call(v) * weights), values.copy())
    assert_allclose(x.grad, numeric, rtol=1e-6, atol=1e-8)
    return out.data, x.grad


VALUES = np.array([[0.52, 0.81, 1.23], [1.37, 1.91, 0.66]])
KEYWORD_CALLS = {
    "swapaxes": lambda x: np.swapaxes(x, axis1=0, axis2=1),
    "clip a_min a_max": lambda x: np.clip(x, a_min=0.6, a_max=1.5),
    "sum initial": lambda x: np.sum(x, axis=0, initial=2.0),
    "sum keepdims": lambda x: np.sum(x, axis=1, keepdims=True),
    "max initial": lambda x: np.max(x, axis=1, initial=1.0),
    "reshape order C": lambda x: np.reshape(x, (3, 2), order="C"),
    "reshape order F": lambda x: np.reshape(x, (3, 2), order="F"),
    "reshape shape=": lambda x: np.reshape(x, shape=(6,)),
    "ravel order F": lambda x: np.ravel(x, order="F"),
    "concatenate axis None": lambda x: np.concatenate([x, x[:1] * 2.0], axis=None),
    "var ddof": lambda x: np.var(x, axis=0, ddof=1),
    "std correction": lambda x: np.std(x, correction=1),
    "transpose axes": lambda x: np.transpose(x, axes=(1, 0)),
}


@pytest.mark.parametrize("name", sorted(KEYWORD_CALLS))
def test_numpy_keyword_names_are_accepted(name):
    call = KEYWORD_CALLS[name]
    value, _ = grad_of(call, VALUES)
    assert_allclose(value, call(VALUES), rtol=1e-12)


def test_a_float_dtype_keyword_is_honoured():
    x = Tensor(VALUES, requires_grad=True)
    total = np.sum(x, dtype=np.float32)
    assert total.dtype == np.float32
    total.backward()
    assert x.grad.dtype == np.float64
    assert_allclose(x.grad, np.ones((2, 3)))


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda x: np.sum(x, out=np.empty(3)), "out"),
        (lambda x: np.sum(x, where=np.ones((2, 3), bool)), "where"),
        (lambda x: np.sum(x, dtype=np.int64), "dtype"),
        (lambda x: np.mean(x, axis=0, out=np.empty(3)), "out"),
        (lambda x: np.clip(x, 0, 1, out=np.empty((2, 3))), "out"),
        (lambda x: np.exp(x, out=np.empty((2, 3))), "out"),
        (lambda x: np.concatenate([x, x], out=np.empty((4, 3))), "out"),
        (lambda x: np.reshape(x, (3, 2), order="K"), "order"),
    ],
)
def test_unsupported_numpy_arguments_are_refused_by_their_name(call, argument):
    x = Tensor(VALUES, requires_grad=True)
    with pytest.raises(TypeError, match=rf"{argument}=") as error:
        call(x)
    assert "not differentiable" not in str(error.value)


# ---------------------------------------------------------------- powers at base 0


def test_x_to_the_zero_has_zero_gradient_at_zero():
    x = Tensor([0.0, 2.0], requires_grad=True)
    first = autodiff.grad((x**0).sum(), x, create_graph=True)
    assert_array_equal(first.data, [0.0, 0.0])
    assert_array_equal(autodiff.grad(first.sum(), x).data, [0.0, 0.0])


def test_tensor_powers_at_base_zero_are_finite():
    x = Tensor([0.0, 0.0, 2.0], requires_grad=True)
    p = Tensor([0.0, 2.0, 0.0], requires_grad=True)
    dx, dp = autodiff.grad((x**p).sum(), [x, p])
    # d/dx x^p = p x^(p-1): 0 (x^0 is flat), 2*0 = 0, 0; d/dp x^p = x^p log x: 0 at x = 0.
    assert_array_equal(dx.data, [0.0, 0.0, 0.0])
    assert_allclose(dp.data, [0.0, 0.0, np.log(2.0)])


def test_zero_to_a_learnable_power_and_relu_to_a_learnable_power():
    y = Tensor([0.5, 2.0], requires_grad=True)
    assert_array_equal(autodiff.grad((0.0**y).sum(), y).data, [0.0, 0.0])
    z = Tensor([-1.0, 0.0, 1.5], requires_grad=True)
    p = Tensor(2.5, requires_grad=True)
    dz, dp = autodiff.grad((z.relu() ** p).sum(), [z, p])
    # Only z = 1.5 contributes: d/dz = p z^(p-1), d/dp = z^p log z.
    assert_allclose(dz.data, [0.0, 0.0, 2.5 * 1.5**1.5])
    assert_allclose(dp.data, 1.5**2.5 * np.log(1.5))


def test_tensor_powers_keep_exact_second_order_away_from_zero():
    # The masks touch only x = 0: at p = 0 (x != 0) the mixed derivative d/dp (p x^(p-1)) is
    # x^-1, which a mask on p alone would have lost.
    u, v = np.array([0.3, -1.1]), np.array([0.8, 0.5])

    def projected(x_values, p_values, create_graph):
        x, p = Tensor(x_values, requires_grad=True), Tensor(p_values, requires_grad=True)
        dx, dp = autodiff.grad((x**p).sum(), [x, p], create_graph=create_graph)
        return (dx * u).sum() + (dp * v).sum(), x, p

    values = np.array([0.7, 1.3]), np.array([0.0, 1.5])
    total, x, p = projected(*values, create_graph=True)
    analytic = autodiff.grad(total, [x, p])
    numeric = numerical_gradient(lambda a, b: projected(a, b, False)[0], *map(np.copy, values))
    for a, n in zip(analytic, numeric):
        assert_allclose(a.data, n, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------- where with number branches


def test_where_with_two_number_branches_gives_floats():
    mask = Tensor([1.0, -1.0]) > 0
    for result in (autodiff.where(mask, 1, 0), np.where(mask, 1, 0)):
        assert result.dtype == np.float64
        assert_array_equal(result.data, [1.0, 0.0])


# ---------------------------------------------------------------- != and == are elementwise


def test_not_equal_masks_elementwise():
    t = Tensor([0.0, 2.0, 0.0, -1.0], requires_grad=True)
    masked = t * (t != 0)
    assert_array_equal(masked.data, [0.0, 2.0, 0.0, -1.0])
    assert_array_equal((t != 0).data, [False, True, False, True])
    assert_array_equal((t == 0).data, [True, False, True, False])
    assert_array_equal((t * (t == 0)).data, [0.0, 0.0, 0.0, 0.0])
    assert not (t != 0).requires_grad


def test_tensors_stay_usable_as_dict_keys_and_set_members():
    a, b = Tensor([1.0, 2.0]), Tensor([1.0, 2.0])
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b" and len({a, b, a}) == 2


# ---------------------------------------------------------------- sigmoid far left


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_keeps_relative_precision_far_left(dtype):
    z = Tensor([-40.0, -20.0, -9.5, 0.0, 30.0], dtype=dtype)
    expected = np.exp(-np.logaddexp(0.0, -z.data.astype(np.float64)))  # 1 / (1 + e^-z)
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    assert_allclose(z.sigmoid().data, expected, rtol=rtol)
    assert_allclose(z.sigmoid().log().data[0], -40.0, rtol=rtol)
    assert z.sigmoid().dtype == dtype
