"""Training speed and memory of the engine against hand-written numpy (and PyTorch if present).

    python benchmarks/speed.py                  # full run, under ten minutes on two cores
    python benchmarks/speed.py --quick          # under a minute
    python benchmarks/speed.py --cases mse30 --dtypes float64 --batch-sizes 10 --repeats 9

One epoch of Nielsen's sigmoid networks on MNIST, every implementation starting from the same
weights and fed the same mini-batches, gathered as a user's loop does (`x[idx]`). Timings are
interleaved (baseline, autodiff, ..., baseline, autodiff, ...) so that load from other
processes falls on all of them alike; ratios are taken within each round, then the median.
Prints Markdown tables; --output also writes them to a file (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from baseline import per_example_epoch
from candidates import (
    CASES,
    DEFAULT_DATA,
    Candidates,
    import_jax,
    import_torch,
    load_training_examples,
)

from autodiff import Tensor

# ---------------------------------------------------------------- measurements


def time_epochs(candidates: Candidates, repeats: int, clock=time.perf_counter) -> tuple:
    """Seconds per epoch for each implementation, rounds interleaved, and the final weights."""
    seconds = {name: [] for name in candidates.names()}
    finals = {}
    for round_ in range(repeats):
        for name in candidates.names():
            run, weights = candidates.make(name)
            gc.collect()
            start = clock()
            run()
            seconds[name].append(clock() - start)
            if round_ == 0:
                finals[name] = [np.array(w) for w in weights()]
    return seconds, finals


def time_per_example(candidates: Candidates, subset: int, repeats: int) -> list[float]:
    """network.py's per-example loop on the first `subset` examples of the epoch's batches,
    scaled to the whole epoch."""
    batch_size = len(candidates.batches[0])
    batches = candidates.batches[: max(1, subset // batch_size)]
    scale = len(candidates.batches) / len(batches)
    seconds = []
    for _ in range(repeats):
        weights, biases = candidates.initial_weights()
        weights = [w.astype(candidates.dtype) for w in weights]
        biases = [b.astype(candidates.dtype).reshape(-1, 1) for b in biases]
        start = time.perf_counter()
        per_example_epoch(weights, biases, candidates.case.cost, candidates.case.lr,
                          candidates.x, candidates.y, batches)  # fmt: skip
        seconds.append((time.perf_counter() - start) * scale)
    return seconds


def peak_memory(candidates: Candidates, name: str, epochs: int) -> list[float]:
    """Peak bytes traced during each epoch, counting the model, optimizer state and every
    temporary made from its creation on (numpy reports its buffers to tracemalloc)."""
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    run, _ = candidates.make(name)
    peaks = []
    for _ in range(epochs):
        tracemalloc.reset_peak()
        run()
        peaks.append(tracemalloc.get_traced_memory()[1] - start)
    tracemalloc.stop()
    return peaks


def backward_per_node(length: int, repeats: int) -> tuple[float, float]:
    """(build, backward) microseconds per node for a chain of `length` tanh ops on a scalar."""
    builds, backwards = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        x = Tensor(0.5, requires_grad=True)
        y = x
        for _ in range(length):
            y = y.tanh()
        middle = time.perf_counter()
        y.backward()
        backwards.append(time.perf_counter() - middle)
        builds.append(middle - start)
        del x, y
    return np.median(builds) / length * 1e6, np.median(backwards) / length * 1e6


# ---------------------------------------------------------------- report


def machine_facts(torch, jax, clock: str) -> list[str]:
    facts = [
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- command: `python {' '.join(['benchmarks/speed.py'] + sys.argv[1:])}`",
        f"- CPU: {_cpu_model()}, {os.cpu_count()} logical cores; load average at start "
        f"{os.getloadavg()[0]:.2f}",
        f"- Python {platform.python_version()}, numpy {np.__version__}",
        f"- BLAS: {_blas_description()}",
        "- environment: "
        + ", ".join(
            f"{name}={os.environ.get(name, '(unset)')}"
            for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS")
        ),
    ]
    if torch is not None:
        facts.append(f"- PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
    if jax is not None:
        flags = os.environ.get("XLA_FLAGS", "(unset)")
        facts.append(f"- JAX {jax.__version__} (jax.jit on the whole step; `jax`: the batch "
                     "gathered on the host and passed in; `jax in-jit gather`: indices passed, "
                     f"gathered inside), XLA_FLAGS={flags}")  # fmt: skip
    facts.append(f"- clock: {clock}")
    return facts


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _blas_description() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed (pip install threadpoolctl to name the kernel)"
    pools = [p for p in threadpool_info() if p["user_api"] == "blas"]
    return "; ".join(
        f"{p['internal_api']} {p['version']}, kernel {p.get('architecture')}, "
        f"{p['num_threads']} threads"
        for p in pools
    )


def spread(values) -> str:
    return f"{min(values):.3g}–{max(values):.3g}"


def speed_rows(case_name: str, dtype, batch_size: int, seconds: dict, examples: int) -> list:
    rows = []
    base = np.array(seconds["baseline"])
    for name, times in seconds.items():
        times = np.array(times)
        ratios = times / base[: len(times)] if name != "per-example" else times / np.median(base)
        rows.append(
            f"| {case_name} | {np.dtype(dtype).name} | {batch_size} | {name} | "
            f"{np.median(times):.3f} | {spread(times)} | {examples / np.median(times):,.0f} | "
            f"**{np.median(ratios):.2f}** | {spread(ratios)} |"
        )
    return rows


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:
        _limit_threads(args.threads)
    torch = None if args.no_torch else import_torch(args.torch_site)
    jax = None if args.no_jax else import_jax(args.threads)
    if torch is not None and args.threads:
        torch.set_num_threads(args.threads)
    quick = args.quick
    repeats = args.repeats or (3 if quick else 5)
    out = ["# Speed: autodiff against hand-written numpy", ""] + machine_facts(
        torch, jax, args.clock
    )
    largest = max(CASES[c].quick_examples if quick else CASES[c].examples for c in args.cases)
    x_all, y_all, source = load_training_examples(Path(args.data_dir), largest)
    out += [f"- data: {source}", f"- repeats: {repeats} interleaved rounds per row", ""]
    emit(out)

    speed = [
        "## Seconds per epoch (median, min–max over rounds) and ratio to the baseline",
        "",
        "Ratio: time of the implementation over the baseline's in the same round; median and "
        "min–max over rounds. `per-example` is network.py's loop timed on a subset and scaled "
        "to the epoch (extrapolated).",
        "",
        "| case | dtype | batch | implementation | s/epoch | min–max | examples/s | ratio | "
        "ratio min–max |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    emit(speed)
    memory_rows, checks = [], []
    for case_name in args.cases:
        case = CASES[case_name]
        examples = case.quick_examples if quick else case.examples
        for dtype in args.dtypes:
            x, y = x_all[:examples].astype(dtype), y_all[:examples].astype(dtype)
            for batch_size in args.batch_sizes:
                order = np.random.default_rng(1).permutation(examples)
                batches = np.array_split(order, examples // batch_size)
                candidates = Candidates(case, np.dtype(dtype), x, y, batches, torch, jax)
                seconds, finals = time_epochs(candidates, repeats, CLOCKS[args.clock])
                if args.per_example:
                    subset = max(batch_size, examples // (50 if case_name == "large" else 25))
                    seconds["per-example"] = time_per_example(candidates, subset, 1)
                rows = speed_rows(case_name, dtype, batch_size, seconds, examples)
                emit(rows)
                speed += rows
                checks.append(weights_check(case_name, dtype, batch_size, candidates, finals))
                if args.memory and batch_size == args.batch_sizes[0]:
                    steps = 50 if quick else 200
                    memory_rows.append(memory_row(case_name, dtype, candidates, steps))
    out = ["", "## Same updates as the baseline", ""] + checks
    if memory_rows:
        out += ["", "## Peak memory per epoch over consecutive epochs", "",
                "tracemalloc: model, optimizer state and every temporary; the data set excluded.",
                "", "| case | dtype | batch | baseline MiB | autodiff (eager) MiB | ratio | "
                "nn.fit step MiB | ratio |",
                "|---|---|---|---|---|---|---|---|"] + memory_rows  # fmt: skip
    if args.chain:
        out += ["", "## Backward time per node, chain of tanh ops on a scalar", "",
                "| nodes | build µs/node | backward µs/node |", "|---|---|---|"]  # fmt: skip
        for length in (1_000, 10_000) if quick else (1_000, 10_000, 100_000):
            build, backward = backward_per_node(length, 1 if quick else 3)
            out.append(f"| {length:,} | {build:.2f} | {backward:.2f} |")
    out.append(f"\nload average at end: {os.getloadavg()[0]:.2f}")
    emit(out)
    if args.output:
        Path(args.output).write_text("\n".join(REPORT) + "\n")
    if args.profile:
        import profile_step

        profile_step.main(["--case", args.cases[0], "--dtype", args.dtypes[0]])
    return 0


REPORT: list[str] = []
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def emit(lines: list[str]) -> None:
    REPORT.extend(lines)
    print("\n".join(lines), flush=True)


def weights_check(case_name: str, dtype, batch_size: int, candidates: Candidates, finals) -> str:
    """Whether every implementation makes the baseline's updates: allclose after a few steps
    (rounding differences are then still at the level of one step), and how far apart the
    weights are after the whole epoch (where SGD may have amplified them, most in float32)."""
    rtol, atol = (1e-9, 1e-12) if np.dtype(dtype) == np.float64 else (1e-4, 1e-6)
    short = candidates.first_steps(SHORT_STEPS)
    base, base_epoch = _trained_weights(short, "baseline"), finals["baseline"]
    parts = []
    for name in short.names()[1:]:
        weights = _trained_weights(short, name)
        same = all(np.allclose(w, b, rtol=rtol, atol=atol) for w, b in zip(weights, base))
        step_diff = max(float(np.max(np.abs(w - b))) for w, b in zip(weights, base))
        epoch_diff = max(float(np.max(np.abs(w - b))) for w, b in zip(finals[name], base_epoch))
        parts.append(
            f"{name} {'allclose' if same else 'DIFFERS'} after {SHORT_STEPS} steps "
            f"(max |diff| {step_diff:.1e}; {epoch_diff:.1e} after the epoch)"
        )
    return f"- {case_name} {np.dtype(dtype).name} batch {batch_size}: " + "; ".join(parts)


SHORT_STEPS = 20


def _trained_weights(candidates: Candidates, name: str) -> list[np.ndarray]:
    run, weights = candidates.make(name)
    run()
    return [np.array(w) for w in weights()]


def memory_row(case_name: str, dtype, candidates: Candidates, steps: int) -> str:
    epochs = 3
    # Shorter epochs: tracemalloc slows Python down, and the peak does not depend on length.
    small = candidates.first_steps(steps)
    batch_size = len(candidates.batches[0])
    base = peak_memory(small, "baseline", epochs)
    mib = 2.0**20
    row = f"| {case_name} | {np.dtype(dtype).name} | {batch_size} | "
    row += f"{', '.join(f'{b / mib:.2f}' for b in base)} |"
    for name in ("autodiff", "nn.fit step"):
        peaks = peak_memory(small, name, epochs)
        row += f" {', '.join(f'{a / mib:.2f}' for a in peaks)} | **{max(peaks) / max(base):.2f}** |"
    return row


def _limit_threads(threads: int) -> None:
    """Limit BLAS to `threads` threads: through threadpoolctl, else through the environment
    variables the BLAS libraries read when loaded, by starting this script again."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
        if any(os.environ.get(name) != str(threads) for name in names):
            os.environ.update(dict.fromkeys(names, str(threads)))
            os.execv(sys.executable, [sys.executable, *sys.argv])
        return
    threadpool_limits(threads)


def parse_args(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer examples and rounds")
    parser.add_argument("--repeats", type=int, help="interleaved rounds (default 5; quick 3)")
    parser.add_argument("--cases", type=lambda s: s.split(","), default=list(CASES),
                        help=f"comma-separated, from {', '.join(CASES)}")  # fmt: skip
    parser.add_argument("--dtypes", type=lambda s: s.split(","), default=["float64", "float32"])
    parser.add_argument("--batch-sizes", type=lambda s: [int(n) for n in s.split(",")],
                        default=[10, 100])  # fmt: skip
    parser.add_argument("--threads", type=int, help="BLAS (and torch) threads")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    parser.add_argument("--torch-site", help="a site-packages directory holding torch")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--no-jax", action="store_true")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="cpu: this process's CPU time, less disturbed by other processes "
                        "on a shared machine")  # fmt: skip
    parser.add_argument("--no-per-example", dest="per_example", action="store_false")
    parser.add_argument("--no-memory", dest="memory", action="store_false")
    parser.add_argument("--no-chain", dest="chain", action="store_false")
    parser.add_argument("--profile", action="store_true", help="then profile one training step")
    parser.add_argument("--output", help="also write the tables to this file")
    args = parser.parse_args(argv)
    unknown = set(args.cases) - set(CASES)
    if unknown:
        parser.error(f"unknown case(s) {sorted(unknown)}: expected some of {list(CASES)}")
    return args


if __name__ == "__main__":
    sys.exit(main())
