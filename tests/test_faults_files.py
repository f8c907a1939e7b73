"""Fault injection for saved networks: no invalid file is written, no bad file is loaded.

nn.save refuses NaN and inf; nn.load answers every malformed file with a ValueError naming it;
a save killed with SIGKILL at random moments always leaves the previous file loadable, and
the next save removes the temporary file the killed one left behind.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import nn


def saved(tmp_path, **changes) -> Path:
    """A good file for MLP([2, 3, 1]) with some keys replaced."""
    model = nn.MLP([2, 3, 1], seed=0)
    path = tmp_path / "model.json"
    nn.save(model, path)
    document = json.loads(path.read_text()) | changes
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["weight", "bias"])
def test_save_refuses_nan_and_inf_and_keeps_the_old_file(tmp_path, value, where):
    model = nn.MLP([2, 3, 1], seed=0)
    path = tmp_path / "model.json"
    nn.save(model, path)
    before = path.read_bytes()
    getattr(model.layers[1], where).data.flat[0] = value
    with pytest.raises(
        ValueError, match=r"cannot save: layer 3 (weights|biases) hold 1 NaN or inf"
    ):
        nn.save(model, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]


BAD_DOCUMENTS = {
    "null weights": dict(weights=None),
    "null matrix": dict(weights=[None, [[1.0, 2.0, 3.0]]]),
    "ragged weights": dict(weights=[[[1.0, 2.0], [1.0]], [[1.0, 2.0, 3.0]]]),
    "string weights": dict(weights=[[["1", "2"]] * 3, [[1.0, 2.0, 3.0]]]),
    "boolean weights": dict(weights=[[[True, False]] * 3, [[1.0, 2.0, 3.0]]]),
    "string biases": dict(biases=["abc", [[0.0]]]),
    "string sizes": dict(sizes=["2", "3", "1"]),
    "float sizes": dict(sizes=[2.0, 3, 1]),
    "negative sizes": dict(sizes=[2, -3, 1]),
    "sizes a number": dict(sizes=7),
    "wrong layer count": dict(sizes=[2, 3, 3, 1]),
    "unknown activation": dict(activation="swish"),
    "huge integer": dict(biases=[[[10**400]] * 3, [[0.0]]]),
}


@pytest.mark.parametrize("case", BAD_DOCUMENTS)
def test_load_refuses_bad_content_naming_the_file(tmp_path, case):
    path = saved(tmp_path, **BAD_DOCUMENTS[case])
    with pytest.raises(ValueError, match=rf"^{path}"):
        nn.load(path)


BAD_BYTES = {
    "binary garbage": bytes(range(256)) * 4,
    "UTF-16": json.dumps({"sizes": [1, 1], "weights": [[[1]]], "biases": [[[1]]]}).encode("utf-16"),
    "Latin-1": '{"sizes": [1, 1], "name": "réseau"}'.encode("latin-1"),
    "empty": b"",
    "truncated": b'{"sizes": [2, 3, 1], "weights": [[[0.1',
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    "a list": b"[1, 2, 3]",
    "NaN values": b'{"sizes": [1, 1], "weights": [[[NaN]]], "biases": [[[0]]]}',
    "Infinity values": b'{"sizes": [1, 1], "weights": [[[1]]], "biases": [[[-Infinity]]]}',
    "overflowing number": b'{"sizes": [1, 1], "weights": [[[1e999]]], "biases": [[[0]]]}',
    "missing keys": b'{"sizes": [1, 1]}',
}


@pytest.mark.parametrize("case", BAD_BYTES)
def test_load_refuses_bad_bytes_naming_the_file(tmp_path, case):
    path = tmp_path / "model.json"
    path.write_bytes(BAD_BYTES[case])
    with pytest.raises(ValueError, match=rf"^{path}"):
        nn.load(path)


def test_load_reads_a_file_with_a_utf8_byte_order_mark(tmp_path):
    path = saved(tmp_path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert nn.load(path).sizes == [2, 3, 1]


SAVER = """
import os, sys, time
import nn
# A slow disk: the finished temporary file waits 0.2 s before its rename, so that most kills
# land while it exists.
rename = os.replace
os.replace = lambda source, target: (time.sleep(0.2), rename(source, target))
model = nn.MLP([784, 100, 10], seed=0)
print("ready", flush=True)
for step in range(1_000_000):
    model.layers[0].bias.data[0] = step
    nn.save(model, sys.argv[1])
    print("saved", flush=True)
"""


def test_a_save_killed_at_random_moments_leaves_the_previous_file_loadable(tmp_path):
    """SIGKILL a process saving in a loop, 8 times at seeded random moments after its first
    save (so that, however loaded the machine, there is a previous file to keep)."""
    rng = np.random.default_rng(12)
    path = tmp_path / "model.json"
    env = {**os.environ, "PYTHONPATH": str(Path(nn.__file__).parents[1])}
    steps, leftovers = [], 0
    for delay in rng.uniform(0.0, 0.6, size=8):
        saver = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(path)], stdout=subprocess.PIPE, env=env
        )
        assert saver.stdout.readline() == b"ready\n"
        assert saver.stdout.readline() == b"saved\n"
        time.sleep(delay)
        saver.send_signal(signal.SIGKILL)
        saver.wait(10)
        saver.stdout.close()
        leftovers += len(list(tmp_path.glob(".model.json.*.tmp")))
        if path.exists():
            model = nn.load(path)  # never half a file
            steps.append(model.layers[0].bias.data[0])
    assert steps and leftovers, (steps, leftovers)  # saves finished, and kills left files
    nn.save(nn.MLP([2, 1], seed=0), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]  # leftovers gone


def test_a_leftover_of_a_live_process_is_kept(tmp_path):
    path = saved(tmp_path)
    ours = tmp_path / f".model.json.{os.getpid()}.1.tmp"  # this process is running
    ours.write_bytes(b"a save in progress")
    nn.save(nn.MLP([2, 1], seed=0), path)
    assert ours.exists()
