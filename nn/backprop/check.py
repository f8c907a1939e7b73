"""check_backprop: a learner's Nielsen-style backprop(x, y) against autograd, with a diagnosis.

The learner's function returns (nabla_b, nabla_w) like network.py's. layout="columns": called
once per example with column vectors x (in, 1), y (out, 1); it returns the gradients of that
example's cost C_x (not averaged), nabla_b[i] (out, 1), nabla_w[i] (out, in). layout="rows":
called once with x (batch, in), y (batch, out); it returns the gradients of the
batch-averaged cost, nabla_b[i] (out,). The reference is autograd on nn.MLP with the same
weights; the diagnosis matches the learner's numbers against what each common mistake would
give (mistakes, diagnosis). `python -m nn.verify` is the command-line front end.
"""

from __future__ import annotations

import dataclasses
import os
import re
import textwrap
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..layers import MLP
from ..losses import binary_cross_entropy, cross_entropy, mse_loss
from . import diagnosis, mistakes
from .diagnosis import CheckRow
from .equations import HIDDEN_ACTIVATIONS, check_layers
from .mistakes import COSTS, DEFAULT_OUTPUT, Network
from .report import shape_text

LOSSES = {
    "quadratic": mse_loss,
    "cross_entropy": binary_cross_entropy,
    "log_likelihood": cross_entropy,
}
_LIBRARY_DIRS = tuple(os.path.dirname(m.__file__) + os.sep for m in (np, diagnosis))


@dataclass(frozen=True)
class CheckResult:
    """Rows in backprop order (output layer first), the diagnosis as lines of plain words."""

    ok: bool
    rows: list[CheckRow]
    diagnosis: list[str]
    notes: list[str]
    settings: dict
    error: dict | None = None

    def __str__(self) -> str:
        return _format(self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    as_dict = to_dict


def check_backprop(
    backprop: Callable,
    weights: Sequence,
    biases: Sequence,
    x,
    y,
    activation: str = "sigmoid",
    cost: str = "quadratic",
    layout: str = "columns",
    output_activation: str | None = "default",
) -> CheckResult:
    """Check backprop(x, y) -> (nabla_b, nabla_w), written as in Nielsen's network.py.

    weights: (out, in) arrays; biases: (out, 1) columns (layout "columns") or (out,) ("rows"),
    the ones backprop uses. x: (batch, in), rows are examples (or a list of column vectors);
    y: (batch, out), or integer labels. cost: "quadratic", "cross_entropy" (sigmoid output,
    network2.py) or "log_likelihood" (softmax output). output_activation defaults to the
    cost's: sigmoid, sigmoid, softmax. An exception inside backprop is reported, not raised.
    """
    if output_activation == "default":
        output_activation = DEFAULT_OUTPUT.get(cost)
    _check_settings(activation, cost, layout, output_activation)
    net, notes = _network(weights, biases, activation, output_activation, cost, layout)
    x = _examples(x, net.sizes[0], "x")
    y = _targets(y, net.sizes[-1], len(x))
    calls = (
        [(x[e : e + 1], y[e : e + 1]) for e in range(len(x))] if layout == "columns" else [(x, y)]
    )
    settings = dict(
        sizes=net.sizes,
        activation=activation,
        output_activation=output_activation,
        cost=cost,
        layout=layout,
        batch_size=len(x),
        calls=len(calls),
    )
    expected = _autograd(net, calls, layout)
    got, error = _run(backprop, calls, layout, expected, len(net.weights), weights, biases)
    if error is not None:
        lines = diagnosis.error_lines(error, notes)
        return CheckResult(False, diagnosis.not_run(expected), lines, notes, settings, error)
    passes = [mistakes.backprop(net, xr, yr) for xr, yr in calls]
    rows = diagnosis.compare(got, expected, passes, settings)
    lines = diagnosis.diagnose(rows, net, calls, got, expected, layout)
    ok = all(row.ok for row in rows)
    return CheckResult(ok, rows, lines, notes, settings)


# ---------------------------------------------------------------- inputs


def _check_settings(activation, cost, layout, output_activation) -> None:
    if layout not in ("columns", "rows"):
        raise ValueError(f"layout must be 'columns' or 'rows', got {layout!r}")
    if activation not in HIDDEN_ACTIVATIONS:
        raise ValueError(f"activation must be one of {HIDDEN_ACTIVATIONS}, got {activation!r}")
    if cost not in COSTS:
        raise ValueError(f"cost must be one of {tuple(COSTS)}, got {cost!r}")
    if output_activation not in COSTS[cost]:
        raise ValueError(
            f"cost {cost!r} takes output_activation in {COSTS[cost]}, got {output_activation!r}"
        )


def _network(weights, biases, activation, output_activation, cost, layout):
    """The Network in float64, and notes on biases whose shape does not suit the layout."""
    # manual_backprop's shape rules: (out, in) weights chained layer to layer, (out,) or
    # (out, 1) biases, flattened to (out,).
    ws, bs = check_layers(weights, biases)
    notes = []
    for i, (b, flat) in enumerate(zip(biases, bs)):
        n = len(flat)
        if layout == "columns" and np.shape(b) == (n,):
            notes.append(
                f"biases[{i}] has shape ({n},): network.py's biases are column vectors ({n}, 1) "
                f"(np.random.randn({n}, 1)); a 1-D bias added to a column z broadcasts to "
                f"({n}, {n})."
            )
        if layout == "rows" and np.shape(b) == (n, 1) and n > 1:
            notes.append(
                f"biases[{i}] has shape ({n}, 1): with rows, z = x @ w.T + b needs b of shape "
                f"({n},); a column does not broadcast along the batch."
            )
    return Network(ws, bs, activation, output_activation, cost), notes


def _examples(x, features: int, name: str) -> np.ndarray:
    """x as (batch, features): rows, one example, or a list of Nielsen's column vectors."""
    if isinstance(x, (list, tuple)):
        x = np.array([np.ravel(v) for v in x], dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1 and x.size == features:
        return x.reshape(1, -1)
    if x.ndim == 2 and x.shape[1] == features:
        return x
    if x.ndim == 2 and x.shape[0] == features:
        return x.T
    raise ValueError(
        f"{name} must have shape (batch, {features}), rows are examples, or be a list of column "
        f"vectors ({features}, 1); got {x.shape}"
    )


def _targets(y, outputs: int, batch_size: int) -> np.ndarray:
    y_array = np.asarray(y) if not isinstance(y, (list, tuple)) else None
    labels = y_array is not None and np.issubdtype(y_array.dtype, np.integer)
    if labels and y_array.shape == (batch_size,) and outputs > 1:
        return np.eye(outputs)[y_array]
    y = _examples(y, outputs, "y")
    if len(y) != batch_size:
        raise ValueError(f"y has {len(y)} examples, x has {batch_size}")
    return y


# ---------------------------------------------------------------- the two computations


def _autograd(net: Network, calls, layout: str) -> dict:
    """Entry name -> autograd's gradient for each call, output layer first, in the layout."""
    # Nielsen's log-likelihood on a softmax output is cross_entropy on the logits.
    output = None if net.cost == "log_likelihood" else net.output_activation
    model = MLP(net.sizes, activation=net.activation, output_activation=output, seed=0)
    state = {}
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        state |= {f"layers.{i}.weight": w, f"layers.{i}.bias": b}
    model.load_state_dict(state)
    expected = {
        f"nabla_{kind}[{i}]": [] for i in reversed(range(len(net.weights))) for kind in "bw"
    }
    for x, y in calls:
        model.zero_grad()
        LOSSES[net.cost](model(x), y).backward()
        for i, layer in enumerate(model.layers):
            expected[f"nabla_b[{i}]"].append(
                mistakes.in_layout(layer.bias.grad.copy(), "b", layout)
            )
            expected[f"nabla_w[{i}]"].append(layer.weight.grad.copy())
    return expected


def _run(backprop, calls, layout, expected, layers: int, weights, biases):
    """The learner's entries per call, or (None, error) for an exception or a bad result."""
    got = {name: [] for name in expected}
    for x, y in calls:
        args = (x.T.copy(), y.T.copy()) if layout == "columns" else (x.copy(), y.copy())
        before = _snapshot(weights, biases)
        try:
            result = backprop(*args)
        except (SystemExit, KeyboardInterrupt) as exc:
            # Code that ends the program has not computed a gradient: never a pass.
            return None, _ended(exc)
        except Exception as exc:
            return None, _exception(exc, args)
        changed = _changed(before, weights, biases)
        if changed:
            _restore(before, weights, biases)
            return None, {"kind": "modified weights", "message": _modified_words(changed)}
        problem = _result_problem(result, layers, expected)
        if problem:
            return None, {"kind": "return value", "message": problem}
        for kind, entries in zip("bw", result):
            for i, entry in enumerate(entries):
                got[f"nabla_{kind}[{i}]"].append(_array(entry))
    return got, None


def _snapshot(weights, biases) -> list:
    """Copies of the arrays backprop is given, to see whether it changes them."""
    return [np.array(v, dtype=np.float64) for v in (*weights, *biases)]


def _changed(before: list, weights, biases) -> list[str]:
    names = [f"weights[{i}]" for i in range(len(weights))]
    names += [f"biases[{i}]" for i in range(len(biases))]
    now = (*weights, *biases)
    return [
        name
        for name, old, new in zip(names, before, now)
        if np.shape(new) != old.shape or not np.array_equal(np.asarray(new), old, equal_nan=True)
    ]


def _restore(before: list, weights, biases) -> None:
    """Put the values back, so that the learner's network is as it was given."""
    for old, array in zip(before, (*weights, *biases)):
        if isinstance(array, np.ndarray) and array.shape == old.shape and array.flags.writeable:
            np.copyto(array, old, casting="unsafe")


def _modified_words(changed: list[str]) -> str:
    return (
        f"backprop changed {', '.join(changed)} in place: backprop must only compute the "
        "gradients, leaving the weights and biases as they were (network.py updates them "
        "afterwards, in update_mini_batch: w - (eta/len(mini_batch)) * nw); the gradients "
        "were not compared, since every call after the change used other weights"
    )


def _ended(exc: BaseException) -> dict:
    """SystemExit or KeyboardInterrupt inside backprop, as an error that says nothing ran."""
    what = (
        f"sys.exit({exc.code!r})" if isinstance(exc, SystemExit) else "KeyboardInterrupt (Ctrl+C)"
    )
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if not f.filename.startswith(_LIBRARY_DIRS + ("<",))]
    where = f" at {os.path.basename(own[-1].filename)}, line {own[-1].lineno}" if own else ""
    return {
        "kind": "ended",
        "message": f"backprop ended with {what}{where} before returning any gradient, so "
        "nothing was checked",
    }


def _result_problem(result, layers: int, expected: dict) -> str | None:
    pair = "backprop must return the pair (nabla_b, nabla_w)"
    if not isinstance(result, (tuple, list)):
        return f"{pair}, got {type(result).__name__}"
    if len(result) != 2:
        return f"{pair}, got {type(result).__name__} of length {len(result)}"
    for name, entries in zip(("nabla_b", "nabla_w"), result):
        if not isinstance(entries, (list, tuple)) or len(entries) != layers:
            count = len(entries) if isinstance(entries, (list, tuple)) else type(entries).__name__
            return f"{name} must be a list of {layers} arrays, one per layer, got {count}"
    shapes = [[getattr(_array(e), "shape", None) for e in entries] for entries in result]
    want_w = [expected[f"nabla_w[{i}]"][0].shape for i in range(layers)]
    want_b = [expected[f"nabla_b[{i}]"][0].shape for i in range(layers)]
    if shapes == [want_w, want_b] and want_w != want_b:
        return "backprop returned (nabla_w, nabla_b): network.py's order is (nabla_b, nabla_w)"
    return None


def _array(value) -> np.ndarray | None:
    """A float64 copy (a backprop may reuse its arrays from call to call), or None for what
    is not an array of real numbers: complex values would lose their imaginary part."""
    try:
        array = np.array(value, dtype=None if isinstance(value, np.ndarray) else object)
        if array.dtype == object:
            array = np.array(array.tolist())
        if array.dtype.kind not in "biuf":
            return None
        return array.astype(np.float64)
    except (TypeError, ValueError):
        return None


def _exception(exc: Exception, args) -> dict:
    """The exception, the learner's line where it happened, and a hint."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if not f.filename.startswith(_LIBRARY_DIRS + ("<",))]
    frame = (own or frames)[-1]
    return {
        "kind": "exception",
        "message": f"{type(exc).__name__}: {exc}",
        "file": frame.filename,
        "line": frame.lineno,
        "function": frame.name,
        "code": frame.line,
        "hint": _hint(exc, args),
    }


def _hint(exc: Exception, args) -> str:
    text = str(exc)
    if isinstance(exc, NameError) and exc.name in ("xrange", "unicode", "raw_input"):
        return (
            f"{exc.name} is Python 2: this is Python 2 code. Python 3 runs it with print(...) "
            "in parentheses and, at the top of the file, import pickle as cPickle and "
            "xrange = range."
        )
    if isinstance(exc, ValueError) and re.search(r"shape|broadcast|align|mismatch", text):
        one_d = re.findall(r"\((\d+),\)", text)
        if one_d:
            n = one_d[0]
            return (
                f"The shape ({n},) in the message is a 1-D vector: Nielsen's code expects column "
                f"vectors ({n}, 1). Look for 1-D biases (np.random.randn(n) instead of randn(n, "
                "1)), .ravel()/.flatten(), or x and y passed as 1-D arrays."
            )
        return (
            "A shape mismatch: a missing .transpose(), or a weight, z or activation taken from "
            "the wrong layer (swapped layer index: -l, -l+1, -l-1)."
        )
    if isinstance(exc, IndexError):
        return (
            "An index past the end of a list: check range(2, self.num_layers) and the -l, -l+1, "
            "-l-1 indices."
        )
    shapes = ", ".join(str(a.shape) for a in args)
    return f"It was called as backprop(x, y) with numpy arrays of shapes {shapes}."


# ---------------------------------------------------------------- printing


def _format(result: CheckResult) -> str:
    s = result.settings
    calls = (
        f"{s['calls']} calls, one example each"
        if s["layout"] == "columns"
        else f"one call, batch of {s['batch_size']}"
    )
    settings = (
        f"sizes {s['sizes']}, {s['activation']} hidden, {s['output_activation']} output, "
        f"{s['cost']} cost, layout {s['layout']} ({calls})"
    )
    lines = [
        f"check_backprop: {'OK' if result.ok else 'NOT OK'}",
        *textwrap.wrap(settings, 100, subsequent_indent="  "),
        "",
        f"{'layer':<7}{'entry':<12}{'equation':<10}{'expected':<10}{'got':<10}{'max |diff|':>11}"
        f"{'relative':>10}  verdict",
    ]
    for row in result.rows:
        got = "-" if row.shape is None else shape_text(row.shape)
        lines.append(
            f"{row.layer:<7}{row.name:<12}{row.equation:<10}{shape_text(row.expected_shape):<10}{got:<10}"
            f"{row.max_abs:>11.1e}{row.max_rel:>10.1e}  {row.verdict}"
        )
    lines.append(
        "(output layer first, the order backprop computes them; layer: Nielsen's l, input = 1)"
    )
    for note in result.notes:
        lines += textwrap.wrap("Note: " + note, 100, subsequent_indent="  ")
    lines.append("")
    for line in result.diagnosis:
        lines += textwrap.wrap(line, 100, subsequent_indent="  ") or [""]
    return "\n".join(lines)
