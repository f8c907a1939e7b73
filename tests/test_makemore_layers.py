"""The makemore building blocks: Embedding, BatchNorm1d, LayerNorm, FlattenConsecutive in one
table (forward against independent numpy, first and second order against central differences),
batch norm's running statistics and modes, and Adam, AdamW, the schedule hook and clipping
against hand-written updates.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from numpy.testing import assert_allclose

import autodiff
import nn
from autodiff import Tensor, gradcheck, numerical_gradient


def normal(*shape: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def standardize(x: np.ndarray, axes: tuple, eps: float = 1e-5) -> np.ndarray:
    """(x - mean) / sqrt(biased var + eps): the plain-numpy reference."""
    mean = x.mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(((x - mean) ** 2).mean(axis=axes, keepdims=True) + eps)


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class LayerCase:
    build: Callable[..., Tensor]  # Tensors in (input and parameters), the layer's output out
    reference: Callable[..., np.ndarray]
    inputs: tuple[np.ndarray, ...]


def with_parameters(layer: nn.Module, **tensors: Tensor) -> nn.Module:
    """The layer computing with the given tensors as its parameters (to differentiate them)."""
    for name, tensor in tensors.items():
        setattr(layer, name, tensor)
    return layer


TOKENS = np.array([[0, 2, 2], [4, 1, 0]])  # token 2 twice in a row, 0 twice: gradients add
RUNNING_MEAN, RUNNING_VAR = normal(3, seed=1), np.array([0.5, 1.5, 2.0])


def batch_norm(x, w, b):
    return with_parameters(nn.BatchNorm1d(x.shape[-1]), weight=w, bias=b)(x)


def batch_norm_eval(x, w, b):
    layer = with_parameters(nn.BatchNorm1d(3), weight=w, bias=b)
    layer.running_mean[...], layer.running_var[...] = RUNNING_MEAN, RUNNING_VAR
    return layer.eval()(x)


LAYER_CASES = {
    "Embedding": LayerCase(
        lambda w: with_parameters(nn.Embedding(5, 3), weight=w)(TOKENS),
        lambda w: w[TOKENS],
        (normal(5, 3, seed=2),),
    ),
    "BatchNorm1d (N, C), training": LayerCase(
        batch_norm,
        lambda x, w, b: standardize(x, (0,)) * w + b,
        (normal(6, 3, seed=3), normal(3, seed=4), normal(3, seed=5)),
    ),
    "BatchNorm1d (N, L, C), training": LayerCase(
        batch_norm,
        lambda x, w, b: standardize(x, (0, 1)) * w + b,
        (normal(3, 4, 2, seed=6), normal(2, seed=7), normal(2, seed=8)),
    ),
    "BatchNorm1d, eval": LayerCase(
        batch_norm_eval,
        lambda x, w, b: (x - RUNNING_MEAN) / np.sqrt(RUNNING_VAR + 1e-5) * w + b,
        (normal(4, 3, seed=9), normal(3, seed=10), normal(3, seed=11)),
    ),
    "LayerNorm": LayerCase(
        lambda x, w, b: with_parameters(nn.LayerNorm(5), weight=w, bias=b)(x),
        lambda x, w, b: standardize(x, (-1,)) * w + b,
        (normal(3, 5, seed=12), normal(5, seed=13), normal(5, seed=14)),
    ),
    "LayerNorm over two axes": LayerCase(
        lambda x, w, b: with_parameters(nn.LayerNorm((3, 2)), weight=w, bias=b)(x),
        lambda x, w, b: standardize(x, (1, 2)) * w + b,
        (normal(2, 3, 2, seed=15), normal(3, 2, seed=16), normal(3, 2, seed=17)),
    ),
    "FlattenConsecutive": LayerCase(
        lambda x: nn.FlattenConsecutive(2)(x),
        lambda x: np.stack([np.concatenate([x[:, 2 * i], x[:, 2 * i + 1]], -1) for i in (0, 1)], 1),
        (normal(2, 4, 3, seed=18),),
    ),
    "FlattenConsecutive to rows": LayerCase(
        lambda x: nn.FlattenConsecutive(3)(x),
        lambda x: np.concatenate([x[:, 0], x[:, 1], x[:, 2]], -1),
        (normal(2, 3, 2, seed=19),),
    ),
    "Linear on (N, L, C)": LayerCase(
        lambda x, w, b: with_parameters(nn.Linear(3, 2), weight=w, bias=b)(x),
        lambda x, w, b: np.einsum("nlc,oc->nlo", x, w) + b,
        (normal(2, 4, 3, seed=20), normal(2, 3, seed=21), normal(2, seed=22)),
    ),
}
NAMES = sorted(LAYER_CASES)


def leaves(arrays) -> list[Tensor]:
    return [Tensor(a, requires_grad=True) for a in arrays]


@pytest.mark.parametrize("name", NAMES)
def test_layer_forward_matches_numpy(name):
    case = LAYER_CASES[name]
    out = case.build(*leaves(case.inputs))
    assert_allclose(out.data, case.reference(*case.inputs), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_layer_gradient_matches_central_differences(name):
    case = LAYER_CASES[name]
    assert gradcheck(case.build, *leaves(case.inputs), atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_layer_second_order_matches_differences_of_first(name):
    # S = <grad of F, v> with F = sum(out^3 * w): the gradient of S is the Hessian of F times
    # v, compared with central differences of S computed by the first-order path.
    case = LAYER_CASES[name]
    rng = np.random.default_rng(0)
    weights = rng.standard_normal(np.shape(case.reference(*case.inputs)))
    directions = [rng.standard_normal(a.shape) for a in case.inputs]

    def projected(arrays, create_graph):
        tensors = leaves(arrays)
        out = case.build(*tensors)
        grads = autodiff.grad((out * out * out * weights).sum(), tensors, create_graph=create_graph)
        return sum((g * v).sum() for g, v in zip(grads, directions)), tensors

    total, tensors = projected(case.inputs, create_graph=True)
    hessian_vector = autodiff.grad(total, tensors)
    numeric = numerical_gradient(
        lambda *a: projected(a, create_graph=False)[0], *[a.copy() for a in case.inputs]
    )
    for analytic, expected in zip(hessian_vector, numeric):
        assert_allclose(analytic.data, expected, rtol=1e-5, atol=1e-6)


def test_embedding_adds_the_gradients_of_a_repeated_token():
    layer = nn.Embedding(5, 3, seed=0)
    out = layer(TOKENS)
    grad_out = normal(*out.shape, seed=30)
    out.backward(grad_out)
    expected = np.zeros((5, 3))
    for position, token in np.ndenumerate(TOKENS):
        expected[token] += grad_out[position]
    assert_allclose(layer.weight.grad, expected)
    assert out.shape == (2, 3, 3)


def test_embedding_refuses_bad_indices():
    layer = nn.Embedding(5, 3)
    with pytest.raises(IndexError, match=r"0\.\.4.*from 0 to 5"):
        layer(np.array([0, 5]))
    with pytest.raises(TypeError, match="integer token indices"):
        layer(np.array([0.5]))
    assert layer(Tensor([[1.0, 2.0]])).shape == (1, 2, 3)  # whole-number floats are fine


# ---------------------------------------------------------------- batch norm


def test_batch_norm_running_statistics_use_bessels_correction_as_pytorch():
    layer = nn.BatchNorm1d(3, momentum=0.1)
    batches = [normal(8, 3, seed=40) * 2 + 1, normal(8, 3, seed=41)]
    mean, var = np.zeros(3), np.ones(3)
    for x in batches:
        out = layer(x)
        # Normalised with the biased variance ...
        assert_allclose(out.data, standardize(x, (0,)), atol=1e-12)
        # ... the running variance moves toward the unbiased one: sum (x - mean)^2 / (n - 1).
        unbiased = ((x - x.mean(0)) ** 2).sum(0) / (len(x) - 1)
        mean, var = 0.9 * mean + 0.1 * x.mean(0), 0.9 * var + 0.1 * unbiased
        assert_allclose(layer.running_mean, mean, rtol=1e-12)
        assert_allclose(layer.running_var, var, rtol=1e-12)


def test_batch_norm_on_sequences_averages_over_batch_and_length():
    layer = nn.BatchNorm1d(2, momentum=1.0)  # momentum 1: the running stats are the batch's
    x = normal(3, 4, 2, seed=42)
    layer(x)
    flat = x.reshape(-1, 2)
    assert_allclose(layer.running_mean, flat.mean(0))
    assert_allclose(layer.running_var, flat.var(0, ddof=1))


def test_batch_norm_eval_uses_running_statistics_and_leaves_them_alone():
    layer = nn.BatchNorm1d(3)
    for seed in range(5):
        layer(normal(16, 3, seed=seed) + 3)
    mean, var = layer.running_mean.copy(), layer.running_var.copy()
    layer.eval()
    x = normal(4, 3, seed=50)
    out = layer(x)
    assert_allclose(out.data, (x - mean) / np.sqrt(var + 1e-5))
    assert_allclose(layer.running_mean, mean)
    assert_allclose(layer.running_var, var)
    # In eval mode each example's output is its own: a batch of one gives the same row.
    assert_allclose(layer(x[:1]).data, out.data[:1])
    layer.train()
    with pytest.raises(ValueError, match="more than one value per feature"):
        layer(x[:1])


def test_batch_norm_buffers_travel_with_the_state_dict():
    model = nn.Sequential(nn.Linear(3, 4, seed=0), nn.BatchNorm1d(4))
    model(normal(10, 3, seed=51))
    state = model.state_dict()
    assert {"layers.1.running_mean", "layers.1.running_var"} <= state.keys()
    copy = nn.Sequential(nn.Linear(3, 4, seed=1), nn.BatchNorm1d(4))
    copy.load_state_dict(state)
    assert_allclose(copy.layers[1].running_var, model.layers[1].running_var)
    x = normal(5, 3, seed=52)
    assert_allclose(copy.eval()(x).data, model.eval()(x).data)
    # Buffers are state, not parameters: an optimizer never sees them.
    assert len(model.parameters()) == 4
    with pytest.raises(KeyError, match="running_mean"):
        copy.load_state_dict({k: v for k, v in state.items() if k != "layers.1.running_mean"})


def test_normalization_layers_name_the_expected_shape():
    with pytest.raises(ValueError, match=r"\(N, 3\) or \(N, L, 3\).*got \(4, 2\)"):
        nn.BatchNorm1d(3)(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"last axes are \(5,\), got \(2, 4\)"):
        nn.LayerNorm(5)(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"L a multiple of 2, got \(2, 3, 4\)"):
        nn.FlattenConsecutive(2)(np.zeros((2, 3, 4)))


# ---------------------------------------------------------------- optimizers


def quadratic_gradient(p: np.ndarray, step: int) -> np.ndarray:
    """A gradient that changes from step to step, for the hand-written references."""
    return p * (step + 1) + np.cos(p + step)


def run_optimizer(optimizer_class, start, steps, **options) -> np.ndarray:
    p = nn.Parameter(start.copy())
    optimizer = optimizer_class([p], **options)
    for step in range(steps):
        p.grad = quadratic_gradient(p.data, step)
        optimizer.step()
    return p.data


def adam_by_hand(start, steps, lr, betas, eps, weight_decay=0.0, decoupled=False):
    """Adam as the paper writes it: bias-corrected moments m_hat and v_hat."""
    p, m, v = start.copy(), np.zeros_like(start), np.zeros_like(start)
    for step in range(steps):
        g = quadratic_gradient(p, step)
        if decoupled:
            p = p - lr * weight_decay * p
        else:
            g = g + weight_decay * p
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g**2
        m_hat, v_hat = m / (1 - betas[0] ** (step + 1)), v / (1 - betas[1] ** (step + 1))
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


@pytest.mark.parametrize(
    "options",
    [dict(), dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6), dict(lr=0.003, weight_decay=0.1)],
)
def test_adam_matches_a_hand_written_update_over_several_steps(options):
    start = normal(3, 4, seed=60)
    settings = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0) | options
    ours = run_optimizer(nn.Adam, start, 7, **settings)
    assert_allclose(ours, adam_by_hand(start, 7, **settings), rtol=1e-12, atol=1e-14)


def test_adamw_decays_decoupled_before_the_step():
    start = normal(5, seed=61)
    ours = run_optimizer(nn.AdamW, start, 6, lr=0.01, weight_decay=0.5)
    expected = adam_by_hand(start, 6, 0.01, (0.9, 0.999), 1e-8, 0.5, decoupled=True)
    assert_allclose(ours, expected, rtol=1e-12)
    assert nn.AdamW([nn.Parameter(start)]).weight_decay == 0.01  # PyTorch's default
    coupled = run_optimizer(nn.Adam, start, 6, lr=0.01, weight_decay=0.5)
    assert not np.allclose(ours, coupled)


def test_adam_first_step_moves_each_weight_by_lr():
    # m_hat = g and v_hat = g^2 after one step, so each weight moves by lr * sign(g).
    p = nn.Parameter(np.zeros(4))
    p.grad = np.array([3.0, -0.2, 1e-3, -50.0])
    nn.Adam([p], lr=0.1).step()
    assert_allclose(p.data, -0.1 * np.sign(p.grad), rtol=1e-4)


def test_adam_counts_steps_per_parameter_and_skips_missing_gradients():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    optimizer = nn.Adam([a, b], lr=0.1)
    a.grad = np.ones(2)
    optimizer.step()
    assert optimizer.steps == [1, 0]
    assert np.array_equal(b.data, np.ones(2))
    with pytest.raises(ValueError, match="lr > 0"):
        nn.Adam([a], lr=0)


def test_schedule_sets_the_learning_rate_the_optimizer_reads():
    p = nn.Parameter(np.zeros(1))
    optimizer = nn.SGD([p], lr=1.0)
    schedule = nn.LRSchedule(optimizer, nn.piecewise_constant({0: 0.1, 2: 0.01}))
    seen = []
    for _ in range(4):
        p.grad = np.ones(1)
        seen.append(optimizer.lr)
        before = p.data.copy()
        optimizer.step()
        assert_allclose(before - p.data, seen[-1])  # the step used the scheduled rate
        schedule.step()
    assert seen == [0.1, 0.1, 0.01, 0.01]
    adam = nn.Adam([p], lr=1.0)
    nn.LRSchedule(adam, lambda step: 0.5**step).step()
    assert adam.lr == 0.5
    with pytest.raises(ValueError, match="step 0"):
        nn.piecewise_constant({10: 0.1})


def test_clip_grad_norm_returns_the_total_norm_and_scales_to_max_norm():
    a, b, unused = nn.Parameter(np.zeros((2, 2))), nn.Parameter(np.zeros(3)), nn.Parameter([0.0])
    a.grad, b.grad = normal(2, 2, seed=62) * 10, normal(3, seed=63) * 10
    original = np.concatenate([a.grad.ravel(), b.grad])
    total = nn.clip_grad_norm([a, b, unused], max_norm=1.0)
    assert total == pytest.approx(np.linalg.norm(original))
    clipped = np.concatenate([a.grad.ravel(), b.grad])
    assert_allclose(clipped, original / (total + 1e-6))  # PyTorch's max_norm / (total + 1e-6)
    assert unused.grad is None
    # Below max_norm nothing changes; the infinity norm is the largest |g|.
    assert nn.clip_grad_norm([a, b], max_norm=10.0) == pytest.approx(1.0, rel=1e-5)
    assert_allclose(np.concatenate([a.grad.ravel(), b.grad]), clipped)
    assert nn.clip_grad_norm(a, 100.0, norm_type=math.inf) == np.abs(a.grad).max()
