"""The explorer's numbers and words: the engine's backward walk, observed to keep what each
rule sent where, the order gradients appear in, and the side panel's lines for every step.

Every number is the engine's (forward's value, backward's gradient, summed to the input's
shape by sum_to_shape); formulas come from rules.py. No drawing, no page.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..core.engine import backpropagate, broadcast_axes, sum_to_shape
from ..core.tensor import Tensor
from .labels import number, shape_text
from .rules import grad_formula, input_name, rule_of, substitute

SMALL = 6  # arrays up to SMALL x SMALL are shown in full in the side panel


def walk(root: Tensor, order: list[Tensor], seed) -> tuple[dict, dict, dict]:
    """The engine's backward pass (core.backpropagate), keeping what each rule sent where.

    grads: tensor -> its gradient; received: tensor -> [(sender, input position, summed
    gradient)]; sent: tensor -> (grad_out, [(input position, rule's gradient, summed)]).
    Like autodiff.grad, it counts as a backward pass for the in-place protection.
    """
    received, sent = {}, {}
    position_of = {tensor: i for i, tensor in enumerate(order)}

    def observe(node: Tensor, grad_out, input_grads) -> None:
        parts = []
        op = node.op
        for position, (tensor, grad, value) in enumerate(zip(op.inputs, input_grads, op.saved)):
            if grad is None or not tensor.requires_grad:
                continue
            grad = np.asarray(grad)
            summed = sum_to_shape(grad, value.shape)  # as the engine sums it, just after
            parts.append((position, grad, summed))
            received.setdefault(tensor, []).append((position_of[node], position, summed))
        sent[node] = (grad_out, parts)

    grads = backpropagate([root], [seed], create_graph=False, observe=observe)
    return grads, received, sent


def backward_order(order: list[Tensor], grads: dict) -> list[int]:
    """The order gradients appear in: the walk's (reversed topological order), with each leaf
    right after the step that completes its gradient, so a layer's weights follow its z."""
    index = {tensor: i for i, tensor in enumerate(order)}
    last_user: dict[int, int] = {}  # leaf -> the consumer the walk reaches last: the first made
    for i, node in enumerate(order):
        for tensor in node.inputs:
            if tensor.op is None:
                last_user.setdefault(index[tensor], i)
    completes: dict[int, list[int]] = {}
    for leaf, user in last_user.items():
        completes.setdefault(user, []).append(leaf)
    steps = []
    for i in reversed(range(len(order))):
        if order[i].op is not None or i not in last_user:  # the latter: a leaf as the output
            steps += [i] + completes.get(i, [])
    return [i for i in steps if order[i] in grads]


def _array(what: str, array) -> list[str]:
    """`what = value` for a scalar; the array with its shape when at most 6 x 6, else its
    shape and summary statistics."""
    array = np.asarray(array)
    if array.ndim == 0 or array.size == 1 and array.ndim <= 2:
        value = number(float(array.reshape(())))
        return [f"{what} = {value}" + ("" if array.ndim == 0 else f"   {shape_text(array.shape)}")]
    if array.ndim <= 2 and max(array.shape) <= SMALL:
        text = np.array2string(array, separator=", ", formatter={"all": number})
        lines = text.split("\n")
        head = f"{what} {shape_text(array.shape)} = "
        return [head + lines[0]] + [" " * len(head) + line.strip() for line in lines[1:]]
    finite = array[np.isfinite(array)]
    if not finite.size:
        return [f"{what} {shape_text(array.shape)}: no finite entries"]
    return [
        f"{what} {shape_text(array.shape)}: mean {number(finite.mean())}, min "
        f"{number(finite.min())}, max {number(finite.max())}"
    ]


def _json(array) -> Any:
    """Nested lists of floats; NaN and infinities as the strings JSON has no numbers for."""
    array = np.asarray(array, dtype=np.float64)
    if np.all(np.isfinite(array)):
        return array.tolist()
    return np.vectorize(lambda v: v if np.isfinite(v) else str(v), otypes=[object])(array).tolist()


class Steps:
    """The panel's text and the page's numbers for each tensor of order."""

    def __init__(self, order, context, grads, received, sent, notes):
        self.order, self.grads, self.received, self.sent = order, grads, received, sent
        self.context, self.notes = context, notes
        self.names = [context.name(t) or f"t{i}" for i, t in enumerate(order)]
        self.index = {tensor: i for i, tensor in enumerate(order)}

    def tensor(self, i: int) -> dict:
        tensor = self.order[i]
        grad = self.grads.get(tensor)
        return {
            "name": self.names[i],
            "value": _json(tensor.data),
            "grad": None if grad is None else _json(grad),
            "forward": self.forward(i),
            "backward": None if grad is None else self.backward(i),
        }

    def call(self, i: int) -> str:
        """`t4 = Mul(x = x1, y = w1)`."""
        op = self.order[i].op
        arguments = ", ".join(
            f"{input_name(type(op), p)} = {self.names[self.index[t]]}"
            for p, t in enumerate(op.inputs)
        )
        return f"{self.names[i]} = {op.name}({arguments})"

    def values(self, i: int, grad_out=None) -> dict:
        """The names a rule of order[i]'s op uses, bound to its arrays and settings."""
        op = self.order[i].op
        *inputs, z = op.saved
        values = {
            k: v for k, v in op.attributes().items() if isinstance(v, (int, float, np.ndarray))
        }
        values["z"] = z  # before the inputs: a loss's input may be called z (logits)
        values |= {input_name(type(op), p): array for p, array in enumerate(inputs)}
        if grad_out is not None:
            values["grad_out"] = grad_out
        return values

    def forward(self, i: int) -> list[list[str]]:
        tensor, name = self.order[i], self.names[i]
        if tensor.op is None:
            role = self.context.role(tensor)
            kind = {"parameter": "a parameter", "output": "the output"}.get(role, "an input")
            return [["head", f"{name}: {kind} (a leaf)"]] + _lines(
                "array", _array(name, tensor.data)
            )
        rule = rule_of(type(tensor.op))
        lines = [["head", self.call(i)]]
        if rule is not None:
            formula = f"z = {rule.forward}"
            numbers = substitute(rule.forward, self.values(i))
            if numbers is not None:
                formula += f" = {numbers} = {number(float(tensor.data.reshape(())))}"
                return lines + [["rule", formula]]
            lines.append(["rule", formula])
        return lines + _lines("array", _array(name, tensor.data))

    def backward(self, i: int) -> list[list[str]]:
        tensor, name = self.order[i], self.names[i]
        lines = [["head", f"grad_{name}: d{self.names[-1]}/d{name}"]]
        if tensor in self.notes:
            lines.append(["note", self.notes[tensor]])
        parts = self.received.get(tensor, [])
        if i == len(self.order) - 1:
            lines.append(
                ["text", f"grad_{name} = 1: the output's own gradient, where backward starts"]
            )
        for sender, position, grad in parts:
            op = self.order[sender].op
            lines.append(
                ["text", f"from {self.names[sender]} = {op.name}(...) as its "
                 f"{input_name(type(op), position)}:"]
            )  # fmt: skip
            lines += _lines("array", _array(f"  grad_{name}", grad))
        if len(parts) > 1:
            lines.append(["head", f"{len(parts)} contributions add up:"])
            if tensor.size == 1:
                terms = " + ".join(number(float(np.reshape(g, ()))) for *_, g in parts)
                total = number(float(np.reshape(self.grads[tensor], ())))
                lines.append(["rule", f"grad_{name} = {terms} = {total}"])
            else:
                lines += _lines("array", _array(f"grad_{name} = sum", self.grads[tensor]))
        if tensor in self.sent:
            lines += self.rules(i)
        return lines

    def rules(self, i: int) -> list[list[str]]:
        """What order[i]'s op sends each input: the rule, its numbers, any broadcast sum."""
        op = self.order[i].op
        grad_out, parts = self.sent[self.order[i]]
        rule = rule_of(type(op))
        values = self.values(i, grad_out)
        lines = [["head", f"{op.name} sends the gradient on: {self.call(i)}"]]
        for position, grad, summed in parts:
            x = input_name(type(op), position)
            target = self.names[self.index[op.inputs[position]]]
            formula = grad_formula(rule, position) if rule else f"{op.name}.backward(grad_out)"
            text = f"grad_{x} = {formula}"
            numbers = substitute(formula, values) if grad.size == 1 else None
            if numbers is not None:
                result = number(float(grad.reshape(())))
                shown = f"{text} = {numbers}" + (f" = {result}" if numbers != result else "")
                lines.append(["rule", shown])
            else:
                lines.append(["rule", text])
                used = dict.fromkeys(re.findall(r"[A-Za-z_]\w*", formula))
                if formula not in values:  # grad_x = grad_out: the result says it all
                    for used_name in [n for n in used if n in values] or ["grad_out"]:
                        lines += _lines("array", _array(f"  {used_name}", values[used_name]))
                lines += _lines("array", _array(f"  grad_{x}", grad))
            if summed.shape != grad.shape:
                axes = broadcast_axes(grad.shape, summed.shape)
                lines.append(
                    ["text", f"  broadcast: summed over axes {axes}, {shape_text(grad.shape)} -> "
                     f"{shape_text(summed.shape)}"]
                )  # fmt: skip
                lines += _lines("array", _array(f"  grad_{x}", summed))
            lines.append(["text", f"  -> to {target}"])
        return lines


def _lines(kind: str, texts: list[str]) -> list[list[str]]:
    return [[kind, text] for text in texts]
