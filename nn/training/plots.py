"""Figures without pyplot: `new_figure` (a matplotlib Figure that shows itself inline in
Jupyter and never touches the user's backend) and `plot_history`. matplotlib is optional.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

from .fit import History
from .serialization import write_atomically


@functools.cache
def _figure_class() -> type:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError("nn's plots need matplotlib: pip install 'autodiff-nn[plot]'") from error

    class InlineFigure(Figure):
        """A Figure drawn by Agg on its own canvas: no pyplot, no backend switch, no window.

        Jupyter shows it through _repr_png_, once (pyplot's figures would also show
        themselves at the end of the cell).
        """

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            FigureCanvasAgg(self)

        def png(self, dpi: int = 100) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", dpi=dpi)
            return buffer.getvalue()

        def _repr_png_(self) -> bytes:
            return self.png()

    return InlineFigure


def new_figure(**options):
    """A matplotlib Figure (figsize=..., layout=...) with png() and inline display."""
    return _figure_class()(**options)


def save_png(figure, path: str | Path | None, dpi: int = 100) -> None:
    """Write figure to path as a PNG, atomically; nothing when path is None."""
    if path is not None:
        write_atomically(Path(path), figure.png(dpi))


def plot_history(history: History, path: str | Path | None = None):
    """Accuracy and cost per epoch as a matplotlib Figure, also written to path as a PNG.

    In Jupyter the returned Figure shows inline. Needs the optional matplotlib
    (pip install 'autodiff-nn[plot]'); the user's matplotlib backend is left as it is.
    """
    from matplotlib.ticker import MaxNLocator

    figure = new_figure(figsize=(10, 4), layout="tight")
    accuracy_axes, cost_axes = figure.subplots(1, 2)
    for label, values, axes in (
        ("training accuracy", history.train_accuracy, accuracy_axes),
        ("evaluation accuracy", history.evaluation_accuracy, accuracy_axes),
        ("training cost", history.train_cost, cost_axes),
        ("evaluation cost", history.evaluation_cost, cost_axes),
    ):
        if values:
            axes.plot(range(1, len(values) + 1), values, marker="o", label=label)
    for axes, title in ((accuracy_axes, "Accuracy"), (cost_axes, "Cost")):
        axes.set_title(title)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        if axes.lines:
            axes.legend()
        axes.grid(alpha=0.3)
    save_png(figure, path)
    return figure
