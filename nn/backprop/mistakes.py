"""What a learner's gradients WOULD be under each common backprop mistake.

A numpy forward and backward pass in Nielsen's equations (rows are examples, batch-averaged
cost, weights (out, in)) in which one step of BP1 or BP2 can be replaced by a mistake (a
Hypothesis), and the other arrays an entry of nabla_b or nabla_w may hold instead of its own
gradient (transposed, another layer's, ...). Only computes: diagnosis does the matching.
Activations and derivatives are nn.manual_backprop's, the numpy oracle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .equations import ACTIVATIONS, DERIVATIVES, HIDDEN_ACTIVATIONS

# Nielsen's costs and the output activations each is written for (None: linear output).
COSTS = {
    "quadratic": ("sigmoid", "tanh", "relu", None),
    "cross_entropy": ("sigmoid",),
    "log_likelihood": ("softmax",),
}
DEFAULT_OUTPUT = {"quadratic": "sigmoid", "cross_entropy": "sigmoid", "log_likelihood": "softmax"}


@dataclass(frozen=True)
class Network:
    """Nielsen's network: weights (out, in), biases (out,), activations and cost by name."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    activation: str
    output_activation: str | None
    cost: str

    @property
    def sizes(self) -> list[int]:
        """Layer widths, input first, like network.py's sizes."""
        return [self.weights[0].shape[1]] + [w.shape[0] for w in self.weights]


@dataclass(frozen=True)
class Pass:
    """One forward and backward pass; deltas are dC/dz of the batch-averaged cost, (batch, out)."""

    zs: list[np.ndarray]
    activations: list[np.ndarray]
    deltas: list[np.ndarray]
    nabla_b: list[np.ndarray]
    nabla_w: list[np.ndarray]


@dataclass(frozen=True)
class Hypothesis:
    """One mistake in BP1 or BP2, given as the step that replaces the correct one.

    output_error(z, a, y) -> delta^L of each example's cost (rows);
    hidden_error(net, i, delta_next, zs, activations) -> delta of layer i (rows).
    """

    equation: str
    words: str
    output_error: Callable | None = None
    hidden_error: Callable | None = None


def output_error(net: Network, z, a, y):
    """BP1 for one example's cost: (a - y) * sigma'(z) (quadratic); a - y (cross-entropies)."""
    if net.cost == "quadratic":
        return (a - y) * DERIVATIVES[net.output_activation](z)
    return a - y


def hidden_error(net: Network, i: int, delta_next, zs, activations):
    """BP2: delta^i = (w^{i+1})^T delta^{i+1} * sigma'(z^i); with rows, (delta @ w) * sigma'(z)."""
    return (delta_next @ net.weights[i + 1]) * DERIVATIVES[net.activation](zs[i])


def backprop(net: Network, x, y, hypothesis: Hypothesis | None = None) -> Pass | None:
    """BP1-BP4 on x (batch, in), y (batch, out), with the hypothesis's mistaken step if given.

    None when that mistake cannot run with these layer shapes.
    """
    bp1 = (hypothesis and hypothesis.output_error) or (lambda z, a, y: output_error(net, z, a, y))
    bp2 = (hypothesis and hypothesis.hidden_error) or hidden_error
    last = len(net.weights) - 1
    zs, activations = [], [x]
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        zs.append(activations[-1] @ w.T + b)
        activations.append(
            ACTIVATIONS[net.output_activation if i == last else net.activation](zs[-1])
        )
    # A mistake may divide by zero or overflow: its gradients are then simply not matched.
    with np.errstate(all="ignore"):
        try:
            deltas = [np.asarray(bp1(zs[-1], activations[-1], y)) / len(x)]
            for i in range(last - 1, -1, -1):
                deltas.insert(0, np.asarray(bp2(net, i, deltas[0], zs, activations)))
        except ValueError:  # shapes that do not fit together under this mistake
            return None
    # A wrong step could also broadcast into a shape no layer has.
    if any(d.shape != z.shape for d, z in zip(deltas, zs)):
        return None
    return Pass(
        zs=zs,
        activations=activations,
        deltas=deltas,
        nabla_b=[d.sum(axis=0) for d in deltas],  # BP3
        nabla_w=[d.T @ a for d, a in zip(deltas, activations[:-1])],  # BP4
    )


def gradients(net: Network, calls, layout: str, hypothesis: Hypothesis) -> dict | None:
    """Entry name -> the hypothesis's gradient for each (x, y) call, in the learner's layout.

    None when the mistake cannot run with these layer shapes.
    """
    found: dict = {}
    for x, y in calls:
        result = backprop(net, x, y, hypothesis)
        if result is None:
            return None
        for i in range(len(net.weights)):
            found.setdefault(f"nabla_b[{i}]", []).append(in_layout(result.nabla_b[i], "b", layout))
            found.setdefault(f"nabla_w[{i}]", []).append(result.nabla_w[i])
    return found


def hypotheses(net: Network) -> list[Hypothesis]:
    """The single mistakes in BP1 and BP2 worth testing for this network, most common first."""
    out, hidden = net.output_activation, net.activation
    found = []
    if net.cost == "quadratic" and out is not None:
        f, d = ACTIVATIONS[out], DERIVATIVES[out]
        found += [
            Hypothesis(
                "BP1",
                f"the output error is missing the factor {out}'(z^L): your delta^L is (a - y), "
                f"but for the quadratic cost BP1 is delta^L = (a - y) * {out}'(z^L). (a - y) "
                "alone is the output error of the cross-entropy cost (ch. 3)",
                output_error=lambda z, a, y: a - y,
            ),
            Hypothesis(
                "BP1",
                f"BP1 uses {out}(z^L) where it needs the derivative {out}'(z^L)",
                output_error=lambda z, a, y: (a - y) * f(z),
            ),
            Hypothesis(
                "BP1",
                f"BP1 takes the derivative at the activation, {out}'(a^L), instead of at the "
                f"weighted input, {out}'(z^L)",
                output_error=lambda z, a, y: (a - y) * d(a),
            ),
        ]
    elif net.cost != "quadratic":
        found.append(
            Hypothesis(
                "BP1",
                "BP1 multiplies by sigma'(z^L), but with this cost sigma' cancels and the output "
                "error is delta^L = a - y (ch. 3); (a - y) * sigma'(z^L) is the quadratic cost's",
                output_error=lambda z, a, y: (a - y) * a * (1 - a),
            )
        )
    if len(net.weights) > 1:
        found += _bp2_hypotheses(hidden)
    return found


def _bp2_hypotheses(hidden: str) -> list[Hypothesis]:
    f, d = ACTIVATIONS[hidden], DERIVATIVES[hidden]

    def with_factor(factor):
        return lambda net, i, delta, zs, acts: (delta @ net.weights[i + 1]) * factor(zs[i])

    found = [
        Hypothesis(
            "BP2",
            f"BP2 uses {hidden}(z) instead of its derivative {hidden}'(z)",
            hidden_error=with_factor(f),
        ),
        Hypothesis(
            "BP2",
            "BP2 is missing the factor sigma'(z^l): "
            "delta^l = (w^{l+1})^T delta^{l+1} * sigma'(z^l)",
            hidden_error=with_factor(lambda z: 1.0),
        ),
        Hypothesis(
            "BP2",
            f"BP2 takes the derivative at the activation, {hidden}'(a^l), instead of at the "
            f"weighted input, {hidden}'(z^l)",
            hidden_error=with_factor(lambda z: d(f(z))),
        ),
    ]
    if hidden == "sigmoid":
        found.append(
            Hypothesis(
                "BP2",
                "BP2 computes sigma'(z) as z * (1 - z); the shortcut sigma'(z) = a * (1 - a) "
                "needs the activation a = sigma(z), not z",
                hidden_error=with_factor(lambda z: z * (1 - z)),
            )
        )
    for other in HIDDEN_ACTIVATIONS:
        if other != hidden:
            found.append(
                Hypothesis(
                    "BP2",
                    f"BP2 uses {other}'(z), the derivative of {other}, but the hidden layers "
                    f"use {hidden}",
                    hidden_error=with_factor(DERIVATIVES[other]),
                )
            )
    found += [
        Hypothesis(
            "BP2",
            "BP2 multiplies by w^{l+1} instead of its transpose: "
            "np.dot(self.weights[-l+1].transpose(), delta)",
            hidden_error=lambda net, i, delta, zs, acts: (delta @ net.weights[i + 1].T) * d(zs[i]),
        ),
        Hypothesis(
            "BP2",
            "swapped layer index in BP2: it uses this layer's own weights, weights[-l], where "
            "network.py has the next layer's weights[-l+1]",
            hidden_error=lambda net, i, delta, zs, acts: (delta @ net.weights[i]) * d(zs[i]),
        ),
        Hypothesis(
            "BP2",
            "swapped layer index in BP2: it takes sigma' of the next layer's zs[-l+1] instead of "
            "this layer's zs[-l]",
            hidden_error=lambda net, i, delta, zs, acts: (
                (delta @ net.weights[i + 1]) * d(zs[i + 1])
            ),
        ),
    ]
    return found


def alternatives(kind: str, i: int, passes: list[Pass], expected: dict, layout: str) -> list:
    """Other things entry nabla_{kind}[i] may hold: (verdict, words, one array per call).

    The verdict also keys the advice in diagnosis.TIPS. passes: the correct Pass of each
    call; expected: entry name -> correct arrays per call, in the learner's layout ("columns":
    nabla_b (out, 1); "rows": (out,)).
    """
    own = expected[f"nabla_{kind}[{i}]"]
    found = []
    if kind == "w":
        words = "transposed: np.dot(a, delta.transpose()) instead of np.dot(delta, a.transpose())"
        found.append(("transposed", words, [e.T for e in own]))
    for other, arrays in expected.items():
        if other != f"nabla_{kind}[{i}]":
            words = f"holds the gradient that belongs in {other}: swapped layer index"
            found.append(("swapped index", words, arrays))
    found.append(("all zeros", "all zeros: never assigned", [np.zeros_like(e) for e in own]))
    if kind == "w":
        words = (
            "swapped layer index in BP4: delta times this layer's own activation activations[-l] "
            "instead of the previous layer's activations[-l-1]"
        )
        arrays = [in_layout(p.deltas[i].T @ p.activations[i + 1], "w", layout) for p in passes]
        found.append(("swapped index", words, arrays))
        if i > 0:
            words = "BP4 uses the previous layer's weighted input z instead of its activation a"
            arrays = [in_layout(p.deltas[i].T @ p.zs[i - 1], "w", layout) for p in passes]
            found.append(("z instead of a", words, arrays))
    elif layout == "rows":
        words = "one row per example: BP3 sums delta over the batch"
        found.append(("not summed", words, [p.deltas[i] for p in passes]))
    return found


def in_layout(array: np.ndarray, kind: str, layout: str) -> np.ndarray:
    """A gradient in the learner's layout: Nielsen's columns make a bias gradient (out, 1)."""
    return array.reshape(-1, 1) if kind == "b" and layout == "columns" else array
