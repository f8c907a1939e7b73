"""Matching a learner's conv or pool gradients to the simulated mistakes (mistakes_conv), and
the diagnosis in plain words. Gets the arrays from check_conv; computes none itself.
"""

from __future__ import annotations

import os

import numpy as np

RTOL, ATOL = 1e-6, 1e-12
EQUATIONS = {"grad_x": "C1", "grad_weight": "C2", "grad_bias": "C3"}
MEANING = {
    "grad_x": "the delta of the layer below, dC/dx",
    "grad_weight": "the kernel gradient, dC/dw",
    "grad_bias": "the bias gradient, dC/db",
}


def close(got: np.ndarray, want: np.ndarray) -> bool:
    if got.shape != want.shape:
        return False
    return float(np.abs(got - want).max(initial=0)) <= ATOL + RTOL * np.abs(want).max(initial=0)


def explain(name, got, want, mistakes, batch, settings) -> tuple[str, str]:
    """(verdict, words): ok, the first simulated mistake reproducing it, a factor, or a shape."""
    if got is None:
        return "not an array", "not a numeric array"
    if not np.isfinite(got).all():
        return "NaN or inf", "contains NaN or inf"
    if close(got, want):
        return "ok", ""
    for mistake in mistakes:
        if mistake.entry == name and not close(mistake.array, want) and close(got, mistake.array):
            return mistake.verdict, mistake.words
    if got.shape == want.shape:
        c = float(got.ravel() @ want.ravel() / (want.ravel() @ want.ravel() or 1.0))
        if c not in (0.0, 1.0) and close(got, c * want):
            return _factor_words(c, name, batch, settings)
        return "wrong values", "the right shape, wrong values that no classic mistake explains"
    return "wrong shape", _shape_words(name, got.shape, want.shape, settings)


def _factor_words(c: float, name: str, batch: int, settings: dict) -> tuple[str, str]:
    near = lambda t: abs(c - t) <= 1e-6 * abs(t)  # noqa: E731
    if near(-1):
        return "sign flipped", "the sign is flipped: -1 times the right gradient"
    if batch > 1 and near(batch):
        return (
            f"factor {batch}",
            f"{batch} times too large (the batch size): delta already "
            "carries the 1/batch factor of the averaged cost; do not sum it in again",
        )
    return f"factor {c:.4g}", f"off by a constant factor {c:.6g}"


def _shape_words(name: str, shape: tuple, want: tuple, settings: dict) -> str:
    words = f"shape {shape}, expected {want}"
    if name == "grad_x" and len(shape) == 4 and shape[2:] < want[2:]:
        return words + ": smaller than the layer's input, as a 'valid' correlation gives; C1 " \
            "is the 'full' correlation (delta padded by kernel size - 1)"  # fmt: skip
    if name == "grad_x" and len(shape) == 4 and shape[2:] > want[2:]:
        return words + ": larger than the layer's input (padding not cropped, or a stride " \
            "ignored?)"  # fmt: skip
    if name == "grad_weight" and len(shape) == 4 and shape[:2] == want[:2]:
        return words + (
            ": the kernel gradient must have the kernel's size (valid correlation of the "
            "padded input with the spread delta, cropped to kh x kw)"
        )
    return words


def diagnosis(rows: list, pool: bool) -> list[str]:
    if all(row.ok for row in rows):
        worst = max(row.max_rel for row in rows)
        what = "P1 (max-pool routing)" if pool else "C1-C3"
        agree = "The gradient agrees" if len(rows) == 1 else f"All {len(rows)} gradients agree"
        return [f"{agree} with the oracle (largest relative difference "
                f"{worst:.1e}): {what} look right."]  # fmt: skip
    lines = []
    for row in rows:
        if not row.ok:
            equation = "P1" if pool else row.equation
            meaning = "the delta of the layer below, dC/dx" if pool else MEANING[row.name]
            lines.append(f"{row.name} ({equation}, {meaning}): {row.explanation or row.verdict}.")
    return lines


def error_lines(error: dict) -> list[str]:
    where = f"{os.path.basename(error['file'])}, line {error['line']}, in {error['function']}"
    lines = [f"Your function raised {error['message']}", f"  at {where}:  {error['code']}"]
    if "operand" in error["message"] or "shape" in error["message"]:
        lines.append(
            "A shape mismatch. The kernels' axes are (out_channels, in_channels, kh, kw) and C1 "
            "sums over out_channels (channels transposed?); the full correlation pads delta by "
            "kh - 1 and kw - 1; C3 is delta.sum(axis=(0, 2, 3)), shape (out_channels,)."
        )
    return lines
