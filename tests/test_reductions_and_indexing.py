"""Variants the op table does not enumerate: every axis and keepdims of each reduction,
every kind of index, the shape methods, and the stability of softmax and logsumexp.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import autodiff
from autodiff import Tensor, gradcheck


def distinct(*shape: int, seed: int = 0) -> np.ndarray:
    """Values 0.37 apart in random order: reductions like max have no ties."""
    count = int(np.prod(shape))
    steps = np.random.default_rng(seed).permutation(count) - (count - 1) / 2
    return (steps * 0.37 + 0.11).reshape(shape)


def check(tensor_fn, numpy_fn, values: np.ndarray):
    """tensor_fn against numpy_fn's value, and its gradient against central differences."""
    out = tensor_fn(Tensor(values, requires_grad=True))
    expected = numpy_fn(values)
    assert out.shape == np.shape(expected)
    assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    assert gradcheck(tensor_fn, Tensor(values, requires_grad=True), atol=1e-7, rtol=1e-5)


def numpy_logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


REDUCTIONS = {
    "sum": np.sum,
    "mean": np.mean,
    "max": np.max,
    "min": np.min,
    "logsumexp": numpy_logsumexp,
}


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), (2, 0), (0, 1, 2)], ids=str)
@pytest.mark.parametrize("method", sorted(REDUCTIONS))
def test_reduction_over_axis_with_keepdims(method, axis, keepdims):
    reference = REDUCTIONS[method]
    check(
        lambda x: getattr(x, method)(axis=axis, keepdims=keepdims),
        lambda x: reference(x, axis=axis, keepdims=keepdims),
        distinct(2, 3, 4),
    )


@pytest.mark.parametrize("method", ["max", "min"])
def test_max_and_min_share_the_gradient_between_ties(method):
    x = Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    getattr(x, method)(axis=1).sum().backward()
    expected = [[0, 0.5, 0.5], [1 / 3] * 3] if method == "max" else [[1, 0, 0], [1 / 3] * 3]
    assert_allclose(x.grad, expected)


def test_reduction_of_a_scalar():
    x = Tensor(2.0, requires_grad=True)
    for method in REDUCTIONS:
        out = getattr(x, method)()
        assert out.shape == ()
        out.backward()
    assert_allclose(x.grad, 5.0)


# ---------------------------------------------------------------- softmax family


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("method", ["softmax", "log_softmax"])
def test_softmax_family_along_each_axis(method, axis):
    def reference(x):
        shifted = x - x.max(axis=axis, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        return np.exp(log_p) if method == "softmax" else log_p

    check(lambda x: getattr(x, method)(axis=axis), reference, distinct(3, 4))


@pytest.mark.parametrize("scale", [1000.0, -1000.0, 1e6])
def test_softmax_family_is_stable_for_huge_inputs(scale):
    values = np.array([[1.0, 1.0, 0.5], [0.0, -2.0, 1.0]]) + scale
    shifted = values - values.max(axis=1, keepdims=True)  # exact here: shifts by the max
    expected_log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    x = Tensor(values, requires_grad=True)
    with np.errstate(all="raise"):
        log_p, p, total = x.log_softmax(axis=1), x.softmax(axis=1), x.logsumexp(axis=1)
        (log_p[:, 0].sum() + p[:, 1].sum() + total.sum()).backward()
    assert_allclose(log_p.data, expected_log_p, rtol=1e-12, atol=1e-12)
    assert_allclose(p.data, np.exp(expected_log_p), rtol=1e-12)
    assert_allclose(total.data - values.max(axis=1), np.log(np.exp(shifted).sum(axis=1)))
    assert np.isfinite(x.grad).all()
    # The gradient only sees differences between the inputs, so it equals that at scale 0.
    reference = Tensor(values - scale, requires_grad=True)
    lp, pp, tt = reference.log_softmax(axis=1), reference.softmax(axis=1), reference.logsumexp(1)
    (lp[:, 0].sum() + pp[:, 1].sum() + tt.sum()).backward()
    assert_allclose(x.grad, reference.grad, atol=1e-12)


def test_logsumexp_of_equal_huge_inputs():
    total = Tensor([1000.0, 1000.0]).logsumexp()
    assert_allclose(total.data, 1000.0 + np.log(2.0), rtol=1e-15)


# ---------------------------------------------------------------- shapes


SHAPE_CALLS = {
    "reshape_args": (lambda x: x.reshape(4, 6), lambda x: x.reshape(4, 6)),
    "reshape_tuple_infer": (lambda x: x.reshape((2, -1)), lambda x: x.reshape(2, -1)),
    "reshape_minus_one": (lambda x: x.reshape(-1), lambda x: x.reshape(-1)),
    "flatten": (lambda x: x.flatten(), lambda x: x.flatten()),
    "T": (lambda x: x.T, lambda x: x.T),
    "transpose_none": (lambda x: x.transpose(), np.transpose),
    "transpose_tuple": (lambda x: x.transpose((1, 0, 2)), lambda x: x.transpose(1, 0, 2)),
    "transpose_negative": (lambda x: x.transpose(-1, 0, 1), lambda x: x.transpose(2, 0, 1)),
    "swapaxes": (lambda x: x.swapaxes(0, 2), lambda x: x.swapaxes(0, 2)),
    "broadcast_new_axis": (
        lambda x: x.reshape(1, 2, 3, 4).broadcast_to((2, 2, 3, 4)),
        lambda x: np.broadcast_to(x, (2, 2, 3, 4)),
    ),
}


@pytest.mark.parametrize("name", sorted(SHAPE_CALLS))
def test_shape_method(name):
    check(*SHAPE_CALLS[name], distinct(2, 3, 4))


# ---------------------------------------------------------------- indexing

INDICES = {
    "int": 1,
    "negative_int": -1,
    "slice": slice(1, None),
    "reversed": slice(None, None, -1),
    "step": (slice(None), slice(0, 3, 2)),
    "ellipsis": (Ellipsis, 0),
    "new_axis": (None, 1, slice(None, 2)),
    "int_and_slice": (0, slice(1, 3), 2),
    "int_array": [1, 0],
    "repeated_ints": [0, 0, 1, 0],
    "repeated_pairs": ([0, 1, 0], [2, 2, 2]),
    "slice_then_repeated": (Ellipsis, [3, 3, 0]),
    "array_2d": (np.array([[0, 1], [1, 1]]),),
    "bool_mask": np.array([True, False]),
    "bool_mask_3d": distinct(2, 3, 4) > 0.3,
}


@pytest.mark.parametrize("name", sorted(INDICES))
def test_indexing_matches_numpy_and_repeats_add_up(name):
    index = INDICES[name]
    check(lambda x: x[index], lambda x: x[index], distinct(2, 3, 4))


def test_boolean_tensor_indices_act_like_their_data():
    values = distinct(2, 3, 4)
    check(lambda x: x[x > 0.3], lambda x: x[x > 0.3], values)


@pytest.mark.parametrize("index", [Tensor(1.7), Tensor([1.0, 0.0, 1.0]), (0, Tensor(1.0))])
def test_float_tensor_indices_are_refused(index):
    # Tensors hold floats: 1.7 used to become 1, and a 0/1 "mask" picked positions 0 and 1.
    x = Tensor(distinct(2, 3, 4), requires_grad=True)
    with pytest.raises(IndexError, match="boolean mask.*integer numpy array"):
        x[index]


def test_repeated_index_gradient_counts_each_use():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    assert_allclose(x.grad, [3.0, 0.0, 1.0])


# ---------------------------------------------------------------- clip, where, joins


@pytest.mark.parametrize(
    "low, high", [(-0.5, 0.5), (None, 0.4), (-0.3, None)], ids=["both", "high", "low"]
)
def test_clip_bounds(low, high):
    check(lambda x: x.clip(low, high), lambda x: np.clip(x, low, high), distinct(3, 4))


@pytest.mark.parametrize("function", [autodiff.maximum, autodiff.minimum])
def test_maximum_and_minimum_pass_the_whole_gradient_once_at_ties(function):
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = Tensor([1.0, 0.0, 3.0], requires_grad=True)
    function(x, y).sum().backward()
    assert_allclose(x.grad + y.grad, [1.0, 1.0, 1.0])


def test_where_takes_a_tensor_condition():
    values = distinct(3, 4)
    condition = Tensor(values) > 0
    check(lambda x: autodiff.where(condition, x, -x), lambda x: np.where(x > 0, x, -x), values)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_and_stack_along_each_axis_with_reuse(axis):
    values = distinct(2, 3)
    check(
        lambda x: autodiff.concatenate([x, x * 2.0, x], axis=axis),
        lambda x: np.concatenate([x, x * 2.0, x], axis=axis),
        values,
    )
    check(
        lambda x: autodiff.stack([x, x.exp(), x], axis=axis),
        lambda x: np.stack([x, np.exp(x), x], axis=axis),
        values,
    )
