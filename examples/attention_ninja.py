"""Attention backward by hand: the lecture's single head of self-attention written out forward in
small steps, every intermediate's gradient derived in numpy, each compared with autograd's.

    python examples/attention_ninja.py                      # all exact or close: exit 0
    python examples/attention_ninja.py --mistake no-row-sum # plant a classic mistake, see it named

The lecture's sizes: B, T, C = 4, 8, 32 and head_size 16. The head is followed by a linear
layer to the 65 characters and the cross-entropy with random targets, so the loss is a real
one. Rows are tokens; weights are (out_features, in_features), so a projection is x @ W.T.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import nn
from autodiff import Tensor, compare_gradients

B, T, C, HEAD_SIZE, VOCAB = 4, 8, 32, 16, 65


def parameters(seed: int = 0) -> dict[str, Tensor]:
    """The input and the weights, PyTorch's default scale U(-1/sqrt(in), 1/sqrt(in))."""
    rng = np.random.default_rng(seed)
    arrays = {
        "x": rng.standard_normal((B, T, C)),
        "Wk": rng.uniform(-1, 1, (HEAD_SIZE, C)) / np.sqrt(C),
        "Wq": rng.uniform(-1, 1, (HEAD_SIZE, C)) / np.sqrt(C),
        "Wv": rng.uniform(-1, 1, (HEAD_SIZE, C)) / np.sqrt(C),
        "Wout": rng.uniform(-1, 1, (VOCAB, HEAD_SIZE)) / np.sqrt(HEAD_SIZE),
    }
    return {name: Tensor(a, requires_grad=True) for name, a in arrays.items()}


FUTURE = np.tril(np.ones((T, T))) == 0  # True above the diagonal: the positions to hide


def forward(p: dict[str, Tensor], targets: np.ndarray) -> dict[str, Tensor]:
    """Every intermediate of the head, by name, as in the lecture; "loss" is the last."""
    t = {}
    t["k"] = p["x"] @ p["Wk"].T  # (B, T, head_size)
    t["q"] = p["x"] @ p["Wq"].T
    t["v"] = p["x"] @ p["Wv"].T
    t["scores"] = t["q"] @ t["k"].swapaxes(-2, -1)  # (B, T, T): query i against key j
    t["scaled"] = t["scores"] * HEAD_SIZE**-0.5  # keeps the softmax from saturating
    t["masked"] = t["scaled"].masked_fill(FUTURE, float("-inf"))
    t["wei"] = nn.softmax(t["masked"], axis=-1)  # each row sums to 1 over the past
    t["out"] = t["wei"] @ t["v"]  # (B, T, head_size)
    t["logits"] = t["out"] @ p["Wout"].T  # (B, T, vocab)
    t["loss"] = nn.cross_entropy(t["logits"].reshape(B * T, VOCAB), targets.reshape(-1))
    return t


def manual_backward(p: dict[str, Tensor], t: dict[str, Tensor], targets) -> dict[str, np.ndarray]:
    """d loss / d every intermediate and weight, by hand, in numpy: the chain rule backwards."""
    v = {name: tensor.data for name, tensor in (p | t).items()}  # plain arrays
    d = {}
    probs = np.exp(v["logits"] - v["logits"].max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    d["logits"] = (probs - np.eye(VOCAB)[targets]) / (B * T)  # softmax - one_hot, averaged
    d["out"] = d["logits"] @ v["Wout"]
    d["Wout"] = np.einsum("btv,bth->vh", d["logits"], v["out"])  # summed over every token
    d["wei"] = d["out"] @ v["v"].swapaxes(-2, -1)
    d["v"] = v["wei"].swapaxes(-2, -1) @ d["out"]
    # softmax backward, row by row: d masked = wei * (d wei - sum_j d wei_j wei_j)
    row_sum = (d["wei"] * v["wei"]).sum(-1, keepdims=True)
    d["masked"] = v["wei"] * (d["wei"] - row_sum)
    d["scaled"] = np.where(FUTURE, 0.0, d["masked"])  # nothing flows through a filled position
    d["scores"] = d["scaled"] * HEAD_SIZE**-0.5
    d["q"] = d["scores"] @ v["k"]  # scores = q @ k^T
    d["k"] = d["scores"].swapaxes(-2, -1) @ v["q"]
    for name in ("k", "q", "v"):  # each projection is x @ W.T
        d["W" + name] = np.einsum("bth,btc->hc", d[name], v["x"])
    d["x"] = d["q"] @ v["Wq"] + d["k"] @ v["Wk"] + d["v"] @ v["Wv"]  # x feeds all three
    return d


def softmax_rows(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# The classic mistakes, each planted in one entry: (tensor, what went wrong, the wrong gradient).
MISTAKES = {
    "no-row-sum": (
        "masked",
        "softmax backward without the row sum: d masked = wei * d wei, the - sum(d wei * wei) "
        "over each row left out",
        lambda d, v: v["wei"] * d["wei"],
    ),
    "mask-after-softmax": (
        "scaled",
        "the mask applied after the softmax instead of before: the softmax taken over the "
        "whole row (future included), its backward then masked",
        lambda d, v: _mask_after_softmax(d, v),
    ),
    "no-scale": (
        "scores",
        "the 1/sqrt(head_size) scale left out: d scores = d scaled",
        lambda d, v: d["scaled"],
    ),
    "transposed-qk": (
        "k",
        "q and k swapped in the product's rule: d k = d scores @ q (that is d q's form), not "
        "d scores^T @ q",
        lambda d, v: d["scores"] @ v["q"],
    ),
}


def _mask_after_softmax(d, v):
    full = softmax_rows(v["scaled"])
    dfull = np.where(FUTURE, 0.0, d["wei"])  # the mask, after the softmax, stops d wei there
    return full * (dfull - (dfull * full).sum(-1, keepdims=True))


def recognise(name: str, gradient: np.ndarray, d: dict, v: dict) -> str | None:
    """The classic attention mistake that gives this wrong gradient of tensor name, in words,
    when one does: each mistake's formula is evaluated on the right upstream gradients d and
    the forward values v and compared with the gradient given."""
    for tensor, what, wrong in MISTAKES.values():
        if tensor == name and np.allclose(gradient, wrong(d, v), rtol=1e-7, atol=1e-12):
            return what
    return None


def compare(mistake: str | None = None, seed: int = 0):
    """Forward, manual backward (with one planted mistake if asked), the comparison, and for
    each tensor that differs the classic mistake recognised in it ({name: words})."""
    p = parameters(seed)
    targets = np.random.default_rng(seed + 1).integers(0, VOCAB, (B, T))
    t = forward(p, targets)
    values = {n: x.data for n, x in (p | t).items()}
    manual = manual_backward(p, t, targets)
    if mistake is not None:
        name, _, wrong = MISTAKES[mistake]
        manual[name] = wrong(manual, values)
    everything = p | t
    result = compare_gradients({n: (manual[n], everything[n]) for n in manual}, loss=t["loss"])
    # The recogniser reads the manual gradients upstream of a failure: the table checks them.
    named = {
        row.name: recognise(row.name, manual[row.name], manual, values) for row in result.failures
    }
    return result, named


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mistake", choices=sorted(MISTAKES), help="plant one classic mistake")
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args(argv)
    result, named = compare(options.mistake, options.seed)
    print(result)
    for name, what in named.items():
        print(f"\nd{name} is wrong: {what or 'not one of the classic attention mistakes'}")
    if options.mistake:
        print(f"(planted: --mistake {options.mistake} in d{MISTAKES[options.mistake][0]})")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
