"""Build nn/data/mnist_sample.npz, the genuine MNIST sample that nn.data.load_sample ships.

    python scripts/make_mnist_sample.py                  # from ../shared/data/mnist
    python scripts/make_mnist_sample.py --source DIR --train 8000 --test 2000

It checks every .gz in the source folder against nn.data.SHA256, then keeps the first
images and labels of the official training and test files, in order, as uint8 arrays.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# Run as a plain script, Python puts scripts/ on the path, not the repository root.
sys.path.insert(0, str(ROOT))

from nn.data import FILES, SAMPLE_PATH, SHA256, read_idx  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared/data/mnist")
    parser.add_argument("--train", type=int, default=8000, help="first N training images")
    parser.add_argument("--test", type=int, default=2000, help="first N test images")
    parser.add_argument("--output", type=Path, default=SAMPLE_PATH)
    arguments = parser.parse_args(argv)

    arrays = {}
    for role, name in FILES.items():
        path = arguments.source / f"{name}.gz"
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != SHA256[path.name]:
            sys.exit(f"{path}: SHA-256 {digest}, expected {SHA256[path.name]}: not the original")
        count = arguments.train if role.startswith("train") else arguments.test
        arrays[role] = read_idx(path)[:count]
    np.savez_compressed(arguments.output, **arrays)
    size = arguments.output.stat().st_size
    print(
        f"{arguments.output}: {arguments.train} training and {arguments.test} test images, "
        f"{size:,} bytes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
