"""nn: modules, losses, SGD against Nielsen's update rules, and network2.py-format files."""

import json
import os

import numpy as np
import pytest

import nn
from autodiff import Tensor, gradcheck


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def nielsen_backprop(weights, biases, x, y):
    """network.py's backprop for one example with column vectors, quadratic cost."""
    activation, activations, zs = x, [x], []
    for w, b in zip(weights, biases):
        z = w @ activation + b
        zs.append(z)
        activation = sigmoid(z)
        activations.append(activation)
    delta = (activations[-1] - y) * sigmoid(zs[-1]) * (1 - sigmoid(zs[-1]))
    nabla_b, nabla_w = [delta], [delta @ activations[-2].T]
    for l in range(2, len(weights) + 1):
        s = sigmoid(zs[-l])
        delta = (weights[-l + 1].T @ delta) * s * (1 - s)
        nabla_b.insert(0, delta)
        nabla_w.insert(0, delta @ activations[-l - 1].T)
    return nabla_b, nabla_w


def nielsen_sgd_step(weights, biases, batch, eta, lmbda=0.0, n=1):
    """network2.py's update_mini_batch: sum per-example gradients, then one step."""
    sum_b = [np.zeros_like(b) for b in biases]
    sum_w = [np.zeros_like(w) for w in weights]
    for x, y in batch:
        nabla_b, nabla_w = nielsen_backprop(weights, biases, x, y)
        sum_b = [s + nb for s, nb in zip(sum_b, nabla_b)]
        sum_w = [s + nw for s, nw in zip(sum_w, nabla_w)]
    m = len(batch)
    weights = [(1 - eta * lmbda / n) * w - eta / m * nw for w, nw in zip(weights, sum_w)]
    biases = [b - eta / m * nb for b, nb in zip(biases, sum_b)]
    return weights, biases


def batch_for(sizes, batch_size, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((batch_size, sizes[0]))
    y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], batch_size)]
    return x, y


def nielsen_parameters(model):
    weights = [layer.weight.data.copy() for layer in model.layers]
    biases = [layer.bias.data.reshape(-1, 1).copy() for layer in model.layers]
    return weights, biases


@pytest.mark.parametrize("sizes", [[2, 1, 2], [5, 4, 3], [784, 30, 10]])
def test_sgd_step_matches_nielsen_per_example_loop(sizes):
    model = nn.MLP(sizes, init="large", seed=1)
    x, y = batch_for(sizes, 10)
    weights, biases = nielsen_parameters(model)
    expected_w, expected_b = nielsen_sgd_step(
        weights, biases, [(xi.reshape(-1, 1), yi.reshape(-1, 1)) for xi, yi in zip(x, y)], eta=3.0
    )
    optimizer = nn.SGD(model.parameters(), lr=3.0)
    optimizer.zero_grad()
    nn.mse_loss(model(x), y).backward()
    optimizer.step()
    for layer, w, b in zip(model.layers, expected_w, expected_b):
        np.testing.assert_allclose(layer.weight.data, w, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(layer.bias.data, b.ravel(), rtol=1e-12, atol=1e-14)


def test_weight_decay_reproduces_network2_l2_update_and_spares_biases():
    sizes, n, lmbda, eta = [6, 5, 3], 1000, 5.0, 0.5
    model = nn.MLP(sizes, seed=2)
    x, y = batch_for(sizes, 10, seed=3)
    weights, biases = nielsen_parameters(model)
    pairs = [(xi.reshape(-1, 1), yi.reshape(-1, 1)) for xi, yi in zip(x, y)]
    expected_w, expected_b = nielsen_sgd_step(weights, biases, pairs, eta, lmbda, n)
    optimizer = nn.SGD(model.parameters(), lr=eta, weight_decay=lmbda / n)
    nn.mse_loss(model(x), y).backward()
    optimizer.step()
    for layer, w, b in zip(model.layers, expected_w, expected_b):
        np.testing.assert_allclose(layer.weight.data, w, rtol=1e-12)
        np.testing.assert_allclose(layer.bias.data, b.ravel(), rtol=1e-12)


def test_weight_decay_of_everything_when_asked():
    p = Tensor(np.ones(3), requires_grad=True)
    p.grad = np.zeros(3)
    nn.SGD([p], lr=0.1, weight_decay=0.5, decay_biases=True).step()
    np.testing.assert_allclose(p.data, np.full(3, 1 - 0.1 * 0.5))


def test_momentum_follows_nielsen_velocity_rule():
    p = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    optimizer = nn.SGD([p], lr=0.1, momentum=0.9)
    w, v = p.data.copy(), np.zeros(2)
    for gradient in (np.array([0.5, 1.0]), np.array([-1.0, 0.25])):
        p.grad = gradient
        optimizer.step()
        v = 0.9 * v - 0.1 * gradient
        w = w + v
        np.testing.assert_allclose(p.data, w)


def test_sgd_rejects_bad_settings():
    with pytest.raises(ValueError, match="lr > 0"):
        nn.SGD(nn.MLP([2, 2]).parameters(), lr=-1)
    with pytest.raises(ValueError, match="no parameters"):
        nn.SGD([], lr=1)


def test_float32_model_trains_in_float32():
    model = nn.MLP([4, 3, 2], dtype=np.float32, seed=0)
    x, y = batch_for([4, 3, 2], 5)
    loss = nn.mse_loss(model(x), y)
    loss.backward()
    nn.SGD(model.parameters(), lr=1.0).step()
    assert loss.dtype == np.float32
    for p in model.parameters():
        assert p.dtype == np.float32 and p.grad.dtype == np.float32


# ---------------------------------------------------------------- modules


def test_named_parameters_are_dotted_and_ordered():
    names = [name for name, _ in nn.MLP([3, 4, 2]).named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]


def test_named_parameters_walk_lists_tuples_nested_modules_and_own_parameters():
    class Block(nn.Module):
        def __init__(self):
            self.inner = [nn.Linear(3, 2, seed=0), nn.Sigmoid()]
            self.pair = (nn.Linear(2, 2, seed=1), nn.MLP([2, 2], seed=2))
            self.scale = nn.Parameter(np.ones(2))

    model = Block()
    names, parameters = zip(*model.named_parameters())
    assert names == (
        "inner.0.weight",
        "inner.0.bias",
        "pair.0.weight",
        "pair.0.bias",
        "pair.1.layers.0.weight",
        "pair.1.layers.0.bias",
        "scale",
    )
    assert parameters[-1] is model.scale and parameters[0] is model.inner[0].weight


def test_linear_shapes_follow_nielsen_and_pytorch():
    layer = nn.Linear(784, 30, seed=0)
    assert layer.weight.shape == (30, 784) and layer.bias.shape == (30,)
    assert layer(np.zeros((7, 784))).shape == (7, 30)
    assert layer(np.zeros(784)).shape == (30,)
    np.testing.assert_allclose(layer(np.ones(784)).data, layer.weight.data.sum(1) + layer.bias.data)


def test_linear_explains_column_vectors():
    with pytest.raises(ValueError, match=r"column vector.*rows are examples.*x\.T"):
        nn.Linear(784, 30)(np.zeros((784, 1)))
    with pytest.raises(ValueError, match=r"expects input of shape \(batch, 784\)"):
        nn.Linear(784, 30)(np.zeros((5, 783)))


def test_custom_module_finds_nested_parameters():
    class TwoHeads(nn.Module):
        def __init__(self):
            self.body = nn.Linear(3, 4, seed=0)
            self.heads = [nn.Linear(4, 1, seed=1), nn.Linear(4, 2, seed=2)]
            self.activation = nn.Tanh()

        def forward(self, x):
            h = self.activation(self.body(x))
            return [head(h) for head in self.heads]

    model = TwoHeads()
    assert [n for n, _ in model.named_parameters()] == [
        "body.weight", "body.bias", "heads.0.weight", "heads.0.bias",
        "heads.1.weight", "heads.1.bias",
    ]  # fmt: skip
    outputs = model(np.ones((2, 3)))
    (outputs[0].sum() + outputs[1].sum()).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_state_dict_round_trip_and_mismatch_errors():
    a, b = nn.MLP([3, 4, 2], seed=0), nn.MLP([3, 4, 2], seed=1)
    b.load_state_dict(a.state_dict())
    x = np.ones((2, 3))
    np.testing.assert_array_equal(a(x).data, b(x).data)
    with pytest.raises(KeyError, match="missing.*layers.1.bias"):
        b.load_state_dict({k: v for k, v in a.state_dict().items() if k != "layers.1.bias"})
    state = a.state_dict() | {"layers.0.weight": np.zeros((3, 4))}
    with pytest.raises(ValueError, match=r"layers.0.weight: expected shape \(4, 3\), got \(3, 4\)"):
        b.load_state_dict(state)


def test_mlp_exposes_zs_and_activations_of_the_last_pass():
    model = nn.MLP([3, 4, 2], seed=0)
    x = np.ones((5, 3))
    out = model(x)
    assert len(model.zs) == 2 and len(model.activations) == 3
    assert model.activations[0] is x and model.activations[-1] is out
    np.testing.assert_allclose(model.activations[1].data, sigmoid(model.zs[0].data))


def test_mlp_repr_and_validation():
    assert repr(nn.MLP([784, 30, 10])) == (
        "MLP([784, 30, 10], activation='sigmoid', output_activation='sigmoid')"
    )
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        nn.MLP([2, 2], activation="swish")
    with pytest.raises(ValueError, match="unknown init"):
        nn.MLP([2, 2], init="zeros")
    with pytest.raises(ValueError, match="at least two"):
        nn.MLP([784])


@pytest.mark.parametrize("init", ["nielsen", "large", "he", "xavier"])
def test_initializers_have_their_documented_scale(init):
    w = nn.Linear(400, 300, init=init, seed=0).weight.data
    expected = {
        "nielsen": 400**-0.5,
        "large": 1.0,
        "he": (2 / 400) ** 0.5,
        "xavier": (2 / 700) ** 0.5,
    }
    assert w.std() == pytest.approx(expected[init], rel=0.02)


def test_activation_modules_and_functions_agree():
    x = np.linspace(-3, 3, 7)
    for module, function, reference in (
        (nn.Sigmoid(), nn.sigmoid, sigmoid(x)),
        (nn.Tanh(), nn.tanh, np.tanh(x)),
        (nn.ReLU(), nn.relu, np.maximum(x, 0)),
    ):
        np.testing.assert_allclose(module(x).data, reference)
        np.testing.assert_allclose(function(x).data, reference)


# ---------------------------------------------------------------- losses


def test_losses_match_their_formulas():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(6, 4))
    a, y = sigmoid(z), rng.random((6, 4))
    labels = rng.integers(0, 4, 6)
    onehot = np.eye(4)[labels]
    log_softmax = z - np.log(np.exp(z).sum(1, keepdims=True))
    assert nn.mse_loss(Tensor(a), y).item() == pytest.approx(0.5 * ((a - y) ** 2).sum() / 6)
    bce = -(y * np.log(a) + (1 - y) * np.log(1 - a)).sum() / 6
    assert nn.binary_cross_entropy(Tensor(a), y).item() == pytest.approx(bce)
    assert nn.binary_cross_entropy_with_logits(Tensor(z), y).item() == pytest.approx(bce)
    ce = -log_softmax[np.arange(6), labels].mean()
    assert nn.cross_entropy(Tensor(z), labels).item() == pytest.approx(ce)
    assert nn.cross_entropy(Tensor(z), onehot).item() == pytest.approx(ce)


def test_mse_relation_to_pytorch_mse_documented():
    a, y = np.array([[0.2, 0.9, 0.4]]), np.array([[0.0, 1.0, 0.0]])
    pytorch_style = ((a - y) ** 2).mean()
    assert nn.mse_loss(Tensor(a), y).item() == pytest.approx(pytorch_style * 3 / 2)


@pytest.mark.parametrize(
    "loss, make",
    [
        (nn.mse_loss, lambda z: z.sigmoid()),
        (nn.binary_cross_entropy, lambda z: z.sigmoid()),
        (nn.binary_cross_entropy, lambda z: z.sigmoid() * 1.0),  # probabilities, no logits
        (nn.binary_cross_entropy_with_logits, lambda z: z),
        (nn.cross_entropy, lambda z: z),
    ],
)
def test_losses_pass_gradcheck(loss, make):
    rng = np.random.default_rng(1)
    y = rng.random((5, 3)) if loss is not nn.cross_entropy else rng.integers(0, 3, 5)
    assert gradcheck(
        lambda z: loss(make(z), y), Tensor(rng.normal(size=(5, 3)), requires_grad=True)
    )


def test_binary_cross_entropy_is_finite_on_saturated_sigmoid():
    z = Tensor(np.array([[50.0, -50.0, 800.0]]), requires_grad=True)
    a = z.sigmoid()
    assert a.data[0, 0] == 1.0  # rounds to exactly 1: ln(1 - a) would be -inf
    cost = nn.binary_cross_entropy(a, np.array([[0.0, 1.0, 1.0]]))
    cost.backward()
    assert cost.item() == pytest.approx(50.0 + 50.0, rel=1e-12)
    np.testing.assert_allclose(z.grad, [[1.0, -1.0, 0.0]], atol=1e-15)


def test_binary_cross_entropy_on_probabilities_takes_zero_log_zero_as_zero():
    a = Tensor(np.array([[1.0, 0.0, 0.5]]))
    cost = nn.binary_cross_entropy(a, np.array([[1.0, 0.0, 1.0]]))
    assert cost.item() == pytest.approx(np.log(2))


def test_cross_entropy_is_stable_for_large_logits():
    cost = nn.cross_entropy(Tensor(np.array([[1000.0, 0.0]])), np.array([1]))
    assert cost.item() == pytest.approx(1000.0)


def test_loss_errors_name_shapes_and_the_fix():
    out = Tensor(np.zeros((5, 10)))
    with pytest.raises(ValueError, match=r"\(5,\).*\(5, 10\).*one_hot"):
        nn.mse_loss(out, np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match=r"\(10, 5\).*rows are examples.*target.T"):
        nn.mse_loss(out, np.zeros((10, 5)))
    with pytest.raises(ValueError, match=r"labels must lie in 0..9"):
        nn.cross_entropy(out, np.array([0, 1, 2, 3, 10]))


# ---------------------------------------------------------------- network2.py files


def nielsen_feedforward(document, x_column):
    """network2.py's load() + feedforward(), on the parsed JSON."""
    assert document["cost"] in ("QuadraticCost", "CrossEntropyCost")
    a = x_column
    for w, b in zip(document["weights"], document["biases"]):
        a = sigmoid(np.array(w) @ a + np.array(b))
    return a


def test_save_load_round_trip_gives_identical_outputs(tmp_path):
    model = nn.MLP([5, 4, 3], seed=0)
    path = tmp_path / "model.json"
    nn.save(model, path, cost="CrossEntropyCost")
    loaded = nn.load(path)
    x = np.random.default_rng(0).random((7, 5))
    np.testing.assert_array_equal(loaded(x).data, model(x).data)
    assert repr(loaded) == repr(model)


def test_our_file_loads_in_network2(tmp_path):
    model = nn.MLP([5, 4, 3], seed=0)
    nn.save(model, tmp_path / "model.json")
    document = json.loads((tmp_path / "model.json").read_text())
    assert np.array(document["biases"][0]).shape == (4, 1)
    x = np.random.default_rng(1).random(5)
    np.testing.assert_allclose(
        nielsen_feedforward(document, x.reshape(-1, 1)).ravel(), model(x).data, rtol=1e-14
    )


def test_loads_a_hand_written_network2_file(tmp_path):
    document = {
        "sizes": [2, 1, 2],
        "weights": [[[0.5, -1.0]], [[2.0], [-3.0]]],
        "biases": [[[0.25]], [[0.0], [1.0]]],
        "cost": "QuadraticCost",
    }
    (tmp_path / "net.json").write_text(json.dumps(document))
    model = nn.load(tmp_path / "net.json")
    x = np.array([0.3, 0.7])
    hidden = sigmoid(0.5 * 0.3 - 1.0 * 0.7 + 0.25)
    expected = sigmoid(np.array([2.0 * hidden, -3.0 * hidden + 1.0]))
    np.testing.assert_allclose(model(x).data, expected, rtol=1e-15)


def test_load_rejects_truncated_file(tmp_path):
    nn.save(nn.MLP([3, 2], seed=0), tmp_path / "model.json")
    text = (tmp_path / "model.json").read_text()
    (tmp_path / "model.json").write_text(text[: len(text) // 2])
    with pytest.raises(ValueError, match="not valid JSON"):
        nn.load(tmp_path / "model.json")


def test_load_rejects_sizes_that_disagree_with_weights(tmp_path):
    document = {
        "sizes": [3, 2],
        "weights": [[[1.0, 2.0]]],
        "biases": [[[0.0]]],
        "cost": "QuadraticCost",
    }
    (tmp_path / "bad.json").write_text(json.dumps(document))
    with pytest.raises(
        ValueError,
        match=r"layer 2 weights \(weights\[0\]\) have shape \(1, 2\), sizes say \(2, 3\)",
    ):
        nn.load(tmp_path / "bad.json")
    (tmp_path / "bad.json").write_text(json.dumps({"sizes": [3, 2], "weights": []}))
    with pytest.raises(ValueError, match="missing biases"):
        nn.load(tmp_path / "bad.json")


def test_save_is_atomic_when_the_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    nn.save(nn.MLP([3, 2], seed=0), path)
    before = path.read_bytes()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        nn.save(nn.MLP([3, 2], seed=1), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.json"]


def test_sequential_chains_layers_and_names_their_parameters():
    first, second = nn.Linear(4, 3, seed=0), nn.Linear(3, 2, seed=1)
    model = nn.Sequential(first, nn.Sigmoid(), nn.Flatten(), second)
    x = np.random.default_rng(2).normal(size=(5, 4))
    expected = second(first(x).sigmoid()).data
    np.testing.assert_array_equal(model(x).data, expected)
    assert [name for name, _ in model.named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.3.weight", "layers.3.bias"
    ]  # fmt: skip
    assert len(model) == 4 and model[3] is second and list(model)[0] is first
    with pytest.raises(TypeError, match="takes Modules; layer 1 is ufunc"):
        nn.Sequential(first, np.tanh)


def test_flatten_keeps_the_batch_axis_and_passes_gradients_back():
    x = Tensor(np.arange(24.0).reshape(2, 3, 2, 2), requires_grad=True)
    y = nn.Flatten()(x)
    assert y.shape == (2, 12)
    (y * np.arange(12.0)).sum().backward()
    np.testing.assert_array_equal(x.grad, np.tile(np.arange(12.0), (2, 1)).reshape(2, 3, 2, 2))
    with pytest.raises(ValueError, match=r"at least 2 axes, got shape \(3,\)"):
        nn.Flatten(start_dim=2)(np.ones(3))


def test_train_and_eval_set_the_mode_of_every_submodule():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Linear(2, 1)))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert len(list(model.modules())) == 5 and not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
