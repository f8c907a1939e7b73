"""nn.data.nielsen: mnist.pkl.gz's layout read back exactly, and every other pickle refused
before any of its code runs."""

import gzip
import pickle

import numpy as np
import pytest

from nn.data.nielsen import load_nielsen_pickle, save_nielsen_pickle


def splits(rng, sizes=(6, 3, 2)):
    return [
        (rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n, dtype=np.int64))
        for n in sizes
    ]


def test_round_trip_keeps_arrays_dtypes_and_order(tmp_path):
    written = splits(np.random.default_rng(0))
    path = save_nielsen_pickle(tmp_path / "mnist.pkl.gz", *written)
    read = load_nielsen_pickle(path)
    assert len(read) == 3
    for (images, labels), (expected_images, expected_labels) in zip(read, written):
        assert images.dtype == np.float32 and labels.dtype == np.int64
        np.testing.assert_array_equal(images, expected_images)
        np.testing.assert_array_equal(labels, expected_labels)
    assert [p.name for p in tmp_path.iterdir()] == ["mnist.pkl.gz"]


class Planted:
    """Unpickling this would create a file: proof that the pickle's code ran."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (str(self.target), "w"))


def test_a_tampered_pickle_is_refused_before_its_code_runs(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb") as file:
        pickle.dump(((Planted(marker), np.zeros(1)), (), ()), file, protocol=2)
    with pytest.raises(ValueError, match=r"mnist\.pkl\.gz: refused.* asks for io\.open"):
        load_nielsen_pickle(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not gzip at all", "not gzip-compressed"),
        (gzip.compress(b"gzip but not a pickle"), "not a readable"),
        (gzip.compress(pickle.dumps([1, 2])), "expected three"),
        (gzip.compress(pickle.dumps((np.zeros((2, 784)), 0, 0))), "training data: expected an"),
        (gzip.compress(pickle.dumps(((np.zeros((2, 5)), np.zeros(2, int)),) * 3)), r"\(n, 784\)"),
        (gzip.compress(pickle.dumps(((np.zeros((2, 784)), np.full(2, 12)),) * 3)), "digits 0-9"),
    ],
)
def test_other_files_raise_value_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as caught:
        load_nielsen_pickle(path)
    assert str(path) in str(caught.value)


def test_save_refuses_the_wrong_layout_and_leaves_no_file(tmp_path):
    good = splits(np.random.default_rng(1))
    with pytest.raises(ValueError, match=r"test images: expected floats of shape \(n, 784\)"):
        save_nielsen_pickle(tmp_path / "mnist.pkl.gz", good[0], good[1], (np.zeros((2, 3)), [0, 1]))
    assert list(tmp_path.iterdir()) == []
