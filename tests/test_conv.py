"""Conv2d, MaxPool2d, Dropout, Softmax: values and gradients against the direct loops of
conv_loops.py and central differences, at first and second order, in float64 and float32."""

from __future__ import annotations

import numpy as np
import pytest
from conv_loops import conv_grads_loop, conv_loop, max_pool_grad_loop, max_pool_loop
from numpy.testing import assert_allclose

import autodiff
import nn
from autodiff import Tensor, gradcheck, numerical_gradient

# batch, in_channels, height, width, out_channels, kernel, stride, padding
CONV_CONFIGS = [
    (1, 1, 5, 5, 1, (3, 3), (1, 1), (0, 0)),
    (2, 3, 7, 6, 4, (3, 2), (2, 1), (1, 2)),
    (3, 2, 8, 8, 5, (5, 5), (1, 1), (2, 2)),
    (2, 1, 9, 7, 2, (2, 3), (3, 2), (0, 1)),
    (1, 4, 6, 6, 3, (1, 1), (2, 2), (0, 0)),
    (2, 2, 4, 4, 2, (4, 4), (1, 1), (0, 0)),
]


def conv_inputs(config, seed=0):
    n, c, h, w, o, kernel, stride, padding = config
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal((n, c, h, w)),
        rng.standard_normal((o, c) + kernel),
        rng.standard_normal(o),
        stride,
        padding,
    )


@pytest.mark.parametrize("config", CONV_CONFIGS)
def test_conv2d_values_and_gradients_match_direct_loops(config):
    x, w, b, stride, padding = conv_inputs(config)
    tensors = [Tensor(a, requires_grad=True) for a in (x, w, b)]
    y = nn.conv2d(*tensors, stride=stride, padding=padding)
    expected = conv_loop(x, w, b, stride, padding)
    assert y.shape == expected.shape
    assert_allclose(y.data, expected, rtol=1e-12, atol=1e-12)
    grad = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(grad)
    for tensor, reference in zip(tensors, conv_grads_loop(x, w, grad, stride, padding)):
        assert_allclose(tensor.grad, reference, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("config", CONV_CONFIGS)
def test_conv2d_gradcheck(config):
    x, w, b, stride, padding = conv_inputs(config, seed=2)
    tensors = [Tensor(a, requires_grad=True) for a in (x, w, b)]
    assert gradcheck(lambda x, w, b: nn.conv2d(x, w, b, stride, padding), *tensors)


def hessian_vector_check(fn, arrays, seed=0):
    """The create_graph gradient of <grad F, v>, F = sum(fn(...)^2 * r), against central
    differences of first-order gradients."""
    rng = np.random.default_rng(seed)
    weights = rng.standard_normal(fn(*[Tensor(a) for a in arrays]).shape)
    directions = [rng.standard_normal(a.shape) for a in arrays]

    def projected(values, create_graph):
        tensors = [Tensor(a, requires_grad=True) for a in values]
        out = fn(*tensors)
        grads = autodiff.grad((out * out * weights).sum(), tensors, create_graph=create_graph)
        return sum((g * v).sum() for g, v in zip(grads, directions)), tensors

    total, tensors = projected(arrays, create_graph=True)
    analytic = autodiff.grad(total, tensors)
    copies = [a.copy() for a in arrays]
    numeric = numerical_gradient(lambda *a: projected(a, create_graph=False)[0], *copies)
    for position, (a, e) in enumerate(zip(analytic, numeric)):
        assert_allclose(a.data, e, rtol=1e-5, atol=1e-6, err_msg=f"input {position}")


@pytest.mark.parametrize("config", CONV_CONFIGS[:4])
def test_conv2d_second_order_matches_differences_of_first(config):
    x, w, b, stride, padding = conv_inputs(config, seed=3)
    hessian_vector_check(lambda x, w, b: nn.conv2d(x, w, b, stride, padding), [x, w, b])


def test_conv2d_third_order_of_a_cubic_in_the_weights():
    # sum(conv(x, w)^3) is cubic in w: its third derivative along v is 6 sum(conv(x, v)^3).
    x, w, _, stride, padding = conv_inputs(CONV_CONFIGS[1], seed=4)
    v = np.random.default_rng(5).standard_normal(w.shape)
    weight = Tensor(w, requires_grad=True)
    y = nn.conv2d(Tensor(x), weight, None, stride, padding)
    g1 = autodiff.grad((y**3).sum(), weight, create_graph=True)
    g2 = autodiff.grad((g1 * v).sum(), weight, create_graph=True)
    g3 = autodiff.grad((g2 * v).sum(), weight)
    third = 6 * (conv_loop(x, v, None, stride, padding) ** 3).sum()
    assert_allclose((g3.data * v).sum(), third, rtol=1e-10)


def test_conv2d_without_bias_and_float32_kept():
    x, w, _, stride, padding = conv_inputs(CONV_CONFIGS[2], seed=6)
    xt = Tensor(x, requires_grad=True, dtype=np.float32)
    wt = Tensor(w, requires_grad=True, dtype=np.float32)
    y = nn.conv2d(xt, wt, stride=stride, padding=padding)
    assert y.dtype == np.float32
    assert_allclose(y.data, conv_loop(x, w, None, stride, padding), rtol=1e-4, atol=1e-4)
    y.backward(np.ones(y.shape))
    assert xt.grad.dtype == np.float32 and wt.grad.dtype == np.float32
    grads = autodiff.grad((y * y).sum(), [xt, wt], create_graph=True)
    second = autodiff.grad(sum(g.sum() for g in grads), [xt, wt])
    assert all(g.dtype == np.float32 for g in list(grads) + list(second))


def test_conv2d_module_shapes_and_repeatable_init():
    layer = nn.Conv2d(3, 8, 5, stride=2, padding=(1, 2), seed=0)
    assert layer.weight.shape == (8, 3, 5, 5) and layer.bias.shape == (8,)
    assert layer.stride == (2, 2) and layer.padding == (1, 2) and layer.kernel_size == (5, 5)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert np.array_equal(layer.weight.data, nn.Conv2d(3, 8, 5, seed=0).weight.data)
    assert abs(layer.weight.data.std() - 75**-0.5) < 0.02  # N(0, 1/sqrt(fan_in))
    x = np.random.default_rng(0).standard_normal((2, 3, 12, 11))
    assert layer(x).shape == (2, 8, 5, 6)
    assert nn.Conv2d(3, 8, 5, bias=False).parameters()[0].shape == (8, 3, 5, 5)
    assert nn.Conv2d(1, 2, 3, dtype=np.float32)(np.zeros((1, 1, 4, 4))).dtype == np.float32


def test_conv2d_errors_name_the_expected_shape():
    layer = nn.Conv2d(1, 4, 5)
    with pytest.raises(ValueError, match=r"\(batch, 1, height, width\).*reshape\(-1, 1, 28, 28\)"):
        layer(np.zeros((10, 784)))
    with pytest.raises(ValueError, match=r"\(batch, 1, height, width\).*got \(2, 3, 28, 28\)"):
        layer(np.zeros((2, 3, 28, 28)))
    with pytest.raises(ValueError, match="does not fit"):
        layer(np.zeros((2, 1, 4, 4)))
    with pytest.raises(ValueError, match="kernel_size must be an int or a pair"):
        nn.Conv2d(1, 4, (5, 5, 5))


# ---------------------------------------------------------------- max-pooling

# shape, kernel, stride (None: the kernel)
POOL_CONFIGS = [
    ((1, 1, 4, 4), (2, 2), None),
    ((2, 3, 7, 5), (2, 2), None),  # odd sizes: the last row and column are left out
    ((2, 2, 7, 7), (3, 3), (2, 2)),  # overlapping windows
    ((1, 2, 9, 8), (2, 3), (3, 2)),  # gaps between windows
    ((3, 1, 5, 6), (1, 1), (1, 1)),
]


@pytest.mark.parametrize("shape, kernel, stride", POOL_CONFIGS)
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool_values_and_gradients_match_direct_loops(shape, kernel, stride, ties):
    rng = np.random.default_rng(7)
    # Ties: small integers repeat within windows; the first in row-major order is chosen.
    x = rng.integers(0, 3, shape).astype(float) if ties else rng.standard_normal(shape)
    xt = Tensor(x, requires_grad=True)
    y = nn.max_pool2d(xt, kernel, stride)
    expected, _ = max_pool_loop(x, kernel, stride)
    assert_allclose(y.data, expected, rtol=0, atol=0)
    grad = rng.standard_normal(y.shape)
    y.backward(grad)
    assert_allclose(xt.grad, max_pool_grad_loop(x, grad, kernel, stride), rtol=1e-12, atol=1e-15)


def test_max_pool_tie_gives_the_whole_gradient_to_the_first():
    x = Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    nn.max_pool2d(x, 2).backward(np.array([[[[3.0]]]]))
    assert_allclose(x.grad, [[[[3.0, 0.0], [0.0, 0.0]]]])


def test_max_pool_nan_is_the_maximum():
    x = np.array([[[[1.0, np.nan], [5.0, 2.0]]]])
    assert np.isnan(nn.max_pool2d(Tensor(x), 2).data).all()


@pytest.mark.parametrize("shape, kernel, stride", POOL_CONFIGS[:4])
def test_max_pool_gradcheck_and_second_order(shape, kernel, stride):
    # Distinct values, far apart compared with the differencing step: no ties, no kinks.
    count = int(np.prod(shape))
    x = (np.random.default_rng(8).permutation(count) * 0.1).reshape(shape)
    assert gradcheck(lambda t: nn.max_pool2d(t, kernel, stride), Tensor(x, requires_grad=True))
    hessian_vector_check(lambda t: nn.max_pool2d(t, kernel, stride), [x])


def test_max_pool_keeps_float32_and_checks_its_input():
    x = Tensor(np.random.default_rng(9).standard_normal((2, 2, 6, 6)), True, dtype=np.float32)
    y = nn.MaxPool2d(2)(x)
    y.backward(np.ones(y.shape))
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    assert nn.MaxPool2d(3, stride=1).stride == (1, 1) and nn.MaxPool2d(3).stride == (3, 3)
    with pytest.raises(ValueError, match=r"\(batch, channels, height, width\)"):
        nn.max_pool2d(np.zeros((4, 4)), 2)
    with pytest.raises(ValueError, match="does not fit"):
        nn.max_pool2d(np.zeros((1, 1, 1, 4)), 2)


def test_max_pool_and_conv_agree_with_pytorch_when_installed():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    x = rng.integers(0, 3, (2, 3, 9, 8)).astype(float)  # many ties
    w = rng.standard_normal((4, 3, 3, 2))
    ours_x, ours_w = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    theirs_x = torch.tensor(x, requires_grad=True)
    theirs_w = torch.tensor(w, requires_grad=True)
    ours = nn.max_pool2d(nn.conv2d(ours_x, ours_w, stride=(1, 2), padding=1), 3, 2)
    pooled = torch.nn.functional.conv2d(theirs_x, theirs_w, stride=(1, 2), padding=1)
    theirs = torch.nn.functional.max_pool2d(pooled, 3, 2)
    assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
    grad = rng.standard_normal(ours.shape)
    ours.backward(grad)
    theirs.backward(torch.tensor(grad))
    assert_allclose(ours_x.grad, theirs_x.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert_allclose(ours_w.grad, theirs_w.grad.numpy(), rtol=1e-10, atol=1e-12)
    ties = rng.integers(0, 2, (2, 3, 7, 7)).astype(float)
    ours_t, theirs_t = Tensor(ties, requires_grad=True), torch.tensor(ties, requires_grad=True)
    nn.max_pool2d(ours_t, 2).sum().backward()
    torch.nn.functional.max_pool2d(theirs_t, 2).sum().backward()
    assert_allclose(ours_t.grad, theirs_t.grad.numpy())
    nans = np.array([[[[np.nan, 1.0, np.nan], [2.0, np.nan, 0.0], [3.0, 4.0, 5.0]]]])
    ours_n, theirs_n = Tensor(nans, requires_grad=True), torch.tensor(nans, requires_grad=True)
    nn.max_pool2d(ours_n, 2, 1).sum().backward()
    torch.nn.functional.max_pool2d(theirs_n, 2, 1).sum().backward()
    assert_allclose(ours_n.grad, theirs_n.grad.numpy())


# ---------------------------------------------------------------- dropout and softmax


def test_dropout_zeroes_with_probability_p_and_scales_the_rest():
    layer = nn.Dropout(0.3, seed=0)
    x = Tensor(np.ones((200, 50)), requires_grad=True)
    y = layer(x)
    kept = y.data != 0
    assert abs(kept.mean() - 0.7) < 0.02
    assert_allclose(y.data[kept], 1 / 0.7)
    y.backward(np.ones(y.shape))
    assert_allclose(x.grad, kept / 0.7)
    assert np.array_equal(nn.Dropout(0.3, seed=0)(x).data, y.data)
    assert not np.array_equal(layer(x).data, y.data)  # a fresh mask each call


def test_dropout_is_the_identity_in_eval_mode():
    model = nn.Sequential(nn.Linear(4, 3, seed=0), nn.Dropout(0.5, seed=1))
    x = np.random.default_rng(0).standard_normal((5, 4))
    model.eval()
    assert not model[1].training
    assert_allclose(model(x).data, model[0](x).data)
    model.train()
    assert (model(x).data == 0).any()
    assert (nn.Dropout(1.0)(x).data == 0).all() and nn.Dropout(0.0)(x).data is not None
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        nn.Dropout(1.5)


def test_softmax_module_and_log_softmax():
    x = np.random.default_rng(11).standard_normal((3, 5))
    e = np.exp(x - x.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    assert_allclose(nn.Softmax()(x).data, p, rtol=1e-12)
    assert_allclose(nn.Softmax(axis=0)(x).data.sum(axis=0), np.ones(5), rtol=1e-12)
    assert_allclose(nn.log_softmax(x).data, np.log(p), rtol=1e-12)
