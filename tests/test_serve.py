"""The draw-a-digit page: its JavaScript against the Python model and preprocessing, the
server, and the page itself in headless Chromium (driven by Selenium through Debian's
chromedriver).

The JavaScript runs twice: in node, on digit.js's functions (the page without its DOM), and in
the browser, where the page's own input and probabilities are read back and checked against
Python.
"""

import base64
import http.client
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest

import nn
from nn.data import load_sample
from nn.serve import main, train_sample_model
from nn.web.preprocess import preprocess
from nn.web.server import PageServer, model_json

ROOT = Path(__file__).resolve().parents[1]
DIGIT_JS = ROOT / "nn" / "web" / "static" / "digit.js"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SCREENSHOT = ROOT / "docs" / "draw-digit.png"
SETUP_HINT = "run `make setup` (it installs Debian's chromium, chromium-driver and nodejs)"


def run_digit_js(body: str, payload):
    """Run body, a JavaScript function body that sees `digit` (digit.js's exports) and
    `payload`, in node; its JSON-able return value."""
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"node is missing: {SETUP_HINT}")
    script = (
        f"const digit = require({json.dumps(str(DIGIT_JS))});"
        "const payload = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        f"const result = (() => {{ {body} }})();"
        "process.stdout.write(JSON.stringify(result));"
    )
    completed = subprocess.run(
        [node, "-e", script], input=json.dumps(payload), capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def probabilities(output: np.ndarray, output_activation: str | None) -> np.ndarray:
    """What the bars show: softmax outputs as they are, sigmoids over their sum, else softmax."""
    if output_activation == "softmax":
        return output
    if output_activation == "sigmoid":
        return output / output.sum(axis=-1, keepdims=True)
    exps = np.exp(output - output.max(axis=-1, keepdims=True))
    return exps / exps.sum(axis=-1, keepdims=True)


def stroke_image(points, height=280, width=280, radius=10.0) -> np.ndarray:
    """An antialiased pen stroke through points (x, y), ink in [0, 1], as a canvas draws it."""
    ys, xs = np.mgrid[:height, :width] + 0.5
    distance = np.full((height, width), np.inf)
    for (x0, y0), (x1, y1) in zip(points[:-1], points[1:]):
        direction = np.array([x1 - x0, y1 - y0], dtype=float)
        length_squared = max(direction @ direction, 1e-12)
        t = np.clip(((xs - x0) * direction[0] + (ys - y0) * direction[1]) / length_squared, 0, 1)
        distance = np.minimum(
            distance, np.hypot(xs - x0 - t * direction[0], ys - y0 - t * direction[1])
        )
    return np.clip(radius + 0.5 - distance, 0, 1)


def circle(cx, cy, r, n=40):
    angles = np.linspace(0, 2 * np.pi, n)
    return list(zip(cx + r * np.cos(angles), cy + r * 1.3 * np.sin(angles)))


STROKES = {
    "seven": stroke_image([(60, 50), (220, 50), (120, 250)]),
    "zero": stroke_image(circle(140, 140, 70)),
    "one, tall and thin": stroke_image([(150, 30), (140, 250)], radius=4),
    "dash, wide": stroke_image([(20, 100), (260, 110)]),
    "dot, scaled up": stroke_image([(200, 200), (200, 200)], radius=3),
    "corner of a wide canvas": stroke_image([(5, 5), (5, 120), (130, 120)], 150, 200),
    # Its mass sits so low that centring it would push its top off the field.
    "lollipop, clamped": np.maximum(
        stroke_image([(100, 10), (100, 190)], 200, 220, radius=2),
        stroke_image([(100, 170), (100, 170)], 200, 220, radius=25),
    ),
    "symmetric, exact ties": np.pad(np.ones((40, 40)), ((100, 140), (60, 180))),
    "blank": np.zeros((50, 60)),
}


@pytest.fixture(scope="module")
def sample():
    return load_sample()


def test_preprocess_gives_back_mnist_digits(sample):
    """MNIST's digits were made this way: preprocessing one again leaves it where it is."""
    images = sample.test[0].reshape(-1, 28, 28).astype(np.float64)
    for image in images:
        np.testing.assert_allclose(preprocess(image), image / image.max(), atol=1e-12)


def test_preprocess_undoes_scale_and_position(sample):
    image = sample.test[0][0].reshape(28, 28).astype(np.float64)
    drawn = np.pad(np.kron(image, np.ones((9, 9))), ((3, 40), (90, 5)))  # big, off-centre
    np.testing.assert_allclose(preprocess(drawn), image / image.max(), atol=1e-12)


@pytest.mark.parametrize("name", [name for name in STROKES if name != "blank"])
def test_preprocess_fits_20x20_box_centred_by_mass(name):
    digit = preprocess(STROKES[name])
    rows, columns = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    assert max(rows[-1] - rows[0], columns[-1] - columns[0]) + 1 == 20
    assert digit.max() == pytest.approx(1) and digit.min() >= 0
    if "clamped" in name:  # held at the top edge, so that no ink falls off the field
        assert rows[0] == 0
    else:
        centre = [(np.arange(28) * digit.sum(axis=axis)).sum() / digit.sum() for axis in (1, 0)]
        np.testing.assert_array_less(np.abs(np.array(centre) - 14), 0.5 + 1e-9)


def test_preprocess_javascript_matches_python(sample):
    images = dict(STROKES)
    for index in range(3):  # real digits, drawn large and off-centre on a canvas
        digit = sample.test[0][index].reshape(28, 28).astype(np.float64)
        images[f"mnist {index}"] = np.pad(np.kron(digit, np.ones((9, 9))), ((5, 23), (30, 0)))
    calls = [[image.ravel().tolist(), image.shape[1], image.shape[0]] for image in images.values()]
    results = run_digit_js("return payload.map((args) => digit.preprocess(...args));", calls)
    for name, image, result in zip(images, images.values(), results):
        np.testing.assert_allclose(
            np.reshape(result, (28, 28)), preprocess(image), rtol=0, atol=1e-12, err_msg=name
        )


NETWORKS = [
    ([784, 30, 10], "sigmoid", "sigmoid"),
    ([784, 20, 16, 10], "tanh", "softmax"),
    ([784, 64, 10], "relu", None),
    ([784, 10], "sigmoid", "softmax"),
]
FORWARD = """
    const model = digit.prepareModel(payload.model);
    return payload.inputs.map((x) => {
        const activations = digit.forward(model, x);
        const output = activations[activations.length - 1];
        return [activations, digit.classProbabilities(output, model.outputActivation).values];
    });
"""


@pytest.mark.parametrize("sizes, activation, output_activation", NETWORKS)
def test_forward_javascript_matches_python(sample, tmp_path, sizes, activation, output_activation):
    model = nn.MLP(sizes, activation, output_activation, init="large", seed=len(sizes))
    drawn = [preprocess(image).ravel() for image in STROKES.values()]
    x = np.vstack([sample.test[0][:20].astype(np.float64), *drawn])
    output = model(x).data
    hidden = [a.data for a in model.activations[1:-1]]
    nn.save(model, tmp_path / "model.json")
    saved = json.loads((tmp_path / "model.json").read_text())

    results = run_digit_js(FORWARD, {"model": saved, "inputs": x.tolist()})
    for i, (activations, shown) in enumerate(results):
        np.testing.assert_allclose(activations[-1], output[i], rtol=0, atol=1e-6)
        for layer, values in zip(hidden, activations[1:-1]):
            np.testing.assert_allclose(values, layer[i], rtol=0, atol=1e-6)
        np.testing.assert_allclose(shown, probabilities(output[i], output_activation), atol=1e-6)
        assert sum(shown) == pytest.approx(1, abs=1e-9)


def test_forward_javascript_reads_nielsens_files_as_sigmoid(sample, tmp_path):
    """network2.py's files have no activation keys: sigmoid everywhere, as nn.load reads them."""
    nn.save(nn.MLP([784, 30, 10], seed=1), tmp_path / "model.json", cost="CrossEntropyCost")
    saved = json.loads((tmp_path / "model.json").read_text())
    del saved["activation"], saved["output_activation"]
    (tmp_path / "model.json").write_text(json.dumps(saved))
    x = sample.test[0][:5].astype(np.float64)
    output = nn.load(tmp_path / "model.json")(x).data

    results = run_digit_js(FORWARD, {"model": saved, "inputs": x.tolist()})
    for i, (activations, shown) in enumerate(results):
        np.testing.assert_allclose(activations[-1], output[i], rtol=0, atol=1e-6)
        np.testing.assert_allclose(shown, probabilities(output[i], "sigmoid"), atol=1e-6)


@pytest.fixture(scope="module")
def trained():
    """The network `python -m nn.serve` trains when it is given none, and its description."""
    return train_sample_model(progress=False)


@pytest.fixture(scope="module")
def server(trained):
    page_server = PageServer(("127.0.0.1", 0), model_json(*trained), quiet=True)
    thread = threading.Thread(target=page_server.serve_forever, daemon=True)
    thread.start()
    yield page_server
    page_server.shutdown()
    page_server.server_close()


def fetch(server: PageServer, path: str, method: str = "GET") -> tuple[int, dict, bytes]:
    """Send path to the server exactly as written: http.client does not normalise ../."""
    connection = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    "path, content_type",
    [
        ("/", "text/html"),
        ("/app.js", "text/javascript"),
        ("/digit.js", "text/javascript"),
        ("/style.css", "text/css"),
    ],
)
def test_server_serves_the_page(server, path, content_type):
    status, headers, body = fetch(server, path)
    assert status == 200 and headers["Content-Type"].startswith(content_type)
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert body == (ROOT / "nn" / "web" / "static" / (path.strip("/") or "index.html")).read_bytes()
    assert fetch(server, path, method="HEAD")[:2] == (status, headers)


def test_server_serves_the_model_as_nn_load_reads_it(server, trained, tmp_path):
    status, headers, body = fetch(server, "/model.json?reload=1")
    assert status == 200 and headers["Content-Type"] == "application/json"
    (tmp_path / "model.json").write_bytes(body)
    model = nn.load(tmp_path / "model.json")
    for ours, theirs in zip(model.parameters(), trained[0].parameters()):
        np.testing.assert_array_equal(ours.data, theirs.data)
    assert json.loads(body)["description"] == trained[1]


@pytest.mark.parametrize(
    "path",
    [
        "/../setup.cfg",
        "/../../setup.cfg",
        "/%2e%2e/setup.cfg",
        "/%2E%2E/%2e%2e/setup.cfg",
        "/..%2fserve.py",
        "/%2e%2e%2fserve.py",
        "/app.js/../../serve.py",
        "/../../../../../../etc/passwd",
        "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "/web/app.js%00.html",
        "/no-such-file.js",
    ],
)
def test_server_refuses_paths_outside_its_folder(server, path):
    status, _, body = fetch(server, path)
    assert status in (400, 403, 404)
    assert b"[metadata]" not in body and b"root:" not in body and b"import" not in body


def test_server_answers_403_for_a_decoded_parent(server):
    """The %2e%2e is decoded before the path is resolved, so it is refused as outside."""
    assert fetch(server, "/%2e%2e/setup.cfg")[0] == 403
    assert fetch(server, "/../setup.cfg")[0] == 403


def write_model(tmp_path: Path, change) -> Path:
    path = tmp_path / "model.json"
    nn.save(nn.MLP([784, 5, 10], seed=0), path)
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))
    return path


MALFORMED = {
    "truncated": (lambda path: path.write_text(path.read_text()[:500]), "not valid JSON"),
    "missing": (lambda path: path.unlink(), "No such file"),
    "wrong shape": (
        lambda path: write_model(path.parent, lambda d: d["weights"][0].pop()),
        "layer 2 weights (weights[0]) have shape (4, 784)",
    ),
    "no biases": (lambda path: write_model(path.parent, lambda d: d.pop("biases")), "missing"),
    "unknown activation": (
        lambda path: write_model(path.parent, lambda d: d.update(activation="swish")),
        "unknown activation 'swish'",
    ),
    "not 28x28 inputs": (
        lambda path: nn.save(nn.MLP([100, 10], seed=0), path),
        "takes 100 inputs",
    ),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_serve_refuses_a_malformed_model_at_startup(tmp_path, capsys, name):
    spoil, message = MALFORMED[name]
    path = write_model(tmp_path, lambda document: None)
    spoil(path)
    with pytest.raises(SystemExit) as stop:
        main(["--model", str(path), "--port", "0", "--quiet"])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert f"cannot serve {path}" in error and message in error


def test_serve_command_exits_2_on_a_malformed_model(tmp_path):
    path = tmp_path / "model.json"
    path.write_text('{"sizes": [784, 10], "weights": [[[0.5]]], "biases": [[[0]]]}')
    completed = subprocess.run(
        [sys.executable, "-m", "nn.serve", "--model", str(path), "--port", "0"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert completed.returncode == 2
    assert "error: cannot serve" in completed.stderr and "layer 2 weights" in completed.stderr
    assert "Serving" not in completed.stdout


def test_serve_command_prints_its_address_and_serves(tmp_path):
    path = tmp_path / "model.json"
    nn.save(nn.MLP([784, 10, 10], seed=0), path)
    process = subprocess.Popen(
        [sys.executable, "-m", "nn.serve", "--model", str(path), "--port", "0", "--quiet"],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        line = process.stdout.readline()
        assert line.startswith("Serving the draw-a-digit page at http://127.0.0.1:"), line
        host, port = line.split("http://")[1].split("/")[0].split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("GET", "/model.json")
        assert json.loads(connection.getresponse().read())["sizes"] == [784, 10, 10]
        connection.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through Selenium. Missing pieces fail the test: CI must run it."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        pytest.fail(f"{' and '.join(missing)} missing: {SETUP_HINT}")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is missing: run `make setup` (pip install -e '.[test]')")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    # Without these, Chromium keeps trying to reach Google's servers, which a closed network
    # answers slowly or not at all.
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--window-size=1000,900", "--force-device-scale-factor=1",
    ):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit chromedriver: Selenium would otherwise try to download one.
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def open_page(browser, server):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server.url)
    WebDriverWait(browser, 15).until(
        lambda driver: len(driver.find_elements("css selector", "#bars li")) == 10
    )


def draw(browser, strokes, pointer: str = "mouse"):
    """Draw strokes, lists of (x, y) in canvas pixels (280 x 280), with a mouse or a finger."""
    from selenium.webdriver.common.actions import interaction
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    pad = browser.find_element("id", "pad")
    scale = pad.rect["width"] / 280
    kind = interaction.POINTER_MOUSE if pointer == "mouse" else interaction.POINTER_TOUCH
    actions = ActionBuilder(browser, mouse=PointerInput(kind, pointer), duration=10)
    for stroke in strokes:
        for index, (x, y) in enumerate(stroke):
            # Offsets from the canvas's centre, as WebDriver measures them.
            actions.pointer_action.move_to(pad, int((x - 140) * scale), int((y - 140) * scale))
            if index == 0:
                actions.pointer_action.pointer_down()
        actions.pointer_action.pointer_up()
    actions.perform()


def page_state(browser) -> dict:
    """The page's input, probabilities and shown figures, and the ink on its canvas."""
    return browser.execute_script(
        """
        const pad = document.getElementById("pad");
        const pixels = pad.getContext("2d").getImageData(0, 0, pad.width, pad.height).data;
        const ink = [];
        for (let i = 3; i < pixels.length; i += 4) ink.push(pixels[i]);
        const strip = document.querySelector("#hidden canvas");
        const heat = strip.getContext("2d").getImageData(0, 0, strip.width, strip.height).data;
        return {
            input: window.digitPage.input,
            probabilities: window.digitPage.probabilities,
            ink: ink,
            size: [pad.height, pad.width],
            digit: document.getElementById("digit").textContent,
            confidence: document.getElementById("confidence").textContent,
            values: [...document.querySelectorAll("#bars .value")].map((e) => e.textContent),
            widths: [...document.querySelectorAll("#bars .fill")].map((e) => e.style.width),
            best: [...document.querySelectorAll("#bars li")].findIndex(
                (e) => e.classList.contains("best")),
            heatAlpha: [...heat].filter((v, i) => i % 4 === 3),
            note: document.getElementById("note").textContent,
            model: document.getElementById("model").textContent,
            captions: [...document.querySelectorAll("#hidden figcaption > span:first-child")].map(
                (e) => e.textContent),
        };
        """
    )


def wait_for_digit(browser):
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 10).until(
        lambda driver: driver.find_element("id", "digit").text.isdigit()
    )


SEVEN = [[(70, 60), (110, 58), (160, 56), (210, 55), (195, 95), (175, 140), (155, 190), (140, 235)]]


def test_page_reads_a_mouse_drawn_digit(browser, server, trained, tmp_path):
    """Draw a 7 in Chromium: a prediction and bars appear, and every figure the page shows
    is the one Python computes from the page's own canvas."""
    open_page(browser, server)
    draw(browser, SEVEN)
    wait_for_digit(browser)
    state = page_state(browser)

    ink = np.reshape(state["ink"], state["size"]) / 255
    assert ink.max() == 1, "the stroke should reach the canvas"
    np.testing.assert_allclose(np.reshape(state["input"], (28, 28)), preprocess(ink), atol=1e-9)
    model = trained[0]
    output = model(np.reshape(state["input"], (1, 784))).data[0]
    expected = probabilities(output, model.output_activation)
    np.testing.assert_allclose(state["probabilities"], expected, rtol=0, atol=1e-6)

    best = int(np.argmax(expected))
    assert state["digit"] == str(best) and state["best"] == best
    assert state["confidence"] == f"{100 * expected[best]:.1f}% sure"
    assert state["values"] == [f"{100 * p:.1f}%" for p in expected]
    widths = [float(width.rstrip("%")) for width in state["widths"]]  # "0.00%" comes back "0%"
    np.testing.assert_allclose(widths, 100 * expected, atol=0.005 + 1e-9)
    assert "divided by their sum" in state["note"] and "[784, 100, 10]" in state["model"]
    assert min(state["heatAlpha"]) == 255, "every hidden neuron should have a colour"
    # Nielsen's numbering, as draw_network and nn.verify: the input is layer 1.
    assert state["captions"] == ["Layer 2: 100 sigmoid neurons"]
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors

    screenshot = base64.b64decode(browser.get_screenshot_as_base64())
    assert screenshot.startswith(b"\x89PNG")
    (tmp_path / "draw-digit.png").write_bytes(screenshot)
    if not SCREENSHOT.exists():  # the README's picture; delete it to take a new one
        SCREENSHOT.parent.mkdir(exist_ok=True)
        SCREENSHOT.write_bytes(screenshot)


def test_page_clear_button_empties_the_drawing(browser, server):
    open_page(browser, server)
    draw(browser, SEVEN)
    wait_for_digit(browser)
    browser.find_element("id", "clear").click()
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 10).until(lambda driver: driver.find_element("id", "digit").text == "?")
    state = page_state(browser)
    assert max(state["ink"]) == 0 and max(state["input"]) == 0
    assert state["values"] == [""] * 10 and state["widths"] == ["0%"] * 10


def test_page_reads_a_finger_drawn_digit(browser, server):
    """Touch input arrives as pointer events too."""
    open_page(browser, server)
    draw(browser, [[(140, 40), (140, 140), (140, 240)]], pointer="touch")
    wait_for_digit(browser)
    state = page_state(browser)
    assert max(state["input"]) == 1 and sum(state["probabilities"]) == pytest.approx(1)
