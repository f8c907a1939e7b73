"""Conv backprop three ways: autograd (nn.Conv2d, MaxPool2d, ...) against the numpy oracle
(nn/backprop/equations_conv.py) on every layer's delta, kernel and bias gradient, to a relative
error below 1e-10, and nn.verify_backprop's report on the same networks (with central
differences). The largest error seen is printed with -s (`pytest -s -k largest`)."""

import numpy as np
import pytest

import nn
from autodiff import Tensor
from nn.backprop import equations_conv as eq
from nn.backprop.sequential import layer_kind, layer_spec

TOLERANCE = 1e-10
LARGEST = {"error": 0.0}


def one_conv_pool(activation):
    return nn.Sequential(
        nn.Conv2d(1, 4, 5, seed=0), nn.MaxPool2d(2), activation(), nn.Flatten(),
        nn.Linear(4 * 6 * 6, 10, seed=1),
    )  # fmt: skip


def two_conv_pool(activation):
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, seed=0), activation(), nn.MaxPool2d(2),
        nn.Conv2d(3, 4, 3, padding=1, seed=1), activation(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(4 * 3 * 3, 10, seed=2),
    )  # fmt: skip


def strided_padded(activation):
    return nn.Sequential(
        nn.Conv2d(2, 3, 4, stride=2, padding=2, seed=0), activation(),
        nn.MaxPool2d(3, stride=2), nn.Conv2d(3, 2, (2, 3), stride=(1, 2), padding=(1, 0), seed=1),
        activation(), nn.Flatten(), nn.Dropout(0.25, seed=5), nn.Linear(2 * 4 * 1, 5, seed=2),
    )  # fmt: skip


# (builder, input shape of one example, classes)
NETWORKS = {
    "one conv-pool": (one_conv_pool, (1, 16, 16), 10),
    "two conv-pool": (two_conv_pool, (1, 14, 14), 10),
    "stride, padding, dropout": (strided_padded, (2, 12, 12), 5),
}
ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}


def relative_error(actual, expected) -> float:
    scale = np.abs(expected).max()
    error = float(np.abs(actual - expected).max() / scale) if scale else float(np.abs(actual).max())
    LARGEST["error"] = max(LARGEST["error"], error)
    return error


def problem(network, activation, batch_size, loss, seed=0):
    build, shape, classes = NETWORKS[network]
    model = build(ACTIVATIONS[activation])
    rng = np.random.default_rng(seed)
    x = rng.random((batch_size, *shape))
    y = rng.integers(0, classes, batch_size) if loss is nn.cross_entropy else rng.random(
        (batch_size, classes)
    )  # fmt: skip
    return model, x, y


@pytest.mark.parametrize("loss", [nn.mse_loss, nn.cross_entropy], ids=["mse", "cross_entropy"])
@pytest.mark.parametrize("batch_size", [1, 10])
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("network", list(NETWORKS))
def test_autograd_equals_the_conv_oracle_on_every_layer(network, activation, batch_size, loss):
    model, x, y = problem(network, activation, batch_size, loss)
    for layer in model.layers:
        if isinstance(layer, nn.Dropout):
            layer.rng = np.random.default_rng(7)
    inputs, outputs, a = [], [], Tensor(x)
    for layer in model.layers:
        inputs.append(a)
        a = layer(a)
        outputs.append(a)
    loss(a, y).backward()
    specs = []
    for i, layer in enumerate(model.layers):
        kind = layer_kind(i, layer)
        if kind == "dropout":
            # The same generator state draws the same mask: what it makes of ones.
            layer.rng = np.random.default_rng(7)
            mask = layer(Tensor(np.ones(inputs[i].shape))).data
            np.testing.assert_array_equal(inputs[i].data * mask, outputs[i].data)
            specs.append({"kind": "dropout", "mask": mask})
        else:
            specs.append(layer_spec(kind, layer, None, inputs[i], outputs[i]))
    oracle = eq.conv_net_backprop(specs, x, y, "mse" if loss is nn.mse_loss else "cross_entropy")
    for i, layer in enumerate(model.layers):
        assert relative_error(outputs[i].grad, oracle.deltas[i]) < TOLERANCE, (i, "delta")
        if hasattr(layer, "weight"):
            assert relative_error(layer.weight.grad, oracle.grad_weights[i]) < TOLERANCE, i
            assert relative_error(layer.bias.grad, oracle.grad_biases[i]) < TOLERANCE, i
    assert np.isclose(loss(a, y).item(), oracle.cost, rtol=1e-12)


@pytest.mark.parametrize("network", list(NETWORKS))
def test_verify_backprop_reports_every_layer_of_a_conv_net_ok(network):
    model, x, y = problem(network, "relu", 10, nn.cross_entropy)
    report = nn.verify_backprop(model, x, y, loss=nn.cross_entropy, samples=5)
    assert report.ok, str(report)
    parameters = sum(2 for layer in model.layers if hasattr(layer, "weight"))
    assert len(report.rows) == len(model.layers) + parameters
    assert len(report.delta_norms) == len(model.layers)
    equations = {row.equation for row in report.rows}
    assert {"C2", "C3", "P1", "BP1", "BP4", "BP3"} <= equations
    assert ("C1" in equations) == (network != "one conv-pool")  # a conv above another layer
    text = str(report)
    assert "verify_backprop: OK" in text and "||delta||" in text
    assert max(row.autograd_bp_rel for row in report.rows) < TOLERANCE


def test_verify_backprop_fixes_dropout_masks_and_leaves_the_model_alone():
    model, x, y = problem("stride, padding, dropout", "sigmoid", 10, nn.mse_loss)
    before = model.layers[6].rng.bit_generator.state
    report = nn.verify_backprop(model, x, y, loss=nn.mse_loss, samples=5)
    assert report.ok and report.dropout.startswith("fixed masks")
    # Without fixed masks every central difference would see a new mask and disagree.
    assert max(row.autograd_numerical_rel for row in report.rows) < 1e-5
    assert model.layers[6].rng.bit_generator.state == before
    assert all(p.grad is None for p in model.parameters())
    assert nn.verify_backprop(model.eval(), x, y).dropout.startswith("none active")


def test_verify_backprop_catches_a_wrong_gradient():
    # The report can fail: a conv op with a planted backward bug is caught at its layer.
    from nn.layers.conv import Conv

    model, x, y = problem("one conv-pool", "sigmoid", 4, nn.mse_loss)
    original = Conv.backward

    def rotated_kernel_gradient(self, grad_out, *inputs):
        grads = list(original(self, grad_out, *inputs))
        grads[1] = grads[1][:, :, ::-1, ::-1]
        return tuple(grads)

    Conv.backward = rotated_kernel_gradient
    try:
        report = nn.verify_backprop(model, x, y, samples=5)
    finally:
        Conv.backward = original
    wrong = [(row.layer, row.quantity) for row in report.rows if not row.ok]
    assert wrong == [(0, "weight")] and not report.ok


def test_verify_backprop_refuses_layers_and_losses_it_does_not_know():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3, seed=0), nn.Softmax())
    with pytest.raises(ValueError, match=r"layer 2 is Softmax.*cross_entropy on the logits"):
        nn.verify_backprop(model, np.ones((2, 1, 2, 2)), np.array([0, 1]), nn.cross_entropy)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3, seed=0))
    with pytest.raises(ValueError, match=r"mse_loss or nn.cross_entropy"):
        nn.verify_backprop(model, np.ones((2, 1, 2, 2)), np.ones((2, 3)), nn.binary_cross_entropy)
    with pytest.raises(TypeError, match=r"nn.MLP or an nn.Sequential"):
        nn.verify_backprop(nn.Linear(2, 2), np.ones((1, 2)), np.ones((1, 2)))


def test_largest_relative_error_seen_is_below_the_tolerance():
    # Runs after the table above (file order): the number for the note.
    print(f"\nlargest relative error, autograd vs conv oracle: {LARGEST['error']:.2e}")
    assert LARGEST["error"] < TOLERANCE
