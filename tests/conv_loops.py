"""Convolution and max-pooling written as the obvious loops: the independent reference for
nn/layers/conv.py and pooling.py (numpy for arithmetic, no stride tricks, no shared code)."""

from __future__ import annotations

import numpy as np


def padded(x: np.ndarray, padding: tuple) -> np.ndarray:
    n, c, h, w = x.shape
    out = np.zeros((n, c, h + 2 * padding[0], w + 2 * padding[1]))
    out[:, :, padding[0] : padding[0] + h, padding[1] : padding[1] + w] = x
    return out


def conv_loop(x, weight, bias=None, stride=(1, 1), padding=(0, 0)) -> np.ndarray:
    """y[n, o, i, j] = b[o] + sum_{c, u, v} w[o, c, u, v] xp[n, c, s i + u, s j + v]."""
    xp = padded(x, padding)
    n, _, hp, wp = xp.shape
    out_channels, in_channels, kh, kw = weight.shape
    oh, ow = (hp - kh) // stride[0] + 1, (wp - kw) // stride[1] + 1
    y = np.zeros((n, out_channels, oh, ow))
    for b in range(n):
        for o in range(out_channels):
            for i in range(oh):
                for j in range(ow):
                    total = 0.0 if bias is None else bias[o]
                    for c in range(in_channels):
                        for u in range(kh):
                            for v in range(kw):
                                r, s = i * stride[0] + u, j * stride[1] + v
                                total += weight[o, c, u, v] * xp[b, c, r, s]
                    y[b, o, i, j] = total
    return y


def conv_grads_loop(x, weight, grad, stride=(1, 1), padding=(0, 0)):
    """(dx, dw, db) of sum(grad * conv_loop(x, weight, b)), each term added where it acts."""
    xp = padded(x, padding)
    dxp = np.zeros_like(xp)
    dw = np.zeros(weight.shape)
    n, out_channels, oh, ow = grad.shape
    _, in_channels, kh, kw = weight.shape
    for b in range(n):
        for o in range(out_channels):
            for i in range(oh):
                for j in range(ow):
                    for c in range(in_channels):
                        for u in range(kh):
                            for v in range(kw):
                                r, s = i * stride[0] + u, j * stride[1] + v
                                dxp[b, c, r, s] += grad[b, o, i, j] * weight[o, c, u, v]
                                dw[o, c, u, v] += grad[b, o, i, j] * xp[b, c, r, s]
    h, w = x.shape[2:]
    dx = dxp[:, :, padding[0] : padding[0] + h, padding[1] : padding[1] + w]
    return dx, dw, grad.sum(axis=(0, 2, 3))


def max_pool_loop(x, kernel=(2, 2), stride=None):
    """(y, dx_of_ones_weights): the max of each window, and where its first maximum sits.

    Returns y and `chosen`, a list per output element of the (row, col) that holds the first
    maximum in row-major window order.
    """
    stride = kernel if stride is None else stride
    n, c, h, w = x.shape
    oh, ow = (h - kernel[0]) // stride[0] + 1, (w - kernel[1]) // stride[1] + 1
    y = np.zeros((n, c, oh, ow))
    chosen = np.zeros((n, c, oh, ow, 2), dtype=int)
    for b in range(n):
        for ch in range(c):
            for i in range(oh):
                for j in range(ow):
                    best, where = -np.inf, None
                    for u in range(kernel[0]):
                        for v in range(kernel[1]):
                            r, s = i * stride[0] + u, j * stride[1] + v
                            if where is None or x[b, ch, r, s] > best:
                                best, where = x[b, ch, r, s], (r, s)
                    y[b, ch, i, j] = best
                    chosen[b, ch, i, j] = where
    return y, chosen


def max_pool_grad_loop(x, grad, kernel=(2, 2), stride=None) -> np.ndarray:
    """dx of sum(grad * max_pool(x)): each output's gradient added at its first maximum."""
    _, chosen = max_pool_loop(x, kernel, stride)
    dx = np.zeros(x.shape)
    for index in np.ndindex(grad.shape):
        r, s = chosen[index]
        dx[index[0], index[1], r, s] += grad[index]
    return dx
