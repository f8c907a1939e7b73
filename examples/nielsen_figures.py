"""Draw Nielsen's figures with nn.figures on the full MNIST and write them as PNGs.

    python examples/nielsen_figures.py --out docs          # all four, as the README shows
    python examples/nielsen_figures.py --only overfitting --out /tmp/figures
    python examples/nielsen_figures.py --quick             # tiny runs, to see it work

MNIST comes from --data-dir (default ../shared/data/mnist beside the checkout, else the
usual search: $MNIST_DIR, the cache, a download, or the 10,000-image sample, said in a note).
PNGs go to --out, by default out/figures.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import nn
import nn.figures

ROOT = Path(__file__).resolve().parents[1]
# Each figure with the sizes Nielsen used, and tiny ones for --quick.
FIGURES = {
    "overfitting": (dict(), dict(train_size=100, epochs=10, test_size=500)),
    "regularization": (dict(), dict(train_size=100, epochs=10, test_size=500)),
    "learning_rates": (dict(), dict(train_size=500, epochs=3)),
    "speed_of_learning": (dict(), dict(train_size=100, epochs=5)),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    shared = ROOT.parent / "shared" / "data" / "mnist"
    parser.add_argument("--data-dir", default=str(shared) if shared.is_dir() else None)
    parser.add_argument("--out", default="out/figures", help="folder for the PNGs")
    parser.add_argument("--only", choices=sorted(FIGURES), action="append")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny runs, seconds each")
    arguments = parser.parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):  # each line before the progress bars
        sys.stdout.reconfigure(line_buffering=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", nn.data.SampleDataWarning)
        mnist = nn.data.load_mnist(arguments.data_dir, split="nielsen")
    for warning in caught:
        print(f"Note: {warning.message}")
    print(f"MNIST from {mnist.source}: {len(mnist.train[0]):,} training images")
    if arguments.quick:
        print(
            "--quick: tiny runs (seconds each) to see the code work; their curves are far "
            "from the book's, which the runs without --quick reproduce (minutes each)."
        )
    out = Path(arguments.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in arguments.only or FIGURES:
        full, quick = FIGURES[name]
        options = quick if arguments.quick else full
        settings = ", ".join(f"{key} {value}" for key, value in options.items())
        print(f"{name}: {settings or 'the sizes of the book'}, seed {arguments.seed}")
        started = time.perf_counter()
        path = out / f"nielsen-{name.replace('_', '-')}.png"
        figure = getattr(nn.figures, name)(mnist, seed=arguments.seed, path=path, **options)
        print(f"{path} ({time.perf_counter() - started:.0f} s, seed {arguments.seed})")
        for label, values in figure.curves.items():
            last = len(values) - 1
            best = max(range(len(values)), key=values.__getitem__)
            print(f"  {label}: first {values[0]:.4g}, last {values[last]:.4g}, "
                  f"max {values[best]:.4g} at point {best + 1} of {len(values)}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
