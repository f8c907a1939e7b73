"""compare_gradients: hand-derived gradients against autograd's, tensor by tensor, for any
graph, with the classic manual-backprop mistakes diagnosed in plain words. Engine and numpy only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from ..core.engine import grad, sum_to_shape
from ..core.tensor import Tensor


@dataclass(frozen=True)
class GradientRow:
    """One tensor's comparison. max_abs_diff and relative_diff are NaN when the shapes could
    not be compared; note says how shapes were reconciled (size-1 axes), when they were."""

    name: str
    exact: bool
    close: bool
    max_abs_diff: float
    relative_diff: float
    manual_shape: tuple
    autograd_shape: tuple
    note: str
    diagnosis: str


class GradientComparison:
    """The table of rows: print it, test .ok, read result[name]."""

    def __init__(self, rows: list[GradientRow]):
        self.rows = {row.name: row for row in rows}

    @property
    def ok(self) -> bool:
        """True when every gradient is exact or close (and there is at least one)."""
        return bool(self.rows) and all(row.close for row in self.rows.values())

    @property
    def failures(self) -> list[GradientRow]:
        return [row for row in self.rows.values() if not row.close]

    def __getitem__(self, name: str) -> GradientRow:
        return self.rows[name]

    def __iter__(self) -> Iterator[GradientRow]:
        return iter(self.rows.values())

    def __len__(self) -> int:
        return len(self.rows)

    def __str__(self) -> str:
        header = ("tensor", "exact", "close", "max abs diff", "rel diff", "diagnosis")
        lines = [
            (
                row.name,
                "yes" if row.exact else "no",
                "yes" if row.close else "no",
                f"{row.max_abs_diff:.3g}",
                f"{row.relative_diff:.3g}",
                "; ".join(part for part in (row.diagnosis, row.note) if part),
            )
            for row in self.rows.values()
        ]
        widths = [max(len(line[i]) for line in [header, *lines]) for i in range(5)]
        text = [
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths)) + "  " + line[5]
            for line in [header, *lines]
        ]
        verdict = "all exact or close" if self.ok else f"{len(self.failures)} differ"
        return "\n".join([*text, f"{len(lines)} gradients: {verdict}"])

    __repr__ = __str__


def compare_gradients(
    pairs: Mapping[str, tuple], loss: Tensor | None = None, rtol: float = 1e-5, atol: float = 1e-8
) -> GradientComparison:
    """Compare {name: (manual_gradient, tensor)} with autograd's gradient of each tensor.

    With loss=, autograd's gradients of loss are computed here (autodiff.grad, leaving .grad
    untouched), so intermediates count even where they keep no .grad; without it, each
    tensor's .grad from a loss.backward() already run is used. close is np.allclose with
    rtol and atol; a shape that differs only by size-1 axes ((1, 64) for (64,)) is compared
    and noted. Each row that is not close gets a diagnosis in plain words.
    """
    if not isinstance(pairs, Mapping):
        raise TypeError(
            f"compare_gradients takes a dict {{name: (manual_gradient, tensor)}}, got "
            f"{type(pairs).__name__}"
        )
    manuals, tensors = {}, {}
    for name, pair in pairs.items():
        manuals[name], tensors[name] = _checked_pair(name, pair)
    if loss is not None:
        computed = grad(loss, list(tensors.values())) if tensors else ()
        autograd = {name: g.data for name, g in zip(tensors, computed)}
    else:
        autograd = {name: _stored_grad(name, t) for name, t in tensors.items()}
    return GradientComparison(
        [_row(name, manuals[name], autograd[name], rtol, atol) for name in tensors]
    )


def _checked_pair(name: str, pair) -> tuple[np.ndarray, Tensor]:
    if not isinstance(pair, tuple) or len(pair) != 2 or not isinstance(pair[1], Tensor):
        swapped = isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], Tensor)
        hint = ": the order is (manual_gradient, tensor)" if swapped else ""
        raise TypeError(
            f"compare_gradients[{name!r}]: expected (manual_gradient, tensor) with tensor an "
            f"autodiff.Tensor, got {type(pair).__name__}{hint}"
        )
    manual, tensor = pair
    if not tensor.requires_grad:
        raise ValueError(
            f"compare_gradients[{name!r}]: the tensor does not require grad, so autograd has "
            "no gradient for it; compare tensors computed from inputs with requires_grad=True"
        )
    manual = np.asarray(manual.data if isinstance(manual, Tensor) else manual)
    if manual.dtype.kind not in "biuf":
        raise TypeError(f"compare_gradients[{name!r}]: manual gradient of dtype {manual.dtype}")
    return manual, tensor


def _stored_grad(name: str, tensor: Tensor) -> np.ndarray:
    if tensor.grad is None:
        raise ValueError(
            f"compare_gradients[{name!r}]: the tensor has no .grad. Pass loss=loss, so the "
            "gradients are computed for the comparison (intermediates need not keep .grad), "
            "or call loss.backward() first"
        )
    return tensor.grad


# ---------------------------------------------------------------- one row


def _row(name: str, manual: np.ndarray, auto: np.ndarray, rtol: float, atol: float):
    shapes = dict(name=name, manual_shape=manual.shape, autograd_shape=auto.shape)
    note = ""
    if manual.shape != auto.shape:
        if _squeezed(manual.shape) != _squeezed(auto.shape):
            diagnosis = _shape_diagnosis(manual, auto, rtol, atol)
            nan = float("nan")
            return GradientRow(**shapes, exact=False, close=False, max_abs_diff=nan,
                               relative_diff=nan, note="", diagnosis=diagnosis)  # fmt: skip
        note = f"manual {manual.shape} compared as {auto.shape} (they differ by size-1 axes)"
        manual = manual.reshape(auto.shape)
    with np.errstate(invalid="ignore", over="ignore"):
        difference = np.abs(manual.astype(np.float64) - auto)
    max_abs = float(difference.max(initial=0.0))
    scale = float(np.abs(auto).max(initial=0.0))
    relative = max_abs / scale if scale else (0.0 if max_abs == 0 else float("inf"))
    exact = bool(np.array_equal(manual, auto))
    close = bool(np.allclose(manual, auto, rtol=rtol, atol=atol))
    if exact:
        diagnosis = "exact"
    elif close:
        diagnosis = "close (rounding only)"
    else:
        diagnosis = _value_diagnosis(manual, auto, rtol, atol)
    return GradientRow(**shapes, exact=exact, close=close, max_abs_diff=max_abs,
                       relative_diff=relative, note=note, diagnosis=diagnosis)  # fmt: skip


def _squeezed(shape: tuple) -> tuple:
    return tuple(n for n in shape if n != 1)


def _close(a, b, rtol: float, atol: float) -> bool:
    return bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _shape_diagnosis(manual: np.ndarray, auto: np.ndarray, rtol: float, atol: float) -> str:
    """Why shapes differ: a missing sum over a broadcast axis, a transpose, a wrong axis."""
    m, a = manual.shape, auto.shape
    if manual.size > auto.size and _broadcasts_to(a, m):
        lead = len(m) - len(a)
        axes = list(range(lead)) + [lead + i for i, n in enumerate(a) if n == 1 and m[lead + i] > 1]
        summed = sum_to_shape(manual, a)
        where = f"axis {axes[0]}" if len(axes) == 1 else f"axes {tuple(axes)}"
        start = (
            f"missing sum over the broadcast {where}: the gradient has the broadcast shape {m}, "
            f"the tensor is {a}"
        )
        if _close(summed, auto, rtol, atol):
            return f"{start}; summed over {where} it matches autograd"
        rest = _value_diagnosis(summed, auto, rtol, atol)
        return f"{start}; summed over {where} it still differs: {rest}"
    if manual.ndim >= 2 and m[::-1] == a:
        start = f"transposed: shape {m} for a tensor of shape {a}"
        if _close(manual.T, auto, rtol, atol):
            return f"{start}; transposed it matches autograd (swap the product's operands)"
        return f"{start}; even transposed it differs"
    if manual.ndim == auto.ndim and manual.size != auto.size:
        kept = [i for i, n in enumerate(m) if n > 1 and a[i] == 1]
        summed = [i for i, n in enumerate(m) if n == 1 and a[i] > 1]
        if kept and summed:
            return (
                f"the sum kept the wrong axis: shape {m} where autograd has {a} (it summed "
                f"axis {summed[0]} and kept axis {kept[0]}; sum over axis {kept[0]} instead)"
            )
    if manual.ndim == auto.ndim == 1:
        return f"shape {m} where autograd has {a}: likely a sum over the wrong axis"
    return f"shape {m} cannot be compared with autograd's {a}"


def _broadcasts_to(small: tuple, large: tuple) -> bool:
    try:
        return np.broadcast_shapes(small, large) == large
    except ValueError:
        return False


def _value_diagnosis(manual: np.ndarray, auto: np.ndarray, rtol: float, atol: float) -> str:
    """Same shapes, different values: name the classic mistake that explains it, if one does."""
    m, a = manual.astype(np.float64), auto.astype(np.float64)
    if not np.isfinite(m).all():
        return "the manual gradient holds NaN or Inf"
    if not m.any():
        return "all zeros where autograd has values: no gradient reached this tensor by hand"
    if _close(-m, a, rtol, atol):
        return "sign flipped: the manual gradient is minus autograd's"
    factor = _scale_factor(m, a, rtol, atol)
    if factor:
        return factor
    if m.ndim == 2 and m.shape[0] == m.shape[1] and _close(m.T, a, rtol, atol):
        return "transposed: the manual gradient is autograd's transposed (swap the operands)"
    offset = _constant_offset(m - a, rtol, atol)
    if offset:
        return offset
    missing = (m == 0) & (a != 0)
    if missing.any() and _close(m[~missing], a[~missing], rtol, atol):
        return (
            f"zeros at {int(missing.sum())} of {m.size} positions where autograd has values "
            "(the rest match): a branch's contribution or a mask is missing there"
        )
    index = np.unravel_index(np.argmax(np.abs(m - a)), m.shape)
    at = tuple(int(i) for i in index)
    return (
        f"differs most at index {at} (manual {m[index]:.6g}, autograd {a[index]:.6g}); "
        "not one of the classic mistakes"
    )


def _scale_factor(m: np.ndarray, a: np.ndarray, rtol: float, atol: float) -> str:
    """A constant factor between manual and autograd, such as the n of a forgotten 1/n."""
    norm = float(np.vdot(a, a))
    if norm == 0:
        return ""
    c = float(np.vdot(m, a)) / norm
    if c == 0 or not _close(m, c * a, rtol, atol):
        return ""
    sign = "sign flipped and " if c < 0 else ""
    size = abs(c)
    if size > 1 and abs(size - round(size)) < 1e-6 * size:
        k = round(size)
        return f"{sign}too large by a factor of {k}: a missing 1/{k} (as of a mean over {k})"
    if size < 1 and abs(1 / size - round(1 / size)) < 1e-6 / size:
        k = round(1 / size)
        return f"{sign}too small by a factor of {k}: an extra 1/{k}, or a factor {k} left out"
    return f"{sign}off by a constant factor {size:.6g}"


def _constant_offset(difference: np.ndarray, rtol: float, atol: float) -> str:
    """manual - autograd constant along rows (or columns, or everywhere): what a softmax input
    cannot see, since adding a constant to a row of logits leaves the loss unchanged."""
    tolerance = atol + rtol * float(np.abs(difference).max())
    for axis, where in ((-1, "row"), (0, "column")):
        if difference.ndim < 2 and where == "column":
            break
        spread = difference - difference.mean(axis=axis, keepdims=True)
        if np.abs(spread).max() <= tolerance:
            if difference.ndim < 2:
                return "right up to a constant added to every element"
            return (
                f"right up to a constant in each {where} (manual - autograd is the same along "
                f"each {where}): a softmax cannot see a constant added to a row of its input, "
                "so the loss does not check it; look for a term that adds one value to a whole "
                "row, such as a dropped subtraction of the row's sum or mean"
            )
    return ""
