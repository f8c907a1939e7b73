"""Linear algebra ops beyond the core's matmul: einsum and the spectral norm.

matmul is the core's (core/ops.py); dot, vdot, inner, outer, tensordot, trace and norms are built
from these in numpy_surface/linalg.py.
"""

from __future__ import annotations

import string

import numpy as np

from ...core.code import Code, CodeUnavailable
from ...core.op import Op


class Einsum(Op):
    """z = einsum(subscripts, *xs);  dx_i = einsum of g and the other operands -> x_i's letters

    `subscripts` is one letter string per operand and `output`, explicit, without '...'.
    """

    def __init__(self, subscripts: tuple[str, ...], output: str, optimize=False):
        self.subscripts, self.output, self.optimize = subscripts, output, optimize

    def forward(self, *xs):
        spec = ",".join(self.subscripts) + "->" + self.output
        return np.einsum(spec, *xs, optimize=self.optimize)

    def backward(self, grad_out, *xs_and_z):
        xs = xs_and_z[:-1]
        return tuple(
            self._vjp(i, grad_out, xs) if needed else None
            for i, needed in enumerate(self.needs_input_grad)
        )

    def _vjp(self, i: int, grad_out, xs):
        """The product is linear in x_i: contract g with every other operand."""
        target, x = self.subscripts[i], xs[i]
        others = [s for j, s in enumerate(self.subscripts) if j != i]
        present = set(self.output).union(*others)
        unused = iter(c for c in string.ascii_letters if c not in present | set(target))
        subscripts = [self.output] + others
        operands = [grad_out] + [xs[j] for j in range(len(xs)) if j != i]
        letters, seen = [], set()
        for letter, size in zip(target, x.shape):
            if letter in seen:
                # A repeated letter (a diagonal, as in 'ii'): g lands on the diagonal only,
                # which an identity matrix tying a fresh letter to the first one arranges.
                fresh = next(unused)
                subscripts.append(letter + fresh)
                operands.append(np.eye(size, dtype=x.dtype))
                letters.append(fresh)
                continue
            seen.add(letter)
            letters.append(letter)
            if letter not in present:  # summed within x_i alone: every entry gets g
                subscripts.append(letter)
                operands.append(np.ones(size, dtype=x.dtype))
        spec = ",".join(subscripts) + "->" + "".join(letters)
        return np.einsum(spec, *operands, optimize=self.optimize)

    def code(self, *xs_and_z) -> Code:
        xs = xs_and_z[:-1]
        names = [f"{{x{i}}}" for i in range(len(xs))]
        spec = ",".join(self.subscripts) + "->" + self.output
        grads = []
        for i, target in enumerate(self.subscripts):
            others = [s for j, s in enumerate(self.subscripts) if j != i]
            present = set(self.output).union(*others)
            if len(set(target)) != len(target) or not set(target) <= present:
                raise CodeUnavailable(
                    f"einsum {spec!r}: a repeated or unshared index in operand {i}"
                )
            grad_spec = ",".join([self.output] + others) + "->" + target
            operands = ", ".join(["{g}"] + [n for j, n in enumerate(names) if j != i])
            grads.append((f"np.einsum({grad_spec!r}, {operands})", "einsum: g with the others"))
        return Code(f"np.einsum({spec!r}, {', '.join(names)})", *grads)


class SpectralNorm(Op):
    """z = largest singular value of x (over its last two axes);  dx = g * u v^T, with u, v
    the singular vectors of that value. First order only."""

    def forward(self, x):
        return np.linalg.norm(x, 2, axis=(-2, -1))

    def backward(self, grad_out, x, z):
        if not isinstance(x, np.ndarray):
            # u and v depend on x too; their derivatives (second order) are not implemented.
            raise NotImplementedError("second derivatives of norm(ord=2) are not implemented")
        u, _, vt = np.linalg.svd(x)
        top = u[..., :, :1] * vt[..., :1, :]
        return (np.expand_dims(grad_out, (-2, -1)) * top,)

    code = Code(
        "np.linalg.norm({x}, 2, axis=(-2, -1))",
        (
            "{d}_u, _, {d}_vt = np.linalg.svd({x})\n"
            "{d} = np.expand_dims({g}, (-2, -1)) * ({d}_u[..., :, :1] * {d}_vt[..., :1, :])",
            "norm 2: g u v^T, the top singular vectors",
        ),
    )
