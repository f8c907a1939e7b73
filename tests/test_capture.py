"""autodiff.capture: the compiled program is bit-identical to eager on every op of the table
(the one exception, plain SGD folded into the program, agrees to 1e-12), and it falls back to
eager, saying why once, on a new shape, a Python branch on values, no_grad, anomaly mode and
an op that has no code form."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
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
def test_replay_matches_eager_for_every_op(name):
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
    assert step.why_eager is None and "def step(" in step.source


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


def test_the_compiled_program_is_shown_and_reads_like_backprop():
    (_, model), _ = mlp_pair()
    step = autodiff.capture(lambda x, y: nn.mse_loss(model(x), y))
    for x, y in batches(3, 4):
        step(x, y)
    assert step.replays == 1
    assert "def step(p0, p1, p2, p3, x, y):" in step.source
    assert "# sigmoid' = s(1 - s)" in step.source
    assert "nn." not in step.source and "autodiff" not in step.source


class Square(autodiff.Op):
    """z = x^2;  dx = 2 g x (no code form: capture must run eagerly and say so)"""

    def forward(self, x):
        return x * x

    def backward(self, grad_out, x, z):
        return (2 * grad_out * x,)


def test_an_op_without_a_code_form_runs_eagerly_saying_why_once():
    w = Tensor([1.0, 2.0], requires_grad=True)
    step = autodiff.capture(lambda x: autodiff.apply(Square(), w * x).sum())
    with pytest.warns(RuntimeWarning, match="Square has no code form") as warned:
        for _ in range(4):
            w.grad = None
            step(np.array([3.0, 4.0]))
    assert len(warned) == 1 and step.replays == 0
    assert "Square has no code form" in step.why_eager
    assert_array_equal(w.grad, 2 * np.array([1.0, 2.0]) * np.array([9.0, 16.0]))  # 2 w x^2


def test_a_python_branch_says_why_it_runs_eagerly():
    w = Tensor([1.0, 2.0], requires_grad=True)

    def loss_fn(x):
        loss = (w * x).sum()
        return loss * 2.0 if loss > 0 else loss

    step = autodiff.capture(loss_fn)
    with pytest.warns(RuntimeWarning, match="reads tensor values into Python"):
        for _ in range(3):
            step(np.ones(2))
    assert step.replays == 0


def test_with_plain_sgd_the_program_takes_the_step_itself():
    """lr folded into the seed (as the hand-written step folds it into the output delta):
    the same updates to rounding, and .grad left None."""
    models = [nn.MLP([6, 5, 3], seed=0) for _ in range(2)]
    eager_opt, opt = (nn.SGD(m.parameters(), lr=3.0) for m in models)
    step = autodiff.capture(lambda x, y: nn.mse_loss(models[1](x), y), optimizer=opt)
    for x, y in batches(8, 4):
        eager_opt.zero_grad()
        nn.mse_loss(models[0](x), y).backward()
        eager_opt.step()
        opt.zero_grad()
        step(x, y)
    assert step.replays == 6 and "def step_with_sgd(lr, " in step.source
    assert all(p.grad is None for p in models[1].parameters())
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        assert_allclose(b.data, a.data, rtol=1e-12)


@pytest.mark.parametrize("settings", [{"momentum": 0.9}, {"weight_decay": 0.01}])
def test_other_updates_run_the_optimizer_after_the_program(settings):
    models = [nn.MLP([6, 5, 3], seed=0) for _ in range(2)]
    eager_opt, opt = (nn.SGD(m.parameters(), lr=0.5, **settings) for m in models)
    step = autodiff.capture(lambda x, y: nn.mse_loss(models[1](x), y), optimizer=opt)
    for x, y in batches(6, 4):
        for o in (eager_opt, opt):
            o.zero_grad()
        nn.mse_loss(models[0](x), y).backward()
        eager_opt.step()
        step(x, y)
    assert step.replays == 4
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        assert_array_equal(b.data, a.data)
        assert_array_equal(b.grad, a.grad)


def test_a_code_form_assumption_that_fails_runs_that_call_eagerly():
    """prod's code form divides by x: a batch with a zero runs eagerly, as the rule does."""
    w = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    step = autodiff.capture(lambda x: (w * x).prod())
    for x in ([1.0, 2.0, 3.0], [2.0, 1.0, 1.0], [1.0, 1.0, 2.0]):
        step(np.array(x))
    assert step.replays == 1 and "this code assumes" in step.source
    w.grad = None
    with np.errstate(invalid="ignore", divide="ignore"):
        loss = step(np.array([1.0, 0.0, 2.0]))
    assert step.replays == 1
    assert_array_equal(loss.data, 0.0)
    assert_array_equal(w.grad, [0.0, 0.0, 0.0])


def test_capture_keeps_batchnorm_running_statistics_moving():
    # The running averages are a Python side effect of BatchNorm's training forward, which a
    # replay would skip: the step runs eagerly (saying why) and they move on every call.
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(4, 3, seed=0), nn.BatchNorm1d(3), nn.Tanh())
    step = autodiff.capture(lambda x: (model(x) ** 2).mean())
    seen = []
    with pytest.warns(RuntimeWarning, match="BatchNorm1d's running statistics"):
        for _ in range(5):
            step(rng.normal(size=(8, 4)))
            seen.append(model.layers[1].running_mean.copy())
    assert all(not np.array_equal(a, b) for a, b in zip(seen, seen[1:]))
    assert step.why_eager is not None


def test_an_sgd_step_the_program_does_not_take_keeps_the_optimizers_scratch():
    # Without zero_grad the parameters hold gradients, so the program cannot fold the step:
    # SGD steps itself, and asking whether it could fold must not free its scratch each time.
    model = nn.MLP([6, 5, 3], seed=0)
    opt = nn.SGD(model.parameters(), lr=0.5)
    step = autodiff.capture(lambda x, y: nn.mse_loss(model(x), y), optimizer=opt)
    seen = []
    for x, y in batches(6, 4):
        step(x, y)
        seen.append([id(s) for s in opt.scratch])
    assert step.replays == 4
    assert all(ids == seen[2] for ids in seen[2:])


def test_recordings_of_shapes_that_never_compile_stay_bounded():
    # A first recording waits for its shape's second call; shapes that never come back must
    # not pile up (each recording holds a whole run's tensors).
    model = nn.MLP([4, 3, 2], seed=0)
    step = autodiff.capture(lambda x: (model(x) ** 2).mean())
    for n in range(1, 21):
        step(np.ones((n, 4)))
    assert len(step.recordings) <= 8 and step.replays == 0
