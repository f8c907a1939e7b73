"""Temporary files written beside a target before being renamed over it: their names, and the
removal of those that a killed process (SIGKILL, a power cut) left behind.

A name records its writer's process id, so a leftover is only removed once that process is
gone: a save running at the same moment in another process keeps its file.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path


def temporary_path(target: Path, suffix: str) -> Path:
    """.NAME.PID.NANOSECONDS.SUFFIX beside target: hidden, and recognisably target's."""
    return target.with_name(f".{target.name}.{os.getpid()}.{time.monotonic_ns()}.{suffix}")


def remove_stale(target: Path, suffix: str) -> list[Path]:
    """Remove target's temporary files whose writing process no longer runs; return them."""
    removed = []
    with contextlib.suppress(OSError):
        for path in target.parent.glob(f".{glob_escape(target.name)}.*.*.{suffix}"):
            pid = path.name[len(target.name) + 2 :].split(".")[0]
            if pid.isdigit() and not _running(int(pid)):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed.append(path)
    return removed


def glob_escape(name: str) -> str:
    """name with glob's special characters matched literally."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
