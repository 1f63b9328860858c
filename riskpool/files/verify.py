"""Comparing published results with a rerun: the checks behind ``riskpool verify``.

The published data are the claim under test. Each published result is compared with the rerun's,
field by field (JSON) or column by column (parquet), whatever the manifest's hashes say: a file
edited together with its hash in the manifest is still caught. The manifest's byte hashes
(``files``) and data digests (``data``) only say which file changed and how: bytes that differ
from the record while the data equal the rerun's are formatting (a re-save), a warning.
``riskpool/reproduce.py`` makes the reruns.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .. import scenario as scenario_mod
from .digests import data_digest, sha256_of
from .provenance import running_code, same_commit

MAX_FIELDS_SHOWN = 8  # differing summary fields named on one line


@dataclass
class Report:
    """What verify found."""

    problems: list[str] = field(default_factory=list)  # the results cannot be trusted as published
    warnings: list[str] = field(default_factory=list)  # other code or libraries, formatting-only changes
    notes: list[str] = field(default_factory=list)  # what was rerun (a sample of a sweep's points)

    @property
    def identical(self) -> bool:
        return not self.problems


def read_manifest(path: Path) -> dict[str, Any]:
    """A manifest of a known kind; ValueError (or KeyError) for anything else."""
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(manifest, dict):
        raise ValueError("the file is JSON but not a manifest object")
    if manifest.get("kind", "run") not in KINDS:
        raise ValueError(f"unknown kind of manifest {manifest.get('kind')!r}")
    return manifest


def check_run_record(manifest: dict[str, Any], report: Report) -> scenario_mod.Scenario:
    """A run manifest's scenario against its scenario_sha256, and its seed and paths against the
    scenario's; returns the scenario."""
    s = scenario_mod.validate(manifest["scenario"])
    if s.sha256() != manifest.get("scenario_sha256"):
        report.problems.append("manifest: its scenario does not match its scenario_sha256 (the manifest was edited)")
    for key in ("seed", "paths"):
        if manifest.get(key) != getattr(s.simulation, key):
            report.problems.append(f"manifest: its {key} ({manifest.get(key)}) is not its scenario's ({getattr(s.simulation, key)})")
    return s


def check_base(base: scenario_mod.Scenario, recorded: str | None, report: Report) -> None:
    """A batch manifest's base scenario against its recorded base_sha256."""
    if base.sha256() != recorded:
        report.problems.append("manifest: its base scenario does not match its base_sha256 (the manifest was edited)")


def sampling_method(manifest: dict[str, Any]) -> str:
    """The method that produced the files (plain for manifests older than importance sampling);
    the importance-sampling shift is recomputed from the scenario, not read from the manifest."""
    method = (manifest.get("sampling") or {"method": "plain"})["method"]
    if method not in ("plain", "importance"):
        raise ValueError(f"sampling method {method!r} is neither plain nor importance")
    return method


# --------------------------------------------------------------------------- the code and libraries


def check_code(manifest: dict[str, Any], report: Report) -> None:
    """Warn when the riskpool here is not the one that made the results: by the digest of its
    package files where the manifest records one, else by its version and commit."""
    here = running_code()
    recorded = manifest.get("code_sha256")
    version, commit = manifest.get("riskpool_version"), manifest.get("git_commit")
    if recorded == here.sha256:
        if version != here.version:
            report.warnings.append(f"riskpool {here.version} here, {version} in the manifest, with the same package code")
        return
    if recorded is not None:
        made_by = f"{version}, code_sha256 {recorded[:12]}" + (", with uncommitted changes" if manifest.get("git_dirty") else "")
        report.warnings.append(f"riskpool's code here ({here.version}, code_sha256 {here.sha256[:12]}) is not the "
                               f"code that made the results ({made_by}): results may differ")
        return
    if version != here.version:
        report.warnings.append(f"riskpool {here.version} here, {version} in the manifest: results may differ")
    if commit and here.commit and not same_commit(commit, here.commit):
        report.warnings.append(f"commit {here.commit[:12]} here, {commit[:12]} in the manifest: results may differ")


def check_libraries(manifest: dict[str, Any], report: Report) -> None:
    from .manifest import versions

    for package, version in versions().items():
        recorded = manifest.get("versions", {}).get(package)
        if recorded != version:
            report.warnings.append(f"{package} {version} here, {recorded} in the manifest: results may differ")


# --------------------------------------------------------------------------- comparing files


def compare_with_rerun(names, published: Path, fresh: Path, manifest: dict[str, Any], report: Report) -> None:
    """Each of ``names``: the published data against the rerun's, then the manifest's records."""
    recorded = manifest.get("data") or {}
    for name in names:
        if name not in recorded:
            report.problems.append(f"manifest: records no data digest of {name}")
        path = published / name
        if not path.exists():
            report.problems.append(f"{name}: missing beside the manifest")
            continue
        rerun = data_digest(fresh / name)
        try:
            difference = _difference(path, fresh / name, rerun)
        except (OSError, ValueError, pa.ArrowInvalid) as exc:  # damaged: no longer parquet, or JSON
            report.problems.append(f"{name}: it cannot be read any more ({type(exc).__name__})")
            continue
        record = recorded.get(name, {}).get("sha256")
        if difference:
            how = "the published file was changed after the run" if record == rerun["sha256"] else \
                "the published data are not the rerun's"
            report.problems.append(f"{name}: {how}: {difference}")
            continue
        if name in recorded and record != rerun["sha256"]:
            report.problems.append(f"manifest: its data digest of {name} is not that of the published data "
                                   "(the manifest was edited)")
        _check_bytes(name, path, manifest, report)


def check_record(name: str, path: Path, manifest: dict[str, Any], report: Report) -> pa.Table | None:
    """A published table that is not rerun whole: its data against the manifest's digest;
    returns the table, or None when it is missing or unreadable."""
    if not path.is_file():
        report.problems.append(f"{name}: missing beside the manifest")
        return None
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        report.problems.append(f"{name}: it cannot be read ({type(exc).__name__})")
        return None
    record = (manifest.get("data") or {}).get(name)
    if record is None:
        report.problems.append(f"manifest: records no data digest of {name}")
        return table
    digest = data_digest(path)
    if digest["sha256"] != record.get("sha256"):
        columns = [c for c, h in digest.get("columns", {}).items() if record.get("columns", {}).get(c) != h]
        report.problems.append(f"{name}: its data are not those the manifest records (changed after the run)"
                               + (f": columns {', '.join(columns)}" if columns else ""))
        return table
    _check_bytes(name, path, manifest, report)
    return table


def compare_row(name: str, where: str, published: dict[str, Any] | None, rerun: dict[str, Any], report: Report) -> None:
    """One published table row (of a point, or a point's node) against the rerun's."""
    if published is None:
        report.problems.append(f"{name}: {where} is missing")
        return
    fields = [(key, published.get(key), value) for key, value in rerun.items() if not same(published.get(key), value)]
    if fields:
        report.problems.append(f"{name}: {where}: " + _fields_text(fields))


def listed(what: str, ks: list[int]) -> str:
    """``missing: 3, 4`` (at most MAX_FIELDS_SHOWN numbers, then a count); '' for none."""
    if not ks:
        return ""
    shown = ", ".join(map(str, ks[:MAX_FIELDS_SHOWN]))
    return f"{what}: {shown}" + (f" and {len(ks) - MAX_FIELDS_SHOWN} more" if len(ks) > MAX_FIELDS_SHOWN else "")


def _check_bytes(name: str, path: Path, manifest: dict[str, Any], report: Report) -> None:
    if sha256_of(path) != (manifest.get("files") or {}).get(name):
        report.warnings.append(f"{name}: its bytes are not those the manifest records, but its data are the same "
                               "(re-saved or reformatted: formatting only)")


def _difference(published: Path, fresh: Path, rerun: dict[str, Any]) -> str:
    """'' when the two files hold the same data, else what differs."""
    if published.suffix == ".parquet":
        mine = data_digest(published)
        return "" if mine["sha256"] == rerun["sha256"] else _column_diff(published, fresh, mine, rerun)
    a = json.loads(published.read_text(encoding="utf-8"))
    b = json.loads(fresh.read_text(encoding="utf-8"))
    fields = _json_differences(a, b)
    return _fields_text(fields) if fields else ""


MISSING = object()


def _json_differences(a: Any, b: Any, at: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted field, published value, rerun value) of every leaf that differs."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in [*a, *(k for k in b if k not in a)]:
            out += _json_differences(a.get(key, MISSING), b.get(key, MISSING), f"{at}.{key}" if at else str(key))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _json_differences(x, y, f"{at}[{i}]")]
    return [] if same(a, b) else [(at or "(the whole file)", a, b)]


def same(a: Any, b: Any) -> bool:
    """Equal values: numbers by value (600 and 600.0 are the same), but a flag is not a number."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    numbers = isinstance(a, int | float) and isinstance(b, int | float)
    return a == b and (numbers or type(a) is type(b))


def _fields_text(fields: list[tuple[str, Any, Any]]) -> str:
    def shown(value: Any) -> str:
        return "absent" if value is MISSING else json.dumps(value, ensure_ascii=False)

    parts = [f"{key} is {shown(x)} published, {shown(y)} in the rerun" for key, x, y in fields[:MAX_FIELDS_SHOWN]]
    more = len(fields) - MAX_FIELDS_SHOWN
    return "; ".join(parts) + (f"; and {more} more field{'s' if more > 1 else ''}" if more > 0 else "")


def _column_diff(published: Path, fresh: Path, a: dict[str, Any], b: dict[str, Any]) -> str:
    """Columns whose digests differ, each with the largest absolute difference where numeric."""
    names = [c for c in a["columns"] if a["columns"][c] != b["columns"].get(c)]
    names += [c for c in b["columns"] if c not in a["columns"]]
    parts = [f"{column}{_largest_difference(published, fresh, column)}" for column in names]
    rows = f"{a['rows']} rows published, {b['rows']} in the rerun; " if a["rows"] != b["rows"] else ""
    return rows + ("columns " + ", ".join(parts) if parts else "the same columns in another order")


def _largest_difference(published: Path, fresh: Path, column: str) -> str:
    try:
        x = pq.read_table(published, columns=[column]).column(0).combine_chunks()
        y = pq.read_table(fresh, columns=[column]).column(0).combine_chunks()
    except (ValueError, KeyError, OSError, pa.ArrowInvalid):
        return " (absent from one of the two)"
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


KINDS = ("run", "size", "sweep", "sensitivity")  # kinds of result folder (docs/model.md section 8.10)
