"""The Op base class: one recorded operation, with its forward and its vector-Jacobian product.

An op knows nothing about graph traversal. `backward` receives the incoming gradient and the
op's inputs and output, either all as numpy arrays (ordinary backward) or all as Tensors
(`create_graph=True`). Rules are written with numpy operators and functions, which Tensors
also implement, so one rule serves both paths and first order pays nothing for second.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Op:
    """Base of every operation: `forward` on arrays, `backward` returning one gradient per input.

    Subclasses set the attributes they need in `__init__` (an axis, a shape, an index); those
    attributes are what a graph drawing shows next to the op's name.
    """

    inputs: tuple = ()
    needs_input_grad: tuple[bool, ...] = ()
    saved: list | tuple = ()  # the arrays forward computed with, then its output (by apply)
    created_at: Any = None  # a traceback summary, recorded only under detect_anomaly()
    caches: tuple[str, ...] = ()  # attributes forward keeps for backward: not settings

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: Any, *inputs_and_output: Any) -> tuple:
        """Return one gradient per input (None where the input needs none)."""
        raise NotImplementedError

    @property
    def name(self) -> str:
        return type(self).__name__

    def attributes(self) -> dict[str, Any]:
        """The settings of this op, for labels and error messages (and capture's comparison of
        two recordings): its attributes less bookkeeping and caches."""
        return {
            k: v for k, v in vars(self).items() if k not in _BOOKKEEPING and k not in self.caches
        }

    def __repr__(self) -> str:
        settings = " ".join(f"{k}={_short(v)}" for k, v in self.attributes().items())
        return f"{self.name} {settings}".rstrip()


_BOOKKEEPING = {"inputs", "needs_input_grad", "saved", "created_at"}


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array{value.shape}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
