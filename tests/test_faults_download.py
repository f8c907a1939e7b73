"""Fault injection for downloads: loopback mirrors that misbehave, each one way.

A mirror that sends a page instead of the file, more bytes than the file has, announces a
huge size, or drips bytes, is left at once (or at the deadline) with an error saying what
arrived, and the next mirror is tried. Servers bind to 127.0.0.1; every test is bounded.
"""

import http.server
import subprocess
import sys
import threading
import time

import pytest
from conftest import GZ_NAMES, SMALL
from test_data import leftovers

from nn import data
from nn.data import DownloadError, download, download_mnist, load_mnist

PAGE = b"<!DOCTYPE html><html><body>Please log in to the network</body></html>"


class HostileMirror(http.server.ThreadingHTTPServer):
    """Serves SMALL in one bad way (behaviour), or genuinely when behaviour is "ok"."""

    daemon_threads = True

    def __init__(self, behaviour: str, body: bytes):
        super().__init__(("127.0.0.1", 0), HostileHandler)
        self.behaviour, self.body, self.requests = behaviour, body, 0
        self.stop = threading.Event()
        self.url = f"http://127.0.0.1:{self.server_address[1]}/mnist/"


class HostileHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        server, body = self.server, self.server.body
        server.requests += 1
        behaviour = server.behaviour
        self.send_response(200)
        if behaviour in ("html", "html as octets"):
            kind = "text/html; charset=utf-8" if behaviour == "html" else "application/octet-stream"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)
            return
        if behaviour == "announce 10 GB":
            self.send_header("Content-Length", str(10 * 2**30))
            self.end_headers()
            self.wfile.write(body)
            return
        if behaviour == "endless":
            # No Content-Length: the genuine bytes, then more until the client hangs up.
            self.end_headers()
            self.wfile.write(body)
            while not server.stop.is_set():
                self.wfile.write(b"\0" * 4096)
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if behaviour == "drip":
            for byte in body:
                if server.stop.wait(0.02):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            return
        self.wfile.write(body)

    def log_message(self, *arguments):
        pass


@pytest.fixture
def hostile():
    started = []

    def start(behaviour, body):
        server = HostileMirror(behaviour, body)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(10)
        assert not thread.is_alive()


CUT_OFF = {
    "html": r"sent something else than .*\(Content-Type text/html.*starting b'<!DOCTYPE html>",
    "html as octets": r"sent something else than .*starting b'<!DOCTYPE html>",
    "announce 10 GB": r"the server announced 10737418240 bytes; .* has 4542",
    "endless": r"sent more than the 4542 bytes of t10k-labels-idx1-ubyte.gz: cut off",
}


@pytest.mark.parametrize("behaviour", CUT_OFF)
def test_a_mirror_sending_something_else_is_left_at_once(
    missing_one, genuine_gz, hostile, behaviour
):
    server = hostile(behaviour, genuine_gz[SMALL])
    started = time.monotonic()
    with pytest.raises(DownloadError, match=CUT_OFF[behaviour]):
        download_mnist(missing_one, [server.url], retries=2, timeout=5, progress=False)
    assert time.monotonic() - started < 5
    assert server.requests == 1  # not retried: such a mirror does not mend in a second
    assert len(leftovers(missing_one)) == 3


@pytest.mark.parametrize("behaviour", CUT_OFF)
def test_the_next_mirror_is_tried_after_a_hostile_one(missing_one, genuine_gz, hostile, behaviour):
    bad, good = hostile(behaviour, genuine_gz[SMALL]), hostile("ok", genuine_gz[SMALL])
    download_mnist(missing_one, [bad.url, good.url], timeout=5, progress=False)
    assert (missing_one / SMALL).read_bytes() == genuine_gz[SMALL]
    assert sorted(leftovers(missing_one)) == sorted(GZ_NAMES)


def test_a_dripping_mirror_fails_over_at_the_deadline(
    tmp_path, missing_one, genuine_gz, hostile, monkeypatch
):
    # Only this folder may serve the other three files: make test exports MNIST_DIR, whose
    # complete copy would otherwise be loaded without any download.
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    slow, good = hostile("drip", genuine_gz[SMALL]), hostile("ok", genuine_gz[SMALL])
    failures = []
    original = download._save

    def watched(url, *arguments):
        try:
            return original(url, *arguments)
        except download._Failure as failure:
            failures.append((url, str(failure)))
            raise

    monkeypatch.setattr(download, "_save", watched)
    started = time.monotonic()
    mnist = load_mnist(missing_one, mirrors=[slow.url, good.url], deadline=1.0, progress=False)
    # The whole drip would take 4542 x 0.02 = 91 s; reading the files takes a few seconds.
    assert time.monotonic() - started < 30
    assert len(failures) == 1 and failures[0][0].startswith(slow.url), failures
    assert "not done within the deadline of 1 s" in failures[0][1], failures
    assert len(mnist.test[0]) == 10_000 and slow.requests == good.requests == 1


def test_the_deadline_error_says_how_much_arrived(missing_one, genuine_gz, hostile):
    slow = hostile("drip", genuine_gz[SMALL])
    with pytest.raises(DownloadError, match=r"deadline of 0.5 s: \d+ of 4542 bytes arrived"):
        download_mnist(missing_one, [slow.url], deadline=0.5, progress=False)


def test_the_deadline_is_checked(missing_one):
    with pytest.raises(ValueError, match="deadline must be a positive number of seconds"):
        download_mnist(missing_one, ["http://127.0.0.1:9/"], deadline=0)


def test_every_size_is_known_and_matches_the_genuine_files(genuine_gz):
    assert sorted(data.SIZES) == sorted(data.SHA256) == sorted(GZ_NAMES)
    assert {name: len(body) for name, body in genuine_gz.items()} == data.SIZES


def test_a_killed_downloads_leftover_is_removed_by_the_next_download(
    missing_one, genuine_gz, hostile
):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = missing_one / f".{SMALL}.{dead.stdout.strip()}.123.part"
    alive = missing_one / f".{SMALL}.1.456.part"  # process 1 (init) runs: not ours to remove
    stale.write_bytes(b"half a file")
    alive.write_bytes(b"another download's")
    server = hostile("ok", genuine_gz[SMALL])
    download_mnist(missing_one, [server.url], progress=False)
    assert not stale.exists() and alive.exists()
