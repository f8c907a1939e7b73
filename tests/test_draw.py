"""Graph drawings: DOT source checks (nodes, edges, labels, colours, groups, limits) and SVG
rendering with the real `dot` program."""

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nn
from autodiff import Tensor, draw_graph, no_grad
from autodiff.drawing import COLOURS, render

NODE = re.compile(r"^\t(?:\t)?(\w+) \[(.*)\]$")
EDGE = re.compile(r"^\t(?:\t)?(\w+) -> (\w+)(?: \[(.*)\])?$")


def nodes(graph) -> dict[str, str]:
    """Node id -> its attribute text, the legend left out."""
    found = {}
    for line in graph.source.splitlines():
        match = NODE.match(line)
        if match and match[1] not in ("graph", "node", "edge", "legend"):
            found[match[1]] = match[2]
    return found


def edges(graph) -> list[tuple[str, str, str]]:
    return [m.groups("") for m in map(EDGE.match, graph.source.splitlines()) if m]


def fill(attributes: str) -> str:
    return re.search(r'fillcolor="([^"]+)"', attributes)[1]


def tiny_mlp(batch=1, seed=1):
    """Nielsen's [2, 1, 2] network after one forward and backward pass."""
    model = nn.MLP([2, 1, 2], seed=seed)
    x = np.random.default_rng(seed).normal(size=(batch, 2))
    loss = nn.mse_loss(model(x), np.tile([1.0, 0.0], (batch, 1)))
    loss.backward()
    return model, loss


# ---------------------------------------------------------------- one node per tensor


def test_draw_graph_draws_a_node_per_tensor_and_per_op():
    x = Tensor([1.0, 2.0], name="x")
    w = Tensor([3.0, 4.0], requires_grad=True, name="w")
    y = (x * w).sum()
    graph = draw_graph(y)
    ops = [n for n in nodes(graph) if n.startswith("op")]
    assert len(nodes(graph)) == 6 and len(ops) == 2  # x, w, x*w, y and Mul, Sum
    assert len(edges(graph)) == 5


def test_draw_graph_keeps_both_edges_of_x_times_x():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    graph = draw_graph(x * x)
    into_mul = [e for e in edges(graph) if e[0] == "t0"]
    assert len(into_mul) == 2
    assert into_mul[0][1] == into_mul[1][1]
    assert into_mul[0][2] != into_mul[1][2]  # labelled apart: label=x and label=y


def test_draw_graph_labels_ops_with_their_settings():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    loss = nn.mse_loss(x.sum(axis=1, keepdims=True).reshape(1, 2), np.zeros((1, 2)))
    labels = " ".join(nodes(draw_graph(loss)).values())
    assert "Sum axis=(1,) keepdims=True" in labels
    assert "Reshape shape=(1, 2)" in labels
    assert "QuadraticCost target=[[0,0]]" in labels
    big = nn.mse_loss(x, np.zeros((2, 3)))
    labels = " ".join(nodes(draw_graph(big, large=4)).values())
    assert "QuadraticCost target=((2, 3) float64 array)" in labels  # summarised, not printed


def test_draw_graph_names_parameters_and_shows_shape_dtype_and_values():
    model, loss = tiny_mlp()
    graph = draw_graph(loss, params=model.named_parameters())
    labels = " ".join(nodes(graph).values())
    for name, _ in model.named_parameters():
        assert name in labels
    weight = model.layers[0].weight
    assert "(1, 2) float64" in labels
    assert f"data [[{weight.data[0, 0]:.4g}, {weight.data[0, 1]:.4g}]]" in labels
    assert f"grad [[{weight.grad[0, 0]:.4g}, {weight.grad[0, 1]:.4g}]]" in labels


def test_draw_graph_summarises_large_tensors():
    x = Tensor(np.arange(10.0), requires_grad=True, name="x")
    (x * 2).sum().backward()
    label = nodes(draw_graph(x))["t0"]
    assert "data mean 4.5  std 2.872" in label
    assert "min 0  max 9  norm 16.88" in label
    assert "grad mean 2  std 0" in label
    assert "[0, 1" not in label


def test_draw_graph_colours_parameters_inputs_and_output():
    model, loss = tiny_mlp()
    x = model.zs[0].inputs[0]
    found = nodes(draw_graph(loss, params=model.named_parameters(), names={"x": x}))
    tensors = {k: a for k, a in found.items() if k.startswith("t")}
    by_name = {re.search(r'label="([^\\"]*)', a)[1]: fill(a) for a in tensors.values()}
    assert by_name["layers.0.weight"] == COLOURS["parameter"]
    assert by_name["x"] == COLOURS["input"]
    root = max((k for k in found if k.startswith("t")), key=lambda k: int(k[1:]))
    assert fill(found[root]) == COLOURS["output"]
    legend = draw_graph(loss, params=model.named_parameters()).source
    assert "parameter</TD>" in legend and "output (root)</TD>" in legend


def test_draw_graph_highlights_nan_and_inf_gradients_in_red():
    x = Tensor([0.0, 4.0, -1.0], requires_grad=True, name="x")
    with np.errstate(divide="ignore", invalid="ignore"):
        x.sqrt().sum().backward()  # d sqrt(x)/dx is inf at 0 and nan below
    graph = draw_graph(x)
    assert fill(nodes(graph)["t0"]) == COLOURS["nonfinite"]
    assert "grad [inf, 0.25, nan]" in nodes(graph)["t0"]
    assert "grad has NaN or Inf" in graph.source  # the legend
    summarised = nodes(draw_graph(x, large=2))["t0"]
    assert "grad mean 0.25" in summarised and "grad has 1 NaN, 1 Inf" in summarised


def test_draw_graph_marks_zero_gradients_grey_and_dead_units_orange():
    x = Tensor(-np.ones((3, 2)), requires_grad=True, name="x")
    x.relu().sum().backward()
    assert fill(nodes(draw_graph(x))["t0"]) == COLOURS["zero"]
    # Unit 1 of the weight never fires on these inputs (a dead ReLU): its row gets no grad.
    inputs = Tensor(np.array([[1.0, 2.0], [2.0, 1.0], [1.0, 1.0]]))
    weight = Tensor(np.array([[1.0, 1.0], [-1.0, -1.0]]), requires_grad=True)
    (inputs @ weight.T).relu().sum().backward()
    found = nodes(draw_graph(weight, params={"weight": weight}))
    assert fill(found["t0"]) == COLOURS["dead"]
    assert "grad zero for 1 of 2 units" in found["t0"]


def test_draw_graph_does_not_flag_healthy_gradients():
    model, loss = tiny_mlp()
    source = draw_graph(loss, params=model.named_parameters()).source
    for problem in ("nonfinite", "zero", "dead"):
        assert COLOURS[problem] not in source


# ---------------------------------------------------------------- groups and limits


def test_draw_model_graph_boxes_each_layer_of_an_mnist_mlp():
    model = nn.MLP([784, 30, 10], seed=0)
    x = np.random.default_rng(0).random((5, 784))
    loss = nn.mse_loss(model(x), np.eye(10)[:5])
    loss.backward()
    graph = nn.draw_model_graph(model, loss)
    source = graph.source
    assert source.count("subgraph cluster_") == 2
    for layer, number in (("layers.0", 2), ("layers.1", 3)):
        box = source.split(f'label="{layer}: layer {number}"')[1].split("}")[0]
        assert box.count("Affine") == 1 and box.count("Sigmoid") == 1
        assert f"{layer}.weight" in box and f"{layer}.bias" in box
    labels = " ".join(nodes(graph).values())
    assert "zs[0]" in labels and "activations[2]" in labels and "loss" in labels
    assert "(30, 784) float64" in labels
    assert len(nodes(graph)) == 15  # x, 4 parameters, 2 z, 2 a, loss and 5 ops


def test_draw_graph_groups_by_parameter_name_prefix():
    model, loss = tiny_mlp()
    source = draw_graph(loss, params=model.named_parameters(), group=True).source
    assert source.count("subgraph cluster_") == 2
    first = source.split('label="layers.0"')[1].split("}")[0]
    assert first.count("Affine") == 1 and "Sigmoid" not in first  # the op using the weights


def test_draw_graph_collapse_draws_each_group_as_one_node():
    model, loss = tiny_mlp()
    graph = nn.draw_model_graph(model, loss, collapse=True)
    found = nodes(graph)
    groups = [k for k in found if k.startswith("group")]
    assert len(groups) == 2
    assert "layers.0.weight (1, 2)" in found[groups[0]]
    assert len(found) == 5  # x, the two layers, QuadraticCost and the loss
    assert ("group0", "group1", "") in edges(graph)


def test_draw_graph_refuses_past_max_nodes_and_says_what_to_do():
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100):
        y = y * 1.01
    with pytest.raises(ValueError, match=r"301 nodes \(max_nodes=150\).*group=.*collapse=True"):
        draw_graph(y)
    # x, 100 products, their 100 constants 1.01 and 100 Mul ops
    assert len(nodes(draw_graph(y, max_nodes=301))) == 301


def test_draw_model_graph_needs_the_models_parameters_in_the_graph():
    model = nn.MLP([2, 1, 2], seed=0)
    with no_grad():
        loss = nn.mse_loss(model(np.zeros((1, 2))), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="none of the model's parameters"):
        nn.draw_model_graph(model, loss)


def test_draw_model_graph_groups_by_prefix_when_root_is_from_an_earlier_pass():
    model, loss = tiny_mlp()
    model(np.zeros((3, 2)))  # a later forward pass replaces model.zs
    source = nn.draw_model_graph(model, loss).source
    assert source.count("subgraph cluster_") == 2 and "zs[0]" not in source


def test_draw_graph_says_what_a_group_holds():
    x = Tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="groups map a name to tensors"):
        draw_graph(x * 2, group={"layer": ["x"]})


# ---------------------------------------------------------------- one node per scalar


def test_expand_draws_nielsens_2_1_2_network_scalar_by_scalar():
    model, loss = tiny_mlp()
    graph = nn.draw_model_graph(model, loss, expand=True)
    found = nodes(graph)
    # Values: x 2, w 2+2, b 1+2, products 2+2, z 1+2, a 1+2, loss 1 = 20.
    # Operations: × 2+2, + 1+2, σ 1+2, the cost 1 = 11.
    assert sum(k.startswith("s") for k in found) == 20
    assert sum(k.startswith("f") for k in found) == 11
    assert len(edges(graph)) == 31
    labels = [a for a in found.values() if "label=×" in a or 'label="×"' in a]
    assert len(labels) == 4
    w = model.layers[1].weight
    assert f"layers.1.weight[1,0]\\ndata {w.data[1, 0]:.4g}\\lgrad {w.grad[1, 0]:.4g}" in (
        graph.source
    )
    assert graph.source.count("subgraph cluster_") == 2


def test_expand_product_nodes_carry_the_gradient_of_their_sum():
    x = Tensor([[1.0, 2.0]], requires_grad=True, name="x")
    w = Tensor([[3.0], [4.0]], requires_grad=True, name="w")
    y = (x @ w).sum() * 2.0
    y.backward()
    labels = list(nodes(draw_graph(y, expand=True)).values())
    assert sum('"data 3\\lgrad 2\\l"' in a or '"data 8\\lgrad 2\\l"' in a for a in labels) == 2


def test_expand_refuses_an_mnist_network_with_a_clear_message():
    model = nn.MLP([784, 30, 10], seed=0)
    loss = nn.mse_loss(model(np.zeros((1, 784))), np.zeros((1, 10)))
    with pytest.raises(ValueError, match="one node per scalar.*tiny networks"):
        nn.draw_model_graph(model, loss, expand=True)


def test_expand_moves_scalars_through_reshapes_without_new_nodes():
    x = Tensor([[1.0, 2.0]], requires_grad=True, name="x")
    y = x.reshape(2).sum()
    found = nodes(draw_graph(y, expand=True))
    assert len(found) == 4  # x[0,0], x[0,1], the sum and its +


# ---------------------------------------------------------------- nn.draw_network


def test_draw_network_labels_neurons_and_weights_in_nielsens_notation():
    model, loss = tiny_mlp()
    graph = nn.draw_network(model)
    found = nodes(graph)
    neurons = [k for k in found if k.startswith("n")]
    assert len(neurons) == 5
    weight_edges = [e for e in edges(graph) if "invis" not in e[2]]
    assert len(weight_edges) == 4
    w = model.layers[1].weight.data
    assert f"w³₂₁ = {w[1, 0]:.3g}" in graph.source
    assert f"b²₁ = {model.layers[0].bias.data[0]:.3g}" in graph.source
    assert "a¹₂ = " in graph.source and "z³₁ = " in graph.source
    # Colour by sign, width by magnitude: the largest weight is the widest edge.
    all_weights = np.concatenate([layer.weight.data.ravel() for layer in model.layers])
    widths = [float(re.search(r"penwidth=([\d.]+)", e[2])[1]) for e in weight_edges]
    assert max(widths) == pytest.approx(4.0)
    negative = [e for e in weight_edges if "#d1402a" in e[2]]
    assert len(negative) == int((all_weights < 0).sum())


def test_draw_network_shows_gradients_after_backward():
    model, loss = tiny_mlp()
    graph = nn.draw_network(model, show="grads")
    assert f"∂C/∂w²₁₁ = {model.layers[0].weight.grad[0, 0]:.3g}" in graph.source
    model.zero_grad()
    with pytest.raises(ValueError, match=r"loss.backward\(\)"):
        nn.draw_network(model, show="grads")


def test_draw_network_elides_wide_layers():
    model = nn.MLP([784, 30, 10], seed=0)
    graph = nn.draw_network(model, max_neurons_per_layer=10)
    found = nodes(graph)
    assert sum(k.startswith("n") and not k.endswith("more") for k in found) == 9 + 9 + 10
    assert "775 more" in found["n1_more"] and "21 more" in found["n2_more"]
    assert "n3_more" not in found
    assert "a¹₇₈₄" in graph.source and "a²₃₀" in graph.source
    assert len([e for e in edges(graph) if "invis" not in e[2]]) == 9 * 9 + 9 * 10


# ---------------------------------------------------------------- rendering


def test_render_writes_an_svg_with_the_labels(tmp_path):
    model, loss = tiny_mlp()
    path = render(nn.draw_model_graph(model, loss), tmp_path / "graphs" / "tiny.svg")
    svg = path.read_text()
    assert svg.startswith("<?xml") and "<svg" in svg
    for text in ("layers.0.weight", "Affine", "QuadraticCost", "zs[1]"):
        assert text in svg
    network = render(nn.draw_network(model), tmp_path / "network.svg").read_text()
    assert "w³₂₁" in network


def test_rendering_without_dot_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    graph = draw_graph(Tensor(1.0, requires_grad=True) * 2)
    for attempt in (
        lambda: render(graph, tmp_path / "a.svg"),
        lambda: graph.pipe(format="svg"),
        lambda: graph.render(tmp_path / "b"),
    ):
        with pytest.raises(RuntimeError, match="apt-get install graphviz.*brew install graphviz"):
            attempt()
    assert graph.source.startswith("digraph")  # the DOT text needs no dot


def test_engine_works_without_the_graphviz_package():
    code = (
        "import sys; sys.modules['graphviz'] = None\n"
        "import autodiff, nn\n"
        "x = autodiff.Tensor([1.0, 2.0], requires_grad=True); (x * x).sum().backward()\n"
        "assert 'graphviz' not in sys.modules or sys.modules['graphviz'] is None\n"
        "try:\n"
        "    autodiff.draw_graph(x)\n"
        "except ModuleNotFoundError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "pip install graphviz" in result.stdout


def test_example_writes_the_pictures(tmp_path):
    path = Path(__file__).resolve().parents[1] / "examples" / "graph.py"
    spec = importlib.util.spec_from_file_location("graph_example", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    example.main(["--out", str(tmp_path)])
    written = sorted(p.name for p in tmp_path.glob("*.svg"))
    assert "network-2-1-2.svg" in written and "mnist-784-30-10.svg" in written
    assert len(written) == 6
