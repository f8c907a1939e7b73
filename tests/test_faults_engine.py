"""Fault injection on the engine: garbage inputs are refused with what was expected and what was
given, and in-place changes that would corrupt a gradient are refused before backward()."""

from __future__ import annotations

import gc

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import autodiff
import nn
from autodiff import Tensor
from autodiff.tools import inplace
from autodiff.tools.inplace import PINNED

# ---------------------------------------------------------------- garbage in, errors out

# (value, error type, words the message must contain)
GARBAGE = [
    (None, TypeError, "got None"),
    ("1.5", TypeError, "string '1.5'"),
    (b"\x00\x01", TypeError, "string"),
    (["1", "2"], TypeError, "list of strings (<U1"),
    ([1.0, None], TypeError, "Python objects"),
    (np.array([1.0, "a"], dtype=object), TypeError, "Python objects"),
    ([[1.0, 2.0], [3.0]], ValueError, "ragged"),
    ([[1.0], [2.0, 3.0], 4.0], ValueError, "ragged"),
    (1 + 2j, TypeError, "complex"),
    (np.ones(3, dtype=complex), TypeError, "complex"),
    ([1.0, 2j], TypeError, "complex"),
    (np.array(["2026-01-01"], dtype="datetime64[D]"), TypeError, "datetime64"),
    ({"a": 1.0}, TypeError, "dict"),
    (object(), TypeError, "object"),
]


@pytest.mark.parametrize("value, error, words", GARBAGE)
def test_tensor_refuses_garbage_naming_what_it_got(value, error, words):
    with pytest.raises(error, match="expected") as caught:
        Tensor(value)
    assert words in str(caught.value)


@pytest.mark.parametrize("value, error, words", GARBAGE)
def test_tensor_with_a_float_dtype_refuses_garbage_too(value, error, words):
    with pytest.raises(error, match="expected"):
        Tensor(value, dtype=np.float32)


@pytest.mark.parametrize("value, error, words", [g for g in GARBAGE if g[1] is TypeError])
@pytest.mark.parametrize("side", ["left", "right"])
def test_constants_lifted_into_ops_are_refused(value, error, words, side):
    t = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(TypeError, match="expected") as caught:
        _ = t * value if side == "right" else value * t
    assert words in str(caught.value)


@pytest.mark.parametrize(
    "make",
    [
        lambda t, c: np.add(c, t),
        lambda t, c: autodiff.where(np.array([True, False, True]), t, c),
        lambda t, c: autodiff.maximum(t, c),
    ],
)
def test_complex_constants_are_refused_through_numpy_and_functions(make):
    t = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(TypeError, match="complex"):
        make(t, np.array([1j, 2.0, 3.0]))


@pytest.mark.parametrize(
    "batch, words",
    [
        (np.ones((2, 3), dtype=complex), "complex"),
        (np.array([["a", "b", "c"]]), r"strings \(<U1"),
        (np.array([[1.0, None, 2.0]], dtype=object), "Python objects"),
    ],
)
def test_model_inputs_are_refused(batch, words):
    model = nn.MLP([3, 2], seed=0)
    with pytest.raises(TypeError, match=words):
        model(batch)


def test_real_inputs_of_every_numeric_kind_still_work():
    x = Tensor([1.0, 2.0], requires_grad=True)
    for constant in (True, 2, np.uint8(3), np.float32(0.5), [1, 2], np.array([True, False])):
        (x * constant).sum().backward()
    assert x.grad is not None
    assert Tensor([True, False]).dtype == np.float64
    assert Tensor(np.arange(3)).dtype == np.float64


@pytest.mark.parametrize("outputs", [1.0, np.ones(3), [1.0], "loss", None])
def test_grad_of_a_non_tensor_output_says_what_it_needs(outputs):
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="outputs must be a Tensor"):
        autodiff.grad(outputs, x)


@pytest.mark.parametrize("inputs", [1.0, np.ones(2), [], "x"])
def test_grad_with_respect_to_a_non_tensor_says_what_it_needs(inputs):
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="inputs must be a Tensor"):
        autodiff.grad((x * x).sum(), inputs)


def test_grad_of_an_output_that_needs_no_gradient_is_refused():
    x = Tensor([1.0, 2.0], requires_grad=True)
    constant = Tensor([3.0, 4.0]).sum()
    with pytest.raises(RuntimeError, match="output 0 .* does not require a gradient"):
        autodiff.grad(constant, x)
    with autodiff.no_grad():
        recorded_nothing = (x * x).sum()
    with pytest.raises(RuntimeError, match="under no_grad"):
        autodiff.grad(recorded_nothing, x)


def test_grad_with_respect_to_an_input_that_needs_no_gradient_is_refused():
    x, c = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 4.0])
    with pytest.raises(RuntimeError, match="input 1 .* requires_grad=True"):
        autodiff.grad((x * c).sum(), [x, c])


def test_a_constant_gradient_made_with_create_graph_differentiates_to_zero():
    x, unused = Tensor([0.5, 2.0], requires_grad=True), Tensor([1.0], requires_grad=True)
    first, first_unused = autodiff.grad((x**0).sum(), [x, unused], create_graph=True)
    assert first.requires_grad and first_unused.requires_grad
    assert_array_equal(autodiff.grad(first.sum() + first_unused.sum(), x).data, [0.0, 0.0])


def test_grad_with_the_wrong_number_of_grad_outputs_is_refused():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="3 grad_outputs given for 1 outputs"):
        autodiff.grad(x * x, x, grad_outputs=[np.ones(2)] * 3)


# ---------------------------------------------------------------- in-place changes


def small_net(seed: int = 0):
    """A [4, 3, 2] sigmoid network, a batch and its quadratic loss (recorded, not yet run)."""
    rng = np.random.default_rng(seed)
    model = nn.MLP([4, 3, 2], seed=seed)
    x, y = rng.standard_normal((5, 4)), rng.random((5, 2))
    return model, x, y


def reference_grads(model, x, y) -> list[np.ndarray]:
    """The gradients of a fresh copy of model at its current weights."""
    copy = nn.MLP(model.sizes, seed=0)
    copy.load_state_dict(model.state_dict())
    nn.mse_loss(copy(x), y).backward()
    return [p.grad for p in copy.parameters()]


CHANGES = {
    "w.data += 1": lambda model, x: model.layers[1].weight.data.__iadd__(1.0),
    "b.data[...] = 0": lambda model, x: model.layers[0].bias.data.__setitem__(Ellipsis, 0.0),
    "w.data[0, 0] = 5": lambda model, x: model.layers[1].weight.data.__setitem__((0, 0), 5.0),
    "np.copyto(w.data, 0)": lambda model, x: np.copyto(model.layers[0].weight.data, 0.0),
    "np.multiply(w.data, 2, out=w.data)": lambda model, x: np.multiply(
        model.layers[1].weight.data, 2, out=model.layers[1].weight.data
    ),
    "x[...] = 0 (the batch)": lambda model, x: x.__setitem__(Ellipsis, 0.0),
    "zs[0].data *= 2": lambda model, x: model.zs[0].data.__imul__(2.0),
    "activations[1].data[:] = 1": lambda model, x: model.activations[1].data.__setitem__(
        slice(None), 1.0
    ),
}


@pytest.mark.parametrize("change", CHANGES)
def test_in_place_change_before_backward_is_refused_and_gradients_stay_right(change):
    model, x, y = small_net()
    expected = reference_grads(model, x, y)
    loss = nn.mse_loss(model(x), y)
    with pytest.raises(ValueError, match="read-only"):
        CHANGES[change](model, x)
    loss.backward()
    for p, g in zip(model.parameters(), expected):
        assert_allclose(p.grad, g, rtol=1e-12)


@pytest.mark.parametrize("change", CHANGES)
def test_in_place_change_under_no_grad_is_refused_too(change):
    model, x, y = small_net()
    loss = nn.mse_loss(model(x), y)
    with autodiff.no_grad(), pytest.raises(ValueError, match="read-only"):
        CHANGES[change](model, x)
    loss.backward()


def test_optimizer_step_before_backward_binds_fresh_arrays_and_keeps_the_gradient():
    model, x, y = small_net()
    optimizer = nn.SGD(model.parameters(), lr=0.5)
    nn.mse_loss(model(x), y).backward()
    before = [p.data for p in model.parameters()]
    expected = reference_grads(model, x, y)
    loss = nn.mse_loss(model(x), y)  # a second forward: the old gradients are still there
    optimizer.step()  # the graph keeps the arrays it saved; the parameters get new ones
    for p, original in zip(model.parameters(), before):
        assert p.data is not original and not np.array_equal(p.data, original)
    model.zero_grad()
    loss.backward()
    for p, g in zip(model.parameters(), expected):
        assert_allclose(p.grad, g, rtol=1e-12)


@pytest.mark.parametrize(
    "update",
    [
        lambda p: p.data.__isub__(0.1 * p.grad),  # micrograd's p.data -= lr * p.grad
        lambda p: p.data.__setitem__(Ellipsis, 0.0),
        lambda p: np.copyto(p.data, 1.0),
    ],
)
def test_updating_parameters_after_backward_is_legal(update):
    model, x, y = small_net()
    nn.mse_loss(model(x), y).backward()
    for p in model.parameters():
        update(p)
    nn.SGD(model.parameters(), lr=0.1).step()
    model.load_state_dict(model.state_dict())


def test_a_training_loop_releases_every_array_it_locked():
    model, x, y = small_net()
    optimizer = nn.SGD(model.parameters(), lr=0.5)
    for _ in range(3):
        loss = nn.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    graph = autodiff.topological_order([loss])
    assert all(id(op_array) not in PINNED for t in graph if t.op for op_array in t.op.saved)
    assert all(p.data.flags.writeable for p in model.parameters())
    assert x.flags.writeable


def test_repeated_backward_still_accumulates_twice_and_then_steps():
    model, x, y = small_net()
    loss = nn.mse_loss(model(x), y)
    loss.backward()
    once = [p.grad.copy() for p in model.parameters()]
    loss.backward()
    for p, g in zip(model.parameters(), once):
        assert_allclose(p.grad, 2 * g, rtol=1e-12)
    nn.SGD(model.parameters(), lr=0.1).step()


def test_a_graph_dropped_without_backward_does_not_block_the_optimizer():
    model, x, y = small_net()
    optimizer = nn.SGD(model.parameters(), lr=0.5)
    nn.mse_loss(model(x), y).backward()
    nn.mse_loss(model(x), y)  # monitoring without no_grad(): recorded, then dropped
    model.zs, model.activations = [], []
    gc.collect()
    optimizer.step()  # released, since no live graph needs the arrays
    model.load_state_dict(model.state_dict())


def test_rebinding_data_before_backward_keeps_the_recorded_gradient():
    w = Tensor([1.0, 2.0], requires_grad=True)
    x = Tensor([3.0, -1.0], requires_grad=True)
    loss = (w * x).sum()
    w.data = np.array([10.0, 20.0])  # a new array: legal, and writable
    w.data[0] = 11.0
    loss.backward()
    assert_array_equal(x.grad, [1.0, 2.0])  # d/dx of the recorded w * x, with w = [1, 2]
    assert_array_equal(w.grad, [3.0, -1.0])


def test_results_under_no_grad_are_writable():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with autodiff.no_grad():
        y = x * 2
    y.data[0] = 5.0
    x.data[0] = 7.0
    assert_array_equal(y.data, [5.0, 4.0])


def test_second_order_graphs_keep_first_order_arrays_until_the_last_backward():
    x = Tensor([0.5, -1.0], requires_grad=True)
    (g,) = autodiff.grad([(x**3).sum()], [x], create_graph=True)
    with pytest.raises(ValueError, match="read-only"):
        x.data += 1.0
    (g * g).sum().backward()
    assert_allclose(x.grad, 2 * (3 * x.data**2) * 6 * x.data)
    x.data += 1.0


def test_grad_without_create_graph_releases_like_backward():
    w = Tensor([1.0, 2.0], requires_grad=True)
    g = autodiff.grad((w * w).sum(), w)
    w.data -= 0.1 * g.data
    assert_allclose(w.data, [0.8, 1.6])


def test_user_arrays_passed_directly_are_locked_only_while_needed():
    data = np.array([[1.0, 2.0, 3.0, 4.0]])
    model = nn.MLP([4, 2], seed=0)
    loss = model(data).sum()
    with pytest.raises(ValueError, match="read-only"):
        data[0, 0] = 9.0
    loss.backward()
    data[0, 0] = 9.0  # writable again, and its values were never changed by the engine
    assert_array_equal(data, [[9.0, 2.0, 3.0, 4.0]])


def test_read_only_arrays_of_the_user_stay_read_only():
    frozen = np.array([1.0, 2.0])
    frozen.setflags(write=False)
    w = Tensor([1.0, 1.0], requires_grad=True)
    (w * frozen).sum().backward()
    assert not frozen.flags.writeable
    view = np.broadcast_to(np.array([1.0, 2.0]), (3, 2))
    (w * view).sum().backward()
    assert not view.flags.writeable


def test_views_of_parameters_are_released_in_order():
    w = Tensor(np.arange(6.0), requires_grad=True)
    loss = (w.reshape(2, 3).T * 2.0).sum() + (w[1:] ** 2).sum()
    loss.backward()
    w.data[0] = 5.0
    graph = autodiff.topological_order([loss])
    assert all(id(op_array) not in PINNED for t in graph if t.op for op_array in t.op.saved)


def test_anomaly_mode_and_the_locks_together():
    model, x, y = small_net()
    with autodiff.detect_anomaly():
        loss = nn.mse_loss(model(x), y)
        with pytest.raises(ValueError, match="read-only"):
            model.layers[0].weight.data[0, 0] = 1.0
        loss.backward()
    model.layers[0].weight.data[0, 0] = 1.0


def test_arrays_computed_by_recorded_ops_stay_read_only_and_copies_are_free_to_change():
    model, x, y = small_net()
    nn.mse_loss(model(x), y).backward()
    delta = model.zs[0].grad
    delta[0, 0] += 1.0  # gradients are the user's
    with pytest.raises(ValueError, match="read-only"):
        model.zs[0].data[0, 0] = 1.0  # the graph's record of the forward pass
    copy = model.zs[0].data.copy()
    copy[0, 0] = 1.0


def test_graphs_dropped_without_backward_do_not_grow_the_registry_forever():
    model = nn.MLP([4, 3, 2], seed=0)
    rng = np.random.default_rng(0)
    before = len(PINNED)
    steps = inplace.prune_at + 50  # enough fresh batches to pass the pruning threshold
    for _ in range(steps):  # inference without no_grad(): each batch is locked, then dropped
        model(rng.standard_normal((2, 4)))
    model.zs, model.activations = [], []
    assert len(PINNED) < before + steps  # pruned on the way
    inplace.prune()
    assert len(PINNED) <= before + 4  # the model's parameters
    # The parameters are still locked by the dropped graphs; a writer that asks releases
    # them, since no live graph needs them.
    gc.collect()
    model.load_state_dict(model.state_dict())
    assert all(p.data.flags.writeable for p in model.parameters())
