"""Reproducing a published run: digests of result data and ``riskpool verify``.

A result file's *data digest* is a SHA-256 over its content, not its bytes: for a parquet
table, each column's name, type, validity and values (strings as UTF-8, numbers as
little-endian float64 or int64); for JSON, the canonical text (sorted keys, compact). Two
writes of the same data by different pyarrow versions have different bytes but the same data
digest. ``verify`` reruns a run from its manifest alone and compares digests, column by column.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from . import scenario as scenario_mod


def column_digest(column: pa.ChunkedArray | pa.Array) -> str:
    """SHA-256 of one column's type, validity and values."""
    return _digest(column.type, lambda: [column])


def _digest(kind: pa.DataType, pieces) -> str:
    """The digest of a column given as consecutive non-empty pieces: ``pieces()`` yields them,
    once for the validity and once for the values, so that one piece is in memory at a time."""
    digest = hashlib.sha256(str(kind).encode())
    for piece in pieces():
        digest.update(np.asarray(_array(piece).is_valid(), dtype=np.uint8).tobytes())
    for i, piece in enumerate(pieces()):
        digest.update(_value_bytes(_array(piece), first=i == 0))
    return digest.hexdigest()


def _array(piece: pa.ChunkedArray | pa.Array) -> pa.Array:
    return piece.combine_chunks() if isinstance(piece, pa.ChunkedArray) else piece


def _value_bytes(array: pa.Array, first: bool) -> bytes:
    """Strings as UTF-8 joined by NUL (a NUL also between pieces), numbers as float64 or int64."""
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        text = "\0".join("" if v is None else v for v in array.to_pylist())
        return (text if first else "\0" + text).encode("utf-8")
    if pa.types.is_boolean(array.type):
        return np.asarray(array.fill_null(False), dtype=np.uint8).tobytes()
    if pa.types.is_integer(array.type):
        return np.asarray(array.fill_null(0), dtype="<i8").tobytes()
    return np.asarray(array.fill_null(0.0), dtype="<f8").tobytes()


def data_digest(path: Path) -> dict[str, Any]:
    """``{"sha256": ..., "columns": {name: sha256}}`` of a parquet table (read a row group of one
    column at a time, so that large tables need little memory), or the canonical JSON."""
    if path.suffix == ".parquet":
        table = pq.ParquetFile(path)
        schema = table.schema_arrow
        columns = {}
        for name in schema.names:
            groups = [g for g in range(table.num_row_groups) if table.metadata.row_group(g).num_rows]
            columns[name] = _digest(schema.field(name).type,
                                    lambda n=name, gs=groups: (table.read_row_group(g, columns=[n]).column(0) for g in gs))
        whole = hashlib.sha256(json.dumps(columns, sort_keys=False).encode()).hexdigest()
        return {"sha256": whole, "rows": table.metadata.num_rows, "columns": columns}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {"sha256": hashlib.sha256(canonical_json(data).encode()).hexdigest()}


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@dataclass
class Report:
    """What verify found: per file, whether the data is identical, and what differs."""

    problems: list[str] = field(default_factory=list)  # the run cannot be trusted as published
    warnings: list[str] = field(default_factory=list)  # e.g. other library versions

    @property
    def identical(self) -> bool:
        return not self.problems


def verify(manifest_path: Path, workers: int = 1) -> Report:
    """Rerun the run described by ``manifest_path`` and compare every result file's data."""
    from . import __version__
    from .engine import simulate
    from .metrics import summarize
    from .outputs import RESULT_FILES, versions, write_run

    report = Report()
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if not isinstance(manifest, dict):
        raise ValueError("the file is JSON but not a manifest object")
    if manifest.get("kind") == "sweep":
        raise ValueError("a sweep's manifest: rerun its recorded command into a new folder and compare sweep.parquet")
    if manifest.get("riskpool_version") != __version__:
        report.warnings.append(f"riskpool {__version__} here, {manifest.get('riskpool_version')} in the manifest: results may differ")
    for package, version in versions().items():
        recorded = manifest.get("versions", {}).get(package)
        if recorded != version:
            report.warnings.append(f"{package} {version} here, {recorded} in the manifest: results may differ")
    s = scenario_mod.validate(manifest["scenario"])
    if s.sha256() != manifest.get("scenario_sha256"):
        report.problems.append("manifest: its scenario does not match its scenario_sha256 (the manifest was edited)")
    for key in ("seed", "paths"):
        if manifest.get(key) != getattr(s.simulation, key):
            report.problems.append(f"manifest: its {key} ({manifest.get(key)}) is not its scenario's ({getattr(s.simulation, key)})")
    method = sampling_method(manifest)
    published = manifest_path.parent
    with tempfile.TemporaryDirectory(prefix="riskpool-verify-") as tmp:
        fresh = Path(tmp)
        res = simulate(s, paths=manifest["paths"], seed=manifest["seed"], workers=workers, method=method,
                       spool_folder=fresh)
        recorded_shift = (manifest.get("sampling") or {}).get("shift", [])
        if method == "importance" and list(res.sampling.shift) != recorded_shift:
            report.problems.append(f"manifest: its importance-sampling shift {recorded_shift} is not the one found "
                                   f"here, {list(res.sampling.shift)}")
        write_run(res, summarize(res), fresh, ["riskpool", "verify", str(manifest_path)], started=None)
        res.release()
        recorded_data = manifest.get("data") or {}
        for name in RESULT_FILES:
            if name not in recorded_data:
                report.problems.append(f"manifest: records no data digest of {name}, so it cannot be checked")
        for name, recorded in recorded_data.items():
            _check_published(name, manifest.get("files", {}).get(name), recorded, published / name, fresh / name, report)
            rerun = data_digest(fresh / name)
            if rerun["sha256"] != recorded["sha256"]:
                report.problems.append(f"{name}: the rerun differs from the manifest"
                                       + _column_diff(published / name, fresh / name, recorded, rerun))
    return report


def sampling_method(manifest: dict[str, Any]) -> str:
    """The method that produced the files (plain for manifests older than importance sampling);
    the importance-sampling shift is recomputed from the scenario, not read from the manifest."""
    method = (manifest.get("sampling") or {"method": "plain"})["method"]
    if method not in ("plain", "importance"):
        raise ValueError(f"sampling method {method!r} is neither plain nor importance")
    return method


def _check_published(name: str, recorded_bytes: str | None, recorded: dict[str, Any], published: Path, fresh: Path,
                     report: Report) -> None:
    """The published file must be byte for byte the one the manifest describes."""
    from .outputs import sha256_file

    if not published.exists():
        report.problems.append(f"{name}: missing beside the manifest")
        return
    if sha256_file(published) == recorded_bytes:
        return
    try:
        detail = _column_diff(published, fresh, data_digest(published), recorded)
    except Exception as exc:  # noqa: BLE001 - a damaged file cannot be parsed in many ways
        detail = f": it cannot be read any more ({type(exc).__name__})"
    report.problems.append(f"{name}: the published file was changed after the run{detail}")


def _column_diff(published: Path, fresh: Path, a: dict[str, Any], b: dict[str, Any]) -> str:
    """Columns whose digests differ, each with the largest absolute difference where numeric."""
    if "columns" not in a or "columns" not in b:
        return ""
    names = [c for c in a["columns"] if a["columns"][c] != b["columns"].get(c)]
    names += [c for c in b["columns"] if c not in a["columns"]]
    parts = []
    for column in names:
        parts.append(f"{column}{_largest_difference(published, fresh, column)}")
    return ": columns " + ", ".join(parts) if parts else ""


def _largest_difference(published: Path, fresh: Path, column: str) -> str:
    try:
        x = pq.read_table(published, columns=[column]).column(0).combine_chunks()
        y = pq.read_table(fresh, columns=[column]).column(0).combine_chunks()
    except (ValueError, KeyError, OSError, pa.ArrowInvalid):
        return ""
    if len(x) != len(y):
        return f" ({len(x)} rows against {len(y)})"
    x_valid, y_valid = np.asarray(x.is_valid()), np.asarray(y.is_valid())
    if (x_valid != y_valid).any():
        return f" (null in one and a value in the other in {int((x_valid != y_valid).sum())} rows)"
    if not (pa.types.is_integer(x.type) or pa.types.is_floating(x.type)) or not x_valid.any():
        return ""
    a = np.asarray(x.filter(x.is_valid()), dtype=float)
    b = np.asarray(y.filter(y.is_valid()), dtype=float)
    return f" (largest absolute difference {np.max(np.abs(a - b)):.6g})"
