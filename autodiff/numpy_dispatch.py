"""How numpy's ufuncs and functions reach Tensor ops (numpy's dispatch protocols).

One table entry per numpy name, taking numpy's own argument names; an argument we cannot honour
(out=, where=, an integer dtype) is refused by that name. Functions without a gradient (shape
queries, positions, comparisons of values) run on the values and return numpy results.
"""

from __future__ import annotations

import numpy as np

from . import functions as fn
from . import linalg, ops
from .functions import as_tensor
from .tensor import Tensor, apply, lift
from .tensor_methods import _binary, _data


def _refuse(name: str, **arguments) -> None:
    """TypeError for the first argument given (not None) that Tensors cannot honour."""
    for argument, value in arguments.items():
        if value is not None:
            hint = (
                ": Tensors are never written in place, use the result" if argument == "out" else ""
            )
            raise TypeError(
                f"numpy.{name}: the argument {argument}= is not supported on Tensors{hint}"
            )


def _typed(a, dtype, name: str) -> Tensor:
    """a as a Tensor in dtype, which must be a float dtype (Tensors hold floats)."""
    a = as_tensor(a)
    if dtype is None:
        return a
    if not np.issubdtype(np.dtype(dtype), np.floating):
        raise TypeError(
            f"numpy.{name}: dtype={np.dtype(dtype)} is not supported on Tensors, which hold "
            "floats: pass a float dtype, or use t.data"
        )
    return a.astype(dtype)


def _values(value):
    """Tensors (also inside lists and tuples) replaced by their data, for functions without
    a gradient."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, (list, tuple)):
        return type(value)(_values(v) for v in value)
    return value


# ---------------------------------------------------------------- ufuncs

LN2, LN10 = np.log(2.0), np.log(10.0)


def _unary(op_class):
    return lambda a: apply(op_class(), a)


UFUNCS = {
    np.add: lambda a, b: _binary(ops.Add, a, b),
    np.subtract: lambda a, b: _binary(ops.Sub, a, b),
    np.multiply: lambda a, b: _binary(ops.Mul, a, b),
    np.true_divide: lambda a, b: _binary(ops.Div, a, b),
    np.floor_divide: lambda a, b: _binary(ops.FloorDivide, a, b),
    np.remainder: lambda a, b: _binary(ops.Mod, a, b),
    np.power: lambda a, b: a**b if isinstance(a, Tensor) else _binary(ops.Pow, a, b),
    np.matmul: lambda a, b: a @ b if isinstance(a, Tensor) else lift(a, b) @ b,
    np.maximum: fn.maximum,
    np.minimum: fn.minimum,
    np.logaddexp: lambda a, b: _binary(ops.LogAddExp, a, b),
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
        _refuse(name, **{k: v for k, v in kwargs.items() if k != "out"}, out=kwargs.get("out"))
        if ufunc in UFUNCS:
            return UFUNCS[ufunc](*inputs)
        if ufunc in MASK_UFUNCS:
            return Tensor._make(np.asarray(ufunc(*[_data(i) for i in inputs])), False)
    where = name if method == "__call__" else f"{name} ({method})"
    raise TypeError(
        f"numpy.{where} is not differentiable here: use a Tensor method, or apply it to "
        "t.data if you do not need its gradient"
    )


# ---------------------------------------------------------------- functions


def _sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    _refuse("sum", out=out, where=where)
    result = _typed(a, dtype, "sum").sum(axis, keepdims)
    return result if initial is None else result + initial


def _prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    _refuse("prod", out=out, where=where)
    result = _typed(a, dtype, "prod").prod(axis, keepdims)
    return result if initial is None else result * initial


def _mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    _refuse("mean", out=out, where=where)
    return _typed(a, dtype, "mean").mean(axis, keepdims)


def _extreme(name: str, pick):
    def extreme(a, axis=None, out=None, keepdims=False, initial=None, where=None):
        _refuse(name, out=out, where=where)
        result = getattr(as_tensor(a), name)(axis, keepdims)
        return result if initial is None else pick(result, initial)

    return extreme


def _spread(name: str):
    def spread(
        a,
        axis=None,
        dtype=None,
        out=None,
        ddof=0,
        keepdims=False,
        *,
        where=None,
        mean=None,
        correction=None,
    ):
        _refuse(name, out=out, where=where, mean=mean)
        ddof = ddof if correction is None else correction
        return getattr(_typed(a, dtype, name), name)(axis, ddof, keepdims)

    return spread


def _scan(name: str):
    def scan(a, axis=None, dtype=None, out=None):
        _refuse(name, out=out)
        return getattr(_typed(a, dtype, name), name)(axis)

    return scan


def _reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    shape = newshape if shape is None else shape
    a = as_tensor(a)
    if order == "F":  # Fortran order is C order on the reversed axes
        return a.transpose().reshape(tuple(np.atleast_1d(shape))[::-1]).transpose()
    if order not in ("C", "A"):
        raise TypeError(f"numpy.reshape: order={order!r} is not supported on Tensors")
    return a.reshape(shape)


def _ravel(a, order="C"):
    return _reshape(a, -1, order)


def _clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None):
    _refuse("clip", out=out)
    return as_tensor(a).clip(
        a_min if a_min is not None else min, a_max if a_max is not None else max
    )


def _joined(name: str, join):
    def joined(arrays, axis=0, out=None, *, dtype=None, casting=None):
        _refuse(name, out=out, casting=casting)
        return join([_typed(t, dtype, name) for t in arrays], axis)

    return joined


def _stacked(name: str, join):
    def stacked(tup, *, dtype=None, casting=None):
        _refuse(name, casting=casting)
        return join([_typed(t, dtype, name) for t in tup])

    return stacked


def _at_least(one):
    def at_least(*arrays):
        results = [one(a) for a in arrays]
        return results[0] if len(results) == 1 else results

    return at_least


def _where(condition, x=None, y=None):
    if x is None and y is None:  # the positions where condition holds: no gradient
        return np.where(_data(condition))
    return fn.where(condition, x, y)


def _einsum(*operands, out=None, optimize=False, **kwargs):
    _refuse("einsum", out=out, **kwargs)
    return linalg.einsum(*operands, optimize=optimize)


def _round(a, decimals=0, out=None):
    _refuse("round", out=out)
    return as_tensor(a).round(decimals)


def _sort(a, axis=-1, kind=None, order=None, *, stable=None):
    _refuse("sort", order=order)
    return fn.sort(a, axis)


def _dot(a, b, out=None):
    _refuse("dot", out=out)
    return linalg.dot(a, b)


def _outer(a, b, out=None):
    _refuse("outer", out=out)
    return linalg.outer(a, b)


def _trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    _refuse("trace", out=out)
    return linalg.trace(_typed(a, dtype, "trace"), offset, axis1, axis2)


FUNCTIONS = {
    np.sum: _sum,
    np.prod: _prod,
    np.mean: _mean,
    np.max: _extreme("max", fn.maximum),
    np.amax: _extreme("max", fn.maximum),
    np.min: _extreme("min", fn.minimum),
    np.amin: _extreme("min", fn.minimum),
    np.var: _spread("var"),
    np.std: _spread("std"),
    np.cumsum: _scan("cumsum"),
    np.cumprod: _scan("cumprod"),
    np.sort: _sort,
    np.round: _round,
    np.around: _round,
    np.clip: _clip,
    np.where: _where,
    # layout
    np.reshape: _reshape,
    np.ravel: _ravel,
    np.transpose: lambda a, axes=None: as_tensor(a).transpose(*(() if axes is None else (axes,))),
    np.swapaxes: lambda a, axis1, axis2: as_tensor(a).swapaxes(axis1, axis2),
    np.moveaxis: fn.moveaxis,
    np.squeeze: lambda a, axis=None: as_tensor(a).squeeze(axis),
    np.expand_dims: fn.expand_dims,
    np.broadcast_to: lambda array, shape, subok=False: as_tensor(array).broadcast_to(shape),
    np.flip: fn.flip,
    np.roll: fn.roll,
    np.repeat: lambda a, repeats, axis=None: as_tensor(a).repeat(repeats, axis),
    np.tile: fn.tile,
    np.pad: fn.pad,
    np.tril: fn.tril,
    np.triu: fn.triu,
    # joining and splitting
    np.concatenate: _joined("concatenate", fn.concatenate),
    np.stack: _joined("stack", fn.stack),
    np.vstack: _stacked("vstack", fn.vstack),
    np.hstack: _stacked("hstack", fn.hstack),
    np.dstack: lambda tup: fn.dstack(tup),
    np.column_stack: lambda tup: fn.column_stack(tup),
    np.split: fn.split,
    np.array_split: fn.array_split,
    np.atleast_1d: _at_least(fn.atleast_1d),
    np.atleast_2d: _at_least(fn.atleast_2d),
    np.atleast_3d: _at_least(fn.atleast_3d),
    # linear algebra
    np.einsum: _einsum,
    np.dot: _dot,
    np.vdot: linalg.vdot,
    np.inner: linalg.inner,
    np.outer: _outer,
    np.tensordot: linalg.tensordot,
    np.trace: _trace,
    np.diagonal: linalg.diagonal,
    np.diag: linalg.diag,
    np.linalg.norm: linalg.norm,
}

# Functions without a gradient: they run on the values and give numpy results.
VALUE_FUNCTIONS = {
    np.shape,
    np.ndim,
    np.size,
    np.zeros_like,
    np.ones_like,
    np.full_like,
    np.empty_like,
    np.allclose,
    np.isclose,
    np.array_equal,
    np.argmax,
    np.argmin,
    np.argsort,
    np.nonzero,
    np.count_nonzero,
    np.any,
    np.all,
}


def call_function(func, args: tuple, kwargs: dict):
    if func in FUNCTIONS:
        return FUNCTIONS[func](*args, **kwargs)
    if func in VALUE_FUNCTIONS:
        return func(*_values(args), **{k: _values(v) for k, v in kwargs.items()})
    module = ".".join(part for part in func.__module__.split(".") if not part.startswith("_"))
    raise TypeError(
        f"{module}.{func.__name__} is not differentiable here: use a Tensor method or autodiff "
        "function, or apply it to t.data if you do not need its gradient"
    )
