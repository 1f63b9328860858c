"""``riskpool verify``: rerun what a manifest describes and compare it with the published files.

The published data are the claim under test. Every published result is compared with a rerun
made from the manifest alone, field by field (JSON) or column by column (parquet), whatever the
manifest's hashes say: a file edited together with its hash in the manifest is still caught.
The manifest's byte hashes (``files``) and data digests (``data``) only say which file changed
and how: bytes that differ from the record while the data equal the rerun's are formatting
(a re-save), reported as a warning.

Runs and sizing answers are rerun whole. Sweeps and sensitivity studies check every published
row against the design (point numbers, swept values, refused points) and the manifest's
digests, and rerun a sample of their points (all of them on request).
"""

from __future__ import annotations

import json
import math
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .. import scenario as scenario_mod
from .digests import data_digest, sha256_file
from .provenance import running_code, same_commit

DEFAULT_POINTS = 3  # points of a sweep rerun by default
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


def verify(manifest_path: Path, workers: int = 1, points: int | None = DEFAULT_POINTS) -> Report:
    """Rerun what ``manifest_path`` describes and compare every published result with it.

    ``points``: how many points of a sweep or sensitivity study to rerun (None: all of them).
    """
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if not isinstance(manifest, dict):
        raise ValueError("the file is JSON but not a manifest object")
    kind = manifest.get("kind", "run")
    if kind not in VERIFIERS:
        raise ValueError(f"unknown kind of manifest {kind!r}")
    report = Report()
    check_code(manifest, report)
    check_libraries(manifest, report)
    VERIFIERS[kind](manifest, manifest_path.parent, report, workers, points)
    return report


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


# --------------------------------------------------------------------------- runs


def verify_run(manifest: dict[str, Any], folder: Path, report: Report, workers: int, points: int | None) -> None:
    """Rerun a run from its manifest and compare its four result files."""
    from ..engine import simulate
    from ..metrics import summarize
    from .runfolder import RESULT_FILES, write_run

    s = _scenario(manifest, "scenario")
    if s.sha256() != manifest.get("scenario_sha256"):
        report.problems.append("manifest: its scenario does not match its scenario_sha256 (the manifest was edited)")
    for key in ("seed", "paths"):
        if manifest.get(key) != getattr(s.simulation, key):
            report.problems.append(f"manifest: its {key} ({manifest.get(key)}) is not its scenario's ({getattr(s.simulation, key)})")
    method = sampling_method(manifest)
    with tempfile.TemporaryDirectory(prefix="riskpool-verify-") as tmp:
        fresh = Path(tmp)
        res = simulate(s, paths=manifest["paths"], seed=manifest["seed"], workers=workers, method=method,
                       spool_folder=fresh)
        recorded_shift = (manifest.get("sampling") or {}).get("shift", [])
        if method == "importance" and list(res.sampling.shift) != recorded_shift:
            report.problems.append(f"manifest: its importance-sampling shift {recorded_shift} is not the one found "
                                   f"here, {list(res.sampling.shift)}")
        write_run(res, summarize(res), fresh, ["riskpool", "verify"], started=None)
        res.release()
        compare_with_rerun(RESULT_FILES, folder, fresh, manifest, report)


def sampling_method(manifest: dict[str, Any]) -> str:
    """The method that produced the files (plain for manifests older than importance sampling);
    the importance-sampling shift is recomputed from the scenario, not read from the manifest."""
    method = (manifest.get("sampling") or {"method": "plain"})["method"]
    if method not in ("plain", "importance"):
        raise ValueError(f"sampling method {method!r} is neither plain nor importance")
    return method


def _scenario(manifest: dict[str, Any], key: str) -> scenario_mod.Scenario:
    return scenario_mod.validate(manifest[key])


# --------------------------------------------------------------------------- sizing answers


def verify_size(manifest: dict[str, Any], folder: Path, report: Report, workers: int, points: int | None) -> None:
    """Rerun a sizing search from its manifest and compare its answer, field by field."""
    from ..study.sizing import ANSWER_FILE, size

    base = _scenario(manifest, "base_scenario")
    asked = manifest["sizing"]
    _check_base(base, asked.get("base_sha256"), report)
    answer = size(manifest["base_scenario"], asked["target"], node=asked.get("node"), tier=asked.get("tier"),
                  paths=asked["paths"], seed=asked["seed"], workers=workers, keep_leverage=asked["keep_leverage"])
    with tempfile.TemporaryDirectory(prefix="riskpool-verify-") as tmp:
        fresh = Path(tmp)
        answer.write(fresh / ANSWER_FILE)
        compare_with_rerun((ANSWER_FILE,), folder, fresh, manifest, report)


def _check_base(base: scenario_mod.Scenario, recorded: str | None, report: Report) -> None:
    if base.sha256() != recorded:
        report.problems.append("manifest: its base scenario does not match its base_sha256 (the manifest was edited)")


# --------------------------------------------------------------------------- sweeps and sensitivity studies


def verify_sweep(manifest: dict[str, Any], folder: Path, report: Report, workers: int, points: int | None) -> None:
    """Check every row of a sweep's tables against its grid and rerun a sample of its points."""
    from ..study import grid
    from ..study.sweep import prepare

    spec = manifest["sweep"]
    base = _scenario(manifest, "base_scenario")
    _check_base(base, spec.get("base_sha256"), report)
    axes = [grid.Axis(a["path"], tuple(a["values"])) for a in spec["axes"]]
    plan = prepare(manifest["base_scenario"], axes, grid.product(axes), spec["paths"], spec["seed"])
    _verify_points(plan, folder, manifest, report, workers, points)


def verify_sensitivity(manifest: dict[str, Any], folder: Path, report: Report, workers: int,
                       points: int | None) -> None:
    """A sweep's checks on the Sobol design's points, then the indices recomputed from the
    published points and compared with the published ``sensitivity.parquet``."""
    from ..study import sensitivity as sens

    asked = manifest["sensitivity"]
    base = _scenario(manifest, "base_scenario")
    _check_base(base, manifest.get("sweep", {}).get("base_sha256"), report)
    ranges = [(r["path"], r["low"], r["high"]) for r in asked["ranges"]]
    problem, plan = sens.plan(manifest["base_scenario"], ranges, asked["samples"], asked["paths"], asked["seed"])
    _verify_points(plan, folder, manifest, report, workers, points)
    published = folder / sens.POINTS_FILE
    if not published.is_file():
        return
    with tempfile.TemporaryDirectory(prefix="riskpool-verify-") as tmp:
        fresh = Path(tmp)
        sens.write_indices(sens.indices(problem, pq.read_table(published), asked["seed"]), fresh / sens.INDICES_FILE)
        compare_with_rerun((sens.INDICES_FILE,), folder, fresh, manifest, report)


def _verify_points(plan, folder: Path, manifest: dict[str, Any], report: Report, workers: int,
                   points: int | None) -> None:
    """The published point and node tables: their digests, every row's design, a rerun sample."""
    from ..study.backends import open_backend
    from ..study.store import NODES_FILE, POINTS_FILE
    from ..study.sweep import execute_points

    tables = {}
    for name in (POINTS_FILE, NODES_FILE):
        path = folder / name
        if not path.is_file():
            report.problems.append(f"{name}: missing beside the manifest")
            continue
        try:
            tables[name] = pq.read_table(path)
        except (OSError, pa.ArrowInvalid) as exc:
            report.problems.append(f"{name}: it cannot be read ({type(exc).__name__})")
            continue
        _check_record(name, path, manifest, report)
    if POINTS_FILE not in tables:
        return
    published = {row["point"]: row for row in tables[POINTS_FILE].to_pylist()}
    _check_design(plan, published, report)
    valid = [k for k in range(len(plan.points)) if k not in plan.problems and k in published]
    chosen = sorted(valid if points is None or points >= len(valid) else _sample(valid, points))
    if not chosen:
        return
    with open_backend(workers) as backend, tempfile.TemporaryDirectory(prefix="riskpool-verify-") as tmp:
        rerun_points, rerun_nodes = execute_points(plan, Path(tmp), backend, chosen)
    everything = ("every point" if len(valid) == len(plan.points) else "every valid point") if len(chosen) == len(valid) else \
        f"point{'s' if len(chosen) > 1 else ''} {', '.join(map(str, chosen))}"
    report.notes.append(f"{everything} of {len(plan.points)} rerun")
    for row in rerun_points.to_pylist():
        _compare_row(POINTS_FILE, f"point {row['point']}", published.get(row["point"]), row, report)
    if NODES_FILE in tables:
        nodes = {(r["point"], r["node"]): r for r in tables[NODES_FILE].to_pylist() if r["point"] in set(chosen)}
        for row in rerun_nodes.to_pylist():
            _compare_row(NODES_FILE, f"point {row['point']} node {row['node']}", nodes.get((row["point"], row["node"])),
                         row, report)


def _sample(valid: list[int], k: int) -> list[int]:
    """``k`` points drawn at random (from the operating system's entropy, so that a publisher
    cannot know which points an auditor will rerun)."""
    pool = list(valid)
    return [pool.pop(secrets.randbelow(len(pool))) for _ in range(k)]


def _check_design(plan, published: dict[int, dict[str, Any]], report: Report) -> None:
    """Every point of the design is published once, with its swept values, and refused points
    carry their reason and no figures."""
    from ..study.store import POINTS_FILE
    from ..study.sweep import stored_values

    expected = set(range(len(plan.points)))
    missing, extra = sorted(expected - set(published)), sorted(set(published) - expected)
    if missing or extra:
        report.problems.append(f"{POINTS_FILE}: the design has points 0-{len(plan.points) - 1}; "
                               + "; ".join(part for part in (_listed("missing", missing), _listed("not in it", extra)) if part))
    for k in sorted(expected & set(published)):
        row = published[k]
        for path, value in stored_values(plan.axes, plan.points[k]).items():
            if not _same(row.get(path), value):
                report.problems.append(f"{POINTS_FILE}: point {k}: {path} is {row.get(path)!r} published, "
                                       f"{value!r} in the design")
        problem = plan.problems.get(k)
        if row.get("problem") != problem:
            report.problems.append(f"{POINTS_FILE}: point {k}: its problem is {row.get('problem')!r} published, "
                                   f"{problem!r} here")


def _listed(what: str, ks: list[int]) -> str:
    if not ks:
        return ""
    shown = ", ".join(map(str, ks[:MAX_FIELDS_SHOWN]))
    return f"{what}: {shown}" + (f" and {len(ks) - MAX_FIELDS_SHOWN} more" if len(ks) > MAX_FIELDS_SHOWN else "")


def _compare_row(name: str, where: str, published: dict[str, Any] | None, rerun: dict[str, Any], report: Report) -> None:
    if published is None:
        report.problems.append(f"{name}: {where} is missing")
        return
    fields = [(key, published.get(key), value) for key, value in rerun.items() if not _same(published.get(key), value)]
    if fields:
        report.problems.append(f"{name}: {where}: " + _fields_text(fields))


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


def _check_record(name: str, path: Path, manifest: dict[str, Any], report: Report) -> None:
    """A published file that is not rerun whole: its data against the manifest's digest."""
    record = (manifest.get("data") or {}).get(name)
    if record is None:
        report.problems.append(f"manifest: records no data digest of {name}")
        return
    digest = data_digest(path)
    if digest["sha256"] != record.get("sha256"):
        columns = [c for c, h in digest.get("columns", {}).items() if record.get("columns", {}).get(c) != h]
        report.problems.append(f"{name}: its data are not those the manifest records (changed after the run)"
                               + (f": columns {', '.join(columns)}" if columns else ""))
        return
    _check_bytes(name, path, manifest, report)


def _check_bytes(name: str, path: Path, manifest: dict[str, Any], report: Report) -> None:
    if sha256_file(path) != (manifest.get("files") or {}).get(name):
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
    return [] if _same(a, b) else [(at or "(the whole file)", a, b)]


def _same(a: Any, b: Any) -> bool:
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


Verifier = Callable[[dict[str, Any], Path, Report, int, "int | None"], None]
VERIFIERS: dict[str, Verifier] = {"run": verify_run, "size": verify_size, "sweep": verify_sweep,
                                  "sensitivity": verify_sensitivity}
