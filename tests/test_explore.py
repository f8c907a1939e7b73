"""autodiff.explore and nn.explore_model: the page stepping through backprop. The numbers and
the panel's text in Python, then the page itself in headless Chromium (test_serve's harness),
opened from disk as a saved file."""

import base64
import html
import json
import re
from pathlib import Path

import numpy as np
import pytest

# The browser harness of the draw-a-digit tests (the fixture is used by name below).
from test_serve import browser  # noqa: F401

import nn
from autodiff import Op, Tensor, draw_graph, explore, grad, topological_order
from autodiff.drawing.labels import _input_names
from autodiff.drawing.rules import FUNCTIONS, RULES, input_name, rule_of, tokens

SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "explore-backprop.png"

# ---------------------------------------------------------------- graphs


def neuron():
    """micrograd's neuron: o = tanh(x1 w1 + x2 w2 + b), every value a leaf with a gradient."""
    values = dict(x1=2.0, x2=0.0, w1=-3.0, w2=1.0, b=6.8813735870195432)
    leaves = {name: Tensor(v, requires_grad=True, name=name) for name, v in values.items()}
    n = leaves["x1"] * leaves["w1"] + leaves["x2"] * leaves["w2"] + leaves["b"]
    return n.tanh()


def broadcast_and_reuse():
    """A bias broadcast over a batch, and h used by two ops, three times (h * h and h.sum())."""
    rng = np.random.default_rng(0)
    x = Tensor(rng.normal(size=(4, 3)), name="x")
    w = Tensor(rng.normal(size=(3, 2)), requires_grad=True, name="w")
    b = Tensor(rng.normal(size=(2,)), requires_grad=True, name="b")
    h = (x @ w + b).tanh()
    h.name = "h"
    return ((h * h).sum() + h.sum()) * 0.5, dict(x=x, w=w, b=b, h=h)


def page_data(page) -> dict:
    saved = re.search(
        r'<script type="application/json" id="explore-data">(.*?)</script>', page.html
    )
    return json.loads(saved[1].replace("<\\/", "</"))


def names_of(root) -> tuple[list, dict]:
    order = topological_order([root])
    names = [t.name or f"t{i}" for i, t in enumerate(order)]
    return order, dict(zip(names, order))


def engine_grads(root) -> dict:
    """autograd's gradient of root for every tensor of its graph that requires one."""
    order, by_name = names_of(root)
    wanted = {name: t for name, t in by_name.items() if t.requires_grad}
    return dict(zip(wanted, grad(root, list(wanted.values()))))


# ---------------------------------------------------------------- the rules


def all_op_classes() -> set:
    found, todo = set(), list(Op.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls not in found:
            found.add(cls)
            todo += cls.__subclasses__()
    # Test doubles defined in other test modules are not the engine's or nn's ops.
    return {c for c in found if c.__module__.split(".")[0] in ("autodiff", "nn")}


def evaluate(formula: str, values: dict):
    """The value of a rule's arithmetic formula (^ is a power) with these names and numpy's
    functions."""
    parts = tokens(formula)
    if parts is None:
        raise ValueError(f"{formula!r} is not an arithmetic formula")
    python = " ".join("**" if p == "^" else p for p in parts)
    return eval(python, {"__builtins__": {}}, {**FUNCTIONS, **values})  # noqa: S307


def test_every_op_of_autodiff_and_nn_has_a_rule_per_input():
    classes = all_op_classes()
    assert len(classes) > 60  # autodiff's ops and nn's (nn is imported above)
    for cls in classes:
        if cls.forward is Op.forward:
            continue  # an abstract base (_Reduction, _Flat) whose subclasses have forwards
        rule = rule_of(cls)
        assert rule is not None, f"{cls.__name__} has no formula in autodiff/drawing/rules.py"
        fixed, star = _input_names(cls)
        # One formula per input; ops of *args (concatenate, stack) share one for every x_i.
        assert len(rule.grads) == (1 if star != "input" else len(fixed)), cls


FACTORIES = {
    "PowConst": lambda cls: cls(2.5),
    "Round": lambda cls: cls(0),
    "Clip": lambda cls: cls(0.0, 1.0),
    "LogSumExp": lambda cls: cls(None, False),
}


@pytest.mark.parametrize("x, y", [(0.7, 1.3), (1.6, 0.4)])
def test_arithmetic_formulas_give_what_their_op_computes(x, y):
    """Every formula made of numbers, names and operators is evaluated with the op's own
    arrays and must give the op's forward value and backward gradients."""
    checked = set()
    for cls, rule in RULES.items():
        if cls.__module__.split(".")[0] != "autodiff":
            continue  # nn's formulas name the batch size n, which no op keeps
        if not any(tokens(f) is not None for f in (rule.forward,) + rule.grads):
            continue
        op = FACTORIES.get(cls.__name__, lambda c: c())(cls)
        arity = len([p for p in range(2) if input_name(cls, p) in ("x", "y")])
        inputs = [np.array(x), np.array(y)][:arity]
        op.needs_input_grad = (True,) * arity
        z = np.asarray(op.forward(*inputs))
        values = {k: v for k, v in vars(op).items() if isinstance(v, (int, float))}
        values |= {input_name(cls, p): a for p, a in enumerate(inputs)} | {"z": z}
        if tokens(rule.forward) is not None:
            assert np.isclose(evaluate(rule.forward, values), z), (cls, rule.forward)
        grad_out = np.array(0.37)
        for formula, expected in zip(rule.grads, op.backward(grad_out, *inputs, z)):
            if tokens(formula) is not None:
                got = evaluate(formula, values | {"grad_out": grad_out})
                assert np.isclose(got, expected), (cls, formula, got, expected)
        checked.add(cls.__name__)
    assert {"Tanh", "Sigmoid", "Mul", "Div", "Pow", "Exp", "Log", "Relu", "PowConst"} <= checked


# ---------------------------------------------------------------- the numbers and the panel


def test_explore_gives_the_engines_gradients_and_leaves_grad_alone():
    root, tensors = broadcast_and_reuse()
    tensors["w"].grad = np.full((3, 2), 5.0)  # from an earlier backward: must stay
    data = page_data(explore(root))
    expected = engine_grads(root)
    order, by_name = names_of(root)
    shown = {t["name"]: t for t in data["tensors"]}
    assert set(shown) == set(by_name)
    for name, tensor in by_name.items():
        np.testing.assert_allclose(shown[name]["value"], tensor.data, rtol=0, atol=1e-12)
        if name in expected:
            np.testing.assert_allclose(shown[name]["grad"], expected[name].data, atol=1e-12)
        else:
            assert shown[name]["grad"] is None and shown[name]["backward"] is None
    assert np.all(tensors["w"].grad == 5.0) and tensors["b"].grad is None and root.grad is None


def panel(data, name: str, phase: str = "backward") -> str:
    tensor = next(t for t in data["tensors"] if t["name"] == name)
    return "\n".join(text for _, text in tensor[phase])


def test_panel_shows_each_rule_with_its_numbers():
    data = page_data(explore(neuron()))
    assert "grad_x = grad_out * (1 - z^2) = 1 * (1 - 0.7071^2) = 0.5" in panel(data, "t9")
    assert "z = tanh(x) = tanh(0.8814) = 0.7071" in panel(data, "t9", "forward")
    assert "grad_x = grad_out * y = 0.5 * (-3) = -1.5" in panel(data, "t5")
    assert "from t5 = Mul(...) as its x:" in panel(data, "x1")


def test_panel_shows_broadcast_sums_and_both_contributions():
    root, tensors = broadcast_and_reuse()
    data = page_data(explore(root))
    h = panel(data, "h")
    senders = re.findall(r"from (t\d+) = (\w+)\(\.\.\.\) as its (\w+):", h)
    assert sorted(s[1:] for s in senders) == [("Mul", "x"), ("Mul", "y"), ("Sum", "x")]
    assert "3 contributions add up:" in h
    # The bias's gradient: the rule's (4, 2), summed over the batch axis to (2,).
    order, _ = names_of(root)
    add = next(i for i, t in enumerate(order) if any(u is tensors["b"] for u in t.inputs))
    assert "broadcast: summed over axes (0,), (4, 2) -> (2,)" in panel(data, f"t{add}")


def test_explore_refuses_what_draw_graph_refuses_with_its_message():
    x = Tensor(np.ones((20, 20)), requires_grad=True)
    root = (x * 2).sum()
    for expand, max_nodes in ((False, 3), (True, 150)):
        with pytest.raises(ValueError) as drawn:
            draw_graph(root, expand=expand, max_nodes=max_nodes)
        with pytest.raises(ValueError) as explored:
            explore(root, expand=expand, max_nodes=max_nodes)
        assert str(explored.value) == str(drawn.value)


@pytest.mark.parametrize(
    "output, error, message",
    [
        (np.ones(3), TypeError, "explore steps through the graph of a Tensor, got ndarray"),
        (Tensor(1.0), RuntimeError, "the output does not require a gradient"),
        (Tensor(np.ones(3), requires_grad=True) * 2, RuntimeError, "shape (3,) needs"),
    ],
)
def test_explore_refuses_what_it_cannot_step_through(output, error, message):
    with pytest.raises(error, match=re.escape(message)):
        explore(output)


def test_in_jupyter_it_is_an_iframe_holding_the_whole_page(tmp_path):
    page = explore(neuron())
    frame = page._repr_html_()
    assert html.unescape(re.search(r'srcdoc="([^"]*)"', frame)[1]) == page.html
    assert page.save(tmp_path / "page.html").read_text() == page.html
    assert not re.search(r'\b(src|href)="', page.html)  # nothing to fetch
    assert "Content-Security-Policy" in page.html and page.html.count("</script>") == 2


def nielsen_232():
    model = nn.MLP([2, 3, 2], seed=1)
    return model, np.array([[0.5, -1.0]]), np.array([[1.0, 0.0]])


def test_explore_model_names_bp1_to_bp4_at_nielsens_layer_boundaries():
    model, x, y = nielsen_232()
    data = page_data(nn.explore_model(model, x, y, loss=nn.mse_loss))
    notes = {
        t["name"]: [text for kind, text in t["backward"] if kind == "note"]
        for t in data["tensors"]
        if t["backward"]
    }
    assert notes["zs[1]"][0].startswith("BP1: δ³ = ∇ₐC ⊙ σ'(z³)")
    assert notes["zs[0]"][0].startswith("BP2: δ² = ((w³)ᵀ δ³) ⊙ σ'(z²)")
    assert notes["layers.1.bias"][0].startswith("BP3: ∂C/∂b³ = δ³")
    assert notes["layers.0.weight"][0].startswith("BP4: ∂C/∂w²ⱼₖ = a¹ₖ δ²ⱼ")
    assert not notes["loss"] and not notes["activations[1]"]
    # Layer by layer: each layer's weight and bias right after its z.
    order = [data["tensors"][i]["name"] for i in data["backward"]]
    assert order == [
        "loss", "activations[2]", "zs[1]", "layers.1.weight", "layers.1.bias",
        "activations[1]", "zs[0]", "layers.0.weight", "layers.0.bias",
    ]  # fmt: skip


# ---------------------------------------------------------------- the page in Chromium


def open_page(browser, page, tmp_path, name="explore.html"):  # noqa: F811
    """Save page and open the file from disk, as a reader opens a saved page."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(page.save(tmp_path / name).resolve().as_uri())
    WebDriverWait(browser, 10).until(lambda driver: phase(driver) == "idle")


def phase(browser) -> str:  # noqa: F811
    return browser.execute_script("return document.documentElement.dataset.phase")


def nodes(browser) -> list:  # noqa: F811
    """[name, value, grad] of every tensor node, the numbers parsed from their JSON."""
    found = browser.execute_script(
        """return [...document.querySelectorAll("[data-node]")].map((e) => [
            e.dataset.node, e.getAttribute("data-value"), e.getAttribute("data-grad")]);"""
    )
    return [
        [n, v if v is None else json.loads(v), g if g is None else json.loads(g)]
        for n, v, g in found
    ]


def click(browser, button: str, times: int = 1):  # noqa: F811
    for _ in range(times):
        browser.find_element("id", button).click()


def panel_text(browser) -> str:  # noqa: F811
    return browser.find_element("id", "panel").text


def severe(browser) -> list:  # noqa: F811
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def test_neuron_backward_steps_reveal_autograds_gradients_in_reverse_order(browser, tmp_path):  # noqa: F811
    root = neuron()
    order, by_name = names_of(root)
    expected = engine_grads(root)
    open_page(browser, explore(root), tmp_path)
    assert all(v is None and g is None for _, v, g in nodes(browser))
    click(browser, "forward")
    assert phase(browser) == "forward" and [n for n, v, _ in nodes(browser) if v is not None] == [
        "x1"
    ]
    click(browser, "backward")  # all values, and the output's gradient: 1
    assert phase(browser) == "backward"
    revealed = []
    for k in range(1, len(expected) + 1):
        shown = {n: g for n, _, g in nodes(browser) if g is not None}
        assert len(shown) == k  # exactly k gradients after k steps
        (new,) = set(shown) - set(revealed)
        revealed.append(new)
        # Reverse topological order: every tensor computed from this one already has its
        # gradient, and the gradient shown is autograd's, final.
        users = [n for n, t in by_name.items() if any(u is by_name[new] for u in t.inputs)]
        assert set(users) <= set(revealed[:-1])
        assert shown[new] == pytest.approx(float(expected[new].data), abs=1e-6)
        if k < len(expected):
            click(browser, "step")
    assert revealed[0] == order[-1].name or revealed[0] == f"t{len(order) - 1}"
    assert phase(browser) == "done" and set(revealed) == set(expected)
    assert all(v is not None for _, v, _ in nodes(browser))
    click(browser, "back")  # Back removes the last gradient only
    assert {n for n, _, g in nodes(browser) if g is not None} == set(revealed[:-1])
    assert phase(browser) == "backward"
    click(browser, "reset")
    assert phase(browser) == "idle" and all(v is None and g is None for _, v, g in nodes(browser))
    assert not severe(browser)


def test_keys_and_play_step_through_to_the_end(browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    root = neuron()
    open_page(browser, explore(root, expand=True), tmp_path)
    body = browser.find_element("tag name", "body")
    body.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
    assert phase(browser) == "forward" and sum(v is not None for _, v, _ in nodes(browser)) == 2
    body.send_keys(Keys.ARROW_LEFT)
    assert sum(v is not None for _, v, _ in nodes(browser)) == 1
    body.send_keys(Keys.ARROW_DOWN)
    assert phase(browser) == "backward" and sum(g is not None for *_, g in nodes(browser)) == 1
    assert "grad_x = grad_out * (1 - z^2) = 1 * (1 - 0.7071^2) = 0.5" in panel_text(browser)
    browser.execute_script('document.getElementById("speed").value = 8')
    body.send_keys(Keys.SPACE)
    WebDriverWait(browser, 10).until(lambda driver: phase(driver) == "done")
    expected = engine_grads(root)
    shown = {n: g for n, _, g in nodes(browser)}
    assert set(shown) == set(expected)  # expand=True: one node per scalar, named as tensors
    for name, g in shown.items():
        assert g == pytest.approx(float(expected[name].data), abs=1e-6)
    assert browser.find_element("id", "play").text == "Play"  # stopped by itself at the end
    assert not severe(browser)


def test_broadcast_and_reuse_in_the_browser(browser, tmp_path):  # noqa: F811
    root, tensors = broadcast_and_reuse()
    expected = engine_grads(root)
    page = explore(root)
    data = page_data(page)
    open_page(browser, page, tmp_path)
    click(browser, "backward")
    texts = []
    while phase(browser) != "done":
        click(browser, "step")
        texts.append(panel_text(browser))
    shown = {n: g for n, _, g in nodes(browser) if g is not None}
    assert set(shown) == set(expected)
    for name, g in shown.items():
        np.testing.assert_allclose(g, expected[name].data, rtol=0, atol=1e-6)
    assert any(
        "3 contributions add up:" in text and "grad_h = sum (4, 2)" in text for text in texts
    )
    assert any("broadcast: summed over axes (0,), (4, 2) -> (2,)" in text for text in texts)
    # The step's highlight: the current tensor's node and op, and the edges into the op.
    current = browser.execute_script(
        """return [...document.querySelectorAll(".current")].map((e) =>
            e.classList.contains("edge") ? "edge" : e.dataset.node || "op");"""
    )
    last = data["tensors"][data["backward"][-1]]["name"]
    assert current == [last]  # a leaf: its node alone, it sends no gradient on
    assert not severe(browser)


def screenshot(browser, tmp_path):  # noqa: F811
    size = browser.get_window_size()
    browser.set_window_size(1400, 860)  # the graph at its natural size beside the panel
    picture = base64.b64decode(browser.get_screenshot_as_base64())
    browser.set_window_size(size["width"], size["height"])
    assert picture.startswith(b"\x89PNG")
    (tmp_path / "explore-backprop.png").write_bytes(picture)
    if not SCREENSHOT.exists():  # the README's picture; delete it to take a new one
        SCREENSHOT.write_bytes(picture)


def test_nielsen_232_network_names_bp1_to_bp4_and_folds_layers(browser, tmp_path):  # noqa: F811
    model, x, y = nielsen_232()
    open_page(browser, nn.explore_model(model, x, y, loss=nn.mse_loss), tmp_path)
    click(browser, "backward")
    seen = {}
    while True:
        current = browser.execute_script(
            'return document.querySelector("[data-node].current")?.dataset.node ?? null'
        )
        seen[current] = panel_text(browser)
        if current == "zs[1]":
            screenshot(browser, tmp_path)
        if phase(browser) == "done":
            break
        click(browser, "step")
    assert "BP1: δ³ = ∇ₐC ⊙ σ'(z³)" in seen["zs[1]"] and "BP2: δ²" in seen["zs[0]"]
    assert "BP3: ∂C/∂b³ = δ³" in seen["layers.1.bias"] and "BP4: ∂C/∂w²" in seen["layers.0.weight"]
    # Its current z in the highlighted edges: Affine sends to the weight and bias.
    assert "Affine sends the gradient on" in seen["zs[1]"]
    # Layers fold into one box each, and open again.
    groups = browser.execute_script(
        'return [...document.querySelectorAll("[data-cluster]")].map((e) => e.dataset.name)'
    )
    assert groups == ["layers.0: layer 2", "layers.1: layer 3"]  # the book's numbers
    click(browser, "fold")
    hidden = browser.execute_script(
        """return [...document.querySelectorAll("[data-node]")].filter((e) =>
            getComputedStyle(e).visibility === "hidden").map((e) => e.dataset.node);"""
    )
    in_layers = {"zs[0]", "activations[1]", "zs[1]", "activations[2]"} | {
        f"layers.{l}.{p}" for l in (0, 1) for p in ("weight", "bias")
    }
    assert set(hidden) == in_layers
    assert len(browser.find_elements("css selector", ".fold.shown")) == 2
    click(browser, "fold")
    assert not browser.find_elements("css selector", ".fold.shown")
    assert not severe(browser)


def test_saved_page_makes_no_request(browser, tmp_path):  # noqa: F811
    root, _ = broadcast_and_reuse()
    open_page(browser, explore(root, expand=False), tmp_path)
    click(browser, "forward")
    click(browser, "play")
    from selenium.webdriver.support.ui import WebDriverWait

    browser.execute_script('document.getElementById("speed").value = 8')
    WebDriverWait(browser, 20).until(lambda driver: phase(driver) == "done")
    # Every resource the page loaded after the document itself: none.
    assert browser.execute_script('return performance.getEntriesByType("resource").length') == 0
    assert not severe(browser)
    # And none could leave: the page's Content-Security-Policy refuses a request made now.
    browser.execute_script('new Image().src = "http://127.0.0.1:9/probe.png"')
    WebDriverWait(browser, 5).until(lambda driver: any(
        "Content Security Policy" in e["message"] and "probe.png" in e["message"]
        for e in severe(driver)
    ))  # fmt: skip


def test_explore_model_groups_any_model_by_its_parameter_names():
    model = nn.Sequential(nn.Linear(3, 4, seed=0), nn.ReLU(), nn.Linear(4, 2, seed=1))
    x, labels = np.random.default_rng(0).normal(size=(5, 3)), np.array([0, 1, 1, 0, 1])
    page = nn.explore_model(model, x, labels, loss=nn.cross_entropy)
    clusters = re.findall(r'data-cluster="\d+" data-name="([^"]*)"', page.html)
    assert clusters == ["layers.0", "layers.2"]
    data = page_data(page)
    assert not any(kind == "note" for t in data["tensors"] for kind, _ in t["backward"] or [])
    loss = nn.cross_entropy(model(x), labels)
    for name, parameter in model.named_parameters():
        shown = next(t["grad"] for t in data["tensors"] if t["name"] == name)
        np.testing.assert_allclose(shown, grad(loss, parameter).data, rtol=0, atol=1e-12)


def test_names_cannot_break_the_page():
    x = Tensor([1.0, 2.0], requires_grad=True, name="</script><b>{{svg}}")
    page = explore((x * x).sum(), title="a </script> title")
    assert page.html.count("</script>") == 2 and page.html.count("<svg") == 1
    assert page_data(page)["tensors"][0]["name"] == "</script><b>{{svg}}"
