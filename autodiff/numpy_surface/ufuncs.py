"""How numpy's ufuncs reach Tensor ops (numpy's __array_ufunc__ protocol): elementwise
functions with a gradient map to ops, comparisons and value tests give constant masks.
"""

from __future__ import annotations

import numpy as np

from ..core.methods import data_of
from ..core.tensor import Tensor, apply, lift
from . import functions as fn
from . import ops
from .array_functions import refuse
from .functions import apply_binary

LN2, LN10 = np.log(2.0), np.log(10.0)


def _unary(op_class):
    return lambda a: apply(op_class(), a)


UFUNCS = {
    np.add: lambda a, b: apply_binary(ops.Add, a, b),
    np.subtract: lambda a, b: apply_binary(ops.Sub, a, b),
    np.multiply: lambda a, b: apply_binary(ops.Mul, a, b),
    np.true_divide: lambda a, b: apply_binary(ops.Div, a, b),
    np.floor_divide: lambda a, b: apply_binary(ops.FloorDivide, a, b),
    np.remainder: lambda a, b: apply_binary(ops.Mod, a, b),
    np.power: lambda a, b: a**b if isinstance(a, Tensor) else apply_binary(ops.Pow, a, b),
    np.matmul: lambda a, b: a @ b if isinstance(a, Tensor) else lift(a, b) @ b,
    np.maximum: fn.maximum,
    np.minimum: fn.minimum,
    np.logaddexp: lambda a, b: apply_binary(ops.LogAddExp, a, b),
    np.negative: lambda a: -a,
    np.positive: lambda a: a,
    np.absolute: abs,
    np.fabs: abs,
    np.square: lambda a: a**2,
    np.reciprocal: lambda a: 1 / a,
    np.exp2: lambda a: (a * LN2).exp(),
    np.log2: lambda a: a.log() / LN2,
    np.log10: lambda a: a.log() / LN10,
    np.exp: _unary(ops.Exp),
    np.expm1: _unary(ops.Expm1),
    np.log: _unary(ops.Log),
    np.log1p: _unary(ops.Log1p),
    np.sqrt: _unary(ops.Sqrt),
    np.sin: _unary(ops.Sin),
    np.cos: _unary(ops.Cos),
    np.tan: _unary(ops.Tan),
    np.arctan: _unary(ops.Arctan),
    np.sinh: _unary(ops.Sinh),
    np.cosh: _unary(ops.Cosh),
    np.tanh: _unary(ops.Tanh),
    np.sign: _unary(ops.Sign),
    np.floor: _unary(ops.Floor),
    np.ceil: _unary(ops.Ceil),
    np.rint: _unary(ops.Round),
}

# Ufuncs whose result has no gradient: they give constant (boolean) tensors, for masks.
MASK_UFUNCS = {
    np.greater,
    np.greater_equal,
    np.less,
    np.less_equal,
    np.equal,
    np.not_equal,
    np.logical_and,
    np.logical_or,
    np.logical_xor,
    np.logical_not,
    np.isfinite,
    np.isinf,
    np.isnan,
    np.signbit,
}


def call_ufunc(ufunc, method: str, inputs: tuple, kwargs: dict):
    name = ufunc.__name__
    if method == "__call__":
        refuse(name, **{k: v for k, v in kwargs.items() if k != "out"}, out=kwargs.get("out"))
        if ufunc in UFUNCS:
            return UFUNCS[ufunc](*inputs)
        if ufunc in MASK_UFUNCS:
            return Tensor._make(np.asarray(ufunc(*[data_of(i) for i in inputs])), False)
    where = name if method == "__call__" else f"{name} ({method})"
    raise TypeError(
        f"numpy.{where} is not differentiable here: use a Tensor method, or apply it to "
        "t.data if you do not need its gradient"
    )
