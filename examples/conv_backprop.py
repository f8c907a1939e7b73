"""Backprop through a conv layer and a max-pool layer, written by hand, then checked.

    python examples/conv_backprop.py                    # the right code, then every bug
    python examples/conv_backprop.py --bug rotation     # one planted bug

conv_backward and pool_backward are what a learner writes for Nielsen's chapter 6 problem,
with plain loops; `bug` plants one classic mistake. nn.check_conv_backprop and
nn.check_pool_backprop run them against the numpy oracle and say what is wrong.
"""

from __future__ import annotations

import argparse

import numpy as np

import nn

CONV_BUGS = ("rotation", "valid", "channels", "positions", "batch", "kernel_rotated", "raises")
POOL_BUGS = ("every", "ties", "overwrite")


def conv_backward(x, w, delta, stride=1, padding=0, bug=None):
    """(dC/dx, dC/dw, dC/db) of z = x correlated with w (+ b), from delta = dC/dz."""
    n, c, h, width = x.shape
    f, _, kh, kw = w.shape
    x_p = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    # delta's entries at their positions in the padded input's grid (stride - 1 zeros between).
    spread = np.zeros((n, f, (delta.shape[2] - 1) * stride + 1, (delta.shape[3] - 1) * stride + 1))
    spread[:, :, ::stride, ::stride] = delta

    # delta below: the full correlation of delta with the kernels rotated by 180 degrees.
    kernels = w if bug == "rotation" else w[:, :, ::-1, ::-1]
    rim = (0, 0) if bug == "valid" else (kh - 1, kw - 1)
    full = np.pad(spread, ((0, 0), (0, 0), (rim[0], rim[0]), (rim[1], rim[1])))
    rows, cols = full.shape[2] - kh + 1, full.shape[3] - kw + 1
    below = np.zeros((n, c, max(rows, x_p.shape[2]), max(cols, x_p.shape[3])))
    for i in range(rows):
        for j in range(cols):
            window = full[:, :, i : i + kh, j : j + kw]  # (n, f, kh, kw)
            if bug == "channels":
                below[:, :, i, j] = np.einsum("nfuv,cfuv->nc", window, kernels)
            else:
                below[:, :, i, j] = np.einsum("nfuv,fcuv->nc", window, kernels)
    if bug == "valid":
        below = below[:, :, :rows, :cols]
    else:
        below = below[:, :, padding : padding + h, padding : padding + width]

    # Kernel gradient: the valid correlation of the input with delta, over the batch.
    grad_w = np.zeros_like(w)
    for example in range(n):
        for u in range(kh):
            for v in range(kw):
                patch = x_p[example, :, u : u + spread.shape[2], v : v + spread.shape[3]]
                term = np.einsum("chw,fhw->fc", patch, spread[example])
                if bug == "batch":
                    grad_w[:, :, u, v] = term  # overwritten: only the last example survives
                else:
                    grad_w[:, :, u, v] += term
    if bug == "kernel_rotated":
        grad_w = grad_w[:, :, ::-1, ::-1]

    grad_b = delta.sum(axis=0) if bug == "positions" else delta.sum(axis=(0, 2, 3))
    if bug == "raises":
        grad_b = grad_b + delta.sum(axis=(0, 1))  # (f,) + (h, w): does not broadcast
    return below, grad_w, grad_b


def pool_backward(x, delta, size, stride, bug=None):
    """dC/dx of max-pooling size x size windows: delta to the window's (first) maximum."""
    grad = np.zeros_like(x)
    n, c, rows, cols = delta.shape
    for e in range(n):
        for k in range(c):
            for i in range(rows):
                for j in range(cols):
                    rows_ = slice(i * stride, i * stride + size)
                    cols_ = slice(j * stride, j * stride + size)
                    window, target = x[e, k, rows_, cols_], grad[e, k, rows_, cols_]
                    if bug == "every":
                        target += delta[e, k, i, j]
                        continue
                    if bug == "ties":
                        target += delta[e, k, i, j] * (window == window.max())
                        continue
                    u, v = np.unravel_index(np.argmax(window), window.shape)  # first maximum
                    if bug == "overwrite":
                        target[u, v] = delta[e, k, i, j]
                    else:
                        target[u, v] += delta[e, k, i, j]
    return grad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bug", choices=CONV_BUGS + POOL_BUGS)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3, 8, 8))  # 4 examples, 3 channels, 8x8
    w = rng.normal(size=(3, 3, 3, 3))  # 3 filters of 3x3 over 3 channels
    pooled = np.round(rng.normal(size=(4, 2, 6, 6)), 1)  # rounded: some windows tie
    conv_bugs = [b for b in CONV_BUGS if args.bug in (None, b)]
    pool_bugs = [b for b in POOL_BUGS if args.bug in (None, b)]
    for bug in ([None] if args.bug is None else []) + conv_bugs:
        print(f"==== conv_backward, bug={bug}")
        backward = lambda x, w, d, s, p, bug=bug: conv_backward(x, w, d, s, p, bug)  # noqa: E731
        print(nn.check_conv_backprop(backward, x, w, stride=2, padding=1), end="\n\n")
    for bug in ([None] if args.bug is None else []) + pool_bugs:
        print(f"==== pool_backward, bug={bug}")
        backward = lambda x, d, k, s, bug=bug: pool_backward(x, d, k, s, bug)  # noqa: E731
        print(nn.check_pool_backprop(backward, pooled, size=3, stride=2), end="\n\n")


if __name__ == "__main__":
    main()
