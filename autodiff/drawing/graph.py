"""Pictures of the computation graph: `draw_graph` turns a tensor's history into Graphviz DOT.

One node per tensor and per op (expand=True hands the picture to scalars.py: one node per
scalar), coloured by role and by gradient health; the nodes' text comes from labels.py. The
graph is read through `topological_order` only. Knows nothing of nn: callers pass parameter
names, tensor names and groups in. graphviz is imported on first use.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.engine import topological_order
from ..core.tensor import Tensor
from .labels import edge_labels, escape, op_label, shape_text, tensor_label
from .scalars import add_scalars

if TYPE_CHECKING:
    import graphviz

INSTALL_DOT = (
    "rendering needs Graphviz's `dot` program, which is not on PATH. Install it with "
    "`sudo apt-get install graphviz` (Debian/Ubuntu) or `brew install graphviz` (macOS), see "
    "https://graphviz.org/download/ for others. Without it the DOT text is in graph.source"
)

# Fill colours by kind of node; a gradient problem overrides the role colour.
COLOURS = {
    "parameter": "#a9cdf5",
    "input": "#bfe5b4",
    "output": "#ffe066",
    "intermediate": "#ffffff",
    "operation": "#eeeeee",
    "group": "#e3d9f2",
    "nonfinite": "#ff5c5c",
    "zero": "#a6a6a6",
    "dead": "#ff9933",
}
LEGEND = {
    "parameter": "parameter",
    "input": "input (leaf, not a parameter)",
    "output": "output (root)",
    "intermediate": "intermediate",
    "operation": "operation",
    "group": "group, drawn as one box",
    "nonfinite": "grad has NaN or Inf",
    "zero": "grad is zero everywhere",
    "dead": "dead units: some get zero grad",
}
PROBLEMS = ("nonfinite", "zero", "dead")  # worst first
# Op classes that expand=True refuses, with the reason (see refuse_expansion).
UNEXPANDABLE: dict[type, str] = {}


def draw_graph(
    root: Tensor,
    params: Mapping[str, Tensor] | Iterable[tuple[str, Tensor]] | None = None,
    names: Mapping[str, Tensor] | Iterable[tuple[str, Tensor]] | None = None,
    group: Mapping[str, Any] | Iterable[tuple[str, Any]] | bool | None = None,
    expand: bool = False,
    collapse: bool = False,
    max_nodes: int = 150,
    large: int = 8,
    legend: bool = True,
    rankdir: str = "LR",
) -> graphviz.Digraph:
    """The graph of everything root depends on, as a graphviz.Digraph (see `render`).

    params: name -> parameter (a dict, or pairs such as model.named_parameters()); names:
    name -> any other tensor. group: group name -> tensors, each group drawn in a box (an op
    joins its output's box), or True to group parameters by name prefix ("layers.0.weight"
    goes to "layers.0", with the outputs of the ops using it); collapse=True draws each
    group as one node. expand=True draws one node per scalar, micrograd style, for tiny
    graphs. Tensors of more than `large` elements show summary statistics, not values.
    Past max_nodes nodes it raises ValueError rather than draw an unreadable picture.
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"draw_graph draws the history of a Tensor, got {type(root).__name__}")
    order = topological_order([root])
    context = _Context(root, order, params, names, group, large)
    if collapse and not context.groups:
        raise ValueError("collapse=True draws each group as one node: pass group= as well")
    picture, _ = layout(order, context, expand, collapse, max_nodes)
    return picture.digraph(legend, rankdir)


def layout(
    order: list[Tensor], context: _Context, expand: bool, collapse: bool, max_nodes: int
) -> tuple[_Picture, dict[str, tuple[int, int | None]]]:
    """draw_graph's picture of order (a topological order), before graphviz, and the owner of
    each node: node id -> (the index in order of the tensor it draws or was drawn for, the
    flat index of the element for a scalar of that tensor, else None). Owners are those of
    the picture before collapsing."""
    # Counted before any label is made: a 100,000-op graph is refused at once. Collapsing
    # shrinks a tensor picture, so that one is counted only once drawn, below.
    if expand:
        _refuse_unexpandable(order)
        count = sum(tensor.size for tensor in order)
    else:
        count = 0 if collapse else len(order) + sum(tensor.op is not None for tensor in order)
    if count > max_nodes:
        raise ValueError(_too_many(count, max_nodes, expand))
    picture = _Picture()
    if expand:
        owners = add_scalars(picture, order, context)
    else:
        owners = _add_tensors(picture, order, context)
    if collapse:
        picture = picture.collapsed()
    if len(picture.nodes) > max_nodes:
        raise ValueError(_too_many(len(picture.nodes), max_nodes, expand))
    return picture, owners


def render(graph: graphviz.Digraph, path: str | Path, format: str | None = None) -> Path:
    """Write graph to path in format (default: the path's suffix, else svg) with Graphviz's dot."""
    path = Path(path)
    _require_dot()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(graph.pipe(format=format or path.suffix.lstrip(".") or "svg"))
    return path


def digraph(**attributes) -> graphviz.Digraph:
    """A graphviz.Digraph whose .pipe and .render say how to install dot when it is missing."""
    return _digraph_class()(**attributes)


def refuse_expansion(op_class: type, reason: str) -> None:
    """Make draw_graph(expand=True) raise ValueError(reason) for graphs holding op_class."""
    UNEXPANDABLE[op_class] = reason


def _refuse_unexpandable(order: list[Tensor]) -> None:
    for tensor in order:
        for cls in type(tensor.op).__mro__ if tensor.op is not None else ():
            if cls in UNEXPANDABLE:
                raise ValueError(f"draw_graph(expand=True): {UNEXPANDABLE[cls]}")


def _require_dot() -> None:
    if shutil.which("dot") is None:
        raise RuntimeError(INSTALL_DOT)


@functools.cache
def _digraph_class() -> type:
    try:
        import graphviz
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            "drawing graphs needs the graphviz Python package: pip install graphviz "
            "(and Graphviz's dot program to render the pictures)"
        ) from error

    class Digraph(graphviz.Digraph):
        def pipe(self, *args, **kwargs):
            _require_dot()
            return super().pipe(*args, **kwargs)

        def render(self, *args, **kwargs):
            _require_dot()
            return super().render(*args, **kwargs)

    return Digraph


def _too_many(count: int, max_nodes: int, expand: bool) -> str:
    if expand:
        return (
            f"draw_graph(expand=True) draws one node per scalar, and this graph needs at least "
            f"{count} nodes (max_nodes={max_nodes}): expanded pictures are for tiny networks "
            "such as [2, 1, 2] on one example. Draw it per tensor (expand=False), shrink the "
            "network or the batch, or raise max_nodes."
        )
    return (
        f"draw_graph: this graph has {count} nodes (max_nodes={max_nodes}), too many to read. "
        "Pass group= with collapse=True to draw each group (such as a layer; for an nn model "
        "see nn.draw_model_graph) as one box, draw a smaller part of the graph by calling "
        "draw_graph on an intermediate tensor, or raise max_nodes."
    )


# ---------------------------------------------------------------- what is known about tensors


def _pairs(items, what: str) -> list[tuple[str, Any]]:
    pairs = list(items.items() if isinstance(items, Mapping) else items or ())
    if not all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in pairs):
        raise TypeError(f"{what} takes a dict name -> value or (name, value) pairs")
    return pairs


class _Context:
    """Names, roles, groups and gradients of the tensors of one drawing.

    grads: tensor -> the gradient to show (default: each tensor's .grad); problems=False
    colours no node by its gradient's problems.
    """

    def __init__(
        self, root, order, params, names, group, large: int, grads=None, problems: bool = True
    ):
        self.root, self.large = root, large
        self.grads, self.problems = grads, problems
        self.params = {t: n for n, t in reversed(_pairs(params, "params"))}
        self.names = {t: n for n, t in reversed(_pairs(names, "names"))}
        self.implicit_params = params is None
        self.groups: dict[Tensor, str] = {}
        if group is True:
            group = self._groups_by_prefix(order)
        for group_name, members in _pairs(group, "group"):
            for tensor in [members] if isinstance(members, Tensor) else members:
                if not isinstance(tensor, Tensor):
                    raise TypeError(
                        f"group {group_name!r} holds a {type(tensor).__name__}: "
                        "groups map a name to tensors"
                    )
                self.groups.setdefault(tensor, group_name)
        in_graph = set(order)
        self.groups = {t: g for t, g in self.groups.items() if t in in_graph}

    def _groups_by_prefix(self, order) -> dict[str, list[Tensor]]:
        groups = {}
        for tensor, name in self.params.items():
            if "." in name:
                groups.setdefault(name.rsplit(".", 1)[0], []).append(tensor)
        owner = {t: g for g, members in groups.items() for t in members}
        for tensor in order:
            used = [owner[t] for t in tensor.inputs if t in owner and t.op is None]
            if used and tensor not in owner:
                owner[tensor] = used[0]
                groups[used[0]].append(tensor)
        return groups

    def grad(self, tensor: Tensor):
        return tensor.grad if self.grads is None else self.grads.get(tensor)

    def name(self, tensor: Tensor) -> str | None:
        return self.params.get(tensor) or self.names.get(tensor) or tensor.name

    def is_parameter(self, tensor: Tensor) -> bool:
        """Named in params or, when none are given, any leaf that requires a gradient."""
        trainable = self.implicit_params and tensor.is_leaf and tensor.requires_grad
        return tensor in self.params or trainable

    def role(self, tensor: Tensor) -> str:
        if tensor is self.root:
            return "output"
        if self.is_parameter(tensor):
            return "parameter"
        return "input" if tensor.is_leaf else "intermediate"

    def problem(self, tensor: Tensor) -> tuple[str | None, str | None]:
        """The worst gradient problem of tensor and a line saying so, or (None, None)."""
        grad = self.grad(tensor)
        if grad is None or not self.problems:
            return None, None
        if not np.all(np.isfinite(grad)):
            return "nonfinite", None
        if not np.any(grad):
            return "zero", None
        if grad.ndim == 0:
            return None, None
        unit_axis, units = _units(grad.ndim, self.is_parameter(tensor))
        others = tuple(a for a in range(grad.ndim) if a != unit_axis)
        dead = int(np.sum(~np.any(grad, axis=others)))
        count = grad.shape[unit_axis]
        return ("dead", f"grad zero for {dead} of {count} {units}") if dead else (None, None)


def _units(ndim: int, parameter: bool) -> tuple[int, str]:
    """The axis whose entries are a layer's units, and their name. A unit is dead when none
    of its entries gets a gradient: a neuron, axis 0 of a weight (out_features, in_features)
    and the last axis of activations (batch, features); a channel, axis 0 of a conv kernel
    (out_channels, in_channels, kh, kw) and axis 1 of (N, C, H, W) feature maps, whose last
    axis is image columns (a column that max-pooling drops is not a dead filter)."""
    if parameter:
        return 0, "output channels" if ndim == 4 else "units"
    if ndim == 4:
        return 1, "channels"
    return ndim - 1, "units"


# ---------------------------------------------------------------- the picture, before graphviz


class _Picture:
    """Nodes (id -> label, kind, group, brief) and edges, turned into a Digraph at the end."""

    def __init__(self):
        self.nodes: dict[str, dict] = {}
        self.edges: list[tuple[str, str, str | None]] = []

    def node(self, node_id: str, label: str, kind: str, group=None, brief=None) -> str:
        self.nodes[node_id] = dict(label=label, kind=kind, group=group, brief=brief)
        return node_id

    def edge(self, tail: str, head: str, label: str | None = None) -> None:
        self.edges.append((tail, head, label))

    def collapsed(self) -> _Picture:
        """The same picture with each group as one node, its edges merged."""
        picture, members, owner = _Picture(), {}, {}
        for node_id, node in self.nodes.items():
            if node["group"] is None:
                picture.nodes[node_id] = node
                continue
            nodes = members.setdefault(node["group"], [])
            nodes.append(node)
            owner[node_id] = f"group{list(members).index(node['group'])}"
        for index, (name, nodes) in enumerate(members.items()):
            kinds = {n["kind"] for n in nodes}
            kind = next((p for p in PROBLEMS if p in kinds), "group")
            briefs = [escape(n["brief"]) for n in nodes if n["brief"]]
            label = f"{escape(name)}\\n" + "".join(b + "\\l" for b in briefs)
            picture.node(f"group{index}", label, kind)
        seen = set()
        for tail, head, label in self.edges:
            tail, head = owner.get(tail, tail), owner.get(head, head)
            if tail != head and (tail, head) not in seen:
                seen.add((tail, head))
                picture.edge(tail, head, None if tail.startswith("group") else label)
        return picture

    def digraph(self, legend: bool, rankdir: str) -> graphviz.Digraph:
        font = {"fontname": "Helvetica", "fontsize": "10"}
        graph = digraph(
            graph_attr={"rankdir": rankdir, "nodesep": "0.15", "ranksep": "0.3", **font},
            node_attr=font,
            edge_attr={"fontname": "Helvetica", "fontsize": "9", "color": "#555555"},
        )
        clusters: dict[str, list[str]] = {}
        for node_id, node in self.nodes.items():
            if node["group"] is None:
                graph.node(node_id, node["label"], **_node_style(node))
            else:
                clusters.setdefault(node["group"], []).append(node_id)
        for index, (name, node_ids) in enumerate(clusters.items()):
            with graph.subgraph(name=f"cluster_{index}") as box:
                box.attr(label=escape(name), style="rounded,dashed", color="#7a62a8")
                for node_id in node_ids:
                    node = self.nodes[node_id]
                    box.node(node_id, node["label"], **_node_style(node))
        for tail, head, label in self.edges:
            graph.edge(tail, head, **({"label": label} if label else {}))
        if legend:
            kinds = {node["kind"] for node in self.nodes.values()}
            rows = "".join(
                f'<TR><TD BGCOLOR="{COLOURS[k]}">{text}</TD></TR>'
                for k, text in LEGEND.items()
                if k in kinds
            )
            table = f'<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="2">{rows}</TABLE>'
            graph.node("legend", f"<{table}>", shape="plaintext")
        return graph


def _node_style(node: dict) -> dict[str, str]:
    kind, label = node["kind"], node["label"]
    style = {"shape": "box", "style": "filled", "fillcolor": COLOURS[kind]}
    if kind == "operation":
        # Scalar operations (+, ×, σ) as small circles, named ops as ellipses.
        if len(label) <= 2:
            style.update(shape="circle", margin="0.02", fontsize="14")
        else:
            style.update(shape="ellipse", margin="0.05")
    if kind in PROBLEMS:
        style["penwidth"] = "2"
    return style


# ---------------------------------------------------------------- one node per tensor


def _add_tensors(picture: _Picture, order: list[Tensor], context: _Context) -> dict:
    """Draw order (a topological order) on picture: a node per tensor and per op. Returns
    the owners of the nodes (see layout)."""
    ids = {tensor: f"t{i}" for i, tensor in enumerate(order)}
    owners = {}
    for i, tensor in enumerate(order):
        problem, note = context.problem(tensor)
        group, name = context.groups.get(tensor), context.name(tensor)
        brief = f"{name} {shape_text(tensor.shape)}" if name else None
        label = tensor_label(tensor, name, context.large, note, context.grad(tensor))
        picture.node(ids[tensor], label, problem or context.role(tensor), group, brief)
        owners[ids[tensor]] = (i, None)
        if tensor.op is not None:
            op = tensor.op
            picture.node(f"op{i}", op_label(op, context.large), "operation", group, op.name)
            owners[f"op{i}"] = (i, None)
            for source, label in zip(op.inputs, edge_labels(op, op.inputs)):
                picture.edge(ids[source], f"op{i}", label)
            picture.edge(f"op{i}", ids[tensor])
    return owners
