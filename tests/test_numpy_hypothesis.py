"""Generated shapes and axes for the reductions and layout functions of the numpy surface:
value against numpy, gradient against central differences of the numpy expression alone.
"""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from autodiff import Tensor, numerical_gradient

SETTINGS = settings(max_examples=30, deadline=None)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=3)


def distinct(shape: tuple, seed: int) -> np.ndarray:
    """Values 0.37 apart in random order, none near 0: no ties, no kinks."""
    count = int(np.prod(shape))
    steps = np.random.default_rng(seed).permutation(count) - (count - 1) / 2
    return (steps * 0.37 + 0.11).reshape(shape)


def scaled(values: np.ndarray, factor: float) -> np.ndarray:
    return np.asarray(values * factor)  # a 0-d array times a number is a numpy scalar


def check(call, values: np.ndarray, seed: int = 0) -> None:
    """call on a Tensor against call on values, and its gradient against differences."""
    x = Tensor(values, requires_grad=True)
    out = call(x)
    expected = call(values)
    assert isinstance(out, Tensor) and out.shape == np.shape(expected)
    assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
    weights = np.random.default_rng(seed).standard_normal(np.shape(expected))
    out.backward(weights)
    (numeric,) = numerical_gradient(lambda v: np.sum(call(v) * weights), values.copy())
    assert_allclose(x.grad, numeric, rtol=1e-5, atol=1e-7)


@st.composite
def shape_and_axis(draw, allow_none: bool = True, allow_tuple: bool = True):
    """A shape and an axis argument numpy accepts for it: None, an int or a tuple (any sign).

    Without None and tuples, the shape has at least one axis to name.
    """
    shape = draw(SHAPES if allow_none or allow_tuple else hnp.array_shapes(max_side=3, max_dims=4))
    ndim = len(shape)
    options = [st.none()] if allow_none else []
    if ndim:
        options.append(st.integers(-ndim, ndim - 1))
    if allow_tuple:
        axes = st.lists(st.integers(0, max(ndim - 1, 0)), unique=True, max_size=ndim)
        signs = st.lists(st.booleans(), min_size=ndim, max_size=ndim)
        options.append(
            st.tuples(axes, signs).map(lambda a: tuple(i - ndim if s else i for i, s in zip(*a)))
        )
    return shape, draw(st.one_of(options))


REDUCTIONS = [np.sum, np.mean, np.max, np.min, np.prod, np.var, np.std]


@SETTINGS
@given(shape_and_axis(), st.sampled_from(REDUCTIONS), st.booleans(), st.integers(0, 99))
def test_reductions_over_any_axis(shape_axis, reduction, keepdims, seed):
    shape, axis = shape_axis
    values = scaled(distinct(shape, seed), 0.3 if reduction is np.prod else 1.0)
    reduced = values.size if axis is None else int(np.prod([shape[a] for a in np.atleast_1d(axis)]))
    if reduction in (np.var, np.std) and reduced < 2:
        return  # one value has variance 0, where std has no gradient
    check(lambda x: reduction(x, axis=axis, keepdims=keepdims), values, seed)


@SETTINGS
@given(shape_and_axis(), st.integers(0, 1), st.integers(0, 99))
def test_var_with_ddof(shape_axis, ddof, seed):
    shape, axis = shape_axis
    reduced = (
        int(np.prod(shape))
        if axis is None
        else int(np.prod([shape[a] for a in np.atleast_1d(axis)]))
    )
    if reduced < 2:
        return
    check(lambda x: np.var(x, axis=axis, ddof=ddof), distinct(shape, seed), seed)


@SETTINGS
@given(shape_and_axis(allow_tuple=False), st.sampled_from([np.cumsum, np.cumprod, np.sort]))
def test_scans_and_sort_along_any_axis(shape_axis, function):
    shape, axis = shape_axis
    values = scaled(distinct(shape, 1), 0.5 if function is np.cumprod else 1.0)
    if function is np.sort and axis is None:
        return check(lambda x: np.sort(x, axis=None), values)
    check(lambda x: function(x, axis=axis), values)


@SETTINGS
@given(shape_and_axis(allow_none=False))
def test_flip_roll_and_expand_dims(shape_axis):
    shape, axis = shape_axis
    values = distinct(shape, 2)
    check(lambda x: np.flip(x, axis), values)
    if shape:  # numpy's own roll fails on 0-d arrays with axis=()
        check(lambda x: np.roll(x, 1, axis=axis), values)
    if isinstance(axis, tuple):
        check(lambda x: np.expand_dims(x, tuple(a % len(shape) for a in axis)), values)


@SETTINGS
@given(SHAPES, st.data())
def test_transpose_moveaxis_and_squeeze(shape, data):
    values = distinct(shape, 3)
    order = tuple(data.draw(st.permutations(range(len(shape)))))
    check(lambda x: np.transpose(x, order), values)
    if shape:
        source = data.draw(st.integers(-len(shape), len(shape) - 1))
        destination = data.draw(st.integers(-len(shape), len(shape) - 1))
        check(lambda x: np.moveaxis(x, source, destination), values)
    ones = tuple(i for i, n in enumerate(shape) if n == 1)
    check(lambda x: np.squeeze(x, axis=ones), values)
    check(np.ravel, values)


@SETTINGS
@given(shape_and_axis(allow_none=False, allow_tuple=False), st.integers(1, 3), st.data())
def test_concatenate_stack_split_and_repeat(shape_axis, count, data):
    shape, axis = shape_axis
    values = distinct((count,) + shape, 4)
    check(lambda x: np.concatenate(list(x), axis=axis), values)
    check(lambda x: np.stack(list(x), axis=axis), values)
    check(
        lambda x: np.concatenate(
            [p.ravel() for p in np.array_split(x, count, axis=axis + 1 if axis >= 0 else axis)]
        ),
        values,
    )
    repeats = data.draw(st.integers(0, 2))
    check(lambda x: np.repeat(x, repeats, axis=axis), values[0])


@SETTINGS
@given(SHAPES, st.lists(st.integers(1, 2), max_size=3), st.integers(0, 2))
def test_tile_and_pad(shape, reps, width):
    values = distinct(shape, 5)
    check(lambda x: np.tile(x, tuple(reps)), values)
    if shape:
        check(lambda x: np.pad(x, width, constant_values=0.5), values)
