"""Code forms: an op written out as numpy source, beside its rule (tools/codegen.py reads them).

Each op class may carry `code`: a Code, or a method `code(*inputs, output)` giving one for
the shapes and settings at hand (raising CodeUnavailable where it cannot be written)."""

from __future__ import annotations


class CodeUnavailable(Exception):
    """An op (or one use of it) that the code generator cannot write out; says why."""


class Code:
    """An op as numpy source: its forward, and one gradient per input with the rule's name.

    Templates name the op's inputs as its forward's parameters do ({x}, {y}, {weight}), its
    output {out}, the incoming gradient {g}, and its settings by attribute ({axis}, {shape});
    arrays among the settings become names. The forward is an expression, or statements that
    assign {out}; a gradient is (expression or statements assigning {d}, rule), or None for an
    input that gets none. Temporaries are named after {out} or {d} ({out}_windows).
    """

    __slots__ = ("forward", "grads", "requires")

    def __init__(self, forward: str, *grads: tuple[str, str] | None, requires=None):
        # requires: (condition, why) that the gradients assume, checked where they run.
        self.forward, self.grads, self.requires = forward, grads, requires

    def __repr__(self) -> str:
        return f"Code({self.forward!r}, {', '.join(repr(g) for g in self.grads)})"


def axis_source(axis) -> str:
    """An axis setting as source: 1, or (0, 2) for several."""
    if isinstance(axis, tuple) and len(axis) == 1:
        return str(axis[0])
    return repr(axis)


def reduction_arguments(axis, keepdims: bool = False) -> str:
    """The arguments of a reduction as source: '', 'axis=1' or 'axis=(0, 2), keepdims=True'."""
    parts = [] if axis is None else [f"axis={axis_source(axis)}"]
    return ", ".join(parts + (["keepdims=True"] if keepdims else []))


def expanded(name: str, axis, keepdims: bool) -> str:
    """Source bringing a reduction's result `name` back to its input's rank, to broadcast."""
    if axis is None or keepdims:
        return name
    return f"np.expand_dims({name}, {axis_source(axis)})"


def number(value) -> str:
    """A constant as short source: 2 rather than 2.0 or np.float64(2.0)."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
