"""Fixtures shared across test files."""

from pathlib import Path

import pytest

# ---- MNIST data fixtures (owner: nn/data/ and tests/test_data.py) ----
MNIST_DIR = Path(__file__).resolve().parents[1].parent / "shared/data/mnist"


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The shared folder of the four genuine MNIST .gz files (present in CI), else a skip."""
    if len(list(MNIST_DIR.glob("*-ubyte.gz"))) != 4:
        pytest.skip(f"the four genuine MNIST .gz files are not in {MNIST_DIR}")
    return MNIST_DIR


# ---- end of MNIST data fixtures ----
