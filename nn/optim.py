"""Optimizers updating parameters in place: SGD (momentum, L2 weight decay), Adam and AdamW as
PyTorch defines them; a learning-rate schedule hook; gradient clipping by norm.

A parameter that a graph saved for backward (a forward not yet backpropagated, or one
dropped without backward) is not changed in place: the step binds the updated values to a
fresh array (autodiff.tools.inplace.writable_data), so the step never fails for a graph and that
graph's gradient stays the one of the computation as it ran.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

from autodiff import Tensor

from .layers.module import writable_data


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
        if self.scratch is None:  # released while a compiled step took the steps
            self.scratch = [_scratch_for(p.data) for p in self.params]
        for p, scratch, decays, velocity in zip(
            self.params, self.scratch, self.decays, self.velocity
        ):
            if p.grad is None:
                continue
            data = p.data
            if not data.flags.writeable:  # saved by a graph: update a copy, bound in its place
                data = writable_data(p)
            if p.ndim == 0 or len(scratch) == len(data):
                self._update(data, p.grad, scratch, decays, velocity)
                continue
            for start in range(0, len(data), len(scratch)):
                rows = slice(start, start + len(scratch))
                part = data[rows]
                velocity_rows = None if velocity is None else velocity[rows]
                self._update(part, p.grad[rows], scratch[: len(part)], decays, velocity_rows)

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

    def folded_rate(self) -> float | None:
        """lr when a step is exactly p <- p - lr * grad for every parameter (no momentum, no
        weight decay, step not replaced). A compiled step (autodiff.capture) asks only when it
        will take the step itself, with its own buffers: the scratch arrays are released
        (step() makes them again)."""
        if self.momentum or self.weight_decay or "step" in vars(self):
            return None
        if type(self).step is not SGD.step:
            return None
        self.scratch = None
        return self.lr


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


# ---------------------------------------------------------------- Adam and AdamW


class Adam:
    """PyTorch's Adam, step t counted per parameter, g = grad + weight_decay * p:
    m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
    p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

    Unlike SGD it decays every parameter, biases included, as PyTorch does. `lr` is read at
    every step, so a schedule (LRSchedule) or the user may change it between steps.
    """

    decoupled_decay = False

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        self.params = list(params)
        name = type(self).__name__
        if not self.params:
            raise ValueError(f"{name} got no parameters: pass model.parameters()")
        if lr <= 0 or eps < 0 or weight_decay < 0 or not all(0 <= b < 1 for b in betas):
            raise ValueError(
                f"{name} expects lr > 0, 0 <= betas < 1, eps >= 0 and weight_decay >= 0; got "
                f"lr={lr}, betas={betas}, eps={eps}, weight_decay={weight_decay}"
            )
        self.lr, self.betas, self.eps, self.weight_decay = lr, tuple(betas), eps, weight_decay
        self.steps = [0] * len(self.params)  # per parameter: one without a gradient waits
        self.exp_avg = [np.zeros_like(p.data) for p in self.params]
        self.exp_avg_sq = [np.zeros_like(p.data) for p in self.params]

    def step(self) -> None:
        beta1, beta2 = self.betas
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            self.steps[i] += 1
            t, grad, m, v = self.steps[i], p.grad, self.exp_avg[i], self.exp_avg_sq[i]
            data = p.data
            if not data.flags.writeable:  # saved by a graph: update a copy, bound in its place
                data = writable_data(p)
            if self.weight_decay and self.decoupled_decay:
                data *= 1 - self.lr * self.weight_decay
            elif self.weight_decay:
                grad = grad + self.weight_decay * data
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * (grad * grad)
            denominator = np.sqrt(v) / math.sqrt(1 - beta2**t)
            denominator += self.eps
            data -= (self.lr / (1 - beta1**t)) * (m / denominator)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None


class AdamW(Adam):
    """PyTorch's AdamW: decoupled weight decay p <- p - lr * weight_decay * p first, then the
    Adam step on the plain gradient. The default weight_decay is 0.01, as PyTorch's."""

    decoupled_decay = True

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ):
        super().__init__(params, lr, betas, eps, weight_decay)


# ---------------------------------------------------------------- schedules and clipping


class LRSchedule:
    """The learning-rate hook: optimizer.lr = lr_at(steps taken so far), set now and after
    every schedule.step(). Call it once after each optimizer.step(), as in PyTorch.

    Any optimizer with an `lr` attribute works (SGD, Adam, AdamW); lr_at is any function of
    the step count, such as piecewise_constant({0: 0.1, 100_000: 0.01}).
    """

    def __init__(self, optimizer, lr_at: Callable[[int], float]):
        if not hasattr(optimizer, "lr"):
            raise TypeError(f"LRSchedule needs an optimizer with an lr attribute, got {optimizer}")
        self.optimizer, self.lr_at, self.steps = optimizer, lr_at, 0
        optimizer.lr = lr_at(0)

    def step(self) -> float:
        """Count one optimizer step and set the learning rate for the next; returns it."""
        self.steps += 1
        self.optimizer.lr = self.lr_at(self.steps)
        return self.optimizer.lr


def piecewise_constant(values: dict[int, float]) -> Callable[[int], float]:
    """lr_at(step) = values[k] for the largest k <= step: {0: 0.1, 100_000: 0.01} is the
    makemore schedule (0.1 for steps 0..99,999, then 0.01)."""
    if 0 not in values:
        raise ValueError(f"piecewise_constant needs a value for step 0, got keys {sorted(values)}")
    boundaries = sorted(values)

    def lr_at(step: int) -> float:
        return values[max(k for k in boundaries if k <= step)]

    return lr_at


def clip_grad_norm(
    parameters: Iterable[Tensor] | Tensor, max_norm: float, norm_type: float = 2.0
) -> float:
    """Scale all gradients by max_norm / (total + 1e-6) when that is below 1, as PyTorch's
    clip_grad_norm_; total is the norm of all gradients as one vector, returned (unclipped).
    Parameters without a gradient are skipped; norm_type may be math.inf (largest |g|)."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return 0.0
    if norm_type == math.inf:
        total = max(float(np.abs(g).max(initial=0.0)) for g in grads)
    elif norm_type > 0:
        total = sum(float((np.abs(g) ** norm_type).sum()) for g in grads) ** (1 / norm_type)
    else:
        raise ValueError(f"clip_grad_norm expects norm_type > 0 or math.inf, got {norm_type}")
    coefficient = max_norm / (total + 1e-6)
    if coefficient < 1:
        for p in params:
            if p.grad is not None:
                p.grad = p.grad * coefficient
    return total
