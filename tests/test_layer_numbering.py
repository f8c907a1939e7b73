"""One layer numbering wherever a learner reads layers: Nielsen's, with the input as layer 1.

For [784, 30, 10] that is layers 2 and 3, with weights w^2 and w^3: in draw_network, in
verify_backprop's report, in check_backprop's table and diagnosis (with network.py's
nabla_b[-l] beside it), in nn.load's errors and in the digit page's error messages (the page's
captions are checked in Chromium by tests/test_serve.py).
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import nn

SIZES = [784, 30, 10]
DIGIT_JS = Path(__file__).resolve().parents[1] / "nn" / "web" / "static" / "digit.js"


def numbers_said(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\blayer (\d+)", text)}


def test_draw_network_titles_layers_1_to_3():
    source = nn.draw_network(nn.MLP(SIZES, seed=0)).source
    assert "layer 1: input, 784 neurons" in source
    assert "layer 2: hidden, 30 neurons" in source and "layer 3: output, 10 neurons" in source


def test_verify_backprop_reports_layers_2_and_3():
    rng = np.random.default_rng(0)
    model = nn.MLP(SIZES, seed=0)
    report = nn.verify_backprop(model, rng.random((2, 784)), rng.random((2, 10)), samples=2)
    assert sorted({row.layer for row in report.rows}) == [2, 3]
    assert [r.shape for r in report.rows if r.quantity == "weight" and r.layer == 2] == [(30, 784)]
    assert numbers_said(str(report)) == {1, 2, 3}  # 1: "the input is layer 1"
    assert "the input is layer 1" in str(report)


def test_check_backprop_says_layers_2_and_3_with_network_py_indices():
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal((n, m)) for m, n in zip(SIZES[:-1], SIZES[1:])]
    biases = [rng.standard_normal((n, 1)) for n in SIZES[1:]]
    x, y = rng.random((2, 784)), rng.random((2, 10))
    right = nn.check_backprop(lambda x, y: _backprop(x, y, weights, biases), weights, biases, x, y)
    assert right.ok and sorted({row.layer for row in right.rows}) == [2, 3]

    def wrong_bp2(x, y):  # sigma(z) for sigma'(z) in BP2: wrong from the hidden layer, 2
        return _backprop(x, y, weights, biases, bp2_derivative=False)

    result = nn.check_backprop(wrong_bp2, weights, biases, x, y)
    text = " ".join(str(result).split())
    assert not result.ok
    assert {row.name: row.layer for row in result.rows} == {
        "nabla_b[1]": 3, "nabla_w[1]": 3, "nabla_b[0]": 2, "nabla_w[0]": 2,
    }  # fmt: skip
    assert numbers_said(text) <= {1, 2, 3} and "layer 0" not in text
    assert "layer 3 ok, layer 2 wrong" in text
    assert "BP2 is wrong, from layer 2 (hidden, w^2 and b^2" in text
    assert "nabla_b[-2] and nabla_w[-2] in network.py" in text


def test_nn_load_names_the_layer_of_a_bad_weight_matrix(tmp_path):
    path = tmp_path / "model.json"
    nn.save(nn.MLP(SIZES, seed=0), path)
    document = json.loads(path.read_text())
    document["weights"][1].pop()
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"layer 3 weights \(weights\[1\]\) have shape \(9, 30\)"):
        nn.load(path)


def test_the_digit_page_names_the_layer_of_a_bad_weight_matrix(tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: run `make test` (it installs nodejs)")
    nn.save(nn.MLP(SIZES, seed=0), tmp_path / "model.json")
    document = json.loads((tmp_path / "model.json").read_text())
    document["weights"][0].pop()
    script = (
        f"const digit = require({json.dumps(str(DIGIT_JS))});"
        "const saved = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "try { digit.prepareModel(saved); } catch (e) { process.stdout.write(e.message); }"
    )
    done = subprocess.run(
        [node, "-e", script], input=json.dumps(document), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "layer 2: weights should be 30 x 784"


def _backprop(x, y, weights, biases, bp2_derivative=True):
    """network.py's backprop for one column example, sigmoid and quadratic cost."""
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    activations, zs = [x], []
    for w, b in zip(weights, biases):
        zs.append(w @ activations[-1] + b)
        activations.append(sigmoid(zs[-1]))
    prime = lambda z: sigmoid(z) * (1 - sigmoid(z))  # noqa: E731
    delta = (activations[-1] - y) * prime(zs[-1])
    nabla_b, nabla_w = [None, None], [None, None]
    nabla_b[-1], nabla_w[-1] = delta, delta @ activations[-2].T
    delta = (weights[-1].T @ delta) * (prime if bp2_derivative else sigmoid)(zs[-2])
    nabla_b[-2], nabla_w[-2] = delta, delta @ activations[-3].T
    return nabla_b, nabla_w
