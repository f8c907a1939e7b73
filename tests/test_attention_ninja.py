"""examples/attention_ninja.py: the hand-written single-head backward matches autograd on every
intermediate, and each planted classic mistake fails on its own tensor only, named in words."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location(
    "attention_ninja", ROOT / "examples" / "attention_ninja.py"
)
ninja = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ninja)


@pytest.mark.parametrize("seed", [0, 1])
def test_manual_attention_backward_matches_autograd_everywhere(seed):
    result, named = ninja.compare(seed=seed)
    assert result.ok and not named
    expected = {
        "x",
        "Wk",
        "Wq",
        "Wv",
        "Wout",
        "k",
        "q",
        "v",
        "scores",
        "scaled",
        "masked",
        "wei",
        "out",
        "logits",
    }
    assert {row.name for row in result} == expected
    assert all(row.max_abs_diff < 1e-15 for row in result)


@pytest.mark.parametrize("mistake", sorted(ninja.MISTAKES))
def test_each_planted_mistake_is_named_on_its_tensor(mistake, capsys):
    tensor, words, _ = ninja.MISTAKES[mistake]
    result, named = ninja.compare(mistake)
    assert [row.name for row in result.failures] == [tensor]
    assert named == {tensor: words}
    assert ninja.main(["--mistake", mistake]) == 1
    assert f"d{tensor} is wrong: {words}" in capsys.readouterr().out


def test_recogniser_names_nothing_for_an_unrelated_error():
    p = ninja.parameters(0)
    targets = ninja.np.zeros((ninja.B, ninja.T), dtype=int)
    t = ninja.forward(p, targets)
    manual = ninja.manual_backward(p, t, targets)
    values = {n: x.data for n, x in (p | t).items()}
    assert ninja.recognise("k", manual["k"] * 1.5, manual, values) is None
    assert ninja.recognise("k", manual["scores"] @ values["q"], manual, values) is not None
