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

from . import data, network3
from .backprop import (
    Backprop,
    BackpropReport,
    CheckResult,
    check_backprop,
    check_conv_backprop,
    check_pool_backprop,
    manual_backprop,
    verify_backprop,
)
from .drawing import (
    draw_attention,
    draw_conv_graph,
    draw_feature_maps,
    draw_filters,
    draw_model_graph,
    draw_network,
    explore_model,
)
from .layers import (
    GELU,
    MLP,
    BatchNorm1d,
    Conv2d,
    Dropout,
    Embedding,
    Flatten,
    FlattenConsecutive,
    LayerNorm,
    Linear,
    MaxPool2d,
    Module,
    ModuleList,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    affine,
    conv2d,
    dropout,
    erf,
    gelu,
    log_softmax,
    masked_fill,
    max_pool2d,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from .losses import binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, mse_loss
from .optim import SGD, Adam, AdamW, LRSchedule, clip_grad_norm, piecewise_constant
from .sampling import multinomial
from .training import History, evaluate, fit, load, plot_history, save
from .web.inline import draw_digit

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
    "Conv2d",
    "Dropout",
    "Embedding",
    "Flatten",
    "FlattenConsecutive",
    "GELU",
    "LRSchedule",
    "LayerNorm",
    "Linear",
    "MaxPool2d",
    "Module",
    "ModuleList",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "affine",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "check_backprop",
    "check_conv_backprop",
    "check_pool_backprop",
    "clip_grad_norm",
    "conv2d",
    "cross_entropy",
    "data",
    "draw_attention",
    "draw_conv_graph",
    "draw_digit",
    "draw_feature_maps",
    "draw_filters",
    "draw_model_graph",
    "draw_network",
    "explore_model",
    "dropout",
    "erf",
    "evaluate",
    "fit",
    "gelu",
    "load",
    "log_softmax",
    "manual_backprop",
    "masked_fill",
    "max_pool2d",
    "mse_loss",
    "multinomial",
    "network3",
    "piecewise_constant",
    "plot_history",
    "relu",
    "save",
    "sigmoid",
    "softmax",
    "tanh",
    "verify_backprop",
]
