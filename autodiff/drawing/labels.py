"""The text of a graph drawing: labels of tensor and op nodes, and the names on their edges.

Plain strings in Graphviz's label syntax (`\\n` centres a line, `\\l` left-aligns it); no
graphviz, no graph traversal. Shared by graph.py (one node per tensor) and scalars.py.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from ..core.op import Op
from ..core.tensor import Tensor
from ..numpy_surface import ops

COMMUTATIVE = (ops.Add, ops.Mul, ops.Maximum, ops.Minimum)


def number(value) -> str:
    return f"{value:.4g}"


def escape(line: str) -> str:
    return line.replace("\\", "\\\\")


def shape_text(shape: tuple) -> str:
    return "scalar" if shape == () else str(shape)


def array_lines(what: str, array: np.ndarray, large: int) -> list[str]:
    """Lines showing array: its values up to `large` elements, summary statistics past that."""
    if array.size <= large:
        text = np.array2string(
            np.asarray(array), separator=", ", max_line_width=48, formatter={"all": number}
        )
        lines = text.split("\n")
        return [f"{what} {lines[0]}"] + [" " * len(what) + line for line in lines[1:]]
    finite = array[np.isfinite(array)]
    lines = []
    if finite.size:
        mean, std, low, high = finite.mean(), finite.std(), finite.min(), finite.max()
        norm = np.sqrt(np.sum(np.square(finite, dtype=np.float64)))
        lines += [
            f"{what} mean {number(mean)}  std {number(std)}",
            f"{' ' * len(what)} min {number(low)}  max {number(high)}  norm {number(norm)}",
        ]
    if finite.size < array.size:
        nans = int(np.isnan(array).sum())
        lines.append(f"{what} has {nans} NaN, {array.size - finite.size - nans} Inf")
    return lines


def tensor_label(tensor: Tensor, name: str | None, large: int, note: str | None, grad) -> str:
    """Name, shape and dtype, data and grad (None: no line), and note (a gradient problem),
    one per line."""
    title = f"{escape(name)}\\n" if name else ""
    lines = [f"{shape_text(tensor.shape)} {tensor.dtype}"]
    lines += array_lines("data", tensor.data, large)
    if grad is not None:
        lines += array_lines("grad", grad, large)
    lines += [note] if note else []
    return title + "".join(escape(line) + "\\l" for line in lines)


def op_label(op: Op, large: int) -> str:
    """The op's name and its settings that differ from nothing: `Sum axis=(1,)`."""
    settings = [
        f"{key}={_setting(value, large)}"
        for key, value in op.attributes().items()
        if value is not None and value is not False
    ]
    return escape(" ".join([op.name] + settings))


def _setting(value, large: int) -> str:
    if isinstance(value, np.ndarray):
        if value.size <= large:
            return np.array2string(value, separator=",", formatter={"all": number})
        return f"({shape_text(value.shape)} {value.dtype} array)"
    if isinstance(value, slice):
        parts = [value.start, value.stop] + ([value.step] if value.step is not None else [])
        return ":".join("" if p is None else str(p) for p in parts)
    if isinstance(value, tuple) and any(isinstance(v, slice) for v in value):
        return "(" + ", ".join(_setting(v, large) for v in value) + ")"
    if isinstance(value, float):
        return number(value)
    text = repr(value)
    return text if len(text) <= 32 else text[:29] + "..."


def edge_labels(op: Op, inputs) -> list[str | None]:
    """Input names where order matters or an input repeats (x * x draws two labelled edges)."""
    repeated = len(set(inputs)) < len(inputs)
    if len(inputs) < 2 or (isinstance(op, COMMUTATIVE) and not repeated):
        return [None] * len(inputs)
    fixed, star = _input_names(type(op))
    return [fixed[i] if i < len(fixed) else f"{star}[{i - len(fixed)}]" for i in range(len(inputs))]


@functools.cache
def _input_names(op_class: type) -> tuple[tuple[str, ...], str]:
    """The names of forward's parameters (x, y; x, weight, bias) and of its *args, if any."""
    parameters = list(inspect.signature(op_class.forward).parameters.values())[1:]
    fixed = tuple(p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD)
    star = next((p.name for p in parameters if p.kind is p.VAR_POSITIONAL), "input")
    return fixed, star
