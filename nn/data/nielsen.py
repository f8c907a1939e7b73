"""Nielsen's mnist.pkl.gz: read it with an unpickler that rebuilds numpy arrays and nothing
else, and write the same layout (for tests, or made from the IDX files when his is absent).

His file is a Python 2 pickle of three (images, labels) pairs, training (50,000), validation
and test (10,000 each): images float32 (n, 784) in [0, 1], labels int64 (n,). Python 2
wrote the array bytes as str, so they are read with encoding="latin1". A pickle is code: any
global other than the few numpy needs to rebuild an array is refused before it runs.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import zlib
from pathlib import Path

import numpy as np

from .arrays import PIXELS, Pair
from .files import read_bytes

FILENAME = "mnist.pkl.gz"
EXPECTED = "Nielsen's mnist.pkl.gz, a gzip-compressed pickle of three (images, labels) pairs"
# What numpy's arrays reduce to, under the module names numpy 1.x, 2.x and Python 2 wrote.
ALLOWED = {
    (module, name)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray")
    for name in ("_reconstruct", "scalar")
} | {("numpy", "ndarray"), ("numpy", "dtype")}


class _Refused(pickle.UnpicklingError):
    pass


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED:
            raise _Refused(f"it asks for {module}.{name}, which is not numpy data")
        if module == "numpy":
            return getattr(np, name)
        return getattr(_multiarray(), name)


def _multiarray():
    # numpy 2 moved numpy.core to numpy._core (the old name still imports, with a warning).
    try:
        from numpy._core import multiarray
    except ImportError:
        from numpy.core import multiarray
    return multiarray


def load_nielsen_pickle(path: str | os.PathLike) -> tuple[Pair, Pair, Pair]:
    """(training, validation, test) pairs from a file laid out like Nielsen's mnist.pkl.gz.

    Raises ValueError naming the file for anything else: not gzip, not a pickle, a pickle that
    asks for code other than numpy's array rebuilding (a tampered file), or arrays of the
    wrong shapes or kinds.
    """
    path = Path(path)
    compressed = read_bytes(path, EXPECTED)
    if not compressed.startswith(b"\x1f\x8b"):
        raise ValueError(
            f"{path} is not gzip-compressed (it starts with {compressed[:4].hex()}, not 1f8b): "
            f"expected {EXPECTED}"
        )
    try:
        content = gzip.decompress(compressed)
        if not content:
            raise ValueError("it decompresses to nothing")
        splits = _ArraysOnly(io.BytesIO(content), encoding="latin1").load()
    except _Refused as error:
        raise ValueError(f"{path}: refused, not a pickle of numpy arrays only: {error}") from None
    except (pickle.UnpicklingError, OSError, EOFError, zlib.error, ValueError, TypeError) as error:
        raise ValueError(
            f"{path}: not a readable mnist.pkl.gz ({error}); expected {EXPECTED}"
        ) from None
    return _checked(path, splits)


def _checked(path: Path, splits) -> tuple[Pair, Pair, Pair]:
    expected = "three (images (n, 784) floats, labels (n,) integers 0-9) pairs"
    if not (isinstance(splits, (tuple, list)) and len(splits) == 3):
        raise ValueError(f"{path}: expected {expected}, got {type(splits).__name__}")
    pairs = []
    for role, pair in zip(("training", "validation", "test"), splits):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise ValueError(f"{path}: {role} data: expected an (images, labels) pair")
        images, labels = (np.asarray(a) for a in pair)
        if images.ndim != 2 or images.shape[1] != PIXELS or images.dtype.kind != "f":
            raise ValueError(
                f"{path}: {role} images: expected floats of shape (n, {PIXELS}), "
                f"got {images.dtype} {images.shape}"
            )
        if labels.shape != (len(images),) or labels.dtype.kind not in "iu":
            raise ValueError(
                f"{path}: {role} labels: expected {len(images)} integers, "
                f"got {labels.dtype} {labels.shape}"
            )
        if labels.size and (labels.min() < 0 or labels.max() > 9):
            raise ValueError(f"{path}: {role} labels: expected digits 0-9")
        pairs.append((images, labels.astype(np.int64)))
    return tuple(pairs)


def save_nielsen_pickle(
    path: str | os.PathLike, training: Pair, validation: Pair, test: Pair
) -> Path:
    """Write three (images, labels) pairs in mnist.pkl.gz's layout (float32, int64), atomically."""
    path = Path(path)
    splits = tuple(
        (np.asarray(images, np.float32), np.asarray(labels, np.int64))
        for images, labels in (training, validation, test)
    )
    _checked(path, splits)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with gzip.open(partial, "wb") as file:
            pickle.dump(splits, file, protocol=4)  # 2 would need _codecs for bytes
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path
