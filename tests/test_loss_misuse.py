"""Costs given the wrong kind of output say which cost fits: cross_entropy on a sigmoid or
softmax output, binary_cross_entropy on logits."""

import warnings

import numpy as np
import pytest

import nn
from autodiff import Tensor


def test_binary_cross_entropy_on_logits_names_the_logits_loss_instead_of_nan():
    logits = Tensor(np.array([[-2.0, 0.5, 3.0]]), requires_grad=True)
    target = np.array([[0.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match=r"from -2 to 3.*binary_cross_entropy_with_logits"):
        nn.binary_cross_entropy(logits, target)
    # Probabilities that did not come from our sigmoid are still taken as they are.
    probabilities = Tensor(np.array([[0.2, 0.7, 0.9]]))
    expected = -np.sum(np.log([0.8, 0.7, 0.9]))
    assert nn.binary_cross_entropy(probabilities, target).item() == pytest.approx(expected)


def test_cross_entropy_on_a_sigmoid_output_warns_and_names_binary_cross_entropy():
    model = nn.MLP([4, 3], seed=0)  # output_activation="sigmoid", like network.py
    x, labels = np.random.default_rng(0).random((5, 4)), np.array([0, 1, 2, 0, 1])
    with pytest.warns(UserWarning, match=r"input came from sigmoid.*nn\.binary_cross_entropy"):
        nn.cross_entropy(model(x), labels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.cross_entropy(nn.MLP([4, 3], output_activation=None, seed=0)(x), labels)


def test_cross_entropy_on_a_softmax_output_is_nielsens_log_likelihood():
    rng = np.random.default_rng(1)
    x, labels = rng.normal(size=(6, 4)), np.array([0, 1, 2, 2, 1, 0])
    model = nn.MLP([4, 5, 3], output_activation="softmax", seed=2)
    cost = nn.cross_entropy(model(x), labels)
    cost.backward()
    a = model.activations[-1].data
    # Chapter 3: C = -(1/n) sum_x ln a^L_y, and delta^L = a^L - y.
    assert cost.item() == pytest.approx(-np.mean(np.log(a[np.arange(6), labels])), rel=1e-12)
    np.testing.assert_allclose(model.zs[-1].grad, (a - np.eye(3)[labels]) / 6, rtol=1e-10)


# ---------------------------------------------------------------- targets that are not numbers

OUTPUT = np.full((3, 3), 0.25)
REFUSED_TARGETS = [
    # (loss, target, words the message must hold)
    (nn.mse_loss, OUTPUT * (1 + 1j), r"dtype complex128 \(complex numbers\).*real numbers"),
    (nn.binary_cross_entropy, 0.5 + 0j, r"dtype complex128 \(complex numbers\)"),
    (nn.binary_cross_entropy_with_logits, OUTPUT + 0j, r"dtype complex128"),
    (nn.cross_entropy, OUTPUT + 1j, r"dtype complex128 .*labels must be integers 0\.\.2"),
    (nn.cross_entropy, np.array(["a", "b", "c"]), r"dtype <U1 \(strings\).*integers 0\.\.2"),
    (
        nn.cross_entropy,
        [0.0, 1.0, 0.5],
        r"labels of dtype float64: labels must be integers 0\.\.2"
        r" of shape \(3,\) or rows shaped like the output \(3, 3\); got 0\.5",
    ),  # fmt: skip
    (nn.cross_entropy, np.array([0.0, 2.0, 1.0]), r"float64.*whole numbers.*astype\(int\)"),
    (nn.mse_loss, [["1", "2", "3"]] * 3, r"dtype <U1 \(strings\)"),
    (nn.binary_cross_entropy, np.full((3, 3), None), r"dtype object \(Python objects"),
]


@pytest.mark.parametrize("loss, target, words", REFUSED_TARGETS)
def test_targets_that_are_not_real_numbers_are_refused_naming_the_dtype(loss, target, words):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning and a cast
        with pytest.raises(TypeError, match=words):
            loss(Tensor(OUTPUT, requires_grad=True), target)


def test_real_targets_of_every_kind_are_still_taken():
    output = Tensor(OUTPUT, requires_grad=True)
    assert nn.cross_entropy(output, np.array([0, 2, 1], dtype=np.uint8)).item() > 0
    assert nn.mse_loss(output, np.eye(3, dtype=bool)).item() > 0
    assert nn.binary_cross_entropy(output, np.eye(3, dtype=np.int32)).item() > 0
    assert nn.cross_entropy(output, np.full((3, 3), 1 / 3)).item() > 0  # probability rows
