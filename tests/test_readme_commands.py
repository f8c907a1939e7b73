"""Every command the README prints works as printed, in a fresh shell, from a fresh clone.

The README's commands (each line of its ```sh blocks, and inline `python ...`, `make ...`,
`pip ...` spans) are classified in COMMANDS: run as printed; run with shorter settings where
the printed one trains for minutes or more (Instead); checked as a dry run where it installs
(`make -n`); or left to another test, or not run, with the reason. A command that COMMANDS
does not know fails test_every_readme_command_is_classified: classify it when you add it.
The Quickstart's Python block and the Nielsen round trip's blocks run as printed too.

The fresh clone: this checkout's files as `git clone` would give them (uncommitted work
included) in a temporary folder with no ../shared beside it; a .venv made there whose only
way to the dependencies is this interpreter's site-packages (what `make setup` would install),
so that `import nn` finds the copy; HOME in a temporary folder (no MNIST cache), no
$MNIST_DIR, and a proxy that refuses every connection (no download: the examples fall back to
the samples in nn/data, as offline). Each command runs as `bash -c '. .venv/bin/activate &&
COMMAND'`, with stderr merged into stdout as a terminal shows them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
HIS_CODE = Path(__file__).resolve().parent / "nielsen_code"
INLINE = re.compile(r"(python3? |make |\. \.venv|pip |\.venv/bin/|jupyter |apt-get |cd )")


@dataclass(frozen=True)
class Run:
    """Run as printed (activate=False: in a shell without `. .venv/bin/activate`)."""

    expect_in_output: tuple[str, ...] = ()
    folder: str = "."
    activate: bool = True
    returncode: int = 0


@dataclass(frozen=True)
class Instead:
    """Run this shorter command: the printed one trains for minutes or more."""

    command: str
    expect_in_output: tuple[str, ...] = ()
    activate: bool = True
    returncode: int = 0


@dataclass(frozen=True)
class Dry:
    """`make -n -B TARGET` must show these recipe lines: the target installs packages."""

    target: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class NotRun:
    """Not run here, for the reason given (another test runs it, or it only installs)."""

    reason: str


BENCHMARK = NotRun("a benchmark (minutes to hours); its figures are in benchmarks/RESULTS.md")
SUITE = NotRun("the test suite itself")
NETWORK = NotRun("installs from the network, which tests never use; make setup does the same")
ROUND_TRIP = NotRun("test_the_nielsen_round_trip_runs_as_printed runs this block")
SAMPLE_NOTE = "Note: Using the embedded sample of 10,000 MNIST images"

COMMANDS = {
    # Start here
    "make setup": Dry("setup", ("-m venv .venv", "pip install -q -e '.[test]'")),
    ". .venv/bin/activate": NotRun("every command here runs after it"),
    ".venv/bin/python": Instead('.venv/bin/python -c "import nn, autodiff"', activate=False),
    "python examples/mnist.py --epochs 3": Run(
        (SAMPLE_NOTE, "MNIST from embedded sample", "A short run of 3 epochs", "Best test")
    ),
    "make notebook": Dry(
        "notebook", ("pip install -q -e '.[notebook]'", "jupyter notebook examples/notebooks")
    ),
    "make notebook ARGS=--no-browser": Dry(
        "notebook ARGS=--no-browser", ("jupyter notebook examples/notebooks", "--no-browser")
    ),
    "python examples/verify_backprop.py --bug transposed": Run(("planted bug: transposed",)),
    "python examples/makemore.py --model mlp --steps 3000": Run(
        ("Note: ", "names_sample.txt", "Expect a val loss of about", "val loss")
    ),
    "python examples/chapter6.py basic_conv --epochs 1 --train-size 2000": Run(
        (SAMPLE_NOTE, "2,000 training images", "A short run:", "basic_conv: test accuracy")
    ),
    # Is backprop right?
    "python -m nn.verify network.py:Network --sizes 2,3,2": Run(
        ("check_backprop: OK",), folder="his/src"
    ),
    "python -m nn.verify": NotRun("the name of the command shown in full above"),
    "python examples/verify_backprop.py": Run(("planted bug: bias summed to a number",)),
    # Nielsen's own code and files, end to end
    "cd neural-networks-and-deep-learning/src": ROUND_TRIP,
    'python -c "import mnist_loader, network; tr, va, te = mnist_loader.load_data_wrapper(); '
    'network.Network([784, 30, 10]).SGD(list(tr), 1, 10, 3.0, test_data=list(te))"': ROUND_TRIP,
    "python -m nn.verify network.py:Network --sizes 784,30,10": ROUND_TRIP,
    # makemore
    "python examples/makemore.py --model mlp-bn": Run(("Expect a val loss", "3,000 SGD steps")),
    "python examples/makemore.py --model mlp": Run(("3,000 SGD steps",)),
    "python examples/makemore.py --model wavenet": Instead(
        "python examples/makemore.py --model wavenet --steps 100", ("Expect a val loss",)
    ),
    "python examples/makemore.py --model wavenet --steps 200 --data nn/data/names_sample.txt": (
        Run(("200 SGD steps",))
    ),
    "python examples/backprop_ninja.py": Run(("Note: ", "names from")),
    "python examples/backprop_ninja.py --mistake transposed": Run(
        ("planted in dW2", "transposed"),
        returncode=1,  # exit 1: a gradient differs
    ),
    "python benchmarks/makemore.py --seeds 0 1": BENCHMARK,
    # Let's build GPT
    "python examples/gpt.py --stage bigram": Instead(
        "python examples/gpt.py --stage bigram --steps 200", ("bigram (", "val loss")
    ),
    "python examples/gpt.py --stage layernorm": Instead(
        "python examples/gpt.py --stage layernorm --steps 30", ("layernorm (", "val loss")
    ),
    "python examples/gpt.py --stage layernorm --dropout 0.2 --seed 1": Instead(
        "python examples/gpt.py --stage layernorm --dropout 0.2 --seed 1 --steps 30",
        ("seed 1", "val loss"),
    ),
    "python examples/gpt.py --scaled": NotRun("gpt.py's 10.8M-parameter model: hours of CPU"),
    "python examples/makemore_transformer.py": Instead(
        "python examples/makemore_transformer.py --steps 20", ("transformer (", "test loss")
    ),
    "python examples/makemore_transformer.py --steps 10000 --seed SEED": NotRun(
        "the README's measured runs, about 35 minutes each"
    ),
    "python examples/attention_ninja.py": Run(("14 gradients: all exact or close",)),
    "python examples/attention_ninja.py --mistake no-row-sum": Run(
        ("dmasked is wrong: softmax backward without the row sum",),
        returncode=1,  # exit 1: a gradient differs
    ),
    "python examples/gpt_pictures.py docs/gpt-attention.png docs/gpt-block-heads.svg": Run(),
    # conv nets, the digit page, graphs
    "python examples/conv_backprop.py": Run(),
    "python examples/conv_pictures.py --out docs": Instead(
        "python examples/conv_pictures.py --out docs --images 300 --epochs 1",
        (SAMPLE_NOTE, "20 5x5 filters", "pictures in docs/"),
    ),
    "python -m nn.serve --model model.json": NotRun(
        "a server; tests/test_serve.py runs the command and reads its page"
    ),
    "python -m nn.serve": NotRun("the name of the command shown in full above"),
    "python examples/graph.py": Run(("network-2-1-2.svg",)),
    "apt-get install graphviz": NETWORK,
    # results, chapter 6, figures
    "python benchmarks/nielsen_results.py --seeds 0 1 2 3 4": BENCHMARK,
    "python examples/mnist.py --recipe ch3": Instead(
        "python examples/mnist.py --recipe ch3 --epochs 1", ("A short run of 1 epoch",)
    ),
    "python examples/chapter6.py dbl_conv_relu --epochs 2": Instead(
        "python examples/chapter6.py dbl_conv_relu --epochs 1 --train-size 300",
        ("A short run:", "dbl_conv_relu: test accuracy"),
    ),
    "python benchmarks/chapter6.py speed --steps 200 --repeats 3 --clock cpu": BENCHMARK,
    "python benchmarks/chapter6.py accuracy --seeds 0,1,2": BENCHMARK,
    "pip install -e '.[notebook]'": NETWORK,
    "jupyter notebook examples/notebooks": NotRun(
        "opens a server; tests/test_notebooks.py runs every notebook with a real kernel"
    ),
    "python examples/nielsen_figures.py --out docs": Instead(
        "python examples/nielsen_figures.py --out docs --quick --only overfitting",
        (SAMPLE_NOTE, "--quick: tiny runs", "docs/nielsen-overfitting.png"),
    ),
    # speed, setup, development
    "make bench": BENCHMARK,
    "python benchmarks/speed.py --cases mse30 --threads 1 --repeats 5 --clock cpu "
    "--no-per-example --no-chain": BENCHMARK,
    "pip install .[plot]": NETWORK,
    "pip install -e '.[test]'": NETWORK,
    "make train": Instead('make train ARGS="--epochs 1"', ("A short run of 1 epoch",)),
    'make train ARGS="--recipe ch3"': Instead('make train ARGS="--recipe ch3 --epochs 1"'),
    "make test": SUITE,
    "make lint": Run(("All checks passed!",)),
    '.venv/bin/python -m pytest -m "not browser"': SUITE,
    'python -m pytest -m "not browser"': SUITE,
}


def readme_commands() -> list[str]:
    """The README's commands in order, once each: sh-block lines without their comments,
    then inline spans that start like a command."""
    text = README.read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = re.sub(r"\s+#(\s.*)?$", "", line).strip()
            if line:
                commands.append(line)
    commands += [s.strip() for s in re.findall(r"`([^`\n]+)`", text) if INLINE.match(s.strip())]
    return list(dict.fromkeys(commands))


def python_blocks(heading: str) -> list[str]:
    """The ```python blocks of the README section under `## heading`."""
    text = README.read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def sh_blocks(heading: str) -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [
        [re.sub(r"\s+#(\s.*)?$", "", line).strip() for line in block.splitlines() if line.strip()]
        for block in re.findall(r"```sh\n(.*?)```", section, re.S)
    ]


# ---------------------------------------------------------------- the fresh clone


class Fresh:
    """A fresh clone with its .venv, and the commands run in it (each once)."""

    def __init__(self, base: Path):
        self.base = base
        self.clone = base / "clone"
        self.home = base / "home"
        self.home.mkdir()
        self.outputs: dict[tuple[str, str, bool], subprocess.CompletedProcess] = {}
        files = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, check=True,
        ).stdout.decode().split("\0")  # fmt: skip
        for name in filter(None, files):
            if (ROOT / name).is_file():
                (self.clone / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, self.clone / name)
        self._make_venv()
        his = self.clone / "his" / "src"  # a folder holding a network.py, as a learner's
        his.mkdir(parents=True)
        for name in ("network.py", "mnist_loader.py"):
            shutil.copy(HIS_CODE / name, his / name)

    def _make_venv(self) -> None:
        venv = self.clone / ".venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        site = venv / "lib" / version / "site-packages"
        # The copy first; then this interpreter's packages (their .pth files processed too).
        outer = sysconfig.get_paths()["purelib"]
        (site / "00-checkout.pth").write_text(
            f"{self.clone}\nimport site; site.addsitedir({outer!r})\n"
        )
        for tool in ("ruff",):
            found = shutil.which(tool, path=os.path.dirname(sys.executable))
            if found:
                (venv / "bin" / tool).symlink_to(found)
        (venv / "bin" / "activate-stamp").touch()  # as make setup leaves it

    def environment(self) -> dict[str, str]:
        refused = "http://127.0.0.1:9"  # the discard port: nothing listens, every connection fails
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            "HTTP_PROXY": refused,
            "HTTPS_PROXY": refused,
            "http_proxy": refused,
            "https_proxy": refused,
            "MPLBACKEND": "Agg",
            "OPENBLAS_NUM_THREADS": "1",  # speed only, on a machine shared by other jobs
        }

    def run(self, command: str, folder: str = ".", activate: bool = True, timeout: float = 300):
        key = (command, folder, activate)
        if key not in self.outputs:
            activation = f". {self.clone}/.venv/bin/activate && " if activate else ""
            self.outputs[key] = subprocess.run(
                ["bash", "-c", activation + command], cwd=self.clone / folder,
                env=self.environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True, timeout=timeout,
            )  # fmt: skip
        return self.outputs[key]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Fresh:
    if shutil.which("git") is None:
        pytest.fail("git is missing: the README test copies the checkout with git ls-files")
    return Fresh(tmp_path_factory.mktemp("fresh"))


def visible_lines(output: str) -> list[str]:
    """The lines a terminal shows: what follows the last carriage return of each line."""
    return [line.rsplit("\r", 1)[-1] for line in output.split("\n")]


BAR = re.compile(r"\|[^|]*\| *\d+/\d+ \[[^\]]*\]")


def check_ran(done: subprocess.CompletedProcess, command: str, expected=(), returncode=0):
    output = done.stdout
    assert done.returncode == returncode, f"{command!r} exited {done.returncode}:\n{output[-3000:]}"
    assert "Traceback" not in output, f"{command!r} printed a traceback:\n{output[-3000:]}"
    for text in expected:
        assert text in output, f"{command!r} did not print {text!r}:\n{output[-3000:]}"
    mixed = [line for line in visible_lines(output) if (m := BAR.search(line))
             and line[m.end():].strip()]  # fmt: skip
    assert not mixed, f"{command!r}: progress bars and other text share lines: {mixed[:3]}"
    assert output.count("Note: ") <= 1, f"{command!r} printed more than one note"


# ---------------------------------------------------------------- the tests


def test_every_readme_command_is_classified():
    unknown = [c for c in readme_commands() if c not in COMMANDS]
    assert not unknown, (
        f"README commands that tests/test_readme_commands.py does not know: {unknown}; add "
        "each to COMMANDS (run it, a shorter Instead, a Dry run or NotRun with the reason)"
    )
    stale = [c for c in COMMANDS if c not in readme_commands()]
    assert not stale, f"COMMANDS lists commands the README no longer prints: {stale}"


RUNNABLE = [c for c, how in COMMANDS.items() if isinstance(how, (Run, Instead))]


@pytest.mark.parametrize("command", RUNNABLE)
def test_readme_command_runs_in_a_fresh_clone(fresh, command):
    how = COMMANDS[command]
    if isinstance(how, Instead):
        done = fresh.run(how.command, activate=how.activate)
    else:
        done = fresh.run(command, how.folder, how.activate)
    check_ran(done, command, how.expect_in_output, how.returncode)


@pytest.mark.parametrize("command", [c for c, how in COMMANDS.items() if isinstance(how, Dry)])
def test_readme_make_target_that_installs_shows_its_recipe(fresh, command):
    how = COMMANDS[command]
    done = fresh.run(f"make -n -B {how.target}")
    assert done.returncode == 0, done.stdout
    for line in how.lines:
        assert line in done.stdout, f"make -n -B {how.target} lacks {line!r}:\n{done.stdout}"


def test_without_activation_python_cannot_import_nn_and_the_readme_says_so(fresh):
    # The first trap of a fresh shell: the system's python has no nn.
    system = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")
    done = fresh.run(f"{system} -c 'import nn'", folder="examples", activate=False)
    assert done.returncode != 0 and "No module named 'nn'" in done.stdout
    start = README.read_text(encoding="utf-8").split("\n## Start here\n", 1)[1][:2500]
    assert ". .venv/bin/activate" in start and "ModuleNotFoundError" in start


def test_the_notebook_extra_installs_jupyter_and_not_the_base_install():
    setup = (ROOT / "setup.cfg").read_text()
    extras = setup.split("[options.extras_require]", 1)[1]
    notebook = re.search(r"\nnotebook =\n((?:    .*\n)+)", extras).group(1).split()
    assert "notebook>=7" in notebook and "ipykernel>=6.20" in notebook
    base = setup.split("install_requires =", 1)[1].split("\n\n", 1)[0]
    assert "notebook" not in base and "jupyter" not in base


def test_the_quickstart_runs_as_printed(fresh, tmp_path):
    (block,) = python_blocks("Quickstart")
    script = fresh.clone / "quickstart.py"
    script.write_text(block)
    check_ran(fresh.run("python quickstart.py"), "the Quickstart")


def test_the_nielsen_round_trip_runs_as_printed(fresh):
    """His mnist.pkl.gz and lists (first block), his code and nn.verify (the sh block, in a
    folder laid out as his repository), nn.fit and nn.save (last block)."""
    work = fresh.clone / "round-trip"
    work.mkdir()
    (work / "round_trip.py").write_text("\n".join(python_blocks(
        "Nielsen's own code and files, end to end")))  # fmt: skip
    made = fresh.run("python round_trip.py", folder="round-trip")
    check_ran(made, "the round trip's Python blocks")
    his = work / "neural-networks-and-deep-learning"
    (his / "data").mkdir(parents=True)
    shutil.copytree(HIS_CODE, his / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(work / "mnist.pkl.gz", his / "data" / "mnist.pkl.gz")  # "copy it to data/"
    assert (work / "model.json").is_file()
    (block,) = sh_blocks("Nielsen's own code and files, end to end")
    done = fresh.run(" && ".join(block), folder="round-trip")
    check_ran(done, "the round trip's commands", ("Epoch 0: ", "check_backprop: OK"))
    # His network draws unseeded weights, so its accuracy after one epoch varies (918 of 2,000
    # seen); tests/test_nielsen_round_trip.py checks a seeded run learns.
    assert re.search(r"^Epoch 0: \d+ / 2000$", done.stdout, re.M), done.stdout


@pytest.mark.parametrize(
    "command, first",
    [
        ("python examples/mnist.py --epochs 3", "MNIST from embedded sample"),
        ("python examples/chapter6.py basic_conv --epochs 1 --train-size 2000", "basic_conv: 20"),
        ("python examples/makemore.py --model mlp --steps 3000", "mlp: 11,897 parameters"),
    ],
)
def test_examples_say_data_and_settings_before_training(fresh, command, first):
    lines = visible_lines(fresh.run(command).stdout)
    said = next(i for i, line in enumerate(lines) if line.startswith(first))
    bars = [i for i, line in enumerate(lines) if BAR.search(line)]
    assert bars and said < bars[0], lines[: bars[0] + 1 if bars else 20]
    assert lines[0].startswith("Note: ")  # the sample, said once, first


def test_makemore_names_a_missing_data_file_in_one_line(fresh):
    done = fresh.run("python examples/makemore.py --data names.txt")
    assert done.returncode == 2 and "Traceback" not in done.stdout
    assert done.stdout.strip() == "makemore.py: --data names.txt: no such file"
