"""python -m nn.verify: check a Nielsen-style backprop in a file, from the command line.

    python -m nn.verify network2.py:Network --sizes 2,3,2
    python -m nn.verify mine.py:backprop --sizes 784,30,10 --layout rows --examples 10
    python -m nn.verify conv.py:conv_backward --conv 2,3,3,1,1    # one conv layer's backward
    python -m nn.verify conv.py:pool_backward --pool 2             # one max-pool layer's

The target is a class, built as NAME(sizes), with .weights, .biases and .backprop(x, y)
(Nielsen's Network), or a function NAME(x, y, weights, biases) returning (nabla_b, nabla_w).
With --conv C,F,K[,STRIDE[,PADDING[,SIZE]]] the target is conv_backward(x, w, delta, stride,
padding) -> (grad_x, grad_w, grad_b); with --pool SIZE[,STRIDE[,IMAGE]], pool_backward(x,
delta, size, stride) -> grad_x (nn.check_conv_backprop, nn.check_pool_backprop).
Weights and biases are drawn afresh from --seed, in the shapes the class made (so 1-D biases
stay 1-D); x and y are --examples random examples. The cost is --cost, else the network's own
(network2.py's self.cost), else quadratic. The learner's file runs in a child process
(nn/backprop/isolated.py) stopped after --timeout seconds, so that nothing it does (exit, an
endless loop, megabytes of prints) can end the check or pass it: the verdict is OK only when
the child reported every gradient compared and agreeing, and then exited normally.
Exit status: 0 every gradient agrees; 1 some do not, or the learner's code raised, exited,
hung or crashed; 2 bad usage. This module is deliberately not imported by nn/__init__.py:
`python -m` would then run a module that is already imported, and warn.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import os
import re
import sys
import tempfile
import traceback
from pathlib import Path

import numpy as np

from .backprop import check_conv
from .backprop.check import check_backprop
from .backprop.equations import HIDDEN_ACTIVATIONS
from .backprop.isolated import run_child
from .backprop.mistakes import COSTS

# --output-activation: every output some cost accepts, with "linear" for None.
OUTPUT_ACTIVATIONS = {name or "linear": name for outputs in COSTS.values() for name in outputs}
# network2.py's cost classes, by name: its Network keeps the class itself in self.cost.
NIELSEN_COSTS = {"QuadraticCost": "quadratic", "CrossEntropyCost": "cross_entropy"}
OUTPUT_CAP = 10_000  # bytes of the learner's own output echoed before the verdict
PYTHON2_FIX = (
    "Python 3 runs it with print(...) in parentheses and these two lines at the top:\n"
    "    import pickle as cPickle\n"
    "    xrange = range"
)


class UsageError(Exception):
    """The check cannot run: a missing file or name, or a network that cannot be built."""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    if args.result_file:
        return _child(args)
    path = args.target.rpartition(":")[0]
    if path and not os.path.isfile(path):
        return _usage(f"no such file: {path}")
    return _supervise(args, argv)


# ---------------------------------------------------------------- the parent: runs the child


def _supervise(args: argparse.Namespace, argv: list[str]) -> int:
    """Run the check in a child process and print its verdict; never OK without a result."""
    with tempfile.TemporaryDirectory(prefix="nn-verify-") as folder:
        result_file = Path(folder) / "result.json"
        command = [sys.executable, "-m", "nn.verify", *argv, "--result-file", str(result_file)]
        # The child imports this very nn, wherever the learner runs the command from.
        package_root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (package_root, os.environ.get("PYTHONPATH")) if p
        )}  # fmt: skip
        try:
            finished = run_child(command, args.timeout, OUTPUT_CAP, env)
        except KeyboardInterrupt:
            print("python -m nn.verify: interrupted; nothing was checked.", file=sys.stderr)
            return 130
        result = _read_result(result_file)
    _echo(finished)
    if result is not None and result["status"] == "usage":
        return _usage(result["message"])
    if result is not None and result["status"] == "checked":
        print(f"{args.target}: {result['what']}")
        print(result["text"])
        if finished.returncode != 0 or finished.timed_out:
            return _not_verified(
                "the check finished, but then your code ended the process with "
                + _how_ended(finished, args.timeout)
            )
        return 0 if _all_agree(result, _expected_rows(args)) else 1
    if result is not None and result["status"] == "ended":
        return _not_verified(result["message"])
    return _not_verified(
        "your code ended the check before any gradient was compared: "
        + _how_ended(finished, args.timeout)
    )


def _read_result(path: Path) -> dict | None:
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return result if isinstance(result, dict) and "status" in result else None


def _expected_rows(args: argparse.Namespace) -> int:
    """How many gradients a complete check compares: two per layer of a network; grad_x,
    grad_w and grad_b of a conv layer; grad_x of a pooling layer."""
    if args.conv:
        return 3
    if args.pool:
        return 1
    return 2 * (len(args.sizes) - 1)


def _all_agree(result: dict, expected_rows: int) -> bool:
    """The child's OK, confirmed row by row: every expected entry compared and ok."""
    rows = result.get("rows", [])
    return (
        result.get("ok") is True
        and len(rows) == expected_rows
        and all(row.get("ok") is True and row.get("verdict") == "ok" for row in rows)
    )


def _how_ended(finished, timeout: float) -> str:
    if finished.timed_out:
        return (
            f"it was still running after {timeout:g} s and was stopped (an endless loop, or "
            "training that starts when the file is imported? --timeout sets the limit)"
        )
    if finished.returncode < 0:
        return f"the process was killed by signal {-finished.returncode}"
    return f"the process exited with status {finished.returncode} (os._exit in your code?)"


def _echo(finished) -> None:
    if not finished.output_bytes:
        return
    shown = len(finished.output.encode())
    more = finished.output_bytes - shown
    print(f"--- your code printed {finished.output_bytes} bytes" + (
        f"; the first {shown} follow ---" if more else " ---"
    ))  # fmt: skip
    print(finished.output.rstrip("\n"))
    print("--- end of your code's output" + (f" ({more} more bytes not shown)" if more else "")
          + " ---")  # fmt: skip


def _not_verified(reason: str) -> int:
    print(f"check_backprop: NOT VERIFIED: {reason}.")
    return 1


def _usage(message: str) -> int:
    print(f"python -m nn.verify: error: {message}", file=sys.stderr)
    return 2


# ---------------------------------------------------------------- the child: runs the check


def _child(args: argparse.Namespace) -> int:
    """Load the learner's code, check it, and write the result for the parent to read."""
    try:
        result = _check(args)
    except UsageError as error:
        result = {"status": "usage", "message": str(error)}
    except (SystemExit, KeyboardInterrupt) as error:
        result = {"status": "ended", "message": _ended_words(error)}
    _write(Path(args.result_file), result)
    return 0


def _check(args: argparse.Namespace) -> dict:
    """The one place that chooses the kind of check for a target: one conv or pooling layer's
    backward (--conv, --pool), else a Nielsen-style network."""
    target = _load(args.target)
    if args.conv or args.pool:
        return _check_layer(args, target)
    return _check_network(args, target)


def _check_layer(args: argparse.Namespace, target) -> dict:
    layer, numbers = ("conv", args.conv) if args.conv else ("pool", args.pool)
    try:
        result = check_conv.command_line_check(target, layer, numbers, args.examples, args.seed)
    except ValueError as error:
        raise UsageError(str(error)) from None
    return {
        "status": "checked",
        "ok": result.ok,
        "rows": [{"ok": row.ok, "verdict": row.verdict} for row in result.rows],
        "what": f"function {getattr(target, '__name__', target)!s}, a {layer} layer's backward",
        "text": str(result),
    }


def _check_network(args: argparse.Namespace, target) -> dict:
    rng = np.random.default_rng(args.seed)
    given = args.output_activation
    output = "default" if given is None else OUTPUT_ACTIVATIONS[given]
    backprop, weights, biases, what, own_cost = _prepare(target, args.sizes, args.layout, rng)
    cost = args.cost or own_cost or "quadratic"
    x, y = _data(rng, args.sizes, cost, args.examples)

    def check(cost: str):
        return check_backprop(
            backprop, weights, biases, x, y, args.activation, cost, args.layout, output
        )

    try:
        result = check(cost)
    except ValueError as error:
        raise UsageError(str(error)) from None
    lines = [str(result)]
    if own_cost and args.cost is None:
        lines.insert(0, f"(cost {cost}, read from your network's self.cost)")
    if not result.ok and result.error is None:
        lines += _other_costs(check, cost, result.settings["output_activation"])
    return {
        "status": "checked",
        "ok": result.ok,
        "rows": [{"ok": row.ok, "verdict": row.verdict} for row in result.rows],
        "what": what,
        "text": "\n".join(lines),
    }


def _other_costs(check, cost: str, output: str | None) -> list[str]:
    """A line naming --cost when the learner's gradients are those of another cost."""
    for other, outputs in COSTS.items():
        if other != cost and output in outputs and check(other).ok:
            return [
                "",
                f"With --cost {other} every gradient agrees: your backprop computes the "
                f"{other} cost's gradients, not the {cost} cost's. If {other} is the cost "
                f"you meant, run again with --cost {other}.",
            ]
    return []


def _write(path: Path, result: dict) -> None:
    temporary = path.with_suffix(".part")
    temporary.write_text(json.dumps(result))
    os.replace(temporary, path)


def _ended_words(error: BaseException) -> str:
    what = f"sys.exit({error.code!r})" if isinstance(error, SystemExit) else "KeyboardInterrupt"
    return f"your code ended the check with {what}{_where_in(error)}: nothing was checked"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m nn.verify",
        description="Check a Nielsen-style backprop(x, y) against autograd, layer by layer.",
        epilog="NAME is a class built as NAME(sizes) with .weights, .biases and .backprop(x, y), "
        "or a function NAME(x, y, weights, biases) -> (nabla_b, nabla_w). Exit status: 0 all "
        "gradients agree, 1 some do not, or your code raised, exited, hung or crashed; 2 bad "
        "usage.",
    )
    parser.add_argument("target", metavar="FILE.py:NAME", help="the file and the class or function")
    kind = parser.add_mutually_exclusive_group(required=True)
    kind.add_argument("--sizes", type=_sizes, help="layer widths of a network, e.g. 2,3,2")
    kind.add_argument(
        "--conv",
        type=_counts,
        metavar="C,F,K[,STRIDE[,PADDING[,SIZE]]]",
        help="check one conv layer's backward: channels, filters, kernel size (image SIZE, 8)",
    )
    kind.add_argument(
        "--pool",
        type=_counts,
        metavar="SIZE[,STRIDE[,IMAGE]]",
        help="check one max-pool layer's backward: window size (image IMAGE, 8)",
    )
    parser.add_argument("--activation", default="sigmoid", choices=HIDDEN_ACTIVATIONS)
    parser.add_argument(
        "--output-activation",
        choices=list(OUTPUT_ACTIVATIONS),
        help="default: sigmoid, or softmax for --cost log_likelihood",
    )
    parser.add_argument(
        "--cost",
        choices=list(COSTS),
        help="default: your network's self.cost (network2.py's CrossEntropyCost or "
        "QuadraticCost), else quadratic",
    )
    parser.add_argument(
        "--layout",
        default="columns",
        choices=["columns", "rows"],
        help="columns: backprop(x (in, 1), y (out, 1)) per example, like network.py; rows: "
        "backprop(x (batch, in), y (batch, out)) with batch-averaged gradients",
    )
    parser.add_argument("--seed", type=int, default=0, help="for weights, biases and data")
    parser.add_argument("--examples", type=_positive, default=3, help="examples (the batch)")
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=60.0,
        help="seconds your code may run before it is stopped (default 60)",
    )
    parser.add_argument("--result-file", help=argparse.SUPPRESS)  # set for the child only
    return parser


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(n) for n in text.split(",")]
    except ValueError:
        sizes = []
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected two or more positive layer widths separated by commas, like 2,3,2; "
            f"got {text!r}"
        )
    return sizes


def _counts(text: str) -> list[int]:
    try:
        counts = [int(n) for n in text.split(",")]
    except ValueError:
        counts = [-1]
    if min(counts) < 0:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated whole numbers such as 2,3,3,1,0, got {text!r}"
        )
    return counts


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(text)


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return seconds


def _load(target: str):
    """The class or function NAME from FILE.py, importing the file as a module."""
    path, _, name = target.rpartition(":")
    if not path or not name:
        raise UsageError(f"expected FILE.py:NAME, such as network.py:Network; got {target!r}")
    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path}")
    spec = importlib.util.spec_from_file_location("nn_verify_target", path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot import {path}: expected a Python file")
    module = importlib.util.module_from_spec(spec)
    # The learner's file may import its neighbours, such as mnist_loader.
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        spec.loader.exec_module(module)
    except (SystemExit, KeyboardInterrupt):
        raise  # the child reports these: the file ended the check while being imported
    except BaseException as error:
        python2 = _python2(path, error)
        raise UsageError(python2 or f"importing {path} failed: {_where(error)}") from None
    finally:
        sys.path.pop(0)
    if not hasattr(module, name):
        defined = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")]
        raise UsageError(
            f"{path} has no {name!r}; it defines {', '.join(defined) or 'nothing callable'}"
        )
    return getattr(module, name)


def _python2(path: str, error: BaseException) -> str | None:
    """One line saying the file is Python 2, with the fix, when the error shows it is."""
    text = str(error)
    if isinstance(error, SyntaxError) and "Missing parentheses in call to 'print'" in text:
        sign = f"a print statement, line {error.lineno}"
    elif isinstance(error, ModuleNotFoundError) and error.name == "cPickle":
        sign = f"import cPickle{_where_in(error)}"
    elif isinstance(error, NameError) and re.search(r"'(xrange|unicode|raw_input)'", text):
        sign = f"{error.name}{_where_in(error)}"
    else:
        return None
    return f"{os.path.basename(path)} is Python 2 code ({sign}). {PYTHON2_FIX}"


def _prepare(target, sizes: list[int], layout: str, rng: np.random.Generator):
    """(backprop(x, y), weights, biases, description, cost or None) for a class or a function."""
    if inspect.isclass(target):
        try:
            net = target(sizes)
        except (SystemExit, KeyboardInterrupt):
            raise
        except Exception as error:
            message = _python2(inspect.getsourcefile(target) or "", error)
            raise UsageError(
                message or f"{target.__name__}({sizes}) failed: {_where(error)}"
            ) from None
        missing = [a for a in ("weights", "biases", "backprop") if not hasattr(net, a)]
        if missing:
            raise UsageError(f"{target.__name__} objects have no {', '.join(missing)}")
        # Fresh values from the seed, in the shapes the learner's constructor chose.
        net.weights = [rng.standard_normal(np.shape(w)) for w in net.weights]
        net.biases = [rng.standard_normal(np.shape(b)) for b in net.biases]
        what = f"class {target.__name__}, built as {target.__name__}({sizes})"
        return net.backprop, net.weights, net.biases, what, _own_cost(net)
    if not callable(target):
        raise UsageError(f"{target!r} is neither a class nor a function")
    weights = [rng.standard_normal((n, m)) for m, n in zip(sizes[:-1], sizes[1:])]
    biases = [rng.standard_normal((n, 1) if layout == "columns" else n) for n in sizes[1:]]
    name = getattr(target, "__name__", "backprop")
    what = f"function {name}(x, y, weights, biases)"
    return (lambda x, y: target(x, y, weights, biases)), weights, biases, what, None


def _own_cost(net) -> str | None:
    """network2.py's self.cost (the class CrossEntropyCost or QuadraticCost, or an instance)."""
    cost = getattr(net, "cost", None)
    name = cost.__name__ if inspect.isclass(cost) else type(cost).__name__
    return NIELSEN_COSTS.get(name) if cost is not None else None


def _data(rng: np.random.Generator, sizes: list[int], cost: str, examples: int):
    x = rng.random((examples, sizes[0]))
    if cost == "log_likelihood":
        return x, np.eye(sizes[-1])[rng.integers(0, sizes[-1], examples)]
    return x, rng.random((examples, sizes[-1]))


def _where(error: BaseException) -> str:
    """The exception and the last line of the learner's own code it passed through."""
    return f"{type(error).__name__}: {error}{_where_in(error)}"


def _where_in(error: BaseException) -> str:
    """' (file.py, line n)': the last frame of the learner's code, not ours nor importlib's."""
    frames = [
        f
        for f in traceback.extract_tb(error.__traceback__)
        if f.filename != __file__ and "importlib" not in f.filename and "<frozen" not in f.filename
    ]
    if isinstance(error, SyntaxError) and error.filename:
        return f" ({os.path.basename(error.filename)}, line {error.lineno})"
    return f" ({os.path.basename(frames[-1].filename)}, line {frames[-1].lineno})" if frames else ""


if __name__ == "__main__":
    sys.exit(main())
