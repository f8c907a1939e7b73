"""nn.figures run tiny: each of Nielsen's figures shows what his shows, and the chapter 5
speeds of learning start where the BP1-BP4 oracle says they must."""

import numpy as np
import pytest

import nn

figures = pytest.importorskip("nn.figures")
pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def sample():
    return nn.data.load_sample(split="nielsen")


def test_overfitting_training_cost_falls_while_test_accuracy_lags(sample, tmp_path):
    figure = figures.overfitting(
        sample, train_size=60, epochs=10, test_size=200, path=tmp_path / "o.png"
    )
    curves = figure.curves
    assert all(len(values) == 10 for values in curves.values()) and len(figure.axes) == 4
    train_cost = curves["cost on the training data"]
    assert train_cost[-1] < train_cost[0] / 3
    train, test = curves["accuracy on the training data"], curves["accuracy on the test data"]
    assert train[-1] >= 0.9 and test[-1] < train[-1] - 0.2  # it memorised its 60 images
    assert (tmp_path / "o.png").read_bytes()[:4] == b"\x89PNG"


def test_regularization_holds_back_memorising(sample):
    curves = figures.regularization(
        sample, lmbda=5.0, train_size=60, epochs=8, test_size=100
    ).curves
    assert set(curves) == {
        f"{kind} accuracy, lambda = {value}" for kind in ("test", "training") for value in (0, 5)
    }
    assert curves["training accuracy, lambda = 5"][-1] < curves["training accuracy, lambda = 0"][-1]


def test_learning_rates_small_eta_learns_slowly(sample):
    curves = figures.learning_rates(sample, train_size=200, epochs=3).curves
    assert list(curves) == ["eta = 0.025", "eta = 0.25", "eta = 2.5"]
    assert curves["eta = 0.025"][-1] > curves["eta = 0.25"][-1]


def test_speed_of_learning_starts_at_the_oracles_delta_norms_and_vanishes(sample):
    curves = figures.speed_of_learning(
        sample, hidden_layers=(4,), train_size=50, epochs=1, seed=3
    ).curves
    sizes = [784, 30, 30, 30, 30, 10]
    starts = [curves[f"{sizes}: hidden layer {l}"][0] for l in range(1, 5)]
    assert all(len(curves[f"{sizes}: hidden layer {l}"]) == 2 for l in range(1, 5))
    # The same initial network, through Nielsen's equations by hand: ||delta^l|| = ||dC/db^l||.
    model = nn.MLP(sizes, seed=3)
    x, labels = sample.train[0][:50], sample.train[1][:50]
    oracle = nn.manual_backprop(
        [layer.weight.data for layer in model.layers],
        [layer.bias.data for layer in model.layers],
        x, nn.data.one_hot(labels), loss="binary_cross_entropy",
    )  # fmt: skip
    expected = [np.linalg.norm(g) for g in oracle.grad_biases[:-1]]
    np.testing.assert_allclose(starts, expected, rtol=1e-10)
    assert starts == sorted(starts)  # each layer learns slower than the one after it
