"""Downloading one file safely: streamed from a list of mirrors with retries, checked against
its size and SHA-256, and moved into place atomically, so a failure never leaves a partial file.

A mirror is left at once when it announces or sends more bytes than the file has, or sends
something else (an HTML page with status 200, say): the error says what arrived. Each try
has a deadline besides the per-read timeout, so a mirror that drips bytes fails over.

Knows nothing of MNIST: nn/data/mnist.py says which files, from where, with which checksums.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import time
from pathlib import Path

import requests
import urllib3

from .progress import tqdm
from .temporary import remove_stale, temporary_path

RETRY_PAUSE_S = 1.0  # before the second try at a mirror; doubles for each try after that
GZIP_MAGIC = b"\x1f\x8b"  # the first two bytes of every .gz file


class _Failure(Exception):
    """One try at one URL failed; retry says whether trying that URL again could help."""

    def __init__(self, reason: str, retry: bool) -> None:
        super().__init__(reason)
        self.retry = retry


class DownloadError(Exception):
    """A file could not be fetched from any mirror; .attempts holds (url, what went wrong)."""

    def __init__(self, name: str, attempts: list[tuple[str, str]]) -> None:
        self.name, self.attempts = name, attempts
        tried = "".join(f"\n  {url}: {reason}" for url, reason in attempts)
        super().__init__(f"could not download {name}; tried:{tried or ' no mirrors'}")


def fetch(
    name: str,
    sha256: str,
    folder: Path,
    bases: list[str],
    timeout: float,
    retries: int,
    progress: bool,
    size: int | None = None,
    deadline: float | None = None,
) -> None:
    """Download name from the first mirror in bases that serves it intact, into folder.

    size: the file's length in bytes, when known; deadline: seconds for one try at one
    mirror, checked whenever bytes arrive (so a try ends within deadline + timeout)."""
    attempts = []
    remove_stale(folder / name, "part")
    for base in bases:
        url = f"{base.rstrip('/')}/{name}"
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(RETRY_PAUSE_S * 2 ** (attempt - 1))
            try:
                _save(url, folder / name, sha256, timeout, progress, size, deadline)
                return
            except _Failure as error:
                attempts.append((url, str(error)))
                if not error.retry:
                    break
    raise DownloadError(name, attempts)


def _save(url, target: Path, sha256: str, timeout, progress, size, deadline) -> None:
    """Stream url to a temporary file beside target, verify it, then rename it to target."""
    # Named like the target so a leftover is recognisable; opened with open() rather than
    # mkstemp so the final file gets the usual umask permissions, not 0600.
    temp = temporary_path(target, "part")
    ends = None if deadline is None else time.monotonic() + deadline
    created = answered = False
    try:
        with requests.get(url, stream=True, timeout=timeout) as response:
            # Retry only failures after the server answered: an unreachable or silent mirror
            # is unlikely to recover within seconds, and offline, retries only add waiting.
            answered = True
            if response.status_code != 200:
                status = f"HTTP {response.status_code} {response.reason}"
                raise _Failure(status, retry=response.status_code >= 500)
            # What arrived is judged by its first bytes before anything else: a page sent
            # instead of the file is named as such, whatever length it announces.
            chunks = _chunks(response)
            first = next(chunks, b"")
            _check_start(first, target.name, response)
            length = response.headers.get("Content-Length", "")
            expected = int(length) if length.isdigit() else size
            if size is not None and expected != size:
                raise _Failure(
                    f"the server announced {expected} bytes"
                    f"{_kind(response)}; {target.name} has {size}",
                    retry=False,
                )
            digest, received = hashlib.sha256(), 0
            bar = tqdm(
                total=expected,
                desc=target.name,
                unit="B",
                unit_scale=True,
                leave=False,
                disable=not progress,
            )
            with open(temp, "xb") as out, bar:
                created = True
                for chunk in itertools.chain([first], chunks):
                    received += len(chunk)
                    if size is not None and received > size:
                        raise _Failure(
                            f"sent more than the {size} bytes of {target.name}: cut off",
                            retry=False,
                        )
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
                    if ends is not None and time.monotonic() > ends:
                        raise _Failure(
                            f"not done within the deadline of {deadline:g} s: {received} of "
                            f"{expected if expected is not None else '?'} bytes arrived",
                            retry=False,
                        )
                if expected is not None and received != expected:
                    raise _Failure(
                        f"connection closed after {received} of {expected} bytes", retry=True
                    )
                if digest.hexdigest() != sha256:
                    raise _Failure(
                        f"SHA-256 mismatch: got {digest.hexdigest()} ({received} bytes), "
                        f"expected {sha256}",
                        retry=False,
                    )
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
            created = False
    except (requests.Timeout, urllib3.exceptions.TimeoutError) as error:
        raise _Failure(f"timed out after {timeout} s without data", answered) from error
    except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
        raise _Failure(f"connection failed: {_innermost(error)}", answered) from error
    finally:
        if created:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)


def _chunks(response):
    """The bytes as sent, each chunk as soon as it arrives (read1), so that the deadline is
    checked while a server drips. Not decoded: some servers label a .gz "Content-Encoding:
    gzip", and decoding it, as requests would, would change the file and its checksum."""
    raw = response.raw
    if not hasattr(raw, "read1"):  # urllib3 1.x
        yield from raw.stream(1 << 16, decode_content=False)
        return
    while chunk := raw.read1(1 << 16, decode_content=False):
        yield chunk


def _check_start(chunk: bytes, name: str, response) -> None:
    """Refuse at the first bytes what cannot be the file: a page instead of a .gz."""
    html = response.headers.get("Content-Type", "").startswith("text/html")
    if html or (name.endswith(".gz") and not chunk.startswith(GZIP_MAGIC[: len(chunk)])):
        raise _Failure(
            f"sent something else than {name}{_kind(response)}, starting {chunk[:60]!r}",
            retry=False,
        )


def _kind(response) -> str:
    kind = response.headers.get("Content-Type")
    return f" (Content-Type {kind})" if kind else ""


def _innermost(error: BaseException) -> str:
    """The root cause: requests wraps urllib3's errors, which wrap the socket's, each adding
    connection-pool detail that only repeats the URL."""
    while True:
        inner = getattr(error, "reason", None)
        if not isinstance(inner, BaseException):
            causes = [*error.args, error.__cause__, error.__context__]
            inner = next((cause for cause in causes if isinstance(cause, BaseException)), None)
        if inner is None:
            return str(error)
        error = inner
