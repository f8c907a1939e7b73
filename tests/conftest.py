"""Fixtures shared across test files."""

from pathlib import Path

import pytest

from nn.data import FILES

# ---- MNIST data fixtures (owner: nn/data/ and tests/test_data.py) ----
MNIST_DIR = Path(__file__).resolve().parents[1].parent / "shared/data/mnist"


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The shared folder of the four genuine MNIST .gz files (present in CI), else a skip."""
    if len(list(MNIST_DIR.glob("*-ubyte.gz"))) != 4:
        pytest.skip(f"the four genuine MNIST .gz files are not in {MNIST_DIR}")
    return MNIST_DIR


GZ_NAMES = [f"{name}.gz" for name in FILES.values()]
SMALL = "t10k-labels-idx1-ubyte.gz"  # the file the download tests leave to be downloaded


@pytest.fixture(scope="module")
def genuine_gz(mnist_dir):
    return {name: (mnist_dir / name).read_bytes() for name in GZ_NAMES}


@pytest.fixture
def missing_one(tmp_path, mnist_dir):
    """A folder holding three of the four genuine files (as links), lacking only SMALL."""
    folder = tmp_path / "target"
    folder.mkdir()
    for name in GZ_NAMES:
        if name != SMALL:
            (folder / name).symlink_to(mnist_dir / name)
    return folder


# ---- end of MNIST data fixtures ----


# ---- browser marker (owner: the draw-a-digit page's tests) ----
def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: drives Debian's Chromium (deselect with -m 'not browser')"
    )


def pytest_collection_modifyitems(items):
    """Every test that asks for the `browser` fixture is a browser test."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


# ---- end of browser marker ----
