"""Drawing tokens from a model's probabilities with an explicit generator: multinomial, the
seeded equivalent of torch.multinomial(probs, num_samples, generator=g) in generate()."""

from __future__ import annotations

import numpy as np

from autodiff import Tensor


def multinomial(
    probs,
    num_samples: int = 1,
    replacement: bool = False,
    rng: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Indices drawn from each row of probs (weights >= 0, not necessarily summing to 1),
    shape (..., num_samples), int64. rng is a seed or np.random.Generator.

    With replacement each draw inverts the row's cumulative sum at a uniform number; without
    it, the num_samples smallest of -log(u) / p (exponential races) are the draws in order,
    which is the same law as drawing one at a time and removing it.
    """
    weights = np.asarray(probs.data if isinstance(probs, Tensor) else probs, dtype=np.float64)
    if weights.ndim not in (1, 2):
        raise ValueError(
            f"multinomial expects probs of shape (n,) or (rows, n), got {weights.shape}"
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("multinomial expects finite, non-negative probabilities")
    rows = weights.reshape(-1, weights.shape[-1])
    if np.any(rows.sum(axis=-1) <= 0):
        raise ValueError("multinomial: every row of probs needs a positive sum")
    if not replacement and num_samples > np.count_nonzero(rows, axis=-1).min():
        raise ValueError(
            f"multinomial without replacement: {num_samples} samples from a row with fewer "
            "non-zero probabilities; pass replacement=True"
        )
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    if replacement:
        cumulative = np.cumsum(rows, axis=-1)
        uniforms = generator.random((len(rows), num_samples)) * cumulative[:, -1:]
        drawn = np.stack(
            [np.searchsorted(c, u, side="right") for c, u in zip(cumulative, uniforms)]
        )
        drawn = np.minimum(drawn, rows.shape[-1] - 1)  # u * total can round up to total
    else:
        with np.errstate(divide="ignore"):
            races = -np.log1p(-generator.random(rows.shape)) / rows
        drawn = np.argsort(races, axis=-1, kind="stable")[:, :num_samples]
    return drawn.astype(np.int64).reshape(weights.shape[:-1] + (num_samples,))
