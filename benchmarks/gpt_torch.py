"""The lecture's GPT stages in PyTorch, as an independent peer for examples/gpt.py: the same
modules in the same order (so parameters pair up one to one), the lecture's training loop.

    python benchmarks/gpt_torch.py --stage one-head --seeds 1337 1   # the lecture's own code path

Used by benchmarks/gpt_step.py (speed) and to check the stage losses: PyTorch is optional
(`pip install torch==2.13.0`), never a dependency.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parent.parent


def load_example():
    spec = importlib.util.spec_from_file_location("gpt_example", ROOT / "examples" / "gpt.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Head(nn.Module):
    def __init__(self, n_embd, head_size, block_size, dropout):
        super().__init__()
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size)))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        B, T, C = x.shape
        k, q = self.key(x), self.query(x)
        wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
        wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
        wei = self.dropout(F.softmax(wei, dim=-1))
        return wei @ self.value(x)


class MultiHeadAttention(nn.Module):
    def __init__(self, num_heads, head_size, n_embd, block_size, dropout, proj=True):
        super().__init__()
        self.heads = nn.ModuleList(
            Head(n_embd, head_size, block_size, dropout) for _ in range(num_heads)
        )
        self.proj = nn.Linear(head_size * num_heads, n_embd) if proj else None
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        out = torch.cat([h(x) for h in self.heads], dim=-1)
        return out if self.proj is None else self.dropout(self.proj(out))


class FeedForward(nn.Module):
    def __init__(self, n_embd, dropout, expand=4):
        super().__init__()
        if expand is None:
            self.net = nn.Sequential(nn.Linear(n_embd, n_embd), nn.ReLU())
        else:
            self.net = nn.Sequential(
                nn.Linear(n_embd, expand * n_embd),
                nn.ReLU(),
                nn.Linear(expand * n_embd, n_embd),
                nn.Dropout(dropout),
            )

    def forward(self, x):
        return self.net(x)


class Block(nn.Module):
    def __init__(self, n_embd, n_head, block_size, dropout, layernorm=True):
        super().__init__()
        self.sa = MultiHeadAttention(n_head, n_embd // n_head, n_embd, block_size, dropout)
        self.ffwd = FeedForward(n_embd, dropout)
        self.ln1 = nn.LayerNorm(n_embd) if layernorm else None
        self.ln2 = nn.LayerNorm(n_embd) if layernorm else None

    def forward(self, x):
        x = x + self.sa(x if self.ln1 is None else self.ln1(x))
        return x + self.ffwd(x if self.ln2 is None else self.ln2(x))


class Bigram(nn.Module):
    def __init__(self, vocab_size, **unused):
        super().__init__()
        self.block_size = 1
        self.token_embedding_table = nn.Embedding(vocab_size, vocab_size)

    def forward(self, idx, targets=None):
        return _with_loss(self.token_embedding_table(idx), targets)


class GPT(nn.Module):
    def __init__(self, vocab_size, stage, n_embd, n_head, n_layer, block_size, dropout, **unused):
        super().__init__()
        self.block_size = block_size
        self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
        self.position_embedding_table = nn.Embedding(block_size, n_embd)
        head = dict(n_embd=n_embd, block_size=block_size, dropout=dropout)
        if stage == "one-head":
            self.body = Head(head_size=n_embd, **head)
        elif stage in ("multi-head", "feed-forward"):
            layers = [MultiHeadAttention(n_head, n_embd // n_head, proj=False, **head)]
            if stage == "feed-forward":
                layers.append(FeedForward(n_embd, dropout, expand=None))
            self.body = nn.Sequential(*layers)
        else:
            norm = stage == "layernorm"
            self.body = nn.Sequential(
                *[Block(n_head=n_head, layernorm=norm, **head) for _ in range(n_layer)]
            )
        self.ln_f = nn.LayerNorm(n_embd) if stage == "layernorm" else None
        self.lm_head = nn.Linear(n_embd, vocab_size)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        x = self.token_embedding_table(idx) + self.position_embedding_table(torch.arange(T))
        x = self.body(x)
        if self.ln_f is not None:
            x = self.ln_f(x)
        return _with_loss(self.lm_head(x), targets)


def _with_loss(logits, targets):
    if targets is None:
        return logits, None
    B, T, C = logits.shape
    return logits, F.cross_entropy(logits.view(B * T, C), targets.view(B * T))


def build(stage: str, vocab_size: int, **settings) -> nn.Module:
    if stage == "bigram":
        return Bigram(vocab_size)
    return GPT(vocab_size, stage, **settings)


def copy_weights(ours, theirs: nn.Module) -> None:
    """Our parameters into theirs, paired by construction order (shapes checked)."""
    mine = ours.parameters()
    their_parameters = list(theirs.parameters())
    if len(mine) != len(their_parameters):
        raise ValueError(f"{len(mine)} parameters here, {len(their_parameters)} in PyTorch")
    with torch.no_grad():
        for a, b in zip(mine, their_parameters):
            if tuple(a.shape) != tuple(b.shape):
                raise ValueError(f"shape {a.shape} against PyTorch's {tuple(b.shape)}")
            b.copy_(torch.from_numpy(np.asarray(a.data)))


def train_stage(stage: str, seed: int, settings: dict, data: str) -> tuple[float, float, float]:
    """The lecture's loop (torch.manual_seed, torch.randint batches, AdamW); final (train,
    val) estimated losses and the seconds it took."""
    torch.manual_seed(seed)
    text = Path(data).read_text(encoding="utf-8")
    chars = sorted(set(text))
    data_tensor = torch.from_numpy(np.searchsorted(np.array(chars), np.array(list(text))))
    n = int(0.9 * len(data_tensor))
    splits = {"train": data_tensor[:n], "val": data_tensor[n:]}
    batch_size, block_size = settings["batch_size"], settings["block_size"]

    def get_batch(split):
        d = splits[split]
        ix = torch.randint(len(d) - block_size, (batch_size,))
        x = torch.stack([d[i : i + block_size] for i in ix])
        y = torch.stack([d[i + 1 : i + block_size + 1] for i in ix])
        return x, y

    @torch.no_grad()
    def estimate_loss():
        model.eval()
        out = {}
        for split in splits:
            losses = [model(*get_batch(split))[1].item() for _ in range(settings["eval_iters"])]
            out[split] = float(np.mean(losses))
        model.train()
        return out

    model = build(stage, len(chars), **settings)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings["lr"])
    start = time.perf_counter()
    for step in range(settings["max_iters"]):
        if step % settings["eval_interval"] == 0 or step == settings["max_iters"] - 1:
            losses = estimate_loss()
        xb, yb = get_batch("train")
        _, loss = model(xb, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return losses["train"], losses["val"], time.perf_counter() - start


def main() -> None:
    example = load_example()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=example.STAGES, default="layernorm")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1337])
    parser.add_argument("--data", default=str(example.DEFAULT_DATA))
    options = parser.parse_args()
    torch.set_num_threads(1)
    settings = example.BIGRAM if options.stage == "bigram" else example.LECTURE
    for seed in options.seeds:
        train_loss, val_loss, seconds = train_stage(options.stage, seed, settings, options.data)
        print(
            f"PyTorch {torch.__version__} {options.stage}, seed {seed}, "
            f"{settings['max_iters']} steps in {seconds:.1f} s: train loss {train_loss:.4f}, "
            f"val loss {val_loss:.4f}"
        )


if __name__ == "__main__":
    main()
