"""gradient_source: a function's backward pass written out as a numpy module for a learner.

It runs fn once under codegen's recording(), and watches fn's own frame line by line
(sys.settrace) to learn the names its local variables gave the tensors, so the written forward
reads like fn itself: z1, a1, logits, not t3.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable

import numpy as np

from ..core import CodeUnavailable, Tensor
from .codegen import Program, recording


class _LocalNames:
    """Names that fn's own local variables (and those of functions in fn's file) gave tensors,
    seen line by line with sys.settrace: {id(tensor): name}, fn's frame first."""

    def __init__(self, fn: Callable):
        self.code = getattr(fn, "__code__", None)
        self.filename = self.code.co_filename if self.code is not None else None
        self.names: dict[int, tuple[int, int, str]] = {}  # id -> (depth, order, name)
        self.keep: list = []  # the tensors seen, alive so their ids stay theirs

    def __enter__(self):
        self.previous = sys.gettrace()
        if self.code is not None:
            sys.settrace(self._call)
        return self

    def __exit__(self, *exc_info):
        sys.settrace(self.previous)

    def _call(self, frame, event, arg):
        if frame.f_code is self.code:
            return self._local(0)
        if frame.f_code.co_filename == self.filename:
            return self._local(1)
        return None

    def _local(self, depth: int):
        def trace(frame, event, arg):
            if event in ("line", "return"):
                for name, value in frame.f_locals.items():
                    if isinstance(value, Tensor) and not name.startswith("_"):
                        known = self.names.get(id(value))
                        if known is None or known[0] > depth:
                            self.names[id(value)] = (depth, len(self.names), name)
                            self.keep.append(value)
            return trace

        return trace

    def hints(self) -> dict[int, str]:
        return {i: name for i, (_, _, name) in self.names.items()}


def gradient_source(fn: Callable, *args) -> str:
    """The Python source of a module defining `<fn.__name__>_and_grad(<fn's parameters>)`.

    It returns (value, grads): fn's value and, in argument order, one gradient per argument
    that is a Tensor with requires_grad=True; the other arguments (arrays, numbers, Tensors
    without a gradient) stay inputs. Only numpy is imported. The forward uses fn's own local
    variable names; the backward is one `grad_<name> = ...` statement per rule, each with a
    comment naming it. Raises CodeUnavailable saying why when fn cannot be written out (a
    Python branch on tensor values, an op without a code form, a large constant).
    """
    parameters = _positional_parameters(fn, len(args))
    local_names = _LocalNames(fn)
    # Side effects (BatchNorm's running statistics) do not change the gradient: ignored.
    with recording() as (applied, escaped, _), local_names:
        out = fn(*args)
    name = getattr(fn, "__name__", "fn")
    if escaped:
        raise CodeUnavailable(
            f"{name} reads tensor values into Python ({escaped[0]}), so what it computes "
            "depends on those values: written code would keep one branch only"
        )
    if not isinstance(out, Tensor) or not out.requires_grad or out.op is None or out.size != 1:
        raise CodeUnavailable(
            f"{name} must return a scalar Tensor computed from a Tensor argument with "
            f"requires_grad=True, got {type(out).__name__}"
        )
    by_tensor = {id(a): p for a, p in zip(args, parameters) if isinstance(a, Tensor)}
    arrays = [(a.data if isinstance(a, Tensor) else a, p) for a, p in zip(args, parameters)]
    constants: list[str] = []

    def constant(array: np.ndarray) -> str:
        for a, p in arrays:
            if a is array:
                program.env[p] = a
                return p
        for a, p in arrays:
            if isinstance(a, np.ndarray) and a.shape == array.shape and np.array_equal(a, array):
                program.env[p] = a
                return p if a.dtype == array.dtype else f"{p}.astype(np.{array.dtype.name})"
        if array.size > 64:
            raise CodeUnavailable(
                f"a constant array of shape {array.shape} that is none of {name}'s "
                "arguments: pass it as an argument"
            )
        constant_name = f"c{len(constants) + 1}"
        constants.append(
            f"{constant_name} = np.array({array.tolist()!r}, dtype=np.{array.dtype.name})"
        )
        program.env[constant_name] = array
        return constant_name

    def external(t: Tensor):
        if id(t) in by_tensor:
            return by_tensor[id(t)], t.requires_grad
        if t.ndim == 0 and t.dtype.kind in "fiub":
            return repr(t.data.item()), False
        return constant(t.data), False

    program = Program(external, constant, local_names.hints())
    root_hint = "loss"
    program.write(applied, out, root_hint)
    grads_of = [p for a, p in zip(args, parameters) if isinstance(a, Tensor) and a.requires_grad]
    function = program.function_source(f"{name}_and_grad", parameters, grads_of)
    docstring = (
        f'"""{name} and its gradients, written out by autodiff.gradient_source: the forward,\n'
        'then the backward pass, one rule per statement, in reverse order."""'
    )
    parts = [docstring, "\n".join(program.imports())]
    if constants:
        parts.append("\n".join(constants))
    return "\n\n".join(parts) + "\n\n\n" + function


def _positional_parameters(fn: Callable, count: int) -> list[str]:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        signature = None
    names = []
    if signature is not None:
        for p in signature.parameters.values():
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                names.append(p.name)
            elif p.kind is p.VAR_POSITIONAL:
                names += [f"{p.name}{i}" for i in range(count - len(names))]
    if len(names) < count:
        raise TypeError(
            f"gradient_source: {getattr(fn, '__name__', fn)!r} takes {len(names)} positional "
            f"arguments, got {count}"
        )
    return names[:count]
