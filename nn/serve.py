"""Serve the draw-a-digit page: nn/web/'s static files and one network's JSON, on a local server.

    python -m nn.serve --model model.json     # a network saved by nn.save (or network2.py)
    python -m nn.serve                        # trains a small one on the embedded sample first

The page runs the network itself, in JavaScript (nn/web/digit.js, driven by app.js); this
module only trains or loads it and hands out files. Standard library http.server; nothing is
fetched from elsewhere.
"""

from __future__ import annotations

import argparse
import json
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .data import load_sample
from .losses import binary_cross_entropy
from .module import MLP
from .optim import SGD
from .serialization import load, to_document
from .training import evaluate, fit

WEB_ROOT = (Path(__file__).parent / "web").resolve()
MODEL_PATH = "/model.json"
INPUTS = 28 * 28
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".png": "image/png",
}
HEADERS = {
    # The page needs nothing but this server (and an empty data: favicon, so that the browser
    # asks for no /favicon.ico); the browser then refuses anything else.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:",
    "X-Content-Type-Options": "nosniff",
    # A restart may serve another network under the same name.
    "Cache-Control": "no-store",
}


class PageServer(ThreadingHTTPServer):
    """Answers GET and HEAD for the files in WEB_ROOT, and for the model at MODEL_PATH."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], model_json: bytes, quiet: bool = False):
        self.model_json, self.quiet = model_json, quiet
        super().__init__(address, PageHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    def lookup(self, url: str) -> tuple[HTTPStatus, bytes, str]:
        """(status, body, content type) for a request's URL; files outside WEB_ROOT are 403."""
        path = unquote(urlsplit(url).path)
        if path == MODEL_PATH:
            return HTTPStatus.OK, self.model_json, CONTENT_TYPES[".json"]
        # Decoded before resolving, so that %2e%2e is caught as the .. it means.
        try:
            file = (WEB_ROOT / path.lstrip("/")).resolve()
        except (OSError, ValueError):
            return HTTPStatus.BAD_REQUEST, b"", ""
        if file == WEB_ROOT:
            file = WEB_ROOT / "index.html"
        if not file.is_relative_to(WEB_ROOT):
            return HTTPStatus.FORBIDDEN, b"", ""
        if not file.is_file():
            return HTTPStatus.NOT_FOUND, b"", ""
        return HTTPStatus.OK, file.read_bytes(), CONTENT_TYPES.get(file.suffix, "text/plain")


class PageHandler(BaseHTTPRequestHandler):
    server: PageServer

    def do_GET(self) -> None:
        self.respond(send_body=True)

    def do_HEAD(self) -> None:
        self.respond(send_body=False)

    def respond(self, send_body: bool) -> None:
        status, body, content_type = self.server.lookup(self.path)
        if status != HTTPStatus.OK:
            self.send_error(status)
            return
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        if not self.server.quiet:
            super().log_message(format, *args)


def model_json(model: MLP, description: str = "") -> bytes:
    """The model as nn.save writes it, plus a description for the page to show."""
    return json.dumps(to_document(model) | {"description": description}).encode()


def load_model(path: str) -> MLP:
    """nn.load, with the page's own demand: 784 inputs, one per pixel."""
    model = load(path)
    if model.sizes[0] != INPUTS:
        raise ValueError(
            f"{path}: the page feeds 28x28 = {INPUTS} grey levels, but this network takes "
            f"{model.sizes[0]} inputs (sizes {model.sizes})"
        )
    return model


def train_sample_model(progress: bool = True, seed: int = 0) -> tuple[MLP, str]:
    """Chapter 3's [784, 100, 10] sigmoid network with cross-entropy (no L2), trained
    for a few seconds on the embedded MNIST sample; and a line saying so for the page."""
    sample = load_sample()
    (x, y), (test_x, test_y) = sample.train, sample.test
    model = MLP([784, 100, 10], seed=seed)
    optimizer = SGD(model.parameters(), lr=0.5)
    epochs = 10
    fit(model, binary_cross_entropy, optimizer, (x, y), epochs, 10, seed=seed, progress=progress)
    accuracy = evaluate(model, binary_cross_entropy, test_x, test_y)[1]
    return model, (
        f"Trained at startup on nn's MNIST sample: {len(x)} images, {epochs} epochs; "
        f"{accuracy:.1%} right on {len(test_x)} test images."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nn.serve",
        description="Serve a page where you draw a digit and a trained network reads it.",
    )
    parser.add_argument("--model", help="network saved by nn.save; default: train one first")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no request log")
    arguments = parser.parse_args(argv)

    if arguments.model:
        try:
            model = load_model(arguments.model)
        except (OSError, ValueError, TypeError, KeyError) as error:
            parser.exit(2, f"{parser.prog}: error: cannot serve {arguments.model}: {error}\n")
        description = f"Loaded from {arguments.model}."
    else:
        print("No --model given: training a network on the embedded MNIST sample first.")
        model, description = train_sample_model(progress=not arguments.quiet)
    try:
        server = PageServer(
            (arguments.host, arguments.port), model_json(model, description), arguments.quiet
        )
    except OSError as error:
        parser.exit(2, f"{parser.prog}: error: cannot listen on port {arguments.port}: {error}\n")

    print(f"Serving the draw-a-digit page at {server.url} (Ctrl+C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("Stopped.")
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
