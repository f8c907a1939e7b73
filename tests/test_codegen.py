"""autodiff.gradient_source: the written-out program, run in a fresh namespace on plain arrays,
returns what autodiff.grad returns, for every op of the table and for whole programs; the MLP's
text is a golden file; what cannot be written is refused, saying why."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose
from test_ops import NAMES, OP_CASES

import autodiff
import nn
from autodiff import CodeUnavailable, Op, Tensor, apply, gradient_source

GOLDEN = Path(__file__).parent / "golden" / "mlp_gradient_source.txt"


def run_source(source: str, function: str, *arrays):
    """Execute the module in a namespace of its own and call its function."""
    namespace: dict = {}
    exec(compile(source, "<generated>", "exec"), namespace)  # noqa: S102
    assert set(namespace) - {"__builtins__"} >= {function, "np"}
    return namespace[function](*arrays)


def assert_matches_grad(fn, *args, rtol=1e-12, atol=1e-12):
    """gradient_source(fn, *args) run on the arrays gives fn's value and autodiff.grad's."""
    source = gradient_source(fn, *args)
    arrays = [a.data.copy() if isinstance(a, Tensor) else a for a in args]
    value, grads = run_source(source, f"{fn.__name__}_and_grad", *arrays)
    wrt = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
    loss = fn(*args)
    expected = autodiff.grad(loss, wrt)
    assert len(grads) == len(wrt)
    assert_allclose(value, loss.data, rtol=rtol, atol=atol)
    for position, (got, want) in enumerate(zip(grads, expected)):
        assert np.shape(got) == want.shape, f"gradient {position}"
        assert np.asarray(got).dtype == want.dtype, f"gradient {position}"
        assert_allclose(got, want.data, rtol=rtol, atol=atol, err_msg=f"gradient {position}")
    return source


def leaf(*shape, seed, scale=1.0, dtype=np.float64):
    data = scale * np.random.default_rng(seed).standard_normal(shape)
    return Tensor(data, requires_grad=True, dtype=dtype)


# ---------------------------------------------------------------- every op family


@pytest.mark.parametrize("name", NAMES)
def test_every_op_written_out_matches_grad(name):
    case = OP_CASES[name]
    leaves = [Tensor(a, requires_grad=True) for a in case.inputs]
    weights = np.random.default_rng(0).standard_normal(case.build(*leaves).shape)
    namespace = {"build": case.build}
    params = ", ".join(f"x{i}" for i in range(len(leaves)))
    # The square makes every rule's input matter; the weights make each output entry count.
    exec(
        f"def f({params}, w):\n    out = build({params})\n    return (out * out * w).sum()",
        namespace,
    )  # noqa: S102
    assert_matches_grad(namespace["f"], *leaves, weights)


@pytest.mark.parametrize("name", NAMES)
def test_every_op_written_out_keeps_float32(name):
    case = OP_CASES[name]
    leaves = [Tensor(a, requires_grad=True, dtype=np.float32) for a in case.inputs]
    weights = np.random.default_rng(0).standard_normal(case.build(*leaves).shape)
    namespace = {"build": case.build}
    params = ", ".join(f"x{i}" for i in range(len(leaves)))
    exec(
        f"def f({params}, w):\n    out = build({params})\n    return (out * out * w).sum()",
        namespace,
    )  # noqa: S102
    assert_matches_grad(namespace["f"], *leaves, weights.astype(np.float32), rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- whole programs


def mlp_loss(w1, b1, w2, b2, x, y):
    """Nielsen's network: sigmoid layers, quadratic cost."""
    z1 = nn.affine(x, w1, b1)
    a1 = nn.sigmoid(z1)
    z2 = nn.affine(a1, w2, b2)
    a2 = nn.sigmoid(z2)
    return nn.mse_loss(a2, y)


def mlp_arguments(dtype=np.float64, batch=5):
    rng = np.random.default_rng(1)
    params = [leaf(*s, seed=i, dtype=dtype) for i, s in enumerate([(4, 3), (4,), (2, 4), (2,)])]
    x = rng.standard_normal((batch, 3)).astype(dtype)
    y = rng.random((batch, 2)).astype(dtype)
    return [*params, x, y]


def test_mlp_reads_like_backprop_by_hand():
    source = assert_matches_grad(mlp_loss, *mlp_arguments())
    assert "def mlp_loss_and_grad(w1, b1, w2, b2, x, y):" in source
    for line in (
        "z1 = x @ w1.T + b1",
        "a1 = 1 / (1 + np.exp(-z1))",
        "grad_z2 = grad_a2 * (a2 * (1 - a2))  # sigmoid' = s(1 - s)",
        "grad_w1 = grad_z1.T @ x  # affine: g^T x",
        "grad_b1 = grad_z1.sum(axis=0)  # affine: g summed over the batch",
        "return loss, (grad_w1, grad_b1, grad_w2, grad_b2)",
    ):
        assert line in source, line
    imports = [line for line in source.splitlines() if "import" in line]
    assert imports == ["import numpy as np"]


def test_mlp_source_matches_the_golden_file():
    """A change in what learners read is a reviewed change: regenerate the file with
    UPDATE_GOLDEN=1 and read the diff."""
    source = gradient_source(mlp_loss, *mlp_arguments())
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(source)
    assert source == GOLDEN.read_text()


def test_generated_function_works_for_another_batch_size_and_float32():
    args = mlp_arguments(np.float32)
    source = assert_matches_grad(mlp_loss, *args, rtol=1e-5, atol=1e-6)
    bigger = mlp_arguments(np.float32, batch=9)
    value, grads = run_source(
        source, "mlp_loss_and_grad", *[a.data if isinstance(a, Tensor) else a for a in bigger]
    )
    expected = autodiff.grad(mlp_loss(*bigger), bigger[:4])
    for got, want in zip(grads, expected):
        assert got.dtype == np.float32
        assert_allclose(got, want.data, rtol=1e-5, atol=1e-6)


def test_broadcasting_by_hand_sums_over_rows():
    def layer(w, b, x, y):
        z = x @ w.T + b  # b broadcast over the rows
        return ((z.tanh() - y) ** 2).mean()

    w, b = leaf(3, 4, seed=1), leaf(3, seed=2)
    x, y = np.random.default_rng(3).standard_normal((6, 4)), np.zeros((6, 3))
    source = assert_matches_grad(layer, w, b, x, y)
    assert "grad_b = grad_z.sum(axis=0)  # broadcast: sum over rows" in source


def test_a_tensor_used_twice_accumulates_with_plus_equals():
    def twice(w, x):
        h = x * w
        return (h * h + np.sin(h)).sum()

    w = leaf(2, 3, seed=4)
    x = np.random.default_rng(5).standard_normal((2, 3))
    source = assert_matches_grad(twice, w, x)
    assert "grad_h += " in source
    assert source.count("grad_h = ") == 1


def test_softmax_cross_entropy_with_integer_labels():
    def classifier(w1, b1, w2, b2, x, labels):
        hidden = nn.relu(nn.affine(x, w1, b1))
        logits = nn.affine(hidden, w2, b2)
        return nn.cross_entropy(logits, labels)

    params = [leaf(*s, seed=i) for i, s in enumerate([(5, 4), (5,), (3, 5), (3,)])]
    x = np.random.default_rng(6).standard_normal((7, 4))
    labels = np.array([0, 2, 1, 1, 0, 2, 2])
    source = assert_matches_grad(classifier, *params, x, labels)
    assert "[np.arange(len(logits)), labels]" in source
    assert "np.eye" not in source


def test_makemore_batch_norm_mlp():
    """Lecture 4's network: embedding lookup, linear, batch norm, tanh, cross-entropy."""

    def makemore(embedding, w1, gain, shift, w2, b2, context, targets):
        emb = embedding[context]
        h_pre = emb.reshape(len(context), -1) @ w1
        h_norm = nn.layers.normalize(h_pre, (0,)) * gain + shift
        h = h_norm.tanh()
        logits = h @ w2 + b2
        return nn.cross_entropy(logits, targets)

    rng = np.random.default_rng(7)
    params = [
        leaf(27, 4, seed=10),
        leaf(12, 8, seed=11, scale=0.3),
        Tensor(np.ones(8), requires_grad=True),
        Tensor(np.zeros(8), requires_grad=True),
        leaf(8, 27, seed=12, scale=0.1),
        leaf(27, seed=13, scale=0.0),
    ]
    context = rng.integers(0, 27, (6, 3))
    context[1] = context[0]  # repeated rows of the embedding: their gradients add up
    targets = rng.integers(0, 27, 6)
    source = assert_matches_grad(makemore, *params, context, targets)
    assert "emb = embedding[context]" in source
    assert "np.add.at(grad_embedding, context, grad_emb)" in source


def test_conv_net():
    def convnet(kernels, bias, w, b, images, labels):
        features = nn.relu(nn.conv2d(images, kernels, bias, padding=1))
        pooled = nn.max_pool2d(features, 2)
        logits = nn.affine(pooled.reshape(len(images), -1), w, b)
        return nn.cross_entropy(logits, labels)

    kernels, bias = leaf(3, 1, 3, 3, seed=20, scale=0.5), leaf(3, seed=21)
    w, b = leaf(4, 3 * 3 * 3, seed=22, scale=0.3), leaf(4, seed=23)
    images = np.random.default_rng(24).standard_normal((2, 1, 6, 6))
    labels = np.array([3, 1])
    source = assert_matches_grad(convnet, kernels, bias, w, b, images, labels)
    assert "sliding_window_view" in source and "nn." not in source


def test_arguments_without_gradient_stay_inputs():
    def scaled(w, scale, x):
        return (w * scale * x).sum()

    w = leaf(3, seed=30)
    constant_tensor = Tensor(np.array([1.0, 2.0, 3.0]))  # no requires_grad: an input
    source = assert_matches_grad(scaled, w, constant_tensor, np.ones(3))
    assert "def scaled_and_grad(w, scale, x):" in source
    assert "return loss, (grad_w,)" in source


# ---------------------------------------------------------------- what cannot be written


def test_a_python_branch_on_values_is_refused_saying_why():
    def branchy(w, x):
        out = (w * x).sum()
        if out > 0:
            out = out * 2.0
        return out

    with pytest.raises(CodeUnavailable, match="reads tensor values into Python"):
        gradient_source(branchy, leaf(3, seed=40), np.ones(3))


class Cube(Op):
    """z = x^3;  dx = 3 g x^2 (no code form: the generator must refuse it)"""

    def forward(self, x):
        return x**3

    def backward(self, grad_out, x, z):
        return (3 * grad_out * x * x,)


def test_an_op_without_a_code_form_is_refused_saying_which():
    def cubed(w):
        return apply(Cube(), w).sum()

    with pytest.raises(CodeUnavailable, match="Cube has no code form"):
        gradient_source(cubed, leaf(3, seed=41))


def test_a_large_constant_is_refused_asking_for_an_argument():
    big = np.ones(1000)

    def uses_constant(w):
        return (w * big).sum()

    with pytest.raises(CodeUnavailable, match="pass it as an argument"):
        gradient_source(uses_constant, leaf(1000, seed=42))


def test_batchnorm_modules_running_statistics_do_not_stop_gradient_source():
    # Their update is a side effect beside the ops: capture runs such a step eagerly, but the
    # gradient program is the same with or without it.
    norm = nn.BatchNorm1d(3)

    def normalized(x):
        return (norm(x) ** 2).sum()

    x = leaf(4, 3, seed=7)
    source = assert_matches_grad(normalized, x)
    assert "normalized_and_grad(x)" in source
