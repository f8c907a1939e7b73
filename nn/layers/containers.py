"""Containers and reshaping: Sequential(*layers) chains layers; Flatten turns each example
into one row, (N, C, H, W) -> (N, C*H*W), between convolutional and fully connected layers.
"""

from __future__ import annotations

from collections.abc import Iterator

from autodiff import Tensor

from .module import Module


class Sequential(Module):
    """Applies its layers in order: Sequential(Linear(784, 30), Sigmoid(), Linear(30, 10))."""

    def __init__(self, *layers: Module):
        for index, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(
                    f"Sequential takes Modules; layer {index} is {type(layer).__name__}"
                )
        self.layers = list(layers)

    def forward(self, x) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)" if inner else "Sequential()"


class Flatten(Module):
    """x.reshape(batch, -1): axes from start_dim on become one, as PyTorch's Flatten(1)."""

    def __init__(self, start_dim: int = 1):
        self.start_dim = start_dim

    def forward(self, x) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim < self.start_dim:
            raise ValueError(
                f"Flatten(start_dim={self.start_dim}) needs at least {self.start_dim} axes, "
                f"got shape {x.shape}"
            )
        return x.reshape(x.shape[: self.start_dim] + (-1,))

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}"
