"""How numpy's functions reach Tensor ops (numpy's __array_function__ protocol).

One table entry per numpy name, taking numpy's own argument names; an argument we cannot honour
(out=, where=, an integer dtype) is refused by that name. Functions without a gradient (shape
queries, positions, comparisons of values) run on the values and return numpy results. Ufuncs
are in ufuncs.py.
"""

from __future__ import annotations

import numpy as np

from ..core.methods import data_of
from ..core.tensor import Tensor
from . import functions as fn
from . import linalg
from .functions import as_tensor


def refuse(name: str, **arguments) -> None:
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
    return a if np.dtype(dtype) == a.dtype else a.astype(dtype)


def _values(value):
    """Tensors (also inside lists and tuples) replaced by their data, for functions without
    a gradient."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, (list, tuple)):
        return type(value)(_values(v) for v in value)
    return value


def _sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    refuse("sum", out=out, where=where)
    result = _typed(a, dtype, "sum").sum(axis, keepdims)
    return result if initial is None else result + initial


def _prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    refuse("prod", out=out, where=where)
    result = _typed(a, dtype, "prod").prod(axis, keepdims)
    return result if initial is None else result * initial


def _mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    refuse("mean", out=out, where=where)
    return _typed(a, dtype, "mean").mean(axis, keepdims)


def _extreme(name: str, pick):
    def extreme(a, axis=None, out=None, keepdims=False, initial=None, where=None):
        refuse(name, out=out, where=where)
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
        refuse(name, out=out, where=where, mean=mean)
        ddof = ddof if correction is None else correction
        return getattr(_typed(a, dtype, name), name)(axis, ddof, keepdims)

    return spread


def _scan(name: str):
    def scan(a, axis=None, dtype=None, out=None):
        refuse(name, out=out)
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
    refuse("clip", out=out)
    return as_tensor(a).clip(
        a_min if a_min is not None else min, a_max if a_max is not None else max
    )


def _joined(name: str, join):
    def joined(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
        refuse(name, out=out)
        return join(_cast(name, arrays, dtype, casting), axis)

    return joined


def _stacked(name: str, join):
    def stacked(tup, *, dtype=None, casting="same_kind"):
        return join(_cast(name, tup, dtype, casting))

    return stacked


CASTINGS = ("no", "equiv", "safe", "same_kind", "unsafe")


def _cast(name: str, arrays, dtype, casting: str) -> list[Tensor]:
    """The arrays to join as Tensors in dtype (when given), if numpy's casting rule lets each
    one's dtype become the result's (same_kind is numpy's default, and np.row_stack passes
    it)."""
    if casting not in CASTINGS:
        raise ValueError(f"numpy.{name}: casting must be one of {CASTINGS}, got {casting!r}")
    tensors = [as_tensor(a) for a in arrays]
    result = np.dtype(dtype) if dtype is not None else np.result_type(*[t.dtype for t in tensors])
    for t in tensors:
        if not np.can_cast(t.dtype, result, casting):
            raise TypeError(
                f"numpy.{name}: cannot cast a Tensor of dtype {t.dtype} to {result} under "
                f"casting={casting!r}"
            )
    return [_typed(t, dtype, name) for t in tensors]


def _at_least(one):
    def at_least(*arrays):
        results = [one(a) for a in arrays]
        return results[0] if len(results) == 1 else results

    return at_least


def _where(condition, x=None, y=None):
    if x is None and y is None:  # the positions where condition holds: no gradient
        return np.where(data_of(condition))
    return fn.where(condition, x, y)


def _einsum(*operands, out=None, optimize=False, **kwargs):
    refuse("einsum", out=out, **kwargs)
    return linalg.einsum(*operands, optimize=optimize)


def _round(a, decimals=0, out=None):
    refuse("round", out=out)
    return as_tensor(a).round(decimals)


def _sort(a, axis=-1, kind=None, order=None, *, stable=None):
    refuse("sort", order=order)
    return fn.sort(a, axis)


def _dot(a, b, out=None):
    refuse("dot", out=out)
    return linalg.dot(a, b)


def _outer(a, b, out=None):
    refuse("outer", out=out)
    return linalg.outer(a, b)


def _trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    refuse("trace", out=out)
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
