"""Containers and reshaping: Sequential(*layers) chains layers; ModuleList([...]) holds
modules without calling them; Flatten turns each example into one row, (N, C, H, W) ->
(N, C*H*W), between convolutional and fully connected layers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

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


class ModuleList(Module):
    """A list of modules whose parameters the owner finds, as PyTorch's ModuleList: indexing,
    len, iteration, append and extend. Names run "0.weight", "1.weight", ... under the
    owner's attribute: blocks.0.weight."""

    def __init__(self, modules: Iterable[Module] = ()):
        self.items: list[Module] = []
        self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        if not isinstance(module, Module):
            raise TypeError(
                f"ModuleList holds Modules; item {len(self.items)} is {type(module).__name__}"
            )
        self.items.append(module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self

    def forward(self, *args):
        raise TypeError("ModuleList is not callable: call its modules, e.g. in a for loop")

    def named_parameters(self, prefix: str = ""):
        for index, module in enumerate(self.items):
            yield from module.named_parameters(f"{prefix}{index}.")

    def named_buffers(self, prefix: str = ""):
        for index, module in enumerate(self.items):
            yield from module.named_buffers(f"{prefix}{index}.")

    def named_modules(self, prefix: str = ""):
        yield prefix.rstrip("."), self
        for index, module in enumerate(self.items):
            yield from module.named_modules(f"{prefix}{index}.")

    def __getitem__(self, index: int | slice) -> Module | ModuleList:
        if isinstance(index, slice):
            return ModuleList(self.items[index])
        return self.items[index]

    def __setitem__(self, index: int, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList holds Modules, got {type(module).__name__}")
        self.items[index] = module

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.items)

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}): {module!r}" for i, module in enumerate(self.items))
        return f"ModuleList({inner}\n)" if inner else "ModuleList()"


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
