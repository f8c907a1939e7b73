"""nn.network3 (Nielsen's chapter 6 API) against our layers with his update, his L2 and dropout
semantics, his printed lines; load_data_shared on a pickle made here; expand_mnist."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conv_loops import conv_loop, max_pool_loop
from numpy.testing import assert_allclose

import autodiff
import nn
from nn import network3
from nn.network3 import ConvPoolLayer, FullyConnectedLayer, Network, SoftmaxLayer


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def toy_data(count: int, side: int = 14, seed: int = 0):
    """Images (count, side * side) whose label (0-2) says which third holds the bright blob."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, count)
    images = rng.random((count, side, side)) * 0.3
    for image, label in zip(images, labels):
        image[:, label * side // 3 : (label + 1) * side // 3] += 0.7
    return images.reshape(count, -1), labels


def two_conv_net(mbs: int, seed: int = 1, p_dropout: float = 0.0) -> Network:
    rng = np.random.default_rng(seed)
    layers = [
        ConvPoolLayer((3, 1, 3, 3), (mbs, 1, 14, 14), (2, 2), rng=rng),
        ConvPoolLayer((4, 3, 3, 3), (mbs, 3, 6, 6), (2, 2), network3.ReLU, rng=rng),
        FullyConnectedLayer(16, 8, p_dropout=p_dropout, rng=rng),
        SoftmaxLayer(8, 3, p_dropout=p_dropout),
    ]
    return Network(layers, mbs)


def test_two_conv_network_equals_the_same_net_from_our_layers_with_his_update():
    mbs, eta, lmbda, epochs = 5, 1.0, 0.1, 15
    training, validation = toy_data(100), toy_data(20, seed=1)
    net = two_conv_net(mbs)
    conv1, conv2, full, soft = net.layers
    soft.w.data[:] = np.random.default_rng(2).normal(0, 0.3, soft.w.shape)  # not all zero
    ours = nn.Sequential(
        nn.Conv2d(1, 3, 3), nn.MaxPool2d(2), nn.Sigmoid(),
        nn.Conv2d(3, 4, 3), nn.MaxPool2d(2), nn.ReLU(), nn.Flatten(),
        nn.Linear(16, 8), nn.Sigmoid(), nn.Linear(8, 3),
    )  # fmt: skip
    # His conv2d is a true convolution: our correlating layers hold the kernels flipped.
    for conv, layer in ((conv1, ours[0]), (conv2, ours[3])):
        layer.weight.data[:] = conv.w.data[:, :, ::-1, ::-1]
        layer.bias.data[:] = conv.b.data
    for his, layer in ((full, ours[7]), (soft, ours[9])):
        layer.weight.data[:] = his.w.data.T
        layer.bias.data[:] = his.b.data
    before = ours[0].weight.data.copy()

    result = net.SGD(training, epochs, mbs, eta, validation, lmbda=lmbda, verbose=False)

    batches = len(training[0]) // mbs
    optimizer = nn.SGD(ours.parameters(), lr=eta, weight_decay=lmbda / batches)
    x, y = training[0].reshape(-1, 1, 14, 14), training[1]
    for _ in range(epochs):
        for start in range(0, len(x), mbs):  # file order, no shuffling
            loss = nn.cross_entropy(ours(x[start : start + mbs]), y[start : start + mbs])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    assert not np.allclose(ours[0].weight.data, before)  # 300 steps moved the weights
    for conv, layer in ((conv1, ours[0]), (conv2, ours[3])):
        assert_allclose(layer.weight.data, conv.w.data[:, :, ::-1, ::-1], rtol=1e-9, atol=1e-12)
        assert_allclose(layer.bias.data, conv.b.data, rtol=1e-9, atol=1e-12)
    for his, layer in ((full, ours[7]), (soft, ours[9])):
        assert_allclose(layer.weight.data, his.w.data.T, rtol=1e-9, atol=1e-12)
        assert_allclose(layer.bias.data, his.b.data, rtol=1e-9, atol=1e-12)
    predictions = ours(validation[0].reshape(-1, 1, 14, 14)).data.argmax(1)
    assert result.validation_accuracies[-1] == np.mean(predictions == validation[1])
    assert result.best_validation_accuracy > 0.8  # it learned the toy task


def test_conv_pool_layer_is_convolution_then_pool_then_bias_then_activation():
    layer = ConvPoolLayer((2, 3, 3, 2), (4, 3, 7, 6), (2, 2), rng=0)
    x = np.random.default_rng(3).standard_normal((4, 3 * 7 * 6))
    out = layer.output(autodiff.Tensor(x), training=False, rng=None)
    # A true convolution is a correlation with the kernel turned by 180 degrees.
    convolved = conv_loop(x.reshape(4, 3, 7, 6), layer.w.data[:, :, ::-1, ::-1])
    pooled, _ = max_pool_loop(convolved, (2, 2))
    assert out.shape == (4, 2, 2, 2)
    assert_allclose(out.data, sigmoid(pooled + layer.b.data.reshape(1, -1, 1, 1)), rtol=1e-12)


def test_his_weight_initialisations():
    conv = ConvPoolLayer((20, 1, 5, 5), (10, 1, 28, 28), (2, 2), rng=0)
    full = FullyConnectedLayer(640, 100, rng=0)
    soft = SoftmaxLayer(100, 10)
    assert conv.w.shape == (20, 1, 5, 5) and conv.b.shape == (20,)
    assert abs(conv.w.data.std() - np.sqrt(1 / (20 * 25 / 4))) < 0.01
    assert full.w.shape == (640, 100) and abs(full.w.data.std() - 0.1) < 0.005
    assert abs(conv.b.data.std() - 1) < 0.5 and abs(full.b.data.std() - 1) < 0.2
    assert not soft.w.data.any() and not soft.b.data.any()
    with pytest.raises(ValueError, match="input feature maps"):
        ConvPoolLayer((20, 2, 5, 5), (10, 1, 28, 28))


def test_his_l2_term_covers_every_weight_and_no_bias_and_sgd_follows_its_gradient():
    mbs, eta, lmbda = 5, 0.2, 3.0
    training = toy_data(15, seed=4)  # three mini-batches
    net = two_conv_net(mbs, seed=5)
    net.layers[-1].w.data[:] = np.random.default_rng(6).normal(0, 0.3, (8, 3))
    x, y = training
    weights = [layer.w.data for layer in net.layers]
    l2 = net.cost(x[:mbs], y[:mbs], lmbda, 3).item() - net.cost(x[:mbs], y[:mbs]).item()
    assert_allclose(l2, 0.5 * lmbda * sum((w**2).sum() for w in weights) / 3, rtol=1e-12)
    # His update, from the gradient of his whole cost: w <- w - eta * d(cost)/dw.
    expected = [p.data.copy() for p in net.params]
    twin = two_conv_net(mbs, seed=5)
    twin.layers[-1].w.data[:] = net.layers[-1].w.data
    for start in range(0, 15, mbs):
        cost = twin.cost(x[start : start + mbs], y[start : start + mbs], lmbda, 3)
        grads = autodiff.grad(cost, twin.params)
        for p, g in zip(twin.params, grads):
            p.data -= eta * g.data
    net.SGD(training, 1, mbs, eta, training, lmbda=lmbda, verbose=False)
    for start, p, q in zip(expected, net.params, twin.params):
        assert not np.allclose(start, p.data)
        assert_allclose(p.data, q.data, rtol=1e-12, atol=1e-14)


def test_dropout_drops_inputs_unscaled_in_training_and_scales_by_one_minus_p_at_evaluation():
    full = FullyConnectedLayer(4, 6, p_dropout=0.5, rng=0)
    soft = SoftmaxLayer(6, 3, p_dropout=0.25)
    soft.w.data[:] = np.random.default_rng(1).standard_normal((6, 3))
    soft.b.data[:] = [0.1, -0.2, 0.3]
    net = Network([full, soft], 8, seed=7)
    x = np.random.default_rng(2).random((8, 4))
    rng = np.random.default_rng(7)  # the same stream as the network's
    keep_in = rng.random((8, 4)) < 0.5
    hidden = sigmoid((x * keep_in) @ full.w.data + full.b.data)
    keep_hidden = rng.random((8, 6)) < 0.75
    expected = (hidden * keep_hidden) @ soft.w.data + soft.b.data
    assert_allclose(net.forward(x, training=True).data, expected, rtol=1e-12)
    hidden = sigmoid(0.5 * (x @ full.w.data) + full.b.data)
    expected = 0.75 * (hidden @ soft.w.data) + soft.b.data
    assert_allclose(net.forward(x, training=False).data, expected, rtol=1e-12)
    assert np.array_equal(net.predict(x), expected.argmax(1))


def test_sgd_prints_his_lines_and_reports_test_accuracy_at_the_best_validation_epoch(capsys):
    mbs = 5
    net = two_conv_net(mbs, seed=8)
    result = net.SGD(toy_data(50), 4, mbs, 0.5, toy_data(20, seed=1), toy_data(23, seed=2))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Training mini-batch number 0"
    epochs = [line for line in lines if line.startswith("Epoch")]
    assert [re.fullmatch(r"Epoch (\d): validation accuracy \d+\.\d\d%", e)[1] for e in epochs] == [
        "0", "1", "2", "3"
    ]  # fmt: skip
    assert lines[-3] == "Finished training network."
    best = max(range(4), key=lambda e: (result.validation_accuracies[e], e))  # >=: latest tie
    assert lines[-2] == (
        f"Best validation accuracy of {result.validation_accuracies[best]:.2%} obtained at "
        f"iteration {10 * best + 9}"
    )
    # The test accuracy printed last is the one measured after the best epoch.
    last_best = max(i for i, line in enumerate(lines) if line.startswith("This is the best"))
    assert lines[last_best - 1] == epochs[best]
    test_line = lines[last_best + 1]
    assert test_line.startswith("The corresponding test accuracy is ")
    assert lines[-1] == "Corresponding test accuracy of " + test_line.rsplit(" ", 1)[1]
    assert result.test_accuracy == net.accuracy(toy_data(23, seed=2)) or best < 3
    # Accuracy over whole mini-batches only: 23 test images are 4 batches of 5.
    x, y = toy_data(23, seed=2)
    assert net.accuracy((x, y)) == np.mean(net.predict(x[:20]) == y[:20])
    assert np.array_equal(net.test_mb_predictions(1), net.predict(x[5:10]))


def test_load_data_shared_reads_a_pickle_in_his_layout(tmp_path):
    rng = np.random.default_rng(9)
    splits = [
        (rng.random((n, 784)).astype(np.float32), rng.integers(0, 10, n)) for n in (30, 10, 10)
    ]
    path = nn.data.save_nielsen_pickle(tmp_path / "mnist.pkl.gz", *splits)
    loaded = network3.load_data_shared(str(path))
    for (x, y), (ex, ey) in zip(loaded, splits):
        assert x.dtype == np.float32 and y.dtype == np.int32
        assert np.array_equal(x, ex) and np.array_equal(y, ey)
    assert network3.size(loaded[0]) == 30
    tampered = tmp_path / "tampered.pkl.gz"
    import gzip
    import pickle

    with gzip.open(tampered, "wb") as file:
        pickle.dump(print, file)
    with pytest.raises(ValueError, match="refused"):
        network3.load_data_shared(str(tampered))


# ---------------------------------------------------------------- expand_mnist


def shifted_directly(image: np.ndarray) -> list[np.ndarray]:
    """His recipe, one image at a time: np.roll by one pixel, then black out what wrapped."""
    square = image.reshape(28, 28)
    versions = [square]
    for shift, axis, wrapped in ((1, 0, 0), (-1, 0, 27), (1, 1, 0), (-1, 1, 27)):
        moved = np.roll(square, shift, axis)
        if axis == 0:
            moved[wrapped, :] = 0
        else:
            moved[:, wrapped] = 0
        versions.append(moved)
    return [v.reshape(784) for v in versions]


def test_expand_mnist_matches_rolling_each_image():
    rng = np.random.default_rng(10)
    images, labels = rng.random((4, 784)).astype(np.float32), np.array([3, 1, 4, 1])
    x, y = nn.data.expand_mnist((images, labels), shuffle=False)
    assert x.shape == (20, 784) and x.dtype == np.float32
    expected = np.stack([v for image in images for v in shifted_directly(image)])
    assert np.array_equal(x, expected)
    assert np.array_equal(y, np.repeat(labels, 5))
    shuffled, shuffled_labels = nn.data.expand_mnist((images, labels), seed=0)
    order = np.random.default_rng(0).permutation(20)
    assert np.array_equal(shuffled, expected[order])
    assert np.array_equal(shuffled_labels, y[order])
    again, _ = nn.data.expand_mnist((images, labels), seed=0)
    other, _ = nn.data.expand_mnist((images, labels), seed=1)
    assert np.array_equal(again, shuffled) and not np.array_equal(other, shuffled)
    with pytest.raises(ValueError, match=r"\(n, 784\)"):
        nn.data.expand_mnist((images.reshape(4, 28, 28), labels))
