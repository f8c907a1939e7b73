"""Becoming a backprop ninja: the batch-norm MLP of makemore, forward in small steps, every
intermediate's gradient derived by hand in numpy, and each compared with autograd's.

    python examples/backprop_ninja.py                       # all exact or close: exit 0
    python examples/backprop_ninja.py --mistake transposed  # plant a classic mistake, see it named

One batch of 32 contexts of 3 characters, embedding 10, hidden 64. Rows are examples; weights
are (out_features, in_features), so a layer is x @ W.T + b. Batch norm normalises with the
biased variance, as PyTorch (and nn.BatchNorm1d) do. The last two rows are the exercise's
shortcuts: the whole cross-entropy and the whole batch norm each as one formula.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import nn
from autodiff import Tensor, compare_gradients

SHARED_NAMES = Path(__file__).resolve().parents[2] / "shared" / "data" / "names" / "names.txt"
EPS = 1e-5


def batch(data, block_size: int = 3, batch_size: int = 32, seed: int = 0):
    """A random mini-batch (contexts, next characters) from the train split of the names."""
    split = nn.data.load_names(data).split(block_size)
    rows = np.random.default_rng(seed).integers(0, len(split.train[0]), batch_size)
    return split.train[0][rows], split.train[1][rows]


def parameters(vocab=27, embedding=10, block_size=3, hidden=64, seed=0) -> dict[str, Tensor]:
    """The lecture's initialisation, with small random biases and batch-norm parameters so that
    no gradient hides behind a zero."""
    rng = np.random.default_rng(seed)
    fan_in = embedding * block_size
    arrays = {
        "C": rng.standard_normal((vocab, embedding)),
        "W1": rng.standard_normal((hidden, fan_in)) * (5 / 3) / fan_in**0.5,
        "b1": rng.standard_normal(hidden) * 0.1,
        "W2": rng.standard_normal((vocab, hidden)) * 0.1,
        "b2": rng.standard_normal(vocab) * 0.1,
        "bngain": rng.standard_normal((1, hidden)) * 0.1 + 1.0,
        "bnbias": rng.standard_normal((1, hidden)) * 0.1,
    }
    return {name: Tensor(a, requires_grad=True) for name, a in arrays.items()}


def forward(p: dict[str, Tensor], x: np.ndarray, y: np.ndarray) -> dict[str, Tensor]:
    """Every intermediate of the forward pass, by name; "loss" is the last."""
    n = len(x)
    t = {}
    t["emb"] = p["C"][x]  # (n, block, embedding)
    t["embcat"] = t["emb"].reshape(n, -1)
    t["hprebn"] = t["embcat"] @ p["W1"].T + p["b1"]
    t["bnmeani"] = t["hprebn"].sum(0, keepdims=True) * (1 / n)
    t["bndiff"] = t["hprebn"] - t["bnmeani"]
    t["bndiff2"] = t["bndiff"] ** 2
    t["bnvar"] = t["bndiff2"].sum(0, keepdims=True) * (1 / n)  # biased, as PyTorch normalises
    t["bnvar_inv"] = (t["bnvar"] + EPS) ** -0.5
    t["bnraw"] = t["bndiff"] * t["bnvar_inv"]
    t["hpreact"] = p["bngain"] * t["bnraw"] + p["bnbias"]
    t["h"] = t["hpreact"].tanh()
    t["logits"] = t["h"] @ p["W2"].T + p["b2"]
    t["logit_maxes"] = t["logits"].max(1, keepdims=True)
    t["norm_logits"] = t["logits"] - t["logit_maxes"]  # subtracted for numerical safety only
    t["counts"] = t["norm_logits"].exp()
    t["counts_sum"] = t["counts"].sum(1, keepdims=True)
    t["counts_sum_inv"] = t["counts_sum"] ** -1
    t["probs"] = t["counts"] * t["counts_sum_inv"]
    t["logprobs"] = t["probs"].log()
    t["loss"] = -t["logprobs"][np.arange(n), y].mean()
    return t


def manual_backward(p: dict[str, Tensor], t: dict[str, Tensor], x, y) -> dict[str, np.ndarray]:
    """d loss / d every intermediate and parameter, by hand, in numpy: the chain rule backwards."""
    v = {name: tensor.data for name, tensor in (p | t).items()}  # plain arrays
    n = len(x)
    d = {}
    d["logprobs"] = np.zeros_like(v["logprobs"])
    d["logprobs"][np.arange(n), y] = -1 / n
    d["probs"] = d["logprobs"] / v["probs"]
    d["counts_sum_inv"] = (v["counts"] * d["probs"]).sum(1, keepdims=True)
    d["counts"] = v["counts_sum_inv"] * d["probs"]
    d["counts_sum"] = -(v["counts_sum"] ** -2) * d["counts_sum_inv"]
    d["counts"] = d["counts"] + d["counts_sum"]  # each count also feeds its row's sum
    d["norm_logits"] = v["counts"] * d["counts"]
    d["logit_maxes"] = -d["norm_logits"].sum(1, keepdims=True)
    at_max = v["logits"] == v["logit_maxes"]  # random floats: one maximum per row
    d["logits"] = d["norm_logits"] + at_max * d["logit_maxes"]
    d["h"] = d["logits"] @ v["W2"]
    d["W2"] = d["logits"].T @ v["h"]
    d["b2"] = d["logits"].sum(0)
    d["hpreact"] = (1 - v["h"] ** 2) * d["h"]
    d["bngain"] = (v["bnraw"] * d["hpreact"]).sum(0, keepdims=True)
    d["bnbias"] = d["hpreact"].sum(0, keepdims=True)
    d["bnraw"] = v["bngain"] * d["hpreact"]
    d["bnvar_inv"] = (v["bndiff"] * d["bnraw"]).sum(0, keepdims=True)
    d["bnvar"] = -0.5 * (v["bnvar"] + EPS) ** -1.5 * d["bnvar_inv"]
    d["bndiff2"] = np.ones_like(v["bndiff2"]) * d["bnvar"] / n
    d["bndiff"] = v["bnvar_inv"] * d["bnraw"] + 2 * v["bndiff"] * d["bndiff2"]
    d["bnmeani"] = -d["bndiff"].sum(0, keepdims=True)
    d["hprebn"] = d["bndiff"] + np.ones_like(v["hprebn"]) * d["bnmeani"] / n
    d["embcat"] = d["hprebn"] @ v["W1"]
    d["W1"] = d["hprebn"].T @ v["embcat"]
    d["b1"] = d["hprebn"].sum(0)
    d["emb"] = d["embcat"].reshape(v["emb"].shape)
    d["C"] = np.zeros_like(v["C"])
    np.add.at(d["C"], x, d["emb"])  # a character used twice collects both gradients
    return d


def fused_gradients(p: dict[str, Tensor], t: dict[str, Tensor], y) -> dict[str, np.ndarray]:
    """The exercise's shortcuts: cross-entropy and batch norm each differentiated in one go."""
    n = len(y)
    probs = t["probs"].data
    dlogits = probs.copy()
    dlogits[np.arange(n), y] -= 1
    dlogits /= n  # d loss / d logits = (softmax - one_hot) / n
    dhpreact = (1 - t["h"].data ** 2) * (dlogits @ p["W2"].data)
    bnraw, scale = t["bnraw"].data, p["bngain"].data * t["bnvar_inv"].data / n
    # d hprebn = gain / (n sigma) (n g - sum(g) - bnraw sum(g bnraw)), g = d hpreact
    dhprebn = scale * (
        n * dhpreact - dhpreact.sum(0) - bnraw * (dhpreact * bnraw).sum(0, keepdims=True)
    )
    return {"logits (fused)": dlogits, "hprebn (fused)": dhprebn}


# The classic mistakes, each planted in one entry: (tensor, what went wrong, the wrong gradient).
MISTAKES = {
    "missing-sum": ("b2", "db2 = dlogits: no sum over the batch", lambda d, t: d["logits"]),
    "wrong-axis": (
        "counts_sum_inv",
        "summed over the batch axis instead of the row",
        lambda d, t: (t["counts"].data * d["probs"]).sum(0, keepdims=True),
    ),
    "transposed": ("W2", "dW2 = h.T @ dlogits", lambda d, t: d["W2"].T),
    "missing-1/n": ("logprobs", "-1 at each label, without 1/n", lambda d, t: d["logprobs"] * 32),
    "sign": ("h", "dh = -dlogits @ W2", lambda d, t: -d["h"]),
    "row-constant": (
        "norm_logits",
        "one value added to each row",
        lambda d, t: d["norm_logits"] + np.arange(len(d["norm_logits"]))[:, None] * 1e-3,
    ),
    "zeros": ("embcat", "the gradient never sent back", lambda d, t: np.zeros_like(d["embcat"])),
}


def compare(data, mistake: str | None = None, seed: int = 0):
    """Forward, manual backward (with one planted mistake if asked), and the comparison."""
    x, y = batch(data, seed=seed)
    p = parameters(seed=seed)
    t = forward(p, x, y)
    manual = manual_backward(p, t, x, y)
    if mistake is not None:
        name, _, wrong = MISTAKES[mistake]
        manual[name] = wrong(manual, t)
    everything = p | t
    pairs = {name: (manual[name], everything[name]) for name in manual}
    fused = fused_gradients(p, t, y)
    pairs |= {name: (fused[name], t[name.split()[0]]) for name in fused}
    return compare_gradients(pairs, loss=t["loss"]), t["loss"].item()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = SHARED_NAMES if SHARED_NAMES.exists() else nn.data.NAMES_SAMPLE_PATH
    parser.add_argument("--data", default=str(default), help="a names file, one a line")
    parser.add_argument("--mistake", choices=sorted(MISTAKES), help="plant one classic mistake")
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args(argv)
    if Path(options.data) == nn.data.NAMES_SAMPLE_PATH and not SHARED_NAMES.exists():
        print(
            f"Note: {SHARED_NAMES} is not there, so the batch comes from the sample shipped in "
            "nn/data (1,002 names); every gradient is checked the same way on it."
        )
    print(
        f"names from {options.data}; one batch of 32 contexts of 3 characters, embedding 10, "
        f"hidden 64, seed {options.seed}"
    )
    result, loss = compare(options.data, options.mistake, options.seed)
    print(f"loss {loss:.6f}\n{result}")
    if options.mistake:
        name, what, _ = MISTAKES[options.mistake]
        print(f"\nplanted in d{name}: {what}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
