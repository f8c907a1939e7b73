"""Reading a data file's bytes and text so that every error names the file and what was
expected: an empty file, a binary one, UTF-16 or another encoding than UTF-8. Shared by the
loaders (names, saved networks, MNIST, his pickle); knows nothing of what the files hold.
"""

from __future__ import annotations

import os
from pathlib import Path

# Byte-order marks of the encodings a text editor may save in instead of UTF-8.
UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")


def read_bytes(path: str | os.PathLike, expected: str) -> bytes:
    """The file's bytes; ValueError naming it and `expected` when it is empty."""
    content = Path(path).expanduser().read_bytes()  # a missing file: FileNotFoundError names it
    if not content:
        raise ValueError(f"{path} is empty (0 bytes): expected {expected}")
    return content


def read_text(path: str | os.PathLike, expected: str) -> str:
    """The file's text, UTF-8 (a byte-order mark allowed); ValueError naming the file and
    `expected` when it is empty, binary, UTF-16 or in another encoding."""
    content = read_bytes(path, expected)
    if content.startswith(UTF16_MARKS):
        raise ValueError(f"{path} is UTF-16 text: expected {expected}, in UTF-8 (save it so)")
    if b"\0" in content:
        raise ValueError(
            f"{path} is a binary file (it holds NUL bytes), not text: expected {expected}"
        )
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        start = content[max(0, error.start - 10) : error.start + 10]
        raise ValueError(
            f"{path} is not UTF-8 text: byte 0x{content[error.start]:02x} at offset "
            f"{error.start} (in {start!r}) is not UTF-8; expected {expected}, in UTF-8 (saved "
            "as Latin-1 or Windows-1252? save it as UTF-8)"
        ) from None
