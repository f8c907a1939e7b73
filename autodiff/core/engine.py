"""Reverse mode: the topological order, the backward walk, and `grad`.

The only code that traverses the graph. Tensors are numbered at creation and every output is
created after its inputs, so creation order is a topological order: no recursion, no
rebuilding of a visit order, any depth.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

import numpy as np

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


def broadcast_axes(grad_shape: tuple, shape: tuple) -> tuple:
    """The axes of grad_shape that broadcasting added to shape (leading) or stretched (1s)."""
    lead = len(grad_shape) - len(shape)
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and grad_shape[lead + i] != 1)
    return tuple(range(lead)) + stretched


def sum_to_shape(grad, shape: tuple):
    """Undo numpy broadcasting: sum grad over the axes that broadcasting added or stretched."""
    axes = () if grad.shape == shape else broadcast_axes(grad.shape, shape)
    if axes and grad.ndim >= len(shape):
        grad = grad.sum(axis=axes, keepdims=True).reshape(shape)
    return grad


def backpropagate(roots: list[Tensor], seeds: list, create_graph: bool, observe=None) -> dict:
    """Map every tensor that requires a gradient to d(sum of seed * root)/d(tensor).

    Gradients are arrays, or Tensors recorded in the graph when create_graph is True; they
    flow through this local table, so a tensor used twice is processed once with both parts.
    Rules get the arrays their op saved (rebinding `t.data` later does not change what was
    computed); without create_graph the walked graph's arrays are writable again afterwards.
    observe(node, grad_out, input_grads), if given, sees each rule's result (the explorer).
    """
    grads: dict = {}
    for root, seed in zip(roots, seeds):
        grads[root] = seed if root not in grads else grads[root] + seed
    order = topological_order(roots)
    for node in reversed(order):
        op, grad_out = node.op, grads.get(node)
        if op is None or grad_out is None:
            continue
        inputs = op.inputs
        if create_graph:
            saved = inputs
            input_grads = op.backward(grad_out, *inputs, node)
        else:
            saved = op.saved
            input_grads = op.backward(grad_out, *saved)
        if switches.anomaly is not None:
            switches.anomaly.check_finite(op, input_grads, "backward")
        if observe is not None:
            observe(node, grad_out, input_grads)
        for tensor, grad, value in zip(inputs, input_grads, saved):
            if grad is None or not tensor.requires_grad:
                continue
            shape = value.shape
            if grad.shape != shape:
                grad = sum_to_shape(grad, shape)
                if grad.shape != shape:
                    raise RuntimeError(
                        f"{op!r} returned a gradient of shape {grad.shape} for an input of "
                        f"shape {shape}"
                    )
            previous = grads.get(tensor)
            grads[tensor] = grad if previous is None else previous + grad
    if not create_graph and switches.protection is not None:
        switches.protection.release(order)  # the leaves' arrays are writable again
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
        seed = np.array(1, dtype=root.data.dtype)
        return seed if root.data.ndim == 0 else seed.reshape(root.data.shape)
    seed = np.array(getattr(grad, "data", grad), dtype=root.dtype)
    if seed.shape != root.shape:
        raise ValueError(f"{caller}: grad has shape {seed.shape}, expected {root.shape}")
    return seed


def backward(root: Tensor, grad=None) -> None:
    """Tensor.backward: accumulate into .grad of every tensor in the graph that needs one."""
    if not root.requires_grad and _constant_reason(root) is not None:
        raise RuntimeError(f"backward() on a tensor with no gradient: {_constant_reason(root)}")
    if not root.requires_grad:
        raise RuntimeError(
            "backward() on a tensor that does not require grad: create the inputs with "
            "requires_grad=True (and do not compute under no_grad())"
        )
    grads = backpropagate([root], [_seed(root, grad, "backward()")], create_graph=False)
    # Rules may pass one array on to several tensors (x + y gives g to both, a reshape gives
    # a view). Intermediate tensors may share memory; each leaf gets an array of its own,
    # safe to modify in place. A fresh array (no base) that is no intermediate's gradient
    # already is one: a view of it would need a rule to receive it, and a leaf's gradient
    # reaches no rule. Only the other leaves pay for finding who owns their memory.
    taken = {id(g) for tensor, g in grads.items() if tensor.op is not None}
    owners_known = False
    for tensor, g in grads.items():
        if tensor.op is None:
            if g.base is None and id(g) not in taken and g.flags.writeable:
                taken.add(id(g))
            else:
                if not owners_known:
                    taken |= {id(_memory_owner(x)) for t, x in grads.items() if t.op is not None}
                    owners_known = True
                owner = id(_memory_owner(g))
                if owner in taken or not g.flags.writeable:
                    g = np.array(g)  # a copy, and an array even where a rule gave a 0-d scalar
                    owner = id(g)
                taken.add(owner)
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
    Outputs and inputs must be Tensors that require a gradient: anything else is refused.
    A single input gives a single Tensor; a sequence gives a tuple.
    """
    single_input = isinstance(inputs, Tensor)
    outputs = _tensors(outputs, "outputs")
    inputs = _tensors(inputs, "inputs")
    for kind, tensors in (("output", outputs), ("input", inputs)):
        for position, tensor in enumerate(tensors):
            if not tensor.requires_grad:
                raise RuntimeError(_no_grad_message(kind, position, tensor))
    if grad_outputs is None or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs] * len(outputs)
    elif len(grad_outputs) != len(outputs):
        raise ValueError(
            f"grad(): {len(grad_outputs)} grad_outputs given for {len(outputs)} outputs; "
            "pass one per output (None for a scalar output)"
        )
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
        g = g if isinstance(g, Tensor) else Tensor._make(np.asarray(g), False)
        if create_graph and not g.requires_grad:
            # A gradient that does not depend on the inputs (x ** 0, an unused input) can
            # still be differentiated again, to zero: a leaf, not a refused constant.
            g = Tensor._make(g.data, True)
        result.append(g)
    return result[0] if single_input else tuple(result)


def _tensors(value, what: str) -> list[Tensor]:
    """outputs or inputs of grad() as a non-empty list of Tensors, or a TypeError saying why."""
    values = [value] if isinstance(value, Tensor) else value
    if isinstance(values, (list, tuple)) and values:
        strays = [(i, v) for i, v in enumerate(values) if not isinstance(v, Tensor)]
        if not strays:
            return list(values)
        position, stray = strays[0]
        given = f"{type(stray).__name__} at position {position}"
    elif isinstance(values, (list, tuple)):
        given = f"an empty {type(values).__name__}"
    else:
        given = f"a {type(values).__name__}"
    raise TypeError(
        f"grad(): {what} must be a Tensor or a non-empty list of Tensors, got {given}. "
        + (
            "Outputs are the Tensors computed from the inputs (a number or a numpy array "
            "has no graph to differentiate)"
            if what == "outputs"
            else "Inputs are the Tensors (requires_grad=True) to differentiate with respect to"
        )
    )


def _constant_reason(tensor: Tensor) -> str | None:
    """Why a tensor of booleans or integers has no gradient; None for a float tensor."""
    if tensor.dtype.kind not in "biu":
        return None
    return (
        f"it holds {'booleans' if tensor.dtype.kind == 'b' else 'integers'} (dtype "
        f"{tensor.dtype}), as comparisons and the counts made from them do: comparisons are "
        "constant (a step has slope 0, or none), so there is no gradient to take. "
        "Differentiate a float expression instead, such as the values a mask selects "
        "(x * (x > 0)) or a smooth stand-in (sigmoid)"
    )


def _no_grad_message(kind: str, position: int, tensor: Tensor) -> str:
    reason = _constant_reason(tensor)
    if kind == "output" and reason is not None:
        return f"grad(): output {position} (shape {tensor.shape}) has no gradient: {reason}"
    if kind == "output":
        return (
            f"grad(): output {position} (shape {tensor.shape}) does not require a gradient: it "
            "was computed from no tensor with requires_grad=True, or under no_grad(), so "
            "nothing can be differentiated"
        )
    return (
        f"grad(): input {position} (shape {tensor.shape}) does not require a gradient: "
        "create it with requires_grad=True (or call .requires_grad_() on a leaf) before "
        "computing the outputs"
    )
