"""Nielsen's four backpropagation equations BP1-BP4, by hand in numpy: an independent oracle.

Boundary: imports numpy and the standard library only, and shares no code with autodiff/ or
the rest of nn/ (it has its own activations, derivatives and costs), so tests can check the
engine against it. Everything is computed in float64.

Rows are examples: x is (batch, in); layer l has weight W_l of shape (out, in) like
Nielsen's w[j][k] and bias b_l of shape (out,); z_l = a_{l-1} @ W_l.T + b_l, a_l = sigma(z_l).
Every cost averages over the batch, so every delta already carries the 1/batch factor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu")
# Which output activations each cost accepts; None means a linear (identity) output.
OUTPUTS_FOR_LOSS = {
    "mse": ("sigmoid", "tanh", "relu", "softmax", None),
    "binary_cross_entropy": ("sigmoid",),
    "cross_entropy": ("softmax", None),
}


@dataclass(frozen=True)
class Backprop:
    """One forward and backward pass; list index i holds Nielsen's layer l = i + 1.

    zs[i], deltas[i]: (batch, out) pre-activations z_l and errors delta_l = dC/dz_l of the
    batch-averaged cost C, so delta_l is 1/batch times the per-example error in Nielsen's book.
    activations: a_0 = x, then a_1 .. a_L, each (batch, features), one longer than zs.
    grad_weights[i]: (out, in) like weights; grad_biases[i]: (out,); cost: C.
    """

    zs: list[np.ndarray]
    activations: list[np.ndarray]
    deltas: list[np.ndarray]
    grad_weights: list[np.ndarray]
    grad_biases: list[np.ndarray]
    cost: float


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # e^-|z| never overflows; write 1 / (1 + e^-z) in whichever form uses only that.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _softmax(z: np.ndarray) -> np.ndarray:
    # Subtracting the row maximum leaves softmax unchanged and keeps exp from overflowing.
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _log_sigmoid(z: np.ndarray) -> np.ndarray:
    # ln sigmoid(z) = -softplus(-z): finite where sigmoid(z) itself rounds to 0.
    return -np.logaddexp(0.0, -z)


ACTIVATIONS = {
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "softmax": _softmax,
    None: lambda z: z,
}
# sigma'(z) for the elementwise activations. relu'(0) is taken as 0.
DERIVATIVES = {
    "sigmoid": lambda z: _sigmoid(z) * (1 - _sigmoid(z)),
    "tanh": lambda z: 1 - np.tanh(z) ** 2,
    "relu": lambda z: (z > 0).astype(np.float64),
    None: np.ones_like,
}


def _cost(z: np.ndarray, a: np.ndarray, y: np.ndarray, loss: str) -> float:
    """C averaged over the batch; the cross-entropies are computed from z_L to stay finite."""
    if loss == "mse":
        terms = 0.5 * (a - y) ** 2
    elif loss == "binary_cross_entropy":
        # ln(1 - sigmoid(z)) = ln sigmoid(-z)
        terms = -(y * _log_sigmoid(z) + (1 - y) * _log_sigmoid(-z))
    else:
        # Whether a is softmax(z) or the logits z themselves, the cost is -ln softmax(z).
        terms = -y * _log_softmax(z)
    return float(terms.sum() / len(z))


def _grad_output(a: np.ndarray, y: np.ndarray, loss: str, output_activation: str | None):
    """grad_a C, the cost's gradient with respect to the output activations a_L."""
    n = len(a)
    if loss == "mse":
        return (a - y) / n
    if loss == "binary_cross_entropy":
        # Literal, so it divides by zero where a saturates: the shortcut is the stable form.
        return -(y / a - (1 - y) / (1 - a)) / n
    if output_activation == "softmax":
        return -y / a / n
    # Linear output: a = z are logits and the softmax belongs to the loss.
    return (_softmax(a) - y) / n


def _output_error(z, a, y, output_activation, loss, shortcut) -> np.ndarray:
    """delta_L = dC/dz_L, by a shortcut where one applies or else by BP1."""
    n = len(z)
    if shortcut and loss == "binary_cross_entropy":
        # Shortcut (Nielsen ch. 3): sigma' cancels the cross-entropy's denominator.
        return (a - y) / n
    if shortcut and loss == "cross_entropy":
        # Shortcut: the softmax Jacobian cancels -y / a, because each row of y sums to 1.
        return (_softmax(z) - y) / n
    grad_a = _grad_output(a, y, loss, output_activation)
    if output_activation == "softmax":
        # BP1 with softmax: each a_j depends on every z_k, so sigma'(z_L) is the Jacobian
        # diag(a) - a a^T and the Hadamard product becomes J^T grad_a = a ⊙ (grad_a - <grad_a, a>).
        return a * (grad_a - (grad_a * a).sum(axis=1, keepdims=True))  # BP1
    return grad_a * DERIVATIVES[output_activation](z)  # BP1


def manual_backprop(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    activation: str = "sigmoid",
    output_activation: str | None = "sigmoid",
    loss: str = "mse",
    shortcut: bool = True,
) -> Backprop:
    """Forward pass, then BP1-BP4 for a network of len(weights) layers.

    weights: (out, in) arrays. biases: (out,) arrays, or Nielsen's (out, 1) columns, which
    are flattened. x: (batch, in), or one example (in,) treated as a batch of one; the
    returned arrays always keep the batch axis. y: for "mse" and "binary_cross_entropy", an
    array shaped like the output (batch, out), or (out,) for a single example; for
    "cross_entropy", integer labels (batch,) or one-hot / probability rows (batch, classes).

    activation (hidden layers): "sigmoid", "tanh" or "relu". Allowed (loss, output_activation):
    "mse" with "sigmoid", "tanh", "relu", "softmax" or None (linear);
    "binary_cross_entropy" with "sigmoid";
    "cross_entropy" with "softmax" (a_L is the softmax) or None (z_L are logits, softmaxed
    inside the loss). Both cross-entropy forms give the same cost and gradients. A softmax
    output mixes its units, so BP1 there multiplies grad_a C by the softmax Jacobian (a
    Jacobian-vector product) instead of the elementwise sigma'(z_L).

    shortcut=True uses delta_L = (a - y) / batch for binary cross-entropy on sigmoid and
    (softmax(z) - y) / batch for softmax cross-entropy; shortcut=False applies BP1 literally
    (grad_a C times sigma'), which tests compare against the shortcut. The literal form divides
    by a and 1 - a, so keep z_L moderate with it. For "cross_entropy" on logits (None) the
    two coincide: grad_a C is already softmax(z) - y over batch, and sigma' = 1.
    """
    if activation not in HIDDEN_ACTIVATIONS:
        raise ValueError(f"activation must be one of {HIDDEN_ACTIVATIONS}, got {activation!r}")
    if loss not in OUTPUTS_FOR_LOSS:
        raise ValueError(f"loss must be one of {tuple(OUTPUTS_FOR_LOSS)}, got {loss!r}")
    if output_activation not in OUTPUTS_FOR_LOSS[loss]:
        raise ValueError(
            f"loss {loss!r} allows output_activation in {OUTPUTS_FOR_LOSS[loss]}, "
            f"got {output_activation!r}"
        )
    weights, biases = check_layers(weights, biases)
    x, single = _check_input(x, weights[0].shape[1])
    y = _check_targets(y, loss, len(x), weights[-1].shape[0], single)

    # Forward pass, keeping every z and a for the backward pass.
    zs, activations = [], [x]
    for i, (w, b) in enumerate(zip(weights, biases)):
        z = activations[-1] @ w.T + b
        is_output = i == len(weights) - 1
        zs.append(z)
        activations.append(ACTIVATIONS[output_activation if is_output else activation](z))

    # Output error, then BP2 back through the hidden layers.
    deltas = [_output_error(zs[-1], activations[-1], y, output_activation, loss, shortcut)]
    for i in range(len(weights) - 2, -1, -1):
        deltas.insert(0, (deltas[0] @ weights[i + 1]) * DERIVATIVES[activation](zs[i]))  # BP2

    return Backprop(
        zs=zs,
        activations=activations,
        deltas=deltas,
        grad_weights=[d.T @ a for d, a in zip(deltas, activations[:-1])],  # BP4
        grad_biases=[d.sum(axis=0) for d in deltas],  # BP3
        cost=_cost(zs[-1], activations[-1], y, loss),
    )


def check_layers(weights, biases) -> tuple[list[np.ndarray], list[np.ndarray]]:
    if len(weights) == 0 or len(weights) != len(biases):
        raise ValueError(
            f"need one bias per weight and at least one layer, got {len(weights)} weights "
            f"and {len(biases)} biases"
        )
    checked_w, checked_b = [], []
    for i, (w, b) in enumerate(zip(weights, biases)):
        w, b = np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64)
        in_features = checked_w[-1].shape[0] if checked_w else None
        if w.ndim != 2 or (in_features is not None and w.shape[1] != in_features):
            expected = f"(out, {in_features})" if in_features is not None else "(out, in)"
            raise ValueError(f"weights[{i}] must have shape {expected}, got {w.shape}")
        out = w.shape[0]
        if b.shape not in ((out,), (out, 1)):
            raise ValueError(
                f"biases[{i}] must have shape ({out},) or Nielsen's column ({out}, 1), "
                f"got {b.shape}"
            )
        checked_w.append(w)
        checked_b.append(b.reshape(out))
    return checked_w, checked_b


def _check_input(x, in_features: int) -> tuple[np.ndarray, bool]:
    """x as (batch, in_features), and whether it was given as a single example."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1 and x.shape == (in_features,):
        return x.reshape(1, -1), True
    if x.ndim == 2 and x.shape[1] == in_features:
        return x, False
    hint = ""
    if x.ndim == 2 and x.shape[0] == in_features:
        hint = (
            " Rows are examples here, not Nielsen's column vectors: pass x.T for columns of "
            "examples, or x.reshape(1, -1) for one example."
        )
    raise ValueError(
        f"x must have shape (batch, {in_features}) or ({in_features},), got {x.shape}.{hint}"
    )


def _check_targets(y, loss: str, batch_size: int, out: int, single: bool) -> np.ndarray:
    """y as (batch, out) float64: labels become one-hot rows."""
    y = np.asarray(y)
    if loss == "cross_entropy" and np.issubdtype(y.dtype, np.integer) and y.ndim <= 1:
        labels = y.reshape(-1)
        if labels.shape != (batch_size,):
            raise ValueError(f"labels must have shape ({batch_size},), got {y.shape}")
        if labels.min() < 0 or labels.max() >= out:
            raise ValueError(f"labels must lie in 0..{out - 1} for {out} classes, got {labels}")
        return np.eye(out)[labels]
    y = y.astype(np.float64)
    if single and y.ndim == 1:
        y = y.reshape(1, -1)
    if y.shape != (batch_size, out):
        raise ValueError(
            f"{loss} targets must have the output's shape ({batch_size}, {out}), got {y.shape}"
        )
    if loss == "cross_entropy" and not np.allclose(y.sum(axis=1), 1.0):
        raise ValueError("cross_entropy target rows must be one-hot (each row sums to 1)")
    return y
