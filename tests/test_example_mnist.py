"""examples/mnist.py as a new user meets it on the embedded sample: a note instead of a
warning echo, the accuracy to expect there, --quiet hiding the bars only, a mistyped
--data-dir refused."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "mnist.py"


@pytest.fixture
def example(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    spec = importlib.util.spec_from_file_location("mnist_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_on_the_sample_it_says_what_to_expect_and_why(example, capfd):
    assert example.main(["--no-download", "--epochs", "1", "--quiet", "--sizes", "784,10,10"]) == 0
    out, err = capfd.readouterr()
    assert out.startswith("Note: Using the embedded sample of 10,000 MNIST images")
    assert "the ch1 recipe reaches about 88%" in out and "6,667 images instead of 50,000" in out
    # No "path:line: SampleDataWarning" echo, and --quiet keeps the line per epoch.
    assert "Warning" not in out + err and "mnist.py:" not in out + err
    assert "Epoch 1 (" in out and "ex/s" not in err


def test_without_quiet_there_are_bars(example, capfd):
    example.main(["--no-download", "--epochs", "1", "--sizes", "784,10,10"])
    out, err = capfd.readouterr()
    assert "ex/s" in err and "Epoch 1 (" in out + err


def test_a_mistyped_data_dir_is_one_line_and_no_training(example, tmp_path, capfd):
    with pytest.raises(SystemExit, match=r"^mnist.py: data_dir '.*mnsit' does not exist"):
        example.main(["--data-dir", str(tmp_path / "mnsit")])
    assert not (tmp_path / "mnsit").exists()
