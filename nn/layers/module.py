"""The Module base and Parameter: parameters are found by walking a module's attributes.

Every layer (nn.layers) and network subclasses Module; optimizers update its Parameters. The
library's writers change an array in place only through autodiff's `writable`, which gives a
fresh copy to bind when a graph saved the array.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from autodiff import Tensor
from autodiff.tools.inplace import writable, writable_data


class Parameter(Tensor):
    """A leaf tensor that a Module owns and an optimizer updates."""

    __slots__ = ()

    def __init__(self, data, name: str | None = None):
        super().__init__(data, requires_grad=True, dtype=np.asarray(data).dtype, name=name)


class Module:
    """Base class: parameters are found by walking attributes (Parameters, Modules, lists).

    `training` says which mode a module is in: layers that act differently while training
    (dropout, batch normalisation) read it; `train()` and `eval()` set it on every submodule.
    """

    training = True
    # Names of array attributes that are state but not trained (running statistics): saved
    # and loaded with the parameters, never given to an optimizer.
    buffer_names: tuple[str, ...] = ()

    def forward(self, *args):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs, such as ("layers.0.weight", W)."""
        for name, value in vars(self).items():
            items = enumerate(value) if isinstance(value, (list, tuple)) else [(None, value)]
            for index, item in items:
                full = prefix + name + ("" if index is None else f".{index}")
                if isinstance(item, Parameter):
                    yield full, item
                elif isinstance(item, Module):
                    yield from item.named_parameters(full + ".")

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        """(dotted name, array) pairs of the buffers, such as ("layers.1.running_mean", m)."""
        for name in self.buffer_names:
            yield prefix + name, getattr(self, name)
        for name, value in vars(self).items():
            items = enumerate(value) if isinstance(value, (list, tuple)) else [(None, value)]
            for index, item in items:
                if isinstance(item, Module):
                    full = prefix + name + ("" if index is None else f".{index}")
                    yield from item.named_buffers(full + ".")

    def modules(self) -> Iterator[Module]:
        """This module and every module inside it, parents before children."""
        yield self
        for value in vars(self).values():
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(item, Module):
                    yield from item.modules()

    def train(self, mode: bool = True) -> Module:
        """Training mode for this module and all inside it (eval() is train(False))."""
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters' data and of the buffers, by dotted name."""
        own = {name: p.data for name, p in self.named_parameters()} | dict(self.named_buffers())
        return {name: array.copy() for name, array in own.items()}

    def load_state_dict(self, state: dict) -> None:
        """Copy arrays into the parameters and buffers; every name and shape must match."""
        own = {name: p.data for name, p in self.named_parameters()} | dict(self.named_buffers())
        missing, unexpected = sorted(own.keys() - state.keys()), sorted(state.keys() - own.keys())
        if missing or unexpected:
            raise KeyError(f"state_dict mismatch: missing {missing}, unexpected {unexpected}")
        for name, p in own.items():
            value = np.asarray(state[name])
            if value.shape != p.shape:
                raise ValueError(f"{name}: expected shape {p.shape}, got {value.shape}")
        for name, p in self.named_parameters():
            np.copyto(writable_data(p), state[name])
        for name, array in self.named_buffers():
            if not array.flags.writeable:  # saved by a graph: bind a copy in its place
                owner, attribute = self._owner_of(name)
                array = writable(array)
                setattr(owner, attribute, array)
            np.copyto(array, state[name])

    def _owner_of(self, dotted: str) -> tuple[object, str]:
        """The object holding the attribute a dotted state name ends in, and that name."""
        *path, attribute = dotted.split(".")
        owner = self
        for part in path:
            owner = owner[int(part)] if part.isdigit() else getattr(owner, part)
        return owner, attribute

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"
