"""Seeing attention: nn.draw_attention (one heat map per head, the causal mask hatched, the
characters on both axes, inline PNG) and nn.draw_model_graph(block, root, group=Head), which
draws each attention head of a GPT Block as one box."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import nn
from autodiff import Tensor

matplotlib = pytest.importorskip("matplotlib")
ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("gpt_example", ROOT / "examples" / "gpt.py")
gpt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpt)


def attention_of_a_model():
    model = gpt.build_model("multi-head", 11, seed=0, **gpt.LECTURE | dict(n_embd=16))
    model(np.arange(8)[None] % 11)
    return np.stack([head.attention[0] for head in model.body.layers[0].heads])


def test_draw_attention_draws_each_head_with_mask_and_characters(tmp_path):
    weights = attention_of_a_model()
    figure = nn.draw_attention(weights, "to be, o", path=tmp_path / "attention.png")
    maps = [axes for axes in figure.axes if axes.images]
    assert len(maps) == 4 and [a.get_title() for a in maps] == [f"head {h}" for h in range(4)]
    for head, axes in enumerate(maps):
        shown = axes.images[0].get_array()
        np.testing.assert_array_equal(shown.mask, np.triu(np.ones((8, 8), bool), k=1))
        np.testing.assert_array_equal(shown.data, weights[head])
        assert [t.get_text() for t in axes.get_xticklabels()] == list("to\u2423be,\u2423o")
        assert [t.get_text() for t in axes.get_yticklabels()] == list("to\u2423be,\u2423o")
        assert len(axes.patches) == 28  # one hatched square per hidden position
        assert all(p.get_linewidth() == 0 for p in axes.patches)  # nothing leaked
    assert (tmp_path / "attention.png").read_bytes().startswith(b"\x89PNG")
    assert figure._repr_png_().startswith(b"\x89PNG")  # inline in Jupyter


def test_draw_attention_marks_weight_that_leaked_from_the_future():
    weights = np.full((5, 5), 0.2)  # a softmax without the mask: every row sees the future
    figure = nn.draw_attention(weights, "abcde")
    (axes,) = [a for a in figure.axes if a.images]
    assert all(p.get_linewidth() > 0 for p in axes.patches) and len(axes.patches) == 10


def test_draw_attention_errors_name_what_was_expected():
    with pytest.raises(ValueError, match="\\(heads, T, T\\)"):
        nn.draw_attention(np.zeros((2, 3, 4)), "abc")
    with pytest.raises(ValueError, match="3 tokens for weights over 4"):
        nn.draw_attention(np.zeros((4, 4)), "abc")


def test_draw_model_graph_of_a_block_collapses_each_head_into_one_box():
    rng = np.random.default_rng(0)
    block = gpt.Block(16, 4, 8, 0.0, rng)
    root = block(Tensor(rng.standard_normal((2, 8, 16)), name="x")).sum()
    graph = nn.draw_model_graph(block, root, group=gpt.Head, collapse=True)
    source = graph.source
    for head in range(4):
        assert source.count(f"sa.heads.{head} Head") == 1
    # Inside a head's box: its three projections and its softmax, not drawn as nodes.
    assert "label=Softmax" not in source and source.count("\\lSoftmax\\l") == 4
    assert 'label="Concatenate axis=2"' in source  # where the heads meet, outside the boxes
    boxes = nn.draw_model_graph(block, root, group=gpt.Head)
    assert boxes.source.count("cluster") >= 4
    with pytest.raises(ValueError, match="no Embedding"):
        nn.draw_model_graph(block, root, group=nn.Embedding)
