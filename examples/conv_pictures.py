"""Train a small conv net on MNIST for a short while, then draw what it learned.

    python examples/conv_pictures.py                 # writes out/conv/*.png and *.svg
    python examples/conv_pictures.py --out docs --images 20000

Nielsen's first conv layer (20 filters of 5x5, then 2x2 max-pooling), ReLU, and a softmax
output trained with SGD (eta 0.1, mini-batch 10, seed 0) on the first --images training
images; then nn.draw_filters, nn.draw_feature_maps of one test digit, nn.draw_conv_graph,
and nn.verify_backprop on three test digits. MNIST as nn.data.load_mnist finds it, else the
sample shipped in nn/data (said in a note).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import nn
from autodiff.drawing import render


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/conv", type=Path)
    parser.add_argument("--images", default=10_000, type=int)
    parser.add_argument("--epochs", default=2, type=int)
    args = parser.parse_args()
    if hasattr(sys.stdout, "reconfigure"):  # each line before the progress bars
        sys.stdout.reconfigure(line_buffering=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", nn.data.SampleDataWarning)
        data = nn.data.load_mnist()
    for warning in caught:
        print(f"Note: {warning.message}")
    images, labels = data.train
    x = images[: args.images].reshape(-1, 1, 28, 28)
    print(f"MNIST from {data.source}: {len(x):,} training images, 2,000 test images")
    print(
        f"20 5x5 filters, 2x2 max-pool, ReLU, softmax; SGD eta 0.1, mini-batch 10, seed 0, "
        f"{args.epochs} epochs. Expect about 95% on the test images after 2 epochs (94.6% on "
        "the sample's 8,000 images); the filters stay noisy after so short a run."
    )
    model = nn.Sequential(
        nn.Conv2d(1, 20, 5, seed=0), nn.MaxPool2d(2), nn.ReLU(), nn.Flatten(),
        nn.Linear(20 * 12 * 12, 10, seed=1),
    )  # fmt: skip
    optimizer = nn.SGD(model.parameters(), lr=0.1)
    test_x, test_y = data.test[0].reshape(-1, 1, 28, 28), data.test[1]
    start = time.perf_counter()
    nn.fit(model, nn.cross_entropy, optimizer, (x, labels[: args.images]), args.epochs, 10,
           evaluation=(test_x[:2000], test_y[:2000]), seed=0)  # fmt: skip
    print(f"trained in {time.perf_counter() - start:.0f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    nn.draw_filters(model.layers[0], path=args.out / "conv-filters.png")
    nn.draw_feature_maps(model, test_x[0], path=args.out / "conv-feature-maps.png")
    graph = nn.draw_conv_graph(model, test_x[:2], test_y[:2], loss=nn.cross_entropy)
    render(graph, args.out / "conv-graph.svg")
    render(nn.draw_conv_graph(model, test_x[:2], test_y[:2], nn.cross_entropy, collapse=True),
           args.out / "conv-graph-collapsed.svg")  # fmt: skip
    print(nn.verify_backprop(model, test_x[:3], test_y[:3], loss=nn.cross_entropy))
    print(f"pictures in {args.out}/")


if __name__ == "__main__":
    main()
