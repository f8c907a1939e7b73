"""Matching a learner's gradients to explanations, and saying what is wrong in plain words.

Each entry (nabla_b[i], nabla_w[i]) gets a verdict: ok, an alternative it matches (mistakes),
a constant factor, or a wrong shape. Then the diagnosis: one mistake in BP1 or BP2 that
reproduces every number, one factor shared by every entry, or entry by entry, with the
pattern going backwards from the output. Gets numbers from check; computes none itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from . import mistakes

RTOL, ATOL = 1e-6, 1e-12


@dataclass(frozen=True)
class CheckRow:
    """One entry of the learner's result, such as nabla_w[1], against autograd's."""

    name: str
    layer: int  # Nielsen's layer number l (the input is layer 1): nabla_b[i] is layer i + 2
    equation: str
    expected_shape: tuple
    shape: tuple | None
    max_abs: float
    max_rel: float
    ok: bool
    values_ok: bool  # right numbers, perhaps in a wrong shape
    verdict: str
    explanation: str
    tip: str  # a key of TIPS, or ""


# Advice shown once per kind of explanation, however many entries it explains.
TIPS = {
    "transposed": "BP4 says dC/dw_jk = a_k^(l-1) delta_j^l: nabla_w[-l] = np.dot(delta, "
    "activations[-l-1].transpose()), shape (out, in) like the weights.",
    "swapped index": "In network.py's loop, nabla_b[-l] and nabla_w[-l] go with zs[-l], "
    "activations[-l-1] and the next layer's weights[-l+1].",
    "all zeros": "An entry that stays zero was never assigned: an index that writes elsewhere, "
    "or a loop that skips the layer (range(2, self.num_layers)).",
    "z instead of a": "BP4 multiplies delta by the previous layer's activation a, not by its "
    "weighted input z: np.dot(delta, activations[-l-1].transpose()).",
    "not summed": "BP3 with a batch: nabla_b is delta summed over the examples, "
    "delta.sum(axis=0), shape (out,).",
    "1-D": "Nielsen's x, y, biases and deltas are column vectors (n, 1): x.reshape(-1, 1), "
    "np.random.randn(n, 1) for biases; np.dot(delta, a.transpose()) then gives (out, in).",
    "BP3": "BP3 says dC/db^l_j = delta^l_j: the bias gradient is delta itself, one number per "
    "neuron, nabla_b[-l] = delta (a column (n, 1) like the bias); with a batch in layout rows, "
    "delta.sum(axis=0), summed over the examples only, never over the neurons.",
    "row/column": "In layout rows, x is (batch, in), z = x @ w.T + b, nabla_b (out,) and "
    "nabla_w (out, in).",
}


def factor_words(c: float, batch_size: int, layout: str) -> tuple[str, str]:
    """(verdict, words) for gradients that are c times the right ones."""
    near = lambda target: abs(c - target) <= 1e-6 * abs(target)  # noqa: E731
    if near(-1):
        return "sign flipped", (
            "sign flipped: -1 times the right gradient (usually cost_derivative returning "
            "y - a instead of a - y, BP1)"
        )
    if layout == "rows" and batch_size > 1 and near(batch_size):
        return f"factor {batch_size}", (
            f"sum vs mean over the batch: factor {batch_size} = batch size. The cost averages "
            "over the batch, C = (1/n) sum_x C_x, so delta^L (BP1) needs a division by len(x)"
        )
    if layout == "rows" and batch_size > 1 and near(1 / batch_size):
        return f"factor 1/{batch_size}", (
            f"divided by the batch size twice: factor 1/{batch_size} = 1/batch size"
        )
    if near(2):
        return "factor 2", (
            "factor 2: the derivative of ||a - y||^2 without Nielsen's 1/2 "
            "(C = 1/2 ||a - y||^2 gives a - y)"
        )
    if near(0.5):
        return "factor 1/2", "factor 1/2: an extra 1/2 (C = 1/2 ||a - y||^2 already gives a - y)"
    return f"factor {c:.4g}", f"off by a constant factor {c:.6g}"


def shape_words(shape: tuple, expected: tuple, kind: str, layout: str) -> tuple[str, str]:
    """(words, TIPS key) on why a gradient may have this shape instead of the expected one."""
    got, want = _shape(shape), _shape(expected)
    column = len(expected) == 2 and expected[1] == 1
    if len(shape) == 0 and kind == "b":
        return (
            f"a bias gradient summed to a single number, where BP3 gives one per neuron, "
            f"shape {want} (delta.sum() adds up the neurons' deltas)",
            "BP3",
        )
    if len(shape) == 0 and len(expected) == 2:
        return (
            f"a single number, expected {want}: np.dot of two 1-D vectors is their inner "
            "product, not the outer product BP4 needs",
            "1-D",
        )
    if column and shape == expected[:1]:
        return f"wrong shape: a 1-D vector {got} where a column vector {want} is expected", "1-D"
    if column and len(shape) == 2 and shape[0] == shape[1] == expected[0]:
        return (
            f"wrong shape {got}: what broadcasting makes of a 1-D vector ({shape[0]},) added to "
            f"a column vector {want}, as in np.dot(w, a) + b with a 1-D x or a 1-D bias",
            "1-D",
        )
    if len(shape) == 2 and shape == expected[::-1]:
        return f"wrong shape {got}: {want} transposed", "transposed"
    if layout == "rows" and kind == "b" and shape in ((expected[0], 1), (1, expected[0])):
        return f"wrong shape: a 2-D {got} where layout rows has a 1-D {want}", "row/column"
    if layout == "rows" and kind == "b" and len(shape) == 2 and shape[1] == expected[0]:
        return f"wrong shape {got}, expected {want}: one row per example", "not summed"
    if layout == "rows":
        return f"wrong shape {got}, expected {want}", "row/column"
    return f"wrong shape {got}, expected {want}", "1-D" if len(shape) < 2 else ""


def _shape(shape: tuple) -> str:
    return str(tuple(int(n) for n in shape))


# ---------------------------------------------------------------- entry by entry


def compare(got: dict, expected: dict, passes: list, settings: dict) -> list[CheckRow]:
    """One row per entry: got and expected map names to one array per call."""
    return [
        _row(name, got[name], want, passes, expected, settings) for name, want in expected.items()
    ]


def not_run(expected: dict) -> list[CheckRow]:
    """Rows for a backprop that raised or returned something unusable."""
    nan, layers = float("nan"), len(expected) // 2
    return [
        CheckRow(name, nielsen_layer(name), _equation(name, layers), want[0].shape, None, nan, nan,
                 False, False, "not run", "", "")
        for name, want in expected.items()
    ]  # fmt: skip


def _layer(name: str) -> int:
    """The list index i of an entry such as nabla_w[1]."""
    return int(name[8:-1])


def nielsen_layer(name: str) -> int:
    """Nielsen's number of the layer an entry belongs to: the input is layer 1, so
    nabla_b[0] and nabla_w[0] (b^2, w^2) are layer 2."""
    return _layer(name) + 2


def _equation(name: str, layers: int) -> str:
    if name.startswith("nabla_w"):
        return "BP4"
    return "BP1+BP3" if _layer(name) == layers - 1 else "BP2+BP3"


def _row(name, got, want, passes, expected, settings) -> CheckRow:
    verdict, words, tip, values_ok = _explain(name, got, want, passes, expected, settings)
    max_abs, max_rel = _differences(got, want)
    return CheckRow(
        name=name,
        layer=nielsen_layer(name),
        equation=_equation(name, len(expected) // 2),
        expected_shape=want[0].shape,
        shape=got[0].shape if got[0] is not None else None,
        max_abs=max_abs,
        max_rel=max_rel,
        ok=verdict == "ok",
        values_ok=values_ok,
        verdict=verdict,
        explanation=words,
        tip=tip,
    )


def _explain(name, got, want, passes, expected, settings) -> tuple[str, str, str, bool]:
    """(verdict, words, tip, values right) for one entry: the first explanation that fits."""
    kind, layout = name[6], settings["layout"]
    if any(g is None for g in got):
        return (
            "not an array",
            "not an array of real numbers (None, text or complex values?)",
            "",
            False,
        )
    if len({g.shape for g in got}) > 1:
        return "wrong shape", "its shape changes from one example to the next", "", False
    if not all(np.isfinite(g).all() for g in got):
        return "NaN or inf", "contains NaN or inf (an overflow in np.exp?)", "", False
    if close(got, want):
        return "ok", "", "", True
    for verdict, words, arrays in mistakes.alternatives(
        kind, _layer(name), passes, expected, layout
    ):
        if close(got, arrays):
            return verdict, words, verdict, False
    shape, expected_shape = got[0].shape, want[0].shape
    if shape == expected_shape:
        c = _factor(got, want)
        if c is None:
            return "wrong values", "", "", False
        verdict, words = factor_words(c, settings["batch_size"], layout)
        return verdict, words, "", False
    words, tip = shape_words(shape, expected_shape, kind, layout)
    if tip == "BP3":
        if close([np.reshape(g.sum(), ()) for g in got], [np.reshape(w.sum(), ()) for w in want]):
            words += "; the number is the sum of the right gradient's entries"
        return "summed to a number", words, tip, False
    if got[0].size == want[0].size and close([g.reshape(expected_shape) for g in got], want):
        return "wrong shape", words + "; the values are right once reshaped", tip, True
    return "wrong shape", words, tip, False


def close(got: list, want: list) -> bool:
    """Same shapes and every difference within RTOL of the largest expected magnitude."""
    error, scale = _error_and_scale(got, want)
    return error <= ATOL + RTOL * scale  # False for NaN, which also stands for unequal shapes


def _factor(got: list, want: list) -> float | None:
    """c when got = c * want (one c for every call), over at least two numbers, c != 0, 1."""
    u = np.concatenate([g.ravel() for g in got])
    r = np.concatenate([w.ravel() for w in want])
    if r.size < 2 or not r @ r:
        return None
    c = float(u @ r / (r @ r))
    if c == 0 or abs(c - 1) < 1e-6 or not close([u], [c * r]):
        return None
    return c


def _error_and_scale(got: list, want: list) -> tuple[float, float]:
    """The largest |got - want| over every call and the largest |want|; NaN for unequal shapes."""
    if any(g is None or g.shape != w.shape for g, w in zip(got, want)):
        return float("nan"), float("nan")
    error = max(float(np.abs(g - w).max(initial=0)) for g, w in zip(got, want))
    scale = max(float(np.abs(w).max(initial=0)) for w in want)
    return error, scale


def _differences(got: list, want: list) -> tuple[float, float]:
    """Largest absolute and relative differences; NaN for unequal shapes."""
    error, scale = _error_and_scale(got, want)
    return error, error / scale if scale else error


# ---------------------------------------------------------------- the diagnosis


def diagnose(rows, net, calls, got, expected, layout: str) -> list[str]:
    """The diagnosis as lines of plain words, the most specific explanation first."""
    layers = len(net.weights)
    if all(row.ok for row in rows):
        worst = max(row.max_rel for row in rows)
        return [
            f"All {len(rows)} gradients agree with autograd (largest relative difference "
            f"{worst:.1e}): BP1-BP4 look right."
        ]
    # One mistake that reproduces every number at once.
    if all(row.shape == row.expected_shape and row.verdict != "NaN or inf" for row in rows):
        for hypothesis in mistakes.hypotheses(net):
            variant = mistakes.gradients(net, calls, layout, hypothesis)
            if variant and not _same(variant, expected) and _same(variant, got):
                return _hypothesis_lines(hypothesis, rows, layers)
    wrong = [row for row in rows if not row.ok]
    verdicts = {row.verdict for row in wrong}
    if (
        len(wrong) == len(rows)
        and len(verdicts) == 1
        and wrong[0].verdict.startswith(("factor", "sign"))
    ):
        return [
            f"Every gradient, in every layer, is off by the same factor: {wrong[0].explanation}."
        ]
    lines = [f"{row.name} ({row.equation}): {row.explanation}." for row in wrong if row.explanation]
    tips = dict.fromkeys(TIPS[row.tip] for row in wrong if row.tip)
    return lines + list(tips) + _pattern(rows, layers)


def _same(variant: dict, arrays: dict) -> bool:
    return all(close(arrays[name], variant[name]) for name in variant)


def _layer_words(i: int, layers: int) -> str:
    """Layer of list index i in Nielsen's numbering (the input is layer 1), with the indices
    that reach it in the learner's lists and in network.py's loop (nabla_b[-l])."""
    where = "the output layer" if i == layers - 1 else "hidden"
    return (
        f"layer {i + 2} ({where}, w^{i + 2} and b^{i + 2}: nabla_b[{i}] and nabla_w[{i}] "
        f"above, nabla_b[{i - layers}] and nabla_w[{i - layers}] in network.py)"
    )


def _hypothesis_lines(hypothesis, rows, layers: int) -> list[str]:
    if hypothesis.equation == "BP1":
        where = _layer_words(layers - 1, layers)
        spread = "Every layer below is wrong too: BP2 carries delta^L back. Fix BP1 first."
    else:
        where = _layer_words(layers - 2, layers) + (" and every layer below" if layers > 2 else "")
        spread = (
            f"The output layer {layers + 1} is right (BP1 is fine); the error enters where BP2 "
            "computes the first hidden delta and propagates down to the input."
        )
    return [
        f"{hypothesis.equation} is wrong, from {where}: {hypothesis.words}.",
        "Your gradients are exactly what backprop gives with this mistake. "
        + (spread if layers > 1 else ""),
    ] + _pattern(rows, layers)[:1]


def _status(b: CheckRow, w: CheckRow) -> str:
    if b.ok and w.ok:
        return "ok"
    return "right values in a wrong shape" if b.values_ok and w.values_ok else "wrong"


def _pattern(rows: list[CheckRow], layers: int) -> list[str]:
    """Which layers are right, going backwards from the output, and the first wrong step."""
    by_name = {row.name: row for row in rows}
    b = [by_name[f"nabla_b[{i}]"] for i in range(layers)]
    w = [by_name[f"nabla_w[{i}]"] for i in range(layers)]
    status = ", ".join(f"layer {i + 2} {_status(b[i], w[i])}" for i in reversed(range(layers)))
    lines = [f"Going backwards from the output: {status}."]
    # nabla_b is delta (BP3): wrong numbers that no other explanation covers mean a wrong delta.
    unexplained = ("wrong values", "factor", "sign")
    wrong_delta = [i for i in range(layers) if b[i].verdict.startswith(unexplained)]
    if wrong_delta:
        k = max(wrong_delta)
        if k == layers - 1:
            step = f"BP1 at {_layer_words(k, layers)}: the output error delta^L is already wrong"
        else:
            step = f"BP2 at {_layer_words(k, layers)}"
            if b[k + 1].values_ok:
                step += f": delta of layer {k + 3} is right, the delta computed from it is not"
        if k > 0 and all(not b[j].values_ok for j in range(k)):
            step += "; the layers below inherit the error through BP2, so fix this step first"
        lines.append(f"The first wrong step is {step}.")
    bp4 = [i for i in range(layers) if b[i].values_ok and w[i].verdict.startswith(unexplained)]
    if bp4:
        listed = ", ".join(f"nabla_w[{i}]" for i in bp4)
        lines.append(
            f"BP4: {listed} wrong although delta (nabla_b) is right there: nabla_w = "
            "np.dot(delta, activations[-l-1].transpose())."
        )
    return lines


def error_lines(error: dict, notes: list[str]) -> list[str]:
    """The diagnosis for a backprop that raised, or returned something unusable."""
    if error["kind"] != "exception":
        return [error["message"] + "."]
    where = f"{os.path.basename(error['file'])}, line {error['line']}, in {error['function']}"
    lines = [f"Your backprop raised {error['message']}", f"  at {where}:  {error['code']}"]
    if any("1-D bias" in note for note in notes):
        lines.append("The 1-D biases in the notes above are the likely cause.")
    return lines + [error["hint"]]
