"""Every data loader names the file and what it expected when given a binary, an empty or a
non-UTF-8 file: makemore's names, saved networks (nn.load), MNIST's IDX files (read_idx and
load_mnist on a folder) and Nielsen's mnist.pkl.gz (load_nielsen_pickle and load_mnist)."""

from __future__ import annotations

import gzip
import re

import pytest

import nn
from nn.data import FILES

FILES_TO_TRY = {
    "binary": bytes(range(256)) * 4,
    "empty": b"",
    "Latin-1": "Zoë\nRenée\n".encode("latin-1"),
    "UTF-16": "Zoe\nRene\n".encode("utf-16"),
}


def mnist_folder(path, content):
    path.mkdir()
    for name in FILES.values():
        (path / name).write_bytes(content)
    return path


LOADERS = {
    # name: (load the path, make the path from the content, words saying what was expected)
    "load_names": (nn.data.load_names, None, "names, one a line"),
    "nn.load": (nn.load, None, "a network saved by nn.save"),
    "read_idx": (nn.data.read_idx, None, "IDX"),
    "load_mnist folder": (
        lambda path: nn.data.load_mnist(path, download=False, fallback=False),
        mnist_folder,
        "IDX",
    ),
    "load_nielsen_pickle": (nn.data.load_nielsen_pickle, None, "mnist.pkl.gz"),
    "load_mnist pickle": (
        lambda path: nn.data.load_mnist(path, download=False, fallback=False),
        None,
        "mnist.pkl.gz",
    ),
}
# What each kind of file is called in the message (read_idx and the pickle do not read text,
# so a text file is simply not an IDX file or not gzip to them).
KIND_WORDS = {
    "binary": r"binary file|not an IDX file|not gzip",
    "empty": r"is empty \(0 bytes\)",
    "Latin-1": r"not UTF-8 text: byte 0xeb at offset 2|not an IDX file|not gzip",
    "UTF-16": r"is UTF-16 text|not an IDX file|not gzip",
}


@pytest.mark.parametrize("kind", FILES_TO_TRY)
@pytest.mark.parametrize("loader", LOADERS)
def test_each_loader_names_the_file_and_what_it_expected(tmp_path, loader, kind):
    load, make, expected = LOADERS[loader]
    path = tmp_path / ("mnist.pkl.gz" if "pickle" in loader else "data.txt")
    if make is None:
        path.write_bytes(FILES_TO_TRY[kind])
    else:
        path = make(tmp_path / "folder", FILES_TO_TRY[kind])
    with pytest.raises(ValueError) as caught:
        load(path)
    message = str(caught.value)
    assert str(path) in message
    assert re.search(KIND_WORDS[kind], message), message
    assert "expected" in message and expected in message, message


def test_a_gzip_holding_nothing_says_so(tmp_path):
    (tmp_path / "mnist.pkl.gz").write_bytes(gzip.compress(b""))
    with pytest.raises(ValueError, match=r"decompresses to nothing.*expected Nielsen's"):
        nn.data.load_nielsen_pickle(tmp_path / "mnist.pkl.gz")
    (tmp_path / "images.gz").write_bytes(gzip.compress(b""))
    with pytest.raises(ValueError, match=r"images.gz decompresses to nothing: expected an IDX"):
        nn.data.read_idx(tmp_path / "images.gz")


def test_utf8_with_a_byte_order_mark_is_still_read(tmp_path):
    (tmp_path / "names.txt").write_bytes("\ufeffemma\nolivia\n".encode())
    assert nn.data.load_names(tmp_path / "names.txt").words == ("emma", "olivia")
