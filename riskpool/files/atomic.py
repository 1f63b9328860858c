"""Files written whole or not at all: a temporary name, then a rename.

A folder of results holds complete files or none; a killed writer's temporaries carry its pid
and are deleted by the next writer in that folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..scenario import Problem, ScenarioError
from ..spool import process_alive


def json_text(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def atomic_write(path: Path, write) -> None:
    """Write through ``write(tmp)`` to a temporary name, then rename: complete files or none."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def remove_stale_temporaries(folder: Path, names: tuple[str, ...]) -> None:
    """Delete atomic_write's temporaries of ``names`` left by writers that were killed."""
    for name in names:
        for tmp in folder.glob(f".{name}.tmp-*"):
            pid = tmp.name.rpartition("-")[2]
            if pid.isdigit() and not process_alive(int(pid)):
                tmp.unlink(missing_ok=True)


def writable_folder(out: Path) -> None:
    """Create the output folder up front, so that a bad one fails before a run, not after it."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".riskpool-write-test"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise ScenarioError([Problem("out", str(out), f"cannot write results there ({exc.strerror or exc})")]) from None
