"""Normalisation layers: BatchNorm1d (over the batch, with running statistics) and LayerNorm
(over each example's features), both built on one op, Normalize, then a learned scale and shift.

Channels are last: BatchNorm1d takes (N, C) or (N, L, C), as the makemore lectures do; note
that PyTorch's BatchNorm1d takes (N, C, L) instead.
"""

from __future__ import annotations

import numpy as np

from autodiff import Op, Tensor, apply
from autodiff.core import Code
from autodiff.core.code import axis_source
from autodiff.tools.codegen import side_effect

from .module import Module, Parameter, writable


class Normalize(Op):
    """z = (x - mean(x)) / sqrt(var(x) + eps) over axes (biased var);
    dx = (g - mean(g) - z * mean(g * z)) / sqrt(var(x) + eps)"""

    caches = ("forward_inverse_std",)  # 1 / std made by forward for backward

    def __init__(self, axes: tuple[int, ...], eps: float):
        self.axes, self.eps = axes, eps

    def forward(self, x):
        centered = x - x.mean(axis=self.axes, keepdims=True)
        # Kept for the array backward, which then skips recomputing it (four full-size
        # passes over x; LayerNorm's backward was a tenth of a small GPT's step).
        self.forward_inverse_std = self.inverse_std(centered)
        return centered * self.forward_inverse_std

    def backward(self, grad_out, x, z):
        # The rule is written in z, so on Tensors (create_graph) z's own dependence on x is
        # recorded too: one rule gives both orders.
        mean_g = grad_out.mean(axis=self.axes, keepdims=True)
        mean_gz = (grad_out * z).mean(axis=self.axes, keepdims=True)
        if isinstance(x, np.ndarray):
            scale = self.forward_inverse_std
        else:
            scale = self.inverse_std(x - x.mean(axis=self.axes, keepdims=True))
        return ((grad_out - mean_g - z * mean_gz) * scale,)

    def inverse_std(self, centered):
        """1 / sqrt(var + eps) from x - mean(x), with operations Tensors share with arrays."""
        return ((centered * centered).mean(axis=self.axes, keepdims=True) + self.eps) ** -0.5

    def code(self, x, z) -> Code:
        axes = f"axis={axis_source(self.axes)}, keepdims=True"
        variance = f"({{out}}_centered * {{out}}_centered).mean({axes})"
        mean_gz = f"({{g}} * {{out}}).mean({axes})"
        return Code(
            f"{{out}}_centered = {{x}} - {{x}}.mean({axes})\n"
            f"{{out}}_inverse_std = ({variance} + {self.eps!r}) ** -0.5\n"
            "{out} = {out}_centered * {out}_inverse_std",
            (
                f"({{g}} - {{g}}.mean({axes}) - {{out}} * {mean_gz}) * {{out}}_inverse_std",
                "normalize: (g - mean(g) - z mean(g z)) / std",
            ),
        )


def normalize(x, axes: tuple[int, ...], eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(biased var + eps) over axes, as one recorded op."""
    return apply(Normalize(tuple(axes), eps), x if isinstance(x, Tensor) else Tensor(x))


class BatchNorm1d(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, statistics per feature (channel).

    Training: mean and biased var of this batch (over N, or N and L), and the running
    averages move by momentum: running = (1 - momentum) * running + momentum * batch, the
    variance with Bessel's correction n / (n - 1) as PyTorch does. Evaluation: the running
    statistics, so an example's output does not depend on the rest of its batch.
    """

    buffer_names = ("running_mean", "running_var")

    def __init__(self, features: int, eps: float = 1e-5, momentum: float = 0.1, dtype=np.float64):
        if features < 1 or eps <= 0 or not 0 <= momentum <= 1:
            raise ValueError(
                f"BatchNorm1d expects features >= 1, eps > 0 and 0 <= momentum <= 1; got "
                f"features={features}, eps={eps}, momentum={momentum}"
            )
        self.features, self.eps, self.momentum = features, eps, momentum
        self.weight = Parameter(np.ones(features, dtype=dtype))
        self.bias = Parameter(np.zeros(features, dtype=dtype))
        self.running_mean = np.zeros(features, dtype=dtype)
        self.running_var = np.ones(features, dtype=dtype)

    def forward(self, x) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim not in (2, 3) or x.shape[-1] != self.features:
            raise ValueError(
                f"{self!r} expects input of shape (N, {self.features}) or (N, L, "
                f"{self.features}) (channels last), got {x.shape}"
            )
        axes = tuple(range(x.ndim - 1))
        if not self.training:
            scale = (self.running_var + self.eps) ** -0.5
            return (x - self.running_mean) * scale * self.weight + self.bias
        count = x.size // self.features
        if count < 2:
            raise ValueError(
                f"{self!r} in training mode needs more than one value per feature to take a "
                f"batch variance, got input of shape {x.shape}; call eval() to use the running "
                "statistics"
            )
        side_effect(f"{type(self).__name__}'s running statistics")  # a replay would skip them
        self._update_running(x.data, axes, count)
        return normalize(x, axes, self.eps) * self.weight + self.bias

    def _update_running(self, x: np.ndarray, axes: tuple, count: int) -> None:
        """Move the running averages toward this batch's statistics, in place (on copies
        when an evaluation graph saved them for backward)."""
        mean = x.mean(axis=axes)
        unbiased_var = x.var(axis=axes) * (count / (count - 1))
        self.running_mean = writable(self.running_mean)
        self.running_var = writable(self.running_var)
        self.running_mean *= 1 - self.momentum
        self.running_mean += self.momentum * mean
        self.running_var *= 1 - self.momentum
        self.running_var += self.momentum * unbiased_var

    def extra_repr(self) -> str:
        return f"{self.features}, eps={self.eps}, momentum={self.momentum}"


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, statistics over each example's last
    axes (normalized_shape), the same in training and evaluation."""

    def __init__(
        self, normalized_shape: int | tuple[int, ...], eps: float = 1e-5, dtype=np.float64
    ):
        shape = (
            (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        )
        if not shape or min(shape) < 1 or eps <= 0:
            raise ValueError(
                f"LayerNorm expects a non-empty positive normalized_shape and eps > 0; got "
                f"{normalized_shape}, eps={eps}"
            )
        self.normalized_shape, self.eps = shape, eps
        self.weight = Parameter(np.ones(shape, dtype=dtype))
        self.bias = Parameter(np.zeros(shape, dtype=dtype))

    def forward(self, x) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        rank = len(self.normalized_shape)
        if x.shape[x.ndim - rank :] != self.normalized_shape or x.ndim < rank:
            raise ValueError(
                f"{self!r} expects input whose last axes are {self.normalized_shape}, got {x.shape}"
            )
        axes = tuple(range(x.ndim - rank, x.ndim))
        return normalize(x, axes, self.eps) * self.weight + self.bias

    def extra_repr(self) -> str:
        shape = self.normalized_shape
        return f"{shape[0] if len(shape) == 1 else shape}, eps={self.eps}"
