"""Nielsen's expanded MNIST (chapter 6): each training image and its four 1-pixel shifts (down,
up, right, left; the row or column shifted in is black), shuffled with a seed. Arrays only:
his expand_mnist.py pickled 250,000 tuples; here the arrays are made in memory in one pass.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .arrays import Pair

SIDE = 28


def shifted_images(images: ArrayLike, side: int = SIDE) -> np.ndarray:
    """(n, 5, side * side): each image, then shifted down, up, right and left by one pixel."""
    images = np.asarray(images)
    if images.ndim != 2 or images.shape[1] != side * side:
        raise ValueError(
            f"expand_mnist expects images of shape (n, {side * side}), got {images.shape}"
        )
    square = images.reshape(-1, side, side)
    out = np.zeros((len(images), 5, side, side), dtype=images.dtype)
    out[:, 0] = square
    out[:, 1, 1:, :] = square[:, :-1, :]  # down: the top row becomes black
    out[:, 2, :-1, :] = square[:, 1:, :]  # up
    out[:, 3, :, 1:] = square[:, :, :-1]  # right: the left column becomes black
    out[:, 4, :, :-1] = square[:, :, 1:]  # left
    return out.reshape(len(images), 5, side * side)


def expand_mnist(
    training: Pair, seed: int | np.random.Generator | None = 0, shuffle: bool = True
) -> Pair:
    """(images (5n, 784), labels (5n,)): the originals and their shifts, in one shuffled order.

    Without shuffle, image i's five versions are rows 5i .. 5i + 4 (original, down, up, right,
    left), the order his script builds before shuffling. Validation and test data are not
    expanded (as in the book).
    """
    images, labels = training
    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise ValueError(
            f"expand_mnist: expected {len(images)} labels (n,), got shape {labels.shape}"
        )
    expanded = shifted_images(images).reshape(-1, SIDE * SIDE)
    expanded_labels = np.repeat(labels, 5)
    if shuffle:
        order = np.random.default_rng(seed).permutation(len(expanded))
        expanded, expanded_labels = expanded[order], expanded_labels[order]
    return expanded, expanded_labels
