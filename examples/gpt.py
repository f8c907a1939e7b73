"""Let's build GPT: Karpathy's lecture (karpathy/ng-video-lecture) on our engine, stage by stage.

    python examples/gpt.py --stage bigram          # bigram.py: a lookup table of next-char logits
    python examples/gpt.py --stage one-head        # + token and position embeddings, one head
    python examples/gpt.py --stage multi-head      # four heads of size 8, concatenated
    python examples/gpt.py --stage feed-forward    # + a feed-forward layer after attention
    python examples/gpt.py --stage residual        # three Blocks with residual connections
    python examples/gpt.py --stage layernorm       # + pre-norm LayerNorms and a final one
    python examples/gpt.py --stage layernorm --dropout 0.2
    python examples/gpt.py --scaled                # gpt.py's large model (hours on a CPU)

The lecture's hyper-parameters: batch 32, block 8, n_embd 32, 4 heads, AdamW lr 1e-3, 5000
steps, the loss estimated every 500 steps on 200 batches of each split (bigram.py's own: lr
1e-2, 3000 steps, every 300). Weights start as PyTorch's defaults. The code reads as the
lecture's with torch's names replaced by ours: nn.Linear(..., bias=False), register_buffer,
wei.masked_fill, nn.softmax(x, axis=-1), k.swapaxes(-2, -1), autodiff.concatenate and
nn.multinomial.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

import nn
from autodiff import concatenate, no_grad

DEFAULT_DATA = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "tinyshakespeare" / "input.txt"
)
STAGES = ("bigram", "one-head", "multi-head", "feed-forward", "residual", "layernorm")
LECTURE = dict(
    batch_size=32,
    block_size=8,
    n_embd=32,
    n_head=4,
    n_layer=3,
    dropout=0.0,
    lr=1e-3,
    max_iters=5000,
    eval_interval=500,
    eval_iters=200,
)
BIGRAM = LECTURE | dict(lr=1e-2, max_iters=3000, eval_interval=300)
SCALED = LECTURE | dict(
    batch_size=64, block_size=256, n_embd=384, n_head=6, n_layer=6, dropout=0.2, lr=3e-4
)
# Validation losses from the lecture's commits, for the README table.
REFERENCE_VAL_LOSS = {
    "bigram": 2.49,
    "one-head": 2.5,
    "multi-head": 2.28,
    "feed-forward": 2.24,
    "layernorm": 2.06,
}

# Measured on the shipped sample (examples/gpt.py --stage S --seed N, no --data), for the note
# a run without the full text prints: what such a run should reach.
SAMPLE_VAL_LOSS = {"bigram": "2.4165 and 2.4179", "layernorm": "2.0165 and 2.0250"}


def linear(fan_in: int, fan_out: int, rng, bias: bool = True, dtype=np.float64) -> nn.Linear:
    return nn.Linear(fan_in, fan_out, bias=bias, init="pytorch", seed=rng, dtype=dtype)


class Head(nn.Module):
    """One head of self-attention."""

    def __init__(self, n_embd, head_size, block_size, dropout, rng, dtype=np.float64):
        self.key = linear(n_embd, head_size, rng, bias=False, dtype=dtype)
        self.query = linear(n_embd, head_size, rng, bias=False, dtype=dtype)
        self.value = linear(n_embd, head_size, rng, bias=False, dtype=dtype)
        self.register_buffer("tril", np.tril(np.ones((block_size, block_size))))
        self.dropout = nn.Dropout(dropout, seed=rng)

    def forward(self, x):
        B, T, C = x.shape
        k = self.key(x)  # (B, T, head_size)
        q = self.query(x)  # (B, T, head_size)
        # attention scores ("affinities"), scaled by 1/sqrt(head_size)
        wei = q @ k.swapaxes(-2, -1) * k.shape[-1] ** -0.5  # (B, T, T)
        wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))  # the future hidden
        wei = nn.softmax(wei, axis=-1)
        self.attention = wei.data  # kept for nn.draw_attention
        wei = self.dropout(wei)
        v = self.value(x)
        return wei @ v  # (B, T, head_size)


class MultiHeadAttention(nn.Module):
    """Several heads in parallel, concatenated; then a projection (from the residual stage)."""

    def __init__(
        self, num_heads, head_size, n_embd, block_size, dropout, rng, proj=True, dtype=np.float64
    ):
        self.heads = nn.ModuleList(
            Head(n_embd, head_size, block_size, dropout, rng, dtype) for _ in range(num_heads)
        )
        self.proj = linear(head_size * num_heads, n_embd, rng, dtype=dtype) if proj else None
        self.dropout = nn.Dropout(dropout, seed=rng)

    def forward(self, x):
        out = concatenate([h(x) for h in self.heads], axis=-1)
        return out if self.proj is None else self.dropout(self.proj(out))


class FeedForward(nn.Module):
    """A linear layer and a ReLU (the lecture's first version); with expand=4 the inner layer
    is 4 * n_embd wide and projected back, as in the paper."""

    def __init__(self, n_embd, dropout, rng, expand=4, dtype=np.float64):
        if expand is None:
            self.net = nn.Sequential(linear(n_embd, n_embd, rng, dtype=dtype), nn.ReLU())
        else:
            self.net = nn.Sequential(
                linear(n_embd, expand * n_embd, rng, dtype=dtype),
                nn.ReLU(),
                linear(expand * n_embd, n_embd, rng, dtype=dtype),
                nn.Dropout(dropout, seed=rng),
            )

    def forward(self, x):
        return self.net(x)


class Block(nn.Module):
    """Transformer block: communication (attention) then computation (feed-forward), each
    added to its input (residual), after a LayerNorm when layernorm is set (pre-norm)."""

    def __init__(self, n_embd, n_head, block_size, dropout, rng, layernorm=True, dtype=np.float64):
        head_size = n_embd // n_head
        self.sa = MultiHeadAttention(
            n_head, head_size, n_embd, block_size, dropout, rng, dtype=dtype
        )
        self.ffwd = FeedForward(n_embd, dropout, rng, dtype=dtype)
        self.ln1 = nn.LayerNorm(n_embd, dtype=dtype) if layernorm else None
        self.ln2 = nn.LayerNorm(n_embd, dtype=dtype) if layernorm else None

    def forward(self, x):
        x = x + self.sa(x if self.ln1 is None else self.ln1(x))
        x = x + self.ffwd(x if self.ln2 is None else self.ln2(x))
        return x


class BigramLanguageModel(nn.Module):
    """bigram.py: each token reads off the logits for the next token from a lookup table."""

    def __init__(self, vocab_size, rng, dtype=np.float64, **unused):
        self.block_size = 1
        self.token_embedding_table = nn.Embedding(vocab_size, vocab_size, seed=rng, dtype=dtype)

    def forward(self, idx, targets=None):
        logits = self.token_embedding_table(idx)  # (B, T, vocab_size)
        return logits, _loss(logits, targets)


class GPTLanguageModel(nn.Module):
    """Token and position embeddings, the stage's body, (a final LayerNorm,) a linear head."""

    def __init__(
        self,
        vocab_size,
        stage,
        n_embd,
        n_head,
        n_layer,
        block_size,
        dropout,
        rng,
        dtype=np.float64,
        **unused,
    ):
        self.block_size = block_size
        self.token_embedding_table = nn.Embedding(vocab_size, n_embd, seed=rng, dtype=dtype)
        self.position_embedding_table = nn.Embedding(block_size, n_embd, seed=rng, dtype=dtype)
        head = dict(n_embd=n_embd, block_size=block_size, dropout=dropout, rng=rng, dtype=dtype)
        if stage == "one-head":
            self.body = Head(head_size=n_embd, **head)
        elif stage in ("multi-head", "feed-forward"):
            layers = [MultiHeadAttention(n_head, n_embd // n_head, proj=False, **head)]
            if stage == "feed-forward":
                layers.append(FeedForward(n_embd, dropout, rng, expand=None, dtype=dtype))
            self.body = nn.Sequential(*layers)
        elif stage in ("residual", "layernorm"):
            norm = stage == "layernorm"
            blocks = [Block(n_head=n_head, layernorm=norm, **head) for _ in range(n_layer)]
            self.body = nn.Sequential(*blocks)
        else:
            raise ValueError(f"unknown stage {stage!r}: expected one of {STAGES}")
        self.ln_f = nn.LayerNorm(n_embd, dtype=dtype) if stage == "layernorm" else None
        self.lm_head = linear(n_embd, vocab_size, rng, dtype=dtype)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        tok_emb = self.token_embedding_table(idx)  # (B, T, n_embd)
        pos_emb = self.position_embedding_table(np.arange(T))  # (T, n_embd)
        x = self.body(tok_emb + pos_emb)
        if self.ln_f is not None:
            x = self.ln_f(x)
        logits = self.lm_head(x)  # (B, T, vocab_size)
        return logits, _loss(logits, targets)


def _loss(logits, targets):
    if targets is None:
        return None
    B, T, C = logits.shape
    return nn.cross_entropy(logits.reshape(B * T, C), np.asarray(targets).reshape(B * T))


def build_model(stage: str, vocab_size: int, seed: int, dtype=np.float64, **settings):
    """The stage's model with weights drawn from seed."""
    rng = np.random.default_rng(seed)
    if stage == "bigram":
        return BigramLanguageModel(vocab_size, rng, dtype=dtype)
    return GPTLanguageModel(vocab_size, stage, rng=rng, dtype=dtype, **settings)


@no_grad()
def generate(model, idx: np.ndarray, max_new_tokens: int, rng: np.random.Generator):
    """idx (B, T) extended by max_new_tokens characters drawn from the model's softmax."""
    model.eval()
    for _ in range(max_new_tokens):
        idx_cond = idx[:, -model.block_size :]  # the last block_size tokens
        logits, _ = model(idx_cond)
        probs = nn.softmax(logits[:, -1, :], axis=-1)  # (B, C)
        idx_next = nn.multinomial(probs, num_samples=1, rng=rng)  # (B, 1)
        idx = np.concatenate([idx, idx_next], axis=1)
    model.train()
    return idx


@no_grad()
def estimate_loss(model, text, settings: dict, rng: np.random.Generator) -> dict[str, float]:
    """The mean loss of eval_iters random batches of each split, in eval mode."""
    model.eval()
    out = {}
    for split in ("train", "val"):
        batches = text.batches(split, settings["batch_size"], settings["block_size"], rng)
        losses = [model(*next(batches))[1].item() for _ in range(settings["eval_iters"])]
        out[split] = float(np.mean(losses))
    model.train()
    return out


def train(model, text, settings: dict, seed: int, progress: bool = True) -> list[dict]:
    """AdamW for max_iters steps on random train batches; the estimated losses at every
    eval_interval and at the end, as {"step", "train", "val"} rows."""
    optimizer = nn.AdamW(model.parameters(), lr=settings["lr"])
    batches = text.batches("train", settings["batch_size"], settings["block_size"], seed)
    eval_rng = np.random.default_rng(seed + 1_000_000)
    history = []
    bar = tqdm(range(settings["max_iters"]), disable=not progress, mininterval=1.0)
    for step in bar:
        if step % settings["eval_interval"] == 0:
            history.append({"step": step, **estimate_loss(model, text, settings, eval_rng)})
            bar.set_postfix(train=f"{history[-1]['train']:.4f}", val=f"{history[-1]['val']:.4f}")
        xb, yb = next(batches)
        logits, loss = model(xb, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    history.append(
        {"step": settings["max_iters"], **estimate_loss(model, text, settings, eval_rng)}
    )
    return history


def run(stage, data, seed, settings, dtype=np.float64, progress=True, sample_chars=500) -> dict:
    """Build, train and sample one stage on data (a path, or a loaded nn.data.Text); a summary
    dict."""
    text = data if isinstance(data, nn.data.Text) else nn.data.load_text(data)
    model = build_model(stage, text.vocab_size, seed, dtype=dtype, **settings)
    start = time.perf_counter()
    history = train(model, text, settings, seed, progress)
    seconds = time.perf_counter() - start
    context = np.zeros((1, 1), dtype=np.int64)
    sample = text.decode(generate(model, context, sample_chars, np.random.default_rng(seed))[0])
    return {
        "stage": stage,
        "seed": seed,
        "parameters": sum(p.size for p in model.parameters()),
        "seconds": round(seconds, 1),
        "history": history,
        "train_loss": history[-1]["train"],
        "val_loss": history[-1]["val"],
        "sample": sample,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=STAGES, default="layernorm")
    parser.add_argument("--scaled", action="store_true", help="gpt.py's large model")
    parser.add_argument("--dropout", type=float, help="dropout rate (lecture: 0.2 when scaled)")
    parser.add_argument("--steps", type=int, help="override max_iters")
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--float32", action="store_true", help="float32 weights (default 64)")
    parser.add_argument(
        "--data", help=f"a UTF-8 text file (default {DEFAULT_DATA}, else the shipped sample)"
    )
    options = parser.parse_args(argv)
    data = options.data
    if data is None and DEFAULT_DATA.is_file():
        data = str(DEFAULT_DATA)
    elif data is None:
        print(
            f"Note: {DEFAULT_DATA} is not there, so this trains on the sample shipped in "
            f"nn/data ({nn.data.TEXT_SAMPLE_PATH.name}: the first 1,000 lines, 26,182 "
            "characters): its losses are not the lecture's. Pass --data input.txt for those."
        )
        data = str(nn.data.TEXT_SAMPLE_PATH)
    elif not Path(data).is_file():
        print(f"gpt.py: --data {data}: no such file", file=sys.stderr)
        return 2
    stage = "layernorm" if options.scaled else options.stage
    settings = dict(SCALED if options.scaled else BIGRAM if stage == "bigram" else LECTURE)
    if options.dropout is not None:
        settings["dropout"] = options.dropout
    if options.steps is not None:
        settings["max_iters"] = options.steps
    dtype = np.float32 if options.float32 else np.float64
    text = nn.data.load_text(data)
    print(f"Data: {text!r}, the first 90% to train on, the rest to validate")
    print(
        f"{stage}: batch {settings['batch_size']}, block {settings['block_size']}"
        + ("" if stage == "bigram" else f", n_embd {settings['n_embd']}")
        + ("" if stage in ("bigram", "one-head") else f", {settings['n_head']} heads")
        + (f", {settings['n_layer']} blocks" if stage in ("residual", "layernorm") else "")
        + f", dropout {settings['dropout']}, AdamW lr {settings['lr']}, {settings['max_iters']} "
        f"steps, seed {options.seed}, {np.dtype(dtype).name}"
    )
    if data == str(nn.data.TEXT_SAMPLE_PATH) and stage in SAMPLE_VAL_LOSS:
        steps = (BIGRAM if stage == "bigram" else LECTURE)["max_iters"]
        print(
            f"  On the sample, {steps} steps, seeds 1337 and 1: val loss {SAMPLE_VAL_LOSS[stage]}."
        )
    summary = run(stage, text, options.seed, settings, dtype)
    for row in summary["history"]:
        print(f"step {row['step']}: train loss {row['train']:.4f}, val loss {row['val']:.4f}")
    on_sample = data == str(nn.data.TEXT_SAMPLE_PATH)  # its losses are not the lecture's
    reference = REFERENCE_VAL_LOSS.get(stage) if not (options.scaled or on_sample) else None
    print(
        f"{stage} ({summary['parameters']:,} parameters), seed {options.seed}, "
        f"{settings['max_iters']} steps in {summary['seconds']} s: train loss "
        f"{summary['train_loss']:.4f}, val loss {summary['val_loss']:.4f}"
        + (f" (lecture: {reference})" if reference else "")
    )
    print(summary["sample"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
