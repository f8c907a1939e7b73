"""Max-pooling as engine ops, and MaxPool2d: PyTorch's rules for ties and odd sizes.

x is NCHW. A window of kh x kw every stride (default: the kernel size, windows side by side),
no padding; a size that does not divide leaves its last rows or columns out (floor, as
PyTorch's ceil_mode=False). Of tied maxima the first in row-major window order is the one
chosen, and the whole gradient goes to it, as in PyTorch (a subgradient); NaN counts as the
maximum (the last NaN of a window, as in PyTorch). Overlapping windows add up their gradients.
"""

from __future__ import annotations

import numpy as np

from autodiff import Op, Tensor, apply
from autodiff.core import Code

from .conv import pair
from .module import Module


class MaxPool(Op):
    """y[n, c, i, j] = max of x over window (i, j);  dx = MaxUnpool(g): g at each window's argmax"""

    caches = ("argmax",)  # where each maximum sits, made by forward for backward

    def __init__(self, kernel_size: tuple, stride: tuple):
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, x):
        n, c, height, width = x.shape
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        oh, ow = (height - kh) // sh + 1, (width - kw) // sw + 1
        # PyTorch's scan: a later element replaces the maximum only when strictly greater (or
        # NaN), so the first of ties is chosen. One pass per kernel position, over the batch.
        nan = np.isnan(x).any()  # rare: then the slower exact rule for NaN
        y, offset = None, None
        for u in range(kh):
            for v in range(kw):
                value = x[:, :, u : u + sh * (oh - 1) + 1 : sh, v : v + sw * (ow - 1) + 1 : sw]
                if y is None:
                    y, offset = value.copy(), np.zeros(value.shape, dtype=np.intp)
                    continue
                better = value > y
                if nan:
                    better |= np.isnan(value)
                    np.copyto(y, value, where=better)
                else:
                    np.maximum(y, value, out=y)
                np.copyto(offset, u * width + v, where=better)
        # Where each maximum sits in x, as an index into x.ravel(), for the backward.
        corner = (
            np.arange(n * c).reshape(n, c, 1, 1) * (height * width)
            + (np.arange(oh) * (sh * width)).reshape(oh, 1)
            + np.arange(ow) * sw
        )
        offset += corner
        self.argmax = offset
        return y

    def backward(self, grad_out, x, y):
        overlapping = any(s < k for s, k in zip(self.stride, self.kernel_size))
        return (apply(MaxUnpool(self.argmax, x.shape, overlapping), grad_out),)

    def code(self, x, y) -> Code:
        """The forward's own scan (one np.maximum per kernel position, the first of ties kept,
        where each maximum sits remembered), and the gradient put back there."""
        (n, c, height, width), (kh, kw), (sh, sw) = x.shape, self.kernel_size, self.stride
        oh, ow = y.shape[2:]
        rows = f"u:u + {sh * (oh - 1) + 1}" + (f":{sh}" if sh != 1 else "")
        cols = f"v:v + {sw * (ow - 1) + 1}" + (f":{sw}" if sw != 1 else "")
        first = f"[:, :, 0:{sh * (oh - 1) + 1}:{sh}, 0:{sw * (ow - 1) + 1}:{sw}]"
        corner = (
            f"np.arange({n * c}).reshape({n}, {c}, 1, 1) * {height * width} "
            f"+ (np.arange({oh}) * {sh * width}).reshape({oh}, 1) + np.arange({ow}) * {sw}"
        )
        forward = (
            f"{{out}} = {{x}}{first}.copy()\n"
            f"{{out}}_at = np.zeros({(n, c, oh, ow)!r}, dtype=np.intp)  # where each max sits\n"
            f"for u, v in {[(u, v) for u in range(kh) for v in range(kw)][1:]!r}:\n"
            f"    {{out}}_better = {{x}}[:, :, {rows}, {cols}] > {{out}}  # first of ties kept\n"
            f"    np.maximum({{out}}, {{x}}[:, :, {rows}, {cols}], out={{out}})\n"
            f"    np.copyto({{out}}_at, u * {width} + v, where={{out}}_better)\n"
            f"{{out}}_at += {corner}"
        )
        if any(s < k for s, k in zip(self.stride, self.kernel_size)):  # overlapping windows
            scatter = (
                f"{{d}} = np.bincount({{out}}_at.ravel(), weights={{g}}.ravel(), "
                f"minlength={n * c * height * width}).astype({{g}}.dtype).reshape({x.shape!r})"
            )
        else:
            scatter = (
                f"{{d}} = np.zeros({n * c * height * width}, dtype={{g}}.dtype)\n"
                f"{{d}}[{{out}}_at.ravel()] = {{g}}.ravel()\n"
                f"{{d}} = {{d}}.reshape({x.shape!r})"
            )
        return Code(
            forward,
            (scatter, "max pool: g to each window's maximum"),
            requires=("not np.isnan({x}).any()", "max pool's code form assumes no NaN"),
        )


class MaxUnpool(Op):
    """dx = zeros with g[m] added at x.ravel()[argmax[m]];  d(g) = h.ravel()[argmax]"""

    def __init__(self, argmax: np.ndarray, input_shape: tuple, overlapping: bool):
        self.argmax, self.input_shape, self.overlapping = argmax, tuple(input_shape), overlapping

    def forward(self, grad):
        size = int(np.prod(self.input_shape))
        if self.overlapping:
            # A position chosen by several windows gets the sum (bincount adds in float64).
            flat = np.bincount(self.argmax.ravel(), weights=grad.ravel(), minlength=size)
            return flat.astype(grad.dtype, copy=False).reshape(self.input_shape)
        flat = np.zeros(size, dtype=grad.dtype)
        flat[self.argmax.ravel()] = grad.ravel()
        return flat.reshape(self.input_shape)

    def backward(self, grad_out, grad, dx):
        return (grad_out.reshape(-1)[self.argmax],)

    def code(self, grad, dx) -> Code:
        size, shape = int(np.prod(self.input_shape)), self.input_shape
        if self.overlapping:
            forward = (
                "{out} = np.bincount({argmax}.ravel(), weights={grad}.ravel(), "
                f"minlength={size}).astype({{grad}}.dtype).reshape({shape!r})"
            )
        else:
            forward = (
                f"{{out}} = np.zeros({size}, dtype={{grad}}.dtype)\n"
                "{out}[{argmax}.ravel()] = {grad}.ravel()\n"
                f"{{out}} = {{out}}.reshape({shape!r})"
            )
        return Code(forward, ("{g}.reshape(-1)[{argmax}]", "max unpool: g read at the maxima"))


def max_pool2d(x: Tensor, kernel_size, stride=None) -> Tensor:
    """The maximum of each kh x kw window of x (N, C, H, W), every stride (default: kernel)."""
    kernel = pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else pair(stride, "stride")
    if min(kernel) < 1 or min(stride) < 1:
        raise ValueError(
            f"max_pool2d: kernel_size and stride must be positive, got {kernel}, {stride}"
        )
    x = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
    if x.ndim != 4:
        raise ValueError(
            f"max_pool2d expects input of shape (batch, channels, height, width), got {x.shape}"
        )
    if x.shape[2] < kernel[0] or x.shape[3] < kernel[1]:
        raise ValueError(
            f"max_pool2d: a {kernel} window does not fit an image of size {x.shape[2:]}"
        )
    return apply(MaxPool(kernel, stride), x)


class MaxPool2d(Module):
    """y = max_pool2d(x, kernel_size, stride), PyTorch's MaxPool2d without padding."""

    def __init__(self, kernel_size, stride=None):
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")

    def forward(self, x) -> Tensor:
        return max_pool2d(x, self.kernel_size, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"
