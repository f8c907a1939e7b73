"""Broadcasting: every binary op on generated and on awkward shape pairs, against numpy.

Values come from numpy; gradients are checked against central differences of the numpy
expression alone, so nothing here shares code with the engine's backward pass.
"""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import autodiff
from autodiff import Tensor, numerical_gradient

SETTINGS = settings(max_examples=25, deadline=None)
SEEDS = st.integers(0, 2**32 - 1)


def normal(rng, shape):
    return rng.standard_normal(shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def away_from_zero(rng, shape):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2.0, shape)


def on_grid(rng, shape):
    """Multiples of 0.2: never within 0.1 of off_grid values, so maximum has no ties."""
    return rng.integers(-5, 6, shape) * 0.2


def off_grid(rng, shape):
    return on_grid(rng, shape) + 0.1


# name: (the Tensor expression, the numpy expression, left values, right values)
BINARY_OPS = {
    "add": (lambda x, y: x + y, np.add, normal, normal),
    "sub": (lambda x, y: x - y, np.subtract, normal, normal),
    "mul": (lambda x, y: x * y, np.multiply, normal, normal),
    "div": (lambda x, y: x / y, np.divide, normal, away_from_zero),
    "pow": (lambda x, y: x**y, np.power, positive, normal),
    "maximum": (autodiff.maximum, np.maximum, on_grid, off_grid),
    "minimum": (autodiff.minimum, np.minimum, off_grid, on_grid),
    "matmul": (lambda x, y: x @ y, np.matmul, normal, normal),
}
ELEMENTWISE = [name for name in BINARY_OPS if name != "matmul"]

AWKWARD_PAIRS = [
    ((), ()),
    ((), (3,)),
    ((3,), ()),
    ((1,), (2, 3)),
    ((2, 3), (1,)),
    ((1, 3), (3, 1)),
    ((3, 1), (1, 3)),
    ((1, 1), ()),
    ((4,), (1, 4)),
    ((3, 1, 4), (2, 4)),
    ((2, 4), (3, 1, 4)),
    ((2, 1, 1), (1, 3)),
]

AWKWARD_MATMUL_PAIRS = [
    ((3,), (3,)),
    ((3,), (3, 2)),
    ((2, 3), (3,)),
    ((1, 3), (3, 1)),
    ((4, 2, 3), (3,)),
    ((3,), (4, 3, 2)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((1, 2, 3), (3, 3, 1)),
]

AWKWARD_WHERE_SHAPES = [
    ((), (), ()),
    ((3,), (), (1,)),
    ((2, 1), (3,), ()),
    ((3, 1, 4), (2, 4), (1, 4)),
    ((1,), (2, 1, 3), (4, 1)),
]


def check_against_numpy(tensor_fn, numpy_fn, arrays, rng):
    """Value, gradient shapes and gradient values of tensor_fn against numpy_fn."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]  # 0-d arrays, not numpy scalars
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    out = tensor_fn(*tensors)
    expected = numpy_fn(*arrays)
    assert isinstance(out, Tensor)
    assert out.shape == np.shape(expected)
    assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)

    weights = rng.standard_normal(np.shape(expected))
    out.backward(weights)
    numeric = numerical_gradient(
        lambda *values: np.sum(numpy_fn(*values) * weights), *[a.copy() for a in arrays]
    )
    for position, (tensor, expected_grad) in enumerate(zip(tensors, numeric)):
        assert tensor.grad.shape == tensor.shape, f"input {position}"
        assert_allclose(
            tensor.grad, expected_grad, rtol=1e-5, atol=1e-7, err_msg=f"input {position}"
        )


def check_binary(name, shape_x, shape_y, seed):
    tensor_fn, numpy_fn, left, right = BINARY_OPS[name]
    rng = np.random.default_rng(seed)
    check_against_numpy(tensor_fn, numpy_fn, [left(rng, shape_x), right(rng, shape_y)], rng)


def check_where(shape_condition, shape_x, shape_y, seed):
    rng = np.random.default_rng(seed)
    condition = rng.random(shape_condition) < 0.5
    check_against_numpy(
        lambda x, y: autodiff.where(condition, x, y),
        lambda x, y: np.where(condition, x, y),
        [normal(rng, shape_x), normal(rng, shape_y)],
        rng,
    )


# ---------------------------------------------------------------- generated shapes


@pytest.mark.parametrize("name", ELEMENTWISE)
@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=3), seed=SEEDS)
def test_binary_op_broadcasts_like_numpy(name, shapes, seed):
    check_binary(name, *shapes.input_shapes, seed)


@SETTINGS
@given(
    shapes=hnp.mutually_broadcastable_shapes(
        signature="(m?,n),(n,p?)->(m?,p?)", max_dims=3, max_side=3
    ),
    seed=SEEDS,
)
def test_matmul_broadcasts_like_numpy(shapes, seed):
    check_binary("matmul", *shapes.input_shapes, seed)


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=4, max_side=3), seed=SEEDS)
def test_where_broadcasts_like_numpy(shapes, seed):
    check_where(*shapes.input_shapes, seed)


# ---------------------------------------------------------------- awkward shapes, fixed


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("shape_x, shape_y", AWKWARD_PAIRS, ids=str)
def test_binary_op_on_awkward_shapes(name, shape_x, shape_y):
    check_binary(name, shape_x, shape_y, seed=0)


@pytest.mark.parametrize("shape_x, shape_y", AWKWARD_MATMUL_PAIRS, ids=str)
def test_matmul_on_awkward_shapes(shape_x, shape_y):
    check_binary("matmul", shape_x, shape_y, seed=0)


@pytest.mark.parametrize("shapes", AWKWARD_WHERE_SHAPES, ids=str)
def test_where_on_awkward_shapes(shapes):
    check_where(*shapes, seed=0)


# ---------------------------------------------------------------- constants on either side


@pytest.mark.parametrize("tensor_on_left", [True, False], ids=["tensor-left", "tensor-right"])
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_binary_op_takes_a_constant_on_either_side(name, tensor_on_left):
    tensor_fn, numpy_fn, left, right = BINARY_OPS[name]
    rng = np.random.default_rng(1)
    a, b = left(rng, (2, 3)), right(rng, (3,))
    value, other = (a, b) if tensor_on_left else (b, a)

    def call(fn, v, c):
        return fn(v, c) if tensor_on_left else fn(c, v)

    for constant in (other, float(other.flat[0])):
        x = Tensor(value, requires_grad=True)
        out = call(tensor_fn, x, constant)
        assert isinstance(out, Tensor)
        assert_allclose(out.data, call(numpy_fn, value, constant))
        out.sum().backward()
        (expected,) = numerical_gradient(
            lambda v, c=constant: np.sum(call(numpy_fn, v, c)), value.copy()
        )
        assert_allclose(x.grad, expected, rtol=1e-5, atol=1e-7)
