"""nn: Nielsen-style neural networks on the autodiff engine.

    import nn
    model = nn.MLP([784, 30, 10])                 # sigmoid layers, like network.py
    loss = nn.mse_loss(model(x), y)               # x: (batch, 784), y: (batch, 10)
    loss.backward()
    nn.SGD(model.parameters(), lr=3.0).step()

Rows are examples; weights are (out_features, in_features).

The rooms: layers/ (the building blocks), losses.py and optim.py, backprop/ (BP1-BP4 by
hand and the tools that verify backprop), data/, training/ (fit, save/load), draw.py,
web/ (the draw-a-digit page); `python -m nn.verify` and `python -m nn.serve` are the commands.
"""

from . import data
from .backprop import (
    Backprop,
    BackpropReport,
    CheckResult,
    check_backprop,
    manual_backprop,
    verify_backprop,
)
from .draw import draw_model_graph, draw_network
from .layers import (
    MLP,
    BatchNorm1d,
    Embedding,
    Flatten,
    FlattenConsecutive,
    LayerNorm,
    Linear,
    Module,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    affine,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from .losses import binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, mse_loss
from .optim import SGD, Adam, AdamW, LRSchedule, clip_grad_norm, piecewise_constant
from .training import History, evaluate, fit, load, plot_history, save

__all__ = [
    "History",
    "MLP",
    "Backprop",
    "BackpropReport",
    "CheckResult",
    "SGD",
    "Adam",
    "AdamW",
    "BatchNorm1d",
    "Embedding",
    "Flatten",
    "FlattenConsecutive",
    "LRSchedule",
    "LayerNorm",
    "Linear",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "affine",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "check_backprop",
    "clip_grad_norm",
    "cross_entropy",
    "data",
    "draw_model_graph",
    "draw_network",
    "evaluate",
    "fit",
    "load",
    "manual_backprop",
    "mse_loss",
    "piecewise_constant",
    "plot_history",
    "relu",
    "save",
    "sigmoid",
    "softmax",
    "tanh",
    "verify_backprop",
]
