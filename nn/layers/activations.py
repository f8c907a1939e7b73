"""Activation functions as modules, for networks built from layers: Sigmoid(), Tanh(), ReLU(),
Softmax(axis=-1), GELU(approximate="none" | "tanh")."""

from __future__ import annotations

from autodiff import Tensor

from .functional import activation_function, softmax
from .gelu import gelu
from .module import Module


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


class Softmax(Module):
    """exp(x) / sum(exp(x), axis): each row a probability distribution (axis -1 by default)."""

    def __init__(self, axis: int = -1):
        self.axis = axis

    def forward(self, x) -> Tensor:
        return softmax(x, self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class GELU(Module):
    """x * Phi(x), Phi the standard normal CDF (exact by erf), or its tanh approximation with
    approximate="tanh", as PyTorch's nn.GELU."""

    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f'GELU: approximate must be "none" or "tanh", got {approximate!r}')
        self.approximate = approximate

    def forward(self, x) -> Tensor:
        return gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return "" if self.approximate == "none" else f"approximate={self.approximate!r}"
