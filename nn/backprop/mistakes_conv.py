"""What a learner's conv or max-pool gradients WOULD be under each classic mistake.

Each mistake is simulated: the oracle's equations (equations_conv) run with the one step
done wrong, giving the exact arrays a learner who made it returns. Only computes; check_conv
does the matching. Names of the entries: grad_x (C1 or P1, the delta of the layer below),
grad_weight (C2), grad_bias (C3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import equations_conv as eq


@dataclass(frozen=True)
class Mistake:
    """One wrong way to compute one entry: a short verdict, plain words, the array it gives."""

    entry: str
    verdict: str
    words: str
    array: np.ndarray


ROTATE = "w[:, :, ::-1, ::-1]"


def conv_mistakes(x, w, delta, stride: int, padding: int) -> list[Mistake]:
    """The classic conv-layer mistakes for this input, kernels and delta, most common first."""
    grad_x, grad_w, grad_b = eq.conv_backward(x, w, delta, stride, padding)
    rotated = w[:, :, ::-1, ::-1]
    kh, kw = w.shape[2:]
    x_p = eq.pad(x, padding, padding)
    spread = eq.spread(delta, stride)
    found = [
        Mistake(
            "grad_x",
            "kernel not rotated",
            "the kernels are not rotated: it correlates delta with w where C1 needs the "
            f"kernels rotated by 180 degrees, {ROTATE} (the forward pass is a correlation, so "
            "the backward pass is a convolution: correlation with the rotated kernel)",
            eq.conv_backward(x, rotated, delta, stride, padding)[0],
        ),
        Mistake(
            "grad_weight",
            "kernel gradient rotated",
            "the kernel gradient is rotated by 180 degrees: a convolution of the input with "
            "delta where C2 is their correlation, dC/dw[f,c,u,v] = sum x[n,c,i*s+u,j*s+v] "
            "delta[n,f,i,j]",
            grad_w[:, :, ::-1, ::-1],
        ),
        Mistake(
            "grad_x",
            "valid instead of full",
            "off-by-one output size: a 'valid' correlation of delta with the rotated kernels "
            f"where C1 needs the 'full' one (delta padded by kernel size - 1 = {kh - 1} all "
            "round), so the delta below comes out smaller than the layer's input",
            _valid_delta_below(spread, rotated),
        ),
        Mistake(
            "grad_bias",
            "not summed over positions",
            "the bias gradient is not summed over positions: one kernel shares one bias across "
            "every position (i, j), so C3 sums delta over the batch AND the positions, "
            "delta.sum(axis=(0, 2, 3))",
            delta.sum(axis=0),
        ),
        Mistake(
            "grad_bias",
            "averaged over positions",
            "the bias gradient averages delta over the positions where C3 sums it: "
            "delta.sum(axis=(0, 2, 3)), not .mean over (2, 3)",
            delta.sum(axis=0).mean(axis=(1, 2)),
        ),
    ]
    n = len(x)
    if n > 1:
        last_x = eq.conv_backward(x[-1:], w, delta[-1:], stride, padding)
        first_x = eq.conv_backward(x[:1], w, delta[:1], stride, padding)
        per_example = np.stack(
            [
                eq.conv_backward(x[i : i + 1], w, delta[i : i + 1], stride, padding)[1]
                for i in range(n)
            ]
        )
        overwritten = "overwritten in the loop: = instead of +="
        found += [
            _batch("grad_weight", "the last example only", overwritten, last_x[1]),
            _batch(
                "grad_weight", "the first example only", "only x[0] and delta[0] used", first_x[1]
            ),
            _batch("grad_bias", "the last example only", overwritten, last_x[2]),
            _batch("grad_bias", "the first example only", "only delta[0] used", first_x[2]),
            Mistake(
                "grad_weight",
                "one per example",
                f"missing sum over the batch: one kernel gradient per example, shape "
                f"{per_example.shape}; C2 sums x[n] correlated with delta[n] over every n",
                per_example,
            ),
            Mistake(
                "grad_bias",
                "one per example",
                f"missing sum over the batch: one bias gradient per example, shape "
                f"{(n, len(grad_b))}; C3 sums delta over the batch and the positions",
                delta.sum(axis=(2, 3)),
            ),
            Mistake(
                "grad_weight",
                "averaged over the batch",
                "the kernel gradient is averaged over the batch where C2 sums it: the cost "
                "already averages, so delta carries the 1/batch factor",
                grad_w / n,
            ),
            Mistake(
                "grad_bias",
                "averaged over the batch",
                "the bias gradient is averaged over the batch where C3 sums it: delta already "
                "carries the 1/batch factor",
                grad_b / n,
            ),
        ]
    if w.shape[0] == w.shape[1]:
        # With as many filters as channels the transposed kernels fit, and run without error.
        transposed = w.transpose(1, 0, 2, 3)
        found.append(
            Mistake(
                "grad_x",
                "channels transposed",
                "the kernels' channel axes are not exchanged: C1 sums over the filters f, "
                "sum_f delta[n,f] * rot(w[f,c]), one map per input channel c; it used w[c,f]",
                eq.conv_backward(x, transposed, delta, stride, padding)[0],
            )
        )
    found.append(
        Mistake(
            "grad_weight",
            "channels transposed",
            "the kernel gradient's channel axes are exchanged, (in_channels, out_channels, kh, "
            f"kw); it must have the kernels' shape (out_channels, in_channels, kh, kw) = {w.shape}",
            grad_w.transpose(1, 0, 2, 3),
        )
    )
    if padding:
        found.append(
            Mistake(
                "grad_x",
                "padding not cropped",
                f"the delta below still has the padding: it is dC/dx_padded; crop {padding} "
                "rows and columns from each side to get dC/dx",
                _padded_delta_below(x_p, w, delta, stride),
            )
        )
    if stride > 1:
        found.append(
            Mistake(
                "grad_x",
                "stride ignored",
                f"the stride {stride} is ignored: delta must be spread out with {stride - 1} "
                "zeros between its entries (its positions in the input's grid) before the full "
                "correlation",
                _unspread_delta_below(delta, rotated),
            )
        )
    return found


def _batch(entry: str, which: str, how: str, array: np.ndarray) -> Mistake:
    equation = "C2" if entry == "grad_weight" else "C3"
    words = (
        f"missing sum over the batch: the {'kernel' if equation == 'C2' else 'bias'} gradient "
        f"of {which} ({how}); {equation} sums over every example"
    )
    return Mistake(entry, f"{which}", words, array)


def _valid_delta_below(spread: np.ndarray, rotated: np.ndarray) -> np.ndarray:
    kh, kw = rotated.shape[2:]
    if spread.shape[2] < kh or spread.shape[3] < kw:
        return np.zeros((0,))
    return np.einsum("nfhwuv,fcuv->nchw", eq.windows(spread, kh, kw, 1), rotated)


def _padded_delta_below(x_p, w, delta, stride: int) -> np.ndarray:
    # dC/dx_p is the delta below of an unpadded layer whose input is already padded.
    return eq.conv_backward(x_p, w, delta, stride, 0)[0]


def _unspread_delta_below(delta: np.ndarray, rotated: np.ndarray) -> np.ndarray:
    kh, kw = rotated.shape[2:]
    full = eq.pad(delta, kh - 1, kw - 1)
    return np.einsum("nfhwuv,fcuv->nchw", eq.windows(full, kh, kw, 1), rotated)


def pool_mistakes(x, delta, size: int, stride: int) -> list[Mistake]:
    """The classic max-pool mistakes for this input and delta."""
    n, c, h_out, w_out = delta.shape
    every = np.zeros_like(x)
    tied_all, tied_last, overwritten = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
    for i in range(h_out):
        for j in range(w_out):
            rows, cols = slice(i * stride, i * stride + size), slice(j * stride, j * stride + size)
            d = delta[:, :, i, j][:, :, None, None]
            window = x[:, :, rows, cols]
            every[:, :, rows, cols] += d
            is_max = window == window.max(axis=(2, 3), keepdims=True)
            tied_all[:, :, rows, cols] += d * is_max
            # The last maximum in row-major order: the first one of the reversed window.
            flat = is_max.reshape(n, c, -1)
            last = flat.shape[-1] - 1 - flat[:, :, ::-1].argmax(axis=-1)
            one_hot = np.eye(size * size)[last].reshape(is_max.shape)
            tied_last[:, :, rows, cols] += d * one_hot
            first = np.eye(size * size)[flat.argmax(axis=-1)].reshape(is_max.shape)
            region = overwritten[:, :, rows, cols]
            overwritten[:, :, rows, cols] = np.where(first > 0, d, region)
    found = [
        Mistake(
            "grad_x",
            "delta to every position",
            "delta is routed to every position of its pooling window; P1 sends it to the "
            "position of the maximum only (the others did not change the output, so their "
            "gradient is 0)",
            every,
        ),
        Mistake(
            "grad_x",
            "average-pooling rule",
            f"delta is shared out equally over the window (divided by {size * size}): that is "
            "the rule for average-pooling; max-pooling sends all of it to the maximum",
            every / (size * size),
        ),
        Mistake(
            "grad_x",
            "every tied maximum",
            "where a window has several equal maxima, delta goes to each of them; it goes to "
            "one only: the first maximum in row-major order, as PyTorch (otherwise the "
            "gradient is counted twice)",
            tied_all,
        ),
        Mistake(
            "grad_x",
            "last tied maximum",
            "where a window has several equal maxima, delta goes to the last one; PyTorch (and "
            "the oracle) take the first in row-major order",
            tied_last,
        ),
    ]
    if stride < size:
        found.append(
            Mistake(
                "grad_x",
                "overlaps overwritten",
                f"windows overlap (stride {stride} < size {size}) and an entry that is the "
                "maximum of two windows keeps only the last window's delta (= instead of +=); "
                "P1 adds them up",
                overwritten,
            )
        )
    return found
