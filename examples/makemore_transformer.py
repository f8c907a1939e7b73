"""makemore's Transformer on names: karpathy/makemore's --type transformer, on our engine.

    python examples/makemore_transformer.py --steps 10000 --seed 3407

Its settings: 4 layers, 4 heads, n_embd 64, AdamW lr 5e-4 (weight decay 0.01, betas (0.9,
0.99), eps 1e-8), batch 32; words become rows "." + word + padding (block 16 for names.txt),
targets word + "." with padding ignored; 1,000 words held out as the test set (makemore's
min(1000, 10%)) by a seeded permutation. Attention is batched over heads (one (B, nh, T, hs)
product, as makemore's CausalSelfAttention), GELU is the tanh form (makemore's NewGELU).
makemore's README gives a test loss of about 1.92 for this model.
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
CONFIG = dict(n_layer=4, n_head=4, n_embd=64, lr=5e-4, batch_size=32)


def linear(fan_in, fan_out, rng, bias=True):
    return nn.Linear(fan_in, fan_out, bias=bias, init="pytorch", seed=rng)


class CausalSelfAttention(nn.Module):
    """All heads at once: one projection to q, k, v, attention over (B, n_head, T, hs)."""

    def __init__(self, n_embd, n_head, block_size, rng):
        self.c_attn = linear(n_embd, 3 * n_embd, rng)
        self.c_proj = linear(n_embd, n_embd, rng)
        self.n_head = n_head
        self.register_buffer("bias", np.tril(np.ones((block_size, block_size))))

    def forward(self, x):
        B, T, C = x.shape
        qkv = self.c_attn(x)
        q, k, v = qkv[..., :C], qkv[..., C : 2 * C], qkv[..., 2 * C :]
        heads = (B, T, self.n_head, C // self.n_head)
        q, k, v = (t.reshape(heads).swapaxes(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        att = (q @ k.swapaxes(-2, -1)) * (1.0 / np.sqrt(k.shape[-1]))
        att = att.masked_fill(self.bias[:T, :T] == 0, float("-inf"))
        att = nn.softmax(att, axis=-1)
        y = (att @ v).swapaxes(1, 2).reshape((B, T, C))  # heads side by side again
        return self.c_proj(y)


class Block(nn.Module):
    def __init__(self, n_embd, n_head, block_size, rng):
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, block_size, rng)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = nn.Sequential(
            linear(n_embd, 4 * n_embd, rng), nn.GELU("tanh"), linear(4 * n_embd, n_embd, rng)
        )

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, vocab_size, block_size, n_layer, n_head, n_embd, seed, **unused):
        rng = np.random.default_rng(seed)
        self.block_size = block_size
        self.wte = nn.Embedding(vocab_size, n_embd, seed=rng)
        self.wpe = nn.Embedding(block_size, n_embd, seed=rng)
        self.h = nn.ModuleList(Block(n_embd, n_head, block_size, rng) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = linear(n_embd, vocab_size, rng, bias=False)

    def forward(self, idx, targets=None):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(np.arange(T))
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        if targets is None:
            return logits, None
        keep = targets.reshape(-1) != -1  # makemore's ignore_index=-1: padding after the end
        flat = logits.reshape((-1, logits.shape[-1]))
        return logits, nn.cross_entropy(flat[keep], targets.reshape(-1)[keep])


def rows(words, stoi, block_size):
    """makemore's CharDataset: x = 0, w_1..w_n, 0..; y = w_1..w_n, 0, -1.."""
    x = np.zeros((len(words), block_size), dtype=np.int64)
    y = np.full((len(words), block_size), -1, dtype=np.int64)
    for i, word in enumerate(words):
        encoded = [stoi[c] for c in word]
        x[i, 1 : 1 + len(encoded)] = encoded
        y[i, : len(encoded)] = encoded
        y[i, len(encoded)] = 0
    return x, y


@no_grad()
def evaluate(model, x, y, batch_size=500) -> float:
    """Mean loss over every target that is not padding."""
    total, count = 0.0, 0
    for start in range(0, len(x), batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        _, loss = model(xb, yb)
        n = int((yb != -1).sum())
        total, count = total + loss.item() * n, count + n
    return total / count


def run(data, steps, seed, eval_every=500, progress=True) -> dict:
    words = nn.data.load_names(data).words
    chars = sorted(set("".join(words)))
    stoi = {c: i + 1 for i, c in enumerate(chars)}
    block_size = max(len(w) for w in words) + 1
    order = np.random.default_rng(seed).permutation(len(words))
    test_size = min(1000, len(words) // 10)
    test = [words[i] for i in order[:test_size]]
    train = [words[i] for i in order[test_size:]]
    (xtr, ytr), (xte, yte) = rows(train, stoi, block_size), rows(test, stoi, block_size)
    model = Transformer(len(chars) + 1, block_size, seed=seed, **CONFIG)
    optimizer = nn.AdamW(model.parameters(), lr=CONFIG["lr"], betas=(0.9, 0.99), eps=1e-8)
    rng = np.random.default_rng(seed + 1)
    history, start = [], time.perf_counter()
    bar = tqdm(range(steps + 1), disable=not progress, mininterval=1.0)
    for step in bar:
        if step % eval_every == 0 or step == steps:
            # makemore evaluates on at most 10 batches of 100 from each split
            picks = rng.integers(0, len(xtr), 1000)
            history.append(
                (step, evaluate(model, xtr[picks], ytr[picks]), evaluate(model, xte, yte))
            )
            bar.set_postfix(train=f"{history[-1][1]:.4f}", test=f"{history[-1][2]:.4f}")
        if step == steps:
            break
        batch = rng.integers(0, len(xtr), CONFIG["batch_size"])
        _, loss = model(xtr[batch], ytr[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {
        "seconds": round(time.perf_counter() - start, 1),
        "parameters": sum(p.size for p in model.parameters()),
        "history": history,
        "test_loss": history[-1][2],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=3407)
    parser.add_argument(
        "--data", help=f"names, one a line (default {DEFAULT_DATA}, else the sample)"
    )
    options = parser.parse_args(argv)
    data = options.data
    if data is None and DEFAULT_DATA.is_file():
        data = str(DEFAULT_DATA)
    elif data is None:
        data = str(nn.data.NAMES_SAMPLE_PATH)
        print(
            f"Note: {DEFAULT_DATA} is not there, so this trains on the sample shipped in "
            "nn/data (names_sample.txt, 1,002 names): its test loss is not makemore's."
        )
    elif not Path(data).is_file():
        print(f"makemore_transformer.py: --data {data}: no such file", file=sys.stderr)
        return 2
    names = nn.data.load_names(data).words
    print(f"Data: {data}, {len(names):,} names, {len(set(''.join(names)))} letters")
    print(
        f"transformer: {CONFIG['n_layer']} layers, {CONFIG['n_head']} heads, n_embd "
        f"{CONFIG['n_embd']}, batch {CONFIG['batch_size']}, AdamW lr {CONFIG['lr']}, "
        f"{options.steps} steps, seed {options.seed}"
    )
    summary = run(data, options.steps, options.seed)
    for step, train_loss, test_loss in summary["history"]:
        print(f"step {step}: train loss {train_loss:.4f}, test loss {test_loss:.4f}")
    print(
        f"transformer ({summary['parameters']:,} parameters), seed {options.seed}, "
        f"{options.steps} steps in {summary['seconds']} s: test loss {summary['test_loss']:.4f} "
        "(makemore's README: about 1.92)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
