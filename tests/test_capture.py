"""autodiff.capture: replays are bit-identical to eager on every op of the table, and it falls
back to eager on a new shape, a Python branch on values, no_grad and anomaly mode."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from test_ops import NAMES, OP_CASES

import autodiff
import nn
from autodiff import Tensor


def twin_leaves(case):
    """Two independent copies of the case's inputs as leaves: one for eager, one captured."""
    return [[Tensor(a, requires_grad=True) for a in case.inputs] for _ in range(2)]


def assert_same_step(eager_loss, captured_loss, eager_leaves, captured_leaves):
    assert_array_equal(captured_loss.data, eager_loss.data)
    for a, b in zip(eager_leaves, captured_leaves):
        assert (a.grad is None) == (b.grad is None)
        if a.grad is not None:
            assert_array_equal(b.grad, a.grad)


@pytest.mark.parametrize("name", NAMES)
def test_replay_is_bit_identical_to_eager_for_every_op(name):
    case = OP_CASES[name]
    eager_leaves, captured_leaves = twin_leaves(case)
    shape = case.build(*eager_leaves).shape

    def loss_fn(leaves, weights):
        return (case.build(*leaves) * weights).sum()

    step = autodiff.capture(lambda weights: loss_fn(captured_leaves, weights))
    rng = np.random.default_rng(0)
    for _ in range(4):
        weights = rng.standard_normal(shape)
        for t in eager_leaves + captured_leaves:
            t.grad = None
        eager = loss_fn(eager_leaves, weights)
        eager.backward()
        assert_same_step(eager, step(weights), eager_leaves, captured_leaves)
    assert step.replays == 2, f"{name}: only {step.replays} of 4 calls replayed"


def mlp_pair(sizes=(6, 5, 3), dtype=np.float64):
    models = [nn.MLP(list(sizes), seed=0, dtype=dtype) for _ in range(2)]
    return models, [nn.SGD(m.parameters(), lr=0.5) for m in models]


def batches(count: int, size: int, seed: int = 0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [
        (rng.standard_normal((size, 6)).astype(dtype), rng.random((size, 3)).astype(dtype))
        for _ in range(count)
    ]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss", [nn.mse_loss, nn.binary_cross_entropy])
def test_training_with_a_captured_step_matches_eager_bit_for_bit(loss, dtype):
    (eager_model, model), (eager_opt, opt) = mlp_pair(dtype=dtype)
    step = autodiff.capture(lambda x, y: loss(model(x), y))
    for x, y in batches(6, 4, dtype=dtype):
        eager_opt.zero_grad()
        eager = loss(eager_model(x), y)
        eager.backward()
        opt.zero_grad()
        captured = step(x, y)
        assert_same_step(eager, captured, eager_model.parameters(), model.parameters())
        # The teaching promise: after a replay too, zs[l].grad is the delta of layer l.
        for za, zb in zip(eager_model.zs, model.zs):
            assert_array_equal(zb.data, za.data)
            assert_array_equal(zb.grad, za.grad)
        eager_opt.step()
        opt.step()
    assert step.replays == 4


def test_gradients_accumulate_across_replays_like_repeated_backward():
    (eager_model, model), _ = mlp_pair()
    step = autodiff.capture(lambda x, y: nn.mse_loss(model(x), y))
    ((x, y),) = batches(1, 4)
    for _ in range(4):
        step(x, y)
        nn.mse_loss(eager_model(x), y).backward()
    assert step.replays == 2
    for a, b in zip(eager_model.parameters(), model.parameters()):
        assert_array_equal(b.grad, a.grad)


def test_a_new_batch_shape_runs_eagerly_then_gets_its_own_replay():
    (eager_model, model), _ = mlp_pair()
    step = autodiff.capture(lambda x, y: nn.mse_loss(model(x), y))
    for x, y in batches(3, 4):
        step(x, y)
    assert step.replays == 1
    for call, (x, y) in enumerate(batches(3, 7, seed=1)):
        for m in (eager_model, model):
            m.zero_grad()
        eager = nn.mse_loss(eager_model(x), y)
        eager.backward()
        captured = step(x, y)
        assert step.replays == (1 if call < 2 else 2)
        assert_same_step(eager, captured, eager_model.parameters(), model.parameters())


def test_a_python_branch_on_tensor_values_stays_eager():
    (eager_model, model), _ = mlp_pair()

    def loss_fn(m, x, y):
        out = m(x)
        if out.sum() > 4.5:  # reads a value: the path may change from batch to batch
            out = out * 2.0
        return nn.mse_loss(out, y)

    step = autodiff.capture(lambda x, y: loss_fn(model, x, y))
    for x, y in batches(8, 4):
        for m in (eager_model, model):
            m.zero_grad()
        eager = loss_fn(eager_model, x, y)
        eager.backward()
        assert_same_step(eager, step(x, y), eager_model.parameters(), model.parameters())
    assert step.replays == 0


def test_recordings_that_differ_keep_the_function_eager():
    (_, model), _ = mlp_pair()
    calls = []

    def loss_fn(x, y):
        calls.append(1)
        out = model(x)
        if len(calls) == 2:  # the second run takes another path
            out = out.tanh()
        return nn.mse_loss(out, y)

    step = autodiff.capture(loss_fn)
    for x, y in batches(5, 4):
        step(x, y)
    assert step.replays == 0 and len(calls) == 5


def test_item_inside_the_function_stays_eager():
    (_, model), _ = mlp_pair()
    seen = []

    def loss_fn(x, y):
        loss = nn.mse_loss(model(x), y)
        seen.append(loss.item())
        return loss

    step = autodiff.capture(loss_fn)
    for x, y in batches(4, 4):
        step(x, y)
    assert step.replays == 0 and len(seen) == 4


def test_no_grad_computes_the_loss_without_backward():
    (_, model), _ = mlp_pair()
    step = autodiff.capture(lambda x, y: nn.mse_loss(model(x), y))
    data = batches(4, 4)
    for x, y in data[:3]:
        step(x, y)
    model.zero_grad()
    x, y = data[3]
    with autodiff.no_grad():
        loss = step(x, y)
    assert all(p.grad is None for p in model.parameters())
    assert not loss.requires_grad
    assert_array_equal(loss.data, nn.mse_loss(model(x), y).data)


def test_anomaly_mode_runs_eagerly_and_names_the_op():
    w = Tensor([1.0, 2.0], requires_grad=True)
    step = autodiff.capture(lambda x: (w * x).log().sum())
    for _ in range(3):
        step(np.array([1.0, 1.0]))
    assert step.replays == 1
    with (
        autodiff.detect_anomaly(),
        np.errstate(invalid="ignore"),
        pytest.raises(autodiff.AnomalyError, match="Log"),
    ):
        step(np.array([-1.0, 1.0]))
    assert step.replays == 1


def test_the_function_must_return_a_tensor():
    step = autodiff.capture(lambda x: float(np.sum(x)))
    with pytest.raises(TypeError, match="scalar Tensor, got float"):
        step(np.ones(3))


def test_a_gradient_penalty_with_create_graph_replays_bit_identically():
    (eager_model, model), _ = mlp_pair()

    def loss_fn(m, x, y):
        loss = nn.mse_loss(m(x), y)
        (g,) = autodiff.grad(loss, [m.layers[0].weight], create_graph=True)
        return loss + 0.1 * (g * g).sum()

    step = autodiff.capture(lambda x, y: loss_fn(model, x, y))
    for x, y in batches(4, 4):
        for m in (eager_model, model):
            m.zero_grad()
        eager = loss_fn(eager_model, x, y)
        eager.backward()
        assert_same_step(eager, step(x, y), eager_model.parameters(), model.parameters())
    assert step.replays == 2


def test_a_batch_in_another_dtype_is_cast_as_eager_casts_it():
    (eager_model, model), _ = mlp_pair(dtype=np.float32)
    step = autodiff.capture(lambda x, y: nn.mse_loss(model(x), y))
    for x, y in batches(4, 4):  # float64 batches for a float32 model
        for m in (eager_model, model):
            m.zero_grad()
        eager = nn.mse_loss(eager_model(x), y)
        eager.backward()
        assert_same_step(eager, step(x, y), eager_model.parameters(), model.parameters())
        assert model.parameters()[0].grad.dtype == np.float32
    assert step.replays == 2
