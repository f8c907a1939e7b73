"""Dropout: while training, each input is zeroed with probability p and the rest scaled by
1 / (1 - p), so that evaluation (model.eval()) is the identity; PyTorch's "inverted" dropout.
(Nielsen's network3 scales at evaluation instead: nn.network3 does that itself.)
"""

from __future__ import annotations

import numpy as np

from autodiff import Tensor

from .module import Module


def dropout(x: Tensor, p: float, rng: np.random.Generator, training: bool = True) -> Tensor:
    """x * mask / (1 - p) with mask ~ Bernoulli(1 - p) when training, else x unchanged."""
    x = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
    if not training or p == 0:
        return x
    if p == 1:
        return x * np.zeros(x.shape, dtype=x.dtype)
    keep = rng.random(x.shape) >= p
    return x * (keep * (1 / (1 - p))).astype(x.dtype)


class Dropout(Module):
    """Zero each input with probability p while training (scale the rest by 1 / (1 - p)).

    The masks come from np.random.default_rng(seed): pass a seed for repeatable runs.
    """

    def __init__(self, p: float = 0.5, seed: int | np.random.Generator | None = None):
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout probability must lie in [0, 1], got {p}")
        self.p = float(p)
        self.rng = np.random.default_rng(seed)

    def forward(self, x) -> Tensor:
        return dropout(x, self.p, self.rng, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
