"""MLP: Nielsen's fully connected Network, MLP([784, 30, 10]), keeping each pass's zs and a's."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from autodiff import Tensor

from .functional import activation_function
from .linear import Linear
from .module import Module


class MLP(Module):
    """A fully connected network, Nielsen's Network: MLP([784, 30, 10]).

    After each forward pass, `zs[l]` and `activations[l]` hold that pass's tensors (with
    activations[0] the input, as in Nielsen's backprop), so after loss.backward() the
    delta of layer l is zs[l].grad.

    activation is the hidden layers' ("sigmoid", "tanh", "relu"); output_activation the last
    layer's: "sigmoid" (network.py; with mse_loss or binary_cross_entropy), "softmax"
    (chapter 3's softmax layer; with cross_entropy it is his log-likelihood cost), or None
    (logits, for cross_entropy or binary_cross_entropy_with_logits).
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
