"""Turn a drawing into an MNIST-style 28x28 image: the Python reference for nn/web/static/digit.js.

MNIST's digits were made by fitting each NIST digit into a 20x20 box (keeping its aspect
ratio, antialiased) and shifting it in a 28x28 field so that its centre of mass is at the
centre. digit.js does the same, step for step, and tests compare the two. Images are 2-D arrays
of ink in [0, 1] (0 = background), any size; numpy only.
"""

from __future__ import annotations

import numpy as np

FIELD = 28
BOX = 20
# The centre of mass of MNIST's digits, in pixel indices: 14.0 on both axes, with a spread of
# a uniform [-0.5, 0.5] around it, so the digits were shifted by whole pixels.
CENTRE = 14.0


def preprocess(image) -> np.ndarray:
    """The (28, 28) image, ink in [0, 1], that the network should see for a drawing."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"expected a 2-D image (height, width), got shape {image.shape}")
    inked = image > 0
    rows, columns = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    field = np.zeros((FIELD, FIELD))
    if rows.size == 0:
        return field
    crop = image[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    height, width = crop.shape
    box_height, box_width = box_size(height, width)
    digit = area_weights(height, box_height) @ crop @ area_weights(width, box_width).T
    # Thin strokes average out to grey; MNIST's strokes reach full ink, so stretch to 1.
    digit /= digit.max()
    top = shift(digit.sum(axis=1), FIELD - box_height)
    left = shift(digit.sum(axis=0), FIELD - box_width)
    field[top : top + box_height, left : left + box_width] = digit
    return field


def box_size(height: int, width: int) -> tuple[int, int]:
    """(height, width) of the digit scaled so that its longer side is BOX pixels."""
    longer = max(height, width)
    # floor(x + 0.5) here and in digit.js: Python's round() would send halves to even.
    # At least 1, so that a hairline keeps a row or column.
    return tuple(max(1, int(np.floor(side * BOX / longer + 0.5))) for side in (height, width))


def area_weights(size: int, new_size: int) -> np.ndarray:
    """(new_size, size) matrix that resamples a line by averaging over each new pixel's area.

    New pixel i covers [i, i + 1) * size / new_size in old pixel units; its weight on old
    pixel k is the overlap of that interval with [k, k + 1), over the interval's length.
    """
    step = size / new_size
    old = np.arange(size)[None, :]
    start = (np.arange(new_size)[:, None] * size) / new_size
    stop = ((np.arange(new_size)[:, None] + 1) * size) / new_size
    overlap = np.minimum(old + 1, stop) - np.maximum(old, start)
    return np.maximum(overlap, 0) / step


def shift(profile: np.ndarray, largest: int) -> int:
    """Offset that puts the centre of mass of profile (ink per row or column) at CENTRE."""
    centre = (np.arange(len(profile)) * profile).sum() / profile.sum()
    # A symmetric digit's centre lies exactly halfway between two offsets, where the last bit
    # of a sum decides; the 1e-9 rounds all such ties up, whatever the order of summation.
    offset = int(np.floor(CENTRE - centre + 0.5 + 1e-9))
    # Clamped, so that a lopsided digit keeps all its ink in the field.
    return min(max(offset, 0), largest)
