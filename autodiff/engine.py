"""Reverse mode: the topological order, the backward walk, and `grad`.

The only code that traverses the graph. Tensors are numbered at creation and every output is
created after its inputs, so creation order is a topological order: no recursion, no
rebuilding of a visit order, any depth.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

import numpy as np

from . import anomaly
from .mode import switches
from .tensor import Tensor, lift

_creation = attrgetter("_id")


def topological_order(roots: Sequence[Tensor]) -> list[Tensor]:
    """Every tensor the roots depend on, each after its inputs."""
    seen = set()
    stack = list(roots)
    while stack:
        tensor = stack.pop()
        if tensor not in seen:
            seen.add(tensor)
            if tensor.op is not None:
                stack.extend(tensor.op.inputs)
    return sorted(seen, key=_creation)


def sum_to_shape(grad, shape: tuple):
    """Undo numpy broadcasting: sum grad over the axes that broadcasting added or stretched."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    axes = tuple(range(lead)) + stretched
    if lead >= 0 and axes:
        grad = grad.sum(axis=axes, keepdims=True).reshape(shape)
    return grad


def backpropagate(roots: Sequence[Tensor], seeds: Sequence, create_graph: bool) -> dict:
    """Map every tensor that requires a gradient to d(sum of seed * root)/d(tensor).

    Gradients are arrays, or Tensors recorded in the graph when create_graph is True; they
    flow through this local table, so a tensor used twice is processed once with both parts.
    """
    grads: dict = {}
    for root, seed in zip(roots, seeds):
        grads[root] = seed if root not in grads else grads[root] + seed
    for node in reversed(topological_order(roots)):
        op, grad_out = node.op, grads.get(node)
        if op is None or grad_out is None:
            continue
        inputs = op.inputs
        if create_graph:
            input_grads = op.backward(grad_out, *inputs, node)
        else:
            input_grads = op.backward(grad_out, *[t.data for t in inputs], node.data)
        if switches.anomaly:
            anomaly.check_finite(op, input_grads, "backward")
        for tensor, grad in zip(inputs, input_grads):
            if grad is None or not tensor.requires_grad:
                continue
            shape = tensor.data.shape
            if grad.shape != shape:
                grad = sum_to_shape(grad, shape)
                if grad.shape != shape:
                    raise RuntimeError(
                        f"{op!r} returned a gradient of shape {grad.shape} for an input of "
                        f"shape {shape}"
                    )
            previous = grads.get(tensor)
            grads[tensor] = grad if previous is None else previous + grad
    return grads


def _seed(root: Tensor, grad, caller: str) -> np.ndarray:
    if grad is None:
        if root.size != 1:
            raise RuntimeError(
                f"{caller} on a tensor of shape {root.shape} needs the gradient of the final "
                f"scalar with respect to it: pass np.ones({root.shape}) for the gradient of its "
                "sum, or reduce it first with .sum() or .mean()"
            )
        # d root / d root = 1 (np.ones is a Python-level function, several times slower).
        return np.array(1, dtype=root.data.dtype).reshape(root.data.shape)
    seed = np.array(getattr(grad, "data", grad), dtype=root.dtype)
    if seed.shape != root.shape:
        raise ValueError(f"{caller}: grad has shape {seed.shape}, expected {root.shape}")
    return seed


def backward(root: Tensor, grad=None) -> None:
    """Tensor.backward: accumulate into .grad of every tensor in the graph that needs one."""
    if not root.requires_grad:
        raise RuntimeError(
            "backward() on a tensor that does not require grad: create the inputs with "
            "requires_grad=True (and do not compute under no_grad())"
        )
    grads = backpropagate([root], [_seed(root, grad, "backward()")], create_graph=False)
    # Rules may pass one array on to several tensors (x + y gives g to both, a reshape gives
    # a view). Intermediate tensors may share memory; each leaf gets an array of its own,
    # safe to modify in place.
    shared = {id(_memory_owner(g)) for tensor, g in grads.items() if tensor.op is not None}
    for tensor, g in grads.items():
        if tensor.op is None:
            owner = id(_memory_owner(g))
            if owner in shared or not g.flags.writeable:
                g = np.array(g)  # a copy, and an array even where the rules gave a 0-d scalar
                owner = id(g)
            shared.add(owner)
        tensor.grad = g if tensor.grad is None else tensor.grad + g


def _memory_owner(array: np.ndarray) -> np.ndarray:
    """The last ndarray in array's chain of bases: arrays viewing the same memory share it.

    numpy points a view at the array owning the memory, so the chain is usually one step; it
    is longer only below an array made from a foreign buffer (np.frombuffer).
    """
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def grad(outputs, inputs, grad_outputs=None, create_graph: bool = False):
    """The gradients of outputs with respect to inputs, as Tensors, leaving .grad untouched.

    With create_graph=True the gradients are recorded in the graph, so they can be
    differentiated again. An input the outputs do not depend on gets a zero gradient.
    A single input gives a single Tensor; a sequence gives a tuple.
    """
    single_input = isinstance(inputs, Tensor)
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if single_input else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs] * len(outputs)
    seeds = []
    for output, given in zip(outputs, grad_outputs):
        if create_graph and isinstance(given, Tensor):
            seeds.append(given)
            continue
        seed = _seed(output, given, "grad()")
        seeds.append(lift(seed, output) if create_graph else seed)
    table = backpropagate(outputs, seeds, create_graph)
    result = []
    for x in inputs:
        g = table.get(x)
        if g is None:
            g = np.zeros(x.shape, dtype=x.dtype)
        result.append(g if isinstance(g, Tensor) else Tensor._make(np.asarray(g), False))
    return result[0] if single_input else tuple(result)
