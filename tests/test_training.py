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
    model = nn.MLP([784, 10, 10], output_activation=None, seed=1)  # logits for cross_entropy
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
    figure = nn.plot_history(history, tmp_path / "history.png")
    assert (tmp_path / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert os.listdir(tmp_path) == ["history.png"]
    assert figure._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_history_returns_a_figure_with_whole_epochs_and_keeps_the_backend():
    matplotlib = pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    before = matplotlib.get_backend()
    matplotlib.use("pdf")  # a backend plot_history would have no reason to choose
    try:
        history = nn.History(
            train_cost=[0.9, 0.5, 0.45], train_accuracy=[0.7, 0.8, 0.85], seconds=[1, 1, 1]
        )
        figure = nn.plot_history(history)
        assert matplotlib.get_backend() == "pdf"
    finally:
        matplotlib.use(before)
    assert isinstance(figure, Figure)
    figure.canvas.draw()
    for axes in figure.axes:
        ticks = [t for t in axes.get_xticks() if axes.get_xlim()[0] <= t <= axes.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    assert [line.get_label() for line in figure.axes[0].lines] == ["training accuracy"]


def nielsen_format(sample, n: int):
    """Nielsen's mnist_loader layout: (784, 1) columns, one-hot (10, 1) training targets."""
    x, labels = sample.train
    training = list(zip(x[:n].reshape(n, 784, 1), np.eye(10)[labels[:n]].reshape(n, 10, 1)))
    test_x, test_labels = sample.test
    test = zip(test_x[:n].reshape(n, 784, 1), test_labels[:n])  # a zip, as in his Python 3 ports
    return training, test


def test_fit_and_evaluate_take_nielsen_data_as_mnist_loader_gives_it(sample):
    training, test = nielsen_format(sample, 1000)
    test = list(test)
    histories = []
    for train, evaluation in (
        (training, iter(test)),  # his format, the evaluation data read once
        (nn.data.from_nielsen(training), nn.data.from_nielsen(test)),
    ):
        model = nn.MLP([784, 30, 10], init="large", seed=5)
        histories.append(
            nn.fit(
                model,
                nn.mse_loss,
                nn.SGD(model.parameters(), lr=3.0),
                train,
                epochs=2,
                batch_size=10,
                evaluation=evaluation,
                seed=2,
                progress=False,
            )  # fmt: skip
        )
        # His test data, his list of (x, label): the same as the arrays from_nielsen makes.
        assert nn.evaluate(model, nn.mse_loss, test) == nn.evaluate(
            model, nn.mse_loss, *nn.data.from_nielsen(test)
        )
    assert histories[0].evaluation_accuracy == histories[1].evaluation_accuracy
    assert histories[0].evaluation_accuracy[-1] > 0.3  # it learned: chance is 0.1


@pytest.mark.parametrize(
    "data, message",
    [
        ([(np.zeros((30, 1)), np.zeros((10, 1)))], r"x must have shape \(784, 1\), got \(30, 1\)"),
        ([(np.zeros((784, 1)), 12)], "y must be a"),
        (np.zeros((5, 784)), r"expected an \(x, y\) pair .* got ndarray of shape \(5, 784\)"),
        ((np.zeros((5, 784)), np.zeros(5), np.zeros(5)), "got a tuple of 3 items"),
    ],
)
def test_fit_refuses_other_data_in_one_line_naming_from_nielsen(data, message):
    model = nn.MLP([784, 10], seed=0)
    with pytest.raises((ValueError, TypeError), match=message) as caught:
        nn.fit(model, nn.mse_loss, nn.SGD(model.parameters(), lr=1), data, epochs=1,
               batch_size=2, progress=False)  # fmt: skip
    assert "\n" not in str(caught.value)
    if isinstance(data, list):
        assert "nn.data.from_nielsen" in str(caught.value)


def test_fit_checks_nielsen_evaluation_data_before_training(sample):
    training, _ = nielsen_format(sample, 50)
    model = nn.MLP([784, 10, 10], seed=0)
    before = model.layers[0].weight.data.copy()
    bad_test = [(np.zeros((784, 1)), "seven")]
    with pytest.raises(ValueError, match="fit: evaluation looks like Nielsen's"):
        nn.fit(model, nn.mse_loss, nn.SGD(model.parameters(), lr=1), training, epochs=1,
               batch_size=10, evaluation=bad_test, progress=False)  # fmt: skip
    np.testing.assert_array_equal(model.layers[0].weight.data, before)


def test_progress_epochs_prints_the_epoch_lines_without_bars(sample, capsys):
    model = nn.MLP([784, 5, 10], seed=0)
    x, labels = sample.train
    train = (x[:100], labels[:100])
    nn.fit(model, nn.mse_loss, nn.SGD(model.parameters(), lr=1), train, epochs=2,
           batch_size=10, evaluation=train, progress="epochs")  # fmt: skip
    out, err = capsys.readouterr()
    assert out.count("Epoch ") == 2 and "ex/s" not in out + err
    with pytest.raises(ValueError, match="progress must be True, False or \"epochs\", got 'bars'"):
        nn.fit(model, nn.mse_loss, nn.SGD(model.parameters(), lr=1), train, epochs=1,
               batch_size=10, progress="bars")  # fmt: skip
