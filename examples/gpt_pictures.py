"""The README's pictures of "Let's build GPT": the four heads of the multi-head stage after 600
steps on the shipped sample (nn.draw_attention), and one Block's graph with each head drawn as
one box (nn.draw_model_graph(block, root, group=Head, collapse=True)).

    python examples/gpt_pictures.py docs/gpt-attention.png docs/gpt-block-heads.svg
"""

from __future__ import annotations

import argparse
import importlib.util
import warnings
from pathlib import Path

import numpy as np

import nn
from autodiff import Tensor

spec = importlib.util.spec_from_file_location("gpt", Path(__file__).with_name("gpt.py"))
gpt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpt)


def attention_picture(path: str, prompt: str = "Citizen:", seed: int = 0):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nn.data.SampleDataWarning)
        text = nn.data.load_text()
    settings = gpt.LECTURE | dict(max_iters=600, eval_interval=600, eval_iters=5)
    model = gpt.build_model("multi-head", text.vocab_size, seed, **settings)
    gpt.train(model, text, settings, seed, progress=False)
    model.eval()
    model(text.encode(prompt)[None])
    weights = np.stack([head.attention[0] for head in model.body.layers[0].heads])
    return nn.draw_attention(weights, prompt, path=path)


def block_picture(path: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    block = gpt.Block(32, 4, 8, 0.0, rng)
    root = block(Tensor(rng.standard_normal((4, 8, 32)), name="x")).sum()
    graph = nn.draw_model_graph(block, root, group=gpt.Head, collapse=True)
    target = Path(path)
    graph.render(target.with_suffix(""), format=target.suffix.lstrip("."), cleanup=True)
    return graph


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("attention", help="path of the heat maps (.png or .svg)")
    parser.add_argument("block", help="path of the Block's graph (.png or .svg)")
    options = parser.parse_args(argv)
    attention_picture(options.attention)
    block_picture(options.block)


if __name__ == "__main__":
    main()
