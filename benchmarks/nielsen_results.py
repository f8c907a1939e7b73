"""Reproduce Nielsen's published MNIST results (and a modern recipe) on the full data set.

    python benchmarks/nielsen_results.py [--recipes ch1 ch3 modern] [--seeds 0 1 2] [--data-dir DIR]

Each recipe is examples/mnist.py's, run to the end; the table gives the best accuracy on the
data Nielsen reported (test for ch. 1, validation for ch. 3), the test accuracy after the last
epoch and the time per epoch, for each seed (runs differ by initial weights and batch order,
as Nielsen's did). Too slow for unit tests: minutes per recipe.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = {"ch1": "95.42% (test, best epoch)", "ch3": "97.92% (validation)", "modern": "n/a"}
GOALS = {"ch1": 0.950, "ch3": 0.978, "modern": 0.982}


def load_example():
    spec = importlib.util.spec_from_file_location("mnist_example", ROOT / "examples" / "mnist.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=["ch1", "ch3", "modern"])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, help="override every recipe's epochs (smoke run)")
    parser.add_argument("--json", help="also write the results here")
    options = parser.parse_args()
    example = load_example()
    rows = {}
    for recipe in options.recipes:
        for seed in options.seeds:
            argv = ["--recipe", recipe, "--seed", str(seed), "--data-dir", options.data_dir]
            argv += ["--no-download", "--quiet"]
            if options.epochs:
                argv += ["--epochs", str(options.epochs)]
            _, _, summary = example.train(example.parse_arguments(argv))
            rows[f"{recipe} seed {seed}"] = summary | {"recipe": recipe}
            print(f"{recipe} seed {seed}: {summary}", flush=True)
    print("\n| run | Nielsen's published | ours: best | goal | test after last epoch | s/epoch |")
    print("|---|---|---|---|---|---|")
    for run, s in rows.items():
        goal = GOALS[s["recipe"]]
        met = "met" if s["best_accuracy"] >= goal else "not met"
        print(
            f"| {run} | {PUBLISHED[s['recipe']]} | {s['best_accuracy']:.2%} ({s['evaluated_on']}, "
            f"epoch {s['best_epoch']}) | >= {goal:.1%}: {met} | "
            f"{s['final_test_accuracy']:.2%} | {s['seconds_per_epoch']:.2f} |"
        )
    if options.json:
        Path(options.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
