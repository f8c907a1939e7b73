"""Stochastic gradient descent with momentum and L2 weight decay, updating in place."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from autodiff import Tensor
from autodiff.saved import ensure_writable


class SGD:
    """w <- w - lr * (grad + weight_decay * w), with momentum v <- momentum * v - lr * (...).

    weight_decay = lambda / n reproduces network2.py's L2 update
    w <- (1 - eta * lambda / n) w - eta * grad. Like network2.py it decays weights (parameters
    of two or more dimensions), not biases (vectors); pass decay_biases=True to decay all.
    Momentum follows Nielsen's chapter 3: v <- momentum * v - lr * grad; w <- w + v.
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        decay_biases: bool = False,
    ):
        self.params = list(params)
        if not self.params:
            raise ValueError("SGD got no parameters: pass model.parameters()")
        if lr <= 0 or not 0 <= momentum < 1 or weight_decay < 0:
            raise ValueError(
                f"SGD expects lr > 0, 0 <= momentum < 1 and weight_decay >= 0; got lr={lr}, "
                f"momentum={momentum}, weight_decay={weight_decay}"
            )
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.decays = [weight_decay > 0 and (decay_biases or p.ndim >= 2) for p in self.params]
        # One scratch array per parameter, in its memory layout, so a step allocates nothing.
        # A large parameter is updated a slice of rows at a time: its scratch holds one slice,
        # which keeps peak memory near parameters + gradients, and the slice in cache.
        self.scratch = [_scratch_for(p.data) for p in self.params]
        self.velocity = [np.zeros_like(p.data) if momentum else None for p in self.params]

    def step(self) -> None:
        for position, (p, scratch, decays, velocity) in enumerate(
            zip(self.params, self.scratch, self.decays, self.velocity)
        ):
            if p.grad is None:
                continue
            if not p.data.flags.writeable:
                # Saved by a graph awaiting backward(): name the op that needs it (numpy
                # would only say "read-only"), or release it if that graph is gone.
                ensure_writable(p.data, f"SGD.step(): parameter {position} {_label(p)}")
            if p.ndim == 0 or len(scratch) == len(p.data):
                self._update(p.data, p.grad, scratch, decays, velocity)
                continue
            for start in range(0, len(p.data), len(scratch)):
                rows = slice(start, start + len(scratch))
                data = p.data[rows]
                velocity_rows = None if velocity is None else velocity[rows]
                self._update(data, p.grad[rows], scratch[: len(data)], decays, velocity_rows)

    def _update(self, data, grad, update, decays: bool, velocity) -> None:
        """data <- data - lr * (grad + weight_decay * data), or the momentum form, in place."""
        np.multiply(grad, self.lr, out=update)
        if decays:
            update += (self.lr * self.weight_decay) * data
        if velocity is not None:
            velocity *= self.momentum
            velocity -= update
            data += velocity
        else:
            data -= update

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None


def _label(p: Tensor) -> str:
    return f"{p.name!r} of shape {p.shape}" if p.name else f"of shape {p.shape}"


# A parameter of more than WHOLE_BYTES is updated a slice of rows at a time, each slice about
# half that size: its scratch then stays small and in cache. Measured on [784, 100, 10] at
# batch 10, slicing made the whole training step about 10% faster; on [784, 30, 10] (weights
# of 188 KiB) updating whole was faster.
WHOLE_BYTES = 1 << 18


def _scratch_for(array: np.ndarray) -> np.ndarray:
    """Scratch for updating array: all of it when small, else a slice of its leading rows."""
    if array.ndim == 0 or array.nbytes <= WHOLE_BYTES:
        return np.empty_like(array)
    rows = max(1, (WHOLE_BYTES // 2) * len(array) // array.nbytes)
    return np.empty_like(array[:rows])
