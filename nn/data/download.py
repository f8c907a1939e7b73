"""Downloading one file safely: streamed from a list of mirrors with retries, checked against
its SHA-256, and moved into place atomically, so a failure never leaves a partial file.

Knows nothing of MNIST: nn/data/mnist.py says which files, from where, with which checksums.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from pathlib import Path

import requests
import urllib3
from tqdm.auto import tqdm

RETRY_PAUSE_S = 1.0  # before the second try at a mirror; doubles for each try after that


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
) -> None:
    """Download name from the first mirror in bases that serves it intact, into folder."""
    attempts = []
    for base in bases:
        url = f"{base.rstrip('/')}/{name}"
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(RETRY_PAUSE_S * 2 ** (attempt - 1))
            try:
                _save(url, folder / name, sha256, timeout, progress)
                return
            except _Failure as error:
                attempts.append((url, str(error)))
                if not error.retry:
                    break
    raise DownloadError(name, attempts)


def _save(url: str, target: Path, sha256: str, timeout: float, progress: bool) -> None:
    """Stream url to a temporary file beside target, verify it, then rename it to target."""
    # Named like the target so a leftover is recognisable; opened with open() rather than
    # mkstemp so the final file gets the usual umask permissions, not 0600.
    temp = target.with_name(f".{target.name}.{os.getpid()}.{time.monotonic_ns()}.part")
    created = answered = False
    try:
        with requests.get(url, stream=True, timeout=timeout) as response:
            # Retry only failures after the server answered: an unreachable or silent mirror
            # is unlikely to recover within seconds, and offline, retries only add waiting.
            answered = True
            if response.status_code != 200:
                status = f"HTTP {response.status_code} {response.reason}"
                raise _Failure(status, retry=response.status_code >= 500)
            length = response.headers.get("Content-Length", "")
            expected = int(length) if length.isdigit() else None
            digest, size = hashlib.sha256(), 0
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
                # The bytes as sent: some servers label a .gz "Content-Encoding: gzip", and
                # decoding it, as requests would, would change the file and its checksum.
                for chunk in response.raw.stream(1 << 16, decode_content=False):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                    bar.update(len(chunk))
                if expected is not None and size != expected:
                    raise _Failure(
                        f"connection closed after {size} of {expected} bytes", retry=True
                    )
                if digest.hexdigest() != sha256:
                    raise _Failure(
                        f"SHA-256 mismatch: got {digest.hexdigest()} ({size} bytes), "
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
