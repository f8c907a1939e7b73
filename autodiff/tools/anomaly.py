"""Anomaly detection: `detect_anomaly()`, where an op was created, and the error raised when it
makes NaN or Inf.

While `detect_anomaly()` is active the core's switch holds this module's two functions, and
apply and the backward walk call them.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ..core.mode import _Switch
from ..core.op import Op

# Frames inside the library are skipped when naming the user's line.
_PACKAGE = Path(__file__).resolve().parents[1]
_LIBRARY_DIRS = (str(_PACKAGE), str(_PACKAGE.parent / "nn"))


class AnomalyError(FloatingPointError):
    """A NaN or Inf appeared in forward or backward under detect_anomaly()."""


def record_origin(op: Op) -> None:
    """Remember the user's line that created op."""
    stack = traceback.extract_stack()[:-2]
    user_frames = [f for f in stack if not f.filename.startswith(_LIBRARY_DIRS)]
    op.created_at = (user_frames or stack)[-1]


def check_finite(op: Op, arrays, phase: str) -> None:
    """Raise AnomalyError if any of arrays (op's output or input gradients) is not finite."""
    for position, array in enumerate(arrays):
        if array is None:
            continue
        values = getattr(array, "data", array)
        if np.all(np.isfinite(values)):
            continue
        what = "output" if phase == "forward" else f"gradient for input {position}"
        bad = "NaN" if np.isnan(values).any() else "Inf"
        origin = op.created_at
        where = f'File "{origin.filename}", line {origin.lineno}: {origin.line}' if origin else "?"
        raise AnomalyError(
            f"{op.name} produced {bad} in its {what} during {phase}; op created at {where}"
        )


class detect_anomaly(_Switch):
    """Raise at the first NaN or Inf made in forward or backward, naming the op and its origin.

    It records where each op was created, so it slows the engine down: use it to debug.
    """

    attribute = "anomaly"
    value = SimpleNamespace(record_origin=record_origin, check_finite=check_finite)
