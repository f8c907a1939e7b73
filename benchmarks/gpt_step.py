"""One training step of a small GPT against PyTorch CPU eager on the same model, one thread each.

    python benchmarks/gpt_step.py                     # float32 and float64, 7 rounds of 30 steps
    python benchmarks/gpt_step.py --profile           # where our step spends its time (cProfile)

The model is examples/gpt.py's full GPT (the layernorm stage): n_embd 64, 4 heads, 4 blocks,
block 32, batch 16, 65 characters, dropout 0; a step is forward, cross-entropy, backward and
AdamW. PyTorch's model is benchmarks/gpt_torch.py's, given our initial weights. Time is the
process's CPU time (other jobs on a shared machine do not count), rounds alternate between the
two, and the figure is the median ratio ours / PyTorch's. PyTorch is optional
(`pip install torch==2.13.0`), never a dependency.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one BLAS thread, before numpy loads
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import cProfile  # noqa: E402
import pstats  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import nn  # noqa: E402

SMALL_GPT = dict(n_embd=64, n_head=4, n_layer=4, block_size=32, dropout=0.0)
BATCH, VOCAB = 16, 65


def load_example():
    from gpt_torch import load_example

    return load_example()


def our_step(dtype):
    example = load_example()
    model = example.build_model("layernorm", VOCAB, seed=0, dtype=dtype, **SMALL_GPT)
    optimizer = nn.AdamW(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCAB, (BATCH, SMALL_GPT["block_size"]))
    y = rng.integers(0, VOCAB, (BATCH, SMALL_GPT["block_size"]))

    def step():
        _, loss = model(x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return model, step, (x, y)


def their_step(ours, dtype, batch):
    import torch
    from gpt_torch import build, copy_weights

    torch.set_num_threads(1)
    model = build("layernorm", VOCAB, **SMALL_GPT).to(getattr(torch, np.dtype(dtype).name))
    copy_weights(ours, model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x, y = (torch.from_numpy(a) for a in batch)

    def step():
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def cpu_seconds(step, steps: int) -> float:
    start = time.process_time()
    for _ in range(steps):
        step()
    return (time.process_time() - start) / steps


def measure(dtype, rounds: int, steps: int) -> dict:
    model, ours, batch = our_step(dtype)
    theirs = their_step(model, dtype, batch)
    first = (ours(), theirs())  # the same weights and batch: the same first loss
    for _ in range(5):  # warm-up
        ours(), theirs()
    times = {"ours": [], "torch": []}
    for _ in range(rounds):
        times["ours"].append(cpu_seconds(ours, steps))
        times["torch"].append(cpu_seconds(theirs, steps))
    ratios = [a / b for a, b in zip(times["ours"], times["torch"])]
    return {
        "dtype": np.dtype(dtype).name,
        "first_loss": first,
        "ours_ms": 1e3 * statistics.median(times["ours"]),
        "torch_ms": 1e3 * statistics.median(times["torch"]),
        "ratio": statistics.median(ratios),
        "ratio_range": (min(ratios), max(ratios)),
    }


def profile(dtype, steps: int) -> None:
    _, step, _ = our_step(dtype)
    for _ in range(5):
        step()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        step()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--profile", action="store_true")
    options = parser.parse_args()
    if options.profile:
        profile(np.dtype(options.dtypes[0]).type, options.steps)
        return
    import torch

    print(f"PyTorch {torch.__version__}, numpy {np.__version__}, one thread each, CPU time")
    for name in options.dtypes:
        r = measure(np.dtype(name).type, options.rounds, options.steps)
        low, high = r["ratio_range"]
        print(
            f"{r['dtype']}: ours {r['ours_ms']:.2f} ms/step, PyTorch {r['torch_ms']:.2f} ms/step,"
            f" ratio {r['ratio']:.2f}x (rounds {low:.2f}-{high:.2f}); first losses "
            f"{r['first_loss'][0]:.6f} and {r['first_loss'][1]:.6f}"
        )


if __name__ == "__main__":
    main()
