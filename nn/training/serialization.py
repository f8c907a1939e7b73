"""Saving and loading MLPs as JSON in the format of Nielsen's network2.py.

network2.py writes {"sizes", "weights", "biases", "cost"} with weights as (out, in) lists and
biases as (n, 1) column lists. We write exactly that, plus "activation" and
"output_activation", which his load() ignores, so files move both ways. Weights holding NaN
or inf are refused: JSON has no such numbers, and neither network2.py nor the page could read
them. load() raises ValueError naming the file for anything but such a document.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..data.files import read_text
from ..data.temporary import remove_stale, temporary_path
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
    document = to_document(model, cost)
    write_atomically(Path(path), json.dumps(document, allow_nan=False).encode())


def to_document(model: MLP, cost: str = "QuadraticCost") -> dict:
    """The model as the JSON object save() writes (network2.py's keys plus activations)."""
    if not isinstance(model, MLP):
        raise TypeError(f"save() writes MLPs in Nielsen's format, got {type(model).__name__}")
    if cost not in NIELSEN_COSTS:
        raise ValueError(f"cost must be one of {NIELSEN_COSTS}, got {cost!r}")
    for l, layer in enumerate(model.layers, 2):  # Nielsen's numbering: the input is layer 1
        for name, tensor in (("weights", layer.weight), ("biases", layer.bias)):
            bad = int(np.count_nonzero(~np.isfinite(tensor.data)))
            if bad:
                raise ValueError(
                    f"cannot save: layer {l} {name} hold {bad} NaN or inf values (training "
                    "diverged: a learning rate too high?); JSON has no such numbers, and "
                    "network2.py and the draw-a-digit page could not read them"
                )
    return {
        "sizes": model.sizes,
        "weights": [layer.weight.data.tolist() for layer in model.layers],
        "biases": [layer.bias.data.reshape(-1, 1).tolist() for layer in model.layers],
        "cost": cost,
        "activation": model.activation,
        "output_activation": model.output_activation,
    }


def write_atomically(path: Path, content: bytes) -> None:
    """Write to a temporary file beside path, flush it to disk, then rename it over path.

    Temporary files that a killed process left beside path are removed first."""
    remove_stale(path, "tmp")
    # open() rather than mkstemp, so the file gets the usual umask permissions, not 0600.
    temporary = temporary_path(path, "tmp")
    try:
        with open(temporary, "xb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        # Named by the user's path: the temporary name would only puzzle.
        reason = error.strerror or str(error)
        if error.errno is None:
            raise type(error)(f"cannot write {path}: {reason}") from None
        raise type(error)(error.errno, f"cannot write {path}: {reason}") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def load(path: str | os.PathLike, dtype=np.float64) -> MLP:
    """Read a network2.py-format file (ours or Nielsen's) into an MLP with the same outputs."""
    path = Path(path)
    document = _document(path)
    sizes = document["sizes"]
    if (
        not isinstance(sizes, list)
        or len(sizes) < 2
        or not all(type(n) is int and n >= 1 for n in sizes)
    ):
        raise ValueError(
            f"{path}: sizes must list two or more positive whole numbers, like [784, 30, 10]; "
            f"got {_short(sizes)}"
        )
    layers = len(sizes) - 1
    weights, biases = document["weights"], document["biases"]
    if not isinstance(weights, list) or not isinstance(biases, list):
        raise ValueError(f"{path}: weights and biases must be lists, one entry per layer")
    if len(weights) != layers or len(biases) != layers:
        raise ValueError(
            f"{path}: sizes {sizes} describe {layers} layers, but the file has "
            f"{len(weights)} weight matrices and {len(biases)} bias vectors"
        )
    weights = [_numbers(path, _entry("weights", i), w, dtype) for i, w in enumerate(weights)]
    biases = [_numbers(path, _entry("biases", i), b, dtype) for i, b in enumerate(biases)]
    _check_shapes(path, sizes, weights, biases)
    try:
        model = MLP(
            sizes,
            activation=document.get("activation", "sigmoid"),
            output_activation=document.get("output_activation", "sigmoid"),
            dtype=dtype,
        )
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: {error}") from None
    for layer, w, b in zip(model.layers, weights, biases):
        np.copyto(layer.weight.data, w)
        np.copyto(layer.bias.data, b.reshape(-1))
    return model


def _document(path: Path) -> dict:
    """The file's JSON object with sizes, weights and biases, or a ValueError naming path."""
    text = read_text(path, "a network saved by nn.save (network2.py's JSON)")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON (truncated or corrupt?): {error}") from None
    except RecursionError:
        raise ValueError(f"{path}: JSON nested too deeply to be a saved network") from None
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a JSON object with sizes, weights and biases")
    missing = [key for key in ("sizes", "weights", "biases") if key not in document]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)} (network2.py format expected)")
    return document


def _numbers(path: Path, what: str, value, dtype) -> np.ndarray:
    """value as a finite array of dtype, or a ValueError naming path and what it holds."""
    try:
        array = np.array(value)
    except (ValueError, TypeError):
        array = None  # ragged lists
    if array is None or array.dtype.kind not in "iuf" or array.dtype == object:
        raise ValueError(
            f"{path}: {what} must be nested lists of numbers of equal lengths; got {_short(value)}"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"{path}: {what} hold NaN or infinite values")
    return array.astype(dtype)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_shapes(path: Path, sizes, weights: list, biases: list) -> None:
    for i, (n_in, n_out, w, b) in enumerate(zip(sizes[:-1], sizes[1:], weights, biases)):
        if w.shape != (n_out, n_in):
            raise ValueError(
                f"{path}: {_entry('weights', i)} have shape {w.shape}, sizes say {(n_out, n_in)}"
            )
        if b.shape not in ((n_out, 1), (n_out,)):
            raise ValueError(
                f"{path}: {_entry('biases', i)} have shape {b.shape}, sizes say {(n_out, 1)}"
            )


def _entry(name: str, i: int) -> str:
    """weights[i] of the file named with its layer in Nielsen's numbering (input = layer 1)."""
    return f"layer {i + 2} {name} ({name}[{i}])"
