"""The numpy surface, systematically: every supported numpy function and Tensor method, with
several shapes, axes and keyword forms, called as numpy code is written.

Each case is one callable run twice, on plain arrays (the expected value) and on Tensors
(through numpy's dispatch), then checked at first order (gradcheck), at second order (the
create_graph Hessian-vector product against central differences of first-order gradients),
and in float32. In the spirit of HIPS autograd's test_systematic; the cases are our own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from numpy.testing import assert_allclose

import autodiff
from autodiff import Tensor, gradcheck, numerical_gradient


def normal(*shape: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def positive(*shape: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.5, 2.0, shape)


def distinct(*shape: int, seed: int) -> np.ndarray:
    """Values 0.37 apart and at least 0.02 from 0: no ties for max, sort or abs."""
    count = int(np.prod(shape))
    steps = np.random.default_rng(seed).permutation(count) - (count - 1) / 2
    return (steps * 0.37 + 0.11).reshape(shape)


def quarters(*shape: int, seed: int) -> np.ndarray:
    """integer + 0.25: away from the jumps of floor, ceil, round, // and %."""
    return np.random.default_rng(seed).integers(-3, 3, shape) + 0.25


@dataclass(frozen=True)
class Case:
    call: Callable  # the same numpy code for arrays and Tensors
    inputs: tuple[np.ndarray, ...]
    second_order: bool = True
    keeps_float32: bool = True


def pieces(parts) -> list:
    """Pieces of a split, weighted 1, 2, 3, ... and flattened, as one array to compare."""
    return np.concatenate([np.ravel(p) * (k + 1) for k, p in enumerate(parts)])


A, B = normal(2, 3, seed=1), normal(3, 4, seed=2)
V3, W3 = normal(3, seed=3), normal(3, seed=4)
T234, T345 = normal(2, 3, 4, seed=5), normal(3, 4, 5, seed=6)
SQUARE, BATCH = normal(3, 3, seed=7), normal(2, 3, 3, seed=8)
D34, D234 = distinct(3, 4, seed=9), distinct(2, 3, 4, seed=10)
P34 = positive(3, 4, seed=11)
WITH_ZERO = np.array([[0.0, 1.5, -0.7], [1.2, 0.8, 2.0]])
TWO_ZEROS = np.array([[0.0, 1.5, 0.0], [1.2, 0.0, 2.0]])

COLUMN, TARGET = normal(3, 1, seed=60), np.array([[0.0], [1.0]])
ROWS, LABELS = normal(4, 3, seed=61), np.array([2, 0, 1, 2])


def network_py_cost(w, b):
    """Nielsen's network.py feedforward and quadratic cost, as written (columns, np.dot)."""
    a = 1.0 / (1.0 + np.exp(-(np.dot(w, COLUMN) + b)))
    return 0.5 * np.linalg.norm(a - TARGET) ** 2


def makemore_loss(w):
    """Karpathy's makemore bigram loss, as written: counts, probabilities, mean NLL."""
    counts = np.exp(ROWS @ w)
    probs = counts / counts.sum(1, keepdims=True)
    return -np.log(probs[np.arange(len(LABELS)), LABELS]).mean()


CASES: dict[str, Case] = {
    # user code as written
    "network.py cost": Case(network_py_cost, (normal(2, 3, seed=62), normal(2, 1, seed=63))),
    "makemore loss": Case(makemore_loss, (normal(3, 3, seed=64),)),
    # products
    "dot 1-D 1-D": Case(np.dot, (V3, W3)),
    "dot 2-D 1-D": Case(np.dot, (A, V3)),
    "dot 1-D 2-D": Case(np.dot, (V3, B)),
    "dot 2-D 2-D": Case(np.dot, (A, B)),
    "dot 3-D 1-D": Case(np.dot, (T234, normal(4, seed=12))),
    "dot 3-D 3-D": Case(np.dot, (T234, normal(5, 4, 2, seed=13))),
    "dot 0-D": Case(np.dot, (np.array(1.3), V3)),
    "dot method": Case(lambda a, b: a.dot(b), (A, B)),
    "vdot": Case(np.vdot, (A, normal(3, 2, seed=14))),
    "inner 1-D": Case(np.inner, (V3, W3)),
    "inner 2-D": Case(np.inner, (A, normal(4, 3, seed=15))),
    "inner 3-D 1-D": Case(np.inner, (normal(2, 2, 3, seed=16), V3)),
    "outer": Case(np.outer, (V3, normal(2, 2, seed=17))),
    "tensordot 2": Case(np.tensordot, (T234, T345)),
    "tensordot 1": Case(lambda a, b: np.tensordot(a, b, 1), (T234, normal(4, 2, seed=19))),
    "tensordot 0": Case(lambda a, b: np.tensordot(a, b, axes=0), (V3, normal(2, seed=20))),
    "tensordot pairs": Case(
        lambda a, b: np.tensordot(a, b, axes=([1, 0], [0, 2])), (T234, normal(3, 5, 2, seed=21))
    ),
    "matmul 1-D 2-D": Case(np.matmul, (V3, B)),
    "matmul batched broadcast": Case(
        np.matmul, (normal(2, 1, 3, 4, seed=22), normal(5, 4, 2, seed=23))
    ),
    "einsum matmul": Case(lambda a, b: np.einsum("ij,jk->ik", a, b), (A, B)),
    "einsum implicit": Case(lambda a, b: np.einsum("ij,jk", a, b), (A, B)),
    "einsum implicit transpose": Case(lambda a: np.einsum("ba", a), (A,)),
    "einsum trace": Case(lambda a: np.einsum("ii", a), (SQUARE,)),
    "einsum diagonal": Case(lambda a: np.einsum("ii->i", a), (SQUARE,)),
    "einsum sum": Case(lambda a: np.einsum("ij->", a), (A,)),
    "einsum row sums": Case(lambda a: np.einsum("ij->i", a), (A,)),
    "einsum inner": Case(lambda a, b: np.einsum("i,i->", a, b), (V3, W3)),
    "einsum outer": Case(lambda a, b: np.einsum("i,j->ij", a, b), (V3, normal(2, seed=24))),
    "einsum ellipsis": Case(
        lambda a, b: np.einsum("...ij,...jk->...ik", a, b),
        (normal(2, 2, 3, seed=25), normal(3, 4, seed=26)),
    ),
    "einsum broadcast ellipsis": Case(
        lambda a, b: np.einsum("...i,...i->...", a, b),
        (normal(2, 1, 3, seed=27), normal(4, 3, seed=28)),
    ),
    "einsum three operands": Case(
        lambda a, b, c: np.einsum("ij,jk,ik->i", a, b, c), (A, B, normal(2, 4, seed=29))
    ),
    "einsum batch diagonal": Case(lambda a: np.einsum("bii->b", a), (BATCH,)),
    # matrix parts
    "trace": Case(np.trace, (SQUARE,)),
    "trace offset": Case(lambda a: np.trace(a, offset=1), (B,)),
    "trace axes": Case(lambda a: np.trace(a, axis1=1, axis2=2), (BATCH,)),
    "trace method": Case(lambda a: a.trace(-1), (B,)),
    "diagonal": Case(lambda a: np.diagonal(a, 1, 0, 2), (T234,)),
    "diag of a vector": Case(np.diag, (V3,)),
    "diag of a vector k": Case(lambda v: np.diag(v, k=-2), (V3,)),
    "diag of a matrix": Case(lambda a: np.diag(a, 1), (B,)),
    "tril": Case(np.tril, (B,)),
    "tril k": Case(lambda a: np.tril(a, k=-1), (BATCH,)),
    "triu k": Case(lambda a: np.triu(a, 1), (B,)),
    # norms
    "norm": Case(np.linalg.norm, (T234,)),
    "norm vector 1": Case(lambda x: np.linalg.norm(x, 1), (distinct(5, seed=30),)),
    "norm vector inf": Case(lambda x: np.linalg.norm(x, np.inf), (distinct(5, seed=31),)),
    "norm vector -inf": Case(lambda x: np.linalg.norm(x, -np.inf), (distinct(5, seed=32),)),
    "norm vector 3": Case(lambda x: np.linalg.norm(x, 3), (distinct(5, seed=33),)),
    "norm rows keepdims": Case(lambda x: np.linalg.norm(x, axis=1, keepdims=True), (A,)),
    "norm matrix fro": Case(lambda x: np.linalg.norm(x, "fro"), (B,)),
    "norm matrix 1": Case(lambda x: np.linalg.norm(x, 1), (D34,)),
    "norm matrix inf": Case(lambda x: np.linalg.norm(x, np.inf), (D34,)),
    "norm matrix -1": Case(lambda x: np.linalg.norm(x, -1), (D34,)),
    "norm matrix 2": Case(lambda x: np.linalg.norm(x, 2), (B,), second_order=False),
    "norm matrices 2 axes": Case(
        lambda x: np.linalg.norm(x, 2, axis=(2, 0)), (T234,), second_order=False
    ),
    "norm matrices fro axes": Case(lambda x: np.linalg.norm(x, axis=(0, 2)), (T234,)),
    # spread and products
    "var": Case(np.var, (A,)),
    "var axis ddof": Case(lambda x: np.var(x, axis=0, ddof=1), (T234,)),
    "var axes keepdims": Case(lambda x: np.var(x, axis=(0, 2), keepdims=True), (T234,)),
    "var method": Case(lambda x: x.var(axis=-1, ddof=1), (A,)),
    "std": Case(np.std, (A,)),
    "std axis ddof": Case(lambda x: np.std(x, axis=1, ddof=1), (T234,)),
    "std method": Case(lambda x: x.std(0), (A,)),
    "prod": Case(np.prod, (P34,)),
    "prod axis": Case(lambda x: np.prod(x, axis=0, keepdims=True), (P34,)),
    "prod axes": Case(lambda x: np.prod(x, axis=(0, 2)), (positive(2, 3, 2, seed=34),)),
    "prod with a zero": Case(lambda x: np.prod(x, axis=1), (WITH_ZERO,)),
    "prod with two zeros": Case(lambda x: np.prod(x), (TWO_ZEROS,)),
    "prod method": Case(lambda x: x.prod(1), (P34,)),
    "cumsum": Case(np.cumsum, (A,)),
    "cumsum axis": Case(lambda x: np.cumsum(x, axis=1), (T234,)),
    "cumsum method": Case(lambda x: x.cumsum(0), (A,)),
    "cumprod": Case(np.cumprod, (positive(2, 3, seed=35),)),
    "cumprod axis": Case(lambda x: np.cumprod(x, axis=-1), (positive(2, 2, 3, seed=36),)),
    "cumprod with a zero": Case(lambda x: np.cumprod(x, axis=1), (WITH_ZERO,)),
    "cumprod method": Case(lambda x: x.cumprod(1), (P34,)),
    "sort": Case(np.sort, (D34,)),
    "sort axis 0": Case(lambda x: np.sort(x, axis=0), (D234,)),
    "sort flat": Case(lambda x: np.sort(x, axis=None), (D34,)),
    "amax": Case(lambda x: np.amax(x, axis=1), (D34,)),
    "amin keepdims": Case(lambda x: np.amin(x, axis=(0, 2), keepdims=True), (D234,)),
    "max initial": Case(lambda x: np.max(x, axis=0, initial=0.2), (D34,)),
    # elementwise
    "square": Case(np.square, (A,)),
    "reciprocal": Case(np.reciprocal, (P34,)),
    "sin": Case(np.sin, (A,)),
    "cos": Case(np.cos, (A,)),
    "tan": Case(np.tan, (0.5 * A,)),
    "sinh": Case(np.sinh, (A,)),
    "cosh": Case(np.cosh, (A,)),
    "arctan": Case(np.arctan, (A,)),
    "log1p": Case(np.log1p, (P34 - 0.4,)),
    "expm1": Case(np.expm1, (A,)),
    "log2": Case(np.log2, (P34,)),
    "log10": Case(np.log10, (P34,)),
    "exp2": Case(np.exp2, (A,)),
    "logaddexp": Case(np.logaddexp, (A, V3)),
    "sign": Case(np.sign, (D34,)),
    "floor": Case(np.floor, (quarters(3, 4, seed=37),)),
    "ceil": Case(np.ceil, (quarters(3, 4, seed=38),)),
    "round": Case(np.round, (quarters(3, 4, seed=39),)),
    "round method": Case(lambda x: x.round(1), (quarters(3, 4, seed=40) / 10,)),
    "python abs": Case(abs, (D34,)),
    "floor divide": Case(lambda x: x // 0.5, (quarters(3, 4, seed=42) * 0.5,)),
    "mod": Case(lambda x, y: x % y, (quarters(3, 4, seed=43) * P34[0], P34[0])),
    "power zero": Case(lambda x: x**0 * x, (A,)),
    "clip": Case(lambda x: np.clip(x, a_min=-0.5, a_max=0.5), (D34,)),
    "clip method": Case(lambda x: x.clip(min=-0.5), (D34,)),
    "astype": Case(lambda x: x.astype(np.float64) * 2, (A,), keeps_float32=False),
    # layout
    "squeeze": Case(np.squeeze, (normal(1, 3, 1, seed=45),)),
    "squeeze axis": Case(lambda x: np.squeeze(x, axis=(0, 2)), (normal(1, 3, 1, 2, seed=46),)),
    "squeeze method": Case(lambda x: x.squeeze(-1), (normal(3, 1, seed=47),)),
    "expand_dims": Case(lambda x: np.expand_dims(x, 0), (A,)),
    "expand_dims axes": Case(lambda x: np.expand_dims(x, (0, -1)), (A,)),
    "ravel": Case(np.ravel, (T234,)),
    "ravel method": Case(lambda x: x.ravel(), (T234,)),
    "T": Case(lambda x: x.T, (T234,)),
    "moveaxis": Case(lambda x: np.moveaxis(x, 0, -1), (T234,)),
    "moveaxis several": Case(lambda x: np.moveaxis(x, [0, 1], [-1, -3]), (T234,)),
    "flip": Case(np.flip, (T234,)),
    "flip axis": Case(lambda x: np.flip(x, axis=(0, 2)), (T234,)),
    "roll flat": Case(lambda x: np.roll(x, 2), (A,)),
    "roll axis": Case(lambda x: np.roll(x, -1, axis=1), (T234,)),
    "roll axes": Case(lambda x: np.roll(x, (1, 2), axis=(0, 2)), (T234,)),
    "repeat": Case(lambda x: np.repeat(x, 2), (A,)),
    "repeat axis": Case(lambda x: np.repeat(x, [1, 0, 2], axis=1), (A,)),
    "repeat method": Case(lambda x: x.repeat(3, axis=0), (A,)),
    "tile": Case(lambda x: np.tile(x, 2), (V3,)),
    "tile 2-D": Case(lambda x: np.tile(x, (2, 1, 3)), (A,)),
    "pad": Case(lambda x: np.pad(x, 1), (A,)),
    "pad widths": Case(lambda x: np.pad(x, ((1, 0), (0, 2)), constant_values=0.5), (A,)),
    "split": Case(lambda x: pieces(np.split(x, 3, axis=1)), (normal(2, 6, seed=48),)),
    "split positions": Case(lambda x: pieces(np.split(x, [1, 3])), (normal(5, 2, seed=49),)),
    "array_split": Case(lambda x: pieces(np.array_split(x, 3)), (normal(7, seed=50),)),
    "vstack": Case(lambda a, b: np.vstack([a, b]), (V3, W3)),
    "vstack 2-D": Case(lambda a, b: np.vstack((a, b)), (A, normal(1, 3, seed=51))),
    "hstack": Case(lambda a, b: np.hstack([a, b]), (V3, normal(2, seed=52))),
    "hstack 2-D": Case(lambda a, b: np.hstack([a, b]), (A, normal(2, 1, seed=53))),
    "dstack": Case(lambda a, b: np.dstack([a, b]), (A, A[::-1].copy())),
    "column_stack": Case(lambda a, b: np.column_stack([a, b]), (normal(2, seed=54), A)),
    "concatenate": Case(lambda a, b: np.concatenate((a, b), axis=-1), (A, normal(2, 2, seed=55))),
    "stack": Case(lambda a, b: np.stack([a, b], axis=-1), (A, A * 2)),
    "atleast_1d": Case(np.atleast_1d, (np.array(1.5),)),
    "atleast_2d": Case(np.atleast_2d, (V3,)),
    "atleast_3d": Case(np.atleast_3d, (A,)),
    "where": Case(lambda x: np.where(x > 0, x, 0.1 * x), (D34,)),
    "getitem": Case(lambda x: x[1:, [0, 2]][..., None], (T234,)),
}


def tensors(case: Case, dtype=np.float64) -> list[Tensor]:
    return [Tensor(a, requires_grad=True, dtype=dtype) for a in case.inputs]


NAMES = sorted(CASES)


@pytest.mark.parametrize("name", NAMES)
def test_value_matches_numpy(name):
    case = CASES[name]
    out = case.call(*tensors(case))
    expected = case.call(*case.inputs)
    assert isinstance(out, Tensor) and out.requires_grad
    assert out.shape == np.shape(expected)
    assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_central_differences(name):
    case = CASES[name]
    assert gradcheck(case.call, *tensors(case), atol=1e-7, rtol=1e-5)


def projected_gradient(case: Case, arrays, weights, directions, create_graph: bool):
    """sum_i <dF/dx_i, v_i> for F = sum(out^2 * w): its gradient is the Hessian of F times v."""
    inputs = [Tensor(a, requires_grad=True) for a in arrays]
    out = case.call(*inputs)
    grads = autodiff.grad((out * out * weights).sum(), inputs, create_graph=create_graph)
    return sum((g * v).sum() for g, v in zip(grads, directions)), inputs


@pytest.mark.parametrize("name", [n for n in NAMES if CASES[n].second_order])
def test_second_order_matches_differences_of_first(name):
    case = CASES[name]
    rng = np.random.default_rng(0)
    setup = (
        rng.standard_normal(np.shape(case.call(*case.inputs))),
        [rng.standard_normal(a.shape) for a in case.inputs],
    )
    total, inputs = projected_gradient(case, case.inputs, *setup, create_graph=True)
    analytic = autodiff.grad(total, inputs)
    numeric = numerical_gradient(
        lambda *a: projected_gradient(case, a, *setup, create_graph=False)[0],
        *[a.copy() for a in case.inputs],
    )
    for position, (a, n) in enumerate(zip(analytic, numeric)):
        assert_allclose(a.data, n, rtol=1e-5, atol=1e-6, err_msg=f"input {position}")


@pytest.mark.parametrize("name", [n for n in NAMES if CASES[n].keeps_float32])
def test_float32_is_kept(name):
    case = CASES[name]
    inputs = tensors(case, np.float32)
    out = case.call(*inputs)
    assert out.dtype == np.float32
    assert_allclose(out.data, case.call(*case.inputs), rtol=1e-4, atol=1e-5)
    grads = autodiff.grad((out * out).sum(), inputs, create_graph=case.second_order)
    assert all(g.dtype == np.float32 for g in grads)


def hessian(f, values: np.ndarray) -> np.ndarray:
    """The full Hessian of the scalar f at values, row by row through create_graph."""
    x = Tensor(values, requires_grad=True)
    first = autodiff.grad(f(x), x, create_graph=True)
    return np.stack([autodiff.grad(first[i], x).data for i in range(len(values))])


@pytest.mark.parametrize(
    "values, expected",
    [
        # d2(x0 x1 x2)/dxi dxj is the remaining entry: x2, x1, x0 off the diagonal.
        ([0.0, 2.0, 3.0], [[0, 3, 2], [3, 0, 0], [2, 0, 0]]),
        ([0.0, 0.0, 3.0], [[0, 3, 0], [3, 0, 0], [0, 0, 0]]),
    ],
)
def test_prod_hessian_is_exact_at_zeros(values, expected):
    assert_allclose(hessian(np.prod, np.array(values)), expected, atol=1e-15)


def test_cumprod_hessian_is_exact_at_zeros():
    # sum(cumprod) = x0 + x0 x1 + x0 x1 x2: at (0, 2, 3) the Hessian is [[0, 1+x2, x1], ...].
    assert_allclose(
        hessian(lambda x: np.cumprod(x).sum(), np.array([0.0, 2.0, 3.0])),
        [[0, 4, 2], [4, 0, 0], [2, 0, 0]],
        atol=1e-15,
    )


def test_python_conversions_and_round():
    x = Tensor([[2.6]], requires_grad=True)
    assert (float(x), int(x)) == (2.6, 2)
    rounded = round(x * 1.0, 0)
    assert isinstance(rounded, Tensor) and rounded.data.item() == 3.0
    (rounded * x).sum().backward()  # round has zero gradient: d(3 x)/dx = 3
    assert_allclose(x.grad, [[3.0]])
    with pytest.raises(ValueError, match="one element"):
        float(Tensor([1.0, 2.0]))


def test_astype_casts_gradients_back():
    x = Tensor(np.array([1.5, -2.0]), requires_grad=True)
    y = x.astype(np.float32)
    assert y.dtype == np.float32
    (y * y).sum().backward()
    assert x.grad.dtype == np.float64
    assert_allclose(x.grad, [3.0, -4.0])
    assert x.astype(int).dtype == np.int64 and not isinstance(x.astype(bool), Tensor)
