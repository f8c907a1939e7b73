"""Profile the engine's training step: where the time of `python benchmarks/speed.py` goes.

    python benchmarks/profile_step.py                       # mse30, batch 10, float64
    python benchmarks/profile_step.py --case ce100 --batch-size 100 --tool cprofile
    python benchmarks/profile_step.py --captured            # the autodiff.capture loop
    python benchmarks/profile_step.py --fit                 # nn.fit's compiled step (SGD folded)

Uses pyinstrument when installed (a dev tool: pip install pyinstrument), else cProfile.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from pathlib import Path

import numpy as np
from candidates import CASES, DEFAULT_DATA, LOSSES, load_training_examples
from candidates import train_epoch as eager_epoch

import autodiff
import nn


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="mse30", choices=list(CASES))
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--dtype", default="float64")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--tool", choices=["pyinstrument", "cprofile"], default="pyinstrument")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    parser.add_argument("--captured", action="store_true", help="profile the captured step")
    parser.add_argument("--fit", action="store_true", help="profile nn.fit's compiled step")
    args = parser.parse_args(argv)

    case = CASES[args.case]
    examples = args.steps * args.batch_size
    x, y, _ = load_training_examples(Path(args.data_dir), examples)
    x, y = x.astype(args.dtype), y.astype(args.dtype)
    batches = np.array_split(np.random.default_rng(1).permutation(len(x)), args.steps)
    model = nn.MLP(case.sizes, seed=0, dtype=args.dtype)
    optimizer = nn.SGD(model.parameters(), lr=case.lr)
    loss_fn = LOSSES[case.cost]
    train_epoch = captured_epoch(model, loss_fn) if args.captured else eager_epoch
    if args.fit:
        train_epoch = fit_epoch(model, loss_fn, optimizer)
    train_epoch(model, optimizer, loss_fn, x, y, batches[:50])  # warm up
    title = f"{args.case}, batch {args.batch_size}, {args.dtype}, {len(batches)} steps"
    title += ", nn.fit's step" if args.fit else ", captured" if args.captured else ", eager"

    if args.tool == "pyinstrument":
        try:
            from pyinstrument import Profiler
        except ImportError:
            args.tool = "cprofile"
        else:
            profiler = Profiler(interval=0.0002)
            profiler.start()
            train_epoch(model, optimizer, loss_fn, x, y, batches)
            profiler.stop()
            print(f"# pyinstrument: {title}")
            print(profiler.output_text(unicode=True, color=False))
            return 0
    profiler = cProfile.Profile()
    profiler.runcall(train_epoch, model, optimizer, loss_fn, x, y, batches)
    print(f"# cProfile: {title}, by own time")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return 0


def captured_epoch(model, loss_fn):
    """The training loop with forward and backward captured by autodiff.capture."""
    step = autodiff.capture(lambda xb, yb: loss_fn(model(xb), yb))

    def train_epoch(model, optimizer, loss_fn, x, y, batches) -> None:
        for idx in batches:
            optimizer.zero_grad()
            step(x[idx], y[idx])
            optimizer.step()

    return train_epoch


def fit_epoch(model, loss_fn, optimizer):
    """nn.fit's inner loop: its compiled step, SGD's update folded into the program."""
    step = nn.training.training_step(model, loss_fn, optimizer)

    def train_epoch(model, optimizer, loss_fn, x, y, batches) -> None:
        for idx in batches:
            step(x[idx], y[idx])

    return train_epoch


if __name__ == "__main__":
    sys.exit(main())
