"""Code paths that exist for speed or memory: each must give what the plain path gives."""

import tracemalloc

import numpy as np
import pytest

import nn
from nn import optim


def _sgd_reference(w, g, v, lr, momentum, decay):
    """The SGD rule written plainly on whole arrays."""
    update = lr * (g + decay * w)
    v = momentum * v - update
    return w + v, v


@pytest.mark.parametrize("momentum, decay", [(0.0, 0.0), (0.9, 0.0), (0.5, 0.01)])
def test_sgd_updates_large_parameters_slice_by_slice_like_whole(momentum, decay):
    rng = np.random.default_rng(0)
    shape = (3 * optim.WHOLE_BYTES // 800 + 7, 100)  # several slices, a short last one
    p = nn.Parameter(rng.standard_normal(shape))
    opt = nn.SGD([p], lr=0.1, momentum=momentum, weight_decay=decay)
    assert len(opt.scratch[0]) < len(p.data)
    w, v = p.data.copy(), np.zeros(shape)
    for _ in range(3):
        g = rng.standard_normal(shape)
        p.grad = g.copy()
        opt.step()
        w, v = _sgd_reference(w, g, v, 0.1, momentum, decay)
        np.testing.assert_allclose(p.data, w, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(p.grad, g)  # the gradient is left as it was


def test_sgd_step_on_a_large_parameter_allocates_far_less_than_it():
    p = nn.Parameter(np.ones((1000, 1000)))
    opt = nn.SGD([p], lr=0.1)
    p.grad = np.ones((1000, 1000))
    tracemalloc.start()
    opt.step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < p.data.nbytes / 10


def test_linear_weight_and_its_gradient_are_both_row_major():
    # The SGD update walks weight and gradient together: both must have the same layout.
    layer = nn.Linear(5, 3, seed=0)
    nn.mse_loss(layer(np.ones((4, 5))), np.zeros((4, 3))).backward()
    assert layer.weight.data.flags.c_contiguous
    assert layer.weight.grad.flags.c_contiguous
