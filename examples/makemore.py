"""makemore: character-level language models of names, as in the lectures that follow micrograd.

    python examples/makemore.py --model mlp-bn      # block 3, embedding 10, hidden 200, batch norm
    python examples/makemore.py --model mlp         # the same without batch norm
    python examples/makemore.py --model wavenet     # block 8, pairs merged three times
    python examples/makemore.py --model mlp --steps 2000 --data nn/data/names_sample.txt

Trains with SGD on mini-batches of 32 (lr 0.1, then 0.01 for the last part: half the steps for
the MLPs, a quarter for the WaveNet-like model, as the lectures), reports the loss on the whole
train and val splits in eval mode (batch norm then uses its running statistics), and samples
20 names from a seeded generator. Names come from --data, by default the project's shared copy
of makemore's names.txt (../shared/data/names/names.txt beside the checkout); without it, the
1,002-name sample shipped in nn/data, for fewer steps, with a note on what to expect there.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

import nn
from autodiff import no_grad

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "names" / "names.txt"
FULL_STEPS = 200_000  # the lectures' run on all 32,033 names
# On the 1,002-name sample: the steps after which the val loss rises (overfitting), and the
# val loss there for seeds 0 and 1 (measured with this script; at 10,000 steps the MLPs reach
# 2.45-2.64, at 3,000 the WaveNet 2.62). The full file's figures are in the README.
SAMPLE_STEPS = {"mlp": 3_000, "mlp-bn": 3_000, "wavenet": 1_000}
SAMPLE_EXPECTATIONS = {"mlp": "2.42 and 2.45", "mlp-bn": "2.40 and 2.45", "wavenet": "2.40"}

# The lectures' settings: context length, the step (fraction of the run) where lr drops to 0.01.
MODELS = {
    "mlp": dict(block_size=3, decay_at=0.5),
    "mlp-bn": dict(block_size=3, decay_at=0.5),
    "wavenet": dict(block_size=8, decay_at=0.75),
}


def lecture_linear(fan_in: int, fan_out: int, rng: np.random.Generator, gain: float = 1.0):
    """A Linear layer initialised as the lectures do: weights N(0, gain / sqrt(fan_in)),
    biases zero."""
    layer = nn.Linear(fan_in, fan_out, seed=rng)
    layer.weight.data[...] = rng.standard_normal(layer.weight.shape) * gain / fan_in**0.5
    layer.bias.data[...] = 0
    return layer


def build_model(
    kind: str, vocab_size: int, seed: int, embedding: int | None = None, hidden: int | None = None
) -> nn.Sequential:
    """The lecture's model of that kind, weights drawn from seed; embedding and hidden
    override the lecture's widths (10 and 200 for the MLPs, 24 and 128 for the WaveNet)."""
    rng = np.random.default_rng(seed)
    tanh_gain = 5 / 3  # keeps tanh's inputs unit-sized at initialisation (lecture 3)
    if kind in ("mlp", "mlp-bn"):
        embedding, hidden, block = embedding or 10, hidden or 200, MODELS[kind]["block_size"]
        first = lecture_linear(embedding * block, hidden, rng, gain=tanh_gain)
        norm = [nn.BatchNorm1d(hidden)] if kind == "mlp-bn" else []
        last = lecture_linear(hidden, vocab_size, rng, gain=0.01 * hidden**0.5)  # W2 * 0.01
        layers = [nn.Embedding(vocab_size, embedding, seed=rng), nn.Flatten(), first, *norm]
        return nn.Sequential(*layers, nn.Tanh(), last)
    if kind == "wavenet":
        embedding, hidden = embedding or 24, hidden or 128
        layers = [nn.Embedding(vocab_size, embedding, seed=rng)]
        width = embedding
        for _ in range(3):  # 8 positions -> 4 -> 2 -> 1: pairs of pairs of pairs
            layers += [nn.FlattenConsecutive(2), lecture_linear(2 * width, hidden, rng)]
            layers += [nn.BatchNorm1d(hidden), nn.Tanh()]
            width = hidden
        last = lecture_linear(hidden, vocab_size, rng)
        last.weight.data *= 0.1  # less confident at initialisation (lecture 5)
        return nn.Sequential(*layers, last)
    raise ValueError(f"unknown model {kind!r}: expected one of {sorted(MODELS)}")


def train(
    model, examples, steps: int, decay_at: float, seed: int, batch_size: int = 32, progress=True
):
    """SGD on random mini-batches; returns the mini-batch loss of every step."""
    x, y = examples
    rng = np.random.default_rng(seed)
    optimizer = nn.SGD(model.parameters(), lr=0.1)
    schedule = nn.LRSchedule(
        optimizer, nn.piecewise_constant({0: 0.1, int(decay_at * steps): 0.01})
    )
    losses = []
    model.train()
    bar = tqdm(range(steps), disable=not progress, mininterval=1.0, desc="train")
    for step in bar:
        rows = rng.integers(0, len(x), batch_size)
        loss = nn.cross_entropy(model(x[rows]), y[rows])
        model.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        if step % 1000 == 0:
            bar.set_postfix(loss=f"{loss.item():.4f}", lr=optimizer.lr)
    return losses


@no_grad()
def evaluate(model, examples, chunk: int = 20_000) -> float:
    """Mean cross-entropy over every example, in eval mode (running batch-norm statistics)."""
    x, y = examples
    model.eval()
    total = 0.0
    for start in range(0, len(x), chunk):
        rows = slice(start, start + chunk)
        total += nn.cross_entropy(model(x[rows]), y[rows]).item() * len(y[rows])
    model.train()
    return total / len(x)


@no_grad()
def sample(model, names, block_size: int, seed: int, count: int = 20, limit: int = 50) -> list[str]:
    """count names drawn one character at a time from the model's softmax, from seed."""
    rng = np.random.default_rng(seed)
    model.eval()
    words = []
    for _ in range(count):
        context, chars = [0] * block_size, []
        while len(chars) < limit:
            probabilities = model(np.array([context])).softmax(axis=-1).data[0]
            index = int(rng.choice(len(probabilities), p=probabilities / probabilities.sum()))
            if index == 0:
                break
            chars.append(names.itos[index])
            context = context[1:] + [index]
        words.append("".join(chars))
    model.train()
    return words


def describe(kind: str, names, split, model, steps: int, seed: int) -> str:
    """The data, its size and the settings of a run, said before it starts."""
    settings = MODELS[kind]
    parameters = sum(p.size for p in model.parameters())
    return (
        f"names from {names.source}: {len(names.words):,} names, {len(split.train[1]):,} "
        f"training and {len(split.val[1]):,} val examples (80/10/10 split of the names)\n"
        f"{kind}: {parameters:,} parameters, context of {settings['block_size']} characters; "
        f"{steps:,} SGD steps of batch 32, lr 0.1 then 0.01 from step "
        f"{int(settings['decay_at'] * steps):,}; seed {seed}"
    )


def run(kind: str, data, steps: int, seed: int, progress: bool = True, say=None) -> dict:
    """Build, train and evaluate one model; a summary dict (losses, time, samples). say, when
    given, receives describe()'s lines before training starts."""
    names = nn.data.load_names(data)
    settings = MODELS[kind]
    split = names.split(settings["block_size"], seed=42)
    model = build_model(kind, names.vocab_size, seed)
    if say is not None:
        say(describe(kind, names, split, model, steps, seed))
    start = time.perf_counter()
    losses = train(model, split.train, steps, settings["decay_at"], seed, progress=progress)
    seconds = time.perf_counter() - start
    return {
        "model": kind,
        "seed": seed,
        "steps": steps,
        "parameters": sum(p.size for p in model.parameters()),
        "train_seconds": round(seconds, 1),
        "steps_per_second": round(steps / seconds, 1),
        "first_loss": losses[0],
        "train_loss": evaluate(model, split.train),
        "val_loss": evaluate(model, split.val),
        "samples": sample(model, names, settings["block_size"], seed),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", choices=sorted(MODELS), default="mlp-bn")
    parser.add_argument(
        "--steps", type=int, help=f"default {FULL_STEPS:,}, or 1,000-3,000 on the sample"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--data", help=f"a names file, one a line (default {DEFAULT_DATA}, else the sample)"
    )
    options = parser.parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):  # each line before the progress bar
        sys.stdout.reconfigure(line_buffering=True)
    data = options.data
    if data is not None and not Path(data).is_file():
        print(f"makemore.py: --data {data}: no such file", file=sys.stderr)
        return 2
    if data is None:
        data = DEFAULT_DATA if DEFAULT_DATA.is_file() else nn.data.NAMES_SAMPLE_PATH
    sample = Path(data) == nn.data.NAMES_SAMPLE_PATH
    steps = options.steps or (SAMPLE_STEPS[options.model] if sample else FULL_STEPS)
    if sample and options.data is None:
        print(
            f"Note: {DEFAULT_DATA} is not there, so this trains on the sample shipped in "
            f"nn/data ({Path(data).name}: 1,002 names, every 32nd of makemore's 32,033) for "
            f"{steps:,} steps. Expect a val loss of about "
            f"{SAMPLE_EXPECTATIONS[options.model]} after {SAMPLE_STEPS[options.model]:,} steps "
            "(seeds 0 and 1; uniform guessing gives 3.30), not the lectures' 2.0-2.1: 800 "
            "training names are soon learned by heart. For those, pass --data names.txt "
            "(makemore's file)."
        )
    summary = run(options.model, data, steps, options.seed, say=print)
    print(
        f"{summary['model']} ({summary['parameters']} parameters), seed {summary['seed']}, "
        f"{summary['steps']} steps in {summary['train_seconds']} s: "
        f"train loss {summary['train_loss']:.4f}, val loss {summary['val_loss']:.4f}"
    )
    print("samples:", " ".join(summary["samples"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
