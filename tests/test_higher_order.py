"""Higher order: grad(create_graph=True) against analytic formulas and differences of gradients.

The numerical side always differentiates gradients computed by the first-order path (plain
arrays), so the create_graph path (rules run on Tensors) is checked against another one.
(The op-by-op second-order table lives in test_ops.py.)
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

import autodiff
from autodiff import Tensor, numerical_gradient


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


VALUES = np.array([-1.3, -0.4, 0.2, 0.9, 1.7])
POSITIVE = np.array([0.3, 0.8, 1.0, 2.5, 4.0])

# name: (f on Tensors, f'' in numpy, inputs)
SECOND_DERIVATIVES = {
    "cube": (lambda x: x**3, lambda x: 6 * x, VALUES),
    "tanh": (lambda x: x.tanh(), lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2), VALUES),
    "sigmoid": (
        lambda x: x.sigmoid(),
        lambda x: sigmoid(x) * (1 - sigmoid(x)) * (1 - 2 * sigmoid(x)),
        VALUES,
    ),
    "exp": (lambda x: x.exp(), np.exp, VALUES),
    "log": (lambda x: x.log(), lambda x: -1 / x**2, POSITIVE),
}


def first_derivative(f, values: np.ndarray) -> np.ndarray:
    """f'(x) elementwise, by the ordinary first-order backward."""
    x = Tensor(values, requires_grad=True)
    return autodiff.grad(f(x).sum(), x).data


@pytest.mark.parametrize("name", sorted(SECOND_DERIVATIVES))
def test_second_derivative_matches_formula_and_differences_of_first(name):
    f, second, values = SECOND_DERIVATIVES[name]
    x = Tensor(values, requires_grad=True)
    first = autodiff.grad(f(x).sum(), x, create_graph=True)
    assert first.requires_grad and first.op is not None
    result = autodiff.grad(first.sum(), x)
    assert_allclose(result.data, second(values), rtol=1e-12, atol=1e-12)
    # f is elementwise, so d/dx_i of sum(f'(x)) is f''(x_i).
    (numeric,) = numerical_gradient(lambda v: first_derivative(f, v).sum(), values.copy())
    assert_allclose(result.data, numeric, rtol=1e-6, atol=1e-8)


def test_third_derivative_of_fourth_power():
    x = Tensor(VALUES, requires_grad=True)
    first = autodiff.grad((x**4).sum(), x, create_graph=True)
    second = autodiff.grad(first.sum(), x, create_graph=True)
    third = autodiff.grad(second.sum(), x)
    assert_allclose(second.data, 12 * VALUES**2)
    assert_allclose(third.data, 24 * VALUES)


def test_grad_without_create_graph_gives_constants():
    x = Tensor(VALUES, requires_grad=True)
    first = autodiff.grad((x**3).sum(), x)
    assert not first.requires_grad and first.op is None


def test_grad_outputs_as_a_tensor_are_differentiated_too():
    # The double-backward trick: J^T v is linear in v, and d/dv <J^T v, u> = J u.
    x = Tensor(VALUES, requires_grad=True)
    v = Tensor(np.ones_like(VALUES), requires_grad=True)
    u = np.linspace(-1, 1, len(VALUES))
    vjp = autodiff.grad(x.tanh(), x, grad_outputs=v, create_graph=True)
    assert_allclose(vjp.data, 1 - np.tanh(VALUES) ** 2)
    jvp = autodiff.grad((vjp * u).sum(), v)
    assert_allclose(jvp.data, (1 - np.tanh(VALUES) ** 2) * u)


# ---------------------------------------------------------------- a small MLP


def mlp_loss(params, x, target):
    """Mean squared error of a 2-layer sigmoid network; weights are (out, in)."""
    w1, b1, w2, b2 = params
    hidden = (x @ w1.T + b1).sigmoid()
    out = (hidden @ w2.T + b2).sigmoid()
    return ((out - target) ** 2).mean()


def mlp_problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    params = [
        rng.standard_normal((4, 3)),
        rng.standard_normal(4),
        rng.standard_normal((2, 4)),
        rng.standard_normal(2),
    ]
    x, target = rng.standard_normal((5, 3)), rng.uniform(0, 1, (5, 2))
    return rng, params, x, target


def plain_gradient(params, x, target) -> list[np.ndarray]:
    tensors = [Tensor(p, requires_grad=True) for p in params]
    return [g.data for g in autodiff.grad(mlp_loss(tensors, x, target), tensors)]


def test_hessian_vector_product_of_an_mlp_loss_matches_differences_of_the_gradient():
    rng, params, x, target = mlp_problem()
    direction = [rng.standard_normal(p.shape) for p in params]

    tensors = [Tensor(p, requires_grad=True) for p in params]
    grads = autodiff.grad(mlp_loss(tensors, x, target), tensors, create_graph=True)
    projected = sum((g * v).sum() for g, v in zip(grads, direction))
    hessian_vector = autodiff.grad(projected, tensors)

    eps = 1e-5
    upper = plain_gradient([p + eps * v for p, v in zip(params, direction)], x, target)
    lower = plain_gradient([p - eps * v for p, v in zip(params, direction)], x, target)
    for analytic, up, low in zip(hessian_vector, upper, lower):
        assert analytic.shape == up.shape
        assert_allclose(analytic.data, (up - low) / (2 * eps), rtol=1e-5, atol=1e-8)


def test_gradient_penalty_matches_central_differences():
    _, params, x, target = mlp_problem(seed=1)

    def penalty_by_first_order(*values):
        tensors = [Tensor(v, requires_grad=True) for v in values]
        inputs = Tensor(x, requires_grad=True)
        grad_x = autodiff.grad(mlp_loss(tensors, inputs, target), inputs)
        return float(np.sum(grad_x.data**2))

    tensors = [Tensor(p, requires_grad=True) for p in params]
    inputs = Tensor(x, requires_grad=True)
    grad_x = autodiff.grad(mlp_loss(tensors, inputs, target), inputs, create_graph=True)
    penalty = (grad_x * grad_x).sum()
    assert_allclose(penalty.data, penalty_by_first_order(*params))
    penalty.backward()

    numeric = numerical_gradient(penalty_by_first_order, *[p.copy() for p in params])
    for tensor, expected in zip(tensors, numeric):
        assert_allclose(tensor.grad, expected, rtol=1e-5, atol=1e-9)
