"""Autograd against Nielsen's BP1-BP4 (nn.manual_backprop, an independent numpy oracle).

For each layer l: autograd's delta (the gradient of z_l) equals BP1/BP2, its weight gradient
equals BP4 and its bias gradient BP3, to a relative error below 1e-10.
"""

import numpy as np
import pytest

import nn
from autodiff import Tensor, gradcheck

ARCHITECTURES = [[2, 1, 2], [784, 30, 10], [784, 100, 10], [784, 30, 30, 30, 10]]
ACTIVATIONS = ["sigmoid", "tanh", "relu"]
# (our loss, manual_backprop's name, output activation); cross_entropy takes logits.
LOSSES = [
    (nn.mse_loss, "mse", "sigmoid"),
    (nn.mse_loss, "mse", "softmax"),
    (nn.mse_loss, "mse", None),
    (nn.binary_cross_entropy, "binary_cross_entropy", "sigmoid"),
    (nn.cross_entropy, "cross_entropy", None),
]
TOLERANCE = 1e-10


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """Largest absolute difference, relative to the largest magnitude of the expected array."""
    scale = np.abs(expected).max()
    return float(np.abs(actual - expected).max() / scale) if scale else float(np.abs(actual).max())


def problem(sizes, activation, output_activation, loss_name, batch_size, seed=0):
    rng = np.random.default_rng(seed)
    model = nn.MLP(sizes, activation=activation, output_activation=output_activation, seed=seed)
    x = rng.random((batch_size, sizes[0]))
    labels = rng.integers(0, sizes[-1], batch_size)
    if loss_name == "cross_entropy":
        y = labels
    elif loss_name == "binary_cross_entropy":
        y = np.eye(sizes[-1])[labels]
    else:
        y = rng.random((batch_size, sizes[-1]))
    return model, x, y


def reference(model, x, y, loss_name):
    return nn.manual_backprop(
        [layer.weight.data for layer in model.layers],
        [layer.bias.data for layer in model.layers],
        x,
        y,
        activation=model.activation,
        output_activation=model.output_activation,
        loss=loss_name,
    )


@pytest.mark.parametrize("batch_size", [1, 10, 100])
@pytest.mark.parametrize("loss, loss_name, output_activation", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("sizes", ARCHITECTURES, ids=lambda s: "-".join(map(str, s)))
def test_autograd_equals_bp1_to_bp4(
    sizes, activation, loss, loss_name, output_activation, batch_size
):
    model, x, y = problem(sizes, activation, output_activation, loss_name, batch_size)
    cost = loss(model(x), y)
    cost.backward()
    expected = reference(model, x, y, loss_name)
    assert cost.item() == pytest.approx(expected.cost, rel=TOLERANCE)
    for l, layer in enumerate(model.layers):
        equation = "BP1" if l == len(model.layers) - 1 else "BP2"
        assert relative_error(model.zs[l].grad, expected.deltas[l]) < TOLERANCE, equation
        assert relative_error(layer.weight.grad, expected.grad_weights[l]) < TOLERANCE, "BP4"
        assert relative_error(layer.bias.grad, expected.grad_biases[l]) < TOLERANCE, "BP3"


@pytest.mark.parametrize("sizes", ARCHITECTURES, ids=lambda s: "-".join(map(str, s)))
def test_shortcut_output_error_for_sigmoid_cross_entropy_is_a_minus_y(sizes):
    model, x, y = problem(sizes, "sigmoid", "sigmoid", "binary_cross_entropy", 10)
    a = model(x)
    nn.binary_cross_entropy(a, y).backward()
    np.testing.assert_allclose(model.zs[-1].grad, (a.data - y) / 10, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("sizes", ARCHITECTURES, ids=lambda s: "-".join(map(str, s)))
def test_shortcut_output_error_for_softmax_cross_entropy_is_softmax_minus_onehot(sizes):
    model, x, labels = problem(sizes, "relu", None, "cross_entropy", 10)
    z = model(x)
    nn.cross_entropy(z, labels).backward()
    e = np.exp(z.data - z.data.max(axis=1, keepdims=True))
    softmax = e / e.sum(axis=1, keepdims=True)
    onehot = np.eye(sizes[-1])[labels]
    np.testing.assert_allclose(model.zs[-1].grad, (softmax - onehot) / 10, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("sizes", ARCHITECTURES, ids=lambda s: "-".join(map(str, s)))
@pytest.mark.parametrize("loss, loss_name, output_activation", LOSSES[::2])
def test_gradcheck_agrees_on_every_parameter(sizes, loss, loss_name, output_activation):
    """Central differences: element by element for small tensors, random directions for big."""
    model, x, y = problem(sizes, "tanh", output_activation, loss_name, 5)

    def cost(*values):
        hidden = x
        layers = len(model.layers)
        for i in range(layers):
            z = nn.affine(hidden, values[2 * i], values[2 * i + 1])
            last = i == layers - 1
            hidden = nn.layers.activation_function(output_activation if last else "tanh")(z)
        return loss(hidden, y)

    inputs = [Tensor(p.data, requires_grad=True) for p in model.parameters()]
    assert gradcheck(cost, *inputs, max_elements=200, directions=5, rtol=1e-5)
