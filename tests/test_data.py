"""nn.data: MNIST from the shared files, folder lookup, downloads from loopback servers only,
the embedded sample, one-hot labels, mini-batches and Nielsen-format converters."""

import gzip
import hashlib
import http.server
import socket
import struct
import threading

import numpy as np
import pytest
from conftest import GZ_NAMES, SMALL
from hypothesis import given
from hypothesis import strategies as st

from nn import data
from nn.data import (
    FILES,
    DownloadError,
    SampleDataWarning,
    download,
    download_mnist,
    from_nielsen,
    iterate_minibatches,
    load_mnist,
    load_sample,
    one_hot,
    read_idx,
    to_nielsen,
)

# From the README beside the shared files.
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def official(mnist_dir):
    """The shared files as uint8 arrays by role: the reference every loaded array must match."""
    return {role: read_idx(mnist_dir / f"{name}.gz") for role, name in FILES.items()}


@pytest.fixture(scope="module")
def standard(mnist_dir):
    return load_mnist(mnist_dir, download=False, fallback=False)


@pytest.fixture(autouse=True)
def isolated_lookup(tmp_path, monkeypatch):
    """No test sees the real $MNIST_DIR or cache, and retries do not sleep."""
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(download, "RETRY_PAUSE_S", 0.0)


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_fake_mnist(folder, train: int, test: int, compressed: bool = True) -> dict:
    """Four small valid IDX files (pixel value = image index); returns their bytes by name."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train_images": np.arange(train, dtype=np.uint8)[:, None, None] * np.ones((28, 28)),
        "train_labels": np.arange(train) % 10,
        "test_images": np.arange(test, dtype=np.uint8)[:, None, None] * np.ones((28, 28)),
        "test_labels": np.arange(test) % 10,
    }
    written = {}
    for role, name in FILES.items():
        content = idx_bytes(arrays[role])
        if compressed:
            content, name = gzip.compress(content, mtime=0), f"{name}.gz"
        (folder / name).write_bytes(content)
        written[name] = content
    return written


# ---- the full data set ----


def test_load_mnist_standard_matches_the_readme(standard, official, mnist_dir):
    (train_x, train_y), (test_x, test_y) = standard.train, standard.test
    assert standard.validation is None
    assert train_x.shape == (60000, 784) and test_x.shape == (10000, 784)
    assert train_x.dtype == test_x.dtype == np.float64
    assert train_x.min() == 0.0 and train_x.max() == 1.0
    assert train_y.dtype.kind == test_y.dtype.kind == "i"
    assert np.bincount(train_y).tolist() == TRAIN_COUNTS
    assert np.bincount(test_y).tolist() == TEST_COUNTS
    assert train_y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert train_x.mean() * 255 == pytest.approx(33.318, abs=5e-4)
    np.testing.assert_array_equal(test_x * 255, official["test_images"].reshape(-1, 784))
    assert standard.source == str(mnist_dir)


def test_load_mnist_nielsen_split_is_last_10000_of_training(mnist_dir, official):
    nielsen = load_mnist(mnist_dir, download=False, split="nielsen", dtype=np.float32)
    assert [len(part[0]) for part in (nielsen.train, nielsen.validation, nielsen.test)] == [
        50000,
        10000,
        10000,
    ]
    assert nielsen.train[0].dtype == nielsen.validation[0].dtype == np.float32
    pixels = official["train_images"].reshape(-1, 784)
    parts = ((nielsen.train, slice(0, 50000)), (nielsen.validation, slice(50000, 60000)))
    for (images, labels), rows in parts:
        np.testing.assert_array_equal(np.rint(images * 255), pixels[rows])
        np.testing.assert_array_equal(labels, official["train_labels"][rows])
    assert repr(nielsen).startswith("MNIST(train=50000, validation=10000, test=10000, source=")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"split": "network2"}, r"'standard', 'nielsen'.*'network2'"),
        ({"dtype": np.uint8}, r"floating type.*uint8"),
    ],
)
def test_load_mnist_rejects_bad_arguments(tmp_path, arguments, message):
    with pytest.raises(ValueError, match=message):
        load_mnist(tmp_path, download=False, **arguments)


# ---- where the files are looked for ----


@pytest.fixture
def three_folders(tmp_path, monkeypatch):
    """data_dir (3 training images, raw IDX), $MNIST_DIR (4, .gz) and the cache (5, .gz)."""
    given_dir, env_dir = tmp_path / "given", tmp_path / "env"
    cache = tmp_path / "xdg-cache" / "autodiff-nn" / "mnist"
    write_fake_mnist(given_dir, 3, 2, compressed=False)
    write_fake_mnist(env_dir, 4, 2)
    write_fake_mnist(cache, 5, 2)
    monkeypatch.setenv("MNIST_DIR", str(env_dir))
    return given_dir, env_dir, cache


def test_load_mnist_data_dir_beats_env_and_cache(three_folders):
    given_dir = three_folders[0]
    mnist = load_mnist(given_dir, download=False)
    assert len(mnist.train[0]) == 3 and mnist.source == str(given_dir)
    np.testing.assert_array_equal(mnist.train[0][:, 0] * 255, [0, 1, 2])


def test_load_mnist_env_beats_cache(three_folders, tmp_path):
    assert len(load_mnist(download=False).train[0]) == 4
    # An existing data_dir without the files is passed over, not an error.
    (tmp_path / "empty").mkdir()
    assert len(load_mnist(tmp_path / "empty", download=False).train[0]) == 4


def test_load_mnist_uses_xdg_cache_then_home_cache(three_folders, tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_DIR")
    assert load_mnist(download=False).source == str(three_folders[2])
    monkeypatch.delenv("XDG_CACHE_HOME")
    home_cache = tmp_path / "home" / ".cache" / "autodiff-nn" / "mnist"
    write_fake_mnist(home_cache, 6, 2, compressed=False)
    assert data.cache_dir() == home_cache
    assert len(load_mnist(download=False).train[0]) == 6


def test_load_mnist_accepts_mixed_raw_and_gz(tmp_path):
    write_fake_mnist(tmp_path, 7, 3)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(
        gzip.decompress((tmp_path / "t10k-images-idx3-ubyte.gz").read_bytes())
    )
    (tmp_path / "t10k-images-idx3-ubyte.gz").unlink()
    mnist = load_mnist(tmp_path, download=False, split="nielsen")
    assert [len(part[1]) for part in (mnist.train, mnist.validation, mnist.test)] == [6, 1, 3]


def corrupt(folder, name, content):
    (folder / f"{name}.gz").unlink()
    (folder / name).write_bytes(content)


CORRUPTIONS = {
    "truncated gzip": lambda f: (f / "t10k-images-idx3-ubyte.gz").write_bytes(
        (f / "t10k-images-idx3-ubyte.gz").read_bytes()[:-30]
    ),
    "labels as images": lambda f: corrupt(
        f, "t10k-images-idx3-ubyte", idx_bytes(np.zeros(3, np.uint8))
    ),
    "truncated data": lambda f: corrupt(
        f, "t10k-images-idx3-ubyte", idx_bytes(np.zeros((3, 28, 28), np.uint8))[:-1]
    ),
    "empty file": lambda f: corrupt(f, "t10k-images-idx3-ubyte", b""),
    "27 x 27 images": lambda f: corrupt(
        f, "t10k-images-idx3-ubyte", idx_bytes(np.zeros((3, 27, 27), np.uint8))
    ),
    "too few labels": lambda f: corrupt(
        f, "t10k-labels-idx1-ubyte", idx_bytes(np.zeros(2, np.uint8))
    ),
    "label 10": lambda f: corrupt(f, "t10k-labels-idx1-ubyte", idx_bytes(np.full(3, 10))),
}
MESSAGES = {
    "truncated gzip": r"t10k-images-idx3-ubyte.gz: broken or truncated gzip",
    "labels as images": r"t10k-images-idx3-ubyte: magic number 2049, expected 2051",
    "truncated data": r"t10k-images-idx3-ubyte: truncated: header says 3 x 28 x 28 = 2352",
    "empty file": r"t10k-images-idx3-ubyte is empty \(0 bytes\): expected an IDX file",
    "27 x 27 images": r"t10k-images-idx3-ubyte: images are \(27, 27\), expected 28 x 28",
    "too few labels": r"t10k-labels-idx1-ubyte: \(2,\) labels for 3 images.*expected \(3,\)",
    "label 10": r"t10k-labels-idx1-ubyte: label 10, expected 0-9",
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_load_mnist_names_the_corrupt_file(tmp_path, corruption):
    write_fake_mnist(tmp_path, 4, 3)
    CORRUPTIONS[corruption](tmp_path)
    # Found but broken files raise even though falling back to the sample is allowed.
    with pytest.raises(ValueError, match=MESSAGES[corruption]):
        load_mnist(tmp_path, download=False)


# ---- downloads, from servers on 127.0.0.1 only ----


class Mirror(http.server.ThreadingHTTPServer):
    """A loopback server; routes maps a path to (behaviour, body). Handler threads are not
    daemons, so server_close() joins them all."""

    daemon_threads = False

    def __init__(self):
        super().__init__(("127.0.0.1", 0), MirrorHandler)
        self.routes, self.requests = {}, []
        self.release = threading.Event()  # ends the stalls of the slow behaviours
        self.url = f"http://127.0.0.1:{self.server_address[1]}/mnist/"

    def serve(self, name, body, behaviour="ok"):
        self.routes[f"/mnist/{name}"] = [behaviour, body]


class MirrorHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        server = self.server
        server.requests.append(self.path)
        if self.path not in server.routes:
            self.send_error(404)
            return
        route = server.routes[self.path]
        behaviour, body = route
        if behaviour == "slow headers":
            server.release.wait(30)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        if behaviour == "labelled gzip":
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        if behaviour in ("truncate", "truncate once"):
            # Content-Length promised the whole body; send half and close the connection.
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            if behaviour == "truncate once":
                route[0] = "ok"
            return
        if behaviour == "stall":
            self.wfile.write(body[:100])
            self.wfile.flush()
            server.release.wait(30)
            return
        self.wfile.write(body)

    def log_message(self, *arguments):
        pass  # keep test output clean


@pytest.fixture
def mirrors():
    """Make loopback mirrors on demand; all their threads are stopped when the test ends."""
    started = []

    def start():
        server = Mirror()
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(10)
        assert not thread.is_alive()


def leftovers(folder):
    return sorted(path.name for path in folder.iterdir())


def test_download_mnist_fetches_and_verifies_the_genuine_files(tmp_path, mirrors, genuine_gz):
    server = mirrors()
    for name, body in genuine_gz.items():
        server.serve(name, body)
    folder = download_mnist(tmp_path / "new", [server.url], progress=False)
    assert leftovers(folder) == sorted(GZ_NAMES)
    for name, body in genuine_gz.items():
        assert (folder / name).read_bytes() == body
        assert hashlib.sha256(body).hexdigest() == data.SHA256[name]
        assert len(body) == data.SIZES[name]
    # A second call finds everything in place and asks for nothing.
    download_mnist(folder, [server.url], progress=False)
    assert len(server.requests) == 4


def test_download_rejects_a_corrupted_file_and_leaves_nothing(missing_one, mirrors, genuine_gz):
    server = mirrors()
    body = bytearray(genuine_gz[SMALL])
    body[2000] ^= 0xFF
    server.serve(SMALL, bytes(body))
    with pytest.raises(DownloadError, match=rf"{SMALL}.*\n.*{server.url}{SMALL}: SHA-256 mismatch"):
        download_mnist(missing_one, [server.url], retries=2, progress=False)
    assert SMALL not in leftovers(missing_one) and len(leftovers(missing_one)) == 3
    assert len(server.requests) == 1  # a wrong file is not fetched again from the same mirror


def test_download_reports_http_404(missing_one, mirrors):
    server = mirrors()
    with pytest.raises(DownloadError, match=rf"{server.url}{SMALL}: HTTP 404") as caught:
        download_mnist(missing_one, [server.url], retries=2, progress=False)
    assert caught.value.name == SMALL and len(caught.value.attempts) == 1
    assert len(leftovers(missing_one)) == 3


@pytest.mark.parametrize(("behaviour", "tries"), [("slow headers", 1), ("stall", 2)])
def test_download_times_out_on_a_slow_server(missing_one, mirrors, genuine_gz, behaviour, tries):
    """A mirror that never answers is left at once; a transfer that stalls is retried."""
    server = mirrors()
    server.serve(SMALL, genuine_gz[SMALL], behaviour)
    with pytest.raises(DownloadError, match=rf"{SMALL}: timed out after 0.3 s"):
        download_mnist(missing_one, [server.url], timeout=0.3, retries=1, progress=False)
    assert len(server.requests) == tries
    assert len(leftovers(missing_one)) == 3


def test_download_leaves_an_unreachable_mirror_at_once(missing_one):
    with socket.socket() as probe:  # a port that was free a moment ago refuses connections
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/mnist/"
    with pytest.raises(DownloadError, match=r"connection failed: .*refused") as caught:
        download_mnist(missing_one, [url, url], retries=2, progress=False)
    assert len(caught.value.attempts) == 2


def test_download_retries_a_cut_connection_then_gives_up(missing_one, mirrors, genuine_gz):
    server = mirrors()
    server.serve(SMALL, genuine_gz[SMALL], "truncate")
    with pytest.raises(DownloadError, match=r"(?i)(IncompleteRead|closed after)") as caught:
        download_mnist(missing_one, [server.url], retries=1, progress=False)
    assert len(caught.value.attempts) == 2 and len(server.requests) == 2
    assert len(leftovers(missing_one)) == 3


def test_download_succeeds_when_a_retry_does(missing_one, mirrors, genuine_gz):
    server = mirrors()
    server.serve(SMALL, genuine_gz[SMALL], "truncate once")
    download_mnist(missing_one, [server.url], retries=1, progress=False)
    assert (missing_one / SMALL).read_bytes() == genuine_gz[SMALL]
    assert len(server.requests) == 2 and len(leftovers(missing_one)) == 4


def test_download_keeps_the_bytes_of_a_gz_labelled_content_encoding_gzip(
    missing_one, mirrors, genuine_gz
):
    server = mirrors()
    server.serve(SMALL, genuine_gz[SMALL], "labelled gzip")
    download_mnist(missing_one, [server.url], progress=False)
    assert (missing_one / SMALL).read_bytes() == genuine_gz[SMALL]


def test_download_falls_through_to_the_next_mirror(missing_one, mirrors, genuine_gz):
    broken, good = mirrors(), mirrors()
    good.serve(SMALL, genuine_gz[SMALL])
    download_mnist(missing_one, [broken.url, good.url], progress=False)
    assert (missing_one / SMALL).read_bytes() == genuine_gz[SMALL]
    assert len(broken.requests) == len(good.requests) == 1


def test_load_mnist_downloads_into_data_dir_or_cache(tmp_path, mirrors, monkeypatch):
    server = mirrors()
    for name, body in write_fake_mnist(tmp_path / "fake", 5, 3).items():
        server.serve(name, body)
        monkeypatch.setitem(data.SHA256, name, hashlib.sha256(body).hexdigest())
        monkeypatch.setitem(data.SIZES, name, len(body))
    (tmp_path / "given").mkdir()
    mnist = load_mnist(tmp_path / "given", mirrors=[server.url], progress=False)
    assert mnist.source == str(tmp_path / "given") and len(mnist.train[0]) == 5
    mnist = load_mnist(mirrors=server.url, progress=False)
    assert mnist.source == str(data.cache_dir()) and len(mnist.test[0]) == 3
    assert leftovers(data.cache_dir()) == sorted(GZ_NAMES)


# ---- the embedded sample ----


def test_load_mnist_falls_back_to_the_sample_when_download_fails(tmp_path, mirrors):
    server = mirrors()
    expected = r"(?s)^Using the embedded sample of 10,000 .*Searched: .*HTTP 404"
    with pytest.warns(SampleDataWarning, match=expected):
        mnist = load_mnist(tmp_path, mirrors=[server.url], split="nielsen", progress=False)
    assert mnist.source.startswith("embedded sample")
    assert [len(part[0]) for part in (mnist.train, mnist.validation, mnist.test)] == [
        6667,
        1333,
        2000,
    ]
    with pytest.raises(DownloadError, match="HTTP 404"):
        load_mnist(tmp_path, mirrors=[server.url], progress=False, fallback=False)


def test_load_mnist_falls_back_to_the_sample_without_download(tmp_path):
    with pytest.warns(SampleDataWarning, match=rf"Searched: {tmp_path}, .*download=False"):
        mnist = load_mnist(tmp_path, download=False, dtype=np.float32)
    assert mnist.train[0].dtype == np.float32 and mnist.validation is None
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        load_mnist(tmp_path, download=False, fallback=False)


def test_load_sample_is_genuine_mnist(official):
    sample = load_sample()
    assert data.SAMPLE_PATH.stat().st_size <= 3_000_000
    for part, images, labels in (("train", *sample.train), ("test", *sample.test)):
        assert images.shape == (len(labels), 784) and images.dtype == np.float64
        expected = official[f"{part}_images"][: len(images)].reshape(-1, 784)
        np.testing.assert_array_equal(np.rint(images * 255), expected)
        np.testing.assert_array_equal(labels, official[f"{part}_labels"][: len(labels)])
    assert (len(sample.train[0]), len(sample.test[0])) == (8000, 2000)


# ---- one_hot and mini-batches ----


def test_one_hot_rows():
    rows = one_hot([3, 0, 9], dtype=np.float32)
    assert rows.dtype == np.float32 and rows.shape == (3, 10)
    np.testing.assert_array_equal(rows.argmax(axis=1), [3, 0, 9])
    assert rows.sum() == 3
    assert one_hot(np.array([1]), num_classes=2).tolist() == [[0.0, 1.0]]


@pytest.mark.parametrize(
    ("labels", "message"), [([1.0, 2.0], "integers.*float64"), ([0, 10], r"0\.\.9, got 10")]
)
def test_one_hot_rejects_bad_labels(labels, message):
    with pytest.raises(ValueError, match=message):
        one_hot(labels)


@given(
    n=st.integers(0, 40),
    batch_size=st.integers(1, 50),
    seed=st.integers(0, 2**32 - 1),
    shuffle=st.booleans(),
)
def test_iterate_minibatches_covers_every_example_once(n, batch_size, seed, shuffle):
    x = np.arange(n * 2).reshape(n, 2)
    y = np.arange(n)
    batches = list(iterate_minibatches(x, y, batch_size, shuffle=shuffle, seed=seed))
    sizes = [len(xb) for xb, _ in batches]
    assert sizes == [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    order = np.concatenate([yb for _, yb in batches]) if batches else np.array([], int)
    assert sorted(order.tolist()) == list(range(n))
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0], 2 * yb)  # rows stay paired with labels
    if not shuffle:
        assert order.tolist() == list(range(n))


def test_iterate_minibatches_is_reproducible_for_a_seed():
    x, y = np.zeros((100, 1)), np.arange(100)

    def epoch(seed):
        return np.concatenate([yb for _, yb in iterate_minibatches(x, y, 7, seed=seed)])

    np.testing.assert_array_equal(epoch(0), epoch(0))
    np.testing.assert_array_equal(epoch(0), epoch(np.random.default_rng(0)))
    assert not np.array_equal(epoch(0), epoch(1))
    rng = np.random.default_rng(0)
    assert not np.array_equal(epoch(rng), epoch(rng))  # a Generator advances between epochs


@pytest.mark.parametrize(
    ("x", "y", "batch_size", "error", "message"),
    [
        (np.zeros((5, 2)), np.zeros(4), 2, ValueError, r"same number of rows.*\(5, 2\).*\(4,\)"),
        (np.float64(1.0), np.zeros(1), 2, ValueError, "one row per example"),
        (np.zeros((5, 2)), np.zeros(5), 0, ValueError, "at least 1, got 0"),
        (np.zeros((5, 2)), np.zeros(5), 2.0, TypeError, "integer, got 2.0"),
        (np.zeros((5, 2)), np.zeros(5), True, TypeError, "integer, got True"),
    ],
)
def test_iterate_minibatches_rejects_bad_input_at_the_call(x, y, batch_size, error, message):
    with pytest.raises(error, match=message):
        iterate_minibatches(x, y, batch_size)  # no next(): errors come before iteration


# ---- Nielsen's format ----


@pytest.mark.parametrize("as_one_hot", [True, False])
def test_to_nielsen_and_back(as_one_hot):
    images, labels = load_sample().test
    images, labels = images[:50], labels[:50]
    pairs = to_nielsen(images, labels, one_hot=as_one_hot)
    assert len(pairs) == 50
    x, y = pairs[0]
    assert x.shape == (784, 1)
    if as_one_hot:
        assert y.shape == (10, 1) and y.sum() == 1 and y[labels[0], 0] == 1
    else:
        assert type(y) is int and y == labels[0]
    back_images, back_labels = from_nielsen(pairs)
    np.testing.assert_array_equal(back_images, images)
    np.testing.assert_array_equal(back_labels, labels)
    assert back_labels.dtype == np.int64


def test_from_nielsen_accepts_mixed_forms_and_nothing():
    column = np.zeros((10, 1))
    column[7] = 1
    images, labels = from_nielsen([(np.ones((784, 1)), column), (np.zeros((784, 1)), 3)])
    assert images.shape == (2, 784) and labels.tolist() == [7, 3]
    images, labels = from_nielsen([])
    assert images.shape == (0, 784) and labels.shape == (0,)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: to_nielsen(np.zeros((3, 28, 28)), [1, 2, 3]), r"\(n, 784\), got \(3, 28, 28\)"),
        (lambda: to_nielsen(np.zeros((3, 784)), [1, 2]), r"shape \(3,\).*got \(2,\)"),
        (lambda: to_nielsen(np.zeros((1, 784)), [12]), r"0\.\.9, got 12"),
        (lambda: from_nielsen([(np.zeros((28, 28)), 1)]), r"pair 0: x must.*\(784, 1\)"),
        (lambda: from_nielsen([(np.zeros(784), 1), (np.zeros(784), np.ones((10, 1)))]), "pair 1"),
        (lambda: from_nielsen([(np.zeros(784), 2.0)]), r"pair 0: y must.*float64"),
        (lambda: from_nielsen([(np.zeros(784), 10)]), "int label 0-9"),
        (lambda: from_nielsen([(np.zeros(784),)]), r"pair 0: expected \(x, y\)"),
    ],
)
def test_nielsen_converters_reject_wrong_shapes(call, message):
    with pytest.raises(ValueError, match=message):
        call()
