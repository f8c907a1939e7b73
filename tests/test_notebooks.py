"""The notebooks in examples/notebooks run top to bottom with a real kernel (nbclient,
ipykernel), on the embedded sample; the draw-a-digit page they show works in Chromium."""

import html
import json
import re
from pathlib import Path

import nbclient
import nbformat
import numpy as np
import pytest

# The browser harness of the draw-a-digit tests (the fixture is used by name below).
from test_serve import SEVEN, browser, draw, page_state, probabilities, wait_for_digit  # noqa: F401

import nn

NOTEBOOKS = Path(__file__).resolve().parents[1] / "examples" / "notebooks"


def execute(name: str):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": NOTEBOOKS}}
    )
    client.execute()
    # A reader's notebook opens without warnings (tqdm's about ipywidgets was one).
    stderr = [
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.get("name") == "stderr"
    ]
    assert not any("Warning" in text for text in stderr), stderr
    return notebook


def outputs(notebook, kind: str) -> list:
    """Every output of that MIME type, in cell order."""
    return [
        output["data"][kind]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if kind in output.get("data", {})
    ]


@pytest.fixture(scope="module")
def chapter1():
    return execute("chapter1_network.ipynb")


def test_saved_notebooks_carry_no_outputs():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        assert code and all(not c.outputs and c.execution_count is None for c in code), path


def test_chapter1_trains_plots_and_reads_his_format(chapter1):
    text = "".join(
        output.get("text", "") for cell in chapter1.cells for output in cell.get("outputs", [])
    )
    assert "Epoch 3 (" in text and "(784, 1) (10, 1)" in text
    accuracy = float(re.search(r"([\d.]+)% of 2000 test images right", text)[1])
    assert accuracy > 70  # three epochs on the sample; chance is 10%
    assert len(outputs(chapter1, "image/png")) == 1  # plot_history, shown once


@pytest.fixture(scope="module")
def chapter2():
    return execute("chapter2_backprop.ipynb")


def test_chapter2_verifies_bp1_to_bp4_and_draws_inline(chapter2):
    notebook = chapter2
    text = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
    assert "check_backprop" not in text and "NOT OK" not in text
    for equation in ("BP1", "BP2", "BP3", "BP4"):
        assert f"{equation} holds: True" in text
    svgs = outputs(notebook, "image/svg+xml")
    assert len(svgs) == 3 and all("<svg" in svg for svg in svgs)
    # The backward pass as code (issue 23), printed by autodiff.gradient_source.
    assert "def loss_and_grad(w1, b1, w2, b2, x, y):" in text
    assert "grad_z1 = grad_a1 * (a1 * (1 - a1))  # sigmoid' = s(1 - s)" in text


def test_chapter2_steps_through_backprop_in_chromium(chapter2, browser, tmp_path):  # noqa: F811
    """The explorer cell's output, as Jupyter puts it in its page: stepped to the end."""
    from selenium.webdriver.support.ui import WebDriverWait

    pages = outputs(chapter2, "text/html")
    assert len(pages) == 1 and pages[0].startswith("<iframe srcdoc=")
    host = tmp_path / "notebook-output.html"
    host.write_text(f"<!doctype html><html><body>{pages[0]}</body></html>", encoding="utf-8")
    browser.get(host.as_uri())
    browser.switch_to.frame(browser.find_element("css selector", "iframe"))
    try:
        phase = "return document.documentElement.dataset.phase"
        WebDriverWait(browser, 15).until(lambda d: d.execute_script(phase) == "idle")
        browser.find_element("id", "backward").click()
        notes = []
        while browser.execute_script(phase) != "done":
            browser.find_element("id", "step").click()
            notes += [e.text[:3] for e in browser.find_elements("css selector", "#panel .note")]
        grads = browser.execute_script(
            """return Object.fromEntries([...document.querySelectorAll("[data-grad]")].map(
                (e) => [e.dataset.node, JSON.parse(e.dataset.grad)]));"""
        )
        errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    finally:
        browser.switch_to.default_content()
    assert not errors, errors
    assert notes == ["BP1", "BP4", "BP3", "BP2", "BP4", "BP3"]
    # The notebook's network, rebuilt from its seed: the page's gradients are autograd's.
    small = nn.MLP([2, 3, 2], seed=1)
    nn.mse_loss(small(np.array([[0.5, -1.0]])), np.array([[1.0, 0.0]])).backward()
    for name, parameter in small.named_parameters():
        np.testing.assert_allclose(grads[name], parameter.grad, rtol=0, atol=1e-6)
    np.testing.assert_allclose(grads["zs[0]"], small.zs[0].grad, rtol=0, atol=1e-6)


def test_chapter3_draws_the_overfitting_and_regularization_figures():
    notebook = execute("chapter3_improving.ipynb")
    text = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
    assert "outputs sum to 1.000000" in text
    # Two plot_history figures and nn.figures' overfitting and regularization.
    assert len(outputs(notebook, "image/png")) == 3


def embedded_page(output_html: str) -> tuple[str, dict]:
    """The iframe's document and the network JSON it carries."""
    document = html.unescape(re.search(r'srcdoc="([^"]*)"', output_html)[1])
    saved = re.search(r'<script type="application/json" id="model-json">(.*?)</script>', document)
    return document, json.loads(saved[1].replace("<\\/", "</"))


def test_chapter1_draw_a_digit_page_reads_a_digit_in_chromium(chapter1, browser, tmp_path):  # noqa: F811
    """The notebook's output, as Jupyter puts it in its page, in the real browser."""
    from selenium.webdriver.support.ui import WebDriverWait

    pages = outputs(chapter1, "text/html")
    assert len(pages) == 1 and pages[0].startswith("<iframe srcdoc=")
    _, saved = embedded_page(pages[0])
    host = tmp_path / "notebook-output.html"
    host.write_text(f"<!doctype html><html><body>{pages[0]}</body></html>", encoding="utf-8")
    browser.get(host.as_uri())
    browser.switch_to.frame(browser.find_element("css selector", "iframe"))
    try:
        WebDriverWait(browser, 15).until(
            lambda d: len(d.find_elements("css selector", "#bars li")) == 10
        )
        draw(browser, SEVEN)
        wait_for_digit(browser)
        state = page_state(browser)
        errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    finally:
        browser.switch_to.default_content()
    assert not errors, errors
    assert "[784, 30, 10]" in state["model"]
    # The page's probabilities are the embedded network's, computed here in Python.
    (tmp_path / "model.json").write_text(json.dumps(saved))
    model = nn.load(tmp_path / "model.json")
    output = model(np.reshape(state["input"], (1, 784))).data[0]
    expected = probabilities(output, model.output_activation)
    np.testing.assert_allclose(state["probabilities"], expected, rtol=0, atol=1e-6)
    assert state["digit"] == str(int(np.argmax(expected))) and max(state["input"]) > 0.5


def test_chapter6_trains_network3_and_a_sequential_conv_net():
    notebook = execute("chapter6_convolutions.ipynb")
    text = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
    accuracy = float(re.search(r"Epoch 0: validation accuracy ([\d.]+)%", text)[1])
    assert accuracy > 20  # one epoch on 500 images; chance is 10%
    assert "kernel gradient: (20, 1, 5, 5)" in text
    assert len(outputs(notebook, "image/png")) == 2  # the filters and the feature maps, inline
