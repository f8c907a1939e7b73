"""Graph drawing under its old path, `autodiff.draw`: it lives in autodiff/drawing/."""

from .drawing import COLOURS, digraph, draw_graph, refuse_expansion, render

__all__ = ["COLOURS", "digraph", "draw_graph", "refuse_expansion", "render"]
