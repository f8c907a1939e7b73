"""The spellings "Let's build GPT" needs: Linear(bias=False), ModuleList, register_buffer,
masked_fill, GELU (and the erf under it) and multinomial, each against an independent
computation: numpy formulas always, PyTorch as well when it is installed. Values, first order
(the gradient of sum(out * r)) and second order (the gradient of sum(first * s)).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

import autodiff
import nn
from autodiff import Tensor

try:
    import torch
except ImportError:  # the numpy references still run
    torch = None

BACKENDS = [
    "numpy",
    pytest.param("torch", marks=pytest.mark.skipif(torch is None, reason="no torch")),
]
C = math.sqrt(2 / math.pi)
A = 0.044715
math_erf = np.vectorize(math.erf, otypes=[float])


def ours_three_orders(function, inputs, r, s):
    """Our value, first-order gradients of sum(out * r) and second-order gradients of
    sum(first_i * s_i), for Tensors made from inputs."""
    tensors = [Tensor(x, requires_grad=True) for x in inputs]
    out = function(*tensors)
    first = autodiff.grad((out * r).sum(), tensors, create_graph=True)
    total = sum((g * si).sum() for g, si in zip(first, s))
    second = autodiff.grad(total, tensors)
    return out.data, [g.data for g in first], [g.data for g in second]


def torch_three_orders(function, inputs, r, s):
    tensors = [torch.tensor(x, requires_grad=True) for x in inputs]
    out = function(*tensors)
    first = torch.autograd.grad((out * torch.tensor(r)).sum(), tensors, create_graph=True)
    total = sum((g * torch.tensor(si)).sum() for g, si in zip(first, s))
    # A function linear in its inputs leaves first-order gradients with no graph.
    second = (
        torch.autograd.grad(total, tensors, allow_unused=True)
        if total.requires_grad
        else [None] * len(inputs)
    )
    second = [np.zeros_like(x) if g is None else g.detach().numpy() for g, x in zip(second, inputs)]
    return out.detach().numpy(), [g.detach().numpy() for g in first], second


def assert_orders_equal(ours, theirs, tolerance=1e-12):
    for name, mine, reference in zip(("value", "first", "second"), ours, theirs):
        for a, b in zip(*((mine, reference) if name != "value" else ([mine], [reference]))):
            assert_allclose(a, b, rtol=tolerance, atol=tolerance, err_msg=name)


# ---------------------------------------------------------------- Linear(bias=False)


def test_linear_without_bias_has_no_bias_parameter():
    layer = nn.Linear(4, 3, bias=False, seed=0)
    assert layer.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    assert "bias=False" in repr(layer)
    with pytest.raises(TypeError, match="init="):
        nn.Linear(4, 3, "xavier")


@pytest.mark.parametrize("backend", BACKENDS)
def test_linear_without_bias_matches_reference_to_second_order(backend):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 5, 4)), rng.standard_normal((3, 4))
    r, s = (
        rng.standard_normal((2, 5, 3)),
        [rng.standard_normal((2, 5, 4)), rng.standard_normal((3, 4))],
    )
    ours = ours_three_orders(nn.layers.project, [x, w], r, s)
    if backend == "torch":
        theirs = torch_three_orders(lambda x, w: torch.nn.functional.linear(x, w), [x, w], r, s)
    else:
        rows_r, rows_x, rows_s = r.reshape(-1, 3), x.reshape(-1, 4), s[0].reshape(-1, 4)
        first = [r @ w, rows_r.T @ rows_x]
        # sum(dx * s_x) = sum(r W * s_x) depends on W; sum(dW * s_W) = sum(r^T x * s_W) on x.
        second = [r @ s[1], rows_r.T @ rows_s]
        theirs = (x @ w.T, first, second)
    assert_orders_equal(ours, theirs)
    layer = nn.Linear(4, 3, bias=False, seed=1)
    assert_allclose(layer(x).data, x @ layer.weight.data.T, rtol=1e-15, atol=1e-15)


# ---------------------------------------------------------------- ModuleList, register_buffer


class Owner(nn.Module):
    def __init__(self):
        self.blocks = nn.ModuleList([nn.Linear(2, 2, seed=i) for i in range(3)])
        self.register_buffer("tril", np.tril(np.ones((3, 3))))


def test_module_list_indexes_iterates_and_exposes_parameters():
    owner = Owner()
    blocks = owner.blocks
    assert len(blocks) == 3 and blocks[1] is list(blocks)[1] and blocks[-1] is blocks.items[2]
    assert isinstance(blocks[:2], nn.ModuleList) and len(blocks[:2]) == 2
    names = [name for name, _ in owner.named_parameters()]
    assert names == [f"blocks.{i}.{p}" for i in range(3) for p in ("weight", "bias")]
    assert len(owner.parameters()) == 6
    blocks.append(nn.Linear(2, 1, bias=False, seed=5))
    assert owner.parameters()[-1] is blocks[3].weight
    assert blocks[3] in list(owner.modules())
    with pytest.raises(TypeError, match="holds Modules"):
        blocks.append(np.zeros(2))
    with pytest.raises(TypeError, match="not callable"):
        blocks(np.zeros(2))


def test_register_buffer_is_saved_and_loaded_but_never_trained():
    owner = Owner()
    state = owner.state_dict()
    assert_allclose(state["tril"], np.tril(np.ones((3, 3))))
    assert all(p is not owner.tril for p in owner.parameters())
    other = Owner()
    other.tril[...] = 7
    other.load_state_dict(state)
    assert_allclose(other.tril, state["tril"])
    # A buffer is state, not a parameter: no optimizer is given it, and it takes no gradient.
    assert "tril" in dict(owner.named_buffers()) and "tril" not in dict(owner.named_parameters())
    assert not isinstance(owner.tril, Tensor)
    with pytest.raises(KeyError, match="already a parameter or module"):
        owner.register_buffer("blocks", np.zeros(1))
    with pytest.raises(TypeError, match="identifier"):
        owner.register_buffer("not a name", np.zeros(1))


# ---------------------------------------------------------------- masked_fill


@pytest.mark.parametrize("backend", BACKENDS)
def test_masked_fill_matches_reference_with_zero_gradient_where_filled(backend):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 4))
    mask = np.tril(np.ones((4, 4))) == 0
    r, s = rng.standard_normal(x.shape), [rng.standard_normal(x.shape)]
    ours = ours_three_orders(lambda t: t.masked_fill(mask, -5.0), [x], r, s)
    if backend == "torch":
        theirs = torch_three_orders(lambda t: t.masked_fill(torch.tensor(mask), -5.0), [x], r, s)
    else:
        theirs = (np.where(mask, -5.0, x), [np.where(mask, 0, r)], [np.zeros_like(x)])
    assert_orders_equal(ours, theirs)
    assert np.all(ours[1][0][:, mask] == 0)
    filled = nn.masked_fill(Tensor(x), mask, float("-inf"))  # the function spelling too
    assert np.all(np.isneginf(filled.data[:, mask])) and np.all(
        filled.data[:, ~mask] == x[:, ~mask]
    )
    with pytest.raises(TypeError, match="boolean mask"):
        nn.masked_fill(Tensor(x), mask.astype(int), 0.0)
    with pytest.raises(ValueError, match="does not broadcast"):
        nn.masked_fill(Tensor(x), np.zeros((3, 3), bool), 0.0)


# ---------------------------------------------------------------- erf and GELU


def test_erf_matches_math_erf_to_1e_15():
    x = np.concatenate(
        [np.linspace(-9, 9, 180_001), np.geomspace(1e-300, 1.5, 2000), [0.0, 1.0, -1.0, 40.0]]
    )
    assert np.max(np.abs(nn.erf(x) - math_erf(x))) <= 1e-15
    assert np.max(np.abs(nn.erf(-x) + nn.erf(x))) == 0  # odd, exactly
    assert nn.erf(np.inf) == 1 and nn.erf(-np.inf) == -1 and np.isnan(nn.erf(np.nan))
    tails = np.linspace(1, 26, 2001)  # erfc to full relative accuracy where erf rounds to 1
    exact = np.vectorize(math.erfc)(tails)
    assert np.max(np.abs(nn.layers.erfc(tails) - exact) / exact) <= 1e-14
    assert np.max(np.abs(nn.layers.erfc(-tails) - (2 - exact))) <= 1e-15


def gelu_numpy(x, approximate):
    """GELU and its first two derivatives by formula, erf from the standard library."""
    if approximate == "none":
        cdf, density = (
            0.5 * (1 + math_erf(x / math.sqrt(2))),
            np.exp(-x * x / 2) / math.sqrt(2 * math.pi),
        )
        return x * cdf, cdf + x * density, density * (2 - x * x)
    u, du = C * (x + A * x**3), C * (1 + 3 * A * x * x)
    t = np.tanh(u)
    sech2 = 1 - t * t
    first = 0.5 * (1 + t) + 0.5 * x * sech2 * du
    second = sech2 * du + 0.5 * x * (-2 * t * sech2 * du * du + sech2 * 6 * A * C * x)
    return 0.5 * x * (1 + t), first, second


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_gelu_matches_reference_to_1e_12_to_second_order(approximate, backend):
    rng = np.random.default_rng(2)
    x = np.concatenate([np.linspace(-12, 12, 2401), rng.standard_normal(200)])
    r, s = rng.standard_normal(x.shape), [rng.standard_normal(x.shape)]
    ours = ours_three_orders(lambda t: nn.GELU(approximate)(t), [x], r, s)
    if backend == "torch":
        theirs = torch_three_orders(
            lambda t: torch.nn.functional.gelu(t, approximate=approximate), [x], r, s
        )
    else:
        value, first, second = gelu_numpy(x, approximate)
        theirs = (value, [r * first], [r * s[0] * second])
    assert_orders_equal(ours, theirs)


def test_gelu_refuses_unknown_approximation():
    with pytest.raises(ValueError, match='"none" or "tanh"'):
        nn.GELU("fast")
    assert "tanh" in repr(nn.GELU("tanh"))


# ---------------------------------------------------------------- multinomial


def test_multinomial_is_seeded_and_follows_the_probabilities():
    probs = np.array([[0.1, 0.0, 0.6, 0.3], [1.0, 1.0, 2.0, 0.0]])  # rows need not sum to 1
    first = nn.multinomial(probs, 1, rng=np.random.default_rng(3))
    assert first.shape == (2, 1) and first.dtype == np.int64
    assert np.array_equal(first, nn.multinomial(probs, 1, rng=np.random.default_rng(3)))
    draws = nn.multinomial(probs, 20_000, replacement=True, rng=4)
    for row, expected in zip(draws, probs / probs.sum(axis=1, keepdims=True)):
        frequencies = np.bincount(row, minlength=4) / len(row)
        # 5 standard errors of a frequency at 20,000 draws: fails by chance about 1 in 10^6.
        assert np.all(
            np.abs(frequencies - expected)
            <= 5 * np.sqrt(expected * (1 - expected) / 20_000) + 1e-12
        )
    without = nn.multinomial(probs[:1], 3, rng=5)
    assert sorted(without[0]) == [0, 2, 3]  # every non-zero index once
    # Without replacement the first draw has the row's own law.
    firsts = nn.multinomial(np.tile(probs[:1], (20_000, 1)), 2, rng=6)[:, 0]
    assert abs(np.mean(firsts == 2) - 0.6) < 5 * np.sqrt(0.24 / 20_000)
    with pytest.raises(ValueError, match="non-negative"):
        nn.multinomial(np.array([0.5, -0.1]), 1, rng=0)
    with pytest.raises(ValueError, match="replacement=True"):
        nn.multinomial(probs, 4, rng=0)
