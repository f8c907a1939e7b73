"""Draw computation graphs and networks as SVG files, from a single neuron to an MNIST MLP.

    python examples/graph.py                  # writes out/graphs/*.svg
    python examples/graph.py --out pictures

Needs Graphviz's dot program (apt-get install graphviz, or brew install graphviz).
docs/network-2-1-2.svg is network-2-1-2.svg from this script.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import nn
from autodiff import Tensor, draw_graph
from autodiff.drawing import render


def neuron_expression():
    """A neuron by hand, micrograd style: o = tanh(x1 w1 + x2 w2 + b), cost (o - y)^2."""
    x1, x2 = Tensor(2.0, name="x1"), Tensor(-1.0, name="x2")
    w1 = Tensor(-0.5, requires_grad=True, name="w1")
    w2 = Tensor(1.5, requires_grad=True, name="w2")
    b = Tensor(0.8, requires_grad=True, name="b")
    n = x1 * w1 + x2 * w2 + b
    n.name = "n"
    o = n.tanh()
    o.name = "o"
    cost = (o - 1.0) ** 2
    cost.name = "cost"
    cost.backward()
    return draw_graph(cost)


def tiny_network():
    """Nielsen's [2, 1, 2] sigmoid network on one example, after one backward pass."""
    model = nn.MLP([2, 1, 2], seed=1)
    loss = nn.mse_loss(model(np.array([[0.5, -1.0]])), np.array([[1.0, 0.0]]))
    loss.backward()
    return model, nn.draw_model_graph(model, loss, expand=True)


def mnist_network():
    """Nielsen's [784, 30, 10] network on a batch of 10 MNIST digits, one box per layer."""
    images, labels = nn.data.load_sample().train
    model = nn.MLP([784, 30, 10], seed=0)
    loss = nn.mse_loss(model(images[:10]), nn.data.one_hot(labels[:10]))
    loss.backward()
    return model, nn.draw_model_graph(model, loss)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/graphs"), help="output folder")
    args = parser.parse_args(argv)
    tiny, tiny_graph = tiny_network()
    mnist, mnist_graph = mnist_network()
    pictures = {
        "neuron-expression": neuron_expression(),
        "network-2-1-2": tiny_graph,
        "network-2-1-2-neurons": nn.draw_network(tiny),
        "network-2-1-2-gradients": nn.draw_network(tiny, show="grads"),
        "mnist-784-30-10": mnist_graph,
        "mnist-784-30-10-neurons": nn.draw_network(mnist),
    }
    for name, graph in pictures.items():
        print(render(graph, args.out / f"{name}.svg"))


if __name__ == "__main__":
    main()
