"""nn: Nielsen-style neural networks on the autodiff engine.

    import nn
    model = nn.MLP([784, 30, 10])                 # sigmoid layers, like network.py
    loss = nn.mse_loss(model(x), y)               # x: (batch, 784), y: (batch, 10)
    loss.backward()
    nn.SGD(model.parameters(), lr=3.0).step()

Rows are examples; weights are (out_features, in_features).
"""

from . import data
from .backprop_report import BackpropReport, verify_backprop
from .check import CheckResult, check_backprop
from .draw import draw_model_graph, draw_network
from .functional import affine, relu, sigmoid, softmax, tanh
from .losses import binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, mse_loss
from .manual_backprop import Backprop, manual_backprop
from .module import MLP, Linear, Module, Parameter, ReLU, Sigmoid, Tanh
from .optim import SGD
from .serialization import load, save
from .training import History, evaluate, fit, plot_history

__all__ = [
    "History",
    "MLP",
    "Backprop",
    "BackpropReport",
    "CheckResult",
    "SGD",
    "Linear",
    "Module",
    "Parameter",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "affine",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "check_backprop",
    "cross_entropy",
    "data",
    "draw_model_graph",
    "draw_network",
    "evaluate",
    "fit",
    "load",
    "manual_backprop",
    "mse_loss",
    "plot_history",
    "relu",
    "save",
    "sigmoid",
    "softmax",
    "tanh",
    "verify_backprop",
]
