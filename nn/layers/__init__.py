"""The building blocks a network is made of: Module and Parameter, layers, activations and
the fused ops under them. Imports autodiff only; never the tools (verification, data,
training, drawing, web) around it.
"""

from .activations import Activation, ReLU, Sigmoid, Tanh
from .containers import Flatten, Sequential
from .embedding import Embedding
from .functional import Affine, activation_function, affine, relu, sigmoid, softmax, tanh
from .grouping import FlattenConsecutive
from .linear import INITIALIZERS, Linear
from .mlp import MLP
from .module import Module, Parameter
from .normalization import BatchNorm1d, LayerNorm, Normalize, normalize

__all__ = [
    "INITIALIZERS",
    "MLP",
    "Activation",
    "Affine",
    "BatchNorm1d",
    "Embedding",
    "Flatten",
    "FlattenConsecutive",
    "LayerNorm",
    "Linear",
    "Module",
    "Normalize",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "activation_function",
    "affine",
    "normalize",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]
