"""Chapter 6 on the engine: accuracy of Nielsen's experiments, and the speed of dbl_conv_relu.

    python benchmarks/chapter6.py speed                      # batch 10 and 100, both dtypes
    python benchmarks/chapter6.py accuracy --epochs 1 --train-size 10000 --seeds 0,1
    python benchmarks/chapter6.py accuracy --experiments dbl_conv_relu   # his full 60 epochs

speed: one epoch of dbl_conv_relu (two ReLU conv-pool layers, FC 100, softmax; eta 0.03,
lmbda 0.1) written three ways from the same initial weights and fed the same mini-batches in
file order: nn.network3 through net.SGD, our layers in nn.Sequential with nn.SGD, and PyTorch
on the CPU when it can be imported (never a dependency). Weights are compared after 20
steps. Each timing covers --steps steps, and the epoch (50,000 images) is extrapolated from
them; rounds are interleaved so that load from other processes falls on all alike. BLAS and
PyTorch run on one thread (--threads). --clock cpu times with the process's CPU time instead of
the wall clock: on a machine shared with other work, time spent waiting for a core then counts
for no one. Memory: tracemalloc's peak per step, early and late.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__" and os.environ.get("OPENBLAS_NUM_THREADS") is None:
    # BLAS reads its thread count when loaded: set it before numpy is imported.
    threads = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = threads
    os.execv(sys.executable, [sys.executable, *sys.argv])

import argparse  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "examples")]

import chapter6  # noqa: E402  (examples/chapter6.py: the experiments)

import nn  # noqa: E402
from nn.network3 import Network  # noqa: E402

EPOCH = 50_000
DATA = HERE.parent.parent / "shared" / "data" / "mnist"


def import_torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


# ---------------------------------------------------------------- the three implementations


def network3_net(dtype, batch_size: int) -> Network:
    chapter6.MBS = batch_size
    net = Network(chapter6.dbl_conv_relu(np.random.default_rng(0)), batch_size, dtype=dtype)
    # His softmax layer starts at zero; random values make the 20-step comparison stricter.
    soft = net.layers[-1]
    soft.w.data[:] = np.random.default_rng(1).normal(0, 0.1, soft.w.shape)
    return net


def his_weights(net: Network) -> list[np.ndarray]:
    """The weights as (out, in, ...) correlating kernels: what nn.Conv2d and torch hold."""
    conv1, conv2, full, soft = net.layers
    return [
        conv1.w.data[:, :, ::-1, ::-1], conv1.b.data, conv2.w.data[:, :, ::-1, ::-1], conv2.b.data,
        full.w.data.T, full.b.data, soft.w.data.T, soft.b.data,
    ]  # fmt: skip


def sequential_net(weights, dtype):
    model = nn.Sequential(
        nn.Conv2d(1, 20, 5), nn.MaxPool2d(2), nn.ReLU(),
        nn.Conv2d(20, 40, 5), nn.MaxPool2d(2), nn.ReLU(), nn.Flatten(),
        nn.Linear(640, 100), nn.ReLU(), nn.Linear(100, 10),
    )  # fmt: skip
    for p, w in zip(model.parameters(), weights):
        p.data = np.array(w, dtype=dtype, order="C")  # a copy: the runs must not share weights
    return model


def torch_net(torch, weights, dtype):
    t = torch.nn
    model = t.Sequential(
        t.Conv2d(1, 20, 5), t.MaxPool2d(2), t.ReLU(), t.Conv2d(20, 40, 5), t.MaxPool2d(2),
        t.ReLU(), t.Flatten(), t.Linear(640, 100), t.ReLU(), t.Linear(100, 10),
    )  # fmt: skip
    model = model.to(getattr(torch, np.dtype(dtype).name))
    with torch.no_grad():
        for p, w in zip(model.parameters(), weights):
            p.copy_(torch.from_numpy(np.ascontiguousarray(w, dtype=dtype)))
    return model


def runners(x, y, batch_size, dtype, torch):
    """name -> (make: () -> (run steps, final weights)), each from the same initial weights."""
    eta, lmbda = 0.03, 0.1
    decay = lmbda / (EPOCH // batch_size)  # his L2 term over an epoch of 50,000 images
    initial = his_weights(network3_net(dtype, batch_size))
    steps = len(x) // batch_size
    made = {}

    def through_sgd():
        net = network3_net(dtype, batch_size)
        # net.SGD's own num_training_batches is steps; lmbda scaled to match 50,000 images.
        scaled = decay * steps

        def run():
            net.SGD((x, y), 1, batch_size, eta, (x[:batch_size], y[:batch_size]),
                    lmbda=scaled, verbose=False)  # fmt: skip

        return run, lambda: his_weights(net)

    def sequential():
        model = sequential_net(initial, dtype)
        optimizer = nn.SGD(model.parameters(), lr=eta, weight_decay=decay)
        images = x.reshape(-1, 1, 28, 28)

        def run():
            for i in range(steps):
                batch = slice(i * batch_size, (i + 1) * batch_size)
                loss = nn.cross_entropy(model(images[batch]), y[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

        return run, lambda: [p.data for p in model.parameters()]

    def compiled():
        model = sequential_net(initial, dtype)
        optimizer = nn.SGD(model.parameters(), lr=eta, weight_decay=decay)
        step = nn.training.training_step(model, nn.cross_entropy, optimizer)  # as nn.fit
        images = x.reshape(-1, 1, 28, 28)

        def run_steps(count: int):
            for i in range(count):
                batch = slice(i * batch_size, (i + 1) * batch_size)
                step(images[batch], y[batch])

        # Record and compile before the clock starts (PyTorch has nothing to compile), then
        # the initial weights back: SGD without momentum keeps no other state.
        run_steps(3)
        model.load_state_dict(sequential_net(initial, dtype).state_dict())
        return lambda: run_steps(steps), lambda: [p.data for p in model.parameters()]

    made["net.SGD"], made["nn.Sequential"] = through_sgd, sequential
    made["compiled step"] = compiled
    if torch is not None:

        def pytorch():
            model = torch_net(torch, initial, dtype)
            weights = [p for p in model.parameters() if p.ndim >= 2]
            biases = [p for p in model.parameters() if p.ndim < 2]
            groups = [{"params": weights, "weight_decay": decay}, {"params": biases}]
            optimizer = torch.optim.SGD(groups, lr=eta)
            images = torch.from_numpy(x.reshape(-1, 1, 28, 28))
            labels = torch.from_numpy(y.astype(np.int64))

            def run():
                for i in range(steps):
                    batch = slice(i * batch_size, (i + 1) * batch_size)
                    loss = torch.nn.functional.cross_entropy(model(images[batch]), labels[batch])
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()

            return run, lambda: [p.detach().numpy() for p in model.parameters()]

        made["PyTorch"] = pytorch
    return made


# ---------------------------------------------------------------- speed


def speed(args, x_all, y_all, torch) -> list[str]:
    rows = ["| batch | dtype | steps timed | net.SGD epoch (s) | nn.Sequential epoch (s) | "
            "compiled step epoch (s) | PyTorch epoch (s) | net.SGD / PyTorch | "
            "Sequential / PyTorch | compiled / PyTorch | weights equal after 20 steps |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for batch_size in args.batch_sizes:
        for dtype in args.dtypes:
            steps = args.steps if batch_size == 10 else max(20, args.steps // 3)
            x, y = x_all[: steps * batch_size].astype(dtype), y_all[: steps * batch_size]
            check = runners(x[: 20 * batch_size], y[: 20 * batch_size], batch_size, dtype, torch)
            finals = {}
            for name, make in check.items():
                run, weights = make()
                run()
                finals[name] = weights()
            tolerance = 1e-9 if dtype == "float64" else 2e-3
            equal = all(
                np.allclose(a, b, rtol=tolerance, atol=tolerance)
                for other in finals.values()
                for a, b in zip(finals["net.SGD"], other)
            )
            seconds = {name: [] for name in check}
            made = runners(x, y, batch_size, dtype, torch)
            clock = time.process_time if args.clock == "cpu" else time.perf_counter
            for _ in range(args.repeats):
                for name, make in made.items():
                    run, _ = make()
                    start = clock()
                    run()
                    seconds[name].append((clock() - start) * EPOCH / len(x))
            best = {name: float(np.median(s)) for name, s in seconds.items()}
            spread = {name: f"{min(s):.1f}-{max(s):.1f}" for name, s in seconds.items()}
            print(f"  batch {batch_size} {dtype} seconds per epoch, min-max over repeats: {spread}")
            theirs = seconds.get("PyTorch")
            names = ["net.SGD", "nn.Sequential", "compiled step"]
            # Ratios within each round (interleaved), then the median and the spread.
            ratios = [
                _ratio(seconds[n], theirs) if theirs else "n/a" for n in names
            ]  # fmt: skip
            rows.append(
                f"| {batch_size} | {dtype} | {steps} | "
                + " | ".join(f"{best[n]:.1f}" for n in names)
                + f" | {best['PyTorch'] if theirs else float('nan'):.1f} | "
                + " | ".join(ratios)
                + f" | {'yes' if equal else 'NO'} |"
            )
            print(rows[-1], flush=True)
    return rows


def _ratio(ours: list, theirs: list) -> str:
    ratios = np.array(ours) / np.array(theirs)
    return f"{np.median(ratios):.2f}x ({ratios.min():.2f}-{ratios.max():.2f})"


def memory(x_all, y_all, dtype="float64", batch_size=10, steps=60) -> str:
    """tracemalloc's peak during one step, over the first and the last five of `steps`."""
    x, y = x_all[: steps * batch_size].astype(dtype), y_all[: steps * batch_size]
    model = sequential_net(his_weights(network3_net(dtype, batch_size)), dtype)
    optimizer = nn.SGD(model.parameters(), lr=0.03, weight_decay=1e-5)
    images, peaks = x.reshape(-1, 1, 28, 28), []
    tracemalloc.start()
    for i in range(steps):
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        batch = slice(i * batch_size, (i + 1) * batch_size)
        loss = nn.cross_entropy(model(images[batch]), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        del loss
        peaks.append((tracemalloc.get_traced_memory()[1] - base) / 2**20)
    tracemalloc.stop()
    early, late = peaks[:5], peaks[-5:]
    return (f"peak MiB per step (nn.Sequential, {dtype}, batch {batch_size}): steps 1-5 "
            f"{', '.join(f'{p:.2f}' for p in early)}; steps {steps - 4}-{steps} "
            f"{', '.join(f'{p:.2f}' for p in late)}")  # fmt: skip


# ---------------------------------------------------------------- accuracy


def accuracy(args, data) -> list[str]:
    rows = ["| experiment | seed | epochs | training images | test accuracy (at best validation) "
            "| Nielsen | minutes |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for name in args.experiments:
        experiment = chapter6.EXPERIMENTS[name]
        for seed in args.seeds:
            start = time.perf_counter()
            chapter6.MBS = 10
            test_accuracy, _ = chapter6.run(name, data, args.epochs, seed, args.train_size,
                                            verbose=False)  # fmt: skip
            minutes = (time.perf_counter() - start) / 60
            images = args.train_size or len(data[0][0])
            images = f"{images * (5 if experiment.expanded else 1):,}"
            rows.append(
                f"| {name} | {seed} | {args.epochs or experiment.epochs} | {images} | "
                f"{test_accuracy:.2%} | {experiment.published}% | {minutes:.1f} |"
            )
            print(rows[-1], flush=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["speed", "accuracy"])
    parser.add_argument("--batch-sizes", type=lambda s: [int(n) for n in s.split(",")],
                        default=[10, 100])  # fmt: skip
    parser.add_argument("--dtypes", type=lambda s: s.split(","), default=["float64", "float32"])
    parser.add_argument("--steps", type=int, default=300, help="steps timed at batch 10")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall clock, or this process's CPU time")  # fmt: skip
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--experiments", type=lambda s: s.split(","),
                        default=list(chapter6.EXPERIMENTS))  # fmt: skip
    parser.add_argument("--seeds", type=lambda s: [int(n) for n in s.split(",")], default=[0])
    parser.add_argument("--epochs", type=int, help="override his epoch counts")
    parser.add_argument("--train-size", type=int, help="the first N training images only")
    parser.add_argument("--data-dir", "--mnist-dir", dest="mnist_dir", default=str(DATA))
    parser.add_argument("--data", default="mnist.pkl.gz")
    args = parser.parse_args(argv)
    data, source = chapter6.load(args)  # (the splits, where they came from)
    print(f"data: {source}")
    if args.what == "speed":
        torch = None if args.no_torch else import_torch()
        if torch is not None:
            torch.set_num_threads(args.threads)
        print(f"threads {args.threads}; clock {args.clock}; "
              f"PyTorch {torch.__version__ if torch else 'absent'}")  # fmt: skip
        speed(args, *data[0], torch)
        print(memory(*data[0]))
    else:
        accuracy(args, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
