"""FlattenConsecutive: the WaveNet-like model's merge of neighbouring positions, so each layer
sees pairs (or n-tuples) of what the layer below produced. A reshape: no new rule.
"""

from __future__ import annotations

from autodiff import Tensor

from .module import Module


class FlattenConsecutive(Module):
    """(N, L, C) -> (N, L / n, n * C): each run of n consecutive positions becomes one.

    When one position is left, (N, 1, n * C) becomes (N, n * C), as in the makemore lecture,
    so the last merge feeds a Linear layer over plain rows.
    """

    def __init__(self, n: int):
        if n < 1:
            raise ValueError(f"FlattenConsecutive expects n >= 1, got {n}")
        self.n = n

    def forward(self, x) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim != 3 or x.shape[1] % self.n:
            raise ValueError(
                f"{self!r} expects input of shape (N, L, C) with L a multiple of {self.n}, "
                f"got {x.shape}"
            )
        batch, length, channels = x.shape
        if length == self.n:
            return x.reshape(batch, self.n * channels)
        return x.reshape(batch, length // self.n, self.n * channels)

    def extra_repr(self) -> str:
        return f"{self.n}"
