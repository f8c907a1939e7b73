"""Where load_mnist looks: Nielsen's mnist.pkl.gz recognised in every folder it searches, a
mistyped data_dir or $MNIST_DIR refused, and a sample warning that says what to do."""

import re

import numpy as np
import pytest

from nn.data import SampleDataWarning, load_mnist, save_nielsen_pickle


@pytest.fixture(autouse=True)
def isolated_lookup(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


def his_pickle(folder, sizes=(5, 2, 3)):
    """A file in mnist.pkl.gz's layout; each split's pixels hold distinct values."""
    folder.mkdir(parents=True, exist_ok=True)
    splits = [
        (np.full((n, 784), (i + 1) / 8, np.float32), np.arange(n) % 10) for i, n in enumerate(sizes)
    ]
    return save_nielsen_pickle(folder / "mnist.pkl.gz", *splits), splits


@pytest.mark.parametrize("where", ["data_dir", "the file itself", "$MNIST_DIR", "the cache"])
def test_nielsens_pickle_is_found_wherever_mnist_is_looked_up(tmp_path, monkeypatch, where):
    folder = {"$MNIST_DIR": tmp_path / "env", "the cache": tmp_path / "xdg-cache/autodiff-nn/mnist"}
    path, splits = his_pickle(folder.get(where, tmp_path / "his"))
    if where == "$MNIST_DIR":
        monkeypatch.setenv("MNIST_DIR", str(path.parent))
    data_dir = {"data_dir": path.parent, "the file itself": path}.get(where)
    mnist = load_mnist(data_dir, download=False, fallback=False, split="nielsen")
    assert mnist.source == str(path)
    for (images, labels), (expected_images, expected_labels) in zip(
        (mnist.train, mnist.validation, mnist.test), splits
    ):
        assert images.dtype == np.float64
        np.testing.assert_array_equal(images, expected_images)
        np.testing.assert_array_equal(labels, expected_labels)


def test_standard_split_joins_his_validation_back_onto_training(tmp_path):
    path, splits = his_pickle(tmp_path, sizes=(5, 2, 3))
    mnist = load_mnist(tmp_path, download=False, dtype=np.float32)
    assert mnist.validation is None and mnist.train[0].dtype == np.float32
    np.testing.assert_array_equal(mnist.train[0][:, 0], [0.125] * 5 + [0.25] * 2)
    np.testing.assert_array_equal(mnist.train[1], [0, 1, 2, 3, 4, 0, 1])
    np.testing.assert_array_equal(mnist.test[1], [0, 1, 2])


@pytest.mark.parametrize("name", ["data_dir", "$MNIST_DIR"])
def test_a_mistyped_folder_is_an_error_and_creates_nothing(tmp_path, monkeypatch, name):
    typo = tmp_path / "mnsit"
    if name == "$MNIST_DIR":
        monkeypatch.setenv("MNIST_DIR", str(typo))
    with pytest.raises(
        FileNotFoundError, match=re.escape(f"{name} '{typo}' does not exist (mistyped?)")
    ):
        load_mnist(typo if name == "data_dir" else None, mirrors=["http://127.0.0.1:9/"])
    assert not typo.exists()


def test_a_data_dir_that_is_some_other_file_is_an_error(tmp_path):
    (tmp_path / "notes.txt").write_text("not MNIST")
    with pytest.raises(NotADirectoryError, match="is a file: expected a folder"):
        load_mnist(tmp_path / "notes.txt", download=False)


def test_sample_warning_leads_with_what_to_do_and_lists_every_folder(tmp_path, monkeypatch):
    given, env = tmp_path / "given", tmp_path / "env"
    given.mkdir(), env.mkdir()
    monkeypatch.setenv("MNIST_DIR", str(env))
    with pytest.warns(SampleDataWarning) as caught:
        load_mnist(given, download=False)
    message = str(caught[0].message)
    assert message.startswith("Using the embedded sample of 10,000 MNIST images")
    assert "mnist.pkl.gz" in message and "--data-dir" in message
    cache = tmp_path / "xdg-cache" / "autodiff-nn" / "mnist"
    assert f"Searched: {given}, {env}, {cache}; download=False." in message
