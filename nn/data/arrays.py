"""Datasets as arrays, for any data: one-hot labels, mini-batches, and converters to and from
the list-of-columns format of Nielsen's mnist_loader.py. Rows are examples.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from autodiff.core import data_of

PIXELS = 28 * 28  # Nielsen's columns are MNIST images
Pair = tuple[np.ndarray, np.ndarray]


def one_hot(labels: ArrayLike, num_classes: int = 10, dtype: DTypeLike = np.float64) -> np.ndarray:
    """Rows of zeros with a 1 at each label: shape labels.shape + (num_classes,)."""
    return np.eye(num_classes, dtype=dtype)[_checked_labels(labels, num_classes)]


def _checked_labels(labels: ArrayLike, num_classes: int) -> np.ndarray:
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)].flat[0]
        raise ValueError(f"labels must lie in 0..{num_classes - 1}, got {bad}")
    return labels


def iterate_minibatches(
    x: ArrayLike,
    y: ArrayLike,
    batch_size: int,
    shuffle: bool = True,
    seed: int | np.random.Generator | None = None,
) -> Iterator[Pair]:
    """(x_batch, y_batch) pairs holding every example once: one epoch per call.

    With shuffle, the order is a fresh permutation from seed (an int, or a Generator that is
    advanced, so successive epochs differ). The last batch is smaller when batch_size does
    not divide the number of examples. Batches are copies gathered as x[indices].
    """
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
        raise ValueError(
            f"x and y need one row per example and the same number of rows; got shapes "
            f"{x.shape} and {y.shape}"
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"batch_size must be an integer, got {batch_size!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    # Drawn now, not at the first next(), so errors and the seed's use happen at the call.
    order = np.random.default_rng(seed).permutation(len(x)) if shuffle else np.arange(len(x))
    batches = (order[start : start + batch_size] for start in range(0, len(x), batch_size))
    return ((x[indices], y[indices]) for indices in batches)


def to_nielsen(
    images: ArrayLike, labels: ArrayLike, one_hot: bool = True
) -> list[tuple[np.ndarray, np.ndarray | int]]:
    """Nielsen's format: a list of (x, y), x a (784, 1) column, y a (10, 1) one-hot column
    (his training data) or, with one_hot=False, the int label (his validation and test data)."""
    images = np.asarray(images)
    if images.ndim != 2 or images.shape[1] != PIXELS:
        raise ValueError(f"images must have shape (n, {PIXELS}), got {images.shape}")
    labels = _checked_labels(labels, 10)
    if labels.shape != (len(images),):
        raise ValueError(f"labels must have shape ({len(images)},) like images, got {labels.shape}")
    columns = images.reshape(len(images), PIXELS, 1)
    if one_hot:
        targets = np.eye(10)[labels].reshape(len(labels), 10, 1)
        return list(zip(columns, targets))
    return [(column, int(label)) for column, label in zip(columns, labels)]


def from_nielsen(pairs: Iterable[tuple[ArrayLike, ArrayLike | int]]) -> Pair:
    """(images (n, 784), labels (n,) int64) from Nielsen's (x, y) pairs; y one-hot or int."""
    images, labels = [], []
    for index, pair in enumerate(pairs):
        if len(pair) != 2:
            raise ValueError(f"pair {index}: expected (x, y), got {len(pair)} items")
        x, y = np.asarray(pair[0]), np.asarray(pair[1])
        if x.shape not in ((PIXELS, 1), (PIXELS,)):
            raise ValueError(f"pair {index}: x must have shape ({PIXELS}, 1), got {x.shape}")
        if y.shape in ((10, 1), (10,)) and sorted(y.ravel().tolist()) == [0] * 9 + [1]:
            labels.append(int(y.argmax()))
        elif y.ndim == 0 and np.issubdtype(y.dtype, np.integer) and 0 <= y < 10:
            labels.append(int(y))
        else:
            raise ValueError(
                f"pair {index}: y must be a (10, 1) one-hot column or an int label 0-9, got "
                f"shape {y.shape} {y.dtype}" + (f" value {y}" if y.size <= 10 else "")
            )
        images.append(x.reshape(PIXELS))
    if not images:
        return np.empty((0, PIXELS)), np.empty(0, np.int64)
    return np.stack(images), np.array(labels, np.int64)


def as_pair(data, name: str = "data") -> Pair:
    """(x, y) arrays from an (x, y) pair, or from Nielsen's data as mnist_loader gives it.

    Nielsen's format is a list (or zip) of (x, y) tuples, x a (784, 1) column and y a
    (10, 1) one-hot column or an int label: it is converted once with from_nielsen. Anything
    else is refused with one line saying what was expected. name says whose data it is.
    """
    if isinstance(data, np.ndarray) or not isinstance(data, Iterable):
        raise TypeError(
            f"{name}: expected an (x, y) pair of arrays or Nielsen's list of (x, y) tuples, "
            f"got {_describe(data)}"
        )
    if not isinstance(data, (tuple, list)):
        data = list(data)  # a zip or generator is read once
    if data and all(isinstance(item, tuple) for item in data[:1]):
        try:
            return from_nielsen(data)
        except ValueError as error:
            raise ValueError(
                f"{name} looks like Nielsen's list of (x, y) tuples but {error}; "
                "nn.data.from_nielsen(pairs) converts his MNIST format to (images, labels)"
            ) from None
    if len(data) != 2:
        raise ValueError(
            f"{name}: expected an (x, y) pair of arrays or Nielsen's list of (x, y) tuples "
            f"(convert those with nn.data.from_nielsen), got {_describe(data)}"
        )
    x, y = (np.asarray(data_of(part)) for part in data)
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
        raise ValueError(
            f"{name}: x and y need one row per example and the same number of rows; got "
            f"shapes {x.shape} and {y.shape}"
        )
    return x, y


def _describe(data) -> str:
    if isinstance(data, (tuple, list)):
        return f"a {type(data).__name__} of {len(data)} items"
    shape = getattr(data, "shape", None)
    return type(data).__name__ + ("" if shape is None else f" of shape {shape}")
