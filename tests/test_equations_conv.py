"""The conv oracle (nn/backprop/equations_conv.py) on its own: its forward against direct
loops, its C1-C3 and P1 against float64 central differences of its own forward, and its
whole-network pass against central differences of the cost. No engine involved."""

import itertools

import numpy as np
import pytest

from nn.backprop import equations_conv as eq

# (batch, channels, height, width, filters, kernel, stride, padding): odd sizes, strides that
# do not divide, padding, one channel, batch 1.
CONV_CASES = [
    (1, 1, 5, 5, 1, 3, 1, 0),
    (2, 3, 7, 6, 4, 3, 2, 1),
    (3, 2, 8, 8, 3, 5, 1, 2),
    (1, 2, 9, 7, 2, 2, 3, 0),
    (2, 1, 6, 6, 2, 4, 2, 3),
]
# Rectangular kernels with (rows, columns) strides and paddings, as nn.Conv2d stores them.
PAIR_CASES = [
    ((2, 3, 7, 6), (4, 3, 3, 2), (2, 1), (1, 0)),
    ((1, 1, 6, 9), (2, 1, 2, 4), (1, 3), (0, 2)),
]
POOL_CASES = [(2, 3, 6, 6, 2, None), (1, 2, 7, 5, 3, 2), (2, 1, 5, 5, 2, 1)]


def central_differences(f, a: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(a)
    for index in np.ndindex(a.shape):
        saved = a[index]
        a[index] = saved + eps
        up = f()
        a[index] = saved - eps
        down = f()
        a[index] = saved
        grad[index] = (up - down) / (2 * eps)
    return grad


def loop_conv(x, w, b, stride, padding):
    """The CONV formula with one loop per index: z[n,f,i,j] = sum x_p[..] w[f,c,u,v] + b[f]."""
    (sh, sw), (ph, pw) = eq.pair(stride), eq.pair(padding)
    x_p = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, c, h, wd = x_p.shape
    f, _, kh, kw = w.shape
    ho, wo = (h - kh) // sh + 1, (wd - kw) // sw + 1
    z = np.zeros((n, f, ho, wo))
    for nn_, ff, i, j in itertools.product(range(n), range(f), range(ho), range(wo)):
        window = x_p[nn_, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
        z[nn_, ff, i, j] = (window * w[ff]).sum() + b[ff]
    return z


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_forward_equals_the_formula_by_loops(case):
    n, c, h, wd, f, k, s, p = case
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(n, c, h, wd)), rng.normal(size=(f, c, k, k)), rng.normal(size=f)
    z = eq.conv_forward(x, w, b, s, p)
    assert z.shape == (n, f, eq.output_size(h, k, s, p), eq.output_size(wd, k, s, p))
    np.testing.assert_allclose(z, loop_conv(x, w, b, s, p), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_backward_equals_central_differences(case):
    n, c, h, wd, f, k, s, p = case
    rng = np.random.default_rng(1)
    x, w, b = rng.normal(size=(n, c, h, wd)), rng.normal(size=(f, c, k, k)), rng.normal(size=f)
    delta = rng.normal(size=eq.conv_forward(x, w, b, s, p).shape)

    def cost():  # C = sum delta * z, so dC/dz = delta
        return float((eq.conv_forward(x, w, b, s, p) * delta).sum())

    grad_x, grad_w, grad_b = eq.conv_backward(x, w, delta, s, p)
    assert (grad_x.shape, grad_w.shape, grad_b.shape) == (x.shape, w.shape, b.shape)
    for analytic, array in [(grad_x, x), (grad_w, w), (grad_b, b)]:
        np.testing.assert_allclose(analytic, central_differences(cost, array), atol=1e-7)


@pytest.mark.parametrize("x_shape, w_shape, stride, padding", PAIR_CASES)
def test_conv_with_pairs_equals_loops_and_central_differences(x_shape, w_shape, stride, padding):
    rng = np.random.default_rng(5)
    x, w, b = rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0])
    z = eq.conv_forward(x, w, b, stride, padding)
    np.testing.assert_allclose(z, loop_conv(x, w, b, stride, padding), rtol=1e-12, atol=1e-12)
    delta = rng.normal(size=z.shape)
    grads = eq.conv_backward(x, w, delta, stride, padding)
    for analytic, array in zip(grads, (x, w, b)):
        numerical = central_differences(
            lambda: float((eq.conv_forward(x, w, b, stride, padding) * delta).sum()), array
        )
        np.testing.assert_allclose(analytic, numerical, atol=1e-7)


def test_maxpool_with_pairs_equals_central_differences():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 2, 7, 8))
    delta = rng.normal(size=eq.maxpool_forward(x, (2, 3), (2, 2)).shape)
    assert delta.shape == (2, 2, 3, 3)
    grad = eq.maxpool_backward(x, delta, (2, 3), (2, 2))
    cost = lambda: float((eq.maxpool_forward(x, (2, 3), (2, 2)) * delta).sum())  # noqa: E731
    np.testing.assert_allclose(grad, central_differences(cost, x), atol=1e-8)


def test_conv_delta_below_is_not_the_unrotated_correlation():
    # The test above can fail: with an asymmetric kernel, skipping the rotation is wrong.
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=(1, 1, 5, 5)), rng.normal(size=(1, 1, 3, 3))
    delta = rng.normal(size=(1, 1, 3, 3))
    right = eq.conv_backward(x, w, delta)[0]
    flipped_w = w[:, :, ::-1, ::-1].copy()
    assert not np.allclose(right, eq.conv_backward(x, flipped_w, delta)[0])


@pytest.mark.parametrize("case", POOL_CASES)
def test_maxpool_backward_equals_central_differences(case):
    n, c, h, wd, size, stride = case
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, c, h, wd))  # distinct values: no ties, so differentiable
    delta = rng.normal(size=eq.maxpool_forward(x, size, stride).shape)

    def cost():
        return float((eq.maxpool_forward(x, size, stride) * delta).sum())

    grad = eq.maxpool_backward(x, delta, size, stride)
    np.testing.assert_allclose(grad, central_differences(cost, x), atol=1e-8)


def test_maxpool_sends_delta_to_the_first_maximum_on_ties():
    x = np.array([[[[1.0, 3.0], [3.0, 0.0]]]])  # tie between (0, 1) and (1, 0)
    grad = eq.maxpool_backward(x, np.array([[[[5.0]]]]), 2)
    np.testing.assert_array_equal(grad, [[[[0.0, 5.0], [0.0, 0.0]]]])


def test_maxpool_adds_up_where_windows_overlap():
    x = np.array([[[[0.0, 9.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]])
    # Windows 2x2 at stride 1: the 9 is the max of the two top windows.
    grad = eq.maxpool_backward(x, np.array([[[[1.0, 2.0], [4.0, 8.0]]]]), 2, 1)
    assert grad[0, 0, 0, 1] == 3.0
    assert grad.sum() == 15.0


NETWORK = [
    {"kind": "conv", "stride": 1, "padding": 1},
    {"kind": "activation", "name": "sigmoid"},
    {"kind": "pool", "size": 2},
    {"kind": "conv", "stride": 2, "padding": 0},
    {"kind": "activation", "name": "relu"},
    {"kind": "flatten"},
    {"kind": "dropout"},
    {"kind": "linear"},
]


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_conv_net_backprop_equals_central_differences_of_the_cost(loss):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 2, 8, 8))
    layers = [dict(layer) for layer in NETWORK]
    layers[0] |= {"weight": rng.normal(size=(3, 2, 3, 3)), "bias": rng.normal(size=3)}
    layers[3] |= {"weight": rng.normal(size=(4, 3, 2, 2)), "bias": rng.normal(size=4)}
    layers[6] |= {"mask": (rng.random((3, 16)) > 0.3) / 0.7}
    layers[7] |= {"weight": rng.normal(size=(5, 16)), "bias": rng.normal(size=5)}
    y = rng.integers(0, 5, 3) if loss == "cross_entropy" else rng.random((3, 5))
    result = eq.conv_net_backprop(layers, x, y, loss)

    def cost():
        return eq.conv_net_backprop(layers, x, y, loss).cost

    np.testing.assert_allclose(result.grad_input, central_differences(cost, x), atol=1e-7)
    for i in (0, 3, 7):
        for grad, name in [(result.grad_weights[i], "weight"), (result.grad_biases[i], "bias")]:
            numerical = central_differences(cost, layers[i][name])
            np.testing.assert_allclose(grad, numerical, atol=1e-7, err_msg=f"{name} of {i}")
    assert [d.shape for d in result.deltas] == [o.shape for o in result.outputs]
