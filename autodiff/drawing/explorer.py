"""Step through backprop: `explore(output)` is a page of the computation graph on which the
forward values, then the gradients, appear one tensor at a time, each with its rule and numbers.

The layout is draw_graph's (graph.layout, rendered here to SVG by Graphviz once); the
numbers are the engine's own: the values are the graph's, the gradients those of the
engine's one backward walk (core.backpropagate, which steps.py observes rule by rule). The
page's script (static/) only reveals them: one self-contained document, no server, nothing
fetched.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..core.engine import _seed, topological_order
from ..core.tensor import Tensor
from .graph import _Context, _Picture, _require_dot, layout
from .steps import Steps, backward_order, walk

STATIC = Path(__file__).resolve().parent / "static"


class ExplorerPage:
    """The page: `html` is a standalone document; in Jupyter it shows in an iframe (its
    styles and script stay out of the notebook's); save(path) writes it as an .html file."""

    def __init__(self, document: str, height: int = 720):
        self.html, self.height = document, height

    def _repr_html_(self) -> str:
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" title="Step through '
            f'backprop" style="width: 100%; height: {self.height}px; border: 0"></iframe>'
        )

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.html, encoding="utf-8")
        return path


def explore(
    output: Tensor,
    expand: bool = False,
    params: Mapping[str, Tensor] | Iterable[tuple[str, Tensor]] | None = None,
    names: Mapping[str, Tensor] | Iterable[tuple[str, Tensor]] | None = None,
    group: Mapping[str, Any] | Iterable[tuple[str, Any]] | bool | None = None,
    notes: Mapping[Tensor, str] | None = None,
    max_nodes: int = 150,
    rankdir: str = "LR",
    title: str = "Step through backprop",
    height: int = 720,
) -> ExplorerPage:
    """A page stepping through the forward and backward pass of output (one element).

    Forward shows each tensor's value in topological order, Backward each gradient in
    reverse order, the output's 1 first, with the op's rule and its numbers. params, names,
    group, expand and max_nodes are draw_graph's (expand=True: one node per scalar, for tiny
    graphs; past max_nodes nodes it raises draw_graph's ValueError). notes: tensor -> a line
    shown when its gradient appears (nn.explore_model names BP1-BP4 so). Leaves output's and
    every tensor's .grad as they were.
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"explore steps through the graph of a Tensor, got {type(output).__name__}")
    if not output.requires_grad:
        raise RuntimeError(
            "explore(): the output does not require a gradient, so there is no backward pass to "
            "show: create the inputs with requires_grad=True (and do not compute under no_grad())"
        )
    order = topological_order([output])
    grads, received, sent = walk(output, order, _seed(output, None, "explore()"))
    # Labels show the explorer's gradients, and no node is coloured by its gradient's
    # problems (zero, NaN): that would give the gradient away before its step.
    context = _Context(output, order, params, names, group, 8, grads=grads, problems=False)
    picture, owners = layout(order, context, expand, False, max_nodes)
    _require_dot()
    svg = picture.digraph(True, rankdir).pipe(format="svg").decode("utf-8")
    steps = Steps(order, context, grads, received, sent, notes or {})
    document = {
        "tensors": [steps.tensor(i) for i in range(len(order))],
        "backward": backward_order(order, grads),
    }
    page = _page(
        title, _annotate(svg, picture, owners, steps.names, [t.shape for t in order]), document
    )
    return ExplorerPage(page, height)


# ---------------------------------------------------------------- the picture


_NODE = re.compile(r'<g id="([^"]*)" class="node">\s*<title>([^<]*)</title>(.*?)</g>', re.S)
_EDGE = re.compile(r'<g id="([^"]*)" class="edge">\s*<title>([^<]*)</title>')
_CLUSTER = re.compile(r'<g id="([^"]*)" class="cluster">\s*<title>cluster_(\d+)</title>')
_TEXT = re.compile(r"<text ([^>]*)>([^<]*)</text>")


def _annotate(svg: str, picture: _Picture, owners: dict, names: list, shapes: list) -> str:
    """The SVG with the page's hooks: data-node, data-owner, data-element, data-group on
    nodes, data-owner and data-group on edges, and the value and gradient lines classed."""
    clusters = list(dict.fromkeys(n["group"] for n in picture.nodes.values() if n["group"]))
    group_of = {
        node_id: clusters.index(node["group"])
        for node_id, node in picture.nodes.items()
        if node["group"] is not None
    }

    def attributes(node_id: str) -> str:
        found = []
        if node_id in owners:
            owner, element = owners[node_id]
            found.append(f'data-owner="{owner}"')
            if element is not None:
                index = np.unravel_index(element, shapes[owner])
                name = names[owner] + ("[" + ",".join(map(str, index)) + "]" if index else "")
                found += [
                    f'data-node="{html.escape(name, quote=True)}"',
                    f'data-element="{element}"',
                ]
            elif node_id.startswith("t"):
                found.append(f'data-node="{html.escape(names[owner], quote=True)}"')
        if node_id in group_of:
            found.append(f'data-group="{group_of[node_id]}"')
        return " ".join(found)

    def node(match) -> str:
        svg_id, node_id, body = match[1], html.unescape(match[2]), match[3]
        extra = attributes(node_id)
        body = _class_lines(body) if node_id in owners else body  # not the legend's lines
        return (
            f'<g id="{svg_id}" class="node"{" " + extra if extra else ""}>\n'
            f"<title>{match[2]}</title>{body}</g>"
        )

    def edge(match) -> str:
        tail, head = html.unescape(match[2]).split("->")
        extra = []
        if head in owners:
            extra.append(f'data-owner="{owners[head][0]}"')
        if tail in group_of and group_of.get(head) == group_of[tail]:
            extra.append(f'data-group="{group_of[tail]}"')
        return f'<g id="{match[1]}" class="edge" {" ".join(extra)}>\n<title>{match[2]}</title>'

    def cluster(match) -> str:
        name = html.escape(clusters[int(match[2])], quote=True)
        return (
            f'<g id="{match[1]}" class="cluster" data-cluster="{match[2]}" data-name="{name}">\n'
            f"<title>cluster_{match[2]}</title>"
        )

    svg = _NODE.sub(node, svg)
    svg = _EDGE.sub(edge, svg)
    svg = _CLUSTER.sub(cluster, svg)
    # The XML prologue and DOCTYPE are not allowed inside an HTML document's body.
    return svg[svg.index("<svg") :]


def _class_lines(body: str) -> str:
    """Class each label line: 'value' from `data ...` on, 'grad' from `grad ...` on."""
    kind = None

    def line(match) -> str:
        nonlocal kind
        text = html.unescape(match[2]).replace("\xa0", " ")
        if text.startswith("data "):
            kind = "value"
        elif text.startswith("grad "):
            kind = "grad"
        elif not text.startswith(" "):
            kind = None
        return f'<text class="{kind}" {match[1]}>{match[2]}</text>' if kind else match[0]

    return _TEXT.sub(line, body)


def _page(title: str, svg: str, document: dict) -> str:
    """explore.html with its style, script, the SVG and the numbers put in."""
    page = (STATIC / "explore.html").read_text(encoding="utf-8")
    style = (STATIC / "explore.css").read_text(encoding="utf-8")
    script = (STATIC / "explore.js").read_text(encoding="utf-8")
    if "</script" in script.lower():
        raise RuntimeError("drawing/static/explore.js contains </script and cannot be inlined")
    # "</" could end the <script> early: JSON allows writing it as "<\\/".
    parts = {
        "title": html.escape(title),
        "style": style,
        "svg": svg,
        "data": json.dumps(document, allow_nan=False).replace("</", "<\\/"),
        "script": script,
    }
    # One pass, so that text put in (a tensor's name) is never taken for a placeholder.
    return re.sub(r"\{\{(\w+)\}\}", lambda match: parts[match[1]], page)
