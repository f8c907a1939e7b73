"""Costs, each one recorded op averaging over the batch, with the formula in its docstring.

The output a (or logits z) is (batch, classes) or one example (classes,); n is the batch size.
Targets are constants: they receive no gradient.
"""

from __future__ import annotations

import warnings

import numpy as np

from autodiff import Op, Tensor, apply
from autodiff.core import Code, data_of
from autodiff.ops import Sigmoid, Softmax


def _batch_size(a) -> int:
    return a.shape[0] if a.ndim >= 2 else 1


def _batch_source(array, name: str) -> str:
    """_batch_size as a code form writes it: len({name}) for a batch, 1 for one example."""
    return f"len({{{name}}})" if array.ndim >= 2 else "1"


class QuadraticCost(Op):
    """C = (1/n) sum_x 1/2 ||a - y||^2;  da = g (a - y) / n"""

    def __init__(self, target: np.ndarray):
        self.target = target

    def forward(self, a):
        diff = (a - self.target).ravel()
        return np.asarray(0.5 * (diff @ diff) / _batch_size(a), dtype=a.dtype)

    def backward(self, grad_out, a, cost):
        da = a - self.target
        da *= grad_out / _batch_size(a)  # a scalar: one pass over the batch instead of two
        return (da,)

    def code(self, a, cost) -> Code:
        n = _batch_source(a, "a")
        return Code(
            f"{{out}}_diff = ({{a}} - {{target}}).ravel()\n"
            f"{{out}} = 0.5 * ({{out}}_diff @ {{out}}_diff) / {n}",
            (f"({{a}} - {{target}}) * ({{g}} / {n})", "quadratic cost: (a - y) / n"),
        )


class BinaryCrossEntropy(Op):
    """C = -(1/n) sum_x sum_j [y ln a + (1 - y) ln(1 - a)];  da = g (a - y) / (a (1 - a) n)"""

    def __init__(self, target: np.ndarray):
        self.target = target

    def forward(self, a):
        y = self.target
        # 0 ln 0 = 0 exactly (the limit), where Nielsen's code needs np.nan_to_num.
        terms = _x_log_y(y, a) + _x_log_y(1 - y, 1 - a)
        return np.asarray(-terms.sum() / _batch_size(a), dtype=a.dtype)

    def backward(self, grad_out, a, cost):
        return (grad_out * (a - self.target) / (a * (1 - a) * _batch_size(a)),)

    def code(self, a, cost) -> Code:
        n = _batch_source(a, "a")
        return Code(
            f"-np.sum({{target}} * np.log({{a}}) + (1 - {{target}}) * np.log(1 - {{a}})) / {n}",
            (
                f"{{g}} * ({{a}} - {{target}}) / ({{a}} * (1 - {{a}}) * {n})",
                "cross-entropy: (a - y) / (a (1 - a) n)",
            ),
        )


def _x_log_y(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x * ln(y), taken as 0 where x == 0 (even where y == 0)."""
    x, y = np.broadcast_arrays(x, y)
    return np.multiply(
        x, np.log(y, out=np.zeros_like(y), where=x != 0), where=x != 0, out=np.zeros_like(y)
    )


class BinaryCrossEntropyWithLogits(Op):
    """C = (1/n) sum_x sum_j [softplus(z) - y z], a = sigmoid(z);  dz = g (sigmoid(z) - y) / n"""

    def __init__(self, target: np.ndarray):
        self.target = target

    def forward(self, z):
        # softplus(z) = max(z, 0) + ln(1 + e^-|z|): never overflows.
        softplus = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))
        return np.asarray((softplus - self.target * z).sum() / _batch_size(z), dtype=z.dtype)

    def backward(self, grad_out, z, cost):
        # sigmoid(z) - y = (tanh(z / 2) + 1) / 2 - y, built in place in one fresh array.
        dz = np.tanh(z * 0.5)
        dz *= 0.5
        dz += 0.5
        dz -= self.target
        dz *= grad_out / _batch_size(z)
        return (dz,)

    def code(self, z, cost) -> Code:
        n = _batch_source(z, "z")
        return Code(
            "np.sum(np.maximum({z}, 0) + np.log1p(np.exp(-np.abs({z}))) - {target} * {z}) "
            f"/ {n}",
            (
                f"(np.tanh({{z}} * 0.5) * 0.5 + 0.5 - {{target}}) * ({{g}} / {n})",
                "cross-entropy from logits: (sigmoid(z) - y) / n",
            ),
        )


class SoftmaxCrossEntropy(Op):
    """C = -(1/n) sum_x sum_j y_j ln softmax(z)_j;  dz = g (softmax(z) - y) / n

    The target is rows shaped like z (one-hot or probabilities), or integer labels (batch,)
    for z (batch, classes): then y is the one-hot row of each label, never built.
    """

    def __init__(self, target: np.ndarray):
        self.target = target
        self.labels = target.dtype.kind in "iu"

    def forward(self, z):
        shifted = z - z.max(axis=-1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        if self.labels:
            picked = log_p[np.arange(len(z)), self.target]
            return np.asarray(-picked.sum() / _batch_size(z), dtype=z.dtype)
        return np.asarray(-(self.target * log_p).sum() / _batch_size(z), dtype=z.dtype)

    def backward(self, grad_out, z, cost):
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        p = e / e.sum(axis=-1, keepdims=True)
        target = self.target
        if self.labels and isinstance(p, np.ndarray):
            p[np.arange(len(z)), target] -= 1
            return (grad_out * p / _batch_size(z),)
        if self.labels:  # second order, on Tensors: no item assignment, so the one-hot rows
            target = np.eye(z.shape[-1], dtype=z.dtype)[target]
        return (grad_out * (p - target) / _batch_size(z),)

    def code(self, z, cost) -> Code:
        n = _batch_source(z, "z")
        log_p = (
            "{out}_shifted = {z} - {z}.max(axis=-1, keepdims=True)\n"
            "{out}_log_p = {out}_shifted"
            " - np.log(np.exp({out}_shifted).sum(axis=-1, keepdims=True))\n"
        )
        softmax = (
            "{d}_e = np.exp({z} - {z}.max(axis=-1, keepdims=True))\n"
            "{d} = {d}_e / {d}_e.sum(axis=-1, keepdims=True)\n"
        )
        if self.labels:
            forward = log_p + f"{{out}} = -{{out}}_log_p[np.arange({n}), {{target}}].sum() / {n}"
            grad = softmax + f"{{d}}[np.arange({n}), {{target}}] -= 1\n{{d}} = {{g}} * {{d}} / {n}"
        else:
            forward = log_p + f"{{out}} = -np.sum({{target}} * {{out}}_log_p) / {n}"
            grad = softmax + f"{{d}} = {{g}} * ({{d}} - {{target}}) / {n}"
        return Code(forward, (grad, "softmax cross-entropy: (softmax(z) - y) / n"))


# ---------------------------------------------------------------- the public functions


def mse_loss(output: Tensor, target) -> Tensor:
    """Nielsen's quadratic cost C = (1/n) sum_x 1/2 ||a(x) - y(x)||^2.

    With SGD at lr = eta this reproduces network.py's update exactly. PyTorch's MSELoss
    instead averages (a - y)^2 over every element without the 1/2: ours equals it times
    classes / 2.
    """
    return apply(QuadraticCost(_target_like(output, target, "mse_loss")), output)


def binary_cross_entropy(output: Tensor, target) -> Tensor:
    """Nielsen's cross-entropy C = -(1/n) sum_x sum_j [y ln a + (1 - y) ln(1 - a)].

    For outputs in (0, 1). When output was made by sigmoid(z) in the recorded graph, the
    cost is computed from z (as binary_cross_entropy_with_logits), which stays finite and
    exact even where a rounds to 0 or 1; the gradient then goes to z directly. Outputs
    outside [0, 1] are refused: they are logits (binary_cross_entropy_with_logits).
    """
    target = _target_like(output, target, "binary_cross_entropy")
    if isinstance(output.op, Sigmoid):
        return apply(BinaryCrossEntropyWithLogits(target), output.op.inputs[0])
    low, high = (float(f(output.data)) for f in (np.min, np.max)) if output.size else (0, 0)
    if low < 0 or high > 1:
        raise ValueError(
            f"binary_cross_entropy takes outputs in (0, 1), like a sigmoid's; got values from "
            f"{low:.3g} to {high:.3g}, which look like logits: use "
            "nn.binary_cross_entropy_with_logits(logits, target), or give the model a sigmoid "
            "output (nn.MLP(..., output_activation='sigmoid'))"
        )
    return apply(BinaryCrossEntropy(target), output)


def binary_cross_entropy_with_logits(logits: Tensor, target) -> Tensor:
    """binary_cross_entropy(sigmoid(logits), target), computed stably from the logits."""
    target = _target_like(logits, target, "binary_cross_entropy_with_logits")
    return apply(BinaryCrossEntropyWithLogits(target), logits)


def cross_entropy(logits: Tensor, target) -> Tensor:
    """Softmax cross-entropy C = -(1/n) sum_x ln softmax(z(x))[label(x)], from logits.

    target is integer labels (batch,) or one-hot / probability rows shaped like logits.
    On a softmax output (MLP(..., output_activation="softmax")) it is Nielsen's
    log-likelihood cost -ln a_y of chapter 3, computed from the softmax's input z (the
    gradient goes to z directly), not a second softmax. On a sigmoid output it warns: that is
    binary_cross_entropy's case.
    """
    if isinstance(logits.op, Softmax) and logits.op.axis in (-1, logits.ndim - 1):
        logits = logits.op.inputs[0]
    elif isinstance(logits.op, Sigmoid):
        warnings.warn(
            "cross_entropy applies a softmax to logits, but its input came from sigmoid: for "
            "sigmoid outputs use nn.binary_cross_entropy (Nielsen's cross-entropy), or build "
            "the model with output_activation=None to give cross_entropy the logits",
            stacklevel=2,
        )
    target = _real_array(target, logits, "cross_entropy")
    if target.dtype.kind == "f" and target.shape == logits.shape[:-1] and logits.ndim:
        expected, hint = _labels_expected(logits), _float_labels_hint(target)
        raise TypeError(f"cross_entropy: labels of dtype {target.dtype}: {expected}{hint}")
    if np.issubdtype(target.dtype, np.integer) and target.shape == logits.shape[:-1]:
        classes = logits.shape[-1]
        if target.size and (target.min() < 0 or target.max() >= classes):
            raise ValueError(
                f"cross_entropy: labels must lie in 0..{classes - 1} for {classes} logits, "
                f"got values from {target.min()} to {target.max()}"
            )
        if logits.ndim == 2:  # labels as they are: the op picks each row's entry
            return apply(SoftmaxCrossEntropy(target), logits)
        target = np.eye(classes, dtype=logits.dtype)[target]
    return apply(SoftmaxCrossEntropy(_target_like(logits, target, "cross_entropy")), logits)


def _target_like(output: Tensor, target, loss: str) -> np.ndarray:
    """The target as an array of the output's shape and dtype, or an error that says why not."""
    target = _real_array(target, output, loss)
    if target.shape == output.shape:
        return target.astype(output.dtype, copy=False)
    hint = ""
    if np.issubdtype(target.dtype, np.integer) and target.shape == output.shape[:-1]:
        hint = " These look like integer labels: convert them with nn.data.one_hot(labels)"
        if loss == "mse_loss" or loss.startswith("binary"):
            hint += ", or use cross_entropy on logits."
    elif target.shape[::-1] == output.shape or target.shape == output.shape + (1,):
        hint = (
            " Here rows are examples, not Nielsen's column vectors: transpose the target "
            "(target.T) or flatten a single column (target.ravel())."
        )
    raise ValueError(
        f"{loss}: target of shape {target.shape} does not match output of shape "
        f"{output.shape}.{hint}"
    )


# What a dtype that is not real numbers holds, and what to do about it.
_KINDS = {
    "c": ("complex numbers", "; pass target.real or abs(target)"),
    "U": ("strings", "; convert them to numbers first"),
    "S": ("strings", "; convert them to numbers first"),
    "O": ("Python objects (None, strings or rows of different lengths?)", ""),
    "M": ("dates", ""),
    "m": ("time spans", ""),
}


def _real_array(target, output: Tensor, loss: str) -> np.ndarray:
    """target as an array of real numbers (bool, integer or float), or a TypeError naming its
    dtype and what was expected, rather than numpy's silent cast (complex loses its imaginary
    part with only a ComplexWarning)."""
    target = np.asarray(data_of(target))
    if target.dtype.kind in "biuf":
        return target
    what, hint = _KINDS.get(target.dtype.kind, ("no real numbers", ""))
    expected = (
        _labels_expected(output)
        if loss == "cross_entropy"
        else f"expected real numbers shaped like the output {output.shape}"
    )
    raise TypeError(f"{loss}: target of dtype {target.dtype} ({what}): {expected}{hint}")


def _labels_expected(logits: Tensor) -> str:
    classes = logits.shape[-1] if logits.ndim else 1
    return (
        f"labels must be integers 0..{classes - 1} of shape {logits.shape[:-1]} or rows shaped "
        f"like the output {logits.shape}"
    )


def _float_labels_hint(labels: np.ndarray) -> str:
    if labels.size and np.all(np.isfinite(labels)) and np.all(labels == np.round(labels)):
        return "; these floats are whole numbers: pass labels.astype(int)"
    odd = labels[labels != np.round(labels)] if labels.size else labels
    return f"; got {float(odd.flat[0])!r}, which is no class" if odd.size else ""
