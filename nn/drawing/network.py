"""Pictures of networks: neurons and weights in Nielsen's notation, and a model's loss graph.

`draw_network` draws an MLP as neurons (circles) and weights (edges); `draw_model_graph`
calls autodiff's `draw_graph` with the model's names and one box per layer. Importing this
module teaches expand=True to draw the fused Affine op as multiply-and-add per scalar.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from autodiff import Tensor, topological_order
from autodiff.core import data_of
from autodiff.drawing import COLOURS, digraph, draw_graph
from autodiff.drawing.scalars import ScalarGraph, register_expansion

from ..layers import MLP, Affine, Module

if TYPE_CHECKING:
    import graphviz

POSITIVE, NEGATIVE, ZERO = "#1f5fae", "#d1402a", "#999999"


def _expand_affine(graph: ScalarGraph, op: Affine, inputs, out: Tensor) -> np.ndarray:
    """z_j = sum_k w_jk x_k + b_j, one multiplication per weight and one addition per z_j."""
    x, weight, bias = inputs
    return graph.dot(x, weight, bias, out)


register_expansion(Affine, _expand_affine)


# ---------------------------------------------------------------- the computation graph


def draw_model_graph(
    model: Module, root: Tensor, group: bool | type | tuple[type, ...] = True, **options
) -> graphviz.Digraph:
    """draw_graph(root) with the model's parameter names and, with group, a box per layer.

    For an MLP after its forward pass, the layers' tensors are named as in the code (x,
    zs[l], activations[l]) and each box holds a layer's weight, bias, z and activation; for
    other modules a box holds the parameters sharing a name prefix and what they compute.
    group may also be a Module class (or a tuple of them): each instance of it inside model
    is one box, holding its parameters and every tensor its last call computed from them, such
    as group=Head for a GPT Block (with collapse=True, one node per attention head).
    Options go to draw_graph (expand=True, collapse=True, max_nodes, ...); the layout runs
    top to bottom (rankdir="TB"), so that each layer's box stays narrow.
    """
    params = list(model.named_parameters())
    in_graph = set(topological_order([root]))
    if not any(p in in_graph for _, p in params):
        raise ValueError(
            "none of the model's parameters is in the graph of root: was it computed by "
            "another model, or under no_grad()?"
        )
    names, groups = _layer_tensors(model, in_graph)
    if root.name is None:
        names.append(("loss", root))  # the first name given to a tensor wins
    options.setdefault("rankdir", "TB")
    if isinstance(group, (type, tuple)):
        groups = _module_boxes(model, root, group, params, in_graph)
    else:
        # Without an MLP's layers, group=True groups the parameters by name prefix.
        groups = (groups or True) if group else None
    return draw_graph(root, params=params, names=names, group=groups, **options)


def _module_boxes(model: Module, root: Tensor, kinds, params, in_graph: set) -> dict:
    """A box for each submodule of the kinds (its parameters and what its last call computed
    from them, with constants only it uses), then boxes by name prefix for the rest."""
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    if not all(isinstance(k, type) and issubclass(k, Module) for k in kinds):
        raise TypeError(f"group must be True, False or Module classes, got {kinds!r}")
    boxes, boxed = {}, set()
    for name, module in model.named_modules():
        out = module.last_output() if isinstance(module, kinds) else None
        if out is None or out not in in_graph:
            continue
        own = set(module.parameters())
        members = set()
        order = topological_order([out])
        for tensor in order:  # inputs before the ops that use them
            computed = tensor.op is not None and any(t in members for t in tensor.inputs)
            if tensor in own or computed:
                members.add(tensor)
        users = {}
        for tensor in order:
            for parent in tensor.inputs:
                users.setdefault(parent, []).append(tensor)
        for tensor in order:  # constants that only this module uses, such as a mask's fill
            constant = tensor.op is None and not tensor.requires_grad and tensor in users
            if constant and all(user in members for user in users[tensor]):
                members.add(tensor)
        members -= boxed
        boxed |= members
        boxes[f"{name} {type(module).__name__}"] = [t for t in order if t in members]
    if not boxes:
        raise ValueError(
            f"no {', '.join(k.__name__ for k in kinds)} in the model took part in root's graph"
        )
    owner = {}
    for name, tensor in params:  # the rest: a box per name prefix, with what each computes
        if tensor not in boxed and "." in name:
            owner[tensor] = name.rsplit(".", 1)[0]
            boxes.setdefault(owner[tensor], []).append(tensor)
    for tensor in topological_order([root]):
        used = [owner[t] for t in tensor.inputs if t in owner and t.op is None]
        if used and tensor not in owner and tensor not in boxed:
            owner[tensor] = used[0]
            boxes[used[0]].append(tensor)
    return boxes


def _layer_tensors(model: Module, in_graph: set) -> tuple[list, dict]:
    """Names and per-layer groups for an MLP's tensors, when root came from its last pass."""
    if not isinstance(model, MLP) or not model.zs or model.zs[0] not in in_graph:
        return [], {}
    names, groups = [("x", model.zs[0].inputs[0])], {}
    for l, (layer, z, a) in enumerate(zip(model.layers, model.zs, model.activations[1:])):
        names += [(f"zs[{l}]", z), (f"activations[{l + 1}]", a)]
        # The module path, and the layer's number in the book (the input is layer 1).
        groups[f"layers.{l}: layer {l + 2}"] = [layer.weight, layer.bias, z, a]
    return names, groups


# ---------------------------------------------------------------- neurons and weights

# Unicode digits, not Graphviz's <SUP>/<SUB>: browsers and librsvg shift those onto the
# neighbouring lines of a label.
SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def draw_network(
    model: MLP, show: str = "weights", max_neurons_per_layer: int = 10
) -> graphviz.Digraph:
    """An MLP as neurons and weights, labelled in Nielsen's notation (chapter 2).

    Layer l = 1 is the input; neuron j of layer l has bias bˡⱼ, weighted input zˡⱼ and
    activation aˡⱼ, and wˡⱼₖ joins neuron k of layer l - 1 to it (j, k counted from 1, so
    w³₁₂ is model.layers[1].weight[0, 1]). Edges are coloured by sign (blue positive, red
    negative) and as thick as their magnitude: the weights, or with show="grads" their
    gradients ∂C/∂w after loss.backward(). z and a are the first example of the last
    forward pass. Layers wider than max_neurons_per_layer keep their first and last
    neurons around a "..." node.
    """
    if not isinstance(model, MLP):
        raise TypeError(
            f"draw_network draws an nn.MLP, got {type(model).__name__}: draw any model's "
            "computation graph with nn.draw_model_graph(model, loss)"
        )
    if show not in ("weights", "grads"):
        raise ValueError(f"show must be 'weights' or 'grads', got {show!r}")
    if max_neurons_per_layer < 3:
        raise ValueError(f"max_neurons_per_layer must be at least 3, got {max_neurons_per_layer}")
    if show == "grads" and any(p.grad is None for p in model.parameters()):
        raise ValueError("show='grads' draws gradients: run loss.backward() first")
    shown = [_shown(n, max_neurons_per_layer) for n in model.sizes]
    graph = digraph(
        graph_attr={
            "rankdir": "LR",
            "ranksep": "1.6",
            "nodesep": "0.1",
            "splines": "line",
            "fontname": "Helvetica",
        },
        node_attr={"fontname": "Helvetica", "fontsize": "10"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9", "arrowsize": "0.5"},
    )
    for l, neurons in enumerate(shown, start=1):
        # A column per layer: its title on top, then its neurons in order, held in place by
        # invisible edges within the rank (clusters would not keep the order).
        with graph.subgraph(name=f"layer_{l}") as column:
            column.attr(rank="same")
            column.node(
                f"title{l}",
                _layer_title(l, len(shown), model.sizes[l - 1]),
                shape="plaintext",
                fontsize="11",
            )
            labels = {j: _neuron_label(model, show, l, j) for j in neurons if j is not None}
            style = _neuron_style(l, shown, labels.values())
            for j in neurons:
                if j is None:
                    more = model.sizes[l - 1] - len(neurons) + 1
                    column.node(_node_id(l, j), f"...\\n{more} more", shape="plaintext")
                else:
                    column.node(_node_id(l, j), labels[j], **style)
            ids = [f"title{l}"] + [_node_id(l, j) for j in neurons]
            for above, below in zip(ids, ids[1:]):
                column.edge(above, below, style="invis")
    _connect(graph, model, show, shown)
    graph.attr(label=_caption(model, show), labelloc="b", fontsize="11")
    return graph


def _node_id(l: int, j: int | None) -> str:
    return f"n{l}_more" if j is None else f"n{l}_{j}"


def _connect(graph, model: MLP, show: str, shown: list) -> None:
    """One edge per drawn weight, coloured by sign, as wide as its share of the largest."""
    weights = [
        layer.weight.grad if show == "grads" else layer.weight.data for layer in model.layers
    ]
    scale = max(float(np.max(np.abs(w))) for w in weights) or 1.0
    drawn = sum((len(a) - (None in a)) * (len(b) - (None in b)) for a, b in zip(shown, shown[1:]))
    for l in range(2, len(shown) + 1):
        for j in filter(lambda j: j is not None, shown[l - 1]):
            for k in filter(lambda k: k is not None, shown[l - 2]):
                value = float(weights[l - 2][j, k])
                name = ("∂C/∂" if show == "grads" else "") + _symbol("w", l, j, k)
                colour = POSITIVE if value > 0 else NEGATIVE if value < 0 else ZERO
                style = {"color": colour, "penwidth": f"{0.4 + 3.6 * abs(value) / scale:.2f}"}
                if drawn <= 24:
                    style.update(label=f"{name} = {value:.3g}", fontcolor=colour)
                graph.edge(
                    _node_id(l - 1, k), _node_id(l, j), tooltip=f"{name} = {value:.4g}", **style
                )


def _neuron_label(model: MLP, show: str, l: int, j: int) -> str:
    """aˡⱼ and, past the input layer, zˡⱼ and bˡⱼ (or ∂C/∂bˡⱼ), with values where known."""
    lines = [(_symbol("a", l, j), model.activations[l - 1] if model.zs else None)]
    if l > 1:
        bias = model.layers[l - 2].bias
        lines.append((_symbol("z", l, j), model.zs[l - 2] if model.zs else None))
        if show == "grads":
            lines.append(("∂C/∂" + _symbol("b", l, j), bias.grad))
        else:
            lines.append((_symbol("b", l, j), bias.data))
    return "\\n".join(
        name if values is None else f"{name} = {_first_example(values)[j]:.3g}"
        for name, values in lines
    )


def _neuron_style(l: int, shown: list, labels) -> dict:
    kind = "input" if l == 1 else "output" if l == len(shown) else "intermediate"
    return {
        "shape": "circle",
        "style": "filled",
        "fillcolor": COLOURS[kind],
        # One size per layer so columns line up: a diameter estimated from the widest label
        # at fontsize 9. It is a minimum (fixedsize false), so a label that is wider than
        # estimated grows its circle instead of overflowing it.
        "width": f"{max(_diameter(label) for label in labels):.2f}",
        "fontsize": "9",
    }


def _diameter(label: str) -> float:
    """Inches of circle that hold label at fontsize 9 (about what Graphviz computes)."""
    lines = label.split("\\n")
    # Fitted to the diameters dot gives labels of 3 to 20 characters on 1 and 3 lines.
    chars = max(map(len, lines))
    return max(0.5, 0.093 * chars + 0.35 if len(lines) > 1 else 0.085 * chars + 0.1)


def _layer_title(l: int, layers: int, size: int) -> str:
    role = "input" if l == 1 else "output" if l == layers else "hidden"
    return f"layer {l}: {role}, {size} neuron{'s' if size > 1 else ''}"


def _first_example(values) -> np.ndarray:
    array = np.asarray(data_of(values))
    return array[0] if array.ndim == 2 else array


def _shown(n: int, limit: int) -> list[int | None]:
    """The neurons to draw: all, or the first and last ones around None (the "...")."""
    if n <= limit:
        return list(range(n))
    head = limit // 2
    return list(range(head)) + [None] + list(range(n - (limit - 1 - head), n))


def _symbol(letter: str, l: int, *indices: int) -> str:
    """Nielsen's notation with indices counted from 1: _symbol("w", 3, 0, 1) is w³₁₂."""
    numbers = [str(i + 1) for i in indices]
    subscript = ("," if any(i >= 9 for i in indices) else "").join(numbers)
    return letter + str(l).translate(SUPERSCRIPT) + subscript.translate(SUBSCRIPT)


def _caption(model: MLP, show: str) -> str:
    hidden, output = model.activation, model.output_activation or "identity"
    layers = f"aˡⱼ = {hidden}(zˡⱼ)" + (
        f", {output} in the output layer" if output != hidden else ""
    )
    edges = "gradients ∂C/∂w" if show == "grads" else "weights"
    return (
        f"MLP {model.sizes}: zˡⱼ = Σₖ wˡⱼₖ aˡ⁻¹ₖ + bˡⱼ, {layers}\\n"
        f"edges: {edges} ({_symbol('w', 3, 0, 1)} joins neuron 2 of layer 2 to neuron 1 of "
        "layer 3), blue > 0, red < 0, width ∝ size"
    )
