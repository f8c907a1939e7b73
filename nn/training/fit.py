"""Training loops: `fit` with progress bars, per-epoch monitoring, checkpoints and Ctrl+C.

Monitoring follows network2.py's flags: cost and accuracy on evaluation data each epoch, and
optionally on the training data. Targets may be integer labels or one-hot rows: labels are
turned into one-hot rows for the losses that compare rows (all but cross_entropy), and
accuracy compares the argmax of the output with the labels.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from autodiff import capture, no_grad

from ..data import as_pair, iterate_minibatches, one_hot
from ..data.progress import tqdm
from ..data.temporary import temporary_path
from ..layers import MLP, Module
from ..losses import cross_entropy
from .serialization import nielsen_cost, save


@dataclass
class History:
    """Per-epoch figures; lists are empty when that figure was not monitored."""

    train_cost: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    evaluation_cost: list[float] = field(default_factory=list)
    evaluation_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    interrupted: bool = False

    @property
    def epochs(self) -> int:
        return len(self.seconds)

    def as_dict(self) -> dict:
        return asdict(self)


def labels_of(targets: np.ndarray) -> np.ndarray:
    """Integer labels from labels or one-hot rows."""
    targets = np.asarray(targets)
    return targets if targets.ndim == 1 else targets.argmax(axis=1)


@no_grad()
def targets_for(loss: Callable, model: Module, x, y) -> np.ndarray:
    """y as the loss wants it: integer labels become one-hot rows, except for cross_entropy."""
    y = np.asarray(y)
    if y.ndim != 1 or loss is cross_entropy:
        return y
    classes = model(x[:1]).shape[-1]
    return one_hot(y, classes, dtype=model.parameters()[0].dtype)


@no_grad()
def evaluate(
    model: Module, loss: Callable, x, y=None, batch_size: int = 1000
) -> tuple[float, float]:
    """(mean cost, accuracy) of model on (x, y), without recording a graph.

    With y omitted, x is the data: an (x, y) pair or Nielsen's list of (x, label) tuples.
    """
    x, y = as_pair(x if y is None else (x, y), "evaluate")
    _check_examples("evaluate", x, y)
    labels, y = labels_of(y), targets_for(loss, model, x, y)
    total_cost, correct = 0.0, 0
    for start in range(0, len(x), batch_size):
        stop = start + batch_size
        output = model(x[start:stop])
        total_cost += loss(output, y[start:stop]).item() * len(output)
        correct += int((output.data.argmax(axis=1) == labels[start:stop]).sum())
    return total_cost / len(x), correct / len(x)


def _check_examples(what: str, x, y) -> None:
    """Refuse data with no examples (a cost of 0/0) or complex values (no gradient here)."""
    if np.iscomplexobj(x) or np.iscomplexobj(y):
        raise ValueError(
            f"{what}: expected real numbers, got complex values ({np.asarray(x).dtype} x, "
            f"{np.asarray(y).dtype} y)"
        )
    if len(x) == 0 or len(y) == 0:
        raise ValueError(
            f"{what}: no examples (x has shape {np.shape(x)}, y has shape {np.shape(y)}); "
            "expected at least one row"
        )


def _check_writable(checkpoint) -> Path:
    """The checkpoint path, after proving that a file can be written beside it."""
    path = Path(checkpoint)
    if path.is_dir():
        raise IsADirectoryError(f"checkpoint={str(checkpoint)!r} is a folder; expected a file path")
    probe = temporary_path(path, "tmp")
    try:
        probe.open("xb").close()
        probe.unlink()
    except OSError as error:
        raise type(error)(
            error.errno, f"checkpoint={str(checkpoint)!r} cannot be written: {error.strerror}"
        ) from None
    return path


class _StopOnInterrupt:
    """Turn Ctrl+C into a flag, so training stops after the current mini-batch."""

    def __init__(self):
        self.requested = False

    def __enter__(self):
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._request)
        return self

    def _request(self, signum, frame):
        self.requested = True

    def __exit__(self, *exc_info):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def fit(
    model: Module,
    loss: Callable,
    optimizer,
    train: tuple,
    epochs: int,
    batch_size: int,
    evaluation: tuple | None = None,
    monitor_training: bool = False,
    checkpoint: str | Path | None = None,
    seed: int | np.random.Generator | None = None,
    progress: bool | str = True,
) -> History:
    """Train with mini-batch SGD; return the History, also after Ctrl+C.

    train and evaluation are (x, y) pairs of arrays, or Nielsen's data as mnist_loader gives
    it (lists or zips of (x, y) column tuples), converted once. After every epoch the cost and
    accuracy are measured on evaluation (and on train when monitor_training), and the model
    is saved atomically to checkpoint in Nielsen's format when given (MLPs only).
    progress=True shows a bar per epoch and a line of figures after it; "epochs" the lines
    only; False nothing.
    """
    if progress not in (True, False, "epochs"):
        raise ValueError(f'progress must be True, False or "epochs", got {progress!r}')
    bars = progress is True
    train = x, y = as_pair(train, "fit: train")
    if evaluation is not None:
        evaluation = as_pair(evaluation, "fit: evaluation")
    _check_examples("fit: train", x, y)
    if evaluation is not None:
        _check_examples("fit: evaluation", *evaluation)
    y = targets_for(loss, model, x, y)
    if checkpoint is not None and not isinstance(model, MLP):
        raise TypeError("checkpoint= saves MLPs in Nielsen's format; this model is not an MLP")
    if checkpoint is not None:
        # Before the first epoch, not after an hour of training.
        _check_writable(checkpoint)
    rng = np.random.default_rng(seed)
    history = History()
    step = training_step(model, loss, optimizer)
    with _StopOnInterrupt() as interrupt:
        for epoch in range(1, epochs + 1):
            started = time.perf_counter()
            bar = tqdm(total=len(x), desc=f"epoch {epoch}/{epochs}", unit="ex", disable=not bars)
            for xb, yb in iterate_minibatches(x, y, batch_size, shuffle=True, seed=rng):
                step(xb, yb)
                bar.update(len(xb))
                if interrupt.requested:
                    break
            bar.close()
            history.seconds.append(time.perf_counter() - started)
            _monitor(history, model, loss, train if monitor_training else None, evaluation)
            if progress:
                tqdm.write(_summary(epoch, history))
            if checkpoint is not None:
                save(model, checkpoint, cost=nielsen_cost(loss))
            if interrupt.requested:
                history.interrupted = True
                if progress:
                    tqdm.write(f"Interrupted in epoch {epoch}: weights and history kept.")
                break
    return history


def training_step(model: Module, loss: Callable, optimizer) -> Callable:
    """fit's step on a mini-batch: zero_grad, loss(model(xb), yb).backward(), optimizer.step(),
    captured (autodiff.capture) and run as one compiled program from the third batch of a
    shape on, which takes plain SGD's update itself. `step.captured` is the Captured (its
    .source shows the program)."""
    captured = capture(lambda xb, yb: loss(model(xb), yb), optimizer=optimizer)

    def step(xb, yb) -> None:
        optimizer.zero_grad()
        captured(xb, yb)

    step.captured = captured
    return step


def _monitor(history: History, model, loss, train, evaluation) -> None:
    for data, costs, accuracies in (
        (train, history.train_cost, history.train_accuracy),
        (evaluation, history.evaluation_cost, history.evaluation_accuracy),
    ):
        if data is not None:
            cost, accuracy = evaluate(model, loss, *data)
            costs.append(cost)
            accuracies.append(accuracy)


def _summary(epoch: int, history: History) -> str:
    parts = [f"Epoch {epoch} ({history.seconds[-1]:.1f} s)"]
    if history.train_accuracy:
        parts.append(f"training cost {history.train_cost[-1]:.4f}")
        parts.append(f"accuracy {history.train_accuracy[-1]:.2%}")
    if history.evaluation_accuracy:
        parts.append(f"evaluation cost {history.evaluation_cost[-1]:.4f}")
        parts.append(f"accuracy {history.evaluation_accuracy[-1]:.2%}")
    return ", ".join(parts)
