"""Step through a model's backprop: `explore_model` is autodiff's explorer for a model's loss,
one group per layer as in draw_model_graph and, for an MLP, Nielsen's BP1-BP4 named at the
steps where they apply. Importing this module gives the explorer nn's ops' formulas.
"""

from __future__ import annotations

from autodiff import Tensor, topological_order
from autodiff.drawing import ExplorerPage, explore, register_rule

from ..layers import MLP, Module
from ..layers.conv import Conv, ConvTranspose, ConvWeightGrad
from ..layers.functional import Affine, Project
from ..layers.gelu import Gelu, NormalCdf
from ..layers.normalization import Normalize
from ..layers.pooling import MaxPool, MaxUnpool
from ..losses import (
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    QuadraticCost,
    SoftmaxCrossEntropy,
    mse_loss,
)
from .network import SUPERSCRIPT, _layer_tensors

# The formulas of nn's ops, in the names of their forward's parameters (see autodiff's RULES);
# the target of a loss is its setting `target`, n the batch size.
register_rule(
    Affine,
    "x @ weight^T + bias",
    "grad_out @ weight",
    "grad_out^T @ x",
    "grad_out summed over the batch",
)
register_rule(Project, "x @ weight^T", "grad_out @ weight", "grad_out^T @ x")
register_rule(NormalCdf, "Phi(x) = erfc(-x / sqrt(2)) / 2", "grad_out * exp(-x^2 / 2) / sqrt(2 pi)")
register_rule(
    Gelu,
    "x Phi(x); with approximate=tanh, x (1 + tanh(u)) / 2, u = sqrt(2/pi) (x + 0.044715 x^3)",
    "grad_out * (Phi(x) + x phi(x)); tanh form: "
    "grad_out * ((1 + tanh u) / 2 + x (1 - tanh^2 u) u' / 2)",
)
register_rule(
    QuadraticCost, "(1/n) sum over the batch of 1/2 ||a - target||^2", "grad_out * (a - target) / n"
)
register_rule(
    BinaryCrossEntropy,
    "-(1/n) sum of [target ln a + (1 - target) ln(1 - a)]",
    "grad_out * (a - target) / (a (1 - a) n)",
)
register_rule(
    BinaryCrossEntropyWithLogits,
    "(1/n) sum of [softplus(z) - target z]",
    "grad_out * (sigmoid(z) - target) / n",
)
register_rule(
    SoftmaxCrossEntropy,
    "-(1/n) sum of target ln softmax(z)",
    "grad_out * (softmax(z) - target) / n",
)
register_rule(
    Normalize,
    "(x - mean(x)) / sqrt(var(x) + eps) over axes",
    "(grad_out - mean(grad_out) - z * mean(grad_out * z)) / sqrt(var(x) + eps)",
)
register_rule(
    Conv,
    "x (*) weight + bias, a correlation",
    "ConvTranspose(grad_out, weight)",
    "ConvWeightGrad(x, grad_out)",
    "grad_out summed over batch, height and width",
)
register_rule(
    ConvTranspose,
    "each grad[n, o, i, j] weight[o] added back to its window",
    "Conv(grad_out, weight)",
    "ConvWeightGrad(grad_out, grad)",
)
register_rule(
    ConvWeightGrad,
    "sum over n, i, j of grad[n, o, i, j] x[n, c, s i + u, s j + v]",
    "ConvTranspose(grad, grad_out)",
    "Conv(x, grad_out)",
)
register_rule(MaxPool, "max of x over each window", "MaxUnpool(grad_out): at each window's argmax")
register_rule(MaxUnpool, "zeros with grad added at each window's argmax", "grad_out at each argmax")


def explore_model(model: Module, x, y, loss=None, expand: bool = False, **options) -> ExplorerPage:
    """autodiff.explore of loss(model(x), y) (default nn.mse_loss, chapter 2's cost).

    Parameters carry the model's names and each layer is a group that folds into one box
    (click its name). For an MLP, the layers' tensors are named as in the code (x, zs[l],
    activations[l]) and the panel names BP1 (the output error, at the last z), BP2 (the
    error moving back, at each hidden z), BP3 (at each bias) and BP4 (at each weight), in
    Nielsen's layer numbering (the input is layer 1). Options go to explore (max_nodes,
    rankdir, height, ...); the layout runs top to bottom.
    """
    root = (loss or mse_loss)(model(x), y)
    if not isinstance(root, Tensor) or root.size != 1:
        raise ValueError(
            "explore_model steps through the gradient of a scalar loss: loss(model(x), y) "
            f"gave {type(root).__name__} of shape {getattr(root, 'shape', None)}"
        )
    in_graph = set(topological_order([root]))
    names, groups = _layer_tensors(model, in_graph)
    notes = backprop_notes(model) if names else {}  # names: an MLP's tensors are in the graph
    names.append(("loss", root))
    options.setdefault("rankdir", "TB")
    options.setdefault("title", f"Step through backprop: {type(model).__name__}")
    return explore(
        root,
        expand=expand,
        params=list(model.named_parameters()),
        names=names,
        group=groups or True,
        notes=notes,
        **options,
    )


def backprop_notes(model: MLP) -> dict[Tensor, str]:
    """BP1-BP4 at the tensors of model's last forward pass whose gradients they give."""
    notes, last = {}, len(model.layers) + 1  # Nielsen's L: layers counted from the input, 1

    def times_prime(activation: str | None, l: str) -> str:
        """⊙ σ'(zˡ): the activation's derivative, elementwise (softmax's is not, but BP1 is
        still δᴸ = ∂C/∂zᴸ); nothing without an activation (a = z)."""
        return "" if activation is None else f" ⊙ {activation.replace('sigmoid', 'σ')}'(z{l})"

    for index, (layer, z) in enumerate(zip(model.layers, model.zs)):
        l, number = str(index + 2).translate(SUPERSCRIPT), index + 2
        below, above = str(index + 1).translate(SUPERSCRIPT), str(index + 3).translate(SUPERSCRIPT)
        if number == last:
            notes[z] = (
                f"BP1: δ{l} = ∇ₐC{times_prime(model.output_activation, l)}, the error of the "
                f"output layer L = {number}: this gradient of zs[{index}] (z{l})"
            )
        else:
            notes[z] = (
                f"BP2: δ{l} = ((w{above})ᵀ δ{above}){times_prime(model.activation, l)}, the error "
                f"moved back from layer {number + 1} to layer {number}: this gradient of "
                f"zs[{index}] (z{l})"
            )
        notes[layer.bias] = f"BP3: ∂C/∂b{l} = δ{l}, summed over the batch"
        notes[layer.weight] = (
            f"BP4: ∂C/∂w{l}ⱼₖ = a{below}ₖ δ{l}ⱼ, so ∂C/∂w{l} = (δ{l})ᵀ a{below} over the batch"
        )
    return notes
