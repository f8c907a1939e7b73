"""Fault injection for Ctrl+C: examples/mnist.py interrupted at seeded random moments, and twice
around its final save; fit's checkpoint and evaluation data checked before the first epoch.

Each run trains on the embedded sample (MNIST_DIR and the cache point at empty folders) for
a few seconds at most, so the loops are bounded in count and time.
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import nn

ROOT = Path(__file__).resolve().parents[1]


def start(tmp_path, *options):
    (tmp_path / "no-mnist").mkdir(exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "MNIST_DIR": str(tmp_path / "no-mnist"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    command = [sys.executable, str(ROOT / "examples" / "mnist.py"), "--no-download", *options]
    # stderr to a file: the progress bars would fill a pipe nobody reads while stdout is read.
    errors = open(tmp_path / "stderr.txt", "w+")  # noqa: SIM115 (closed by finish)
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True, env=env)
    child.errors = errors
    return child


def finish(child) -> tuple[str, str]:
    """Wait (at most 60 s) for the child; its stdout and stderr."""
    out = child.communicate(timeout=60)[0]
    child.errors.seek(0)
    err = child.errors.read()
    child.errors.close()
    return out, err


def test_ctrl_c_at_random_moments_never_gives_a_traceback_or_a_broken_file(tmp_path):
    # From 0.15 s on: before that, the interpreter itself is starting, which no script
    # can guard; the libraries' import, data loading, training and saving follow.
    rng = np.random.default_rng(7)
    outcomes = []
    for run, delay in enumerate(rng.uniform(0.15, 2.5, size=6)):
        model = tmp_path / f"model{run}.json"
        child = start(tmp_path, "--epochs", "3", "--quiet", "--save", str(model))
        time.sleep(delay)
        child.send_signal(signal.SIGINT)
        out, err = finish(child)
        if "Traceback" in err:
            # Only the interpreter's own start-up, before the script's first line, may give
            # one (a loaded machine can take longer than 0.15 s to get there).
            assert "mnist.py" not in err and child.returncode != 0, err
            outcomes.append("interpreter start-up")
        elif "Interrupted" in err:  # before training: one line, nothing saved
            lines = [line for line in err.splitlines() if "SampleDataWarning" not in line]
            assert child.returncode == 130 and not model.exists(), (delay, out, err)
            assert lines[-1] in (
                "Interrupted before training: nothing was trained.",
                "Interrupted while starting up.",
            ), err
            outcomes.append("before training")
        else:  # during or after training: the model is saved whole
            # -SIGINT: the Ctrl+C came after the script's end, as the interpreter shut down
            # with Python's default handler back; the model was saved, nothing printed.
            ended = (0, 130, -signal.SIGINT)
            assert child.returncode in ended and f"Saved to {model}" in out, (delay, out, err)
            assert nn.load(model).sizes == [784, 30, 10]
            outcomes.append("saved")
    assert len(outcomes) == 6  # which ones depends on the load; the next test saves surely


def test_a_second_ctrl_c_during_the_final_save_waits_for_the_save(tmp_path):
    model = tmp_path / "model.json"
    child = start(tmp_path, "--epochs", "5", "--save", str(model))
    seen = []
    for line in child.stdout:
        seen.append(line)
        if line.startswith("Epoch 1 "):
            child.send_signal(signal.SIGINT)  # stops training after this mini-batch
        if line.startswith("Best "):
            child.send_signal(signal.SIGINT)  # right before the save
            break
    out, err = finish(child)
    out = "".join(seen) + out
    assert child.returncode == 130 and "Traceback" not in err
    assert "Stopped at Ctrl+C, after saving." in err
    assert f"Saved to {model}" in out
    assert nn.load(model).sizes == [784, 30, 10]
    assert re.search(r"Interrupted in epoch [12]:", out)  # the first Ctrl+C stopped training


def test_fit_checks_the_checkpoint_path_before_the_first_epoch(tmp_path):
    model, calls = nn.MLP([2, 2], seed=0), []
    x, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])

    class CountingSGD(nn.SGD):
        def step(self):
            calls.append(1)
            super().step()

    optimizer = CountingSGD(model.parameters(), lr=0.1)
    missing = tmp_path / "no-such-folder" / "model.json"
    with pytest.raises(FileNotFoundError, match=rf"checkpoint='{missing}' cannot be written"):
        nn.fit(model, nn.mse_loss, optimizer, (x, y), 1, 2, checkpoint=missing, progress=False)
    with pytest.raises(IsADirectoryError, match="is a folder"):
        nn.fit(model, nn.mse_loss, optimizer, (x, y), 1, 2, checkpoint=tmp_path, progress=False)
    assert calls == [] and list(tmp_path.iterdir()) == []


def test_empty_evaluation_data_is_refused_before_the_first_epoch():
    model = nn.MLP([2, 2], seed=0)
    optimizer = nn.SGD(model.parameters(), lr=0.1)
    x, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    empty = (np.zeros((0, 2)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match=r"fit: evaluation: no examples \(x has shape \(0, 2\)"):
        nn.fit(model, nn.mse_loss, optimizer, (x, y), 1, 2, evaluation=empty, progress=False)
    with pytest.raises(ValueError, match=r"fit: train: no examples"):
        nn.fit(model, nn.mse_loss, optimizer, empty, 1, 2, progress=False)
    with pytest.raises(ValueError, match=r"evaluate: no examples"):
        nn.evaluate(model, nn.mse_loss, *empty)


def test_complex_data_is_refused_by_fit_and_evaluate():
    model = nn.MLP([2, 2], seed=0)
    optimizer = nn.SGD(model.parameters(), lr=0.1)
    x, y = np.zeros((4, 2), dtype=complex), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"fit: train: expected real numbers, got complex"):
        nn.fit(model, nn.mse_loss, optimizer, (x, y), 1, 2, progress=False)
    with pytest.raises(ValueError, match=r"evaluate: expected real numbers, got complex"):
        nn.evaluate(model, nn.mse_loss, x, y)
