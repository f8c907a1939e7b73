"""Modules: Parameter, the Module base, Linear, activation modules and Nielsen's MLP.

Rows are examples: inputs are (batch, in_features), or one example (in_features,). Weights
are (out_features, in_features), as Nielsen's w[j][k] and PyTorch's Linear; biases are
(out_features,). Nielsen's column vectors (in_features, 1) are refused with a hint.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from autodiff import Tensor

from .functional import activation_function, affine


class Parameter(Tensor):
    """A leaf tensor that a Module owns and an optimizer updates."""

    __slots__ = ()

    def __init__(self, data, name: str | None = None):
        super().__init__(data, requires_grad=True, dtype=np.asarray(data).dtype, name=name)


class Module:
    """Base class: parameters are found by walking attributes (Parameters, Modules, lists)."""

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

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def state_dict(self) -> dict[str, np.ndarray]:
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict) -> None:
        """Copy arrays into the parameters; every name and shape must match."""
        own = dict(self.named_parameters())
        missing, unexpected = sorted(own.keys() - state.keys()), sorted(state.keys() - own.keys())
        if missing or unexpected:
            raise KeyError(f"state_dict mismatch: missing {missing}, unexpected {unexpected}")
        for name, p in own.items():
            value = np.asarray(state[name])
            if value.shape != p.shape:
                raise ValueError(f"{name}: expected shape {p.shape}, got {value.shape}")
        for name, p in own.items():
            np.copyto(p.data, state[name])

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


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
    # Glorot & Bengio (2010): U(-a, a) with a = sqrt(6/(in+out)), zero biases
    "xavier": lambda rng, n_in, n_out: (
        rng.uniform(-1, 1, (n_out, n_in)) * (6 / (n_in + n_out)) ** 0.5,
        np.zeros(n_out),
    ),
}


class Linear(Module):
    """z = x @ weight.T + bias, with weight (out_features, in_features) and bias (out_features,)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        init: str = "nielsen",
        seed: int | np.random.Generator | None = None,
        dtype=np.float64,
    ):
        if init not in INITIALIZERS:
            raise ValueError(f"unknown init {init!r}: expected one of {sorted(INITIALIZERS)}")
        self.in_features, self.out_features = in_features, out_features
        weight, bias = INITIALIZERS[init](np.random.default_rng(seed), in_features, out_features)
        # Stored row-major, the layout of the weight gradient g^T x (see Affine), so the update
        # w -= lr * grad walks both arrays in the same contiguous order. (Measured faster than
        # column-major with OpenBLAS at batch sizes 10 and 100, notably for g @ W.)
        self.weight = Parameter(np.ascontiguousarray(weight, dtype=dtype))
        self.bias = Parameter(bias.astype(dtype))

    def forward(self, x) -> Tensor:
        self.check_input(x)
        return affine(x, self.weight, self.bias)

    def check_input(self, x) -> None:
        # x.shape directly where it exists: np.shape on a Tensor goes through numpy's dispatch.
        shape = x.shape if isinstance(x, (Tensor, np.ndarray)) else np.shape(x)
        if shape[-1:] == (self.in_features,) and len(shape) <= 2:
            return
        expected = f"(batch, {self.in_features}) or ({self.in_features},)"
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
        return f"{self.in_features}, {self.out_features}"


class Activation(Module):
    """An activation function as a module, such as Sigmoid() in a custom network."""

    function_name: str | None = None

    def forward(self, x) -> Tensor:
        return activation_function(self.function_name)(x)


class Sigmoid(Activation):
    function_name = "sigmoid"


class Tanh(Activation):
    function_name = "tanh"


class ReLU(Activation):
    function_name = "relu"


class MLP(Module):
    """A fully connected network, Nielsen's Network: MLP([784, 30, 10]).

    After each forward pass, `zs[l]` and `activations[l]` hold that pass's tensors (with
    activations[0] the input, as in Nielsen's backprop), so after loss.backward() the
    delta of layer l is zs[l].grad.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "sigmoid",
        output_activation: str | None = "sigmoid",
        init: str = "nielsen",
        seed: int | np.random.Generator | None = None,
        dtype=np.float64,
    ):
        if len(sizes) < 2 or not all(isinstance(n, (int, np.integer)) and n > 0 for n in sizes):
            raise ValueError(f"sizes must list at least two positive layer widths, got {sizes!r}")
        for name in (activation, output_activation):
            activation_function(name)  # fail early on an unknown name
        self.sizes = [int(n) for n in sizes]
        self.activation, self.output_activation, self.init = activation, output_activation, init
        rng = np.random.default_rng(seed)
        self.layers = [
            Linear(n_in, n_out, init=init, seed=rng, dtype=dtype)
            for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])
        ]
        self.zs: list[Tensor] = []
        self.activations: list = []

    @property
    def dtype(self):
        return self.layers[0].weight.dtype

    def forward(self, x) -> Tensor:
        hidden = activation_function(self.activation)
        output = activation_function(self.output_activation)
        a = x
        self.zs, self.activations = [], [x]
        for layer in self.layers:
            z = layer(a)
            a = (output if layer is self.layers[-1] else hidden)(z)
            self.zs.append(z)
            self.activations.append(a)
        return a

    def extra_repr(self) -> str:
        return (
            f"{self.sizes}, activation={self.activation!r}, "
            f"output_activation={self.output_activation!r}"
        )
