"""examples/makemore.py in miniature: each model trains for a few hundred steps on the names
sample shipped in the package and its loss goes down; sampling is seeded."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

import nn

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("makemore", ROOT / "examples" / "makemore.py")
makemore = importlib.util.module_from_spec(spec)
spec.loader.exec_module(makemore)
NAMES = nn.data.load_names(nn.data.NAMES_SAMPLE_PATH)


# The WaveNet-like model at a quarter of its width: its full-size products are where a
# multi-threaded BLAS on a busy machine takes seconds (the full size is benchmarks/makemore.py's).
@pytest.mark.parametrize(
    "kind, steps, widths",
    [("mlp", 300, {}), ("mlp-bn", 300, {}), ("wavenet", 200, dict(embedding=8, hidden=32))],
)
def test_a_short_training_run_lowers_the_loss(kind, steps, widths):
    settings = makemore.MODELS[kind]
    split = NAMES.split(settings["block_size"])
    model = makemore.build_model(kind, NAMES.vocab_size, seed=0, **widths)
    before = makemore.evaluate(model, split.val)
    assert before == pytest.approx(math.log(27), abs=0.15)  # a near-uniform start, as lectured
    losses = makemore.train(model, split.train, steps, settings["decay_at"], 0, progress=False)
    after = makemore.evaluate(model, split.val)
    assert after < before - 0.35, (before, after)
    assert np.mean(losses[-50:]) < losses[0] - 0.5


def test_the_models_have_the_lectures_shapes():
    mlp_bn = makemore.build_model("mlp-bn", 27, seed=0)
    assert sum(p.size for p in mlp_bn.parameters()) == 12297  # as lecture 3 counts them
    wavenet = makemore.build_model("wavenet", 27, seed=0)
    # Lecture 5's 76,579 plus the three Linear biases before batch norm (3 x 128) it drops.
    assert sum(p.size for p in wavenet.parameters()) == 76579 + 3 * 128
    assert wavenet(np.zeros((4, 8), dtype=int)).shape == (4, 27)


def test_sampling_is_seeded_and_stays_in_the_vocabulary():
    model = makemore.build_model("mlp-bn", NAMES.vocab_size, seed=0)
    first = makemore.sample(model, NAMES, 3, seed=5)
    assert first == makemore.sample(model, NAMES, 3, seed=5)
    assert len(first) == 20 and first != makemore.sample(model, NAMES, 3, seed=6)
    assert set("".join(first)) <= set(NAMES.itos[1:])
    assert model.training  # sampling switched to eval and back
