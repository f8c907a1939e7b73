"""The draw-a-digit page's server: the static files in nn/web/static and one network's JSON,
over the standard library's http.server. What to serve is decided by `python -m nn.serve`.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..layers import MLP
from ..training import to_document

WEB_ROOT = (Path(__file__).parent / "static").resolve()
MODEL_PATH = "/model.json"
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
