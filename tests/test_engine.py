"""The Tensor and the backward walk: construction, accumulation, graph cutting, robustness.

Expected values come from numpy formulas or central differences of numpy expressions.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import autodiff
from autodiff import Tensor, numerical_gradient, topological_order

# ---------------------------------------------------------------- construction and attributes


@pytest.mark.parametrize(
    "data, shape",
    [
        (3, ()),
        (2.5, ()),
        ([1, 2, 3], (3,)),
        ([[1.0, 2.0], [3.0, 4.0]], (2, 2)),
        (np.arange(6), (6,)),
    ],
)
def test_tensor_from_numbers_lists_and_arrays_is_float64(data, shape):
    t = Tensor(data)
    assert t.shape == shape and t.dtype == np.float64
    assert_array_equal(t.data, np.asarray(data, dtype=np.float64))


def test_tensor_keeps_float32_arrays_and_requested_dtype():
    assert Tensor(np.ones(3, dtype=np.float32)).dtype == np.float32
    assert Tensor([1, 2], dtype=np.float32).dtype == np.float32
    assert Tensor(np.ones(3, dtype=np.float32), dtype=np.float64).dtype == np.float64


def test_tensor_rejects_an_integer_dtype():
    with pytest.raises(TypeError, match="float"):
        Tensor([1, 2], dtype=np.int64)


def test_tensor_attributes():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, name="x")
    assert (x.shape, x.ndim, x.size, x.dtype, x.name) == ((2, 3), 2, 6, np.float64, "x")
    assert x.requires_grad and x.grad is None and x.op is None and x.inputs == ()
    assert x.T.shape == (3, 2)
    assert_array_equal(x.T.data, x.data.T)
    assert isinstance(x.numpy(), np.ndarray)
    assert_array_equal(x.numpy(), np.arange(6.0).reshape(2, 3))

    c = Tensor([1.0, 2.0, 3.0])
    y = x * c
    assert isinstance(y.op, autodiff.Op) and y.op.name == "Mul"
    assert y.op.inputs[0] is x and y.op.inputs[1] is c
    assert y.inputs == y.op.inputs
    assert not c.requires_grad and y.requires_grad


def test_item_gives_a_python_float_and_refuses_many_elements():
    assert Tensor([[2.5]]).item() == 2.5
    assert isinstance(Tensor(2.5).item(), float)
    with pytest.raises(ValueError, match=r"\(3,\)"):
        Tensor([1.0, 2.0, 3.0]).item()


def test_requires_grad_underscore_switches_a_leaf_and_returns_it():
    x = Tensor([1.0, 2.0])
    assert x.requires_grad_() is x and x.requires_grad
    (x * x).sum().backward()
    assert_array_equal(x.grad, [2.0, 4.0])
    with pytest.raises(RuntimeError, match="detach"):
        (x * 2).requires_grad_(False)


def test_zero_grad_clears_the_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    x.zero_grad()
    assert x.grad is None


# ---------------------------------------------------------------- accumulation


def test_backward_accumulates_until_zero_grad():
    x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    loss.backward()
    assert_allclose(x.grad, 2 * (2 * x.data))
    x.zero_grad()
    loss.backward()
    assert_allclose(x.grad, 2 * x.data)


def test_repeated_backward_gives_exactly_twice_with_a_reused_intermediate():
    # micrograd keeps the intermediate's .grad between calls and pushes it down again: 3x.
    x = Tensor([0.5, -1.0, 2.0], requires_grad=True)
    a = x * 2
    loss = (a * a + a).sum()  # 4x^2 + 2x
    loss.backward()
    once_x, once_a = x.grad.copy(), a.grad.copy()
    assert_allclose(once_x, 8 * x.data + 2)
    assert_allclose(once_a, 2 * a.data + 1)
    loss.backward()
    assert_allclose(x.grad, 2 * once_x)
    assert_allclose(a.grad, 2 * once_a)


def test_every_tensor_that_requires_grad_keeps_its_grad():
    x = Tensor([0.3, -0.7], requires_grad=True)
    w = np.array([2.0, -3.0])
    y = x.exp()
    z = y * w
    loss = z.sum()
    loss.backward()
    assert_allclose(loss.grad, 1.0)
    assert_allclose(z.grad, [1.0, 1.0])
    assert_allclose(y.grad, w)
    assert_allclose(x.grad, w * np.exp(x.data))


def test_backward_with_grad_on_a_non_scalar():
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    seed = np.array([[1.0, 0.0], [2.0, -1.0]])
    (x * x).backward(seed)
    assert_allclose(x.grad, 2 * x.data * seed)


def test_backward_of_a_size_one_non_scalar_needs_no_grad():
    x = Tensor([[2.0]], requires_grad=True)
    (x * x).backward()
    assert_allclose(x.grad, [[4.0]])


# ---------------------------------------------------------------- graph cutting and constants


def test_no_grad_records_nothing():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with autodiff.no_grad():
        y = (x * 2).exp().sum()
    assert not y.requires_grad and y.op is None
    with pytest.raises(RuntimeError, match="requires_grad"):
        y.backward()
    assert x.grad is None


def test_enable_grad_inside_no_grad_records_again():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with autodiff.no_grad(), autodiff.enable_grad():
        y = (x * 2).sum()
    assert y.requires_grad and y.op is not None


def test_no_grad_as_a_decorator_and_restored_after_an_exception():
    @autodiff.no_grad()
    def double(t):
        return t * 2

    x = Tensor([1.0], requires_grad=True)
    assert double(x).op is None
    with pytest.raises(ZeroDivisionError), autodiff.no_grad():
        raise ZeroDivisionError
    assert (x * 2).op is not None


def test_detach_cuts_the_graph():
    x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.op is None
    assert np.shares_memory(d.data, x.data)
    (d * x).sum().backward()
    assert_allclose(x.grad, x.data)  # not 2x: the detached factor is a constant
    assert d.grad is None


def test_constants_get_no_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([3.0, 4.0])
    loss = (x * c + np.ones(2) * 5.0 + c).sum()
    loss.backward()
    assert_allclose(x.grad, c.data)
    for tensor in topological_order([loss]):
        assert (tensor.grad is not None) == tensor.requires_grad


# ---------------------------------------------------------------- memory ownership


def test_numpy_inputs_are_never_mutated():
    data, constant, seed = np.array([1.0, -2.0, 3.0]), np.array([0.5, 0.5, 2.0]), np.ones(3)
    mask, rows = np.array([True, False, True]), np.array([0, 0, 2])
    saved = [a.copy() for a in (data, constant, seed, mask, rows)]

    x = Tensor(data, requires_grad=True)
    y = x * constant + constant
    z = autodiff.where(mask, y, constant) + x[rows] + autodiff.concatenate([x, constant])[:3]
    z.backward(seed)
    z.grad += 1.0  # in place on gradients...
    x.grad *= 3.0
    x.data -= 0.1 * x.grad  # ...and an optimizer-like in-place update
    for original, now in zip(saved, (data, constant, seed, mask, rows)):
        assert_array_equal(original, now)


def test_tensor_copies_a_float32_array_too():
    data = np.ones(3, dtype=np.float32)
    x = Tensor(data, requires_grad=True)
    x.data -= 1.0
    assert_array_equal(data, np.ones(3))


def test_leaf_grads_are_arrays_of_their_own():
    # Add, Reshape, BroadcastTo, Concatenate and Stack pass the incoming gradient (or views
    # of it) straight to their inputs.
    x, y, u, v, w, p = (Tensor(np.full(shape, 1.0), requires_grad=True) for shape in [(3,)] * 6)
    s = x + y
    loss = (
        s.sum()
        + autodiff.concatenate([u, v]).sum()
        + w.reshape(3, 1).sum()
        + p.broadcast_to((2, 3)).sum()
        + autodiff.stack([u, s]).sum()
    )
    loss.backward()
    leaves = [x, y, u, v, w, p]
    intermediates = [t for t in topological_order([loss]) if t.op is not None]
    for i, leaf in enumerate(leaves):
        assert leaf.grad.flags.writeable
        for other in leaves[i + 1 :] + intermediates:
            assert not np.shares_memory(leaf.grad, other.grad)
    before = [leaf.grad.copy() for leaf in leaves]
    x.grad += 100.0
    for leaf, expected in zip(leaves[1:], before[1:]):
        assert_array_equal(leaf.grad, expected)


class _SharesItsGradient(autodiff.Op):
    """z = x + y + w;  a backward that hands one fresh array to x and y and a view to w."""

    def forward(self, x, y, w):
        return x + y + w

    def backward(self, grad_out, x, y, w, z):
        fresh = grad_out * 1.0
        return fresh, fresh, fresh[...]


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0)])
def test_leaves_never_share_a_fresh_gradient_whatever_their_order(order):
    leaves = [Tensor(np.ones(3), requires_grad=True) for _ in range(3)]
    inputs = [leaves[i] for i in order]
    autodiff.apply(_SharesItsGradient(), *inputs).sum().backward()
    for i, a in enumerate(leaves):
        assert a.grad.flags.writeable
        for b in leaves[i + 1 :]:
            assert not np.shares_memory(a.grad, b.grad)
    assert all(np.array_equal(t.grad, np.ones(3)) for t in leaves)


# ---------------------------------------------------------------- robustness


def test_backward_handles_100k_deep_chain():
    factor = 1.000001
    x = Tensor(0.5, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * factor
    y.backward()
    assert_allclose(x.grad, np.power(factor, 100_000), rtol=1e-9)


def test_square_by_self_multiplication_gets_both_contributions():
    x = Tensor([1.5, -2.0], requires_grad=True)
    (x * x).sum().backward()
    assert_allclose(x.grad, 2 * x.data)
    x.zero_grad()
    (x * x * x + x + x).sum().backward()
    assert_allclose(x.grad, 3 * x.data**2 + 2)


def test_diamond_with_paths_of_different_lengths():
    def numpy_loss(values):
        a = values * 2
        long = np.tanh(np.log(np.exp(a) + 1.0) * 0.5)
        for _ in range(20):
            long = long * 0.9 + 0.1 * a
        return np.sum(long + a + a * 3)

    values = np.array([0.2, -0.4, 0.9])
    x = Tensor(values, requires_grad=True)
    a = x * 2
    long = ((a.exp() + 1.0).log() * 0.5).tanh()
    for _ in range(20):
        long = long * 0.9 + 0.1 * a
    loss = (long + a + a * 3).sum()
    loss.backward()
    (expected,) = numerical_gradient(numpy_loss, values.copy())
    assert_allclose(x.grad, expected, rtol=1e-6, atol=1e-8)
    assert_allclose(loss.data, numpy_loss(values))


def test_topological_order_puts_every_tensor_after_its_inputs_once():
    x = Tensor([1.0, 2.0], requires_grad=True)
    a = x * 2
    b = a.exp()
    c = a + b
    loss = (c * a).sum()
    order = topological_order([loss])
    assert len(order) == len(set(order))
    assert set(order) >= {x, a, b, c, loss}
    position = {t: i for i, t in enumerate(order)}
    for tensor in order:
        for parent in tensor.inputs:
            assert position[parent] < position[tensor]


def step_weakrefs(create_graph: bool):
    """One training step on a small net; weak references to parts of its graph."""
    rng = np.random.default_rng(0)
    weight = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    x, target = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    hidden = (x @ weight.T).sigmoid()
    loss = ((hidden - target) ** 2).mean()
    if create_graph:
        (g,) = autodiff.grad(loss, [weight], create_graph=True)
        loss = loss + (g * g).sum()
    loss.backward()
    weight.data -= 0.1 * weight.grad
    refs = [weakref.ref(hidden), weakref.ref(hidden.op), weakref.ref(loss), weakref.ref(loss.op)]
    del hidden, loss
    if create_graph:
        del g
    return weight, refs


@pytest.mark.parametrize("create_graph", [False, True])
def test_graph_is_freed_without_the_cycle_collector(create_graph):
    gc.collect()
    gc.disable()  # whatever dies below dies by reference counting: the graph has no cycles
    try:
        weight, refs = step_weakrefs(create_graph)
        assert weight.grad is not None
        assert all(ref() is None for ref in refs)
    finally:
        gc.enable()


def test_graph_is_freed_under_detect_anomaly():
    gc.collect()
    gc.disable()
    try:
        with autodiff.detect_anomaly():
            _, refs = step_weakrefs(create_graph=False)
        assert all(ref() is None for ref in refs)
    finally:
        gc.enable()


# ---------------------------------------------------------------- dtypes


def test_float32_stays_float32_with_constants_on_every_side():
    x = Tensor(np.array([0.5, 1.5, 2.5], dtype=np.float32), requires_grad=True)
    w = Tensor(np.ones((3, 2), dtype=np.float32), requires_grad=True)
    constant = np.array([1.0, 2.0, 3.0])  # float64
    parts = [
        2.0 * x + 1.5,
        x / 3 - np.float64(0.25),
        np.float64(2.0) * x,
        constant + x,
        x * constant,
        x ** np.float64(2.0),
        x**0.5,
        2.0**x,
        np.ones((2, 3)) @ x,
        x @ np.ones(3),
        (x @ w).sum(axis=0) + np.ones(2),
        autodiff.concatenate([x, constant]),
        autodiff.stack([constant, x]),
        autodiff.where(np.array([True, False, True]), x, constant),
        autodiff.maximum(x, constant),
        np.exp(x) + np.where(constant > 1.5, x, 0.0),
        x.mean(),
        x.max(),
    ]
    loss = sum(part.sum() for part in parts)
    graph = topological_order([loss])
    assert {t.dtype for t in graph} == {np.dtype(np.float32)}, [
        (t.op, t.dtype) for t in graph if t.dtype != np.float32
    ]
    loss.backward(np.float64(1.0))
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32
    (g,) = autodiff.grad(loss, [x], create_graph=True)
    assert g.dtype == np.float32
    assert autodiff.grad(g.sum(), x).dtype == np.float32


def test_float32_forward_and_backward_agree_with_float64():
    values = np.array([[0.3, -1.2, 2.0], [0.7, 0.1, -0.4]])
    results = {}
    for dtype in (np.float32, np.float64):
        x = Tensor(values, requires_grad=True, dtype=dtype)
        loss = (x.tanh() * 3.0).softmax(axis=1).log().mean()
        loss.backward()
        results[dtype] = (loss.data, x.grad)
    assert_allclose(results[np.float32][0], results[np.float64][0], rtol=1e-5)
    assert_allclose(results[np.float32][1], results[np.float64][1], rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------- grad() and sum_to_shape


def test_grad_returns_tensors_and_leaves_dot_grad_alone():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = Tensor([0.5, -1.0, 2.0], requires_grad=True)
    unused = Tensor([9.0], requires_grad=True)
    hidden = x * y
    loss = (hidden * hidden).sum()
    gx, gy, ghidden, gunused = autodiff.grad(loss, [x, y, hidden, unused])
    assert all(isinstance(g, Tensor) and not g.requires_grad for g in (gx, gy, ghidden))
    assert_allclose(gx.data, 2 * x.data * y.data**2)
    assert_allclose(gy.data, 2 * y.data * x.data**2)
    assert_allclose(ghidden.data, 2 * x.data * y.data)
    assert_array_equal(gunused.data, [0.0])
    assert all(t.grad is None for t in (x, y, hidden, unused, loss))

    x.grad = np.array([7.0, 7.0, 7.0])
    single = autodiff.grad(loss, x)
    assert isinstance(single, Tensor)
    assert_array_equal(x.grad, [7.0, 7.0, 7.0])


def test_grad_with_grad_outputs_for_a_non_scalar():
    x = Tensor([1.0, 2.0], requires_grad=True)
    weights = np.array([3.0, -1.0])
    g = autodiff.grad(x.exp(), x, grad_outputs=weights)
    assert_allclose(g.data, weights * np.exp(x.data))


@pytest.mark.parametrize(
    "shape, target", [((2, 3, 4), (3, 1)), ((2, 3, 4), (1, 4)), ((2, 3), ()), ((2, 3), (2, 3))]
)
def test_sum_to_shape_undoes_broadcasting(shape, target):
    grad = np.random.default_rng(0).standard_normal(shape)
    summed = autodiff.sum_to_shape(grad, target)
    assert summed.shape == target
    # Each element of the target receives the sum of the elements broadcast from it.
    probe = np.random.default_rng(1).standard_normal(target)
    assert_allclose(np.sum(summed * probe), np.sum(grad * np.broadcast_to(probe, shape)))
