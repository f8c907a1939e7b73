"""The building blocks a network is made of: Module and Parameter, layers, activations and
the fused ops under them. Imports autodiff only; never the tools (verification, data,
training, drawing, web) around it.
"""

from .activations import GELU, Activation, ReLU, Sigmoid, Softmax, Tanh
from .containers import Flatten, ModuleList, Sequential
from .conv import Conv, Conv2d, ConvTranspose, ConvWeightGrad, conv2d
from .dropout import Dropout, dropout
from .embedding import Embedding
from .functional import (
    Affine,
    activation_function,
    affine,
    log_softmax,
    masked_fill,
    project,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from .gelu import Gelu, NormalCdf, erf, erfc, gelu, normal_cdf
from .grouping import FlattenConsecutive
from .linear import INITIALIZERS, Linear
from .mlp import MLP
from .module import Module, Parameter
from .normalization import BatchNorm1d, LayerNorm, Normalize, normalize
from .pooling import MaxPool, MaxPool2d, MaxUnpool, max_pool2d

__all__ = [
    "INITIALIZERS",
    "MLP",
    "Activation",
    "Affine",
    "BatchNorm1d",
    "Conv",
    "Conv2d",
    "ConvTranspose",
    "ConvWeightGrad",
    "Dropout",
    "Embedding",
    "Flatten",
    "FlattenConsecutive",
    "GELU",
    "Gelu",
    "LayerNorm",
    "Linear",
    "MaxPool",
    "MaxPool2d",
    "MaxUnpool",
    "Module",
    "ModuleList",
    "Normalize",
    "NormalCdf",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "activation_function",
    "affine",
    "conv2d",
    "dropout",
    "erf",
    "erfc",
    "gelu",
    "log_softmax",
    "masked_fill",
    "max_pool2d",
    "normal_cdf",
    "normalize",
    "project",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]
