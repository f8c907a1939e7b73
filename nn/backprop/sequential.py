"""An nn.Sequential as the conv oracle (equations_conv) sees it: each layer's kind and its
description as a dict, a float64 copy of the model, and dropout masks held fixed by restoring
each Dropout's generator before every forward pass.
"""

from __future__ import annotations

import copy

import numpy as np

from autodiff import Tensor, no_grad

from ..layers import Activation, Conv2d, Dropout, Flatten, Linear, MaxPool2d, Module, Sequential


def float64_copy(model: Sequential) -> Sequential:
    net = copy.deepcopy(model)
    for p in net.parameters():
        p.data, p.grad = np.asarray(p.data, dtype=np.float64), None
    return net


def layer_kind(i: int, layer: Module) -> str:
    if isinstance(layer, Conv2d):
        return "conv"
    if isinstance(layer, MaxPool2d):
        return "pool"
    if isinstance(layer, Linear):
        return "linear"
    if isinstance(layer, Activation) and layer.function_name in ("sigmoid", "tanh", "relu"):
        return "activation"
    if isinstance(layer, Flatten) and layer.start_dim == 1:
        return "flatten"
    if isinstance(layer, Dropout):
        return "dropout"
    raise ValueError(
        f"verify_backprop on a Sequential knows Conv2d, MaxPool2d, Linear, Sigmoid, Tanh, ReLU, "
        f"Flatten() and Dropout; layer {i} is {layer!r} (a Softmax belongs in the loss: use "
        "nn.cross_entropy on the logits)"
    )


def layer_spec(kind: str, layer: Module, masks: FixedMasks, inp: Tensor, out: Tensor) -> dict:
    """The oracle's description of one layer (equations_conv.conv_net_backprop)."""
    if kind == "conv":
        bias = layer.bias.data if layer.bias is not None else np.zeros(layer.out_channels)
        return dict(kind=kind, weight=layer.weight.data, bias=bias, stride=layer.stride,
                    padding=layer.padding)  # fmt: skip
    if kind == "pool":
        return dict(kind=kind, size=layer.kernel_size, stride=layer.stride)
    if kind == "linear":
        return dict(kind=kind, weight=layer.weight.data, bias=layer.bias.data)
    if kind == "activation":
        return dict(kind=kind, name=layer.function_name)
    if kind == "dropout":
        return dict(kind=kind, mask=masks.mask(layer, inp.data, out.data))
    return dict(kind=kind)


class FixedMasks:
    """Each Dropout's generator as it was before the first pass, restored before every pass."""

    def __init__(self, net: Sequential):
        self.layers = [layer for layer in net.layers if isinstance(layer, Dropout)]
        self.saved = {id(layer): copy.deepcopy(layer.rng) for layer in self.layers}
        self.active = any(layer.training and layer.p > 0 for layer in self.layers)

    def restore(self) -> None:
        for layer in self.layers:
            layer.rng = copy.deepcopy(self.saved[id(layer)])

    def mask(self, layer: Dropout, inp: np.ndarray, out: np.ndarray) -> np.ndarray:
        """The layer's mask (scaling included): what it multiplies ones by, from the saved state."""
        self.restore()
        with no_grad():
            mask = layer(Tensor(np.ones_like(inp))).data.astype(np.float64)
        if not np.allclose(inp * mask, out, rtol=1e-12, atol=0):
            raise RuntimeError(
                f"{layer!r}: could not fix its mask (it depends on more than the input's shape)"
            )
        return mask
