"""Fault injection for the checkers: hostile or broken learner code never passes.

`python -m nn.verify` gets files that exit, loop, print megabytes, kill themselves, change
their weights or are Python 2; check_backprop gets backprops that return anything but
gradients. Each case says what the checker must answer; none may say OK.
"""

import textwrap

import numpy as np
import pytest
from test_verify import NielsenNetwork, examples, said

import nn
from nn import verify

# A network2.py in the book's shape (Python 3): cost classes with fn and delta, and
# Network(sizes, cost=CrossEntropyCost) keeping the class in self.cost.
NETWORK2 = """
import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


class QuadraticCost:
    @staticmethod
    def delta(z, a, y):
        return (a - y) * sigmoid_prime(z)


class CrossEntropyCost:
    @staticmethod
    def delta(z, a, y):
        return a - y


class Network:
    def __init__(self, sizes, cost=CrossEntropyCost):
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.biases = [np.random.randn(y, 1) for y in sizes[1:]]
        self.weights = [np.random.randn(y, x) / np.sqrt(x) for x, y in zip(sizes[:-1], sizes[1:])]
        self.cost = cost

    def backprop(self, x, y):
        HOOK_BACKPROP
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        activation, activations, zs = x, [x], []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = (self.cost).delta(zs[-1], activations[-1], y)
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())
        for l in range(2, self.num_layers):
            delta = np.dot(self.weights[-l + 1].transpose(), delta) * sigmoid_prime(zs[-l])
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
        HOOK_RETURN
        return (nabla_b, nabla_w)


class Quadratic(Network):
    def __init__(self, sizes):
        super().__init__(sizes, cost=QuadraticCost)


HOOK_IMPORT
"""


def network2(tmp_path, name="network2.py", at_import="", in_backprop="", before_return=""):
    """network2.py with code planted at import, at the start of backprop, or before it returns."""
    source = NETWORK2
    for hook, code in (
        ("HOOK_IMPORT", at_import),
        ("HOOK_BACKPROP", in_backprop),
        ("HOOK_RETURN", before_return),
    ):
        indent = "" if hook == "HOOK_IMPORT" else " " * 8
        source = source.replace(
            hook, textwrap.indent(textwrap.dedent(code), indent).strip() or "pass"
        )
    path = tmp_path / name
    path.write_text(source)
    return path


def command(capsys, path, *options, target="Network"):
    """Run the command's parent here (its child is a real process); (status, stdout, stderr)."""
    status = verify.main([f"{path}:{target}", "--sizes", "3,4,2", *options])
    out, err = capsys.readouterr()
    return status, out, err


# ---------------------------------------------------------------- python -m nn.verify


def test_a_correct_network2_passes_without_flags_its_cost_read_from_self_cost(tmp_path, capsys):
    status, out, err = command(capsys, network2(tmp_path))
    assert status == 0, out + err
    assert "check_backprop: OK" in out and "cost cross_entropy" in out
    assert "(cost cross_entropy, read from your network's self.cost)" in out


def test_quadratic_cost_class_is_read_too(tmp_path, capsys):
    status, out, _ = command(capsys, network2(tmp_path), target="Quadratic")
    assert status == 0 and "quadratic cost" in out


def test_a_cost_mismatch_names_the_cost_option(tmp_path, capsys):
    status, out, _ = command(capsys, network2(tmp_path), "--cost", "quadratic")
    assert status == 1 and "check_backprop: NOT OK" in out
    assert "With --cost cross_entropy every gradient agrees" in said(out)
    assert "run again with --cost cross_entropy" in said(out)


ENDINGS = {
    "sys.exit(0) at import": ("import sys\nsys.exit(0)", "", "sys.exit(0)"),
    "sys.exit(1) at import": ("import sys\nsys.exit(1)", "", "sys.exit(1)"),
    "raise SystemExit at import": ("raise SystemExit", "", "sys.exit(None)"),
    "KeyboardInterrupt at import": ("raise KeyboardInterrupt", "", "KeyboardInterrupt"),
    "os._exit(0) at import": ("import os\nos._exit(0)", "", "exited with status 0"),
    "SIGKILL at import": (
        "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
        "",
        "killed by signal 9",
    ),
    "sys.exit(0) in backprop": ("", "import sys\nsys.exit(0)", "backprop ended with sys.exit(0)"),
    "KeyboardInterrupt in backprop": (
        "",
        "raise KeyboardInterrupt",
        "backprop ended with KeyboardInterrupt",
    ),
    "os._exit(0) in backprop": ("", "import os\nos._exit(0)", "exited with status 0"),
    "fake OK then os._exit(0)": (
        "",
        "import os\nprint('check_backprop: OK')\nos._exit(0)",
        "exited with status 0",
    ),
}


@pytest.mark.parametrize("case", ENDINGS)
def test_code_that_ends_the_check_is_never_ok(tmp_path, capsys, case):
    at_import, in_backprop, words = ENDINGS[case]
    path = network2(tmp_path, at_import=at_import, in_backprop=in_backprop)
    status, out, err = command(capsys, path)
    assert status == 1, out + err
    assert words in said(out)
    assert "NOT VERIFIED" in out or "check_backprop: NOT OK" in out
    assert "All 4 gradients agree" not in out


@pytest.mark.parametrize("where", ["at_import", "in_backprop"])
def test_an_endless_loop_is_stopped_at_the_timeout(tmp_path, capsys, where):
    path = network2(tmp_path, **{where: "while True:\n    pass"})
    status, out, _ = command(capsys, path, "--timeout", "3")
    assert status == 1
    assert "NOT VERIFIED" in out and "still running after 3 s and was stopped" in out


def test_megabytes_of_prints_are_capped_and_the_verdict_still_comes(tmp_path, capsys):
    path = network2(tmp_path, in_backprop="print('x' * 2_000_000)")
    status, out, _ = command(capsys, path)
    assert status == 0 and "check_backprop: OK" in out
    assert len(out) < verify.OUTPUT_CAP + 5_000
    assert "bytes not shown" in out


def test_waiting_for_input_does_not_hang_the_check(tmp_path, capsys):
    status, _, err = command(capsys, network2(tmp_path, at_import="input('sizes? ')"))
    assert status == 2 and "EOFError" in err


def test_a_backprop_that_updates_its_weights_is_named(tmp_path, capsys):
    update = "for w, nw in zip(self.weights, nabla_w):\n    w -= 0.5 * nw"
    status, out, _ = command(capsys, network2(tmp_path, before_return=update))
    assert status == 1
    assert "backprop changed weights[0], weights[1] in place" in said(out)
    assert "BP1" not in said(out).split("backprop changed")[1]


@pytest.mark.parametrize(
    "at_import, sign",
    [
        ("print 'Epoch complete'", "a print statement, line"),
        ("import cPickle", "import cPickle"),
    ],
)
def test_python2_code_is_recognised_with_the_fix(tmp_path, capsys, at_import, sign):
    status, out, err = command(capsys, network2(tmp_path, at_import=at_import))
    assert status == 2 and out == ""
    assert f"network2.py is Python 2 code ({sign}" in err
    assert "import pickle as cPickle\n    xrange = range" in err
    assert "importlib" not in err and "<frozen" not in err


def test_xrange_in_backprop_is_named_as_python2(tmp_path, capsys):
    source = network2(tmp_path).read_text().replace("in range(2,", "in xrange(2,")
    (tmp_path / "old.py").write_text(source)
    status, out, _ = command(capsys, tmp_path / "old.py")
    assert status == 1 and "xrange is Python 2" in said(out)


def test_an_import_error_names_the_line_without_importlib_frames(tmp_path, capsys):
    status, _, err = command(capsys, network2(tmp_path, at_import="1 / 0"))
    assert status == 2
    assert "ZeroDivisionError: division by zero (network2.py, line" in err
    assert "importlib" not in err and "<frozen" not in err


def test_the_timeout_option_is_checked(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        verify.main([f"{network2(tmp_path)}:Network", "--sizes", "2,2", "--timeout", "-1"])
    assert caught.value.code == 2
    assert "expected a positive number of seconds, got '-1'" in capsys.readouterr().err


# ---------------------------------------------------------------- check_backprop in Python


def _good():
    net = NielsenNetwork([2, 3, 2])
    return net, net.backprop


def _returning(make):
    def backprop_factory(net, good):
        return lambda x, y: make(*good(x, y))

    return backprop_factory


def _raising(exception):
    def backprop_factory(net, good):
        def backprop(x, y):
            raise exception

        return backprop

    return backprop_factory


def _updating(net, good):
    def backprop(x, y):
        nabla_b, nabla_w = good(x, y)
        for w, nw in zip(net.weights, nabla_w):
            w -= 0.1 * nw
        return nabla_b, nabla_w

    return backprop


HOSTILE = {
    "sys.exit(0)": (_raising(SystemExit(0)), "backprop ended with sys.exit(0)"),
    "KeyboardInterrupt": (_raising(KeyboardInterrupt()), "ended with KeyboardInterrupt"),
    "returns None": (_returning(lambda b, w: None), "got NoneType"),
    "returns strings": (_returning(lambda b, w: (["a", "b"], w)), "not an array of real"),
    "returns Nones": (_returning(lambda b, w: ([None, None], w)), "not an array of real"),
    "complex gradients": (
        _returning(lambda b, w: ([v + 1e-30j for v in b], w)),
        "not an array of real",
    ),
    "a generator": (_returning(lambda b, w: ((v for v in b), w)), "got generator"),
    "a dict": (_returning(lambda b, w: (dict(enumerate(b)), w)), "got dict"),
    "one layer short": (_returning(lambda b, w: (b[:1], w)), "a list of 2 arrays"),
    "(nabla_w, nabla_b)": (_returning(lambda b, w: (w, b)), "returned (nabla_w, nabla_b)"),
    "NaN": (_returning(lambda b, w: ([v * np.nan for v in b], w)), "NaN or inf"),
    "updates weights in place": (_updating, "backprop changed weights[0], weights[1] in place"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_check_backprop_never_says_ok_for_code_that_did_not_compute_gradients(case):
    make, words = HOSTILE[case]
    net, good = _good()
    weights = [w.copy() for w in net.weights]
    result = nn.check_backprop(make(net, good), net.weights, net.biases, *examples([2, 3, 2]))
    assert not result.ok
    assert words in said(result)
    assert all(np.array_equal(w, v) for w, v in zip(net.weights, weights))  # put back


def test_check_backprop_copies_gradients_a_backprop_reuses_from_call_to_call():
    net, good = _good()
    buffers = []

    def reusing(x, y):
        nabla_b, nabla_w = good(x, y)
        if not buffers:
            buffers.extend([nabla_b, nabla_w])
        for kept, new in zip(buffers[0] + buffers[1], nabla_b + nabla_w):
            kept[...] = new
        return buffers[0], buffers[1]

    result = nn.check_backprop(reusing, net.weights, net.biases, *examples([2, 3, 2]))
    assert result.ok, str(result)  # the right gradient each call, though in the same arrays


def test_check_backprop_accepts_a_correct_backprop_after_a_hostile_one():
    net, good = _good()
    nn.check_backprop(_updating(net, good), net.weights, net.biases, *examples([2, 3, 2]))
    assert nn.check_backprop(good, net.weights, net.biases, *examples([2, 3, 2])).ok
