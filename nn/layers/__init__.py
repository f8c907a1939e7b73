"""The building blocks a network is made of: Module and Parameter, layers, activations and
the fused ops under them. Imports autodiff only; never the tools (verification, data,
training, drawing, web) around it.
"""

from .activations import Activation, ReLU, Sigmoid, Tanh
from .containers import Flatten, Sequential
from .functional import Affine, activation_function, affine, relu, sigmoid, softmax, tanh
from .linear import INITIALIZERS, Linear
from .mlp import MLP
from .module import Module, Parameter

__all__ = [
    "INITIALIZERS",
    "MLP",
    "Activation",
    "Affine",
    "Flatten",
    "Linear",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "activation_function",
    "affine",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]
