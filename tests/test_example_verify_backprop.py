"""examples/verify_backprop.py --bug takes short names (and still the full descriptions)."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "verify_backprop.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("verify_backprop_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("given", ["transposed", "transposed nabla_w"])
def test_bug_by_short_name_or_description_plants_that_bug(example, capsys, given):
    example.main(["--bug", given])
    out = capsys.readouterr().out
    assert out.count("===== planted bug:") == 1 and "planted bug: transposed nabla_w" in out
    assert "NOT OK" in out and "transposed" in out.split("=====", 2)[2]


def test_every_short_name_is_one_word_and_an_unknown_one_lists_them(example, capsys):
    assert all(" " not in name and len(name) <= 15 for name in example.BUGS)
    with pytest.raises(SystemExit):
        example.main(["--bug", "transpose"])
    err = capsys.readouterr().err
    assert "unknown bug 'transpose': choose one of " + ", ".join(example.BUGS) in err


def test_the_summed_bias_bug_is_named_a_bp3_mistake(example, capsys):
    example.main(["--bug", "bias-summed"])
    out = " ".join(capsys.readouterr().out.split())
    assert "planted bug: bias summed to a number" in out
    assert "a bias gradient summed to a single number" in out and "BP3 says" in out
