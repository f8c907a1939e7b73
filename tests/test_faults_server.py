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


def drip(sock: socket.socket, data: bytes, pause: float, limit: float) -> tuple[float, bytes]:
    """Send data a byte every `pause` seconds until the server answers or closes (then the
    seconds it took and what it said) or `limit` seconds pass (then limit and b"...")."""
    sock.settimeout(pause)
    started = time.monotonic()
    for byte in data * 1000:
        if time.monotonic() - started > limit:
            return limit, b"..."
        try:
            sock.sendall(bytes([byte]))
            return time.monotonic() - started, sock.recv(1024)  # an answer, or b"": closed
        except TimeoutError:
            continue  # still open, nothing said: the next byte
        except OSError:  # reset or broken pipe: closed
            return time.monotonic() - started, b""
    return limit, b"..."


def test_a_client_sending_a_byte_at_a_time_is_closed_at_the_request_deadline(start_server):
    # The idle timeout (0.5 s) never fires: a byte comes every 0.2 s. Today's bound: 1.5 s.
    server = start_server(timeout=0.5, request_timeout=1.5)
    with socket.create_connection(server.server_address[:2], timeout=5) as slow:
        seconds, said = drip(slow, b"GET /model.json HTTP/1.0\r\nX-Slow: " + b"a" * 200, 0.2, 8)
    assert said != b"..." and b"weights" not in said
    assert 1.0 < seconds < 4.0
    assert get(server)[0] == 200  # and the others are served as before


def test_a_request_split_across_packets_within_the_deadline_is_answered(start_server):
    server = start_server(timeout=2.0, request_timeout=5.0)
    with socket.create_connection(server.server_address[:2], timeout=5) as client:
        for part in (b"GET /model.json HT", b"TP/1.0\r\nHost: 127.0.0.1\r\n", b"\r\n"):
            client.sendall(part)
            time.sleep(0.2)
        answer = b""
        while chunk := client.recv(1 << 16):
            answer += chunk
    assert answer.startswith(b"HTTP/1.0 200") and b"weights" in answer


def test_one_client_holds_at_most_so_many_connections(start_server):
    server = start_server(timeout=5.0, max_connections_per_client=3)
    held = [socket.create_connection(server.server_address[:2], timeout=5) for _ in range(3)]
    try:
        with socket.create_connection(server.server_address[:2], timeout=5) as extra:
            assert extra.recv(1024).startswith(b"HTTP/1.0 503")  # answered at once, no thread
        held.pop().close()
        statuses, started = [], time.monotonic()
        while time.monotonic() - started < 5 and 200 not in statuses:  # its slot comes free
            try:
                statuses.append(get(server, timeout=5)[0])
            except (http.client.HTTPException, OSError) as error:
                statuses.append(repr(error))
        assert statuses[-1] == 200
    finally:
        for sock in held:
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
