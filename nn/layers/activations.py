"""Activation functions as modules, for networks built from layers: Sigmoid(), Tanh(), ReLU()."""

from __future__ import annotations

from autodiff import Tensor

from .functional import activation_function
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
