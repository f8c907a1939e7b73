"""The speed limit: Nielsen's sigmoid network trained by hand-written backprop in plain numpy.

`MatrixBackprop` is the fastest honest numpy we could write: the whole mini-batch as one
matrix, every buffer preallocated, the learning rate and 1/n folded into the output delta so
no pass over a weight matrix is spent scaling. `per_example_epoch` is network.py's loop (one
column vector at a time), for reference. Imports numpy only and shares no code with the engine.
"""

from __future__ import annotations

import numpy as np

COSTS = ("quadratic", "cross_entropy")


def _sigmoid_in_place(z: np.ndarray) -> np.ndarray:
    """sigmoid(z) = (1 + tanh(z / 2)) / 2, written over z (the same formula as the engine's)."""
    z *= 0.5
    np.tanh(z, out=z)
    z *= 0.5
    z += 0.5
    return z


class MatrixBackprop:
    """SGD on [784, ..., 10] sigmoid layers with Nielsen's quadratic or cross-entropy cost.

    weights[l] is (out_features, in_features), biases[l] is (out_features,); they are copied.
    """

    def __init__(self, weights, biases, cost: str, lr: float, dtype=np.float64):
        if cost not in COSTS:
            raise ValueError(f"cost must be one of {COSTS}, got {cost!r}")
        self.weights = [np.array(w, dtype=dtype, order="C") for w in weights]
        self.biases = [np.array(b, dtype=dtype) for b in biases]
        self.cost, self.lr, self.dtype = cost, lr, np.dtype(dtype)
        # The weight-gradient buffers do not depend on the batch size; the rest do.
        self.weight_steps = [np.empty_like(w) for w in self.weights]
        self.bias_steps = [np.empty_like(b) for b in self.biases]
        self._buffers: dict[int, tuple] = {}

    def _batch_buffers(self, n: int) -> tuple:
        """(activations, deltas, slopes) for a batch of n rows, made once per batch size."""
        if n not in self._buffers:
            sizes = [w.shape[0] for w in self.weights]
            activations = [np.empty((n, m), self.dtype) for m in sizes]
            deltas = [np.empty((n, m), self.dtype) for m in sizes]
            slopes = [np.empty((n, m), self.dtype) for m in sizes]
            self._buffers[n] = activations, deltas, slopes
        return self._buffers[n]

    def step(self, x: np.ndarray, y: np.ndarray) -> None:
        """One SGD step on the mini-batch (x, y): rows are examples."""
        activations, deltas, slopes = self._batch_buffers(len(x))
        # Forward: a_l = sigmoid(a_{l-1} @ W_l^T + b_l), each written into its buffer.
        a = x
        for w, b, out in zip(self.weights, self.biases, activations):
            np.matmul(a, w.T, out=out)
            out += b
            a = _sigmoid_in_place(out)
        # Output delta (BP1), already times lr / n: (a - y) * sigma'(z) for the quadratic
        # cost, (a - y) for cross-entropy, where sigma'(z) cancels.
        delta = np.subtract(a, y, out=deltas[-1])
        if self.cost == "quadratic":
            slope = np.multiply(a, a, out=slopes[-1])
            np.subtract(a, slope, out=slope)  # a (1 - a) = sigma'(z)
            delta *= slope
        delta *= self.lr / len(x)
        # Backward (BP2) and update (BP3, BP4), layer by layer from the top; W_l is updated
        # only after delta_{l-1} has been computed from it.
        for l in range(len(self.weights) - 1, -1, -1):
            below = x if l == 0 else activations[l - 1]
            if l > 0:
                previous = np.matmul(delta, self.weights[l], out=deltas[l - 1])
                slope = np.multiply(below, below, out=slopes[l - 1])
                np.subtract(below, slope, out=slope)
                previous *= slope
            self.weights[l] -= np.matmul(delta.T, below, out=self.weight_steps[l])
            self.biases[l] -= np.sum(delta, axis=0, out=self.bias_steps[l])
            if l > 0:
                delta = previous

    def train_epoch(self, x: np.ndarray, y: np.ndarray, batches) -> None:
        """One epoch over the given index arrays, gathered as a user's loop does."""
        for idx in batches:
            self.step(x[idx], y[idx])


def per_example_epoch(weights, biases, cost: str, lr: float, x, y, batches) -> None:
    """network.py's update_mini_batch: backprop one column vector at a time, in place.

    weights and biases are lists of arrays, (out, in) and (out, 1), updated in place.
    """
    for idx in batches:
        nabla_w = [np.zeros_like(w) for w in weights]
        nabla_b = [np.zeros_like(b) for b in biases]
        for row in idx:
            activation = x[row].reshape(-1, 1)
            activations = [activation]
            for w, b in zip(weights, biases):
                activation = 1.0 / (1.0 + np.exp(-(w @ activation + b)))
                activations.append(activation)
            delta = activation - y[row].reshape(-1, 1)
            if cost == "quadratic":
                delta = delta * activation * (1 - activation)
            nabla_b[-1] += delta
            nabla_w[-1] += delta @ activations[-2].T
            for l in range(2, len(weights) + 1):
                a = activations[-l]
                delta = (weights[-l + 1].T @ delta) * a * (1 - a)
                nabla_b[-l] += delta
                nabla_w[-l] += delta @ activations[-l - 1].T
        scale = lr / len(idx)
        for w, b, nw, nb in zip(weights, biases, nabla_w, nabla_b):
            w -= scale * nw
            b -= scale * nb
