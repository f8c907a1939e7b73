"""Backpropagation in a convolutional network, by hand in numpy: the oracle for chapter 6.

Boundary: numpy and the standard library only, sharing no code with autodiff/ or the rest of
nn/ (not even equations.py), so tests can check the engine against it. Float64 throughout.

Layout NCHW, as PyTorch: x (batch, C, H, W); kernels w (F, C, kh, kw); bias b (F,). A conv
layer correlates (no kernel flip, like PyTorch; Theano's conv2d flips):

    z[n,f,i,j] = sum_{c,u,v} x_p[n,c, i*s + u, j*s + v] w[f,c,u,v] + b[f]          (CONV)

with x_p the input zero-padded by p on each side and s the stride. Output size
H_out = (H + 2p - kh) // s + 1. delta = dC/dz has z's shape. The chain rule through CONV,
dC/dq = sum over every z that q touches of dC/dz * dz/dq, gives the three equations:

C1  delta of the layer below (dC/dx). x_p[n,c,h,w] meets w[f,c,u,v] in z[n,f,i,j] exactly
    when h = i*s + u, so dC/dx_p[n,c,h,w] = sum_{f,u,v} delta[n,f,(h-u)/s,(w-v)/s] w[f,c,u,v]
    over the (h-u)/s that are whole numbers in range. Spread delta out by the stride (s-1
    zeros between entries), pad it by kh-1, kw-1 all round, and substitute u -> kh-1-u:
    that sum is the FULL correlation of the spread delta with the kernels rotated by 180
    degrees, w[f,c,::-1,::-1], channels in and out exchanged (sum over f, one map per c).
    Crop the padding p to get dC/dx. (A full convolution with the unrotated kernel is the
    same thing: rotation is what turns correlation into convolution.)
C2  kernel gradient. dz[n,f,i,j]/dw[f,c,u,v] = x_p[n,c,i*s+u,j*s+v], so
    dC/dw[f,c,u,v] = sum_n sum_{i,j} x_p[n,c,i*s+u,j*s+v] delta[n,f,i,j]: the VALID
    correlation of the input with (spread) delta, summed over the batch. Shape (F, C, kh, kw).
C3  bias gradient. dz[n,f,i,j]/db[f] = 1, so dC/db[f] = sum_{n,i,j} delta[n,f,i,j]: delta
    summed over the batch AND over every position. Shape (F,).
P1  max-pooling. out[n,c,i,j] = max of the k x k window at (i*s, j*s) (s = k by default).
    The max is locally the one entry it picks, so its derivative is 1 there and 0 elsewhere:
    delta goes to the arg-max of its window only (the first maximum in row-major window
    order, as PyTorch, on ties), added up where windows overlap; other entries get 0.

Fully connected layers are Nielsen's BP2-BP4 with rows as examples; activations multiply
delta by sigma'(z); dropout multiplies by its fixed mask (scaling included); Flatten reshapes.
Costs average over the batch, so every delta carries the 1/batch factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACTIVATIONS = ("sigmoid", "tanh", "relu")
LOSSES = ("mse", "cross_entropy")


# ---------------------------------------------------------------- shapes


def output_size(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    """(size + 2 padding - kernel) // stride + 1: the positions where the window fits."""
    return (size + 2 * padding - kernel) // stride + 1


def pair(value) -> tuple[int, int]:
    """(rows, columns) from one number or a pair: strides, paddings and pool sizes may be either."""
    rows, cols = (value, value) if np.ndim(value) == 0 else value
    return int(rows), int(cols)


def windows(a: np.ndarray, kh: int, kw: int, stride=1) -> np.ndarray:
    """(N, C, H_out, W_out, kh, kw): every kh x kw window of a (N, C, H, W), stride apart."""
    sh, sw = pair(stride)
    return np.lib.stride_tricks.sliding_window_view(a, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]


def pad(a: np.ndarray, ph: int, pw: int) -> np.ndarray:
    """a (N, C, H, W) with ph zero rows above and below, pw zero columns left and right."""
    return np.pad(a, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def spread(delta: np.ndarray, stride=1) -> np.ndarray:
    """delta with stride - 1 zeros between neighbouring entries: its positions in x_p's grid."""
    (sh, sw), (n, f, h, w) = pair(stride), delta.shape
    result = np.zeros((n, f, (h - 1) * sh + 1, (w - 1) * sw + 1))
    result[:, :, ::sh, ::sw] = delta
    return result


# ---------------------------------------------------------------- convolution


def conv_forward(x, w, b, stride=1, padding=0) -> np.ndarray:
    """z = x (valid-)correlated with w at this stride, after zero-padding, plus b (CONV).

    stride and padding: one number, or a pair (rows, columns) as nn.Conv2d stores them.
    """
    x, w, b = (np.asarray(a, dtype=np.float64) for a in (x, w, b))
    kh, kw = w.shape[2:]
    patches = windows(pad(x, *pair(padding)), kh, kw, stride)
    return np.einsum("nchwuv,fcuv->nfhw", patches, w) + b[None, :, None, None]  # CONV


def conv_backward(x, w, delta, stride=1, padding=0):
    """(dC/dx, dC/dw, dC/db) of a conv layer from delta = dC/dz: C1, C2, C3 above."""
    x, w, delta = (np.asarray(a, dtype=np.float64) for a in (x, w, delta))
    kh, kw = w.shape[2:]
    ph, pw = pair(padding)
    x_p = pad(x, ph, pw)
    spread_delta = spread(delta, stride)

    # C1: full correlation of the spread delta with the rotated kernels, channels exchanged.
    full = pad(spread_delta, kh - 1, kw - 1)
    rotated = w[:, :, ::-1, ::-1]
    below = np.einsum("nfhwuv,fcuv->nchw", windows(full, kh, kw, 1), rotated)  # C1
    # Rows and columns of x_p past the last window (when the stride does not divide) get 0.
    grad_x_p = np.zeros_like(x_p)
    grad_x_p[:, :, : below.shape[2], : below.shape[3]] = below
    grad_x = grad_x_p[:, :, ph : x_p.shape[2] - ph, pw : x_p.shape[3] - pw]

    # C2: valid correlation of the input with the spread delta, summed over the batch n.
    sh, sw = spread_delta.shape[2:]
    grad_w = np.einsum("nchwij,nfij->fchw", windows(x_p, sh, sw, 1), spread_delta)  # C2
    grad_w = grad_w[:, :, :kh, :kw]

    grad_b = delta.sum(axis=(0, 2, 3))  # C3: over the batch and over every position
    return grad_x, grad_w, grad_b


# ---------------------------------------------------------------- max-pooling


def maxpool_forward(x, size, stride=None) -> np.ndarray:
    """The largest entry of each size x size window, windows stride apart (default size).

    size and stride: one number or a pair (rows, columns), as nn.MaxPool2d stores them.
    """
    x = np.asarray(x, dtype=np.float64)
    return windows(x, *pair(size), stride or size).max(axis=(4, 5))


def maxpool_backward(x, delta, size, stride=None) -> np.ndarray:
    """dC/dx: each delta entry to the first arg-max of its window, summed on overlaps (P1)."""
    x, delta = np.asarray(x, dtype=np.float64), np.asarray(delta, dtype=np.float64)
    (kh, kw), (sh, sw) = pair(size), pair(stride or size)
    n, c, h_out, w_out = delta.shape
    patches = windows(x, kh, kw, (sh, sw)).reshape(n, c, h_out, w_out, kh * kw)
    # np.argmax returns the first maximum in row-major order: PyTorch's tie rule.
    u, v = np.divmod(patches.argmax(axis=-1), kw)
    rows = np.arange(h_out)[None, None, :, None] * sh + u
    cols = np.arange(w_out)[None, None, None, :] * sw + v
    grad_x = np.zeros_like(x)
    nn_, cc = np.indices((n, c, h_out, w_out))[:2]
    np.add.at(grad_x, (nn_, cc, rows, cols), delta)  # P1: the arg-max only; overlaps add
    return grad_x


# ---------------------------------------------------------------- activations and costs


def _sigmoid(z):
    e = np.exp(-np.abs(z))  # never overflows
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def activation(name: str, z):
    return {"sigmoid": _sigmoid, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0)}[name](z)


def derivative(name: str, z):
    """sigma'(z); relu'(0) is taken as 0."""
    if name == "sigmoid":
        return _sigmoid(z) * (1 - _sigmoid(z))
    if name == "tanh":
        return 1 - np.tanh(z) ** 2
    return (z > 0).astype(np.float64)


def _targets(y, output: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if np.issubdtype(y.dtype, np.integer) and y.shape == output.shape[:1]:
        return np.eye(output.shape[1])[y]
    return y.astype(np.float64).reshape(output.shape)


def cost_and_gradient(output, y, loss: str) -> tuple[float, np.ndarray]:
    """C averaged over the batch and dC/d(output); cross_entropy takes logits."""
    y, n = _targets(y, output), len(output)
    if loss == "mse":
        return float(0.5 * ((output - y) ** 2).sum() / n), (output - y) / n
    shifted = output - output.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-(y * log_p).sum() / n), (np.exp(log_p) - y) / n


# ---------------------------------------------------------------- a whole network


@dataclass(frozen=True)
class ConvBackprop:
    """One pass; index i is layer i of the list. inputs[i] and outputs[i] are what layer i
    took and gave; deltas[i] = dC/d outputs[i] (for conv and linear layers, dC/dz);
    grad_input = dC/dx. grad_weights[i], grad_biases[i]: for layers with parameters only."""

    inputs: list[np.ndarray]
    outputs: list[np.ndarray]
    deltas: list[np.ndarray]
    grad_weights: dict[int, np.ndarray]
    grad_biases: dict[int, np.ndarray]
    grad_input: np.ndarray
    cost: float


def conv_net_backprop(layers: list[dict], x, y, loss: str = "mse") -> ConvBackprop:
    """Forward pass, then C1-C3, P1 and BP2-BP4 back through a list of layers.

    Each layer is a dict with "kind": "conv" (weight (F, C, kh, kw), bias (F,), stride,
    padding), "pool" (size, stride or None), "linear" (weight (out, in), bias (out,)),
    "activation" (name: sigmoid, tanh or relu), "flatten", or "dropout" (mask: the output is
    input * mask, the 1 / (1 - p) scaling included). loss: "mse" (Nielsen's quadratic cost)
    or "cross_entropy" (softmax from the last output, the logits); y is shaped like the
    output, or integer labels for cross_entropy.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    inputs, outputs = [], []
    a = np.asarray(x, dtype=np.float64)
    for layer in layers:
        inputs.append(a)
        a = _forward(layer, a)
        outputs.append(a)
    cost, delta = cost_and_gradient(a, y, loss)
    deltas = [None] * len(layers)
    grad_weights, grad_biases = {}, {}
    for i in reversed(range(len(layers))):
        deltas[i] = delta
        delta, grads = _backward(layers[i], inputs[i], outputs[i], delta)
        if grads is not None:
            grad_weights[i], grad_biases[i] = grads
    return ConvBackprop(inputs, outputs, deltas, grad_weights, grad_biases, delta, cost)


def _forward(layer: dict, a: np.ndarray) -> np.ndarray:
    kind = layer["kind"]
    if kind == "conv":
        return conv_forward(a, layer["weight"], layer["bias"], layer["stride"], layer["padding"])
    if kind == "pool":
        return maxpool_forward(a, layer["size"], layer.get("stride"))
    if kind == "linear":
        return a @ np.asarray(layer["weight"], dtype=np.float64).T + layer["bias"]
    if kind == "activation":
        return activation(layer["name"], a)
    if kind == "flatten":
        return a.reshape(len(a), -1)
    if kind == "dropout":
        return a * layer["mask"]
    raise ValueError(f"unknown layer kind {kind!r}")


def _backward(layer: dict, a: np.ndarray, out: np.ndarray, delta: np.ndarray):
    """(dC/d input, (weight grad, bias grad) or None) from delta = dC/d output."""
    kind = layer["kind"]
    if kind == "conv":
        below, grad_w, grad_b = conv_backward(
            a, layer["weight"], delta, layer["stride"], layer["padding"]
        )
        return below, (grad_w, grad_b)
    if kind == "pool":
        return maxpool_backward(a, delta, layer["size"], layer.get("stride")), None
    if kind == "linear":
        w = np.asarray(layer["weight"], dtype=np.float64)
        return delta @ w, (delta.T @ a, delta.sum(axis=0))  # BP2's matrix product, BP4, BP3
    if kind == "activation":
        return delta * derivative(layer["name"], a), None  # BP2's sigma'(z)
    if kind == "flatten":
        return delta.reshape(a.shape), None
    return delta * layer["mask"], None
