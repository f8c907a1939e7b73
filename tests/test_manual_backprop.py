"""nn.manual_backprop (BP1-BP4) against float64 central differences; numpy and pytest only."""

import warnings

import numpy as np
import pytest

from nn.backprop.equations import Backprop, manual_backprop

SIZES = [[2, 1, 2], [3, 4, 2], [5, 4, 3, 2]]
HIDDEN = ["sigmoid", "tanh", "relu"]
# Every valid (output_activation, loss) pair, written out here rather than read from the module.
PAIRS = [
    ("sigmoid", "mse"),
    ("tanh", "mse"),
    ("relu", "mse"),
    ("softmax", "mse"),
    (None, "mse"),
    ("sigmoid", "binary_cross_entropy"),
    ("softmax", "cross_entropy"),
    (None, "cross_entropy"),
]


def make_network(sizes, rng):
    weights = [rng.normal(size=(out, inp)) for inp, out in zip(sizes[:-1], sizes[1:])]
    return weights, [rng.normal(size=out) for out in sizes[1:]]


def make_targets(loss, batch_size, classes, rng):
    if loss == "cross_entropy":
        return rng.integers(0, classes, size=batch_size)
    return rng.uniform(size=(batch_size, classes))


def numerical_gradient(cost, params, eps=1e-6):
    """Central differences of cost() with respect to each array in params, nudged in place."""
    grads = []
    for p in params:
        grad = np.zeros_like(p)
        for index in np.ndindex(p.shape):
            saved = p[index]
            p[index] = saved + eps
            up = cost()
            p[index] = saved - eps
            down = cost()
            p[index] = saved
            grad[index] = (up - down) / (2 * eps)
        grads.append(grad)
    return grads


@pytest.mark.parametrize("batch_size", [1, 7])
@pytest.mark.parametrize(("output_activation", "loss"), PAIRS)
@pytest.mark.parametrize("activation", HIDDEN)
@pytest.mark.parametrize("sizes", SIZES, ids=str)
def test_manual_backprop_gradients_match_finite_differences(
    sizes, activation, output_activation, loss, batch_size
):
    rng = np.random.default_rng(0)
    weights, biases = make_network(sizes, rng)
    x = rng.normal(size=(batch_size, sizes[0]))
    y = make_targets(loss, batch_size, sizes[-1], rng)
    kwargs = dict(activation=activation, output_activation=output_activation, loss=loss)

    result = manual_backprop(weights, biases, x, y, **kwargs)
    numeric = numerical_gradient(
        lambda: manual_backprop(weights, biases, x, y, **kwargs).cost, weights + biases
    )

    for analytic, expected in zip(result.grad_weights + result.grad_biases, numeric):
        assert analytic.shape == expected.shape
        np.testing.assert_allclose(analytic, expected, rtol=1e-5, atol=1e-8)
    assert [d.shape for d in result.deltas] == [(batch_size, n) for n in sizes[1:]]
    assert [z.shape for z in result.zs] == [(batch_size, n) for n in sizes[1:]]
    assert [a.shape for a in result.activations] == [(batch_size, n) for n in sizes]


@pytest.mark.parametrize(
    ("output_activation", "loss"),
    [("sigmoid", "binary_cross_entropy"), ("softmax", "cross_entropy"), (None, "cross_entropy")],
)
def test_manual_backprop_shortcut_equals_literal_bp1(output_activation, loss):
    rng = np.random.default_rng(1)
    weights, biases = make_network([3, 4, 3], rng)
    x, y = rng.normal(size=(7, 3)), make_targets(loss, 7, 3, rng)
    kwargs = dict(output_activation=output_activation, loss=loss)
    fast = manual_backprop(weights, biases, x, y, shortcut=True, **kwargs)
    literal = manual_backprop(weights, biases, x, y, shortcut=False, **kwargs)
    for got, expected in zip(fast.deltas, literal.deltas):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-14)
    assert fast.cost == literal.cost


def test_manual_backprop_deltas_satisfy_bp3_and_bp4():
    rng = np.random.default_rng(2)
    weights, biases = make_network([5, 4, 3, 2], rng)
    x, y = rng.normal(size=(7, 5)), rng.uniform(size=(7, 2))
    result = manual_backprop(weights, biases, x, y, activation="tanh")
    for l, delta in enumerate(result.deltas):
        a_prev = result.activations[l]
        # BP4 one example at a time: dC/dw_jk = sum_x a_{l-1,k} delta_{l,j}.
        outer = sum(np.outer(delta[i], a_prev[i]) for i in range(len(x)))
        np.testing.assert_allclose(result.grad_weights[l], outer, rtol=1e-12)
        np.testing.assert_allclose(result.grad_biases[l], delta.sum(axis=0), rtol=1e-12)  # BP3


def test_manual_backprop_deltas_carry_the_one_over_batch_factor():
    # C is the mean of per-example costs C_x, so delta_l for example i is (1/n) dC_x/dz_l,
    # and dC_x/dz_l is the bias gradient of a batch holding example i alone.
    rng = np.random.default_rng(3)
    weights, biases = make_network([3, 4, 2], rng)
    x, y = rng.normal(size=(7, 3)), rng.integers(0, 2, size=7)
    kwargs = dict(activation="relu", output_activation=None, loss="cross_entropy")
    batch = manual_backprop(weights, biases, x, y, **kwargs)
    for i in range(len(x)):
        alone = manual_backprop(weights, biases, x[i : i + 1], y[i : i + 1], **kwargs)
        for delta, grad_b in zip(batch.deltas, alone.grad_biases):
            np.testing.assert_allclose(delta[i] * len(x), grad_b, rtol=1e-12, atol=1e-15)


def test_manual_backprop_costs_match_nielsens_formulas():
    rng = np.random.default_rng(4)
    weights, biases = make_network([3, 2], rng)
    x, y = rng.normal(size=(4, 3)), rng.uniform(size=(4, 2))
    z = x @ weights[0].T + biases[0]
    a = 1 / (1 + np.exp(-z))
    mse = manual_backprop(weights, biases, x, y).cost
    bce = manual_backprop(weights, biases, x, y, loss="binary_cross_entropy").cost
    assert mse == pytest.approx(np.mean(0.5 * np.sum((a - y) ** 2, axis=1)))
    assert bce == pytest.approx(np.mean(-np.sum(y * np.log(a) + (1 - y) * np.log(1 - a), 1)))
    labels = np.array([0, 1, 1, 0])
    ce = manual_backprop(weights, biases, x, labels, output_activation=None, loss="cross_entropy")
    softmax = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert ce.cost == pytest.approx(np.mean(-np.log(softmax[np.arange(4), labels])))


def test_manual_backprop_accepts_nielsen_columns_single_examples_and_one_hot():
    rng = np.random.default_rng(5)
    weights, biases = make_network([3, 4, 2], rng)
    x, y = rng.normal(size=3), rng.uniform(size=2)
    reference = manual_backprop(weights, biases, x[None], y[None])
    column_biases = [b.reshape(-1, 1) for b in biases]
    for result in (
        manual_backprop(weights, column_biases, x[None], y[None]),
        manual_backprop(weights, biases, x, y),
    ):
        assert isinstance(result, Backprop)
        assert result.cost == reference.cost
        for got, expected in zip(
            result.grad_weights + result.grad_biases, reference.grad_weights + reference.grad_biases
        ):
            assert got.shape == expected.shape
            np.testing.assert_array_equal(got, expected)
    kwargs = dict(output_activation="softmax", loss="cross_entropy")
    by_label = manual_backprop(weights, biases, x, np.int64(1), **kwargs)
    by_one_hot = manual_backprop(weights, biases, x, np.array([0.0, 1.0]), **kwargs)
    np.testing.assert_array_equal(by_label.grad_weights[0], by_one_hot.grad_weights[0])


def test_manual_backprop_is_stable_at_saturation():
    # One unit with z = +-1000: Nielsen's np.log(a) formulas would give inf or nan here.
    weights, biases = [np.array([[1000.0]])], [np.zeros(1)]
    x = np.array([[1.0], [-1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bce = manual_backprop(
            weights, biases, x, np.array([[0.0], [1.0]]), loss="binary_cross_entropy"
        )
        logits = [np.array([[1000.0], [-1000.0]])], [np.zeros(2)]
        ce = manual_backprop(
            *logits, x, np.array([1, 1]), output_activation=None, loss="cross_entropy"
        )
    # bce: each example costs softplus(1000) = 1000; ce: 2000 (logit gap 2000), then 0.
    assert bce.cost == pytest.approx(1000.0)
    np.testing.assert_allclose(bce.grad_weights[0], [[0.5 * 1 + -0.5 * -1]])
    assert ce.cost == pytest.approx(1000.0)
    np.testing.assert_allclose(ce.deltas[0], [[0.5, -0.5], [0.0, 0.0]], atol=1e-300)


def _call(**changes):
    rng = np.random.default_rng(6)
    weights, biases = make_network([3, 4, 2], rng)
    args = dict(
        weights=weights, biases=biases, x=rng.normal(size=(5, 3)), y=rng.uniform(size=(5, 2))
    )
    args.update(changes)
    return manual_backprop(**args)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(x=np.zeros((3, 1))), r"\(batch, 3\).*got \(3, 1\).*Rows are examples.*x\.T"),
        (dict(x=np.zeros((5, 4))), r"\(batch, 3\) or \(3,\), got \(5, 4\)"),
        (dict(activation="softmax"), r"activation must be one of \('sigmoid', 'tanh', 'relu'\)"),
        (dict(loss="quadratic"), r"loss must be one of .*'mse'"),
        (dict(output_activation="softmax", loss="binary_cross_entropy"), r"\('sigmoid',\)"),
        (dict(output_activation="sigmoid", loss="cross_entropy"), r"\('softmax', None\)"),
        (dict(output_activation="exp"), r"output_activation in \('sigmoid', 'tanh'"),
        (dict(biases=[np.zeros(4), np.zeros(3)]), r"biases\[1\].*\(2,\).*\(2, 1\).*got \(3,\)"),
        (dict(weights=[np.zeros((4, 3)), np.zeros((2, 5))]), r"weights\[1\].*\(out, 4\)"),
        (dict(biases=[np.zeros(4)]), r"2 weights and 1 biases"),
        (dict(y=np.zeros((2, 5))), r"\(5, 2\), got \(2, 5\)"),
        (
            dict(y=np.array([0, 1, 2, 0, 1]), output_activation=None, loss="cross_entropy"),
            r"0\.\.1 for 2 classes",
        ),
        (dict(y=np.zeros((5, 2)), output_activation=None, loss="cross_entropy"), r"one-hot"),
    ],
)
def test_manual_backprop_errors_name_expected_shapes_and_values(changes, message):
    with pytest.raises(ValueError, match=message):
        _call(**changes)
