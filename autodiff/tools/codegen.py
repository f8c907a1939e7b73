"""The backward pass as code: a recorded computation written out as straight-line numpy.

`Program` takes recorded ops (`recording()` collects them) and writes the forward, then one
`grad_<name> = ...` statement per rule in reverse order, each with a comment naming the rule.
Every op brings its own code form (`Op.code`, beside its rule); the writer only names values,
undoes broadcasting and accumulates. It also runs what it writes, statement by statement, on
the recorded values: a code form that disagrees with its op's forward is refused, never
written. gradient_source (source.py) and capture (capture.py) are its two users.
"""

from __future__ import annotations

import contextlib
import inspect
import keyword
import re
from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..core import Code, CodeUnavailable, Tensor
from ..core.engine import broadcast_axes
from ..core.mode import switches

# How written code says that a code form's assumption failed (capture then runs eagerly).
ASSUMES = "this code assumes "
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
# Names the written code uses itself: loop counters of code forms, the module's imports.
_RESERVED = {"np", "sliding_window_view", "u", "v"}


class Value:
    """One array of the program (an argument, a constant, an op's result): its name in the
    written code, its recorded value, and whether a gradient flows to it."""

    __slots__ = ("name", "array", "requires_grad")

    def __init__(self, name: str, array, requires_grad: bool):
        self.name, self.array, self.requires_grad = name, array, requires_grad


class Program:
    """Recorded ops as source: forward and backward lines, checked by running them.

    `external(tensor)` names a tensor that no recorded op made (an argument, a parameter, a
    constant) and says whether it gets a gradient; `constant(array)` names an array setting
    of an op (a target, an index); `hints` are local variable names by id(tensor).
    """

    def __init__(self, external: Callable, constant: Callable, hints: dict | None = None):
        self.env: dict = {"np": np, "sliding_window_view": sliding_window_view}
        self.external, self.constant, self.hints = external, constant, hints or {}
        self.values: dict[int, Value] = {}
        self.grad_names: dict[int, str] = {}
        self.taken = set(_RESERVED)
        self.counter = 0
        self.forward: list[str] = []
        self.backward: list[str] = []

    def write(self, nodes, root: Tensor, root_hint: str | None = None) -> Program:
        """Write the forward of every op the root depends on, then the backward from it."""
        made = {id(out) for _, _, out in nodes}
        live = _live(nodes, root)
        nodes = [node for node in nodes if id(node[2]) in live]
        for _, inputs, _ in nodes:
            for t in inputs:
                if id(t) not in made and id(t) not in self.values:
                    name, requires_grad = self.external(t)
                    self.taken.add(name)
                    self.values[id(t)] = Value(name, t.data, requires_grad)
                    if _IDENTIFIER.match(name):
                        self.env[name] = t.data
        if root_hint and id(root) not in self.hints:
            self.hints[id(root)] = root_hint
        forms = [self._write_forward(op, inputs, out) for op, inputs, out in nodes]
        self.root = self.values[id(root)]
        self._write_backward(nodes, forms, root)
        return self

    # ------------------------------------------------------------ names

    def fresh(self, hint: str | None = None) -> str:
        """An unused name: the hint (a local variable's name), else t1, t2, ..."""
        if hint:
            name, k = hint, 2
            while name in self.taken or keyword.iskeyword(name):
                name, k = f"{hint}_{k}", k + 1
        else:
            self.counter += 1
            name = f"t{self.counter}"
            while name in self.taken:
                self.counter += 1
                name = f"t{self.counter}"
        self.taken.add(name)
        return name

    def fields(self, op, inputs, out_name: str, g: str | None = None, d: str | None = None):
        """The values of a code form's placeholders: inputs, out, g, d and the op's settings."""
        fields = _Fields(op, self.constant)
        params = _parameter_names(op)
        for position, t in enumerate(inputs):
            name = self.values[id(t)].name
            fields[f"x{position}"] = name
            if position < len(params):
                fields[params[position]] = name
        fields["out"] = out_name
        if g is not None:
            fields["g"] = g
        if d is not None:
            fields["d"] = d
        return fields

    def _run(self, lines: list[str], op) -> None:
        try:
            exec("\n".join(lines), self.env)  # noqa: S102  (code forms, checked as written)
        except Exception as error:  # a code form that does not run here is not written
            what = op.name if op is not None else "the seed"
            raise CodeUnavailable(f"{what}'s code form failed here: {error}") from error

    # ------------------------------------------------------------ forward

    def _write_forward(self, op, inputs, out) -> Code:
        form = code_form(op, [t.data for t in inputs] + [out.data])
        name = self.fresh(self.hints.get(id(out)))
        text = form.forward.format_map(self.fields(op, inputs, name))
        lines = text.split("\n") if "{out}" in form.forward else [f"{name} = {text}"]
        self._run(lines, op)
        got = self.env[name]
        # Equal to rounding: float32 rounds at about 1e-7 where a form sums in another order.
        rtol = 1e-12 if out.dtype == np.float64 else 1e-5 if out.dtype == np.float32 else 1e-2
        if np.shape(got) != out.shape or not np.allclose(
            got, out.data, rtol=rtol, atol=0, equal_nan=True
        ):
            found = (
                f"shape {np.shape(got)} for {out.shape}"
                if np.shape(got) != out.shape
                else f"a largest difference of {np.nanmax(np.abs(got - out.data)):.3g}"
            )
            raise CodeUnavailable(
                f"{op.name}'s code form disagrees with its forward ({found}; expected equal to "
                f"rtol {rtol:g})"
            )
        self.forward += lines
        requires_grad = any(self.values[id(t)].requires_grad for t in inputs)
        self.values[id(out)] = Value(name, out.data, requires_grad)
        return form

    # ------------------------------------------------------------ backward

    def _write_backward(self, nodes, forms, root) -> None:
        plan, contributions = [], {}
        for (op, inputs, out), form in zip(nodes, forms):
            if not self.values[id(out)].requires_grad:
                continue
            targets = []
            for position, t in enumerate(inputs):
                if not self.values[id(t)].requires_grad:
                    continue
                if position >= len(form.grads) or form.grads[position] is None:
                    raise CodeUnavailable(f"{op.name} has no code for input {position}'s gradient")
                targets.append((position, t))
                contributions[id(t)] = contributions.get(id(t), 0) + 1
            plan.append((op, inputs, out, form, targets))
        seed = f"grad_{self.root.name}"
        self.taken.add(seed)
        line = f"{seed} = np.ones_like({self.root.name})  # d{self.root.name}/d{self.root.name} = 1"
        self._run([line], None)
        self.backward.append(line)
        self.grad_names[id(root)] = seed
        written: dict[int, int] = {}
        for op, inputs, out, form, targets in reversed(plan):
            g = self.grad_names.get(id(out))
            if g is None:
                continue
            out_name = self.values[id(out)].name
            if form.requires is not None and targets:
                condition, why = form.requires
                condition = condition.format_map(self.fields(op, inputs, out_name, g))
                self.backward += [
                    f"if not {condition}:",
                    f"    raise ValueError({ASSUMES + condition + ': ' + why!r})",
                ]
            for position, t in targets:
                count = written.get(id(t), 0)
                written[id(t)] = count + 1
                value = self.values[id(t)]
                self._write_part(
                    op, inputs, out_name, g, form.grads[position], value, count == 0,
                    contributions[id(t)] > 1,
                )  # fmt: skip
                self.grad_names[id(t)] = f"grad_{value.name}"

    def _write_part(self, op, inputs, out_name, g, grad_form, value, first, shared) -> None:
        """grad_<value> = (or +=) one rule's part, summed back over broadcast axes."""
        rule, comment = grad_form
        target = f"grad_{value.name}"
        self.taken.add(target)
        part = target if first else f"{target}_part"
        text = rule.format_map(self.fields(op, inputs, out_name, g, part))
        lines = []
        if "{d}" in rule:  # statements assigning the part
            lines = text.split("\n")
            lines[0] += f"  # {comment}"
            self._run(lines, op)
            expression, comment = part, None
        else:
            expression = text
        reduction = _sum_to_shape(
            np.shape(eval(expression, self.env)),
            np.shape(value.array),  # noqa: S307
        )
        if reduction is not None:
            if comment is not None and not _IDENTIFIER.match(expression):
                line = f"{part} = {expression}  # {comment}"  # the rule, then the broadcast
                self._run([line], op)
                lines.append(line)
                expression = part
            axes, reshape, why = reduction
            expression, comment = f"{expression}.sum(axis={axes}){reshape}", why
        if first and expression == target:
            line = None  # statements above assigned it
        elif first:
            if shared and _is_view(expression):
                expression += ".copy()"  # more is added below, not into another's array
            line = f"{target} = {expression}"
        else:
            line = f"{target} += {expression}"
        if line is not None:
            line += f"  # {comment}" if comment else ""
            self._run([line], op)
            lines.append(line)
        self.backward += lines

    # ------------------------------------------------------------ output

    def grad_name(self, tensor: Tensor) -> str | None:
        """The name of tensor's gradient in the written code; None if it gets none."""
        return self.grad_names.get(id(tensor))

    def function_source(
        self, function: str, parameters: list[str], grads_of=(), returns: str | None = None
    ) -> str:
        """`def function(parameters):` returning (value, grads of grads_of), or `returns`."""
        if returns is None:
            grads = [
                f"grad_{name}" if f"grad_{name}" in self.taken else f"np.zeros_like({name})"
                for name in grads_of
            ]
            returns = f"{self.root.name}, ({', '.join(grads)}{',' if len(grads) == 1 else ''})"
        body = (
            ["# forward"]
            + self.forward
            + ["", f"# backward: grad_v is d{self.root.name}/dv, rules in reverse order"]
            + self.backward
            + [f"return {returns}"]
        )
        lines = [f"def {function}({', '.join(parameters)}):"]
        lines += [("    " + line) if line else "" for line in body]
        return "\n".join(lines) + "\n"

    def imports(self) -> list[str]:
        lines = ["import numpy as np"]
        if any("sliding_window_view" in line for line in self.forward + self.backward):
            lines.append("from numpy.lib.stride_tricks import sliding_window_view")
        return lines


def _live(nodes, root) -> set:
    """ids of the tensors the root depends on (dead code is not written)."""
    made = {id(out): inputs for _, inputs, out in nodes}
    live, stack = set(), [root]
    while stack:
        t = stack.pop()
        if id(t) in live:
            continue
        live.add(id(t))
        stack.extend(made.get(id(t), ()))
    return live


def code_form(op, arrays) -> Code:
    """The op's Code: its `code` attribute, or what its `code(*inputs, output)` method gives."""
    form = getattr(type(op), "code", None)
    if form is None:
        raise CodeUnavailable(f"{op.name} has no code form")
    return form if isinstance(form, Code) else op.code(*arrays)


def _parameter_names(op) -> list[str]:
    """The names of the op's forward's parameters, which its code form uses."""
    names = []
    for p in inspect.signature(type(op).forward).parameters.values():
        if p.name == "self":
            continue
        if p.kind is p.VAR_POSITIONAL:
            break
        names.append(p.name)
    return names


def _is_view(expression: str) -> bool:
    """Whether written code may alias another array: a name, a reshape, transpose, slice."""
    return bool(
        _IDENTIFIER.match(expression)
        or re.match(
            r"[A-Za-z_][A-Za-z0-9_]*(\.T|\.reshape\(.*\)|\.transpose\(.*\)|\[.*\])$", expression
        )
        or expression.startswith("np.broadcast_to(")
    )


def _sum_to_shape(shape: tuple, target: tuple):
    """(axes source, reshape source, rule) undoing broadcasting from shape to target; None
    when the shapes agree. The engine's axes (broadcast_axes), as source."""
    if shape == target:
        return None
    axes = broadcast_axes(shape, target)
    axes_source = str(axes[0]) if len(axes) == 1 else repr(axes)
    stretched = len(axes) > len(shape) - len(target)  # not only leading axes
    reshape = f".reshape({target!r})" if stretched else ""
    if not target:
        return axes_source, "", "broadcast: sum over every entry"
    if axes == (0,) and len(shape) == 2:
        return axes_source, reshape, "broadcast: sum over rows"
    return axes_source, reshape, f"broadcast: sum over axes {axes_source}"


class _Fields(dict):
    """Placeholder values: set ones first, then the op's settings as source (arrays named)."""

    def __init__(self, op, constant: Callable):
        super().__init__()
        self.op, self.constant = op, constant

    def __missing__(self, key: str) -> str:
        subscript = key.endswith("_subscript")
        attribute = key[: -len("_subscript")] if subscript else key
        if attribute not in vars(self.op):
            raise KeyError(key)
        return _source(getattr(self.op, attribute), self.constant, subscript)


def _source(value, constant: Callable, subscript: bool = False) -> str:
    """A setting as Python source; arrays become names (`constant`), tuples in an index
    written as a subscript (`1:, rows`) when subscript."""
    if isinstance(value, np.ndarray):
        return constant(value)
    if isinstance(value, tuple):
        items = [_source(v, constant, subscript) for v in value]
        if subscript:
            return ", ".join(items) if items else "()"
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, slice):
        parts = [value.start, value.stop, value.step]
        if subscript:
            text = ":".join("" if p is None else str(int(p)) for p in parts[:2])
            return text if value.step is None else f"{text}:{int(value.step)}"
        return f"slice({', '.join('None' if p is None else str(int(p)) for p in parts)})"
    if value is Ellipsis:
        return "..."
    if isinstance(value, np.dtype) or isinstance(value, type) and issubclass(value, np.generic):
        return f"np.{np.dtype(value).name}"
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, list):
        return "[" + ", ".join(_source(v, constant) for v in value) + "]"
    return repr(value)


_ESCAPES = ("__bool__", "__array__", "item", "numpy")
_SIDE_EFFECTS: list[list] = []  # one list per recording in progress, innermost last


def side_effect(what: str) -> None:
    """Say that the code running now changes Python state beside its ops (BatchNorm's running
    statistics): a capture recording it runs that function eagerly, since a replay of the ops
    would skip the change. Outside a recording, nothing happens."""
    if _SIDE_EFFECTS:
        _SIDE_EFFECTS[-1].append(what)


@contextlib.contextmanager
def recording():
    """Collect every op applied, note any read of a tensor's values into Python, and any side
    effect declared with side_effect()."""
    ops: list = []
    escaped: list = []
    effects: list = []
    originals = {name: getattr(Tensor, name) for name in _ESCAPES}

    def watch(name):
        def read(self, *args, **kwargs):
            escaped.append(name)
            return originals[name](self, *args, **kwargs)

        return read

    previous = switches.recording
    switches.recording = ops
    for name in _ESCAPES:
        setattr(Tensor, name, watch(name))
    _SIDE_EFFECTS.append(effects)
    try:
        yield ops, escaped, effects
    finally:
        _SIDE_EFFECTS.pop()
        switches.recording = previous
        for name, method in originals.items():
            setattr(Tensor, name, method)
