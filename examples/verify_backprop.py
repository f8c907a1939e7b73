"""Checking backpropagation: the engine against BP1-BP4, then a learner's buggy backprops.

    python examples/verify_backprop.py                  # everything
    python examples/verify_backprop.py --bug transposed # one planted bug (--help lists them)
    python -m nn.verify network.py:Network --sizes 2,3,2  # the same check on your own file

Part 1: nn.verify_backprop on a deep sigmoid MLP; every layer agrees three ways, and the
delta norms shrink toward the input (Nielsen ch. 5, vanishing gradients). Part 2:
nn.check_backprop on network.py's backprop with one mistake planted at a time.
"""

from __future__ import annotations

import argparse

import numpy as np

import nn


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


class Network:
    """network.py's weights, biases and backprop; `bug` picks one planted mistake."""

    def __init__(self, sizes, bug=None, seed=0):
        rng = np.random.default_rng(seed)
        self.num_layers = len(sizes)
        self.biases = [rng.standard_normal((y, 1)) for y in sizes[1:]]
        self.weights = [rng.standard_normal((y, x)) for x, y in zip(sizes[:-1], sizes[1:])]
        self.bug = bug

    def backprop(self, x, y):
        bug = self.bug
        if bug == "1-D vectors":
            x, y = x.ravel(), y.ravel()  # the mistake: (n,) instead of columns (n, 1)
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        activation, activations, zs = x, [x], []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + (b.ravel() if bug == "1-D vectors" else b)
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        if bug == "missing sigma' in BP1":
            delta = activations[-1] - y  # the mistake: no * sigmoid_prime(zs[-1])
        else:
            delta = (activations[-1] - y) * sigmoid_prime(zs[-1])
        nabla_b[-1] = self.bias_gradient(delta)
        nabla_w[-1] = self.outer(delta, activations[-2])
        if bug == "transposed nabla_w":
            nabla_w[-1] = np.dot(activations[-2], delta.transpose())  # the mistake
        for l in range(2, self.num_layers):
            z = zs[-l]
            # The mistake, for "sigma instead of sigma' in BP2": sigmoid(z), not sigmoid'(z).
            sp = sigmoid(z) if bug == "sigma instead of sigma' in BP2" else sigmoid_prime(z)
            if bug == "exception in backprop":
                delta = np.dot(self.weights[-l].transpose(), delta) * sp  # the mistake: -l
            delta = np.dot(self.weights[-l + 1].transpose(), delta) * sp
            index = -l + 1 if bug == "swapped layer index" else -l  # the mistake: -l + 1
            nabla_b[index] = self.bias_gradient(delta)
            nabla_w[index] = self.outer(delta, activations[-l - 1])
        return (nabla_b, nabla_w)

    def bias_gradient(self, delta):
        # BP3: the bias gradient is delta itself. The mistake: summed to one number.
        return delta.sum() if self.bug == "bias summed to a number" else delta

    def outer(self, delta, a):
        # A learner who made everything 1-D has to use np.outer: np.dot would be a number.
        return np.outer(delta, a) if self.bug == "1-D vectors" else np.dot(delta, a.transpose())


def rows_backprop(weights, biases, average=True):
    """The same with rows, x (batch, in): gradients of the batch-averaged cost."""

    def backprop(x, y):
        activations, zs = [x], []
        for w, b in zip(weights, biases):
            zs.append(activations[-1] @ w.T + b)
            activations.append(sigmoid(zs[-1]))
        delta = (activations[-1] - y) * sigmoid_prime(zs[-1])
        if average:  # the mistake, when False: a sum over the batch, not the mean
            delta = delta / len(x)
        nabla_b, nabla_w = [], []
        for l in range(1, len(weights) + 1):
            if l > 1:
                delta = (delta @ weights[-l + 1]) * sigmoid_prime(zs[-l])
            nabla_b.insert(0, delta.sum(axis=0))
            nabla_w.insert(0, delta.T @ activations[-l - 1])
        return nabla_b, nabla_w

    return backprop


# Short names for --bug, and the mistake each plants.
BUGS = {
    "1d-vectors": "1-D vectors",
    "transposed": "transposed nabla_w",
    "no-sigma-prime": "missing sigma' in BP1",
    "sigma-in-bp2": "sigma instead of sigma' in BP2",
    "sum-not-mean": "sum instead of mean over the batch",
    "swapped-index": "swapped layer index",
    "bias-summed": "bias summed to a number",
    "exception": "exception in backprop",
}


def bug_name(text: str) -> str:
    """The short name for text: a short name, or the full description of a planted bug."""
    by_description = {description: name for name, description in BUGS.items()}
    name = by_description.get(text, text)
    if name not in BUGS:
        raise argparse.ArgumentTypeError(f"unknown bug {text!r}: choose one of {', '.join(BUGS)}")
    return name


def check(bug: str, sizes=(2, 3, 3, 2), seed=1) -> nn.CheckResult:
    """check_backprop on network.py's backprop with the planted bug (a full description)."""
    rng = np.random.default_rng(seed)
    if bug == "sum instead of mean over the batch":
        net = Network(sizes)
        biases = [b.ravel() for b in net.biases]
        x, y = rng.random((10, sizes[0])), rng.random((10, sizes[-1]))
        summed = rows_backprop(net.weights, biases, average=False)
        return nn.check_backprop(summed, net.weights, biases, x, y, layout="rows")
    net = Network(sizes, bug)
    x, y = rng.random((3, sizes[0])), rng.random((3, sizes[-1]))
    return nn.check_backprop(net.backprop, net.weights, net.biases, x, y)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bug",
        type=bug_name,
        metavar="NAME",
        help="show only this planted bug: "
        + "; ".join(f"{name} ({description})" for name, description in BUGS.items()),
    )
    args = parser.parse_args(argv)
    if args.bug is None:
        rng = np.random.default_rng(0)
        model = nn.MLP([10, 8, 8, 8, 8, 2], seed=0)
        x, y = rng.random((20, 10)), rng.random((20, 2))
        print(nn.verify_backprop(model, x, y, loss=nn.mse_loss, samples=5))
    for bug in [BUGS[args.bug]] if args.bug else BUGS.values():
        print(f"\n===== planted bug: {bug} =====\n")
        print(check(bug))


if __name__ == "__main__":
    main()
