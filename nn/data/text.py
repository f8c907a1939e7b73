"""Text for character-level language models ("Let's build GPT"): a UTF-8 file read, its sorted
character vocabulary, encode/decode, the lecture's split (first 90% train, last 10% val) and
random (context, next characters) batches. Knows nothing of models.

TEXT_SAMPLE_PATH is shipped with the package: the first 1,000 lines (26,182 characters, 58
distinct) of tinyshakespeare's input.txt from karpathy/char-rnn (Shakespeare's plays, in the
public domain), for use without the full file.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .files import read_text
from .mnist import SampleDataWarning

TEXT_SAMPLE_PATH = Path(__file__).with_name("tinyshakespeare_sample.txt")
TRAIN_FRACTION = 0.9


class Text:
    """A text and its characters: chars (sorted vocabulary), stoi, itos, encode, decode,
    data (the whole text encoded), train and val (its first 90% and last 10%)."""

    def __init__(self, text: str, source: str = "<string>"):
        if not text:
            raise ValueError(f"{source} holds no text")
        self.text, self.source = text, source
        self.chars = sorted(set(text))
        self.stoi = {ch: i for i, ch in enumerate(self.chars)}
        self.itos = dict(enumerate(self.chars))
        self.data = self.encode(text)
        cut = int(TRAIN_FRACTION * len(self.data))
        self.train, self.val = self.data[:cut], self.data[cut:]

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """The characters' indices, int64."""
        unknown = sorted(set(text) - self.stoi.keys())
        if unknown:
            raise ValueError(f"characters {unknown} are not in the vocabulary of {self.source}")
        return np.array([self.stoi[ch] for ch in text], dtype=np.int64)

    def decode(self, indices) -> str:
        return "".join(self.itos[int(i)] for i in np.asarray(indices).ravel())

    def batch(
        self, split: str, batch_size: int, block_size: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """One batch, as the lecture's get_batch: x (batch_size, block_size) from random
        starts in the split, y the same windows one character later."""
        data = self.split(split)
        if len(data) <= block_size:
            raise ValueError(
                f"the {split} split of {self.source} has {len(data)} characters; block_size "
                f"{block_size} needs more than that"
            )
        starts = rng.integers(0, len(data) - block_size, size=batch_size)
        windows = starts[:, None] + np.arange(block_size)
        return data[windows], data[windows + 1]

    def batches(
        self,
        split: str,
        batch_size: int,
        block_size: int,
        rng: int | np.random.Generator | None = None,
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Endless random batches from split ("train" or "val"); rng is a seed or Generator:
        `x, y = next(batches)` each step."""
        generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.split(split)  # a bad split name fails here, not at the first next()
        while True:
            yield self.batch(split, batch_size, block_size, generator)

    def split(self, name: str) -> np.ndarray:
        if name not in ("train", "val"):
            raise ValueError(f'split must be "train" or "val", got {name!r}')
        return self.train if name == "train" else self.val

    def __repr__(self) -> str:
        return (
            f"Text({len(self.data):,} characters, {self.vocab_size} distinct, "
            f"source={self.source!r})"
        )


def load_text(path: str | os.PathLike | None = None) -> Text:
    """The characters of a UTF-8 text file, for "Let's build GPT".

    Without a path: the 26,182-character sample shipped in the package, with a
    SampleDataWarning; the full text is tinyshakespeare's input.txt, 1,115,394 characters
    (this project keeps a copy in ../shared/data/tinyshakespeare/input.txt). A file that is
    empty, binary or not UTF-8 is a ValueError naming it.
    """
    if path is None:
        warnings.warn(
            f"load_text() without a path reads the embedded sample ({TEXT_SAMPLE_PATH.name}, "
            "the first 1,000 lines of tinyshakespeare); pass the path of input.txt for all "
            "1,115,394 characters",
            SampleDataWarning,
            stacklevel=2,
        )
        path = TEXT_SAMPLE_PATH
    path = Path(path).expanduser()
    text = read_text(path, "text, as tinyshakespeare's input.txt")
    return Text(text, os.path.abspath(path))
