"""nn.data.load_names and the (context, next character) datasets, on names small enough to
write the expected examples by hand, on the sample shipped in the package, and on the full file."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import nn
from nn.data import NAMES_SAMPLE_PATH, Names, load_names

SHARED_NAMES = Path(__file__).resolve().parents[2] / "shared" / "data" / "names" / "names.txt"


def test_vocabulary_puts_the_boundary_token_first_then_sorted_characters():
    names = Names(("emma", "ava"), "test")
    assert names.itos == (".", "a", "e", "m", "v")
    assert names.stoi == {".": 0, "a": 1, "e": 2, "m": 3, "v": 4}
    assert names.vocab_size == 5
    assert names.decode(names.encode("mave")) == "mave"


def test_examples_pad_the_context_with_dots_and_end_each_word_with_one():
    names = Names(("emma", "ava"), "test")
    x, y = names.examples(block_size=3)
    # Written out by hand: ... -> e, ..e -> m, .em -> m, emm -> a, mma -> ., then ava.
    expected_x = [[0, 0, 0], [0, 0, 2], [0, 2, 3], [2, 3, 3], [3, 3, 1],
                  [0, 0, 0], [0, 0, 1], [0, 1, 4], [1, 4, 1]]  # fmt: skip
    assert x.tolist() == expected_x
    assert y.tolist() == [2, 3, 3, 1, 0, 1, 4, 1, 0]
    x1, y1 = names.examples(block_size=1)
    assert x1.ravel().tolist() == [0, 2, 3, 3, 1, 0, 1, 4, 1]
    assert y1.tolist() == y.tolist()
    assert names.examples(8)[0].shape == (9, 8)


def test_split_is_80_10_10_by_words_and_seeded():
    words = tuple(f"name{chr(97 + i)}" for i in range(20))
    names = Names(words, "test")
    split = names.split(block_size=2, seed=1)
    # Each word "nameX" gives 6 examples; 16 / 2 / 2 words.
    assert [len(part[1]) for part in (split.train, split.val, split.test)] == [96, 12, 12]
    last_chars = {
        part: {names.itos[x[-1]] for x, t in zip(*getattr(split, part)) if t == 0}
        for part in ("train", "val", "test")
    }
    assert set().union(*last_chars.values()) == {chr(97 + i) for i in range(20)}
    assert sum(len(chars) for chars in last_chars.values()) == 20  # disjoint
    again = names.split(block_size=2, seed=1)
    assert np.array_equal(again.val[0], split.val[0])
    others = [names.split(block_size=2, seed=s).val[0] for s in range(2, 6)]
    assert any(not np.array_equal(o, split.val[0]) for o in others)


def test_load_names_reads_one_name_a_line(tmp_path):
    path = tmp_path / "few.txt"
    path.write_text("  emma\n\nava\nbob  \n")
    names = load_names(path)
    assert names.words == ("emma", "ava", "bob")
    assert names.source == str(path)
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(ValueError, match="no names"):
        load_names(tmp_path / "empty.txt")
    (tmp_path / "dotted.txt").write_text("ann.marie\n")
    with pytest.raises(ValueError, match=r"boundary token '\.'.*'ann\.marie'"):
        load_names(tmp_path / "dotted.txt")
    with pytest.raises(ValueError, match=r"not in the vocabulary"):
        names.encode("zed")


def test_load_names_without_a_path_is_the_shipped_sample_and_says_so():
    with pytest.warns(nn.data.SampleDataWarning, match="embedded sample"):
        names = load_names()
    assert len(names.words) == 1002 and names.vocab_size == 27
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_names(NAMES_SAMPLE_PATH).words == names.words


@pytest.mark.skipif(not SHARED_NAMES.exists(), reason=f"{SHARED_NAMES} is not present")
def test_the_full_names_file_has_32033_names_and_the_makemore_vocabulary():
    names = load_names(SHARED_NAMES)
    assert len(names.words) == 32033
    assert "".join(names.itos) == ".abcdefghijklmnopqrstuvwxyz"
    split = names.split(3)
    total = sum(len(w) + 1 for w in names.words)  # one example per character and the end
    assert sum(len(part[1]) for part in (split.train, split.val, split.test)) == total
