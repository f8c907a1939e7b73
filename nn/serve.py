"""Serve the draw-a-digit page: nn/web/static's files and one network's JSON, on a local server.

    python -m nn.serve --model model.json     # a network saved by nn.save (or network2.py)
    python -m nn.serve                        # trains a small one on the embedded sample first

The page runs the network itself, in JavaScript (nn/web/static/digit.js, driven by app.js); this
module only trains or loads it and hands out files. Standard library http.server; nothing is
fetched from elsewhere.
"""

from __future__ import annotations

import argparse
import errno
import sys

from .data import load_sample
from .layers import MLP
from .losses import binary_cross_entropy
from .optim import SGD
from .training import evaluate, fit, load
from .web.server import PageServer, is_loopback, model_json

INPUTS = 28 * 28


def load_model(path: str) -> MLP:
    """nn.load, with the page's own demand: 784 inputs, one per pixel."""
    model = load(path)
    if model.sizes[0] != INPUTS:
        raise ValueError(
            f"{path}: the page feeds 28x28 = {INPUTS} grey levels, but this network takes "
            f"{model.sizes[0]} inputs (sizes {model.sizes})"
        )
    return model


def train_sample_model(progress: bool = True, seed: int = 0) -> tuple[MLP, str]:
    """Chapter 3's [784, 100, 10] sigmoid network with cross-entropy (no L2), trained
    for a few seconds on the embedded MNIST sample; and a line saying so for the page."""
    sample = load_sample()
    (x, y), (test_x, test_y) = sample.train, sample.test
    model = MLP([784, 100, 10], seed=seed)
    optimizer = SGD(model.parameters(), lr=0.5)
    epochs = 10
    fit(model, binary_cross_entropy, optimizer, (x, y), epochs, 10, seed=seed, progress=progress)
    accuracy = evaluate(model, binary_cross_entropy, test_x, test_y)[1]
    return model, (
        f"Trained at startup on nn's MNIST sample: {len(x)} images, {epochs} epochs; "
        f"{accuracy:.1%} right on {len(test_x)} test images."
    )


def port_number(text: str) -> int:
    """--port: a whole number 0-65535 (0 lets the system pick a free port)."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nn.serve",
        description="Serve a page where you draw a digit and a trained network reads it.",
    )
    parser.add_argument("--model", help="network saved by nn.save; default: train one first")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=port_number, default=8000, help="0 picks a free port")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no request log")
    arguments = parser.parse_args(argv)

    # Listening first: a busy port or a bad address is told before any training starts.
    try:
        server = PageServer((arguments.host, arguments.port), b"", arguments.quiet)
    except OSError as error:
        hint = "; --port 0 picks a free one" if error.errno == errno.EADDRINUSE else ""
        parser.exit(
            2,
            f"{parser.prog}: error: cannot listen on {arguments.host} port {arguments.port}: "
            f"{error.strerror or error}{hint}\n",
        )
    if not is_loopback(arguments.host):
        print(
            f"warning: --host {arguments.host} is not a loopback address: any machine that "
            "can reach this one may open the page and download the network. The default, "
            "127.0.0.1, keeps it to this machine.",
            file=sys.stderr,
        )
    try:
        if arguments.model:
            try:
                model = load_model(arguments.model)
            except (OSError, ValueError, TypeError, KeyError) as error:
                parser.exit(2, f"{parser.prog}: error: cannot serve {arguments.model}: {error}\n")
            description = f"Loaded from {arguments.model}."
        else:
            print("No --model given: training a network on the embedded MNIST sample first.")
            model, description = train_sample_model(progress=not arguments.quiet)
    except BaseException:
        server.server_close()
        raise
    server.model_json = model_json(model, description)

    print(f"Serving the draw-a-digit page at {server.url} (Ctrl+C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("Stopped.")
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
