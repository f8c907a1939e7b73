"""Pictures of what a conv net learned: its first-layer filters (draw_filters), one image's
feature maps through every layer (draw_feature_maps), and its computation graph with a box
per layer (draw_conv_graph). Figures are matplotlib.figure.Figure objects, made without
pyplot, so the user's backend is never switched; Jupyter shows them inline. Importing this
module makes draw_graph(expand=True) refuse conv and pooling ops with a clear error.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from autodiff import Tensor, no_grad, topological_order
from autodiff.core import data_of
from autodiff.drawing import draw_graph, refuse_expansion

from ..layers import Conv, Conv2d, ConvTranspose, ConvWeightGrad, Module, Sequential
from ..layers.pooling import MaxPool, MaxUnpool
from ..training.plots import new_figure
from ..training.serialization import write_atomically

if TYPE_CHECKING:
    import graphviz
    from matplotlib.figure import Figure

for _op in (Conv, ConvTranspose, ConvWeightGrad, MaxPool, MaxUnpool):
    refuse_expansion(
        _op,
        f"scalar expansion is not available for conv and pooling ops ({_op.__name__}): one "
        "node per multiply-add of every kernel position would be thousands of nodes. Draw "
        "the graph per tensor (expand=False); nn.draw_conv_graph(model, x) boxes each layer.",
    )


def _save(figure: Figure, path: str | Path | None) -> None:
    """PNG or SVG by the path's suffix, written atomically (a half-written file never shows)."""
    if path is None:
        return
    path = Path(path)
    kind = path.suffix.lstrip(".").lower()
    if kind not in ("png", "svg"):
        raise ValueError(f"path must end in .png or .svg, got {path.name!r}")
    buffer = io.BytesIO()
    figure.savefig(buffer, format=kind, bbox_inches="tight")
    write_atomically(path, buffer.getvalue())


def draw_filters(
    layer: Conv2d, path: str | Path | None = None, columns: int | None = None, channel: int = 0
) -> Figure:
    """The layer's kernels as a grid of small images, one per filter (Nielsen's ch. 6 figure).

    Darker means a larger weight, on one scale shared by every filter, so filters compare.
    For a layer with several input channels, `channel` picks which slice w[f, channel] is shown.
    path: also save as .png or .svg. Returns the matplotlib Figure.
    """
    if not isinstance(layer, Conv2d):
        raise TypeError(f"draw_filters takes an nn.Conv2d, got {type(layer).__name__}")
    if not 0 <= channel < layer.in_channels:
        raise ValueError(f"channel must lie in 0..{layer.in_channels - 1}, got {channel}")
    kernels = np.asarray(layer.weight.data, dtype=np.float64)[:, channel]
    count = len(kernels)
    columns = columns or min(count, 10)
    rows = math.ceil(count / columns)
    figure = new_figure(figsize=(0.75 * columns + 0.9, 0.75 * rows + 0.6), dpi=100)
    low, high = kernels.min(), kernels.max()
    image = None
    for f, axes in enumerate(figure.subplots(rows, columns, squeeze=False).flat):
        axes.set_axis_off()
        if f < count:
            image = axes.imshow(kernels[f], cmap="gray_r", vmin=low, vmax=high)
    figure.colorbar(image, ax=figure.axes, shrink=0.8, label="weight")
    where = f", input channel {channel}" if layer.in_channels > 1 else ""
    kh, kw = layer.kernel_size
    figure.suptitle(f"{count} filters of {kh}x{kw}{where} (darker = larger weight)", fontsize=10)
    _save(figure, path)
    return figure


def layer_outputs(model: Sequential, x) -> list[Tensor]:
    """Each layer's output for x, in evaluation mode (no dropout); the model's modes are kept."""
    if not isinstance(model, Sequential):
        raise TypeError(f"needs an nn.Sequential, got {type(model).__name__}")
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with no_grad():
            outputs, a = [], Tensor(np.asarray(data_of(x), dtype=np.float64))
            for layer in model.layers:
                a = layer(a)
                outputs.append(a)
    finally:
        for module, training in modes:
            module.training = training
    return outputs


def draw_feature_maps(
    model: Sequential, image, path: str | Path | None = None, max_maps: int = 8
) -> Figure:
    """One image through the model: the input, then a row per layer whose output is images
    (N, C, H, W), up to max_maps channels each, then the final output as bars.

    image: (H, W), (C, H, W) or (1, C, H, W). Returns the matplotlib Figure.
    """
    x = np.asarray(data_of(image), dtype=np.float64)
    x = x.reshape((1,) * (4 - x.ndim) + x.shape) if x.ndim in (2, 3) else x
    if x.ndim != 4 or len(x) != 1:
        raise ValueError(f"image must be (H, W), (C, H, W) or (1, C, H, W), got {x.shape}")
    outputs = layer_outputs(model, x)
    maps = [(i, out.data[0]) for i, out in enumerate(outputs) if out.ndim == 4]
    final = outputs[-1].data[0] if outputs[-1].ndim == 2 else None
    columns = max([min(len(m), max_maps) for _, m in maps] + [x.shape[1]])
    rows = 1 + len(maps) + (final is not None)
    figure = new_figure(figsize=(1.1 * columns + 1.6, 1.2 * rows), dpi=100)
    grid = figure.add_gridspec(rows, columns + 1, width_ratios=[1.2] + [1] * columns)

    def row(r: int, title: str, arrays: np.ndarray) -> None:
        label = figure.add_subplot(grid[r, 0])
        label.set_axis_off()
        label.text(0, 0.5, title, fontsize=8, va="center")
        for c, array in enumerate(arrays[:max_maps]):
            axes = figure.add_subplot(grid[r, c + 1])
            axes.imshow(array, cmap="gray_r")
            # A frame and no ticks: a map that is zero everywhere still shows as a box.
            axes.set_xticks([])
            axes.set_yticks([])

    row(0, f"input\n{_shape(x.shape[1:])}", x[0])
    for r, (i, array) in enumerate(maps, start=1):
        more = f"\n{max_maps} of {len(array)} shown" if len(array) > max_maps else ""
        row(r, f"{i}: {type(model.layers[i]).__name__}\n{_shape(array.shape)}{more}", array)
    if final is not None:
        axes = figure.add_subplot(grid[rows - 1, 1:])
        axes.bar(range(len(final)), final, color="#1f5fae")
        axes.set_xticks(range(len(final)))
        axes.tick_params(labelsize=7)
        label = figure.add_subplot(grid[rows - 1, 0])
        label.set_axis_off()
        name = type(model.layers[-1]).__name__
        label.text(0, 0.5, f"{len(outputs) - 1}: {name}\noutput", fontsize=8, va="center")
    _save(figure, path)
    return figure


def _shape(shape: tuple) -> str:
    return "x".join(str(n) for n in shape)


def draw_conv_graph(model: Sequential, x, y=None, loss=None, **options) -> graphviz.Digraph:
    """draw_graph of model(x) (or of loss(model(x), y) after its backward) with a box per layer,
    named like "layers.0 Conv2d", holding its parameters and every tensor it computed.

    Options go to draw_graph (collapse=True: one node per layer; max_nodes; rankdir).
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"draw_conv_graph takes an nn.Sequential, got {type(model).__name__}")
    a = Tensor(np.asarray(data_of(x), dtype=np.float64), name="x")
    inputs, outputs = [], []
    for layer in model.layers:
        inputs.append(a)
        a = layer(a)
        outputs.append(a)
    root = a
    if loss is not None:
        root = loss(a, y)
        root.backward()
    groups, seen = [], set()
    for i, (layer, inp, out) in enumerate(zip(model.layers, inputs, outputs)):
        made = [t for t in topological_order([out]) if t not in seen and t is not inp]
        made = [t for t in made if t.op is not None or _owns(layer, t)]
        seen.update(made)
        seen.add(inp)
        groups.append((f"layers.{i} {type(layer).__name__}", made))
    names = [(f"layers.{i} output", out) for i, out in enumerate(outputs)]
    options.setdefault("rankdir", "TB")
    params = list(model.named_parameters())
    return draw_graph(root, params=params, names=names, group=groups, **options)


def _owns(layer: Module, tensor: Tensor) -> bool:
    return any(tensor is p for p in layer.parameters())
