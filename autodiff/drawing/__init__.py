"""Drawings of the computation graph: one node per tensor (graph.py), or one per scalar as in
micrograd (scalars.py), labelled with the op and its settings (labels.py); and the explorer,
a page stepping through the forward and backward pass on that drawing (explorer.py, its
numbers and panel text in steps.py, each op's formulas in rules.py, the page in static/)."""

from .explorer import ExplorerPage, explore
from .graph import COLOURS, digraph, draw_graph, refuse_expansion, render
from .rules import register_rule

__all__ = [
    "COLOURS",
    "ExplorerPage",
    "digraph",
    "draw_graph",
    "explore",
    "refuse_expansion",
    "register_rule",
    "render",
]
