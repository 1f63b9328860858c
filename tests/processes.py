"""Child processes that the crash tests kill on purpose, and never leave behind."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process and everything it started (its session): a crash, workers included."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


@contextmanager
def reaped(proc: subprocess.Popen) -> Iterator[subprocess.Popen]:
    """Yield ``proc``; on the way out kill its group if it still runs and close its stderr."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            kill_group(proc)
        if proc.stderr:
            proc.stderr.close()
