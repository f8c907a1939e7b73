"""Pictures of attention: draw_attention(weights, tokens) shows each head's softmax weights as a
heat map, queries down and keys across, with the characters on both axes and the causal mask
(the future each position may not see) drawn as hatched grey. A matplotlib Figure, no pyplot.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from autodiff.core import data_of

from ..training.plots import new_figure
from .conv import _save

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Characters that would be invisible or break the tick labels, shown as visible symbols.
VISIBLE = {"\n": "\u23ce", " ": "\u2423", "\t": "\u21e5"}


def draw_attention(
    weights,
    tokens,
    path: str | Path | None = None,
    titles: list[str] | None = None,
    columns: int | None = None,
) -> Figure:
    """One heat map per head of attention weights (heads, T, T), or (T, T) for one head.

    Row i is query position i, column j key position j; tokens (a string or T strings) label
    both axes. Positions j > i, which a causal head may not attend to, are hatched grey, and
    any weight there that is not zero is a leak of the future, marked in red. path: also
    save as .png or .svg. Returns the matplotlib Figure (shown inline in Jupyter).
    """
    array = np.asarray(data_of(weights), dtype=np.float64)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.shape[1] != array.shape[2]:
        raise ValueError(
            f"draw_attention expects weights of shape (heads, T, T) or (T, T), got {array.shape}"
            "; for a batch, pass one example: weights[b]"
        )
    heads, T, _ = array.shape
    labels = [VISIBLE.get(str(t), str(t)) for t in tokens]
    if len(labels) != T:
        raise ValueError(f"draw_attention: {len(labels)} tokens for weights over {T} positions")
    if titles is not None and len(titles) != heads:
        raise ValueError(f"draw_attention: {len(titles)} titles for {heads} heads")
    columns = columns or min(heads, 4)
    rows = math.ceil(heads / columns)
    size = max(2.2, 0.28 * T + 1.0)
    figure = new_figure(figsize=(size * columns + 0.8, size * rows), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
    future = np.triu(np.ones((T, T), dtype=bool), k=1)
    image = None
    for head, ax in enumerate(axes):
        if head >= heads:
            ax.set_axis_off()
            continue
        shown = np.ma.masked_array(array[head], mask=future)
        image = ax.imshow(shown, cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
        _hatch_future(ax, future, array[head])
        ax.set_xticks(range(T), labels, fontsize=8, family="monospace")
        ax.set_yticks(range(T), labels, fontsize=8, family="monospace")
        ax.tick_params(length=0)
        ax.set_xlabel("key (attended to)", fontsize=8)
        ax.set_ylabel("query (position)", fontsize=8)
        ax.set_title(titles[head] if titles else f"head {head}", fontsize=9)
    figure.colorbar(image, ax=list(axes[:heads]), shrink=0.8, label="attention weight")
    _save(figure, path)
    return figure


def _hatch_future(ax, future: np.ndarray, weights: np.ndarray) -> None:
    """Grey hatched squares over the masked future; red outlines where a weight leaked."""
    from matplotlib.patches import Rectangle

    for i, j in zip(*np.nonzero(future)):
        leaked = weights[i, j] != 0
        ax.add_patch(
            Rectangle(
                (j - 0.5, i - 0.5), 1, 1, facecolor="#dddddd", hatch="///",
                edgecolor="#d1402a" if leaked else "#aaaaaa", linewidth=2 if leaked else 0,
            )
        )  # fmt: skip
