"""The Module base and Parameter: parameters are found by walking a module's attributes.

Every layer (nn.layers) and network subclasses Module; optimizers update its Parameters. The
library's writers change an array in place only through autodiff's `writable`, which gives a
fresh copy to bind when a graph saved the array.
"""

from __future__ import annotations

import weakref
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
        out = self.forward(*args, **kwargs)
        if isinstance(out, Tensor):
            # A weak reference, so no graph is kept alive: nn.draw_model_graph finds the
            # tensors a submodule computed from it (one box per attention head).
            self._last_output = weakref.ref(out)
        return out

    def __getstate__(self) -> dict:
        # The weak reference cannot be pickled, and a copy has no last call of its own.
        return {k: v for k, v in vars(self).items() if k != "_last_output"}

    def last_output(self) -> Tensor | None:
        """The Tensor this module's last call returned, while something else keeps it alive."""
        reference = vars(self).get("_last_output")
        return reference() if reference is not None else None

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

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(dotted name, module) pairs, this module first as "", named as named_parameters."""
        yield prefix.rstrip("."), self
        for name, value in vars(self).items():
            items = enumerate(value) if isinstance(value, (list, tuple)) else [(None, value)]
            for index, item in items:
                if isinstance(item, Module):
                    full = prefix + name + ("" if index is None else f".{index}")
                    yield from item.named_modules(full + ".")

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

    def register_buffer(self, name: str, array) -> None:
        """Keep array as self.<name>: state saved and loaded with the parameters, never
        trained (the lecture's causal mask, register_buffer("tril", np.tril(...)))."""
        if not isinstance(name, str) or not name.isidentifier():
            raise TypeError(f"register_buffer: name must be an identifier string, got {name!r}")
        if isinstance(getattr(self, name, None), (Parameter, Module)):
            raise KeyError(f"register_buffer: {name!r} is already a parameter or module")
        if isinstance(array, Tensor):
            array = array.data
        if array is None or isinstance(array, (str, bytes)):
            raise TypeError(f"register_buffer({name!r}, ...) expects an array, got {array!r}")
        setattr(self, name, np.array(array))  # a copy: the module owns its buffer
        if name not in self.buffer_names:
            self.buffer_names = (*self.buffer_names, name)

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
