"""nn.check_conv_backprop and nn.check_pool_backprop on a learner's loop implementation
(examples/conv_backprop.py) with one classic mistake planted at a time: each is named in
plain words on the right entry, the right code passes, an exception gives its line."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nn
from nn.backprop import check_conv

PATH = Path(__file__).resolve().parents[1] / "examples" / "conv_backprop.py"
spec = importlib.util.spec_from_file_location("conv_backprop_example", PATH)
learner = importlib.util.module_from_spec(spec)
spec.loader.exec_module(learner)

RNG = np.random.default_rng(0)
X, W = RNG.normal(size=(4, 3, 8, 8)), RNG.normal(size=(3, 3, 3, 3))
POOLED = np.round(RNG.normal(size=(4, 2, 6, 6)), 1)  # rounded to one decimal: windows tie


def conv(bug, stride=1, padding=0, x=X, w=W):
    backward = lambda x, w, d, s, p: learner.conv_backward(x, w, d, s, p, bug)  # noqa: E731
    return nn.check_conv_backprop(backward, x, w, stride=stride, padding=padding)


def pool(bug, size=3, stride=2):
    backward = lambda x, d, k, s: learner.pool_backward(x, d, k, s, bug)  # noqa: E731
    return nn.check_pool_backprop(backward, POOLED, size=size, stride=stride)


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), (1, 2), (3, 0)])
def test_the_right_conv_backward_passes(stride, padding):
    result = conv(None, stride, padding)
    assert result.ok, str(result)
    assert "All 3 gradients agree with the oracle" in result.diagnosis[0]
    assert max(row.max_rel for row in result.rows) < 1e-12


@pytest.mark.parametrize("size, stride", [(2, 2), (3, 2), (2, 1)])
def test_the_right_pool_backward_passes(size, stride):
    result = pool(None, size, stride)
    assert result.ok, str(result)


# (bug, entry, verdict, words in the diagnosis)
CONV_BUGS = [
    ("rotation", "grad_x", "kernel not rotated", r"not rotated.*180 degrees"),
    ("valid", "grad_x", "valid instead of full", r"off-by-one output size.*'valid'.*'full'"),
    ("channels", "grad_x", "channels transposed", r"channel axes are not exchanged"),
    ("positions", "grad_bias", "not summed over positions", r"not summed over positions"),
    ("batch", "grad_weight", "the last example only", r"missing sum over the batch.*last"),
    ("kernel_rotated", "grad_weight", "kernel gradient rotated", r"convolution .* correlation"),
]


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1)])
@pytest.mark.parametrize("bug, entry, verdict, words", CONV_BUGS)
def test_each_conv_mistake_is_named_on_its_entry(bug, entry, verdict, words, stride, padding):
    result = conv(bug, stride, padding)
    assert not result.ok
    wrong = {row.name: row.verdict for row in result.rows if not row.ok}
    assert wrong == {entry: verdict}, str(result)
    text = " ".join(result.diagnosis)
    assert text.startswith(entry) and f"({check_conv.EQUATIONS[entry]}," in text
    assert re.search(words, text), text


POOL_BUGS = [
    ("every", "delta to every position", r"every position of its pooling window"),
    ("ties", "every tied maximum", r"several equal maxima, delta goes to each"),
    ("overwrite", "overlaps overwritten", r"= instead of \+=.*adds them up"),
]


@pytest.mark.parametrize("bug, verdict, words", POOL_BUGS)
def test_each_pool_mistake_is_named(bug, verdict, words):
    result = pool(bug)
    assert [row.verdict for row in result.rows] == [verdict], str(result)
    assert re.search(words, " ".join(result.diagnosis))


def test_an_exception_is_reported_with_the_learners_line():
    result = conv("raises")
    assert not result.ok and result.error["kind"] == "exception"
    assert result.error["file"] == str(PATH)
    line = PATH.read_text().splitlines()[result.error["line"] - 1]
    assert "delta.sum(axis=(0, 1))" in line
    assert "conv_backprop.py, line" in str(result) and "ValueError" in str(result)


def test_simulated_mistakes_that_need_more_than_values_are_found():
    # Sign, factor and shape mistakes with no loop bug behind them.
    ok = lambda x, w, d, s, p: learner.conv_backward(x, w, d, s, p)  # noqa: E731
    flipped = lambda *a: tuple(-g for g in ok(*a))  # noqa: E731
    result = nn.check_conv_backprop(flipped, X, W)
    assert {row.verdict for row in result.rows} == {"sign flipped"}
    averaged = lambda *a: (ok(*a)[0], ok(*a)[1] / 4, ok(*a)[2])  # noqa: E731
    result = nn.check_conv_backprop(averaged, X, W)
    assert [row.verdict for row in result.rows if not row.ok] == ["averaged over the batch"]
    per_example = lambda *a: (ok(*a)[0], ok(*a)[1], a[2].sum(axis=(2, 3)))  # noqa: E731
    result = nn.check_conv_backprop(per_example, X, W)
    assert [row.verdict for row in result.rows if not row.ok] == ["one per example"]

    def uncropped(x, w, d, s, p):
        padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        return (learner.conv_backward(padded, w, d, s, 0)[0], *ok(x, w, d, s, p)[1:])

    result = nn.check_conv_backprop(uncropped, X, W, padding=2)
    assert [row.verdict for row in result.rows if not row.ok] == ["padding not cropped"]


def test_a_batch_of_one_and_symmetric_kernels_are_noted():
    symmetric = np.ones((3, 3, 3, 3))
    result = conv(None, x=X[:1], w=symmetric)
    assert result.ok and len(result.notes) == 2
    assert "batch of one" in result.notes[0] and "symmetric" in result.notes[1]


def test_bad_inputs_get_clear_errors():
    with pytest.raises(ValueError, match=r"x must be 4-D.*got shape \(8, 8\).*x\[None, None\]"):
        nn.check_conv_backprop(lambda *a: None, np.ones((8, 8)), W)
    with pytest.raises(ValueError, match=r"weight must be \(out_channels, 3, kh, kw\)"):
        nn.check_conv_backprop(lambda *a: None, X, np.ones((2, 1, 3, 3)))
    with pytest.raises(ValueError, match=r"delta must have the layer's output shape"):
        nn.check_conv_backprop(lambda *a: None, X, W, delta=np.ones((4, 3, 5, 5)))
    result = nn.check_conv_backprop(lambda *a: a[0], X, W)
    assert "must return (grad_x, grad_w, grad_b), got ndarray" in result.diagnosis[0]


@pytest.mark.parametrize("layer, numbers", [("conv", [3, 3, 3, 2, 1]), ("pool", [2])])
def test_command_line_check_builds_random_layers(layer, numbers):
    if layer == "conv":
        backward = lambda x, w, d, s, p: learner.conv_backward(x, w, d, s, p)  # noqa: E731
    else:
        backward = learner.pool_backward
    result = check_conv.command_line_check(backward, layer, numbers, examples=3, seed=1)
    assert result.ok, str(result)
    assert result.settings["x"][0] == 3


def run_verify(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nn.verify", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(PATH.parents[1])},
    )


LEARNERS = """
import sys
import numpy as np

def zeros(x, w, delta, stride, padding):
    return np.zeros_like(x), np.zeros_like(w), np.zeros(len(w))

def exits(x, w, delta, stride, padding):
    sys.exit(0)
"""


def test_the_command_checks_one_conv_or_pool_layer(tmp_path):
    example = str(PATH)
    done = run_verify(f"{example}:conv_backward", "--conv", "2,3,3,1,1", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "check_conv_backprop: OK" in done.stdout and "grad_bias" in done.stdout
    done = run_verify(f"{example}:pool_backward", "--pool", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    (tmp_path / "mine.py").write_text(LEARNERS)
    done = run_verify("mine.py:zeros", "--conv", "2,3,3", cwd=tmp_path)
    assert done.returncode == 1 and "grad_weight" in done.stdout
    done = run_verify("mine.py:exits", "--conv", "2,3,3", cwd=tmp_path)
    assert done.returncode == 1 and "NOT VERIFIED" in done.stdout and "sys.exit(0)" in done.stdout
    done = run_verify("mine.py:zeros", cwd=tmp_path)
    assert done.returncode == 2 and "--sizes --conv --pool is required" in done.stderr
    done = run_verify("mine.py:zeros", "--conv", "2,x", cwd=tmp_path)
    assert done.returncode == 2 and "comma-separated whole numbers" in done.stderr
