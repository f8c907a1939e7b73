"""The draw-a-digit page's server: the static files in nn/web/static and one network's JSON,
over the standard library's http.server. What to serve is decided by `python -m nn.serve`.

Hardened for a machine where other sites run in the browser: requests whose Host is not a
loopback name or an IP address are refused (DNS rebinding), every answer carries the
security headers, a deep listen backlog keeps many clients waiting rather than refused, a
connection is closed when its client sends nothing for a while or takes too long over the
whole request (a byte every few seconds does not keep it open), one client holds at most so
many connections at once, and a bad path is a 4xx answer, never a traceback.
"""

from __future__ import annotations

import io
import ipaddress
import json
import re
import socket
import threading
import time
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
MAX_URL = 2048  # characters; a longer request target is answered 414
CONNECTION_TIMEOUT_S = 10.0  # a socket that sends nothing for this long is closed
REQUEST_TIMEOUT_S = 20.0  # the whole request (line, headers, any body) must arrive in this
# At most this many connections of one client address at once; more are answered 503. As
# deep as the listen backlog, so many clients at once (on loopback, one address) still wait.
MAX_CONNECTIONS_PER_CLIENT = 256
BUSY_ANSWER = (
    b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\n"
    b"Connection: close\r\n\r\n"
)
LOOPBACK_NAMES = ("localhost", "localhost.")


def is_loopback(host: str) -> bool:
    """Whether host (a name or an address) means this machine only."""
    if host.lower() in LOOPBACK_NAMES or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_allowed(header: str | None) -> bool:
    """The Host header of a request the page may answer: a loopback name, or an IP address.

    A DNS-rebinding page reaches this server under its own domain name, so a name other than
    localhost is refused; an address literal cannot be rebound. No header (HTTP/1.0) is fine.
    """
    if header is None:
        return True
    match = re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[^:\[\]]+)(:\d{1,5})?", header.strip())
    if match is None:
        return False
    host = match.group(1)
    if is_loopback(host):
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class PageServer(ThreadingHTTPServer):
    """Answers GET and HEAD for the files in WEB_ROOT, and for the model at MODEL_PATH."""

    daemon_threads = True
    request_queue_size = 256  # the listen backlog: many clients at once wait, not refused

    def __init__(
        self,
        address: tuple[str, int],
        model_json: bytes,
        quiet: bool = False,
        timeout: float = CONNECTION_TIMEOUT_S,
        request_timeout: float = REQUEST_TIMEOUT_S,
        max_connections_per_client: int = MAX_CONNECTIONS_PER_CLIENT,
    ):
        self.model_json, self.quiet, self.connection_timeout = model_json, quiet, timeout
        self.request_timeout = request_timeout
        self.max_connections_per_client = max_connections_per_client
        # Open connections by client address, and the address of each counted connection.
        self.open_by_client: dict[str, int] = {}
        self.client_of: dict[socket.socket, str] = {}
        self.count_lock = threading.Lock()
        super().__init__(address, PageHandler)

    def verify_request(self, request: socket.socket, client_address) -> bool:
        """Take the connection unless its client already holds the most allowed: then answer
        503 without a thread (the short answer fits the socket's buffer) and close it."""
        client = client_address[0]
        with self.count_lock:
            if self.open_by_client.get(client, 0) < self.max_connections_per_client:
                self.open_by_client[client] = self.open_by_client.get(client, 0) + 1
                self.client_of[request] = client
                return True
        try:
            request.setblocking(False)
            request.send(BUSY_ANSWER)
        except OSError:
            pass
        return False

    def shutdown_request(self, request: socket.socket) -> None:
        try:
            super().shutdown_request(request)
        finally:
            with self.count_lock:
                client = self.client_of.pop(request, None)
                if client is not None:
                    left = self.open_by_client[client] - 1
                    if left:
                        self.open_by_client[client] = left
                    else:
                        del self.open_by_client[client]

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    def lookup(self, url: str) -> tuple[HTTPStatus, bytes, str]:
        """(status, body, content type) for a request's URL; files outside WEB_ROOT are 403."""
        if len(url) > MAX_URL:
            return HTTPStatus.REQUEST_URI_TOO_LONG, b"", ""
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
        try:
            # A name too long for the file system raises instead of answering False.
            return HTTPStatus.OK, file.read_bytes(), CONTENT_TYPES.get(file.suffix, "text/plain")
        except OSError:
            return HTTPStatus.NOT_FOUND, b"", ""


class DeadlineReader(io.RawIOBase):
    """A socket's bytes, each read allowed the idle timeout but never past the deadline set
    at the connection's start: the idle timeout alone restarts with every byte received."""

    def __init__(self, connection: socket.socket, idle_timeout: float, whole_timeout: float):
        self.connection, self.idle_timeout = connection, idle_timeout
        self.whole_timeout = whole_timeout
        self.deadline = time.monotonic() + whole_timeout

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the request took longer than {self.whole_timeout:g} s")
        self.connection.settimeout(min(self.idle_timeout, left))
        return self.connection.recv_into(buffer)


class PageHandler(BaseHTTPRequestHandler):
    server: PageServer

    def setup(self) -> None:
        self.timeout = self.server.connection_timeout  # read by StreamRequestHandler.setup
        super().setup()
        self.rfile.close()  # read through the deadline instead (the socket stays open)
        reader = DeadlineReader(self.connection, self.timeout, self.server.request_timeout)
        self.rfile = io.BufferedReader(reader)

    def parse_request(self) -> bool:
        parsed = super().parse_request()  # reads the headers, through the deadline
        self.connection.settimeout(self.timeout)  # the answer gets the idle timeout again
        return parsed

    def end_headers(self) -> None:
        # Here rather than in respond(), so that error pages carry them too.
        for name, value in HEADERS.items():
            self.send_header(name, value)
        super().end_headers()

    def do_GET(self) -> None:
        self.respond(send_body=True)

    def do_HEAD(self) -> None:
        self.respond(send_body=False)

    def respond(self, send_body: bool) -> None:
        if not host_allowed(self.headers.get("Host")):
            self.send_error(HTTPStatus.MISDIRECTED_REQUEST, "This server answers localhost only")
            return
        status, body, content_type = self.server.lookup(self.path)
        if status != HTTPStatus.OK:
            self.send_error(status)
            return
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        if not self.server.quiet:
            super().log_message(format, *args)


def model_json(model: MLP, description: str = "") -> bytes:
    """The model as nn.save writes it, plus a description for the page to show."""
    return json.dumps(to_document(model) | {"description": description}).encode()
