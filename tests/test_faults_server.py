"""Fault injection for the draw-a-digit server: many, slow and hostile clients on loopback.

200 clients at once, idle sockets, over-long paths, foreign Host headers (DNS rebinding),
and the command's checks before training: a bad or busy --port, a non-loopback --host.
Every client here connects to 127.0.0.1, and every wait is bounded.
"""

import http.client
import socket
import threading
import time

import pytest

import nn
from nn.serve import main
from nn.web.server import HEADERS, PageServer, host_allowed, model_json


@pytest.fixture
def start_server():
    started = []

    def start(**options):
        model = model_json(nn.MLP([784, 10], seed=0), "a test network")
        server = PageServer(("127.0.0.1", 0), model, quiet=True, **options)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(10)


def get(server, path="/model.json", headers=None, timeout=20.0):
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=timeout)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_200_concurrent_clients_are_all_answered(start_server):
    server = start_server()
    barrier, results = threading.Barrier(200, timeout=30), []

    def client():
        barrier.wait()  # all connect at the same moment
        try:
            results.append(get(server)[0])
        except OSError as error:
            results.append(repr(error))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == [200] * 200


def test_idle_sockets_are_closed_and_do_not_block_others(start_server):
    server = start_server(timeout=0.5)
    idle = [socket.create_connection(server.server_address[:2], timeout=5) for _ in range(20)]
    half = socket.create_connection(server.server_address[:2], timeout=5)
    half.sendall(b"GET /model.json HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
    try:
        assert get(server)[0] == 200  # served while 21 sockets hang
        started = time.monotonic()
        for sock in [*idle, half]:
            sock.recv(1024)  # b"" (closed) or a 408 answer; a timeout here raises
        assert time.monotonic() - started < 5
    finally:
        for sock in [*idle, half]:
            sock.close()


@pytest.mark.parametrize(
    "path, statuses",
    [
        ("/" + "a" * 300, (404,)),  # one segment longer than a file name may be
        ("/" + "a" * 300 + ".js", (404,)),
        ("/" + "/".join(["b" * 250] * 8), (404,)),
        ("/" + "c" * 5000, (414,)),
        ("/" + "%2e%2e/" * 800, (403, 414)),
    ],
    ids=["300 chars", "300 chars .js", "8 x 250 chars", "5000 chars", "800 parents"],
)
def test_over_long_paths_get_an_answer_with_the_security_headers(start_server, path, statuses):
    server = start_server()
    status, headers, _ = get(server, path)
    assert status in statuses
    for name, value in HEADERS.items():
        assert headers[name] == value


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.evil.example", ""],
)
def test_a_foreign_host_header_cannot_read_the_model(start_server, host):
    server = start_server()
    status, headers, body = get(server, headers={"Host": host})
    assert status == 421 and b"weights" not in body
    assert headers["Content-Security-Policy"] == HEADERS["Content-Security-Policy"]


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8000", "localhost:8000", "localhost", "[::1]:8000", "192.168.1.20:8000"]
)
def test_loopback_names_and_addresses_are_answered(start_server, host):
    assert host_allowed(host)
    assert get(start_server(), headers={"Host": host})[0] == 200


def test_error_pages_carry_the_security_headers(start_server):
    status, headers, _ = get(start_server(), "/no-such-file.js")
    assert status == 404
    assert {name: headers.get(name) for name in HEADERS} == HEADERS


@pytest.mark.parametrize("port", ["-1", "65536", "http", "80.5"])
def test_a_bad_port_is_refused_before_training(capsys, port):
    with pytest.raises(SystemExit) as caught:
        main(["--port", port, "--quiet"])
    err = capsys.readouterr().err
    assert caught.value.code == 2 and f"expected a port number 0-65535, got {port!r}" in err


def test_a_busy_port_suggests_port_0_before_training(capsys, monkeypatch):
    monkeypatch.setattr("nn.serve.train_sample_model", lambda **_: pytest.fail("trained"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(SystemExit) as caught:
            main(["--port", str(busy.getsockname()[1]), "--quiet"])
    err = capsys.readouterr().err
    assert caught.value.code == 2 and "--port 0 picks a free one" in err


def test_a_non_loopback_host_is_warned_about(capsys, monkeypatch, tmp_path):
    # Nothing binds beyond loopback here: a stand-in server records the address.
    bound = []

    class StandIn:
        def __init__(self, address, *rest):
            bound.append(address)

        def server_close(self):
            pass

    monkeypatch.setattr("nn.serve.PageServer", StandIn)
    (tmp_path / "model.json").write_text("{}")
    with pytest.raises(SystemExit):
        main(["--host", "0.0.0.0", "--port", "0", "--model", str(tmp_path / "model.json")])
    err = capsys.readouterr().err
    assert bound == [("0.0.0.0", 0)]
    assert "warning: --host 0.0.0.0 is not a loopback address" in err
    assert err.index("warning") < err.index("cannot serve")
