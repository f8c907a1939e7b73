"""Running a learner's code in a child process: a deadline, capped output, no stdin.

The child may exit, loop forever, print megabytes or kill itself; the parent only waits, reads
at most `cap` bytes of what it printed, and stops its whole process group at the deadline.
Knows nothing of backprop: nn/verify.py says what the child runs and reads its result.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Finished:
    """How the child ended: its exit status (negative: killed by that signal), whether the
    deadline stopped it, the first `cap` bytes of its output and how many bytes it printed."""

    returncode: int
    timed_out: bool
    output: str
    output_bytes: int


def run_child(command: list[str], timeout: float, cap: int, env: dict | None = None) -> Finished:
    """Run command with stdout and stderr merged; stop it (and its children) after timeout s."""
    # A session of its own: Ctrl+C in the terminal reaches the checker, which then stops the
    # child, and killing the group also stops anything the learner's code started.
    child = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    kept, total = bytearray(), [0]

    def drain() -> None:
        # Reading everything, keeping only the start, so that a chatty child never blocks.
        while chunk := child.stdout.read1(1 << 16):
            total[0] += len(chunk)
            if len(kept) < cap:
                kept.extend(chunk[: cap - len(kept)])

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    timed_out = False
    try:
        child.wait(timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        _stop_group(child.pid)
        child.wait()
    reader.join(5)
    child.stdout.close()
    return Finished(child.returncode, timed_out, kept.decode(errors="replace"), total[0])


def _stop_group(pid: int) -> None:
    """SIGKILL the child's process group (ours alone: the child leads a new session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
