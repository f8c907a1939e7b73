"""examples/gpt.py, the lecture's model, against the same model written directly in numpy
(forward and backward by hand, float64): logits, loss and every parameter's gradient. Also
causality, load_text, a short training run, and generate's seeded sampling.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

import nn
from autodiff import Tensor

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("gpt_example", ROOT / "examples" / "gpt.py")
gpt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpt)

SMALL = dict(n_embd=12, n_head=3, n_layer=2, block_size=6, dropout=0.0)
VOCAB = 11


# ---------------------------------------------------------------- the model in plain numpy


def layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    inverse_std = 1 / np.sqrt(((x - mean) ** 2).mean(-1, keepdims=True) + eps)
    xhat = (x - mean) * inverse_std
    return xhat * weight + bias, (xhat, inverse_std, weight)


def layer_norm_back(dy, cache):
    xhat, inverse_std, weight = cache
    dxhat = dy * weight
    dx = (
        dxhat - dxhat.mean(-1, keepdims=True) - xhat * (dxhat * xhat).mean(-1, keepdims=True)
    ) * inverse_std
    return dx, (dy * xhat).sum((0, 1)), dy.sum((0, 1))


def head(x, wq, wk, wv):
    T = x.shape[1]
    q, k, v = x @ wq.T, x @ wk.T, x @ wv.T
    scores = q @ k.swapaxes(-1, -2) / np.sqrt(wk.shape[0])
    scores = np.where(np.tril(np.ones((T, T))) == 0, -np.inf, scores)
    p = np.exp(scores - scores.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return p @ v, (x, q, k, v, p)


def head_back(dout, cache, wq, wk, wv):
    x, q, k, v, p = cache
    dp = dout @ v.swapaxes(-1, -2)
    dv = p.swapaxes(-1, -2) @ dout
    dscores = p * (dp - (dp * p).sum(-1, keepdims=True)) / np.sqrt(wk.shape[0])
    dq, dk = dscores @ k, dscores.swapaxes(-1, -2) @ q
    rows = x.reshape(-1, x.shape[-1])
    grads = [d.reshape(-1, d.shape[-1]).T @ rows for d in (dq, dk, dv)]
    return dq @ wq + dk @ wk + dv @ wv, grads


def numpy_gpt(P, idx, targets, n_layer, n_head):
    """Logits, loss and the gradient of every parameter, by hand."""
    B, T = idx.shape
    x = P["token_embedding_table.weight"][idx] + P["position_embedding_table.weight"][:T]
    caches = []
    for layer in range(n_layer):
        pre = f"body.layers.{layer}."
        h, ln1 = layer_norm(x, P[pre + "ln1.weight"], P[pre + "ln1.bias"])
        outs, head_caches = [], []
        for index in range(n_head):
            w = [P[f"{pre}sa.heads.{index}.{n}.weight"] for n in ("query", "key", "value")]
            out, cache = head(h, *w)
            outs.append(out)
            head_caches.append(cache)
        cat = np.concatenate(outs, -1)
        x = x + cat @ P[pre + "sa.proj.weight"].T + P[pre + "sa.proj.bias"]
        h2, ln2 = layer_norm(x, P[pre + "ln2.weight"], P[pre + "ln2.bias"])
        z = h2 @ P[pre + "ffwd.net.layers.0.weight"].T + P[pre + "ffwd.net.layers.0.bias"]
        a = np.maximum(z, 0)
        x = x + a @ P[pre + "ffwd.net.layers.2.weight"].T + P[pre + "ffwd.net.layers.2.bias"]
        caches.append((h, ln1, head_caches, cat, h2, ln2, z, a))
    hf, lnf = layer_norm(x, P["ln_f.weight"], P["ln_f.bias"])
    logits = hf @ P["lm_head.weight"].T + P["lm_head.bias"]
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    loss = -np.take_along_axis(log_probs, targets[..., None], -1).mean()

    G = {}
    dlogits = (np.exp(log_probs) - np.eye(VOCAB)[targets]) / (B * T)
    G["lm_head.weight"] = dlogits.reshape(-1, VOCAB).T @ hf.reshape(B * T, -1)
    G["lm_head.bias"] = dlogits.sum((0, 1))
    dx, G["ln_f.weight"], G["ln_f.bias"] = layer_norm_back(dlogits @ P["lm_head.weight"], lnf)
    for layer in reversed(range(n_layer)):
        pre = f"body.layers.{layer}."
        h, ln1, head_caches, cat, h2, ln2, z, a = caches[layer]
        w2 = P[pre + "ffwd.net.layers.2.weight"]
        G[pre + "ffwd.net.layers.2.weight"] = dx.reshape(B * T, -1).T @ a.reshape(B * T, -1)
        G[pre + "ffwd.net.layers.2.bias"] = dx.sum((0, 1))
        dz = (dx @ w2) * (z > 0)
        G[pre + "ffwd.net.layers.0.weight"] = dz.reshape(B * T, -1).T @ h2.reshape(B * T, -1)
        G[pre + "ffwd.net.layers.0.bias"] = dz.sum((0, 1))
        dh2 = dz @ P[pre + "ffwd.net.layers.0.weight"]
        dln, G[pre + "ln2.weight"], G[pre + "ln2.bias"] = layer_norm_back(dh2, ln2)
        dx = dx + dln
        G[pre + "sa.proj.weight"] = dx.reshape(B * T, -1).T @ cat.reshape(B * T, -1)
        G[pre + "sa.proj.bias"] = dx.sum((0, 1))
        dcat = dx @ P[pre + "sa.proj.weight"]
        dh = np.zeros_like(h)
        size = dcat.shape[-1] // n_head
        for index, cache in enumerate(head_caches):
            names = [f"{pre}sa.heads.{index}.{n}.weight" for n in ("query", "key", "value")]
            part = dcat[..., index * size : (index + 1) * size]
            dpart, grads = head_back(part, cache, *(P[n] for n in names))
            dh += dpart
            G.update(zip(names, grads))
        dln, G[pre + "ln1.weight"], G[pre + "ln1.bias"] = layer_norm_back(dh, ln1)
        dx = dx + dln
    G["token_embedding_table.weight"] = np.zeros_like(P["token_embedding_table.weight"])
    np.add.at(G["token_embedding_table.weight"], idx, dx)
    G["position_embedding_table.weight"] = np.zeros_like(P["position_embedding_table.weight"])
    G["position_embedding_table.weight"][:T] = dx.sum(0)
    return logits, loss, G


def test_lecture_model_equals_the_model_written_in_numpy():
    model = gpt.build_model("layernorm", VOCAB, seed=3, **SMALL)
    rng = np.random.default_rng(4)
    idx, targets = rng.integers(0, VOCAB, (4, 6)), rng.integers(0, VOCAB, (4, 6))
    logits, loss = model(idx, targets)
    loss.backward()
    P = model.state_dict()
    assert not any("tril" in name for name in (n for n, _ in model.named_parameters()))
    theirs_logits, theirs_loss, theirs_grads = numpy_gpt(P, idx, targets, 2, 3)
    assert_allclose(logits.data, theirs_logits, rtol=1e-12, atol=1e-12)
    assert abs(loss.item() - theirs_loss) < 1e-12
    ours = dict(model.named_parameters())
    assert sorted(ours) == sorted(theirs_grads)
    for name, parameter in ours.items():
        assert_allclose(parameter.grad, theirs_grads[name], rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("stage", gpt.STAGES)
def test_changing_a_later_token_never_changes_earlier_logits(stage):
    model = gpt.build_model(stage, VOCAB, seed=5, **SMALL)
    idx = np.random.default_rng(6).integers(0, VOCAB, (2, 6))
    before, _ = model(idx)
    for position in range(6):
        changed = idx.copy()
        changed[:, position] = (changed[:, position] + 1) % VOCAB
        after, _ = model(changed)
        assert_allclose(after.data[:, :position], before.data[:, :position], rtol=0, atol=1e-13)
        assert not np.allclose(after.data[:, position], before.data[:, position])


def test_load_text_on_a_few_lines(tmp_path):
    path = tmp_path / "few.txt"
    path.write_text("hello there\nhi\n" * 10, encoding="utf-8")
    text = nn.data.load_text(path)
    assert text.chars == sorted(set("hello there\nhi\n")) and text.vocab_size == 9
    assert text.itos[text.stoi["h"]] == "h" and text.decode(text.encode("the hi")) == "the hi"
    assert len(text.train) == 135 and len(text.val) == 15  # the lecture's first 90%
    assert text.data.dtype == np.int64 and text.decode(text.data) == path.read_text()
    x, y = next(text.batches("val", batch_size=5, block_size=4, rng=0))
    assert x.shape == y.shape == (5, 4)
    for row_x, row_y in zip(x, y):  # y is x one character later, inside the val text
        window = text.decode(row_x) + text.decode(row_y)[-1:]
        assert text.decode(row_y) == window[1:] and window in text.decode(text.val)
    first = next(text.batches("train", 3, 4, rng=7))[0]
    assert np.array_equal(first, next(text.batches("train", 3, 4, rng=7))[0])
    with pytest.raises(ValueError, match="characters \\['z'\\]"):
        text.encode("z")
    with pytest.raises(ValueError, match="split"):
        next(text.batches("test", 2, 2))


@pytest.mark.parametrize(
    "content, reason",
    [(b"", "empty"), (b"text\x00\x01\x02", "binary"), ("caf\u00e9".encode("latin-1"), "not UTF-8")],
)
def test_load_text_refuses_bad_files_naming_them(tmp_path, content, reason):
    path = tmp_path / "bad.bin"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"bad.bin.*{reason}"):
        nn.data.load_text(path)


def test_load_text_without_a_path_reads_the_shipped_sample_and_says_so():
    with pytest.warns(nn.data.SampleDataWarning, match="embedded sample"):
        text = nn.data.load_text()
    assert text.text.startswith("First Citizen:") and len(text.data) == 26_182


def test_a_short_training_run_lowers_the_loss_and_samples_reproducibly():
    with pytest.warns(nn.data.SampleDataWarning):
        text = nn.data.load_text()
    settings = gpt.LECTURE | dict(max_iters=150, eval_interval=50, eval_iters=10, n_layer=1)
    model = gpt.build_model("layernorm", text.vocab_size, seed=0, **settings)
    history = gpt.train(model, text, settings, seed=0, progress=False)
    assert history[0]["step"] == 0 and history[-1]["step"] == 150
    assert history[-1]["train"] < history[0]["train"] - 0.5  # from ln(58) = 4.06
    start = np.zeros((1, 1), dtype=np.int64)
    first = gpt.generate(model, start, 30, np.random.default_rng(1))
    assert first.shape == (1, 31) and model.training
    assert np.array_equal(first, gpt.generate(model, start, 30, np.random.default_rng(1)))


def test_dropout_option_changes_training_only():
    model = gpt.build_model("layernorm", VOCAB, seed=2, **(SMALL | dict(dropout=0.2)))
    idx = np.random.default_rng(3).integers(0, VOCAB, (2, 6))
    model.eval()
    assert_allclose(model(idx)[0].data, model(idx)[0].data)
    model.train()
    assert not np.allclose(model(idx)[0].data, model(idx)[0].data)
    assert isinstance(model(Tensor(idx))[0], Tensor)
