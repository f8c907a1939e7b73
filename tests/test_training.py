"""nn.fit: learning on the embedded sample, monitoring, checkpoints, Ctrl+C, plots."""

import os
import signal

import numpy as np
import pytest

import nn


@pytest.fixture(scope="module")
def sample():
    return nn.data.load_sample(split="nielsen")


def test_one_short_epoch_on_the_sample_learns(sample):
    model = nn.MLP([784, 30, 10], init="large", seed=0)
    history = nn.fit(
        model, nn.mse_loss, nn.SGD(model.parameters(), lr=3.0), sample.train,
        epochs=1, batch_size=10, evaluation=sample.validation, seed=0, progress=False,
    )  # fmt: skip
    # Chance is 10%; Nielsen's network passes 80% within one epoch of a few thousand images.
    assert history.evaluation_accuracy[0] > 0.6
    assert history.epochs == 1 and not history.interrupted


def test_fit_monitors_training_and_evaluation_like_network2(sample):
    model = nn.MLP([784, 10, 10], seed=1)
    x, labels = sample.train
    history = nn.fit(
        model, nn.cross_entropy, nn.SGD(model.parameters(), lr=0.5), (x[:500], labels[:500]),
        epochs=2, batch_size=50, evaluation=(x[500:700], labels[500:700]),
        monitor_training=True, progress=False,
    )  # fmt: skip
    assert len(history.train_cost) == len(history.evaluation_accuracy) == 2
    cost, accuracy = nn.evaluate(model, nn.cross_entropy, x[500:700], labels[500:700])
    assert history.evaluation_cost[-1] == pytest.approx(cost)
    assert history.evaluation_accuracy[-1] == pytest.approx(accuracy)
    predictions = model(x[500:700]).data.argmax(axis=1)
    assert accuracy == pytest.approx(np.mean(predictions == labels[500:700]))
    assert set(history.as_dict()) >= {"train_cost", "evaluation_accuracy", "seconds"}


def test_fit_is_reproducible_for_a_seed(sample):
    x, labels = sample.train
    weights = []
    for _ in range(2):
        model = nn.MLP([784, 5, 10], seed=3)
        nn.fit(
            model, nn.mse_loss, nn.SGD(model.parameters(), lr=1.0), (x[:200], labels[:200]),
            epochs=1, batch_size=10, seed=7, progress=False,
        )  # fmt: skip
        weights.append(model.layers[0].weight.data.copy())
    np.testing.assert_array_equal(weights[0], weights[1])


def test_ctrl_c_stops_after_the_current_mini_batch_keeping_weights(sample):
    x, labels = sample.train
    model = nn.MLP([784, 5, 10], seed=4)
    optimizer = nn.SGD(model.parameters(), lr=1.0)
    steps = []
    original_step = optimizer.step

    def step_then_interrupt_at_the_third():
        original_step()
        steps.append(model.layers[0].weight.data.copy())
        if len(steps) == 3:
            os.kill(os.getpid(), signal.SIGINT)

    optimizer.step = step_then_interrupt_at_the_third
    history = nn.fit(
        model, nn.mse_loss, optimizer, (x[:200], labels[:200]),
        epochs=5, batch_size=10, evaluation=(x[:50], labels[:50]), progress=False,
    )  # fmt: skip
    assert history.interrupted and history.epochs == 1 and len(steps) == 3
    np.testing.assert_array_equal(model.layers[0].weight.data, steps[-1])
    assert len(history.evaluation_accuracy) == 1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_checkpoint_each_epoch_in_nielsen_format(sample, tmp_path):
    x, labels = sample.train
    model = nn.MLP([784, 5, 10], seed=5)
    path = tmp_path / "checkpoint.json"
    nn.fit(
        model, nn.binary_cross_entropy, nn.SGD(model.parameters(), lr=0.5),
        (x[:100], labels[:100]), epochs=2, batch_size=10, checkpoint=path, progress=False,
    )  # fmt: skip
    np.testing.assert_array_equal(nn.load(path)(x[:5]).data, model(x[:5]).data)
    assert '"cost": "CrossEntropyCost"' in path.read_text()
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.json"]


def test_checkpoint_needs_an_mlp(tmp_path):
    layer = nn.Linear(2, 2)
    data = (np.zeros((4, 2)), np.zeros((4, 2)))
    with pytest.raises(TypeError, match="not an MLP"):
        nn.fit(layer, nn.mse_loss, nn.SGD(layer.parameters(), lr=1), data, epochs=1, batch_size=2,
               checkpoint=tmp_path / "x.json", progress=False)  # fmt: skip


def test_plot_history_writes_a_png(sample, tmp_path):
    history = nn.History(evaluation_cost=[0.5, 0.4], evaluation_accuracy=[0.8, 0.9], seconds=[1, 1])
    nn.plot_history(history, tmp_path / "history.png")
    assert (tmp_path / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert os.listdir(tmp_path) == ["history.png"]
