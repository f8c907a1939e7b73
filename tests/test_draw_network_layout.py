"""draw_network laid out by Graphviz itself: no warnings, labels inside their circles, one
size per layer, and neurons top to bottom in the network's order."""

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

import nn

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot")


def layout(graph) -> tuple[dict, str]:
    done = subprocess.run(
        ["dot", "-Tjson0"], input=graph.source, capture_output=True, text=True, check=True
    )
    objects = json.loads(done.stdout)["objects"]
    return {o["name"]: o for o in objects if "pos" in o}, done.stderr


@pytest.mark.parametrize("sizes", [[784, 30, 10], [2, 3, 2], [784, 30, 30, 30, 10], [12, 10, 10]])
@pytest.mark.parametrize("show", ["weights", "grads"])
def test_draw_network_lays_out_without_warnings_in_network_order(sizes, show):
    model = nn.MLP(sizes, seed=0)
    x = np.random.default_rng(0).random((2, sizes[0]))
    nn.mse_loss(model(x), np.eye(sizes[-1])[[0, 1]]).backward()
    nodes, warnings = layout(nn.draw_network(model, show=show))
    assert warnings == ""  # e.g. "node 'n1_3' size too small for label"
    for l, width in enumerate(sizes, start=1):
        names = [n for n in nodes if re.fullmatch(rf"n{l}_(\d+|more)", n)]
        top_down = sorted(names, key=lambda n: -float(nodes[n]["pos"].split(",")[1]))
        drawn = [n.split("_")[1] for n in top_down]
        numbers = [int(j) for j in drawn if j != "more"]
        assert numbers == sorted(numbers) and len(numbers) == min(width, 10) - (width > 10)
        if width > 10:  # the "..." sits between the first and the last neurons
            assert drawn[len(drawn) // 2] == "more" and numbers[-1] == width - 1
        circles = {nodes[n]["width"] for n in names if not n.endswith("more")}
        assert len(circles) == 1, circles
