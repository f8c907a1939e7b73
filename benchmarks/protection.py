"""Cost of the in-place protection per training step: lock every op of one recorded MLP step,
then release the walked graph, timed in a loop (no forward or backward arithmetic).

    python benchmarks/protection.py
    python benchmarks/protection.py --against ../other-checkout/autodiff/tools/inplace.py

--against loads another version of autodiff/tools/inplace.py into this process and times
both, rounds interleaved, so that load from other processes falls on both alike.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time

import numpy as np

import autodiff
import nn
from autodiff.core.mode import switches
from autodiff.tools import inplace


def load_other(path: str):
    """The inplace module at path, imported inside autodiff.tools so its imports resolve."""
    spec = importlib.util.spec_from_file_location("autodiff.tools.inplace_other", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def microseconds_per_step(module, ops: list, order: list, steps: int) -> float:
    lock, release = module.lock, module.release
    start = time.perf_counter()
    for _ in range(steps):
        for op in ops:
            lock(op)
        release(order)
    return (time.perf_counter() - start) / steps * 1e6


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="another autodiff/tools/inplace.py to compare")
    parser.add_argument("--sizes", default="784,30,10")
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args(argv)

    sizes = [int(n) for n in args.sizes.split(",")]
    rng = np.random.default_rng(0)
    switches.protection = None  # record the step without locking; the loop below locks
    model = nn.MLP(sizes, seed=0)
    x = rng.random((args.batch_size, sizes[0]))
    y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], args.batch_size)]
    loss = nn.mse_loss(model(x), y)
    order = autodiff.topological_order([loss])
    ops = [t.op for t in order if t.op is not None]
    modules = {"this tree": inplace}
    if args.against:
        modules["--against"] = load_other(args.against)
    times = {name: [] for name in modules}
    for _ in range(args.rounds):
        for name, module in modules.items():
            times[name].append(microseconds_per_step(module, ops, order, args.steps))
    switches.protection = inplace
    print(f"MLP {sizes}, batch {args.batch_size}: {len(ops)} ops, {len(order)} tensors")
    for name, values in times.items():
        values = sorted(values)
        print(
            f"{name}: lock + release {values[len(values) // 2]:.2f} us per step (median of "
            f"{args.rounds} rounds), min {values[0]:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
