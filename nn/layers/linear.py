"""Linear: the fully connected layer z = x @ W.T + b, and the weight initialisers.

Rows are examples: inputs are (batch, in_features), or one example (in_features,). Weights
are (out_features, in_features), as Nielsen's w[j][k] and PyTorch's Linear; biases are
(out_features,). Nielsen's column vectors (in_features, 1) are refused with a hint.
"""

from __future__ import annotations

import numpy as np

from autodiff import Tensor

from .functional import affine, project
from .module import Module, Parameter

INITIALIZERS = {
    # weights ~ N(0, 1/sqrt(in)), biases ~ N(0, 1): network2.py's default_weight_initializer
    "nielsen": lambda rng, n_in, n_out: (
        rng.normal(0, n_in**-0.5, (n_out, n_in)),
        rng.normal(0, 1, n_out),
    ),
    # weights and biases ~ N(0, 1): network.py, and network2.py's large_weight_initializer
    "large": lambda rng, n_in, n_out: (rng.normal(0, 1, (n_out, n_in)), rng.normal(0, 1, n_out)),
    # He et al. (2015) for ReLU: N(0, sqrt(2/in)), zero biases
    "he": lambda rng, n_in, n_out: (
        rng.normal(0, (2 / n_in) ** 0.5, (n_out, n_in)),
        np.zeros(n_out),
    ),
    # PyTorch's Linear default (kaiming_uniform with a = sqrt(5)): weights and biases
    # ~ U(-1/sqrt(in), 1/sqrt(in)), the initialisation the GPT lecture's losses come from
    "pytorch": lambda rng, n_in, n_out: (
        rng.uniform(-1, 1, (n_out, n_in)) * n_in**-0.5,
        rng.uniform(-1, 1, n_out) * n_in**-0.5,
    ),
    # Glorot & Bengio (2010): U(-a, a) with a = sqrt(6/(in+out)), zero biases
    "xavier": lambda rng, n_in, n_out: (
        rng.uniform(-1, 1, (n_out, n_in)) * (6 / (n_in + n_out)) ** 0.5,
        np.zeros(n_out),
    ),
}


class Linear(Module):
    """z = x @ weight.T + bias, with weight (out_features, in_features) and bias (out_features,).

    bias=False gives z = x @ weight.T with no bias parameter (`.bias is None`), as PyTorch's
    Linear(in, out, bias=False) in the attention heads of "Let's build GPT".
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        init: str = "nielsen",
        seed: int | np.random.Generator | None = None,
        dtype=np.float64,
    ):
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(
                f"Linear's third argument is bias (True or False), got {bias!r}; pass the "
                f"initialiser by name, init={bias!r}"
            )
        if init not in INITIALIZERS:
            raise ValueError(f"unknown init {init!r}: expected one of {sorted(INITIALIZERS)}")
        self.in_features, self.out_features = in_features, out_features
        weight, bias_values = INITIALIZERS[init](
            np.random.default_rng(seed), in_features, out_features
        )
        # Stored row-major, the layout of the weight gradient g^T x (see Affine), so the update
        # w -= lr * grad walks both arrays in the same contiguous order. (Measured faster than
        # column-major with OpenBLAS at batch sizes 10 and 100, notably for g @ W.)
        self.weight = Parameter(np.ascontiguousarray(weight, dtype=dtype))
        self.bias = Parameter(bias_values.astype(dtype)) if bias else None

    def forward(self, x) -> Tensor:
        self.check_input(x)
        if self.bias is None:
            return project(x, self.weight)
        return affine(x, self.weight, self.bias)

    def check_input(self, x) -> None:
        # x.shape directly where it exists: np.shape on a Tensor goes through numpy's dispatch.
        shape = x.shape if isinstance(x, (Tensor, np.ndarray)) else np.shape(x)
        # Leading axes beyond the batch are batch axes too: (N, L, in) for sequence models.
        if shape[-1:] == (self.in_features,):
            return
        expected = (
            f"(batch, {self.in_features}) or ({self.in_features},) or (..., {self.in_features})"
        )
        if shape == (self.in_features, 1):
            raise ValueError(
                f"{self!r} got shape {shape}, a Nielsen-style column vector. Here rows are "
                f"examples: expected {expected}. Convert one column with x.T (shape "
                f"(1, {self.in_features})) or x.ravel(); stack many with np.hstack(xs).T"
            )
        if len(shape) == 2 and shape[0] == self.in_features:
            raise ValueError(
                f"{self!r} got shape {shape}: columns look like examples. Here rows are "
                f"examples: expected {expected}; pass x.T"
            )
        raise ValueError(f"{self!r} expects input of shape {expected}, got {shape}")

    def extra_repr(self) -> str:
        bias = "" if self.bias is not None else ", bias=False"
        return f"{self.in_features}, {self.out_features}{bias}"
