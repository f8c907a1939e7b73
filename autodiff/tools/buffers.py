"""Buffers for a compiled step: a written program's array statements rewritten to fill
arrays allocated once per batch shape, with numpy's out= (capture.py uses it).
"""

from __future__ import annotations

import ast
import re

import numpy as np

_UFUNCS = {
    ast.Add: "add",
    ast.Sub: "subtract",
    ast.Mult: "multiply",
    ast.Div: "divide",
    ast.MatMult: "matmul",
}


def with_buffers(
    lines: list[str], env: dict, keep: set, values: dict | None = None
) -> tuple[list[str], list[str]]:
    """The lines with each `name = elementwise or matmul expression` writing into a buffer
    allocated once (`buf_name`), its elementwise chain computed in place there with out=.

    Only names assigned once, whose recorded value (env) is an array of two or more entries,
    and not in keep. numpy's ufuncs give the same values with out= as without, so the
    program computes what it computed before. Returns (lines, buffer allocations). values
    caches the recorded value of each subexpression (by source) across calls.
    """
    values = {} if values is None else values
    assigned: dict[str, int] = {}
    for line in lines:
        target = _assigned_name(line)
        if target:
            assigned[target] = assigned.get(target, 0) + 1
    written, allocations = [], []
    for line in lines:
        code, _, comment = line.partition("  # ")
        target = _assigned_name(line)
        value = env.get(target) if target else None
        if (
            target is None
            or assigned[target] != 1
            or target in keep
            or not isinstance(value, np.ndarray)
            or value.size < 2
        ):
            written.append(line)
            continue
        expression = ast.parse(code.split("=", 1)[1].strip(), mode="eval").body
        if re.search(rf"\b{target}\b", code.split("=", 1)[1]):
            written.append(line)
            continue
        steps = _fused(target, expression, env, value.shape, value.dtype, values)
        if steps is None:
            written.append(line)
            continue
        allocations.append(f"buf_{target} = np.empty({value.shape!r}, dtype=np.{value.dtype.name})")
        if comment:
            steps[-1] += f"  # {comment}"
        written += steps
    return written, allocations


def _assigned_name(line: str) -> str | None:
    match = re.match(r"([A-Za-z_][A-Za-z0-9_]*) = ", line)
    return match.group(1) if match else None


def _fused(target: str, expression, env: dict, shape, dtype, values: dict) -> list[str] | None:
    steps: list[str] = []

    def value_of(node):
        source = ast.unparse(node)
        if source not in values:
            try:
                values[source] = eval(source, env)  # noqa: S307
            except Exception:  # noqa: BLE001  (not evaluable alone: left as it is)
                values[source] = None
        return values[source]

    def parts(node):
        """(ufunc name, argument nodes) for an elementwise or matmul node, else None."""
        if isinstance(node, ast.BinOp) and type(node.op) in _UFUNCS:
            return _UFUNCS[type(node.op)], [node.left, node.right]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return "negative", [node.operand]
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "np"
            and isinstance(getattr(np, node.func.attr, None), np.ufunc)
            and not node.keywords
            and all(not isinstance(a, ast.Starred) for a in node.args)
        ):
            return node.func.attr, list(node.args)
        return None

    def full(node) -> bool:
        value = value_of(node)
        return isinstance(value, np.ndarray) and value.shape == shape and value.dtype == dtype

    def emit(node) -> str:
        split = parts(node)
        if split is None or not full(node):
            return ast.unparse(node)
        ufunc, arguments = split
        sources, in_place = [], ufunc == "matmul"  # matmul must not write over its input
        for argument in arguments:
            if not in_place and parts(argument) is not None and full(argument):
                sources.append(emit(argument))
                in_place = True
            else:
                sources.append(ast.unparse(argument))
        call = f"np.{ufunc}({', '.join(sources)}, out={'buf_' + target if not steps else target})"
        steps.append(f"{target} = {call}" if not steps else call)
        return target

    try:
        reduced = _sum_over_axis(expression)
        if reduced is not None and full(expression):
            # x.sum(axis=k) is np.add.reduce(x, axis=k): the same sums, into the buffer.
            return [f"{target} = np.add.reduce({reduced}, out=buf_{target})"]
        if parts(expression) is None or not full(expression):
            return None
        emit(expression)
        return steps
    finally:
        emit = None  # noqa: F841  (emit refers to itself: a cycle that would keep the values)


def _sum_over_axis(node) -> str | None:
    """'x, axis=k' for a node `x.sum(axis=k)` on a name, else None."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "sum"
        and isinstance(node.func.value, ast.Name)
        and not node.args
        and [k.arg for k in node.keywords] == ["axis"]
        and isinstance(node.keywords[0].value, (ast.Constant, ast.Tuple))
    ):
        return f"{node.func.value.id}, axis={ast.unparse(node.keywords[0].value)}"
    return None
