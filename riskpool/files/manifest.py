"""``manifest.json``: what made a result folder, and the hashes and digests of its files.

The manifest is written last, as the folder's commit marker (docs/reliability.md). Its keys are
specified in docs/model.md section 8.10.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from ..fates import BLOCK_PATHS, STREAMS
from ..metrics import QUANTILE_METHOD
from .atomic import atomic_write, json_text
from .digests import data_digest, sha256_of
from .provenance import running_code


def write_manifest(out: Path, body: dict[str, Any], files: list[str], command: list[str],
                   started: datetime | None) -> dict[str, Any]:
    """Write ``manifest.json`` into ``out`` last, as the folder's commit marker (``manifest_of``
    the files ``files`` of ``out``); returns it."""
    manifest = manifest_of(body, {name: out / name for name in files}, command, started)
    atomic_write(out / "manifest.json", lambda p: p.write_text(json_text(manifest), encoding="utf-8"))
    return manifest


def manifest_of(body: dict[str, Any], files: Mapping[str, Path | bytes], command: list[str],
                started: datetime | None) -> dict[str, Any]:
    """A manifest: the code that made the results, ``body``, the libraries, the command, the times,
    and the byte hash and data digest of each result file (on disk, or its bytes)."""
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return {
        **running_code().manifest(),
        **body,
        "versions": versions(),
        "platform": platform.platform(),
        "command": command,
        "started": started.isoformat(timespec="seconds") if started else now,
        "finished": now,
        "files": {name: sha256_of(source) for name, source in files.items()},
        "data": {name: data_digest(source, name) for name, source in files.items()},
    }


def versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("numpy", "scipy", "pandas", "pyarrow", "numba", "pydantic"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "absent"
    return versions


def sweep_randomness(seed: int) -> dict[str, Any]:
    """The randomness record of a batch of points that share one seed."""
    return {"bit_generator": "PCG64", "seed_sequence_entropy": seed, "block_paths": BLOCK_PATHS,
            "streams": list(STREAMS), "common_random_numbers": "every point uses the same seed"}


def write_sweep_manifest(out: Path, spec: dict[str, Any], base: dict[str, Any], command: list[str],
                         started: datetime, files: list[str]) -> dict[str, Any]:
    """The manifest of a sweep: its specification, base scenario, versions and data digests."""
    body = {"kind": "sweep", "sweep": spec, "base_scenario": base, "randomness": sweep_randomness(spec["seed"]),
            "quantile_method": QUANTILE_METHOD}
    return write_manifest(out, body, files, command, started)


def command_line() -> list[str]:
    return [Path(sys.argv[0]).name, *sys.argv[1:]]
