"""Drawings of the computation graph: one node per tensor (graph.py), or one per scalar as in
micrograd (scalars.py), labelled with the op and its settings (labels.py)."""

from .graph import COLOURS, digraph, draw_graph, refuse_expansion, render

__all__ = ["COLOURS", "digraph", "draw_graph", "refuse_expansion", "render"]
