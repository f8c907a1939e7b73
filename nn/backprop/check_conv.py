"""check_conv_backprop and check_pool_backprop: a learner's backward pass of one conv or
max-pool layer against the numpy oracle (equations_conv), with a diagnosis in plain words.

The learner's functions, rows are examples and arrays are NCHW like PyTorch:
    conv_backward(x, w, delta, stride, padding) -> (grad_x, grad_w, grad_b)
        x (N, C, H, W) the layer's input, w (F, C, kh, kw) its kernels, delta = dC/dz
        (N, F, H_out, W_out) from above; returns dC/dx (N, C, H, W), dC/dw (F, C, kh, kw) and
        dC/db (F,). The bias is not an argument: dz/db = 1 whatever b is.
    pool_backward(x, delta, size, stride) -> grad_x, for max-pooling size x size windows.
Each mistake in mistakes_conv is simulated on the same arrays; a wrong entry is named by the
first simulated mistake that reproduces it exactly. `python -m nn.verify` can call
command_line_check.
"""

from __future__ import annotations

import dataclasses
import os
import textwrap
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import diagnosis_conv, mistakes_conv
from . import equations_conv as eq
from .diagnosis_conv import EQUATIONS
from .report import shape_text

_LIBRARY_DIRS = tuple(os.path.dirname(m.__file__) + os.sep for m in (np, eq))


@dataclass(frozen=True)
class ConvCheckRow:
    """One returned array (grad_x, grad_weight, grad_bias) against the oracle's."""

    name: str
    equation: str
    expected_shape: tuple
    shape: tuple | None
    max_abs: float
    max_rel: float
    ok: bool
    verdict: str
    explanation: str


@dataclass(frozen=True)
class ConvCheckResult:
    """Rows, the diagnosis as lines of plain words, notes, the settings, and any error."""

    ok: bool
    rows: list[ConvCheckRow]
    diagnosis: list[str]
    notes: list[str]
    settings: dict
    error: dict | None = None

    def __str__(self) -> str:
        return _format(self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def check_conv_backprop(
    conv_backward: Callable, x, weight, delta=None, stride: int = 1, padding: int = 0, seed=0
) -> ConvCheckResult:
    """Check conv_backward(x, weight, delta, stride, padding) -> (grad_x, grad_w, grad_b).

    x: (N, C, H, W); weight: (F, C, kh, kw); delta: (N, F, H_out, W_out), or None for a
    seeded random one (random numbers show every mistake; a batch N > 1 shows the sums
    over the batch). An exception inside conv_backward is reported with its line, not raised.
    """
    x = _images(x, "x")
    weight = _images(weight, "weight")
    if weight.shape[1] != x.shape[1]:
        raise ValueError(
            f"weight must be (out_channels, {x.shape[1]}, kh, kw) for x with {x.shape[1]} "
            f"channels, got {weight.shape}"
        )
    h_out = eq.output_size(x.shape[2], weight.shape[2], stride, padding)
    w_out = eq.output_size(x.shape[3], weight.shape[3], stride, padding)
    if h_out < 1 or w_out < 1:
        raise ValueError(f"kernel {weight.shape[2:]} does not fit x {x.shape[2:]} + padding")
    delta = _delta(delta, (len(x), len(weight), h_out, w_out), seed)
    expected = dict(zip(EQUATIONS, eq.conv_backward(x, weight, delta, stride, padding)))
    settings = dict(
        layer="conv", x=x.shape, weight=weight.shape, delta=delta.shape, stride=stride,
        padding=padding,
    )  # fmt: skip
    args = (x.copy(), weight.copy(), delta.copy(), stride, padding)
    mistakes = mistakes_conv.conv_mistakes(x, weight, delta, stride, padding)
    notes = []
    if len(x) == 1:
        notes.append("A batch of one cannot show a missing sum over the batch: pass N > 1.")
    if np.array_equal(weight, weight[:, :, ::-1, ::-1]):
        notes.append("Every kernel is symmetric under rotation: a missing rotation cannot show.")
    return _check(conv_backward, args, expected, mistakes, settings, notes, len(x))


def check_pool_backprop(
    pool_backward: Callable, x, size: int = 2, stride: int | None = None, delta=None, seed=0
) -> ConvCheckResult:
    """Check pool_backward(x, delta, size, stride) -> grad_x for max-pooling (P1).

    x: (N, C, H, W); stride defaults to size (and is passed resolved); delta: (N, C, H_out,
    W_out) or None for a seeded random one. Ties go to the first maximum in row-major window
    order, as PyTorch; put equal values in a window of x to check that.
    """
    x = _images(x, "x")
    stride = stride or size
    shape = (*x.shape[:2], *(eq.output_size(n, size, stride) for n in x.shape[2:]))
    if min(shape[2:]) < 1:
        raise ValueError(f"a {size}x{size} window does not fit x of shape {x.shape}")
    delta = _delta(delta, shape, seed)
    expected = {"grad_x": eq.maxpool_backward(x, delta, size, stride)}
    settings = dict(layer="pool", x=x.shape, delta=delta.shape, size=size, stride=stride)
    mistakes = mistakes_conv.pool_mistakes(x, delta, size, stride)
    windows = eq.windows(x, size, size, stride).reshape(*shape, -1)
    notes = []
    if not (windows == windows.max(axis=-1, keepdims=True)).sum(axis=-1).max() > 1:
        notes.append("No window of x has two equal maxima: the tie rule was not exercised.")
    args = (x.copy(), delta.copy(), size, stride)
    return _check(pool_backward, args, expected, mistakes, settings, notes, len(x), pool=True)


def command_line_check(
    backward: Callable, layer: str, numbers: list[int], examples: int = 4, seed: int = 0
) -> ConvCheckResult:
    """For `python -m nn.verify FILE.py:NAME --conv C,F,K[,STRIDE[,PADDING[,SIZE]]]` (SIZE:
    the image's height and width, default 8) or `--pool SIZE[,STRIDE[,IMAGE]]`; random
    input and kernels from seed."""
    rng = np.random.default_rng(seed)
    if layer == "conv":
        if not 3 <= len(numbers) <= 6:
            raise ValueError(f"--conv takes C,F,K[,STRIDE[,PADDING[,SIZE]]], got {numbers}")
        defaults = [1, 0, 8][len(numbers) - 3 :]
        channels, filters, kernel, stride, padding, size = list(numbers) + defaults
        x = rng.normal(size=(examples, channels, size, size))
        weight = rng.normal(size=(filters, channels, kernel, kernel))
        return check_conv_backprop(backward, x, weight, None, stride, padding, seed)
    if layer == "pool":
        if not 1 <= len(numbers) <= 3:
            raise ValueError(f"--pool takes SIZE[,STRIDE[,IMAGE]], got {numbers}")
        size, stride, image = list(numbers) + [numbers[0], 8][len(numbers) - 1 :]
        x = np.round(rng.normal(size=(examples, 2, image, image)), 1)  # rounding makes ties
        return check_pool_backprop(backward, x, size, stride, None, seed)
    raise ValueError(f"layer must be 'conv' or 'pool', got {layer!r}")


# ---------------------------------------------------------------- inputs


def _images(a, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 4:
        return a
    hint = {2: f" For one image, {name}[None, None]", 3: f" For one example, {name}[None]"}
    raise ValueError(
        f"{name} must be 4-D, (N, C, H, W) for inputs or (out, in, kh, kw) for kernels, got "
        f"shape {a.shape}.{hint.get(a.ndim, '')}"
    )


def _delta(delta, shape: tuple, seed) -> np.ndarray:
    if delta is None:
        return np.random.default_rng(seed).normal(size=shape)
    delta = np.asarray(delta, dtype=np.float64)
    if delta.shape != shape:
        raise ValueError(f"delta must have the layer's output shape {shape}, got {delta.shape}")
    return delta


# ---------------------------------------------------------------- running and matching


def _check(function, args, expected, mistakes, settings, notes, batch, pool=False):
    try:
        result = function(*args)
    except Exception as exc:
        rows = [_row(name, None, want, "not run", "") for name, want in expected.items()]
        error = _exception(exc)
        lines = diagnosis_conv.error_lines(error)
        return ConvCheckResult(False, rows, lines, notes, settings, error)
    got, problem = _unpack(result, expected, pool)
    if problem:
        rows = [_row(name, None, want, "not run", "") for name, want in expected.items()]
        error = {"kind": "return value", "message": problem}
        return ConvCheckResult(False, rows, [problem + "."], notes, settings, error)
    rows = []
    for name, want in expected.items():
        verdict, words = diagnosis_conv.explain(name, got[name], want, mistakes, batch, settings)
        rows.append(_row(name, got[name], want, verdict, words))
    return ConvCheckResult(
        all(r.ok for r in rows), rows, diagnosis_conv.diagnosis(rows, pool), notes, settings
    )


def _unpack(result, expected: dict, pool: bool):
    if pool:
        return {"grad_x": _array(result)}, None
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        kind = type(result).__name__
        size = f" of length {len(result)}" if isinstance(result, (tuple, list)) else ""
        return None, f"conv_backward must return (grad_x, grad_w, grad_b), got {kind}{size}"
    return dict(zip(expected, map(_array, result))), None


def _array(value) -> np.ndarray | None:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _row(name, got, want, verdict, words) -> ConvCheckRow:
    shape = None if got is None else got.shape
    if got is not None and got.shape == want.shape:
        max_abs = float(np.abs(got - want).max(initial=0))
        scale = float(np.abs(want).max(initial=0))
        max_rel = max_abs / scale if scale else max_abs
    else:
        max_abs = max_rel = float("nan")
    return ConvCheckRow(name, EQUATIONS[name], want.shape, shape, max_abs, max_rel, verdict == "ok",
                        verdict, words)  # fmt: skip


def _exception(exc: Exception) -> dict:
    """The exception and the learner's own line where it happened."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if not f.filename.startswith(_LIBRARY_DIRS + ("<",))]
    frame = (own or frames)[-1]
    return {
        "kind": "exception", "message": f"{type(exc).__name__}: {exc}", "file": frame.filename,
        "line": frame.lineno, "function": frame.name, "code": frame.line,
    }  # fmt: skip


# ---------------------------------------------------------------- printing


def _format(result: ConvCheckResult) -> str:
    s = result.settings
    name = "check_conv_backprop" if s["layer"] == "conv" else "check_pool_backprop"
    settings = ", ".join(f"{k} {shape_text(v) if isinstance(v, tuple) else v}"
                         for k, v in s.items() if k != "layer")  # fmt: skip
    lines = [f"{name}: {'OK' if result.ok else 'NOT OK'}", f"  {settings}", "",
             f"{'entry':<13}{'equation':<10}{'expected':<15}{'got':<15}{'max |diff|':>11}"
             f"{'relative':>10}  verdict"]  # fmt: skip
    for row in result.rows:
        got = "-" if row.shape is None else shape_text(row.shape)
        equation = "P1" if s["layer"] == "pool" else row.equation
        lines.append(
            f"{row.name:<13}{equation:<10}{shape_text(row.expected_shape):<15}{got:<15}"
            f"{row.max_abs:>11.1e}{row.max_rel:>10.1e}  {row.verdict}"
        )
    for note in result.notes:
        lines += textwrap.wrap("Note: " + note, 100, subsequent_indent="  ")
    lines.append("")
    for line in result.diagnosis:
        lines += textwrap.wrap(line, 100, subsequent_indent="  ") or [""]
    return "\n".join(lines)
