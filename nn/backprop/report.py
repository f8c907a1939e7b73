"""verify_backprop: autograd, Nielsen's BP1-BP4 and central differences, layer by layer.

For an nn.MLP and a batch: one row per layer and equation (delta by BP1 at the output and
BP2 below, the weight gradient by BP4, the bias gradient by BP3) with the largest absolute
and relative differences between autograd (model.zs[l].grad, weight.grad, bias.grad),
nn.manual_backprop and float64 central differences on a seeded sample of entries; and each
layer's ||delta^l|| (Nielsen ch. 5: vanishing gradients). Works on a float64 copy of the
model, so the model and its .grad are left alone. Rows are examples: x is (batch, in).
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from autodiff import Tensor, no_grad, numerical_gradient
from autodiff.core import data_of

from ..layers import MLP, activation_function
from ..losses import binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, mse_loss
from .equations import manual_backprop

# Differences relative to the largest magnitude of autograd's array; an absolute floor for
# the numerical side, whose rounding error is about 1e-16 * cost / eps whatever the gradient.
BP_RTOL = 1e-8
NUMERICAL_RTOL, NUMERICAL_ATOL = 1e-5, 1e-9
LOSS_NAMES = {
    "mse": mse_loss,
    "quadratic": mse_loss,
    "binary_cross_entropy": binary_cross_entropy,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "cross_entropy": cross_entropy,
}


@dataclass(frozen=True)
class ReportRow:
    """One layer and equation: quantity "delta" (BP1/BP2), "weight" (BP4) or "bias" (BP3).

    layer is Nielsen's number l (the input is layer 1): model.layers[l - 2] holds w^l and b^l,
    model.zs[l - 2] is z^l (network.py's zs[-(L - l + 1)] for L layers in all).

    *_abs is the largest absolute difference, *_rel the same divided by the largest
    magnitude of autograd's array; the numerical ones are over `sampled` entries.
    """

    layer: int
    equation: str
    quantity: str
    shape: tuple
    z_shape: tuple
    a_shape: tuple
    delta_shape: tuple
    autograd_bp_abs: float
    autograd_bp_rel: float
    autograd_numerical_abs: float
    autograd_numerical_rel: float
    bp_numerical_abs: float
    bp_numerical_rel: float
    sampled: int
    ok: bool


@dataclass(frozen=True)
class BackpropReport:
    """Rows in forward order, layer 2 first (Nielsen's numbering: the input is layer 1);
    delta_norms[i] = ||dC/db^l|| for layer l = i + 2, Nielsen's ||delta^l||."""

    model: str
    loss: str
    batch_size: int
    cost: float
    samples: int
    eps: float
    seed: int
    rows: list[ReportRow]
    delta_norms: list[float]

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows)

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "ok": self.ok}

    as_dict = to_dict

    @classmethod
    def from_dict(cls, data: dict) -> BackpropReport:
        """The report back from to_dict (also after JSON, which turns shapes into lists)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        values["rows"] = [ReportRow(**_tuples(row)) for row in data["rows"]]
        values["delta_norms"] = list(data["delta_norms"])
        return cls(**values)

    def __str__(self) -> str:
        return _format(self)


def verify_backprop(
    model: MLP,
    x,
    y,
    loss: Callable | str = mse_loss,
    samples: int = 10,
    eps: float = 1e-6,
    seed: int = 0,
) -> BackpropReport:
    """Autograd against nn.manual_backprop and central differences, per layer and equation.

    model: an nn.MLP; x: (batch, in); y: the loss's target (see nn.losses). loss:
    nn.mse_loss, nn.binary_cross_entropy (sigmoid output), nn.binary_cross_entropy_with_logits
    or nn.cross_entropy (linear output, output_activation=None), or one of their names.
    samples entries per array (chosen with seed) are checked by central differences.
    """
    loss = LOSS_NAMES.get(loss, loss) if isinstance(loss, str) else loss
    manual_loss, manual_output = _manual_names(loss, model)
    copy = MLP(model.sizes, model.activation, model.output_activation, seed=0)
    copy.load_state_dict(model.state_dict())  # float64 whatever the model's dtype
    x = np.asarray(x, dtype=np.float64)
    x = x.reshape(1, -1) if x.ndim == 1 else x
    y = np.asarray(data_of(y))

    cost = loss(copy(x), y)
    cost.backward()
    # Kept: every numerical evaluation below runs a forward pass that replaces copy.zs.
    zs, activations = copy.zs, copy.activations
    reference = manual_backprop(
        [layer.weight.data for layer in copy.layers],
        [layer.bias.data for layer in copy.layers],
        x,
        y,
        activation=copy.activation,
        output_activation=manual_output,
        loss=manual_loss,
    )
    rng = np.random.default_rng(seed)

    def total_cost() -> float:
        with no_grad():
            return loss(copy(x), y).item()

    rows = []
    for i, layer in enumerate(copy.layers):
        shapes = dict(
            z_shape=zs[i].shape, a_shape=activations[i + 1].shape, delta_shape=zs[i].grad.shape
        )
        z = zs[i].data.copy()
        compared = [
            ("BP1" if i == len(copy.layers) - 1 else "BP2", "delta", zs[i].grad,
             reference.deltas[i], z, lambda i=i, z=z: _cost_from(copy, loss, i, z, y)),
            ("BP4", "weight", layer.weight.grad, reference.grad_weights[i], layer.weight.data,
             total_cost),
            ("BP3", "bias", layer.bias.grad, reference.grad_biases[i], layer.bias.data, total_cost),
        ]  # fmt: skip
        for equation, quantity, autograd, manual, array, evaluate in compared:
            index = _sample(rng, array.shape, samples)
            numerical = _sampled_gradient(evaluate, array, index, eps)
            differences = _differences(autograd, manual, numerical, index)
            rows.append(
                ReportRow(layer=i + 2, equation=equation, quantity=quantity, shape=autograd.shape,
                          **shapes, **differences)
            )  # fmt: skip
    norms = [float(np.linalg.norm(layer.bias.grad)) for layer in copy.layers]
    name = getattr(loss, "__name__", repr(loss))
    return BackpropReport(repr(model), name, len(x), cost.item(), samples, eps, seed, rows, norms)


def _manual_names(loss: Callable, model: MLP) -> tuple[str, str | None]:
    """manual_backprop's (loss, output_activation) for this loss on this model's output."""
    output = model.output_activation
    if loss is mse_loss:
        return "mse", output
    if loss is binary_cross_entropy and output == "sigmoid":
        return "binary_cross_entropy", "sigmoid"
    # On logits the loss applies the sigmoid (or softmax) itself: same z, same delta.
    if loss is binary_cross_entropy_with_logits and output is None:
        return "binary_cross_entropy", "sigmoid"
    if loss is cross_entropy and output is None:
        return "cross_entropy", None
    raise ValueError(
        f"verify_backprop takes nn.mse_loss (any output), nn.binary_cross_entropy (sigmoid "
        f"output), nn.binary_cross_entropy_with_logits or nn.cross_entropy (logits: "
        f"output_activation=None); got {getattr(loss, '__name__', loss)!r} on "
        f"output_activation={output!r}"
    )


def _cost_from(model: MLP, loss: Callable, i: int, z: np.ndarray, y) -> float:
    """The cost as a function of layer i's weighted input z: the rest of the forward pass."""
    hidden = activation_function(model.activation)
    output = activation_function(model.output_activation)
    last = len(model.layers) - 1
    with no_grad():
        a = (output if i == last else hidden)(Tensor(z))
        for j in range(i + 1, last + 1):
            a = (output if j == last else hidden)(model.layers[j](a))
        return loss(a, y).item()


def _sample(rng: np.random.Generator, shape: tuple, samples: int) -> tuple:
    """A numpy index of up to `samples` distinct entries of an array of this shape."""
    size = int(np.prod(shape))
    flat = np.sort(rng.choice(size, size=min(samples, size), replace=False))
    return np.unravel_index(flat, shape)


def _sampled_gradient(evaluate: Callable, array: np.ndarray, index: tuple, eps: float):
    """Central differences of evaluate() with respect to array[index], restoring array."""
    original = array[index].copy()

    def cost(values):
        array[index] = values
        return evaluate()

    try:
        return numerical_gradient(cost, original.copy(), eps=eps)[0]
    finally:
        array[index] = original


def _differences(autograd, manual, numerical, index) -> dict:
    """The largest differences of each pair, absolute and relative to autograd's largest entry."""
    scale = float(np.abs(autograd).max())
    pairs = {
        "autograd_bp": np.abs(autograd - manual).max(),
        "autograd_numerical": np.abs(autograd[index] - numerical).max(),
        "bp_numerical": np.abs(manual[index] - numerical).max(),
    }
    result = {}
    for name, difference in pairs.items():
        result[f"{name}_abs"] = float(difference)
        result[f"{name}_rel"] = float(difference / scale) if scale else float(difference)
    result["sampled"] = len(index[0])
    result["ok"] = bool(
        pairs["autograd_bp"] <= BP_RTOL * scale
        and max(pairs["autograd_numerical"], pairs["bp_numerical"])
        <= NUMERICAL_RTOL * scale + NUMERICAL_ATOL
    )
    return result


def _tuples(row: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in row.items()}


def _format(report: BackpropReport) -> str:
    lines = [
        f"verify_backprop: {'OK' if report.ok else 'NOT OK'}",
        *textwrap.wrap(
            f"{report.model}, loss {report.loss}, batch {report.batch_size}, "
            f"cost {report.cost:.6g}",
            100,
            subsequent_indent="  ",
        ),
        "layers numbered as Nielsen's: the input is layer 1, layer l has w^l and b^l "
        "(model.layers[l - 2])",
        "autograd vs nn.manual_backprop (BP1-BP4) on every entry, and vs central differences",
        f"  (eps {report.eps:g}) on up to {report.samples} entries per array (seed {report.seed})",
        "",
        f"{'layer':<7}{'equation':<10}{'quantity':<10}{'shape':<9}"
        f"{'|autograd - BP|':>16}{'relative':>10}{'|autograd - numerical|':>23}{'relative':>10}"
        "   ok",
    ]
    for row in report.rows:
        lines.append(
            f"{row.layer:<7}{row.equation:<10}{row.quantity:<10}{shape_text(row.shape):<9}"
            f"{row.autograd_bp_abs:>16.1e}{row.autograd_bp_rel:>10.1e}"
            f"{row.autograd_numerical_abs:>23.1e}{row.autograd_numerical_rel:>10.1e}"
            f"   {'yes' if row.ok else 'NO'}"
        )
    deltas = [r for r in report.rows if r.quantity == "delta"]
    shapes = ", ".join(f"layer {r.layer} {shape_text(r.z_shape)}" for r in deltas)
    norms = "   ".join(f"layer {l} {n:.2e}" for l, n in enumerate(report.delta_norms, 2))
    lines.append("")
    lines += textwrap.wrap(
        f"z, a and delta per layer (rows are examples): {shapes}", 100, subsequent_indent="  "
    )
    lines.append("||delta^l|| = ||dC/db^l|| (Nielsen ch. 5; shrinking toward layer 2 = vanishing):")
    lines += textwrap.wrap(norms, 98, initial_indent="  ", subsequent_indent="  ")
    lines.append(
        f"tolerance: relative {BP_RTOL:g} against BP1-BP4, {NUMERICAL_RTOL:g} (+ "
        f"{NUMERICAL_ATOL:g} absolute) against central differences"
    )
    return "\n".join(lines)


def shape_text(shape: tuple) -> str:
    """A shape for a table column: (3,1) and (3,), without spaces."""
    return "(" + ",".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"
