"""The library's own writers never fail for a graph: optimizer steps, load_state_dict (nn.load's
networks too), network3's updates and BatchNorm's running statistics change a parameter in
place when it is free and bind a fresh array when a graph saved it, live or dropped. A later
backward through that graph gives the gradient of the computation as it ran; a user's own
in-place write into a saved array is still refused."""

from __future__ import annotations

import gc

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import nn
from autodiff import Tensor
from nn import network3

SIZES = [4, 3, 2]


def batch(seed: int = 0, rows: int = 5, features: int = 4, outputs: int = 2):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((rows, features)), rng.random((rows, outputs))


def gradients_at(state: dict, x, y, sizes=SIZES) -> list[np.ndarray]:
    """The gradients of a fresh network holding `state`: the computation as it ran."""
    fresh = nn.MLP(sizes, seed=99)
    fresh.load_state_dict(state)
    nn.mse_loss(fresh(x), y).backward()
    return [p.grad for p in fresh.parameters()]


def forward(model, x, y, kept: bool):
    """A recorded forward that nobody backpropagates now: kept (the caller holds the loss) or
    dropped (`del pred`; the MLP still holds its zs, as after any forward)."""
    loss = nn.mse_loss(model(x), y)
    if kept:
        return loss
    del loss
    gc.collect()
    return None


OPTIMIZERS = {
    "SGD": lambda params: nn.SGD(params, lr=0.5),
    "SGD momentum": lambda params: nn.SGD(params, lr=0.5, momentum=0.9),
    "SGD weight decay": lambda params: nn.SGD(params, lr=0.5, weight_decay=0.1),
    "Adam": lambda params: nn.Adam(params, lr=0.01),
    "Adam weight decay": lambda params: nn.Adam(params, lr=0.01, weight_decay=0.1),
    "AdamW": lambda params: nn.AdamW(params, lr=0.01),
}


def two_steps(make_optimizer, sizes, x, y, pinned_between: bool, kept: bool):
    """Two optimizer steps from the same start, with or without a forward left pending
    before the second; returns the model, the optimizer and that forward's loss."""
    model = nn.MLP(sizes, seed=0)
    optimizer = make_optimizer(model.parameters())
    pending = None
    for step in range(2):
        model.zero_grad()
        nn.mse_loss(model(x), y).backward()
        if step == 1 and pinned_between:
            pending = forward(model, x, y, kept)
        optimizer.step()
    return model, pending


@pytest.mark.parametrize("kept", [True, False], ids=["kept", "dropped"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_step_after_a_pending_forward_updates_and_keeps_the_old_gradient(name, kept):
    x, y = batch()
    free, _ = two_steps(OPTIMIZERS[name], SIZES, x, y, pinned_between=False, kept=kept)
    model, pending = two_steps(OPTIMIZERS[name], SIZES, x, y, pinned_between=True, kept=kept)
    for p, expected in zip(model.parameters(), free.parameters()):
        assert_array_equal(p.data, expected.data)  # the same update as on free arrays
        assert p.data.flags.writeable
    if kept:
        # The weights before the second step, which the pending forward computed with.
        before = nn.MLP(SIZES, seed=0)
        before_optimizer = OPTIMIZERS[name](before.parameters())
        nn.mse_loss(before(x), y).backward()
        before_optimizer.step()
        expected = gradients_at(before.state_dict(), x, y)
        model.zero_grad()
        pending.backward()
        for p, g in zip(model.parameters(), expected):
            assert_allclose(p.grad, g, rtol=1e-12)


def test_sgd_updating_a_large_parameter_a_slice_at_a_time_works_on_a_saved_array():
    sizes = [784, 100, 10]  # the first weight (627 KB) is updated a slice of rows at a time
    x, y = batch(features=784, outputs=10)
    free, _ = two_steps(OPTIMIZERS["SGD momentum"], sizes, x, y, False, kept=True)
    model, pending = two_steps(OPTIMIZERS["SGD momentum"], sizes, x, y, True, kept=True)
    for p, expected in zip(model.parameters(), free.parameters()):
        assert_array_equal(p.data, expected.data)
    assert model.layers[0].weight.data.flags.c_contiguous  # the layout the update relies on
    pending.backward()


@pytest.mark.parametrize("kept", [True, False], ids=["kept", "dropped"])
def test_load_state_dict_after_a_pending_forward(kept):
    x, y = batch()
    model = nn.MLP(SIZES, seed=0)
    old = model.state_dict()
    pending = forward(model, x, y, kept)
    new = nn.MLP(SIZES, seed=1).state_dict()
    model.load_state_dict(new)
    for name, p in model.named_parameters():
        assert_array_equal(p.data, new[name])
    if kept:
        pending.backward()
        for p, g in zip(model.parameters(), gradients_at(old, x, y)):
            assert_allclose(p.grad, g, rtol=1e-12)
    model.zero_grad()  # and training goes on from the loaded weights
    nn.mse_loss(model(x), y).backward()
    for p, g in zip(model.parameters(), gradients_at(new, x, y)):
        assert_allclose(p.grad, g, rtol=1e-12)


def test_a_network_read_by_nn_load_goes_into_a_model_with_a_pending_forward(tmp_path):
    x, y = batch()
    nn.save(nn.MLP(SIZES, seed=1), tmp_path / "net.json")
    model = nn.MLP(SIZES, seed=0)
    pred = model(x)  # inference without no_grad(), the common line
    model.load_state_dict(nn.load(tmp_path / "net.json").state_dict())
    assert_allclose(model(x).data, nn.MLP(SIZES, seed=1)(x).data, rtol=1e-15)
    del pred


def network3_net(seed: int) -> network3.Network:
    layers = [network3.FullyConnectedLayer(6, 5, rng=seed), network3.SoftmaxLayer(5, 3)]
    layers[1].w.data = np.random.default_rng(seed).normal(size=(5, 3))  # his are zeros
    return network3.Network(layers, mini_batch_size=4, seed=seed)


def test_network3_updates_after_a_pending_forward():
    # His loop's own forward and backward come between the pending forward and the step: the
    # backward must not release arrays that the pending graph saved too.
    rng = np.random.default_rng(0)
    x, labels = rng.random((8, 6)), np.array([0, 1, 2, 1, 0, 2, 1, 0])
    net = network3_net(seed=1)
    before = [p.data.copy() for p in net.params]
    pending = net.forward(x, training=False)  # inference without no_grad()
    net.SGD((x, labels), 1, 4, 0.5, (x, labels), verbose=False)  # his training loop
    assert all(not np.array_equal(p.data, b) for p, b in zip(net.params, before))
    for p in net.params:
        p.grad = None
    # Weighted: a plain sum would be blind to the softmax layer's update (its rows sum to 0).
    weights = rng.standard_normal(pending.shape)
    (pending * weights).sum().backward()  # through the weights it ran with
    check = network3_net(seed=1)
    for p, b in zip(check.params, before):
        p.data = b.copy()
    expected = check.forward(x, training=False)
    (expected * weights).sum().backward()
    assert_allclose(pending.data, expected.data, rtol=1e-15)
    for p, q in zip(net.params, check.params):
        assert_allclose(p.grad, q.grad, rtol=1e-12)


def test_batchnorm_updates_its_running_statistics_after_an_evaluation_forward():
    x = Tensor(np.random.default_rng(0).standard_normal((6, 3)), requires_grad=True)
    norm = nn.BatchNorm1d(3)
    norm.eval()
    pending = norm(x)  # the running statistics are saved for backward by this graph
    norm.train()
    norm(x)  # moves the running statistics: refused as "read-only" before
    assert_allclose(norm.running_mean, 0.1 * x.data.mean(axis=0), rtol=1e-12)
    state = norm.state_dict()
    norm.eval()
    pending = norm(x)
    norm.load_state_dict(state | {"running_mean": np.ones(3)})
    assert_array_equal(norm.running_mean, np.ones(3))
    pending.sum().backward()
    assert_allclose(x.grad, np.ones((6, 3)) / np.sqrt(state["running_var"] + norm.eps))


def test_a_users_own_write_into_a_saved_array_is_still_refused():
    x, y = batch()
    model = nn.MLP(SIZES, seed=0)
    optimizer = nn.SGD(model.parameters(), lr=0.5)
    nn.mse_loss(model(x), y).backward()
    loss = nn.mse_loss(model(x), y)
    optimizer.step()  # binds fresh arrays: the library's writer
    loss = nn.mse_loss(model(x), y)  # saves the fresh arrays
    with pytest.raises(ValueError, match="read-only"):
        model.layers[0].weight.data[...] = 0.0
    loss.backward()
    model.layers[0].weight.data[...] = 0.0  # after backward: legal


def test_writers_change_free_arrays_in_place():
    x, y = batch()
    model = nn.MLP(SIZES, seed=0)
    arrays = [p.data for p in model.parameters()]
    optimizer = nn.Adam(model.parameters())
    nn.mse_loss(model(x), y).backward()
    optimizer.step()
    model.load_state_dict(nn.MLP(SIZES, seed=1).state_dict())
    assert all(p.data is array for p, array in zip(model.parameters(), arrays))


def test_a_backward_leaves_read_only_what_another_pending_graph_saved():
    x, y = batch()
    model = nn.MLP(SIZES, seed=0)
    pending = nn.mse_loss(model(x), y)  # kept
    expected = gradients_at(model.state_dict(), x, y)
    nn.mse_loss(model(x), y).backward()  # another graph over the same weights
    with pytest.raises(ValueError, match="read-only"):
        model.layers[0].weight.data[...] = 0.0  # the pending graph still needs it
    model.zero_grad()
    pending.backward()
    for p, g in zip(model.parameters(), expected):
        assert_allclose(p.grad, g, rtol=1e-12)
    model.layers[0].weight.data[...] = 0.0  # now free


def test_a_dropped_graph_does_not_keep_arrays_read_only_after_another_backward():
    x, y = batch()
    model = nn.MLP(SIZES, seed=0)
    nn.mse_loss(model(x), y)  # dropped at once (the model's zs hold it until the next forward)
    nn.mse_loss(model(x), y).backward()
    for p in model.parameters():
        p.data -= 0.1 * p.grad  # micrograd's update: legal after backward
