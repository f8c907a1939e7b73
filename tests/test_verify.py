"""verify_backprop, check_backprop and `python -m nn.verify`, with planted backprop bugs.

NielsenNetwork is network.py's backprop (columns, one example per call) and rows_backprop the
same with rows (batch-averaged); each takes a `bug` naming one planted mistake, so every
diagnosis test starts from the code a learner would write.
"""

import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nn
from nn.backprop.report import BackpropReport


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


class NielsenNetwork:
    """network.py's Network, with `bug` planting one mistake (None: correct)."""

    def __init__(self, sizes, bug=None, cost="quadratic", seed=0):
        rng = np.random.default_rng(seed)
        self.num_layers = len(sizes)
        self.biases = [rng.standard_normal((y, 1)) for y in sizes[1:]]
        self.weights = [rng.standard_normal((y, x)) for x, y in zip(sizes[:-1], sizes[1:])]
        self.bug, self.cost = bug, cost

    def backprop(self, x, y):
        bug = self.bug
        if bug == "1-D":
            x, y = x.ravel(), y.ravel()
        # With 1-D vectors, a.transpose() is a no-op and np.dot would be an inner product.
        outer = np.outer if bug == "1-D" else lambda d, a: np.dot(d, a.transpose())
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        activation, activations, zs = x, [x], []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + (b.ravel() if bug == "1-D" else b)
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        if bug == "missing sigma' in BP1" or self.cost == "cross_entropy":
            delta = activations[-1] - y
        else:
            delta = (activations[-1] - y) * sigmoid_prime(zs[-1])
        nabla_b[-1] = delta.sum() if bug == "bias summed" else delta
        nabla_w[-1] = outer(delta, activations[-2])
        if bug == "transposed":
            nabla_w[-1] = np.dot(activations[-2], delta.transpose())
        for l in range(2, self.num_layers):
            z = zs[-l]
            sp = sigmoid(z) if bug == "sigma instead of sigma' in BP2" else sigmoid_prime(z)
            if bug == "exception":
                delta = np.dot(self.weights[-l].transpose(), delta) * sp
            delta = np.dot(self.weights[-l + 1].transpose(), delta) * sp
            if bug == "doubled at l=2" and l == 2:
                delta = 2 * delta
            k = -l + 1 if bug == "swapped index" else -l
            nabla_b[k] = delta.sum() if bug == "bias summed" else delta
            nabla_w[k] = outer(delta, activations[-l - 1])
        return (nabla_b, nabla_w)


def rows_backprop(weights, biases, bug=None):
    """backprop(x, y) with rows: x (batch, in), gradients of the batch-averaged cost."""

    def backprop(x, y):
        activations, zs = [x], []
        for w, b in zip(weights, biases):
            zs.append(activations[-1] @ w.T + b)
            activations.append(sigmoid(zs[-1]))
        delta = (activations[-1] - y) * sigmoid_prime(zs[-1])
        if bug != "summed":
            delta = delta / len(x)
        nabla_b, nabla_w = [None] * len(weights), [None] * len(weights)
        for l in range(1, len(weights) + 1):
            if l > 1:
                delta = (delta @ weights[-l + 1]) * sigmoid_prime(zs[-l])
            nabla_b[-l] = delta if bug == "not summed" else delta.sum(axis=0)
            nabla_w[-l] = delta.T @ activations[-l - 1]
        return nabla_b, nabla_w

    return backprop


def examples(sizes, count=3, seed=1):
    rng = np.random.default_rng(seed)
    return rng.random((count, sizes[0])), rng.random((count, sizes[-1]))


def check(sizes, bug=None, **options):
    net = NielsenNetwork(sizes, bug, cost=options.get("cost", "quadratic"))
    return nn.check_backprop(net.backprop, net.weights, net.biases, *examples(sizes), **options)


def said(text) -> str:
    """Printed text with line wrapping undone."""
    return " ".join(str(text).split())


def verdicts(result):
    return {row.name: row.verdict for row in result.rows}


# ---------------------------------------------------------------- check_backprop


@pytest.mark.parametrize("cost", ["quadratic", "cross_entropy"])
@pytest.mark.parametrize("sizes", [[2, 3, 2], [4, 5, 3, 2], [3, 1, 3]], ids=str)
def test_check_backprop_passes_a_correct_columns_implementation(sizes, cost):
    result = check(sizes, cost=cost)
    assert result.ok, str(result)
    assert all(row.max_rel < 1e-12 for row in result.rows)
    assert "BP1-BP4 look right" in said(result)


@pytest.mark.parametrize("sizes", [[2, 3, 2], [4, 5, 3, 2]], ids=str)
def test_check_backprop_passes_a_correct_rows_implementation(sizes):
    net = NielsenNetwork(sizes)
    biases = [b.ravel() for b in net.biases]
    x, y = examples(sizes, count=10)
    result = nn.check_backprop(
        rows_backprop(net.weights, biases), net.weights, biases, x, y, layout="rows"
    )
    assert result.ok, str(result)
    assert [row.name for row in result.rows][:2] == [
        f"nabla_b[{len(sizes) - 2}]",
        f"nabla_w[{len(sizes) - 2}]",
    ]


def test_check_backprop_reports_1d_vectors_where_columns_are_expected():
    result = check([2, 3, 2], "1-D")
    text = said(result)
    assert not result.ok
    assert verdicts(result) == {
        "nabla_b[1]": "wrong shape",
        "nabla_w[1]": "ok",
        "nabla_b[0]": "wrong shape",
        "nabla_w[0]": "ok",
    }
    assert "a 1-D vector (3,) where a column vector (3, 1) is expected" in text
    assert "values are right once reshaped" in text


def test_check_backprop_points_at_1d_biases_when_broadcasting_breaks_the_users_code():
    net = NielsenNetwork([2, 3, 2])
    biases = [b.ravel() for b in net.biases]
    net.biases = biases
    result = nn.check_backprop(net.backprop, net.weights, biases, *examples([2, 3, 2]))
    text = said(result)
    assert not result.ok and result.error["kind"] == "exception"
    assert "biases[0] has shape (3,)" in text and "column vectors (3, 1)" in text
    assert "The shape (2,) in the message is a 1-D vector" in text


def test_check_backprop_finds_a_transposed_weight_gradient():
    result = check([2, 3, 2], "transposed")
    assert verdicts(result) == {
        "nabla_b[1]": "ok",
        "nabla_w[1]": "transposed",
        "nabla_b[0]": "ok",
        "nabla_w[0]": "ok",
    }
    assert "nabla_w[1] (BP4): transposed" in said(result)


def test_check_backprop_finds_missing_sigma_prime_in_bp1():
    result = check([2, 3, 3, 2], "missing sigma' in BP1")
    text = " ".join(result.diagnosis)
    assert all(not row.ok for row in result.rows)
    assert text.startswith("BP1 is wrong, from layer 4 (the output layer, w^4 and b^4")
    assert "nabla_b[-1] and nabla_w[-1] in network.py" in said(text)
    assert "missing the factor sigmoid'(z^L)" in text and "Fix BP1 first" in text


def test_check_backprop_finds_the_wrong_activation_derivative_in_bp2():
    result = check([2, 3, 3, 2], "sigma instead of sigma' in BP2")
    text = " ".join(result.diagnosis)
    assert [row.ok for row in result.rows] == [True, True, False, False, False, False]
    assert text.startswith("BP2 is wrong, from layer 3 (hidden, w^3 and b^3")
    assert "nabla_b[-2] and nabla_w[-2] in network.py" in said(text)
    assert "sigmoid(z) instead of its derivative sigmoid'(z)" in text
    assert "layer 4 ok, layer 3 wrong, layer 2 wrong" in text


def test_check_backprop_finds_a_mistake_in_cost_choice_for_cross_entropy():
    # Quadratic-cost code checked as cross-entropy: BP1 has a sigma' that should cancel.
    net = NielsenNetwork([2, 3, 2])
    result = nn.check_backprop(
        net.backprop, net.weights, net.biases, *examples([2, 3, 2]), cost="cross_entropy"
    )
    assert (
        result.diagnosis[0].startswith("BP1 is wrong") and "sigma' cancels" in result.diagnosis[0]
    )


def test_check_backprop_names_sum_instead_of_mean_over_the_batch():
    net = NielsenNetwork([2, 3, 3, 2])
    biases = [b.ravel() for b in net.biases]
    x, y = examples([2, 3, 3, 2], count=10)
    result = nn.check_backprop(
        rows_backprop(net.weights, biases, "summed"), net.weights, biases, x, y, layout="rows"
    )
    assert set(verdicts(result).values()) == {"factor 10"}
    assert "sum vs mean over the batch: factor 10 = batch size" in said(result)


def test_check_backprop_names_a_bias_gradient_not_summed_over_the_batch():
    net = NielsenNetwork([2, 3, 2])
    biases = [b.ravel() for b in net.biases]
    x, y = examples([2, 3, 2], count=4)
    result = nn.check_backprop(
        rows_backprop(net.weights, biases, "not summed"), net.weights, biases, x, y, layout="rows"
    )
    assert verdicts(result) == dict.fromkeys(
        ["nabla_b[1]", "nabla_b[0]"], "not summed"
    ) | dict.fromkeys(["nabla_w[1]", "nabla_w[0]"], "ok")


def test_check_backprop_names_a_bias_gradient_summed_to_a_number_as_a_bp3_mistake():
    # network.py with nabla_b[-l] = delta.sum(): the weights are right, every bias is a number.
    result = check([2, 3, 2], "bias summed")
    text = said(result)
    assert verdicts(result) == {
        "nabla_b[1]": "summed to a number",
        "nabla_w[1]": "ok",
        "nabla_b[0]": "summed to a number",
        "nabla_w[0]": "ok",
    }
    assert "nabla_b[1] (BP1+BP3): a bias gradient summed to a single number" in text
    assert "shape (2, 1)" in text and "the sum of the right gradient's entries" in text
    assert "BP3 says dC/db^l_j = delta^l_j" in text and "nabla_b[-l] = delta" in text
    assert "inner product" not in text and "BP4 needs" not in text


def test_check_backprop_names_a_bias_summed_over_neurons_in_rows_layout():
    net = NielsenNetwork([2, 3, 2])
    biases = [b.ravel() for b in net.biases]
    x, y = examples([2, 3, 2], count=4)
    correct = rows_backprop(net.weights, biases)

    def summed_everything(x, y):
        nabla_b, nabla_w = correct(x, y)
        return [np.sum(b) for b in nabla_b], nabla_w

    result = nn.check_backprop(summed_everything, net.weights, biases, x, y, layout="rows")
    assert set(verdicts(result).values()) == {"summed to a number", "ok"}
    assert "delta.sum(axis=0), summed over the examples only" in said(result)


@pytest.mark.parametrize("sizes", [[2, 3, 2], [3, 3, 3]], ids=str)
def test_check_backprop_finds_a_swapped_layer_index(sizes):
    result = check(sizes, "swapped index")
    assert verdicts(result) == {
        "nabla_b[1]": "swapped index",
        "nabla_w[1]": "swapped index",
        "nabla_b[0]": "all zeros",
        "nabla_w[0]": "all zeros",
    }
    assert (
        "nabla_b[1] (BP1+BP3): holds the gradient that belongs in nabla_b[0]: swapped layer index"
        in said(result)
    )


def test_check_backprop_says_where_backprop_goes_wrong_going_backwards():
    # Not one of the known mistakes: the pattern from the output down names the step.
    result = check([2, 3, 3, 3, 2], "doubled at l=2")
    text = " ".join(result.diagnosis)
    assert "layer 5 ok, layer 4 wrong, layer 3 wrong, layer 2 wrong" in text
    assert "The first wrong step is BP2 at layer 4" in text and "inherit the error" in text
    assert "delta of layer 5 is right" in text


def test_check_backprop_reports_an_exception_in_the_users_code():
    result = check([2, 3, 2], "exception")
    line = next(
        n
        for n, text in enumerate(inspect.getsourcelines(NielsenNetwork)[0])
        if "self.weights[-l].transpose()" in text
    )
    line += inspect.getsourcelines(NielsenNetwork)[1]
    assert not result.ok and verdicts(result) == dict.fromkeys(verdicts(result), "not run")
    assert result.error["message"].startswith("ValueError: shapes (2,3) and (2,1) not aligned")
    assert (result.error["file"], result.error["line"]) == (__file__, line)
    assert f"test_verify.py, line {line}, in backprop:  delta = np.dot(self.weights[-l]" in str(
        result
    )


def test_check_backprop_result_is_one_screen_and_a_plain_dict():
    result = check([4, 5, 3, 2], "sigma instead of sigma' in BP2")
    assert len(str(result).splitlines()) <= 30
    data = json.loads(json.dumps(result.to_dict()))
    assert data["ok"] is False and data == json.loads(json.dumps(result.as_dict()))
    assert [row["name"] for row in data["rows"]] == [row.name for row in result.rows]


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(layout="cols"), r"layout must be 'columns' or 'rows', got 'cols'"),
        (dict(activation="softmax"), r"activation must be one of .*, got 'softmax'"),
        (dict(cost="mse"), r"cost must be one of .*'quadratic'.*, got 'mse'"),
        (
            dict(cost="log_likelihood", output_activation="sigmoid"),
            r"cost 'log_likelihood' takes output_activation in \('softmax',\), got 'sigmoid'",
        ),
        (
            dict(biases=[np.zeros((3, 2)), np.zeros(2)]),
            r"biases\[0\] must .* \(3, 1\), got \(3, 2\)",
        ),
        (dict(x=np.zeros((3, 5))), r"x must have shape \(batch, 2\).*; got \(3, 5\)"),
        (dict(y=np.zeros((4, 2))), r"y has 4 examples, x has 3"),
    ],
    ids=str,
)
def test_check_backprop_rejects_what_it_cannot_check_naming_expected_and_given(options, message):
    net = NielsenNetwork([2, 3, 2])
    x, y = examples([2, 3, 2])
    arguments = dict(weights=net.weights, biases=net.biases, x=x, y=y) | options
    with pytest.raises(ValueError, match=message):
        nn.check_backprop(net.backprop, **arguments)


# ---------------------------------------------------------------- verify_backprop

CASES = [
    ([2, 3, 2], "sigmoid", "sigmoid", nn.mse_loss),
    ([4, 5, 3, 2], "tanh", None, nn.mse_loss),
    ([3, 4, 3], "relu", "softmax", nn.mse_loss),
    ([4, 5, 3], "sigmoid", "sigmoid", nn.binary_cross_entropy),
    ([4, 5, 3], "tanh", None, nn.binary_cross_entropy_with_logits),
    ([5, 6, 4, 3], "relu", None, nn.cross_entropy),
]


def problem(sizes, activation, output_activation, loss, batch_size=5, seed=0):
    rng = np.random.default_rng(seed)
    model = nn.MLP(sizes, activation=activation, output_activation=output_activation, seed=seed)
    x = rng.random((batch_size, sizes[0]))
    labels = rng.integers(0, sizes[-1], batch_size)
    y = (
        labels
        if loss is nn.cross_entropy
        else np.eye(sizes[-1])[labels]
        if loss is not nn.mse_loss
        else rng.random((batch_size, sizes[-1]))
    )
    return model, x, y


@pytest.mark.parametrize(
    "sizes, activation, output_activation, loss",
    CASES,
    ids=lambda c: str(getattr(c, "__name__", c)),
)
def test_verify_backprop_agrees_on_every_layer_and_equation(
    sizes, activation, output_activation, loss
):
    model, x, y = problem(sizes, activation, output_activation, loss)
    report = nn.verify_backprop(model, x, y, loss=loss)
    assert report.ok, str(report)
    assert max(row.autograd_bp_rel for row in report.rows) < 1e-12
    assert max(row.autograd_numerical_rel for row in report.rows) < 1e-5
    assert all(row.sampled == min(10, int(np.prod(row.shape))) for row in report.rows)
    assert model.layers[0].weight.grad is None  # the model itself is left alone


def test_verify_backprop_report_has_one_row_per_layer_and_equation():
    model, x, y = problem([4, 5, 3, 2], "sigmoid", "sigmoid", nn.mse_loss)
    report = nn.verify_backprop(model, x, y, samples=5, seed=3)
    table = [line.split()[:3] for line in str(report).splitlines() if re.match(r"\d+ +BP", line)]
    assert table == [
        [str(l), equation, quantity]
        for l in range(2, 5)  # Nielsen's numbering: the input [4] is layer 1
        for equation, quantity in [
            ("BP1" if l == 4 else "BP2", "delta"),
            ("BP4", "weight"),
            ("BP3", "bias"),
        ]
    ]
    delta_rows = [row for row in report.rows if row.quantity == "delta"]
    assert [row.z_shape for row in delta_rows] == [(5, 5), (5, 3), (5, 2)]
    assert all(row.z_shape == row.a_shape == row.delta_shape for row in delta_rows)


def test_verify_backprop_to_dict_round_trips_through_json():
    model, x, y = problem([3, 4, 2], "tanh", None, nn.mse_loss)
    report = nn.verify_backprop(model, x, y)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is True and len(data["rows"]) == 6
    assert BackpropReport.from_dict(data) == report
    assert report.as_dict() == report.to_dict()


def test_verify_backprop_shows_vanishing_gradients_in_a_deep_sigmoid_net():
    model, x, y = problem([10, 8, 8, 8, 8, 8, 2], "sigmoid", "sigmoid", nn.mse_loss, batch_size=20)
    report = nn.verify_backprop(model, x, y, samples=3)
    norms = report.delta_norms
    assert all(earlier < later for earlier, later in zip(norms, norms[1:])), norms
    assert norms[0] < norms[-1] / 10
    assert "vanishing" in str(report)


def test_verify_backprop_fails_when_autograd_is_wrong(monkeypatch):
    affine = nn.layers.functional.Affine.backward

    def doubled_weight_gradient(self, grad_out, x, weight, bias, z):
        dx, dweight, dbias = affine(self, grad_out, x, weight, bias, z)
        return dx, 2 * dweight, dbias

    monkeypatch.setattr(nn.layers.functional.Affine, "backward", doubled_weight_gradient)
    model, x, y = problem([3, 4, 2], "sigmoid", "sigmoid", nn.mse_loss)
    report = nn.verify_backprop(model, x, y)
    assert not report.ok
    assert [row.equation for row in report.rows if not row.ok] == ["BP4", "BP4"]
    assert "NOT OK" in str(report)


def test_verify_backprop_refuses_a_loss_manual_backprop_cannot_mirror():
    model, x, y = problem([3, 4, 2], "sigmoid", "softmax", nn.cross_entropy)
    with pytest.raises(ValueError, match="output_activation=None"):
        nn.verify_backprop(model, x, y, loss=nn.cross_entropy)


# ---------------------------------------------------------------- python -m nn.verify

LEARNER_FILE = (
    "import numpy as np\n\n\n{}\n\n{}\n\n{}\n\n"
    "class Buggy(NielsenNetwork):\n"
    "    def __init__(self, sizes):\n"
    '        super().__init__(sizes, bug="missing sigma\' in BP1")\n\n\n'
    "class SummedBias(NielsenNetwork):\n"
    "    def __init__(self, sizes):\n"
    '        super().__init__(sizes, bug="bias summed")\n\n\n'
    "class Crashing(NielsenNetwork):\n"
    "    def __init__(self, sizes):\n"
    '        super().__init__(sizes, bug="exception")\n'
)


def run_command(tmp_path, *args):
    source = LEARNER_FILE.format(
        *(inspect.getsource(f) for f in (sigmoid, sigmoid_prime, NielsenNetwork))
    )
    (tmp_path / "network.py").write_text(source)
    command = [sys.executable, "-m", "nn.verify", *args]
    env = {**os.environ, "PYTHONPATH": str(Path(nn.__file__).parents[1])}
    return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env)


def test_command_exits_0_when_every_gradient_agrees(tmp_path):
    done = run_command(tmp_path, "network.py:NielsenNetwork", "--sizes", "2,3,2", "--examples", "2")
    assert done.returncode == 0, done.stderr
    assert "check_backprop: OK" in done.stdout and "class NielsenNetwork" in done.stdout
    assert done.stderr == ""


def test_command_exits_1_and_prints_the_diagnosis(tmp_path):
    done = run_command(tmp_path, "network.py:Buggy", "--sizes", "2,3,2")
    assert done.returncode == 1
    assert "BP1 is wrong, from layer 3 (the output layer" in said(done.stdout)


def test_command_says_a_summed_bias_gradient_breaks_bp3_in_plain_words(tmp_path):
    done = run_command(tmp_path, "network.py:SummedBias", "--sizes", "784,30,10")
    text = said(done.stdout)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "nabla_b[1] (BP1+BP3): a bias gradient summed to a single number" in text
    assert "BP3 gives one per neuron, shape (10, 1)" in text
    assert "np.dot of two 1-D vectors" not in text
    # Nielsen's numbering: the output of [784, 30, 10] is layer 3, the hidden layer 2.
    assert re.search(r"^3 +nabla_b\[1\] +BP1\+BP3", done.stdout, re.M)
    assert re.search(r"^2 +nabla_w\[0\] +BP4 .* ok$", done.stdout, re.M)


def test_command_reports_an_exception_in_backprop_with_exit_1(tmp_path):
    done = run_command(tmp_path, "network.py:Crashing", "--sizes", "2,3,2")
    assert done.returncode == 1 and done.stderr == ""
    assert "Your backprop raised ValueError" in done.stdout
    assert "network.py, line" in done.stdout and "self.weights[-l].transpose()" in done.stdout


def test_command_checks_a_function_in_rows_layout(tmp_path):
    (tmp_path / "mine.py").write_text(
        "import numpy as np\n\n"
        "def backprop(x, y, weights, biases):\n"
        "    a = 1 / (1 + np.exp(-(x @ weights[0].T + biases[0])))\n"
        "    delta = (a - y) * a * (1 - a)\n"
        "    return [delta.sum(axis=0)], [delta.T @ x]\n"
    )
    done = run_command(
        tmp_path, "mine.py:backprop", "--sizes", "3,2", "--layout", "rows", "--examples", "4"
    )
    assert done.returncode == 1
    assert "factor 4 = batch size" in said(done.stdout)


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.py:Network", "--sizes", "2,3,2"], "no such file: missing.py"),
        (["network.py:Nope", "--sizes", "2,3,2"], "has no 'Nope'; it defines"),
        (["network.py", "--sizes", "2,3,2"], "expected FILE.py:NAME"),
        (["network.py:NielsenNetwork", "--sizes", "2,x"], "argument --sizes"),
        (["network.py:NielsenNetwork", "--sizes", "2"], "argument --sizes"),
        (["network.py:NielsenNetwork"], "--sizes"),
    ],
)
def test_command_exits_2_for_bad_usage(tmp_path, args, message):
    done = run_command(tmp_path, *args)
    assert done.returncode == 2
    assert message in done.stderr and done.stdout == ""
