"""The op table: every concrete Op, checked against numpy and float64 central differences.

OP_CASES holds one entry per Op subclass, keyed by class name. Each entry is checked at first
order, at second order through the create_graph path, and in float32. A meta-test fails when
an op (in autodiff/ or nn/) has no entry, or no code form beside its rule: add them.
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from conv_loops import conv_grads_loop, conv_loop, max_pool_loop
from numpy.testing import assert_allclose

import autodiff
from autodiff import Tensor, apply, gradcheck, numerical_gradient, topological_order
from autodiff.ops import ScatterAdd

try:
    import nn
    from nn.layers import ConvTranspose, ConvWeightGrad, MaxUnpool
except ImportError:  # the engine is tested on its own too
    nn = None


# ---------------------------------------------------------------- well-conditioned inputs


def normal(*shape: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def positive(*shape: int, seed: int) -> np.ndarray:
    """Values in [0.5, 2]: away from the singularities of log, sqrt and x ** y."""
    return np.random.default_rng(seed).uniform(0.5, 2.0, shape)


def distinct(*shape: int, seed: int, offset: float = 0.0) -> np.ndarray:
    """Values 0.37 apart, and at least 0.02 from 0 and from +-0.5: no ties, no kinks.

    Two arrays whose offsets differ by 0.05 never have an element in common either.
    """
    count = int(np.prod(shape))
    steps = np.random.default_rng(seed).permutation(count) - (count - 1) / 2
    return (steps * 0.37 + 0.11 + offset).reshape(shape)


def probabilities(*shape: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.1, 0.9, shape)


def quarters(*shape: int, seed: int, scale: float = 1.0) -> np.ndarray:
    """(integer + 0.25) * scale: a quarter step from the jumps of floor, ceil and round."""
    return (np.random.default_rng(seed).integers(-3, 3, shape) + 0.25) * scale


# ---------------------------------------------------------------- numpy references


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def scatter_add_loop(shape, rows, x):
    """zeros(shape) with row k of x added to row rows[k]: the slow, obvious way."""
    z = np.zeros(shape)
    for k, row in enumerate(rows):
        z[row] += x[k]
    return z


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Case:
    build: Callable[..., Tensor]  # Tensors in, a Tensor computed with the op out
    reference: Callable[..., np.ndarray]  # the same expression on numpy arrays
    inputs: tuple[np.ndarray, ...]  # float64, away from the op's kinks and singularities
    second_order: bool = True  # False: the create_graph path must refuse, not guess


MASK = np.array([[True, False, True], [False, False, True]])
ROWS = np.array([2, 0, 2, 1])  # row 2 twice: its gradients must add up
TARGET = normal(4, 3, seed=100)
SOFT_TARGET = probabilities(4, 3, seed=101)
LABELS = np.array([2, 0, 1, 2])
POOL_ARGMAX = np.array([[[[0, 4], [4, 8]]]])  # 4 chosen by two overlapping windows

OP_CASES: dict[str, Case] = {
    # elementwise, two inputs (with broadcasting)
    "Add": Case(lambda x, y: x + y, np.add, (normal(2, 3, seed=1), normal(3, seed=2))),
    "Sub": Case(lambda x, y: x - y, np.subtract, (normal(2, 3, seed=3), normal(2, 1, seed=4))),
    "Mul": Case(lambda x, y: x * y, np.multiply, (normal(2, 3, seed=5), normal(3, seed=6))),
    "Div": Case(lambda x, y: x / y, np.divide, (normal(2, 3, seed=7), positive(2, 1, seed=8))),
    "Pow": Case(lambda x, y: x**y, np.power, (positive(2, 3, seed=9), normal(3, seed=10))),
    "Maximum": Case(
        autodiff.maximum,
        np.maximum,
        (distinct(2, 3, seed=11), distinct(3, seed=12, offset=0.05)),
    ),
    "Minimum": Case(
        autodiff.minimum,
        np.minimum,
        (distinct(2, 3, seed=13), distinct(2, 1, seed=14, offset=0.05)),
    ),
    "Where": Case(
        lambda x, y: autodiff.where(MASK, x, y),
        lambda x, y: np.where(MASK, x, y),
        (normal(2, 3, seed=15), normal(3, seed=16)),
    ),
    # elementwise, one input
    "Neg": Case(lambda x: -x, np.negative, (normal(2, 3, seed=17),)),
    "PowConst": Case(lambda x: x**2.5, lambda x: x**2.5, (positive(2, 3, seed=18),)),
    "Exp": Case(lambda x: x.exp(), np.exp, (normal(2, 3, seed=19),)),
    "Log": Case(lambda x: x.log(), np.log, (positive(2, 3, seed=20),)),
    "Sqrt": Case(lambda x: x.sqrt(), np.sqrt, (positive(2, 3, seed=21),)),
    "Abs": Case(lambda x: x.abs(), np.abs, (distinct(2, 3, seed=22),)),
    "Tanh": Case(lambda x: x.tanh(), np.tanh, (normal(2, 3, seed=23),)),
    "Sigmoid": Case(lambda x: x.sigmoid(), sigmoid, (3 * normal(2, 3, seed=24),)),
    "Relu": Case(lambda x: x.relu(), lambda x: np.maximum(x, 0), (distinct(2, 3, seed=25),)),
    "Clip": Case(
        lambda x: x.clip(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), (distinct(3, 4, seed=26),)
    ),
    # reductions
    "Sum": Case(
        lambda x: x.sum(axis=(0, 2)), lambda x: x.sum(axis=(0, 2)), (normal(2, 3, 4, seed=27),)
    ),
    "Mean": Case(
        lambda x: x.mean(axis=1, keepdims=True),
        lambda x: x.mean(axis=1, keepdims=True),
        (normal(2, 3, 4, seed=28),),
    ),
    "Max": Case(lambda x: x.max(axis=0), lambda x: x.max(axis=0), (distinct(3, 4, seed=29),)),
    "Min": Case(
        lambda x: x.min(axis=-1, keepdims=True),
        lambda x: x.min(axis=-1, keepdims=True),
        (distinct(3, 4, seed=30),),
    ),
    "LogSumExp": Case(
        lambda x: x.logsumexp(axis=1),
        lambda x: np.log(np.exp(x).sum(axis=1)),
        (normal(3, 4, seed=31),),
    ),
    "Softmax": Case(
        lambda x: x.softmax(axis=0), lambda x: softmax(x, axis=0), (normal(3, 4, seed=32),)
    ),
    "LogSoftmax": Case(
        lambda x: x.log_softmax(axis=-1),
        lambda x: np.log(softmax(x, axis=-1)),
        (normal(3, 4, seed=33),),
    ),
    # linear algebra
    "MatMul": Case(
        lambda x, y: x @ y, np.matmul, (normal(2, 3, 4, seed=34), normal(4, 2, seed=35))
    ),
    # shape and indexing
    "Reshape": Case(lambda x: x.reshape(3, 4), lambda x: x.reshape(3, 4), (normal(2, 6, seed=36),)),
    "Transpose": Case(
        lambda x: x.transpose(2, 0, 1),
        lambda x: np.transpose(x, (2, 0, 1)),
        (normal(2, 3, 4, seed=37),),
    ),
    "BroadcastTo": Case(
        lambda x: x.broadcast_to((2, 3, 4)),
        lambda x: np.broadcast_to(x, (2, 3, 4)),
        (normal(3, 1, seed=38),),
    ),
    "Index": Case(lambda x: x[ROWS, 1:], lambda x: x[ROWS, 1:], (normal(3, 4, seed=39),)),
    "ScatterAdd": Case(
        lambda x: apply(ScatterAdd((3, 4), (ROWS, slice(None))), x),
        lambda x: scatter_add_loop((3, 4), ROWS, x),
        (normal(4, 4, seed=40),),
    ),
    "Concatenate": Case(
        lambda x, y: autodiff.concatenate([x, y], axis=1),
        lambda x, y: np.concatenate([x, y], axis=1),
        (normal(2, 3, seed=41), normal(2, 2, seed=42)),
    ),
    "Stack": Case(
        lambda x, y: autodiff.stack([x, y, x], axis=1),
        lambda x, y: np.stack([x, y, x], axis=1),
        (normal(2, 3, seed=43), normal(2, 3, seed=44)),
    ),
}

# The numpy surface (issue 13): more elementwise functions, scans, einsum, sort.
DIVISOR = positive(3, seed=60)
OP_CASES.update(
    {
        "FloorDivide": Case(
            lambda x, y: x // y, np.floor_divide, (quarters(2, 3, seed=61) * DIVISOR, DIVISOR)
        ),
        "Mod": Case(lambda x, y: x % y, np.mod, (quarters(2, 3, seed=62) * DIVISOR, DIVISOR)),
        "LogAddExp": Case(np.logaddexp, np.logaddexp, (normal(2, 3, seed=63), normal(3, seed=64))),
        "Sin": Case(np.sin, np.sin, (normal(2, 3, seed=65),)),
        "Cos": Case(np.cos, np.cos, (normal(2, 3, seed=66),)),
        "Tan": Case(np.tan, np.tan, (0.5 * normal(2, 3, seed=67),)),
        "Arctan": Case(np.arctan, np.arctan, (normal(2, 3, seed=68),)),
        "Sinh": Case(np.sinh, np.sinh, (normal(2, 3, seed=69),)),
        "Cosh": Case(np.cosh, np.cosh, (normal(2, 3, seed=70),)),
        "Log1p": Case(np.log1p, np.log1p, (positive(2, 3, seed=71) - 0.4,)),
        "Expm1": Case(np.expm1, np.expm1, (normal(2, 3, seed=72),)),
        "Sign": Case(np.sign, np.sign, (distinct(2, 3, seed=73),)),
        "Floor": Case(np.floor, np.floor, (quarters(2, 3, seed=74),)),
        "Ceil": Case(np.ceil, np.ceil, (quarters(2, 3, seed=75),)),
        "Round": Case(
            lambda x: np.round(x, 1),
            lambda x: np.round(x, 1),
            (quarters(2, 3, seed=76, scale=0.1),),
        ),
        "AsType": Case(lambda x: x.astype(x.dtype), lambda x: x.copy(), (normal(2, 3, seed=77),)),
        "Prod": Case(
            lambda x: x.prod(axis=1), lambda x: x.prod(axis=1), (positive(3, 4, seed=78) + 0.5,)
        ),
        "CumSum": Case(
            lambda x: np.cumsum(x, axis=0), lambda x: np.cumsum(x, axis=0), (normal(3, 4, seed=79),)
        ),
        "CumProd": Case(
            lambda x: np.cumprod(x, axis=1),
            lambda x: np.cumprod(x, axis=1),
            (positive(3, 4, seed=80),),
        ),
        "Permute": Case(
            lambda x: np.sort(x, axis=0), lambda x: np.sort(x, axis=0), (distinct(4, 3, seed=81),)
        ),
        "Einsum": Case(
            lambda x, y: np.einsum("bij,jk->bik", x, y),
            lambda x, y: np.einsum("bij,jk->bik", x, y),
            (normal(2, 3, 4, seed=82), normal(4, 2, seed=83)),
        ),
        "SpectralNorm": Case(
            lambda x: np.linalg.norm(x, 2),
            lambda x: np.linalg.norm(x, 2),
            (normal(3, 4, seed=84),),
            second_order=False,
        ),
    }
)

if nn is not None:
    # Fused ops of nn/, each reached through its public function.
    OP_CASES.update(
        {
            "Affine": Case(
                nn.affine,
                lambda x, w, b: x @ w.T + b,
                (normal(4, 3, seed=50), normal(2, 3, seed=51), normal(2, seed=52)),
            ),
            "Project": Case(
                nn.layers.project,
                lambda x, w: x @ w.T,
                (normal(2, 4, 3, seed=60), normal(2, 3, seed=61)),
            ),
            # erf from the standard library: independent of nn.erf
            "NormalCdf": Case(
                nn.layers.normal_cdf,
                lambda x: 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2))),
                (normal(2, 3, seed=62),),
            ),
            "Gelu": Case(
                nn.gelu,
                lambda x: x * 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2))),
                (normal(2, 3, seed=63),),
            ),
            "QuadraticCost": Case(
                lambda a: nn.mse_loss(a, TARGET),
                lambda a: 0.5 * ((a - TARGET) ** 2).sum() / len(a),
                (normal(4, 3, seed=53),),
            ),
            "BinaryCrossEntropy": Case(
                lambda a: nn.binary_cross_entropy(a, SOFT_TARGET),
                lambda a: (
                    -(SOFT_TARGET * np.log(a) + (1 - SOFT_TARGET) * np.log(1 - a)).sum() / len(a)
                ),
                (probabilities(4, 3, seed=54),),
            ),
            "BinaryCrossEntropyWithLogits": Case(
                lambda z: nn.binary_cross_entropy_with_logits(z, SOFT_TARGET),
                lambda z: (
                    -(
                        SOFT_TARGET * np.log(sigmoid(z))
                        + (1 - SOFT_TARGET) * np.log(1 - sigmoid(z))
                    ).sum()
                    / len(z)
                ),
                (normal(4, 3, seed=55),),
            ),
            "Normalize": Case(
                lambda x: nn.layers.normalize(x, (0,)),
                lambda x: (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5),
                (normal(5, 3, seed=57),),
            ),
            "SoftmaxCrossEntropy": Case(
                lambda z: nn.cross_entropy(z, LABELS),
                lambda z: -np.log(softmax(z, axis=-1))[np.arange(len(z)), LABELS].mean(),
                (normal(4, 3, seed=56),),
            ),
            # convolution and pooling (nn/layers/conv.py, pooling.py) against direct loops
            "Conv": Case(
                lambda x, w, b: nn.conv2d(x, w, b, stride=(2, 1), padding=1),
                lambda x, w, b: conv_loop(x, w, b, (2, 1), (1, 1)),
                (normal(2, 2, 5, 4, seed=57), normal(3, 2, 3, 2, seed=58), normal(3, seed=59)),
            ),
            "ConvTranspose": Case(
                lambda g, w: apply(ConvTranspose((2, 1), (1, 1), (5, 4)), g, w),
                lambda g, w: conv_grads_loop(np.zeros((2, 2, 5, 4)), w, g, (2, 1), (1, 1))[0],
                (normal(2, 3, 3, 5, seed=60), normal(3, 2, 3, 2, seed=61)),
            ),
            "ConvWeightGrad": Case(
                lambda x, g: apply(ConvWeightGrad((2, 1), (1, 1), (3, 2)), x, g),
                lambda x, g: conv_grads_loop(x, np.zeros((3, 2, 3, 2)), g, (2, 1), (1, 1))[1],
                (normal(2, 2, 5, 4, seed=62), normal(2, 3, 3, 5, seed=63)),
            ),
            "MaxPool": Case(
                lambda x: nn.max_pool2d(x, 3, stride=2),
                lambda x: max_pool_loop(x, (3, 3), (2, 2))[0],
                (distinct(2, 2, 7, 6, seed=64),),
            ),
            "MaxUnpool": Case(
                lambda g: apply(MaxUnpool(POOL_ARGMAX, (1, 1, 3, 3), True), g),
                lambda g: np.bincount(POOL_ARGMAX.ravel(), g.ravel(), 9).reshape(1, 1, 3, 3),
                (normal(1, 1, 2, 2, seed=65),),
            ),
        }
    )

NAMES = sorted(OP_CASES)


def leaves(case: Case, dtype=np.float64) -> list[Tensor]:
    return [Tensor(a, requires_grad=True, dtype=dtype) for a in case.inputs]


# ---------------------------------------------------------------- the census


def _is_test_module(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last.startswith("test_") or last == "conftest"


def concrete_op_classes() -> list[type]:
    """Every public subclass of Op, at any depth, outside the tests (nn's included)."""
    with contextlib.suppress(ImportError):
        import nn  # noqa: F401  (imported for its ops to register as subclasses)
    found, pending = [], list(autodiff.Op.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__name__.startswith("_") or inspect.isabstract(cls):
            continue
        if not _is_test_module(cls.__module__) and cls not in found:
            found.append(cls)
    return found


def op_class(name: str) -> type:
    (cls,) = [c for c in concrete_op_classes() if c.__name__ == name]
    return cls


def test_every_op_has_a_table_entry():
    classes = concrete_op_classes()
    names = [c.__name__ for c in classes]
    assert len(set(names)) == len(names), f"two ops share a name: {sorted(names)}"
    missing = sorted(f"{c.__module__}.{c.__name__}" for c in classes if c.__name__ not in OP_CASES)
    assert not missing, f"add an entry to OP_CASES in tests/test_ops.py for: {missing}"
    # Every op also writes itself out as numpy (gradient_source, capture): tests/test_codegen.py
    # runs each entry's code form against autodiff.grad.
    without = sorted(f"{c.__module__}.{c.__name__}" for c in classes if _code_form(c) is None)
    assert not without, f"give these ops a code form (autodiff.Code) beside their rule: {without}"


def _code_form(cls: type):
    """The op's code form: a Code, or a method giving one, defined by the op (not inherited
    from Op itself)."""
    form = getattr(cls, "code", None)
    return form if isinstance(form, autodiff.Code) or callable(form) else None


def test_census_finds_the_engine_ops():
    names = {c.__name__ for c in concrete_op_classes()}
    assert {"Add", "MatMul", "Index", "ScatterAdd", "Max", "Min"} <= names
    assert "_Reduction" not in names


def test_every_table_entry_names_an_op():
    names = {c.__name__ for c in concrete_op_classes()}
    assert set(OP_CASES) <= names, f"stale entries: {sorted(set(OP_CASES) - names)}"


@pytest.mark.parametrize("name", NAMES)
def test_entry_records_its_op(name):
    cls = op_class(name)
    out = OP_CASES[name].build(*leaves(OP_CASES[name]))
    recorded = [type(t.op) for t in topological_order([out]) if t.op is not None]
    assert cls in recorded, f"{name}'s entry records only {[c.__name__ for c in recorded]}"


# ---------------------------------------------------------------- first order


@pytest.mark.parametrize("name", NAMES)
def test_entry_forward_matches_numpy(name):
    case = OP_CASES[name]
    out = case.build(*leaves(case))
    expected = case.reference(*case.inputs)
    assert isinstance(out, Tensor)
    assert out.shape == np.shape(expected)
    assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_entry_gradient_matches_central_differences(name):
    case = OP_CASES[name]
    assert gradcheck(case.build, *leaves(case), atol=1e-7, rtol=1e-5)


# ---------------------------------------------------------------- second order


def projected_gradient(case: Case, arrays, out_weights, directions, create_graph: bool):
    """S = sum_i <dF/dx_i, v_i> for F = sum(out * out * w), and the leaves.

    The gradient of S is the Hessian of F times v. The square makes every rule's own second
    derivative matter, even for ops that are linear in their inputs.
    """
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    out = case.build(*tensors)
    loss = (out * out * out_weights).sum()
    grads = autodiff.grad(loss, tensors, create_graph=create_graph)
    total = sum((g * v).sum() for g, v in zip(grads, directions))
    return total, tensors, grads


@pytest.mark.parametrize("name", NAMES)
def test_entry_second_order_matches_differences_of_first(name):
    case = OP_CASES[name]
    rng = np.random.default_rng(0)
    out_weights = rng.standard_normal(np.shape(case.reference(*case.inputs)))
    directions = [rng.standard_normal(a.shape) for a in case.inputs]
    setup = (out_weights, directions)
    if not case.second_order:
        with pytest.raises(NotImplementedError, match="second derivatives"):
            projected_gradient(case, case.inputs, *setup, create_graph=True)
        return

    total, tensors, grads = projected_gradient(case, case.inputs, *setup, create_graph=True)
    assert total.requires_grad
    hessian_vector = autodiff.grad(total, tensors)

    # The create_graph path runs the rules on Tensors: same first gradient as on arrays.
    _, _, plain_grads = projected_gradient(case, case.inputs, *setup, create_graph=False)
    for g, plain in zip(grads, plain_grads):
        assert_allclose(g.data, plain.data, rtol=1e-12, atol=1e-12)

    arrays = [a.copy() for a in case.inputs]
    numeric = numerical_gradient(
        lambda *a: projected_gradient(case, a, *setup, create_graph=False)[0], *arrays
    )
    for position, (analytic, expected) in enumerate(zip(hessian_vector, numeric)):
        assert_allclose(analytic.data, expected, rtol=1e-5, atol=1e-6, err_msg=f"input {position}")


# ---------------------------------------------------------------- float32


@pytest.mark.parametrize("name", NAMES)
def test_entry_keeps_float32_through_forward_and_backward(name):
    case = OP_CASES[name]
    tensors = leaves(case, dtype=np.float32)
    out = case.build(*tensors)
    graph = topological_order([out])
    assert {t.dtype for t in graph} == {np.dtype(np.float32)}
    assert_allclose(out.data, case.reference(*case.inputs), rtol=1e-4, atol=1e-5)

    out.backward(np.ones(out.shape))
    assert all(t.grad.dtype == np.float32 for t in graph if t.requires_grad)

    if not case.second_order:
        return
    grads = autodiff.grad((out * out).sum(), tensors, create_graph=True)
    second = autodiff.grad(sum(g.sum() for g in grads), tensors)
    assert all(g.dtype == np.float32 for g in grads + second)
