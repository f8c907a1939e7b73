"""The derivative table the explorer shows: per op class, its forward and each input's gradient
as a formula, and those formulas with the numbers put in.

Formulas use forward's parameter names (x, y; x_i for ops of *args), z for the output,
grad_out for the incoming gradient and the op's settings by attribute name (exponent). The
numbers shown come from the op itself (forward, backward); a formula only explains them, and
tests evaluate every arithmetic one against its op, so the two cannot drift apart. Ops defined
outside autodiff bring their own with `register_rule`. No graph, no drawing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..numpy_surface import ops
from .labels import _input_names, number


@dataclass(frozen=True)
class Rule:
    """forward: z as a formula; grads: one formula per input (one for all x_i of *args)."""

    forward: str
    grads: tuple[str, ...]


def _rules(forward: str, *grads: str) -> Rule:
    return Rule(forward, grads)


_FLAT = "grad_out * 0"
RULES: dict[type, Rule] = {
    ops.Neg: _rules("-x", "-grad_out"),
    ops.PowConst: _rules("x^exponent", "grad_out * exponent * x^(exponent - 1)"),
    ops.Exp: _rules("exp(x)", "grad_out * z"),
    ops.Expm1: _rules("exp(x) - 1", "grad_out * (z + 1)"),
    ops.Log: _rules("log(x)", "grad_out / x"),
    ops.Log1p: _rules("log(1 + x)", "grad_out / (1 + x)"),
    ops.Sqrt: _rules("sqrt(x)", "grad_out / (2 * z)"),
    ops.Abs: _rules("abs(x)", "grad_out * sign(x)"),
    ops.Sin: _rules("sin(x)", "grad_out * cos(x)"),
    ops.Cos: _rules("cos(x)", "-grad_out * sin(x)"),
    ops.Tan: _rules("tan(x)", "grad_out * (1 + z^2)"),
    ops.Arctan: _rules("arctan(x)", "grad_out / (1 + x^2)"),
    ops.Sinh: _rules("sinh(x)", "grad_out * cosh(x)"),
    ops.Cosh: _rules("cosh(x)", "grad_out * sinh(x)"),
    ops.Tanh: _rules("tanh(x)", "grad_out * (1 - z^2)"),
    ops.Sigmoid: _rules("1 / (1 + exp(-x))", "grad_out * z * (1 - z)"),
    ops.Relu: _rules("max(x, 0)", "grad_out * (x > 0)"),
    ops.Clip: _rules("clip(x, low, high)", "grad_out where low <= x <= high, else 0"),
    ops.Sign: _rules("sign(x)", _FLAT),
    ops.Floor: _rules("floor(x)", _FLAT),
    ops.Ceil: _rules("ceil(x)", _FLAT),
    ops.Round: _rules("round(x, decimals)", _FLAT),
    ops.AsType: _rules("x cast to dtype", "grad_out cast back to x's dtype"),
    ops.Add: _rules("x + y", "grad_out", "grad_out"),
    ops.Sub: _rules("x - y", "grad_out", "-grad_out"),
    ops.Mul: _rules("x * y", "grad_out * y", "grad_out * x"),
    ops.Div: _rules("x / y", "grad_out / y", "-grad_out * z / y"),
    ops.Pow: _rules("x^y", "grad_out * y * x^(y - 1)", "grad_out * z * log(x)"),
    ops.Maximum: _rules(
        "max(x, y)", "grad_out where x > y, half at ties", "grad_out where y > x, half at ties"
    ),
    ops.Minimum: _rules(
        "min(x, y)", "grad_out where x < y, half at ties", "grad_out where y < x, half at ties"
    ),
    ops.Where: _rules(
        "where(condition, x, y)", "grad_out where condition, else 0", "grad_out elsewhere, else 0"
    ),
    ops.LogAddExp: _rules("log(exp(x) + exp(y))", "grad_out * exp(x - z)", "grad_out * exp(y - z)"),
    ops.FloorDivide: _rules("floor(x / y)", _FLAT, _FLAT),
    ops.Mod: _rules("x - y * floor(x / y)", "grad_out", "-grad_out * floor(x / y)"),
    ops.Sum: _rules("sum of x over axis", "grad_out copied back over axis"),
    ops.Mean: _rules("mean of x over axis", "grad_out / n copied back over axis (n averaged)"),
    ops.Max: _rules("max of x over axis", "grad_out where x == z, shared between ties"),
    ops.Min: _rules("min of x over axis", "grad_out where x == z, shared between ties"),
    ops.Prod: _rules("product of x over axis", "grad_out * (product of the other entries)"),
    ops.LogSumExp: _rules("log(sum of exp(x) over axis)", "grad_out * exp(x - z)"),
    ops.Softmax: _rules("exp(x) / (sum of exp(x) over axis)", "z * (grad_out - sum(grad_out * z))"),
    ops.LogSoftmax: _rules("x - logsumexp(x) over axis", "grad_out - exp(z) * sum(grad_out)"),
    ops.CumSum: _rules("running sum of x along axis", "reverse running sum of grad_out"),
    ops.CumProd: _rules(
        "running product of x along axis", "reverse running sum of grad_out * z, / x"
    ),
    ops.Reshape: _rules("x reshaped to shape", "grad_out reshaped to x's shape"),
    ops.Transpose: _rules("x with its axes permuted", "grad_out with the axes put back"),
    ops.BroadcastTo: _rules("x broadcast to shape", "grad_out (summed back to x's shape)"),
    ops.Index: _rules("x[index]", "zeros like x, grad_out added at index"),
    ops.ScatterAdd: _rules("zeros(shape), x added at index", "grad_out[index]"),
    ops.Concatenate: _rules("x_i joined along axis", "the slice of grad_out that x_i filled"),
    ops.Stack: _rules("x_i stacked along a new axis", "grad_out[..., i, ...] along axis"),
    ops.Permute: _rules("x reordered along axis", "grad_out put back in place"),
    ops.MatMul: _rules("x @ y", "grad_out @ y^T", "x^T @ grad_out"),
    ops.Einsum: _rules("einsum(subscripts, x_i)", "einsum of grad_out and the other operands"),
    ops.SpectralNorm: _rules(
        "largest singular value of x", "grad_out * u v^T (its singular vectors)"
    ),
}


def register_rule(op_class: type, forward: str, *grads: str) -> None:
    """Show op_class in the explorer with these formulas (names as in RULES' docstring)."""
    RULES[op_class] = Rule(forward, grads)


def rule_of(op_class: type) -> Rule | None:
    return next((RULES[c] for c in op_class.__mro__ if c in RULES), None)


def input_name(op_class: type, position: int) -> str:
    """forward's name for input `position`: x, y, ...; x_0, x_1, ... for forward(self, *xs)."""
    fixed, star = _input_names(op_class)
    if position < len(fixed):
        return fixed[position]
    return f"{star.rstrip('s')}_{position - len(fixed)}"


def grad_formula(rule: Rule, position: int) -> str:
    """The formula of input `position`'s gradient (the inputs of *args share the last one)."""
    return rule.grads[min(position, len(rule.grads) - 1)]


# ---------------------------------------------------------------- formulas with numbers

FUNCTIONS = {
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "sign": np.sign,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "arctan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "floor": np.floor,
    "ceil": np.ceil,
    "round": np.round,
    "abs": np.abs,
    "max": np.maximum,
    "clip": np.clip,
}
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_]\w*)|(<=|>=|==|[-+*/^(),<>]))")


def tokens(formula: str) -> list[str] | None:
    """formula split into numbers, names and operators, or None if it is not arithmetic:
    words side by side (prose such as "sum of x over axis"), an unknown function, a symbol
    outside + - * / ^ ( ) , < > <= >= ==."""
    found, position = [], 0
    while position < len(formula.rstrip()):
        match = _TOKEN.match(formula, position)
        if match is None:
            return None
        found.append(match.group().strip())
        position = match.end()
    for token, after in zip(found, found[1:]):
        if not _is_operator(token) and not _is_operator(after):
            return None
        if after == "(" and not _is_operator(token) and token not in FUNCTIONS:
            return None
    return found


def _is_operator(token: str) -> bool:
    return not (token[0].isalnum() or token[0] == "_")


def substitute(formula: str, values: dict) -> str | None:
    """formula with each name replaced by its value (numbers; negatives in parentheses), or
    None where the formula names something without a scalar value or is not arithmetic."""
    parts = tokens(formula)
    if parts is None:
        return None
    out = []
    for i, part in enumerate(parts):
        if part in FUNCTIONS and i + 1 < len(parts) and parts[i + 1] == "(":
            out.append(part)
        elif part[0].isalpha() or part[0] == "_":
            value = values.get(part)
            if value is None or np.size(value) != 1:
                return None
            text = number(float(np.asarray(value).reshape(())))
            out.append(f"({text})" if text.startswith("-") and len(parts) > 1 else text)
        else:
            out.append(part)
    return _join(out)


def _join(parts: list[str]) -> str:
    """Tokens back into text: spaces around binary operators, none inside calls or after a
    unary minus."""
    text = ""
    for i, part in enumerate(parts):
        previous = parts[i - 1] if i else None
        unary = part == "-" and (previous is None or previous in "(,+-*/^<>=")
        if part in ("+", "-", "*", "/", "<", ">", "<=", ">=", "==") and not unary:
            text += f" {part} "
        elif part == ",":
            text += ", "
        else:
            text += part
    return text
