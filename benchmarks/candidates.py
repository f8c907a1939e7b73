"""The implementations that benchmarks/speed.py compares, each built from the same weights.

The hand-written numpy baseline (baseline.py), the engine through its public API, and
PyTorch when it can be imported; plus the cases (network, cost, learning rate) and the data.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # the checkout's engine, and baseline.py

from baseline import MatrixBackprop  # noqa: E402

import autodiff  # noqa: E402
import nn  # noqa: E402


@dataclass
class Case:
    title: str
    sizes: list[int]
    cost: str  # "quadratic" or "cross_entropy", as in baseline.COSTS
    lr: float
    examples: int
    quick_examples: int


CASES = {
    "mse30": Case("[784, 30, 10], quadratic cost, lr 3.0", [784, 30, 10], "quadratic", 3.0,
                  50_000, 5_000),
    "ce100": Case("[784, 100, 10], cross-entropy, lr 0.5", [784, 100, 10], "cross_entropy", 0.5,
                  50_000, 5_000),
    "large": Case("[784, 1000, 1000, 10], quadratic cost, lr 0.5", [784, 1000, 1000, 10],
                  "quadratic", 0.5, 5_000, 500),
}  # fmt: skip
LOSSES = {"quadratic": nn.mse_loss, "cross_entropy": nn.binary_cross_entropy}
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "mnist"


# ---------------------------------------------------------------- data and the training loop


def load_training_examples(data_dir: Path, count: int) -> tuple[np.ndarray, np.ndarray, str]:
    """(pixels in [0, 1] as float64, one-hot labels, description): the first `count`
    training images of the .gz files in data_dir; random data if they are missing."""
    images = data_dir / f"{nn.data.FILES['train_images']}.gz"
    labels = data_dir / f"{nn.data.FILES['train_labels']}.gz"
    if not (images.exists() and labels.exists()):
        rng = np.random.default_rng(0)
        digits = rng.integers(0, 10, count)
        return rng.random((count, 784)), nn.data.one_hot(digits), "random data (MNIST not found)"
    pixels = nn.data.read_idx(images, ndim=3).reshape(-1, 784)[:count]
    digits = nn.data.read_idx(labels, ndim=1)[:count]
    return pixels / 255.0, nn.data.one_hot(digits), f"MNIST training images from {data_dir}"


def train_epoch(model, optimizer, loss_fn, x, y, batches) -> None:
    """The training loop exactly as a user writes it; the same code drives nn and PyTorch."""
    for idx in batches:
        xb, yb = x[idx], y[idx]
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def import_torch(site: str | None):
    """torch if it can be imported (optionally from another environment's site-packages)."""
    if site:
        sys.path.append(site)
    try:
        import torch
    except ImportError:
        return None
    return torch


# ---------------------------------------------------------------- candidates


class Candidates:
    """Builds each implementation from the same initial state; `make(name)` gives a fresh one
    as (run one epoch, final weights as arrays (out, in) and biases)."""

    def __init__(self, case: Case, dtype, x, y, batches, torch=None, jax=None):
        self.case, self.dtype, self.x, self.y, self.batches = case, dtype, x, y, batches
        self.initial = nn.MLP(case.sizes, seed=0, dtype=dtype).state_dict()
        self.torch, self.jax = torch, jax
        if torch is not None:
            self.torch_x, self.torch_y = torch.from_numpy(x), torch.from_numpy(y)
            self.torch_batches = [torch.from_numpy(idx) for idx in batches]

    def names(self) -> list[str]:
        peers = ["pytorch"] if self.torch else []
        peers += ["jax", "jax in-jit gather"] if self.jax else []
        return ["baseline", "autodiff", "autodiff Tensor(x)", "captured", "nn.fit step"] + peers

    def initial_weights(self) -> tuple[list, list]:
        layers = range(len(self.case.sizes) - 1)
        weights = [self.initial[f"layers.{i}.weight"] for i in layers]
        return weights, [self.initial[f"layers.{i}.bias"] for i in layers]

    def first_steps(self, steps: int) -> Candidates:
        """The same implementations, starting from the same weights, on the first `steps`
        mini-batches only."""
        return Candidates(
            self.case, self.dtype, self.x, self.y, self.batches[:steps], self.torch, self.jax
        )

    def make(self, name: str):
        method = {
            "autodiff Tensor(x)": "autodiff_wrapped",
            "nn.fit step": "fit_step",
            "jax in-jit gather": "jax_gather_in_jit",
        }.get(name, name)
        return getattr(self, "_make_" + method)()

    def _make_baseline(self):
        weights, biases = self.initial_weights()
        net = MatrixBackprop(weights, biases, self.case.cost, self.case.lr, self.dtype)
        return lambda: net.train_epoch(self.x, self.y, self.batches), lambda: net.weights

    def _make_autodiff(self):
        model = nn.MLP(self.case.sizes, seed=0, dtype=self.dtype)
        model.load_state_dict(self.initial)
        optimizer = nn.SGD(model.parameters(), lr=self.case.lr)
        loss_fn = LOSSES[self.case.cost]

        def run():
            train_epoch(model, optimizer, loss_fn, self.x, self.y, self.batches)

        return run, lambda: [layer.weight.data for layer in model.layers]

    def _make_autodiff_wrapped(self):
        """The user's loop written with Tensor(x[idx]), Tensor(y[idx]) around the batch."""
        model = nn.MLP(self.case.sizes, seed=0, dtype=self.dtype)
        model.load_state_dict(self.initial)
        optimizer = nn.SGD(model.parameters(), lr=self.case.lr)
        loss_fn, x, y = LOSSES[self.case.cost], self.x, self.y

        def run():
            for idx in self.batches:
                loss = loss_fn(model(autodiff.Tensor(x[idx])), autodiff.Tensor(y[idx]))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

        return run, lambda: [layer.weight.data for layer in model.layers]

    def _make_captured(self):
        """The same loop with forward and backward captured and compiled (before timing)."""
        model = nn.MLP(self.case.sizes, seed=0, dtype=self.dtype)
        model.load_state_dict(self.initial)
        optimizer = nn.SGD(model.parameters(), lr=self.case.lr)
        loss_fn = LOSSES[self.case.cost]
        step = autodiff.capture(lambda xb, yb: loss_fn(model(xb), yb))
        x, y = self.x, self.y

        def run_batches(batches):
            for idx in batches:
                optimizer.zero_grad()
                step(x[idx], y[idx])
                optimizer.step()

        self._compile_untimed(model, run_batches)
        return lambda: run_batches(self.batches), lambda: [
            layer.weight.data for layer in model.layers
        ]

    def _compile_untimed(self, model, run_batches) -> None:
        """Record and compile before the clock starts, as the JAX rows compile before it:
        three steps on the first batch shape, then the initial weights back (SGD without
        momentum keeps no other state). The compile time is reported on its own."""
        run_batches(self.batches[:3])
        model.load_state_dict(self.initial)
        for p in model.parameters():
            p.grad = None

    def _make_fit_step(self):
        """nn.fit's inner loop: its compiled step (forward, backward and the SGD update in one
        program, compiled before timing), fed the same x[idx]."""
        model = nn.MLP(self.case.sizes, seed=0, dtype=self.dtype)
        model.load_state_dict(self.initial)
        optimizer = nn.SGD(model.parameters(), lr=self.case.lr)
        step = nn.training.training_step(model, LOSSES[self.case.cost], optimizer)
        x, y = self.x, self.y

        def run_batches(batches):
            for idx in batches:
                step(x[idx], y[idx])

        self._compile_untimed(model, run_batches)
        return lambda: run_batches(self.batches), lambda: [
            layer.weight.data for layer in model.layers
        ]

    def _make_jax(self):
        """jax.jit on the whole step, the batch gathered on the host (`x[idx]` in numpy) and
        passed in, as JAX's own training examples do."""
        jax, jnp = self.jax, self.jax.numpy
        weights, biases = self.initial_weights()
        params = ([jnp.asarray(w) for w in weights], [jnp.asarray(b) for b in biases])
        step = jax_step(jax, self.case.cost, self.case.lr)
        x, y = self.x, self.y
        state = {"params": params}
        first = self.batches[0]
        jax.block_until_ready(step(params, x[first], y[first]))  # compile

        def run():
            params = state["params"]
            for idx in self.batches:
                params = step(params, x[idx], y[idx])
            state["params"] = jax.block_until_ready(params)

        return run, lambda: [np.asarray(w) for w in state["params"][0]]

    def _make_jax_gather_in_jit(self):
        """jax.jit on the whole step, the gather x[idx] included: the data set is put on the
        device once and each step receives only the indices."""
        jax, jnp = self.jax, self.jax.numpy
        weights, biases = self.initial_weights()
        params = ([jnp.asarray(w) for w in weights], [jnp.asarray(b) for b in biases])
        step = jax_step(jax, self.case.cost, self.case.lr, gather=True)
        x, y = jnp.asarray(self.x), jnp.asarray(self.y)
        state = {"params": params}
        jax.block_until_ready(step(params, x, y, self.batches[0]))  # compile

        def run():
            params = state["params"]
            for idx in self.batches:
                params = step(params, x, y, idx)
            state["params"] = jax.block_until_ready(params)

        return run, lambda: [np.asarray(w) for w in state["params"][0]]

    def _make_pytorch(self):
        torch = self.torch
        dtype = torch.float64 if self.dtype == np.float64 else torch.float32
        layers = []
        for weight, bias in zip(*self.initial_weights()):
            linear = torch.nn.Linear(weight.shape[1], weight.shape[0], dtype=dtype)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(weight))
                linear.bias.copy_(torch.from_numpy(bias))
            layers += [linear, torch.nn.Sigmoid()]
        model = torch.nn.Sequential(*layers)
        optimizer = torch.optim.SGD(model.parameters(), lr=self.case.lr)
        if self.case.cost == "quadratic":

            def loss_fn(a, y):
                return 0.5 * ((a - y) ** 2).sum() / len(a)
        else:

            def loss_fn(a, y):
                return torch.nn.functional.binary_cross_entropy(a, y, reduction="sum") / len(a)

        def run():
            train_epoch(model, optimizer, loss_fn, self.torch_x, self.torch_y, self.torch_batches)

        return run, lambda: [m.weight.detach().numpy() for m in model if hasattr(m, "weight")]


def import_jax(threads: int | None):
    """jax with float64 enabled (and XLA on `threads` threads), or None if not installed."""
    if threads:
        flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + flags).strip()
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    return jax


def jax_step(jax, cost: str, lr: float, gather: bool = False):
    """The whole SGD step as one jax.jit function: (params, xb, yb) -> updated params, or
    with gather (params, x, y, idx), the batch taken inside the jitted function."""
    jnp = jax.numpy

    def loss(params, x, y):
        a = x
        for w, b in zip(*params):
            a = jax.nn.sigmoid(a @ w.T + b)
        if cost == "quadratic":
            return 0.5 * jnp.sum((a - y) ** 2) / len(x)
        return -jnp.sum(y * jnp.log(a) + (1 - y) * jnp.log(1 - a)) / len(x)

    def step(params, xb, yb):
        grads = jax.grad(loss)(params, xb, yb)
        return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)

    if gather:
        return jax.jit(lambda params, x, y, idx: step(params, x[idx], y[idx]))
    return jax.jit(step)
