"""Embedding: a lookup table of learned vectors, one row per token, for integer index batches.

Indices are plain integers (numpy arrays, lists, or constant Tensors) of any shape; the
output adds one axis of size dim. Composed of the engine's Index op: no new rule.
"""

from __future__ import annotations

import numpy as np

from autodiff import Tensor

from .module import Module, Parameter


class Embedding(Module):
    """z[..., :] = weight[i] for each index i;  dweight[k] = sum of g over the positions i == k.

    weight is (num_embeddings, dim), initialised N(0, 1) as PyTorch's Embedding. The gradient
    is the engine's Index rule: a scatter-add, so a token used twice receives both parts.
    """

    def __init__(
        self,
        num_embeddings: int,
        dim: int,
        seed: int | np.random.Generator | None = None,
        dtype=np.float64,
    ):
        if num_embeddings < 1 or dim < 1:
            raise ValueError(
                f"Embedding needs num_embeddings >= 1 and dim >= 1, got {num_embeddings}, {dim}"
            )
        self.num_embeddings, self.dim = num_embeddings, dim
        rng = np.random.default_rng(seed)
        self.weight = Parameter(rng.standard_normal((num_embeddings, dim)).astype(dtype))

    def forward(self, indices) -> Tensor:
        return self.weight[self.check_indices(indices)]

    def check_indices(self, indices) -> np.ndarray:
        """The indices as an integer array, or an error naming what was expected."""
        array = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
        if array.dtype.kind not in "iu":
            # A float tensor of whole numbers is accepted (Tensors hold floats); 2.5 is not.
            if array.dtype.kind != "f" or not np.array_equal(array, np.round(array)):
                raise TypeError(
                    f"{self!r} expects integer token indices, got an array of dtype {array.dtype}"
                )
            array = array.astype(np.intp)
        if array.size and (array.min() < 0 or array.max() >= self.num_embeddings):
            raise IndexError(
                f"{self!r}: indices must lie in 0..{self.num_embeddings - 1}, got values from "
                f"{array.min()} to {array.max()}"
            )
        return array

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.dim}"
