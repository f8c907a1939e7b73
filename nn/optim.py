"""Stochastic gradient descent with momentum and L2 weight decay, updating in place."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from autodiff import Tensor


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
        # Scratch buffers, one per parameter and in its memory layout, so a step allocates nothing.
        self.scratch = [np.empty_like(p.data) for p in self.params]
        self.velocity = [np.zeros_like(p.data) for p in self.params] if momentum else None

    def step(self) -> None:
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            update = self.scratch[i]
            np.multiply(p.grad, self.lr, out=update)
            if self.decays[i]:
                update += (self.lr * self.weight_decay) * p.data
            if self.velocity is not None:
                velocity = self.velocity[i]
                velocity *= self.momentum
                velocity -= update
                p.data += velocity
            else:
                p.data -= update

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None
