"""The README's Nielsen round trip, end to end: the four IDX files -> his mnist.pkl.gz and his
lists (nn.data.save_nielsen_pickle, to_nielsen) -> his code run on them -> his backprop
checked by `python -m nn.verify` -> nn.fit trained on his lists as they are.

"His code" is tests/nielsen_code/{network.py, mnist_loader.py}, written from the book's
description and laid out as in his repository (src/, with data/mnist.pkl.gz beside it). The
IDX files are written here from the first images of the sample shipped in nn/data.
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nn
from nn.data import FILES

HIS_CODE = Path(__file__).resolve().parent / "nielsen_code"
TRAIN, TEST = 6000, 1000  # split="nielsen" keeps 1/6 of the training images for validation


def write_idx(path: Path, array: np.ndarray) -> None:
    """array (uint8) as an IDX file: 0, 0, type 8 (unsigned bytes), rank, sizes, the bytes."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.tobytes())


@pytest.fixture(scope="module")
def his_repository(tmp_path_factory):
    """A folder laid out as his repository: src/ with his two files, data/ (empty), and the
    four IDX files in idx/."""
    root = tmp_path_factory.mktemp("nielsen")
    with np.load(nn.data.SAMPLE_PATH) as sample:
        arrays = {role: sample[role] for role in FILES}
    (root / "idx").mkdir()
    for role, name in FILES.items():
        count = TRAIN if role.startswith("train") else TEST
        write_idx(root / "idx" / name, arrays[role][:count])
    (root / "src").mkdir()
    (root / "data").mkdir()
    for name in ("network.py", "mnist_loader.py"):
        shutil.copy(HIS_CODE / name, root / "src" / name)
    return root


@pytest.fixture(scope="module")
def made(his_repository):
    """The README's first step: his mnist.pkl.gz and his lists from the IDX files."""
    mnist = nn.data.load_mnist(his_repository / "idx", download=False, split="nielsen")
    pickle = his_repository / "data" / "mnist.pkl.gz"
    nn.data.save_nielsen_pickle(pickle, mnist.train, mnist.validation, mnist.test)
    training_data = nn.data.to_nielsen(*mnist.train)
    test_data = nn.data.to_nielsen(*mnist.test, one_hot=False)
    return mnist, pickle, training_data, test_data


def his(module: str, folder: Path):
    spec = importlib.util.spec_from_file_location(f"his_{module}", folder / f"{module}.py")
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def run_in(folder: Path, *args, timeout=120):
    env = {**os.environ, "PYTHONPATH": str(Path(nn.__file__).resolve().parents[1])}
    return subprocess.run(
        [sys.executable, *args], cwd=folder, env=env, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def test_the_idx_files_give_his_three_splits(made, his_repository):
    mnist, pickle, training_data, test_data = made
    assert mnist.source == str(his_repository / "idx")
    parts = (mnist.train, mnist.validation, mnist.test)
    assert [len(part[0]) for part in parts] == [5000, 1000, 1000]
    training, validation, test = nn.data.load_nielsen_pickle(pickle)
    assert training[0].dtype == np.float32 and training[1].dtype == np.int64
    np.testing.assert_array_equal(validation[1], mnist.validation[1])
    np.testing.assert_allclose(test[0], mnist.test[0], atol=1e-7)
    assert nn.data.load_mnist(pickle, split="nielsen").train[0].shape == (5000, 784)


def test_his_loader_reads_the_pickle_as_our_lists(made, his_repository, monkeypatch):
    _, _, training_data, test_data = made
    monkeypatch.chdir(his_repository / "src")  # his loader opens ../data/mnist.pkl.gz
    training, _, test = (list(part) for part in his("mnist_loader", his_repository / "src")
                         .load_data_wrapper())  # fmt: skip
    assert len(training) == len(training_data) == 5000 and len(test) == len(test_data) == 1000
    for (x, y), (our_x, our_y) in zip(training, training_data):
        assert x.shape == our_x.shape == (784, 1) and y.shape == our_y.shape == (10, 1)
        np.testing.assert_allclose(x, our_x, atol=1e-7)
        np.testing.assert_array_equal(y, our_y)
    assert [int(y) for _, y in test] == [y for _, y in test_data]
    images, labels = nn.data.from_nielsen(training)
    np.testing.assert_array_equal(labels, made[0].train[1])


def test_his_code_runs_on_the_pickle_and_nn_verify_passes_his_backprop(made, his_repository):
    src = his_repository / "src"
    done = run_in(src, "-c", (
        "import numpy, random; numpy.random.seed(0); random.seed(0)\n"
        "import mnist_loader, network\n"
        "tr, va, te = mnist_loader.load_data_wrapper()\n"
        "network.Network([784, 30, 10]).SGD(list(tr), 2, 10, 3.0, test_data=list(te))"
    ))  # fmt: skip
    assert done.returncode == 0, done.stderr
    correct = [int(n) for n in re.findall(r"Epoch \d: (\d+) / 1000", done.stdout)]
    assert len(correct) == 2 and correct[-1] > 500, done.stdout  # chance: 100 of 1000

    checked = run_in(src, "-m", "nn.verify", "network.py:Network", "--sizes", "784,30,10")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "check_backprop: OK" in checked.stdout and "BP1-BP4 look right" in checked.stdout


def test_nn_fit_trains_on_his_lists_as_they_are(made, tmp_path):
    _, _, training_data, test_data = made
    model = nn.MLP([784, 30, 10], init="large", seed=0)
    optimizer = nn.SGD(model.parameters(), lr=3.0)
    history = nn.fit(model, nn.mse_loss, optimizer, training_data, epochs=2, batch_size=10,
                     evaluation=test_data, seed=0, progress=False)  # fmt: skip
    assert history.evaluation_accuracy[-1] > 0.5, history.evaluation_accuracy
    nn.save(model, tmp_path / "model.json")
    again = nn.load(tmp_path / "model.json")
    x = nn.data.from_nielsen(test_data)[0][:5]
    np.testing.assert_allclose(again(x).data, model(x).data)
