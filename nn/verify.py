"""python -m nn.verify: check a Nielsen-style backprop in a file, from the command line.

    python -m nn.verify network.py:Network --sizes 2,3,2
    python -m nn.verify mine.py:backprop --sizes 784,30,10 --layout rows --examples 10

The target is a class, built as NAME(sizes), with .weights, .biases and .backprop(x, y)
(Nielsen's Network), or a function NAME(x, y, weights, biases) returning (nabla_b, nabla_w).
Weights and biases are drawn afresh from --seed, in the shapes the class made (so 1-D biases
stay 1-D); x and y are --examples random examples. Prints nn.check_backprop's result. Exit
status: 0 when every gradient agrees, 1 when not (or backprop raised), 2 for bad usage.
This module is deliberately not imported by nn/__init__.py: `python -m` would then run a
module that is already imported, and warn.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import os
import sys
import traceback

import numpy as np

from .backprop.check import check_backprop
from .backprop.equations import HIDDEN_ACTIVATIONS
from .backprop.mistakes import COSTS

# --output-activation: every output some cost accepts, with "linear" for None.
OUTPUT_ACTIVATIONS = {name or "linear": name for outputs in COSTS.values() for name in outputs}


class UsageError(Exception):
    """The check cannot run: a missing file or name, or a network that cannot be built."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    rng = np.random.default_rng(args.seed)
    given = args.output_activation
    output = "default" if given is None else OUTPUT_ACTIVATIONS[given]
    try:
        target = _load(args.target)
        backprop, weights, biases, what = _prepare(target, args.sizes, args.layout, rng)
        x, y = _data(rng, args.sizes, args.cost, args.examples)
        result = check_backprop(
            backprop, weights, biases, x, y, args.activation, args.cost, args.layout, output
        )
    except (UsageError, ValueError) as error:
        print(f"python -m nn.verify: error: {error}", file=sys.stderr)
        return 2
    print(f"{args.target}: {what}")
    print(result)
    return 0 if result.ok else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m nn.verify",
        description="Check a Nielsen-style backprop(x, y) against autograd, layer by layer.",
        epilog="NAME is a class built as NAME(sizes) with .weights, .biases and .backprop(x, y), "
        "or a function NAME(x, y, weights, biases) -> (nabla_b, nabla_w). Exit status: 0 all "
        "gradients agree, 1 some do not, 2 bad usage.",
    )
    parser.add_argument("target", metavar="FILE.py:NAME", help="the file and the class or function")
    parser.add_argument("--sizes", required=True, type=_sizes, help="layer widths, e.g. 2,3,2")
    parser.add_argument("--activation", default="sigmoid", choices=HIDDEN_ACTIVATIONS)
    parser.add_argument(
        "--output-activation",
        choices=list(OUTPUT_ACTIVATIONS),
        help="default: sigmoid, or softmax for --cost log_likelihood",
    )
    parser.add_argument("--cost", default="quadratic", choices=list(COSTS))
    parser.add_argument(
        "--layout",
        default="columns",
        choices=["columns", "rows"],
        help="columns: backprop(x (in, 1), y (out, 1)) per example, like network.py; rows: "
        "backprop(x (batch, in), y (batch, out)) with batch-averaged gradients",
    )
    parser.add_argument("--seed", type=int, default=0, help="for weights, biases and data")
    parser.add_argument("--examples", type=_positive, default=3, help="examples (the batch)")
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


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(text)


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
    except BaseException as error:  # the learner's file may even call exit()
        raise UsageError(f"importing {path} failed: {_where(error)}") from None
    finally:
        sys.path.pop(0)
    if not hasattr(module, name):
        defined = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")]
        raise UsageError(
            f"{path} has no {name!r}; it defines {', '.join(defined) or 'nothing callable'}"
        )
    return getattr(module, name)


def _prepare(target, sizes: list[int], layout: str, rng: np.random.Generator):
    """(backprop(x, y), weights, biases, description) for a class or a function target."""
    if inspect.isclass(target):
        try:
            net = target(sizes)
        except Exception as error:
            raise UsageError(f"{target.__name__}({sizes}) failed: {_where(error)}") from None
        missing = [a for a in ("weights", "biases", "backprop") if not hasattr(net, a)]
        if missing:
            raise UsageError(f"{target.__name__} objects have no {', '.join(missing)}")
        # Fresh values from the seed, in the shapes the learner's constructor chose.
        net.weights = [rng.standard_normal(np.shape(w)) for w in net.weights]
        net.biases = [rng.standard_normal(np.shape(b)) for b in net.biases]
        what = f"class {target.__name__}, built as {target.__name__}({sizes})"
        return net.backprop, net.weights, net.biases, what
    if not callable(target):
        raise UsageError(f"{target!r} is neither a class nor a function")
    weights = [rng.standard_normal((n, m)) for m, n in zip(sizes[:-1], sizes[1:])]
    biases = [rng.standard_normal((n, 1) if layout == "columns" else n) for n in sizes[1:]]
    name = getattr(target, "__name__", "backprop")
    what = f"function {name}(x, y, weights, biases)"
    return (lambda x, y: target(x, y, weights, biases)), weights, biases, what


def _data(rng: np.random.Generator, sizes: list[int], cost: str, examples: int):
    x = rng.random((examples, sizes[0]))
    if cost == "log_likelihood":
        return x, np.eye(sizes[-1])[rng.integers(0, sizes[-1], examples)]
    return x, rng.random((examples, sizes[-1]))


def _where(error: BaseException) -> str:
    """The exception and the last line of the learner's own code it passed through."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename != __file__]
    where = (
        f" ({os.path.basename(frames[-1].filename)}, line {frames[-1].lineno})" if frames else ""
    )
    return f"{type(error).__name__}: {error}{where}"


if __name__ == "__main__":
    sys.exit(main())
