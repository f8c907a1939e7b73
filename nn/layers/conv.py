"""Convolution (PyTorch's: a cross-correlation, kernels not flipped) as engine ops, and Conv2d.

Images are NCHW: x (batch, in_channels, height, width); weights (out_channels, in_channels,
kh, kw); biases (out_channels,). With x padded by p zeros on each side and stride s,
    y[n, o, i, j] = b[o] + sum_{c, u, v} w[o, c, u, v] x[n, c, s i + u, s j + v].
Three ops close under differentiation: Conv (y from x and w), ConvTranspose (its gradient
with respect to x) and ConvWeightGrad (with respect to w); each one's backward applies the
others, so gradients of any order are recorded when the rules run on Tensors.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from autodiff import Op, Tensor, apply
from autodiff.core import Code, lift

from .linear import INITIALIZERS
from .module import Module, Parameter


def pair(value, name: str) -> tuple[int, int]:
    """An int or a pair of ints as a pair: kernel_size=5 means (5, 5). Padding widths must be
    0 or more, kernel sizes and strides 1 or more."""
    items = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(items) != 2 or not all(isinstance(v, (int, np.integer)) for v in items):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    if name == "padding" and min(items) < 0:
        raise ValueError(f"padding widths must be non-negative (0 or more), got {value!r}")
    if name != "padding" and min(items) < 1:
        raise ValueError(f"{name} must be 1 or more, got {value!r}")
    return int(items[0]), int(items[1])


def output_size(size: tuple, kernel: tuple, stride: tuple, padding: tuple) -> tuple[int, int]:
    """floor((size + 2 padding - kernel) / stride) + 1 along height and width."""
    return tuple((n + 2 * p - k) // s + 1 for n, k, s, p in zip(size, kernel, stride, padding))


def _windows(x: np.ndarray, kernel: tuple, stride: tuple, padding: tuple) -> np.ndarray:
    """A view (batch, C, out_h, out_w, kh, kw) of every window of the zero-padded x."""
    if any(padding):
        x = _padded(x, padding)
    windows = sliding_window_view(x, kernel, axis=(2, 3))
    return windows[:, :, :: stride[0], :: stride[1]]


def _padded(x: np.ndarray, padding: tuple) -> np.ndarray:
    """x with padding zeros on each side of height and width (np.pad is slower for this)."""
    (ph, pw), (n, c, height, width) = padding, x.shape
    out = np.zeros((n, c, height + 2 * ph, width + 2 * pw), dtype=x.dtype)
    out[:, :, ph : ph + height, pw : pw + width] = x
    return out


def fold_batch(in_channels: int, kernel: tuple, out_size: tuple) -> bool:
    """Whether im2col folds the batch into the columns: (C kh kw, N oh ow) for one product.

    Each example's product is (O, C kh kw) @ (C kh kw, oh ow). When its windows are fewer
    than its rows (chapter 6's second layer: 64 windows, 500 rows), one product over the
    whole batch keeps BLAS busy (measured 1.2-1.7x faster); otherwise (the first layer: 576
    windows, 25 rows) a product per example is faster.
    """
    return out_size[0] * out_size[1] < in_channels * kernel[0] * kernel[1]


def _columns(x: np.ndarray, kernel: tuple, stride: tuple, padding: tuple) -> np.ndarray:
    """im2col, a fresh array: (C kh kw, N oh ow) when fold_batch, else (N, C kh kw, oh ow).

    A column per window, so the product with the weights (O, C kh kw) comes out channels
    first; the copy reads x along rows (measured 2-3x faster than one row per window).
    """
    windows = _windows(x, kernel, stride, padding)
    n, c, oh, ow, kh, kw = windows.shape
    if fold_batch(c, kernel, (oh, ow)):
        return windows.transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, n * oh * ow)
    return windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, oh * ow)


def _channels_first(grad: np.ndarray) -> np.ndarray:
    """(N, O, oh, ow) as (O, N oh ow): the layout of a product over the folded batch."""
    return grad.transpose(1, 0, 2, 3).reshape(grad.shape[1], -1)


def columns_code(x: str, target: str, shape, kernel, stride, padding) -> tuple[str, bool]:
    """Source assigning target the im2col of x (as _columns): (C kh kw, N oh ow) when
    fold_batch, else (N, C kh kw, oh ow); and whether it folded the batch."""
    (ph, pw), (sh, sw) = padding, stride
    n, c = shape[:2]
    oh, ow = output_size(shape[2:], kernel, stride, padding)
    if ph or pw:
        x = f"np.pad({x}, ((0, 0), (0, 0), ({ph}, {ph}), ({pw}, {pw})))"
    step = "" if (sh, sw) == (1, 1) else f"[:, :, ::{sh}, ::{sw}]"
    windows = f"sliding_window_view({x}, {tuple(kernel)!r}, axis=(2, 3)){step}"
    rows = c * kernel[0] * kernel[1]
    if fold_batch(c, kernel, (oh, ow)):
        return f"{target} = {windows}.transpose(1, 4, 5, 0, 2, 3).reshape({rows}, -1)", True
    return f"{target} = {windows}.transpose(0, 1, 4, 5, 2, 3).reshape({n}, {rows}, -1)", False


def product_code(columns: str, weight: str, bias: str | None, shape, folded: bool) -> str:
    """Source of the correlation from the columns: (O, K) @ columns, plus the bias, as NCHW
    (shape: N, O, oh, ow)."""
    n, o, oh, ow = shape
    y = f"{weight}.reshape({o}, -1) @ {columns}"
    if bias is not None:
        y += f" + {bias}.reshape(-1, 1)"
    if folded:
        return f"({y}).reshape({o}, {n}, {oh}, {ow}).transpose(1, 0, 2, 3)"
    return f"({y}).reshape({shape!r})"


def weight_grad_code(grad: str, columns: str, shape, folded: bool) -> str:
    """Source of sum over n, i, j of grad[n, o, i, j] times x's windows: dw of shape shape."""
    o = shape[0]
    if folded:
        return f"({grad}.transpose(1, 0, 2, 3).reshape({o}, -1) @ {columns}.T).reshape({shape!r})"
    n = "-1"
    return (
        f"({grad}.reshape({n}, {o}, {columns}.shape[-1]) @ {columns}.transpose(0, 2, 1))"
        f".sum(axis=0).reshape({shape!r})"
    )


def col2im_code(grad: str, weight: str, target: str, shape, kernel, stride, padding) -> str:
    """Source assigning target the adjoint of the correlation with weight, applied to grad
    (N, O, oh, ow): each window's share added back where it sits (as ConvTranspose)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, height, width = shape
    oh, ow = output_size((height, width), kernel, stride, padding)
    rows = f"u:u + {sh * (oh - 1) + 1}" + (f":{sh}" if sh != 1 else "")
    cols = f"v:v + {sw * (ow - 1) + 1}" + (f":{sw}" if sw != 1 else "")
    padded_size = (height + 2 * ph, width + 2 * pw)
    if fold_batch(c, kernel, (oh, ow)):
        lines = [
            f"{target}_g = {grad}.transpose(1, 0, 2, 3).reshape({grad}.shape[1], -1)",
            f"{target}_w = np.ascontiguousarray({weight}.transpose(2, 3, 1, 0))",
            f"{target}_padded = np.zeros({(c, n) + padded_size!r}, dtype={grad}.dtype)",
            f"for u in range({kh}):",
            f"    for v in range({kw}):",
            f"        {target}_share = {target}_w[u, v] @ {target}_g",
            f"        {target}_padded[:, :, {rows}, {cols}] += "
            f"{target}_share.reshape({c}, {n}, {oh}, {ow})",
            f"{target} = {target}_padded[:, :, {ph}:{ph + height}, {pw}:{pw + width}]"
            ".transpose(1, 0, 2, 3)",
        ]
    else:
        lines = [
            f"{target}_shares = ({weight}.reshape({weight}.shape[0], -1).T @ "
            f"{grad}.reshape({n}, {grad}.shape[1], -1)).reshape({n}, {c}, {kh}, {kw}, {oh}, {ow})",
            f"{target}_padded = np.zeros({(n, c) + padded_size!r}, dtype={target}_shares.dtype)",
            f"for u in range({kh}):",
            f"    for v in range({kw}):",
            f"        {target}_padded[:, :, {rows}, {cols}] += {target}_shares[:, :, u, v]",
            f"{target} = {target}_padded[:, :, {ph}:{ph + height}, {pw}:{pw + width}]",
        ]
    return "\n".join(lines)


class Conv(Op):
    """y = x (*) w + b (correlation);  dx = ConvTranspose(g, w), dw = ConvWeightGrad(x, g),
    db = g summed over batch, height and width"""

    caches = ("columns",)  # x's im2col, made by forward for the weight gradient

    def __init__(self, stride: tuple, padding: tuple):
        self.stride, self.padding = stride, padding

    def forward(self, x, weight, bias=None):
        n, out_channels = x.shape[0], weight.shape[0]
        oh, ow = output_size(x.shape[2:], weight.shape[2:], self.stride, self.padding)
        columns = _columns(x, weight.shape[2:], self.stride, self.padding)
        # (O, K) @ (K, N L) or (O, K) @ (N, K, L): one product, channels ahead of windows.
        y = weight.reshape(out_channels, -1) @ columns
        if bias is not None:
            y += bias.reshape(-1, 1)
        # Kept for the weight gradient, which needs the same columns; freed with the graph.
        self.columns = columns
        if columns.ndim == 2:  # folded: (O, N, oh, ow) in memory, returned as an NCHW view
            return y.reshape(out_channels, n, oh, ow).transpose(1, 0, 2, 3)
        return y.reshape(n, out_channels, oh, ow)

    def backward(self, grad_out, x, weight, *bias_and_y):
        need = self.needs_input_grad
        dx = dw = db = None
        if need[0]:
            dx = apply(ConvTranspose(self.stride, self.padding, x.shape[2:]), grad_out, weight)
        if need[1]:
            kernel = weight.shape[2:]
            dw = apply(ConvWeightGrad(self.stride, self.padding, kernel, self.columns), x, grad_out)
        if len(bias_and_y) == 2 and need[2]:
            db = grad_out.sum(axis=(0, 2, 3))
        return (dx, dw) if len(bias_and_y) == 1 else (dx, dw, db)

    def code(self, x, weight, *bias_and_y) -> Code:
        kernel, stride, padding = weight.shape[2:], self.stride, self.padding
        y = bias_and_y[-1]
        columns, folded = columns_code("{x}", "{out}_columns", x.shape, kernel, stride, padding)
        bias = "{bias}" if len(bias_and_y) == 2 else None
        forward = (
            columns
            + "\n{out} = "
            + product_code("{out}_columns", "{weight}", bias, y.shape, folded)
        )
        grads = [
            (
                col2im_code("{g}", "{weight}", "{d}", x.shape, kernel, stride, padding),
                "conv: each g[n, o, i, j] w[o] added back to its window",
            ),
            (
                weight_grad_code("{g}", "{out}_columns", weight.shape, folded),
                "conv: dw = g times x's windows (columns), summed",
            ),
        ]
        if bias is not None:
            grads.append(("{g}.sum(axis=(0, 2, 3))", "conv: g summed over batch, height, width"))
        return Code(forward, *grads)


class ConvTranspose(Op):
    """dx = the adjoint of x -> x (*) w applied to g: each g[n, o, i, j] w[o] added back to the
    window it came from;  d(g) = Conv(h, w), d(w) = ConvWeightGrad(h, g)"""

    def __init__(self, stride: tuple, padding: tuple, input_size: tuple):
        self.stride, self.padding, self.input_size = stride, padding, tuple(input_size)

    def forward(self, grad, weight):
        n, out_channels, oh, ow = grad.shape
        _, in_channels, kh, kw = weight.shape
        (sh, sw), (ph, pw) = self.stride, self.padding
        height, width = self.input_size
        padded_size = (height + 2 * ph, width + 2 * pw)
        windows = [
            (u, v, slice(u, u + sh * (oh - 1) + 1, sh), slice(v, v + sw * (ow - 1) + 1, sw))
            for u in range(kh)
            for v in range(kw)
        ]
        if fold_batch(in_channels, (kh, kw), (oh, ow)):
            # A product (C, O) @ (O, N L) per kernel position, over the whole batch, added
            # where its windows sit: cache-sized pieces, no (C kh kw, N L) buffer.
            g = _channels_first(grad)
            weight_by_position = np.ascontiguousarray(weight.transpose(2, 3, 1, 0))
            dtype = np.result_type(grad.dtype, weight.dtype)
            padded = np.zeros((in_channels, n) + padded_size, dtype=dtype)
            for u, v, rows, cols in windows:
                share = weight_by_position[u, v] @ g
                padded[:, :, rows, cols] += share.reshape(in_channels, n, oh, ow)
            return padded[:, :, ph : ph + height, pw : pw + width].transpose(1, 0, 2, 3)
        # (K, O) @ (N, O, L): every window's share of the input gradient, (N, K, L).
        columns = weight.reshape(out_channels, -1).T @ grad.reshape(n, out_channels, oh * ow)
        columns = columns.reshape(n, in_channels, kh, kw, oh, ow)
        padded = np.zeros((n, in_channels) + padded_size, dtype=columns.dtype)
        # col2im: one strided add per kernel position, each over the whole batch.
        for u, v, rows, cols in windows:
            padded[:, :, rows, cols] += columns[:, :, u, v]
        return padded[:, :, ph : ph + height, pw : pw + width]

    def backward(self, grad_out, grad, weight, dx):
        need = self.needs_input_grad
        d_grad = apply(Conv(self.stride, self.padding), grad_out, weight) if need[0] else None
        d_weight = None
        if need[1]:
            kernel = weight.shape[2:]
            d_weight = apply(ConvWeightGrad(self.stride, self.padding, kernel), grad_out, grad)
        return d_grad, d_weight

    def code(self, grad, weight, dx) -> Code:
        kernel, stride, padding = weight.shape[2:], self.stride, self.padding
        columns, folded = columns_code("{g}", "{d}_columns", dx.shape, kernel, stride, padding)
        return Code(
            col2im_code("{grad}", "{weight}", "{out}", dx.shape, kernel, stride, padding),
            (
                columns
                + "\n{d} = "
                + product_code("{d}_columns", "{weight}", None, grad.shape, folded),
                "conv transpose: its adjoint, the correlation with w",
            ),
            (
                columns
                + "\n{d} = "
                + weight_grad_code("{grad}", "{d}_columns", weight.shape, folded),
                "conv transpose: grad times the windows of g",
            ),
        )


class ConvWeightGrad(Op):
    """dw[o, c, u, v] = sum_{n, i, j} g[n, o, i, j] x[n, c, s i + u, s j + v];
    d(x) = ConvTranspose(g, h), d(g) = Conv(x, h)"""

    caches = ("columns",)

    def __init__(self, stride: tuple, padding: tuple, kernel_size: tuple, columns=None):
        self.stride, self.padding, self.kernel_size = stride, padding, tuple(kernel_size)
        self.columns = columns  # x's im2col when the forward Conv already made it

    def forward(self, x, grad):
        n, out_channels = grad.shape[:2]
        columns = self.columns
        if columns is None:
            columns = _columns(x, self.kernel_size, self.stride, self.padding)
        self.columns = None  # not kept: only the forward's copy is shared
        shape = (out_channels, x.shape[1]) + self.kernel_size
        # Transposed views of the columns go to BLAS as they are, no copy.
        if columns.ndim == 2:  # folded: (O, N L) @ (N L, K)
            return (_channels_first(grad) @ columns.T).reshape(shape)
        # sum over n of (O, L) @ (L, K)
        products = grad.reshape(n, out_channels, -1) @ columns.transpose(0, 2, 1)
        return products.sum(axis=0).reshape(shape)

    def backward(self, grad_out, x, grad, dw):
        need = self.needs_input_grad
        d_x = None
        if need[0]:
            d_x = apply(ConvTranspose(self.stride, self.padding, x.shape[2:]), grad, grad_out)
        d_grad = apply(Conv(self.stride, self.padding), x, grad_out) if need[1] else None
        return d_x, d_grad

    def code(self, x, grad, dw) -> Code:
        kernel, stride, padding = self.kernel_size, self.stride, self.padding
        columns, folded = columns_code("{x}", "{out}_columns", x.shape, kernel, stride, padding)
        return Code(
            columns + "\n{out} = " + weight_grad_code("{grad}", "{out}_columns", dw.shape, folded),
            (
                col2im_code("{grad}", "{g}", "{d}", x.shape, kernel, stride, padding),
                "conv weight gradient: grad times g added back to each window",
            ),
            (
                product_code("{out}_columns", "{g}", None, grad.shape, folded),
                "conv weight gradient: x's windows correlated with g",
            ),
        )


def conv2d(x, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0) -> Tensor:
    """The correlation of x (N, C, H, W) with weight (O, C, kh, kw), plus bias (O,), as one op."""
    x = lift(x, weight)
    stride, padding = pair(stride, "stride"), pair(padding, "padding")
    _check_conv_input(x.shape, weight.shape, stride, padding)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return apply(Conv(stride, padding), *inputs)


def _check_conv_input(shape: tuple, weight_shape: tuple, stride: tuple, padding: tuple) -> None:
    out_channels, in_channels, kh, kw = weight_shape
    expected = f"(batch, {in_channels}, height, width)"
    if len(shape) != 4 or shape[1] != in_channels:
        hint = ""
        if len(shape) == 2 and in_channels == 1 and int(np.sqrt(shape[1])) ** 2 == shape[1]:
            side = int(np.sqrt(shape[1]))
            hint = f"; rows of pixels reshape with x.reshape(-1, 1, {side}, {side})"
        raise ValueError(f"conv2d expects input of shape {expected} (NCHW), got {shape}{hint}")
    if any(size + 2 * p < k for size, p, k in zip(shape[2:], padding, (kh, kw))):
        raise ValueError(
            f"conv2d: a {kh}x{kw} kernel does not fit an image of size {shape[2:]} padded "
            f"by {padding}"
        )


class Conv2d(Module):
    """y = conv2d(x, weight, bias, stride, padding), PyTorch's Conv2d on NCHW images.

    weight (out_channels, in_channels, kh, kw), bias (out_channels,); stride, padding and
    kernel_size are stored as pairs. `init` names an nn.layers.linear initialiser, applied
    with fan-in in_channels * kh * kw ("nielsen": weights N(0, 1/sqrt(fan_in)), biases N(0, 1)).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        bias: bool = True,
        init: str = "nielsen",
        seed: int | np.random.Generator | None = None,
        dtype=np.float64,
    ):
        if init not in INITIALIZERS:
            raise ValueError(f"unknown init {init!r}: expected one of {sorted(INITIALIZERS)}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride, self.padding = pair(stride, "stride"), pair(padding, "padding")
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        rng = np.random.default_rng(seed)
        weight, b = INITIALIZERS[init](rng, fan_in, self.out_channels)
        shape = (self.out_channels, self.in_channels) + self.kernel_size
        self.weight = Parameter(np.ascontiguousarray(weight.reshape(shape), dtype=dtype))
        self.bias = Parameter(np.asarray(b, dtype=dtype)) if bias else None

    def forward(self, x) -> Tensor:
        return conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}"
        )
