"""Saving and loading MLPs as JSON in the format of Nielsen's network2.py.

network2.py writes {"sizes", "weights", "biases", "cost"} with weights as (out, in) lists and
biases as (n, 1) column lists. We write exactly that, plus "activation" and
"output_activation", which his load() ignores, so files move both ways.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from ..layers import MLP
from ..losses import binary_cross_entropy

NIELSEN_COSTS = ("QuadraticCost", "CrossEntropyCost")


def nielsen_cost(loss) -> str:
    """The name of network2.py's cost class for one of our losses: Nielsen has two, and
    cross-entropy is his only other cost; everything else is saved as QuadraticCost."""
    return "CrossEntropyCost" if loss is binary_cross_entropy else "QuadraticCost"


def save(model: MLP, path: str | os.PathLike, cost: str = "QuadraticCost") -> None:
    """Write model to path atomically: a crash leaves the old file or the new one, never half.

    cost names Nielsen's cost class ("QuadraticCost" or "CrossEntropyCost"); network2.py
    needs it to load the file.
    """
    write_atomically(Path(path), json.dumps(to_document(model, cost)).encode())


def to_document(model: MLP, cost: str = "QuadraticCost") -> dict:
    """The model as the JSON object save() writes (network2.py's keys plus activations)."""
    if not isinstance(model, MLP):
        raise TypeError(f"save() writes MLPs in Nielsen's format, got {type(model).__name__}")
    if cost not in NIELSEN_COSTS:
        raise ValueError(f"cost must be one of {NIELSEN_COSTS}, got {cost!r}")
    return {
        "sizes": model.sizes,
        "weights": [layer.weight.data.tolist() for layer in model.layers],
        "biases": [layer.bias.data.reshape(-1, 1).tolist() for layer in model.layers],
        "cost": cost,
        "activation": model.activation,
        "output_activation": model.output_activation,
    }


def write_atomically(path: Path, content: bytes) -> None:
    """Write to a temporary file beside path, flush it to disk, then rename it over path."""
    # open() rather than mkstemp, so the file gets the usual umask permissions, not 0600.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    try:
        with open(temporary, "xb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def load(path: str | os.PathLike, dtype=np.float64) -> MLP:
    """Read a network2.py-format file (ours or Nielsen's) into an MLP with the same outputs."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON (truncated or corrupt?): {error}") from None
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a JSON object with sizes, weights and biases")
    missing = [key for key in ("sizes", "weights", "biases") if key not in document]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)} (network2.py format expected)")
    sizes = document["sizes"]
    weights = [np.asarray(w, dtype=dtype) for w in document["weights"]]
    biases = [np.asarray(b, dtype=dtype) for b in document["biases"]]
    _check_shapes(path, sizes, weights, biases)
    model = MLP(
        sizes,
        activation=document.get("activation", "sigmoid"),
        output_activation=document.get("output_activation", "sigmoid"),
        dtype=dtype,
    )
    for layer, w, b in zip(model.layers, weights, biases):
        np.copyto(layer.weight.data, w)
        np.copyto(layer.bias.data, b.reshape(-1))
    return model


def _check_shapes(path: Path, sizes, weights: list, biases: list) -> None:
    if not isinstance(sizes, list) or len(sizes) < 2:
        raise ValueError(f"{path}: sizes must list at least two layer widths, got {sizes!r}")
    layers = len(sizes) - 1
    if len(weights) != layers or len(biases) != layers:
        raise ValueError(
            f"{path}: sizes {sizes} describe {layers} layers, but the file has "
            f"{len(weights)} weight matrices and {len(biases)} bias vectors"
        )
    for l, (n_in, n_out, w, b) in enumerate(zip(sizes[:-1], sizes[1:], weights, biases), 1):
        if w.shape != (n_out, n_in):
            raise ValueError(
                f"{path}: layer {l} weights have shape {w.shape}, sizes say {(n_out, n_in)}"
            )
        if b.shape not in ((n_out, 1), (n_out,)):
            raise ValueError(
                f"{path}: layer {l} biases have shape {b.shape}, sizes say {(n_out, 1)}"
            )
