"""Names for character-level language models (makemore): a names file read, its vocabulary
with "." as the boundary token, and (context, next character) datasets for any block size,
split 80/10/10 by a seeded shuffle of the words. Knows nothing of models.

NAMES_SAMPLE_PATH is shipped with the package: every 32nd line of makemore's names.txt (1,002
names; MIT License, Copyright (c) 2022 Andrej Karpathy), for use without the full file.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .files import read_text
from .mnist import SampleDataWarning

NAMES_SAMPLE_PATH = Path(__file__).with_name("names_sample.txt")
BOUNDARY = "."  # starts every context and ends every word: index 0 of the vocabulary
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)

Examples = tuple[np.ndarray, np.ndarray]  # contexts (n, block_size) and next chars (n,)


@dataclass(frozen=True)
class NamesSplit:
    """(contexts, next characters) for the train, val and test words."""

    train: Examples
    val: Examples
    test: Examples

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(getattr(self, k)[1])}" for k in ("train", "val", "test"))
        return f"NamesSplit({sizes})"


@dataclass(frozen=True)
class Names:
    """The words of a names file and their character vocabulary: itos[0] is ".", the rest
    sorted; stoi maps each character back to its index."""

    words: tuple[str, ...]
    source: str
    itos: tuple[str, ...] = field(init=False)
    stoi: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self):
        for word in self.words:
            if not word or BOUNDARY in word:
                raise ValueError(
                    f"names must be non-empty and free of the boundary token {BOUNDARY!r}, "
                    f"got {word!r}"
                )
        itos = (BOUNDARY, *sorted(set("".join(self.words))))
        object.__setattr__(self, "itos", itos)
        object.__setattr__(self, "stoi", {ch: i for i, ch in enumerate(itos)})

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> np.ndarray:
        unknown = sorted(set(text) - self.stoi.keys())
        if unknown:
            raise ValueError(f"characters {unknown} are not in the vocabulary {''.join(self.itos)}")
        return np.array([self.stoi[ch] for ch in text], dtype=np.int64)

    def decode(self, indices) -> str:
        return "".join(self.itos[int(i)] for i in indices)

    def examples(self, block_size: int, words=None) -> Examples:
        """Every (previous block_size characters, next character) pair of the words, the
        context padded with "." at the start and each word followed by "." as its end."""
        if block_size < 1:
            raise ValueError(f"block_size must be >= 1, got {block_size}")
        contexts, targets = [], []
        for word in self.words if words is None else words:
            context = [0] * block_size
            for index in [*self.encode(word).tolist(), 0]:
                contexts.append(context)
                targets.append(index)
                context = context[1:] + [index]
        x = np.array(contexts, dtype=np.int64).reshape(-1, block_size)
        return x, np.array(targets, dtype=np.int64)

    def split(self, block_size: int, seed: int = 42) -> NamesSplit:
        """The words shuffled by seed, then 80% train, 10% val, 10% test, as examples."""
        order = np.random.default_rng(seed).permutation(len(self.words))
        shuffled = [self.words[i] for i in order]
        first = int(SPLIT_FRACTIONS[0] * len(shuffled))
        second = int((SPLIT_FRACTIONS[0] + SPLIT_FRACTIONS[1]) * len(shuffled))
        parts = shuffled[:first], shuffled[first:second], shuffled[second:]
        return NamesSplit(*(self.examples(block_size, part) for part in parts))

    def __repr__(self) -> str:
        return (
            f"Names({len(self.words)} words, vocab={''.join(self.itos)!r}, source={self.source!r})"
        )


def load_names(path: str | os.PathLike | None = None) -> Names:
    """The names in a file, one a line (blank lines skipped, whitespace stripped).

    Without a path: the 1,002-name sample shipped in the package, with a SampleDataWarning;
    the full file of 32,033 names is makemore's names.txt (this project keeps a copy in
    ../shared/data/names/names.txt).
    """
    if path is None:
        warnings.warn(
            f"load_names() without a path reads the embedded sample ({NAMES_SAMPLE_PATH.name}, "
            "every 32nd of makemore's 32,033 names); pass the path of names.txt for all",
            SampleDataWarning,
            stacklevel=2,
        )
        path = NAMES_SAMPLE_PATH
    text = read_text(path, "names, one a line, as in makemore's names.txt")
    words = tuple(line.strip() for line in text.splitlines() if line.strip())
    if not words:
        raise ValueError(f"{path} holds no names (expected one name a line)")
    return Names(words, os.path.abspath(path))
