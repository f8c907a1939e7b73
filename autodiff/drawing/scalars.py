"""The scalar expansion behind `draw_graph(expand=True)`: one node per scalar, micrograd style.

Per-op rules turn each op into scalar operations on graph.py's picture; node text comes from
labels.py, colours and graphviz stay in graph.py. Ops defined outside autodiff bring their own
rule with `register_expansion`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..core.op import Op
from ..core.tensor import Tensor
from ..numpy_surface import ops
from .labels import edge_labels, escape, number, op_label

if TYPE_CHECKING:
    from .graph import _Context, _Picture

SYMBOLS = {"Add": "+", "Sub": "−", "Mul": "×", "Div": "÷", "Neg": "−", "Sigmoid": "σ", "Sum": "+"}


class ScalarGraph:
    """The builder behind expand=True: one node per scalar value and per scalar operation.

    An expansion rule gets this builder, the op, its inputs' scalars (object arrays of node
    ids shaped like the inputs) and the output tensor, and returns the output's scalars.
    Each node is owned by the tensor being drawn (`drawing`, its index in the order):
    owners maps node id -> (that index, the element's flat index for a tensor's scalar).
    """

    def __init__(self, picture: _Picture, context: _Context):
        self.picture, self.context = picture, context
        self.data: dict[str, float] = {}
        self.grad: dict[str, float | None] = {}
        self.group: dict[str, str | None] = {}
        self.drawing: int | None = None
        self.owners: dict[str, tuple[int | None, int | None]] = {}

    def values(self, tensor: Tensor) -> np.ndarray:
        """A node per element of tensor, labelled `name[i,j]`, its data and its grad."""
        ids = np.empty(tensor.shape, dtype=object)
        name, role = self.context.name(tensor), self.context.role(tensor)
        group, grads = self.context.groups.get(tensor), self.context.grad(tensor)
        for flat, index in enumerate(np.ndindex(tensor.shape)):
            grad = None if grads is None else grads[index]
            suffix = "[" + ",".join(map(str, index)) + "]" if index else ""
            label = name + suffix if name else None
            ids[index] = self.value(tensor.data[index], grad, label, role, group)
            self.owners[ids[index]] = (self.drawing, flat)
        return ids

    def value(self, data, grad, name: str | None, role: str, group: str | None) -> str:
        node_id = f"s{len(self.picture.nodes)}"
        lines = ([escape(name) + "\\n"] if name else []) + [f"data {number(data)}\\l"]
        lines += [] if grad is None else [f"grad {number(grad)}\\l"]
        problem = None
        if grad is not None and self.context.problems and not np.isfinite(grad):
            problem = "nonfinite"
        elif grad is not None and self.context.problems and grad == 0:
            problem = "zero"
        self.data[node_id], self.grad[node_id], self.group[node_id] = data, grad, group
        self.owners[node_id] = (self.drawing, None)
        return self.picture.node(node_id, "".join(lines), problem or role, group, name)

    def operation(self, label: str, inputs, outputs, input_names=None) -> None:
        """One operation node from the input scalars to the output scalar(s)."""
        outputs = [outputs] if isinstance(outputs, str) else list(outputs)
        node_id = self.picture.node(
            f"f{len(self.picture.nodes)}", label, "operation", self.group[outputs[0]]
        )
        self.owners[node_id] = (self.drawing, None)
        for source, name in zip(inputs, input_names or [None] * len(inputs)):
            self.picture.edge(source, node_id, name)
        for target in outputs:
            self.picture.edge(node_id, target)

    def dot(self, x: np.ndarray, weights: np.ndarray, bias, out: Tensor) -> np.ndarray:
        """out's scalars, made as out[i, j] = sum_k x[i, k] * weights[j, k] (+ bias[j]).

        One multiplication node per product, one addition per output. x's leading axes are
        flattened into rows i; weights is (out_features, in_features).
        """
        output = self.values(out)
        rows = x.reshape(-1, x.shape[-1])
        for (i, j), target in np.ndenumerate(output.reshape(rows.shape[0], weights.shape[0])):
            if rows.shape[1] == 1 and bias is None:
                self.operation("×", [rows[i, 0], weights[j, 0]], target)
                continue
            products = []
            for a, w in zip(rows[i], weights[j]):
                # d(sum)/d(product) = 1: each product carries the gradient of the sum.
                data, group = self.data[a] * self.data[w], self.group[target]
                products.append(self.value(data, self.grad[target], None, "intermediate", group))
                self.operation("×", [a, w], products[-1])
            self.operation("+", products + ([] if bias is None else [bias[j]]), target)
        return output


def _expand_elementwise(graph: ScalarGraph, op: Op, inputs, out: Tensor) -> np.ndarray:
    output = graph.values(out)
    spread = [np.broadcast_to(ids, out.shape) for ids in inputs]
    label = SYMBOLS.get(op.name) or op_label(op, graph.context.large).lower()
    for index in np.ndindex(out.shape):
        scalars = [ids[index] for ids in spread]
        graph.operation(label, scalars, output[index], edge_labels(op, scalars))
    return output


def _expand_reduction(graph: ScalarGraph, op: Op, inputs, out: Tensor) -> np.ndarray:
    (ids,) = inputs
    output = graph.values(out)
    axes = tuple(range(ids.ndim)) if op.axis is None else op.axis
    rows = np.moveaxis(ids, axes, tuple(range(-len(axes), 0))).reshape(output.size, -1)
    label = SYMBOLS.get(op.name) or op.name.lower()
    for row, target in zip(rows, output.flat):
        graph.operation(label, list(row), target)
    return output


def _expand_matmul(graph: ScalarGraph, op: Op, inputs, out: Tensor) -> np.ndarray:
    x, y = inputs
    if x.ndim > 2 or y.ndim > 2:
        return _expand_block(graph, op, inputs, out)
    return graph.dot(x, y.reshape(x.shape[-1], -1).T, None, out)


def _expand_alias(graph: ScalarGraph, op: Op, inputs, out: Tensor) -> np.ndarray:
    """Reshapes, transposes and indexing move scalars around: the output's are the input's."""
    return np.array(op.forward(*inputs), dtype=object)


def _expand_block(graph: ScalarGraph, op: Op, inputs, out: Tensor) -> np.ndarray:
    """Any other op: one node from all input scalars to all output scalars."""
    output = graph.values(out)
    sources = list(dict.fromkeys(s for ids in inputs for s in ids.flat))
    graph.operation(op_label(op, graph.context.large), sources, list(output.flat))
    return output


EXPANSIONS: dict[type, Callable] = {
    **dict.fromkeys(
        (ops.Add, ops.Sub, ops.Mul, ops.Div, ops.Pow, ops.Maximum, ops.Minimum, ops.Where)
        + (ops.Neg, ops.PowConst, ops.Exp, ops.Log, ops.Sqrt, ops.Abs, ops.Tanh, ops.Sigmoid)
        + (ops.Relu, ops.Clip),
        _expand_elementwise,
    ),
    **dict.fromkeys((ops.Sum, ops.Mean, ops.Max, ops.Min, ops.LogSumExp), _expand_reduction),
    **dict.fromkeys(
        (ops.Reshape, ops.Transpose, ops.BroadcastTo, ops.Index, ops.Concatenate, ops.Stack),
        _expand_alias,
    ),
    ops.MatMul: _expand_matmul,
}


def register_expansion(op_class: type, rule: Callable) -> None:
    """Draw op_class scalar by scalar with rule(graph, op, inputs, out) under expand=True."""
    EXPANSIONS[op_class] = rule


def add_scalars(picture: _Picture, order: list[Tensor], context: _Context) -> dict:
    """Draw order (a topological order) on picture: a node per scalar and scalar operation.
    Returns the owners of the nodes (see ScalarGraph)."""
    graph = ScalarGraph(picture, context)
    ids: dict[Tensor, np.ndarray] = {}
    for i, tensor in enumerate(order):
        graph.drawing = i
        if tensor.op is None:
            ids[tensor] = graph.values(tensor)
        else:
            rule = next((EXPANSIONS[c] for c in type(tensor.op).__mro__ if c in EXPANSIONS), None)
            inputs = [ids[t] for t in tensor.op.inputs]
            ids[tensor] = (rule or _expand_block)(graph, tensor.op, inputs, tensor)
    return graph.owners
