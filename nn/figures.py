"""Nielsen's figures, computed by this engine: one function per figure, seeded, each naming
the chapter it reproduces. Each trains its networks, then returns a matplotlib Figure (shown
inline in Jupyter) with the plotted numbers by line in `figure.curves`.

Pass MNIST as nn.data.load_mnist(split="nielsen") gives it; train_size and test_size take
the first images of each split (small values make the figures quick, and noisier).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .data import MNIST, iterate_minibatches, one_hot
from .layers import MLP
from .losses import binary_cross_entropy
from .optim import SGD
from .training import History, fit
from .training.plots import new_figure, save_png


def _first(pair: tuple, count: int | None) -> tuple:
    return pair if count is None else (pair[0][:count], pair[1][:count])


def _train_network2(
    mnist: MNIST, lmbda: float, epochs: int, train_size, test_size, seed: int, eta: float = 0.5
) -> History:
    """network2.py's chapter 3 run: [784, 30, 10], cross-entropy, large init, batch 10."""
    train = _first(mnist.train, train_size)
    model = MLP([784, 30, 10], init="large", seed=seed)
    optimizer = SGD(model.parameters(), lr=eta, weight_decay=lmbda / len(train[0]))
    return fit(
        model, binary_cross_entropy, optimizer, train, epochs=epochs, batch_size=10,
        evaluation=_first(mnist.test, test_size), monitor_training=True, seed=seed,
        progress=False,
    )  # fmt: skip


def overfitting(
    mnist: MNIST,
    train_size: int = 1000,
    epochs: int = 400,
    test_size: int | None = None,
    seed: int = 0,
    path: str | Path | None = None,
):
    """Chapter 3, "Overfitting and regularization": [784, 30, 10] trained on 1,000 images.

    The cost on the training data keeps falling for all 400 epochs, while the accuracy on
    the test data stops improving early on (around epoch 280 in the book): past that point
    the network learns peculiarities of its 1,000 images, not digits. Four panels: training
    cost, test cost, training accuracy, test accuracy.
    """
    history = _train_network2(mnist, 0.0, epochs, train_size, test_size, seed)
    curves = {
        "cost on the training data": history.train_cost,
        "cost on the test data": history.evaluation_cost,
        "accuracy on the training data": history.train_accuracy,
        "accuracy on the test data": history.evaluation_accuracy,
    }
    figure = new_figure(figsize=(10, 7), layout="constrained")
    for axes, (title, values) in zip(figure.subplots(2, 2).flat, curves.items()):
        axes.plot(range(1, len(values) + 1), values, color="#1f5fae")
        _style(axes, title.capitalize(), "cost" if "cost" in title else "accuracy")
    figure.suptitle(
        f"Overfitting: [784, 30, 10], cross-entropy, eta 0.5, {_n(mnist, train_size)} "
        "training images, no regularization"
    )
    return _finish(figure, curves, path)


def regularization(
    mnist: MNIST,
    lmbda: float = 0.1,
    train_size: int = 1000,
    epochs: int = 400,
    test_size: int | None = None,
    seed: int = 0,
    path: str | Path | None = None,
):
    """Chapter 3, "Regularization": the overfitting run again, with and without L2 (lmbda).

    With lmbda = 0.1 on 1,000 images the test accuracy keeps rising through the 400 epochs
    and ends above the unregularized run's, and the gap between training and test accuracy
    narrows: the weight decay keeps the network from memorising its training images.
    """
    curves = {}
    for value in (0.0, lmbda):
        history = _train_network2(mnist, value, epochs, train_size, test_size, seed)
        curves[f"test accuracy, lambda = {value:g}"] = history.evaluation_accuracy
        curves[f"training accuracy, lambda = {value:g}"] = history.train_accuracy
    figure = new_figure(figsize=(8, 5), layout="constrained")
    axes = figure.subplots()
    for (label, values), style in zip(curves.items(), ("-", ":", "-", ":")):
        colour = "#999999" if label.endswith(" 0") else "#1f5fae"
        axes.plot(range(1, len(values) + 1), values, style, color=colour, label=label)
    _style(axes, f"L2 regularization on {_n(mnist, train_size)} training images", "accuracy")
    axes.legend()
    return _finish(figure, curves, path)


def learning_rates(
    mnist: MNIST,
    etas: Sequence[float] = (0.025, 0.25, 2.5),
    epochs: int = 30,
    train_size: int | None = None,
    lmbda: float = 5.0,
    seed: int = 0,
    path: str | Path | None = None,
):
    """Chapter 3, "How to choose a neural network's hyper-parameters": the training cost per
    epoch for three learning rates ([784, 30, 10], cross-entropy, lmbda 5.0, batch 10).

    eta = 0.025 lowers the cost slowly, eta = 0.25 fast and smoothly, and eta = 2.5
    overshoots: its cost oscillates from the first epochs on, well above the other two. The
    cost plotted is the cross-entropy alone (network2.py's total_cost adds the L2 term).
    """
    train = _first(mnist.train, train_size)
    curves = {}
    for eta in etas:
        model = MLP([784, 30, 10], seed=seed)
        optimizer = SGD(model.parameters(), lr=eta, weight_decay=lmbda / len(train[0]))
        history = fit(
            model, binary_cross_entropy, optimizer, train, epochs=epochs, batch_size=10,
            monitor_training=True, seed=seed, progress=False,
        )  # fmt: skip
        curves[f"eta = {eta:g}"] = history.train_cost
    figure = new_figure(figsize=(8, 5), layout="constrained")
    axes = figure.subplots()
    for (label, values), colour in zip(curves.items(), ("#2a9d3f", "#1f5fae", "#d1402a")):
        axes.plot(range(1, len(values) + 1), values, color=colour, label=label)
    _style(axes, f"Cost on {len(train[0]):,} training images, lambda = {lmbda:g}", "cost")
    axes.legend()
    return _finish(figure, curves, path)


def speed_of_learning(
    mnist: MNIST,
    hidden_layers: Sequence[int] = (2, 3, 4),
    width: int = 30,
    train_size: int = 1000,
    epochs: int = 500,
    eta: float = 0.1,
    lmbda: float = 5.0,
    batch_size: int = 1000,
    seed: int = 0,
    path: str | Path | None = None,
):
    """Chapter 5, "The vanishing gradient problem": ||delta^l|| for each hidden layer l over
    training, for [784, 30, 30, 10], [784, 30, 30, 30, 10] and four hidden layers.

    delta^l = dC/db^l is the gradient of the cost on all train_size images (his "speed of
    learning" of layer l), measured before training and after each epoch. As his
    generate_gradient.py: cross-entropy, default init, eta 0.1, lmbda 5.0, and mini-batches
    of 1,000, so each epoch is one step of gradient descent on all 1,000 images. Earlier
    layers learn slower: with four hidden layers the first starts about 100 times slower
    than the last. curves holds, by network and layer, epochs + 1 norms.
    """
    x, labels = _first(mnist.train, train_size)
    y = one_hot(labels)
    curves = {}
    figure = new_figure(figsize=(5 * len(hidden_layers), 4.5), layout="constrained")
    for axes, count in zip(np.atleast_1d(figure.subplots(1, len(hidden_layers))), hidden_layers):
        sizes = [784] + [width] * count + [10]
        model = MLP(sizes, seed=seed)
        optimizer = SGD(model.parameters(), lr=eta, weight_decay=lmbda / len(x))
        rng = np.random.default_rng(seed)
        norms = [_bias_gradient_norms(model, x, y)]
        for _ in range(epochs):
            for xb, yb in iterate_minibatches(x, y, batch_size, seed=rng):
                optimizer.zero_grad()
                binary_cross_entropy(model(xb), yb).backward()
                optimizer.step()
            norms.append(_bias_gradient_norms(model, x, y))
        for layer, values in enumerate(np.array(norms).T[:-1], start=1):
            curves[f"{sizes}: hidden layer {layer}"] = values.tolist()
            axes.plot(values, label=f"hidden layer {layer}")
        axes.set_yscale("log")
        _style(axes, f"{sizes}", r"speed of learning $\|\delta^l\|$")
        axes.legend()
    figure.suptitle(
        f"Speed of learning per hidden layer: {len(x):,} training images, mini-batches of "
        f"{min(batch_size, len(x)):,}, eta {eta:g}, lambda {lmbda:g}"
    )
    return _finish(figure, curves, path)


def _bias_gradient_norms(model: MLP, x, y) -> list[float]:
    """||dC/db^l|| for every layer, C the cost on all of x."""
    model.zero_grad()
    binary_cross_entropy(model(x), y).backward()
    return [float(np.linalg.norm(layer.bias.grad)) for layer in model.layers]


def _n(mnist: MNIST, count: int | None) -> str:
    return f"{len(_first(mnist.train, count)[0]):,}"


def _style(axes, title: str, ylabel: str) -> None:
    from matplotlib.ticker import MaxNLocator

    axes.set_title(title)
    axes.set_xlabel("epoch")
    axes.set_ylabel(ylabel)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=0.3)


def _finish(figure, curves: dict, path):
    figure.curves = curves
    save_png(figure, path)
    return figure
