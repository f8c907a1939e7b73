"""verify_backprop for layer-by-layer networks (nn.Sequential with Conv2d, MaxPool2d, Flatten,
Linear, activations, Dropout): autograd, the conv oracle and central differences per layer.

nn.verify_backprop is `verify_backprop` here: an nn.MLP goes to report.verify_backprop
(BP1-BP4), a Sequential to verify_conv_backprop. Works on a float64 copy of the model.
Dropout masks are fixed: each Dropout's generator is restored before every forward pass, so
autograd, the oracle and every central difference see the same mask.
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from autodiff import Tensor, no_grad
from autodiff.core import data_of

from ..layers import MLP, Module, Sequential
from ..losses import cross_entropy, mse_loss
from . import report
from .equations_conv import conv_net_backprop
from .report import BP_RTOL, LOSS_NAMES, NUMERICAL_ATOL, NUMERICAL_RTOL, shape_text
from .sequential import FixedMasks, float64_copy, layer_kind, layer_spec

# The equation that computes the delta (dC/d output) of a layer, by the kind of layer above.
DELTA_EQUATION = {
    "conv": "C1", "pool": "P1", "linear": "BP2", "activation": "BP2", "flatten": "reshape",
    "dropout": "mask",
}  # fmt: skip
PARAMETER_EQUATIONS = {"conv": ("C2", "C3"), "linear": ("BP4", "BP3")}


@dataclass(frozen=True)
class ConvReportRow:
    """One layer and quantity: "delta" (dC/d the layer's output), "weight" or "bias".

    *_abs is the largest absolute difference, *_rel the same over the largest magnitude of
    autograd's array; "oracle" is nn/backprop/equations_conv.py; numerical over `sampled`
    entries where the cost is differentiable; `kinks` sampled entries sat on a kink (a ReLU at
    0, tied maxima of a pool window: the one-sided differences disagree) and were left out.
    """

    layer: int
    name: str
    equation: str
    quantity: str
    shape: tuple
    autograd_bp_abs: float
    autograd_bp_rel: float
    autograd_numerical_abs: float
    autograd_numerical_rel: float
    bp_numerical_abs: float
    bp_numerical_rel: float
    sampled: int
    kinks: int
    ok: bool


@dataclass(frozen=True)
class ConvBackpropReport:
    """Rows in forward order; delta_norms[i] = ||dC/d output of layer i||, one per layer."""

    model: str
    loss: str
    batch_size: int
    cost: float
    samples: int
    eps: float
    seed: int
    dropout: str
    rows: list[ConvReportRow]
    delta_norms: list[float]

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows)

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "ok": self.ok}

    def __str__(self) -> str:
        return _format(self)


def verify_backprop(model: Module, x, y, loss: Callable | str = mse_loss, samples: int = 10,
                    eps: float = 1e-6, seed: int = 0):  # fmt: skip
    """nn.verify_backprop: an nn.MLP against BP1-BP4 (report.verify_backprop), an
    nn.Sequential against the conv equations (verify_conv_backprop); same arguments."""
    if isinstance(model, MLP):
        return report.verify_backprop(model, x, y, loss, samples, eps, seed)
    if isinstance(model, Sequential):
        return verify_conv_backprop(model, x, y, loss, samples, eps, seed)
    raise TypeError(
        f"verify_backprop takes an nn.MLP or an nn.Sequential, got {type(model).__name__}"
    )


def verify_conv_backprop(
    model: Sequential, x, y, loss: Callable | str = mse_loss, samples: int = 10,
    eps: float = 1e-6, seed: int = 0,
) -> ConvBackpropReport:  # fmt: skip
    """Every layer's delta, and conv and linear weight and bias gradients, three ways.

    model: Sequential of Conv2d, MaxPool2d, Flatten, Linear, Sigmoid/Tanh/ReLU and Dropout
    (in training mode a fixed mask, in eval mode none). x: (batch, C, H, W), or whatever the
    first layer takes. loss: nn.mse_loss or nn.cross_entropy (logits), or their names.
    `samples` entries per array, chosen with seed, are checked by central differences.
    """
    loss = LOSS_NAMES.get(loss, loss) if isinstance(loss, str) else loss
    oracle_loss = {mse_loss: "mse", cross_entropy: "cross_entropy"}.get(loss)
    if oracle_loss is None:
        raise ValueError(
            f"verify_backprop on a Sequential takes nn.mse_loss or nn.cross_entropy (logits), "
            f"got {getattr(loss, '__name__', loss)!r}"
        )
    net = float64_copy(model)
    kinds = [layer_kind(i, layer) for i, layer in enumerate(net.layers)]
    masks = FixedMasks(net)
    x = np.asarray(data_of(x), dtype=np.float64)
    y = np.asarray(data_of(y))

    # Autograd, layer by layer, keeping each output: its .grad is that layer's delta.
    masks.restore()
    inputs, outputs, a = [], [], Tensor(x)
    for layer in net.layers:
        inputs.append(a)
        a = layer(a)
        outputs.append(a)
    cost = loss(a, y)
    cost.backward()
    specs = [layer_spec(kind, layer, masks, inp, out)
             for kind, layer, inp, out in zip(kinds, net.layers, inputs, outputs)]  # fmt: skip
    reference = conv_net_backprop(specs, x, y, oracle_loss)

    def cost_from(i: int):
        """layer i's output (changed in place by the differences) and the cost from it."""
        start = outputs[i].data.copy()

        def evaluate() -> float:  # the rest of the forward pass, from layer i's output
            masks.restore()
            with no_grad():
                a = Tensor(start)
                for layer in net.layers[i + 1 :]:
                    a = layer(a)
                return loss(a, y).item()

        return start, evaluate

    rng = np.random.default_rng(seed)
    rows = []
    for i, (kind, layer) in enumerate(zip(kinds, net.layers)):
        name = type(layer).__name__
        above = "BP1" if i == len(kinds) - 1 else DELTA_EQUATION[kinds[i + 1]]
        start, evaluate = cost_from(i)
        compared = [(above, "delta", outputs[i].grad, reference.deltas[i], start, evaluate)]
        if kind in PARAMETER_EQUATIONS:
            whole = _whole_cost(net, masks, loss, x, y)
            w_eq, b_eq = PARAMETER_EQUATIONS[kind]
            compared.append((w_eq, "weight", layer.weight.grad, reference.grad_weights[i],
                             layer.weight.data, whole))  # fmt: skip
            if layer.bias is not None:
                compared.append((b_eq, "bias", layer.bias.grad, reference.grad_biases[i],
                                 layer.bias.data, whole))  # fmt: skip
        for equation, quantity, autograd, manual, array, evaluate_cost in compared:
            index, numerical, kinks = _differentiable_sample(
                evaluate_cost, array, rng, samples, eps, float(np.abs(autograd).max())
            )
            differences = _differences(autograd, manual, numerical, index)
            row = dict(layer=i, name=name, equation=equation, quantity=quantity, kinks=kinks)
            rows.append(ConvReportRow(shape=autograd.shape, **row, **differences))
    norms = [float(np.linalg.norm(out.grad)) for out in outputs]
    dropout = "fixed masks (training mode)" if masks.active else "none active (eval mode)"
    if not masks.layers:
        dropout = "no dropout layers"
    loss_name = getattr(loss, "__name__", repr(loss))
    description = "Sequential(" + ", ".join(map(repr, model.layers)) + ")"
    return ConvBackpropReport(description, loss_name, len(x), cost.item(), samples, eps, seed,
                              dropout, rows, norms)  # fmt: skip


# ---------------------------------------------------------------- central differences

KINK_RTOL = 1e-3


def _differentiable_sample(evaluate, array, rng, samples: int, eps: float, scale: float):
    """(index, central differences, kinks): up to `samples` entries, in a seeded random order,
    where the cost is differentiable; entries whose one-sided differences disagree by more
    than KINK_RTOL of the largest gradient are kinks, skipped (at most 3 * samples tried)."""
    order = rng.permutation(array.size)[: 3 * samples]
    chosen, values, kinks = [], [], 0
    centre = evaluate()
    for flat in order:
        if len(chosen) == samples:
            break
        index = np.unravel_index(flat, array.shape)
        saved = array[index]
        try:
            array[index] = saved + eps
            up = evaluate()
            array[index] = saved - eps
            down = evaluate()
        finally:
            array[index] = saved
        if abs((up - centre) - (centre - down)) / eps > KINK_RTOL * scale + 1e-7:
            kinks += 1
            continue
        chosen.append(flat)
        values.append((up - down) / (2 * eps))
    index = np.unravel_index(np.array(chosen, dtype=int), array.shape)
    return index, np.array(values), kinks


def _differences(autograd, manual, numerical, index) -> dict:
    if len(index[0]):
        return report._differences(autograd, manual, numerical, index)
    # Nothing differentiable sampled: the oracle comparison alone, and no claim about numbers.
    scale = float(np.abs(autograd).max())
    difference = float(np.abs(autograd - manual).max())
    nan = float("nan")
    return dict(
        autograd_bp_abs=difference, autograd_bp_rel=difference / scale if scale else difference,
        autograd_numerical_abs=nan, autograd_numerical_rel=nan, bp_numerical_abs=nan,
        bp_numerical_rel=nan, sampled=0, ok=False,
    )  # fmt: skip


def _whole_cost(net: Sequential, masks: FixedMasks, loss: Callable, x, y) -> Callable[[], float]:
    def evaluate() -> float:
        masks.restore()
        with no_grad():
            return loss(net(Tensor(x)), y).item()

    return evaluate


# ---------------------------------------------------------------- printing


def _format(r: ConvBackpropReport) -> str:
    lines = [
        f"verify_backprop: {'OK' if r.ok else 'NOT OK'}",
        *textwrap.wrap(
            f"{' '.join(r.model.split())}, loss {r.loss}, batch {r.batch_size}, "
            f"cost {r.cost:.6g}, dropout: {r.dropout}",
            100,
            subsequent_indent="  ",
        ),  # fmt: skip
        "autograd vs the conv oracle (C1-C3, P1, BP1-BP4) on every entry, and vs central",
        f"  differences (eps {r.eps:g}) on up to {r.samples} entries per array (seed {r.seed})",
        "",
        f"{'relative difference: autograd vs':>72}{'oracle vs':>14}",
        f"{'layer':<14}{'equation':<9}{'quantity':<9}{'shape':<14}{'oracle':>12}{'numerical':>14}"
        f"{'numerical':>14}  ok",
    ]
    for row in r.rows:
        lines.append(
            f"{f'{row.layer} {row.name}':<14}{row.equation:<9}{row.quantity:<9}"
            f"{shape_text(row.shape):<14}{row.autograd_bp_rel:>12.1e}"
            f"{row.autograd_numerical_rel:>14.1e}{row.bp_numerical_rel:>14.1e}"
            f"  {'yes' if row.ok else 'NO'}"
            + (f" ({row.kinks} kinks skipped)" if row.kinks else "")
            + (" (no differentiable entry sampled)" if not row.sampled else "")
        )
    norms = "   ".join(f"layer {i} {n:.2e}" for i, n in enumerate(r.delta_norms))
    lines += ["", "||delta|| = ||dC/d output|| per layer (shrinking toward layer 0 = vanishing):"]
    lines += textwrap.wrap(norms, 98, initial_indent="  ", subsequent_indent="  ")
    lines += textwrap.wrap(
        "delta of layer i is dC/d(its output), computed by the equation of layer i + 1 (C1 "
        "conv, P1 pool, BP2 linear or sigma', BP1 the cost); relative to autograd's largest "
        f"entry; tolerance {BP_RTOL:g} against the oracle, {NUMERICAL_RTOL:g} (+ "
        f"{NUMERICAL_ATOL:g} absolute) against central differences",
        100,
    )
    return "\n".join(lines)
