"""MNIST as numpy arrays: find the four IDX files (or Nielsen's mnist.pkl.gz), download and
verify them, or fall back to the genuine sample shipped with the package.

Rows are examples: images are (n, 784) floats in [0, 1], labels are (n,) integers 0-9.
This module only moves data; it knows nothing of the autodiff engine or of models.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike

from .arrays import PIXELS, Pair
from .download import DownloadError, fetch
from .nielsen import FILENAME as NIELSEN_PICKLE
from .nielsen import load_nielsen_pickle

# The four standard files by role, without the .gz that downloads carry.
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# SHA-256 of the original .gz files as LeCun, Cortes and Burges published them.
SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",  # noqa: E501
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",  # noqa: E501
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
# Their sizes in bytes, measured on the genuine files: a mirror sending more is cut off.
SIZES = {
    "train-images-idx3-ubyte.gz": 9_912_422,
    "train-labels-idx1-ubyte.gz": 28_881,
    "t10k-images-idx3-ubyte.gz": 1_648_877,
    "t10k-labels-idx1-ubyte.gz": 4_542,
}
# Well-known public copies of those files, tried in order: the original host, last, now
# often refuses automated downloads.
MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]
SPLITS = ("standard", "nielsen")
SAMPLE_PATH = Path(__file__).with_name("mnist_sample.npz")


@dataclass(frozen=True, eq=False)
class MNIST:
    """(images, labels) per split; validation is None for split="standard"."""

    train: Pair
    validation: Pair | None
    test: Pair
    source: str

    def __repr__(self) -> str:
        sizes = {"train": self.train, "validation": self.validation, "test": self.test}
        shown = ", ".join(f"{k}={None if v is None else len(v[0])}" for k, v in sizes.items())
        return f"MNIST({shown}, source={self.source!r})"


class SampleDataWarning(UserWarning):
    """load_mnist is returning the small embedded sample instead of the full data set."""


def cache_dir() -> Path:
    """Where downloads go by default: $XDG_CACHE_HOME/autodiff-nn/mnist or ~/.cache/..."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says to ignore a relative XDG_CACHE_HOME.
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "autodiff-nn" / "mnist"


def read_idx(path: str | os.PathLike, ndim: int | None = None) -> np.ndarray:
    """The uint8 array in an IDX file, gzip-compressed or raw, shaped as its header says.

    ndim, when given, is the number of dimensions the file must hold (3 for images, 1 for
    labels). A file that is not what its header promises raises ValueError naming it.
    """
    path = Path(path)
    with open(path, "rb") as raw:
        # Sniff instead of trusting the name: IDX starts with two zero bytes, gzip with 1f 8b.
        compressed = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        try:
            data = gzip.GzipFile(fileobj=raw).read() if compressed else raw.read()
        except (gzip.BadGzipFile, EOFError, zlib.error) as error:
            raise ValueError(
                f"{path}: broken or truncated gzip data ({error}); expected a gzip-compressed "
                "IDX file"
            ) from error
    if not data:
        what = "decompresses to nothing" if compressed else "is empty (0 bytes)"
        raise ValueError(f"{path} {what}: expected an IDX file of unsigned bytes (MNIST's)")
    if len(data) < 4 or data[:3] != b"\0\0\x08":
        raise ValueError(
            f"{path}: not an IDX file of unsigned bytes: starts with {data[:4].hex() or 'nothing'}"
            ", expected 000008 and a dimension count"
        )
    if ndim is not None and data[3] != ndim:
        raise ValueError(
            f"{path}: magic number {int.from_bytes(data[:4], 'big')}, expected {0x800 + ndim}"
            f" (IDX of unsigned bytes with {ndim} dimensions)"
        )
    start = 4 + 4 * data[3]
    if len(data) < start:
        raise ValueError(f"{path}: truncated header: {len(data)} bytes, expected {start}")
    shape = struct.unpack(f">{data[3]}I", data[4:start])
    expected, held = math.prod(shape), len(data) - start
    if held != expected:
        problem = "truncated" if held < expected else "too long"
        raise ValueError(
            f"{path}: {problem}: header says {' x '.join(map(str, shape))} = {expected} bytes "
            f"of data, the file holds {held}"
        )
    # Copy so callers get a writable array, not a view of immutable bytes.
    return np.frombuffer(data, np.uint8, offset=start).reshape(shape).copy()


def _files_in(folder: Path) -> dict[str, Path] | None:
    """The four files in folder by role, raw IDX preferred (it reads faster); None if any lack."""
    found = {}
    for role, name in FILES.items():
        candidates = [path for path in (folder / name, folder / f"{name}.gz") if path.is_file()]
        if not candidates:
            return None
        found[role] = candidates[0]
    return found


def _assemble(
    arrays: dict[str, np.ndarray], paths: dict[str, str], split: str, dtype: np.dtype, source: str
) -> MNIST:
    """MNIST from uint8 arrays by role, after checking that they fit together."""
    pairs = []
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        images_path, labels_path = paths[f"{part}_images"], paths[f"{part}_labels"]
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(f"{images_path}: images are {images.shape[1:]}, expected 28 x 28")
        if labels.shape != (len(images),):
            raise ValueError(
                f"{labels_path}: {labels.shape} labels for {len(images)} images in "
                f"{images_path}, expected ({len(images)},)"
            )
        if labels.size and labels.max() > 9:
            raise ValueError(f"{labels_path}: label {labels.max()}, expected 0-9")
        # Scale in place in the target dtype: one array of the final size, exact 0 and 1.
        scaled = images.reshape(len(images), PIXELS).astype(dtype)
        scaled /= 255
        pairs.append((scaled, labels.astype(np.int64)))
    (train_x, train_y), test = pairs
    validation = None
    if split == "nielsen":
        # Nielsen's mnist.pkl.gz keeps the last 10,000 of the official 60,000 (1/6), in order.
        cut = len(train_x) - len(train_x) // 6
        validation = (train_x[cut:], train_y[cut:])
        train_x, train_y = train_x[:cut], train_y[:cut]
    return MNIST((train_x, train_y), validation, test, source)


def _checked(split: str, dtype: DTypeLike) -> np.dtype:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(map(repr, SPLITS))}; got {split!r}")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating type such as np.float64, got {dtype}")
    return dtype


def load_sample(split: str = "standard", dtype: DTypeLike = np.float64) -> MNIST:
    """The genuine MNIST sample shipped in nn/data/mnist_sample.npz: the first training and test
    images of the official files, in order (see scripts/make_mnist_sample.py)."""
    dtype = _checked(split, dtype)
    with np.load(SAMPLE_PATH, allow_pickle=False) as archive:
        arrays = {role: archive[role] for role in FILES}
    paths = dict.fromkeys(FILES, str(SAMPLE_PATH))
    return _assemble(arrays, paths, split, dtype, "embedded sample nn/data/mnist_sample.npz")


def load_mnist(
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    split: str = "standard",
    dtype: DTypeLike = np.float64,
    mirrors: Sequence[str] | None = None,
    *,
    fallback: bool = True,
    timeout: float = 30.0,
    retries: int = 2,
    progress: bool = True,
    deadline: float | None = 600.0,
) -> MNIST:
    """MNIST from the first folder holding the four IDX files (.gz or raw), else downloaded.

    Folders are tried in order: data_dir, $MNIST_DIR, cache_dir(); a folder holding
    Nielsen's mnist.pkl.gz instead of the IDX files is used too (his values as they are), and
    data_dir may also name that file. data_dir or $MNIST_DIR naming nothing that exists is an
    error (a mistyped path), not a fallback. Downloads go to data_dir when given, else to
    cache_dir(). split="standard" gives 60,000 train and 10,000 test images;
    split="nielsen" moves the last 1/6 of the training images to validation, as Nielsen's
    mnist.pkl.gz does (50,000 / 10,000 / 10,000). When the files are neither found nor
    downloadable, returns load_sample() with a SampleDataWarning, or raises when
    fallback=False. Files that are found but corrupt always raise ValueError. timeout and
    deadline are download_mnist's.
    """
    dtype = _checked(split, dtype)
    folders = [_existing(data_dir, "data_dir")] if data_dir is not None else []
    if os.environ.get("MNIST_DIR"):
        folders.append(_existing(os.environ["MNIST_DIR"], "$MNIST_DIR"))
    folders.append(cache_dir())
    for folder in folders:
        if folder.is_file():
            return _load_pickle(folder, split, dtype)
        files = _files_in(folder)
        if files is not None:
            return _load_files(files, split, dtype, os.path.abspath(folder))
        if (folder / NIELSEN_PICKLE).is_file():
            return _load_pickle(folder / NIELSEN_PICKLE, split, dtype)

    looked = ", ".join(map(str, folders))
    if not download:
        reason = "download=False"
        if not fallback:
            raise FileNotFoundError(
                f"MNIST's four IDX files (or {NIELSEN_PICKLE}) are in none of: {looked}"
            )
    else:
        target = folders[0] if data_dir is not None else cache_dir()
        try:
            download_mnist(
                target,
                mirrors,
                timeout=timeout,
                retries=retries,
                progress=progress,
                deadline=deadline,
            )
        except (DownloadError, OSError) as error:
            if not fallback:
                raise
            reason = f"the download failed: {error}"
        else:
            return _load_files(_files_in(target), split, dtype, os.path.abspath(target))

    sample = load_sample(split, dtype)
    searched = looked + ("" if os.environ.get("MNIST_DIR") else " ($MNIST_DIR is not set)")
    warnings.warn(
        f"Using the embedded sample of {_count(sample)} MNIST images instead of the full "
        "70,000, so accuracy will be a few points lower. For the full set, put the four IDX "
        f"files (.gz or raw) or Nielsen's {NIELSEN_PICKLE} in a folder and pass it as "
        "data_dir (--data-dir) or $MNIST_DIR, or let load_mnist download them. "
        f"Searched: {searched}; {reason}.",
        SampleDataWarning,
        stacklevel=2,
    )
    return sample


def _count(mnist: MNIST) -> str:
    parts = (mnist.train, mnist.validation, mnist.test)
    return f"{sum(len(part[0]) for part in parts if part is not None):,}"


def _existing(path: str | os.PathLike, name: str) -> Path:
    """path as a Path, or FileNotFoundError when nothing is there (a mistyped folder)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"{name} {str(path)!r} does not exist (mistyped?): expected a folder holding the "
            f"four MNIST IDX files or {NIELSEN_PICKLE}, or an existing folder to download "
            "them into"
        )
    if path.is_file() and not path.name.endswith(".pkl.gz"):
        raise NotADirectoryError(
            f"{name} {str(path)!r} is a file: expected a folder holding the four MNIST IDX "
            f"files, or Nielsen's {NIELSEN_PICKLE} itself"
        )
    return path


def _load_pickle(path: Path, split: str, dtype: np.dtype) -> MNIST:
    """MNIST from Nielsen's mnist.pkl.gz: his three splits, joined again for split="standard"."""
    training, validation, test = (
        (images.astype(dtype), labels) for images, labels in load_nielsen_pickle(path)
    )
    source = os.path.abspath(path)
    if split == "nielsen":
        return MNIST(training, validation, test, source)
    # His validation images are the last 10,000 of the official training set, in order.
    joined = tuple(np.concatenate(parts) for parts in zip(training, validation))
    return MNIST(joined, None, test, source)


def _load_files(files: dict[str, Path], split: str, dtype: np.dtype, source: str) -> MNIST:
    arrays = {role: read_idx(path, 3 if "images" in role else 1) for role, path in files.items()}
    paths = {role: str(path) for role, path in files.items()}
    return _assemble(arrays, paths, split, dtype, source)


def download_mnist(
    directory: str | os.PathLike | None = None,
    mirrors: Sequence[str] | None = None,
    *,
    timeout: float = 30.0,
    retries: int = 2,
    progress: bool = True,
    deadline: float | None = 600.0,
) -> Path:
    """Fetch the .gz files that directory (default cache_dir()) lacks; return the folder.

    Each file is tried at each mirror in turn: up to 1 + retries times when a transfer breaks
    off (a stall, a cut connection) or the server answers HTTP 5xx; once when the mirror cannot
    be reached or gives no answer, answers 4xx or sends a wrong file. timeout is the seconds
    to wait for a connection or for the next bytes; deadline the seconds one try at one mirror
    may take in all (None: no limit), so that a mirror dripping bytes fails over to the next.
    A mirror announcing or sending more than SIZES says, or something else than a .gz (an
    HTML page), is left at once. A file is checked against SHA256 and then moved into place
    atomically; a failure leaves nothing behind and raises
    DownloadError naming the file, every URL tried and what went wrong.
    """
    folder = cache_dir() if directory is None else Path(directory).expanduser()
    bases = MIRRORS if mirrors is None else [mirrors] if isinstance(mirrors, str) else list(mirrors)
    if retries < 0:
        raise ValueError(f"retries must be 0 or more, got {retries}")
    if deadline is not None and not deadline > 0:
        raise ValueError(f"deadline must be a positive number of seconds or None, got {deadline}")
    folder.mkdir(parents=True, exist_ok=True)
    for name in FILES.values():
        if not (folder / name).is_file() and not (folder / f"{name}.gz").is_file():
            gz = f"{name}.gz"
            fetch(gz, SHA256[gz], folder, bases, timeout, retries, progress, SIZES[gz], deadline)
    return folder
