"""What the engine accepts as numbers: real arrays in, and a clear error for anything else.

Used by Tensor() and by the constants that operations lift; knows nothing of graphs.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def float_array(data: Any, dtype) -> np.ndarray:
    """A fresh floating array: float64 unless data is a floating numpy array or dtype says.

    Anything that is not real numbers (None, strings, objects, ragged lists, complex) is
    refused here, naming what was given, instead of becoming NaN or losing its imaginary part.
    """
    if dtype is not None and not np.issubdtype(np.dtype(dtype), np.floating):
        raise TypeError(f"Tensor holds floating-point data: expected a float dtype, got {dtype}")
    array = numeric_array(data, "Tensor()")
    if dtype is None:
        floating = isinstance(data, (np.ndarray, np.floating)) and array.dtype.kind == "f"
        dtype = array.dtype if floating else np.float64
    return np.array(array, dtype=dtype)


def numeric_array(value: Any, where: str) -> np.ndarray:
    """value as an array of real numbers (bool, int or float), or an error naming what it was."""
    try:
        array = np.asarray(value)
    except ValueError as error:  # numpy's message for ragged nested lists
        raise ValueError(
            f"{where} expected a rectangular array of numbers (nested lists of equal "
            f"lengths), got a ragged {type(value).__name__}: {error}"
        ) from None
    if array.dtype.kind in "biuf":
        return array
    if array.dtype.kind == "c":
        raise TypeError(
            f"{where} expected real numbers, got {_describe(value, array)}, complex: the engine "
            "differentiates real functions; pass the real part (x.real) or abs(x)"
        )
    raise TypeError(
        f"{where} expected numbers (a number, nested lists of numbers or a numeric array), "
        f"got {_describe(value, array)}"
    )


def _describe(value: Any, array: np.ndarray) -> str:
    if value is None:
        return "None"
    if isinstance(value, (str, bytes)):
        return f"the string {value[:40]!r} (convert text with float() first)"
    if array.dtype.kind in "US":
        return (
            f"a {type(value).__name__} of strings ({array.dtype}; convert text to numbers "
            "first, e.g. np.asarray(values, dtype=float))"
        )
    if array.dtype == object:
        return (
            f"a {type(value).__name__} of Python objects (elements that are not numbers, "
            "such as None or strings, or nested lists of different lengths)"
        )
    return f"a {type(value).__name__} of dtype {array.dtype}"
