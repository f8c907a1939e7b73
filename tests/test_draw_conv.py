"""Pictures of conv nets: nn.draw_filters, nn.draw_feature_maps (matplotlib Figures made
without pyplot, saved atomically) and nn.draw_conv_graph (a box per layer); draw_graph's
expand=True refuses conv ops with a clear error."""

import re

import matplotlib
import numpy as np
import pytest

import nn
from autodiff import Tensor, draw_graph


def model():
    return nn.Sequential(
        nn.Conv2d(1, 20, 5, seed=0), nn.MaxPool2d(2), nn.ReLU(),
        nn.Conv2d(20, 4, 3, seed=1), nn.Sigmoid(), nn.Flatten(), nn.Dropout(0.5, seed=3),
        nn.Linear(4 * 10 * 10, 10, seed=2),
    )  # fmt: skip


IMAGE = np.random.default_rng(0).random((28, 28))


def image_axes(figure):
    return [axes for axes in figure.axes if axes.images]


def test_draw_filters_draws_one_image_per_filter_on_one_scale(tmp_path):
    backend = matplotlib.get_backend()
    layer = model().layers[0]
    figure = nn.draw_filters(layer, path=tmp_path / "filters.png")
    images = [axes.images[0] for axes in image_axes(figure)]
    assert len(images) == 20
    for f, image in enumerate(images):
        np.testing.assert_array_equal(image.get_array(), layer.weight.data[f, 0])
        assert image.get_clim() == (layer.weight.data.min(), layer.weight.data.max())
    assert "20 filters of 5x5" in figure.texts[0].get_text()
    assert (tmp_path / "filters.png").read_bytes().startswith(b"\x89PNG")
    assert matplotlib.get_backend() == backend  # never switched
    assert [p.name for p in tmp_path.iterdir()] == ["filters.png"]  # no temporary file left


def test_draw_filters_of_a_layer_with_several_channels_and_its_errors(tmp_path):
    layer = model().layers[3]
    figure = nn.draw_filters(layer, channel=7, columns=2, path=tmp_path / "f.svg")
    assert len(image_axes(figure)) == 4
    np.testing.assert_array_equal(
        image_axes(figure)[1].images[0].get_array(), layer.weight.data[1, 7]
    )
    assert (tmp_path / "f.svg").read_text().lstrip().startswith("<?xml")
    with pytest.raises(ValueError, match=r"channel must lie in 0..19, got 20"):
        nn.draw_filters(layer, channel=20)
    with pytest.raises(TypeError, match=r"takes an nn.Conv2d, got Linear"):
        nn.draw_filters(nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        nn.draw_filters(layer, path=tmp_path / "f.jpg")


def test_draw_feature_maps_shows_every_layer_that_makes_images():
    net = model()
    figure = nn.draw_feature_maps(net, IMAGE, max_maps=6)
    # input 1 map; conv 20 -> 6 shown, pool 6, relu 6, conv 4, sigmoid 4; then the output bars
    assert len(image_axes(figure)) == 1 + 6 + 6 + 6 + 4 + 4
    bars = [axes for axes in figure.axes if axes.patches]
    assert len(bars) == 1 and len(bars[0].patches) == 10
    labels = " ".join(t.get_text() for axes in figure.axes for t in axes.texts)
    assert "0: Conv2d\n20x24x24\n6 of 20 shown" in labels and "3: Conv2d\n4x10x10" in labels
    first_map = image_axes(figure)[1].images[0].get_array()
    expected = net.layers[0](IMAGE.reshape(1, 1, 28, 28)).data[0, 0]
    np.testing.assert_allclose(first_map, expected)
    assert net.training and net.layers[6].training  # modes left as they were


def test_draw_feature_maps_refuses_a_batch():
    with pytest.raises(ValueError, match=r"image must be \(H, W\).*got \(2, 1, 28, 28\)"):
        nn.draw_feature_maps(model(), np.zeros((2, 1, 28, 28)))


def test_draw_conv_graph_has_a_box_per_layer_with_shapes():
    net = model()
    x, y = np.random.default_rng(1).random((2, 1, 28, 28)), np.array([3, 7])
    source = nn.draw_conv_graph(net, x, y, loss=nn.cross_entropy).source
    for i, layer in enumerate(net.layers):
        assert f'label="layers.{i} {type(layer).__name__}"' in source
    assert source.count("subgraph cluster_") == len(net.layers)
    assert "(2, 20, 24, 24) float64" in source and "(2, 4, 10, 10) float64" in source
    collapsed = nn.draw_conv_graph(net, x, y, loss=nn.cross_entropy, collapse=True).source
    assert collapsed.count("layers.") >= len(net.layers) and "cluster_" not in collapsed


def test_draw_conv_graph_renders(tmp_path):
    from autodiff.drawing import render

    graph = nn.draw_conv_graph(model(), IMAGE.reshape(1, 1, 28, 28))
    assert render(graph, tmp_path / "g.svg").read_text().count("<g id=") > 10


def test_expand_refuses_conv_with_a_clear_error():
    loss = nn.cross_entropy(model()(IMAGE.reshape(1, 1, 28, 28)), np.array([1]))
    with pytest.raises(ValueError, match=r"scalar expansion is not available for conv"):
        draw_graph(loss, expand=True, max_nodes=10**9)
    draw_graph(loss)  # per tensor it draws


def test_the_pictures_show_inline_in_jupyter_as_png():
    # IPython displays an object through its _repr_png_; a plain Figure made without pyplot
    # has none, and would show as its repr text in a notebook.
    net = model()
    for figure in (nn.draw_filters(net.layers[0]), nn.draw_feature_maps(net, IMAGE)):
        assert figure._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"


def dead_marks(graph) -> list[str]:
    """The 'grad zero for k of n ...' lines of a drawing."""
    return re.findall(r"grad zero for \d+ of \d+ [a-z ]+?(?=\\l|<|\"|$)", graph.source, re.M)


def edge_model(dead_channel: bool):
    """A 7x7 image, two 3x3 filters (5x5 maps), ReLU, 2x2 max-pool: the pool never reads the
    maps' last row and column, so their gradient is zero there in every channel. With
    dead_channel, filter 1 never fires (a ReLU that is always off)."""
    conv = nn.Conv2d(1, 2, 3, seed=0)
    conv.weight.data[...] = np.abs(conv.weight.data)
    conv.bias.data[...] = [0.1, -100.0 if dead_channel else 0.1]
    return nn.Sequential(conv, nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 3, seed=1))


def test_draw_conv_graph_does_not_call_a_pooling_edge_a_dead_unit():
    x = np.random.default_rng(0).random((2, 1, 7, 7))
    model = edge_model(dead_channel=False)
    assert model.layers[0](Tensor(x)).shape == (2, 2, 5, 5)  # 5 columns, the last one unread
    graph = nn.draw_conv_graph(model, x, np.array([0, 2]), loss=nn.cross_entropy)
    assert dead_marks(graph) == []
    assert dead_marks(draw_graph(graph_root(model, x))) == []


def test_draw_conv_graph_counts_a_dead_channel_once_per_channel():
    x = np.random.default_rng(0).random((2, 1, 7, 7))
    model = edge_model(dead_channel=True)
    graph = nn.draw_conv_graph(model, x, np.array([0, 2]), loss=nn.cross_entropy)
    marks = dead_marks(graph)
    # The conv output (N, C, H, W): channel 1 of 2 (the ReLU after it still gets max-pool's
    # gradient at each window's first zero); the kernel and the bias: filter 1.
    assert marks.count("grad zero for 1 of 2 channels") == 1, marks
    assert "grad zero for 1 of 2 output channels" in marks  # the kernel (2, 1, 3, 3)
    assert "grad zero for 1 of 2 units" in marks  # the bias (2,)
    assert not any("of 5 " in mark for mark in marks)  # never the image columns


def graph_root(model, x):
    loss = nn.cross_entropy(model(x), np.array([0, 2]))
    model.zero_grad()
    loss.backward()
    return loss
