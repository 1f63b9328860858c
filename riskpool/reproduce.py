"""``riskpool verify``: rerun what a manifest describes and compare it with the published files.

The published data are the claim under test. Every published result is compared with a rerun
made from the manifest alone, field by field (JSON) or column by column (parquet), whatever the
manifest's hashes say (the comparisons are in ``files/verify.py``). Runs and sizing answers are
rerun whole. Sweeps and sensitivity studies check every published row against their design and
the manifest's digests, and rerun a sample of their points (all of them on request).
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .files.contents import Contents
from .files.runfolder import result_files
from .files.verify import (
    Report,
    check_base,
    check_code,
    check_libraries,
    check_record,
    check_run_record,
    compare_row,
    compare_with_rerun,
    listed,
    read_manifest,
    same,
    sampling_method,
)
from .run import simulate
from .scenario import validate
from .study import grid
from .study import sensitivity as sens
from .study.backends import open_backend
from .study.sizing import ANSWER_FILE, size
from .study.store import NODES_FILE, PATHS_FILE, POINTS_FILE
from .study.sweep import Sweep, execute, prepare, stored_values

DEFAULT_POINTS = 3  # points of a sweep rerun by default


def verify(manifest_path: Path, workers: int = 1, points: int | None = DEFAULT_POINTS) -> Report:
    """Rerun what ``manifest_path`` describes and compare every published result with it.

    ``points``: how many points of a sweep or sensitivity study to rerun (None: all of them).
    """
    manifest = read_manifest(Path(manifest_path))
    report = Report()
    check_code(manifest, report)
    check_libraries(manifest, report)
    VERIFIERS[manifest.get("kind", "run")](manifest, Path(manifest_path).parent, report, workers, points)
    return report


def verify_run(manifest: dict[str, Any], folder: Path, report: Report, workers: int, points: int | None) -> None:
    """Rerun a run from its manifest and compare its four result files."""
    s = check_run_record(manifest, report)
    method = sampling_method(manifest)
    with tempfile.TemporaryDirectory(prefix="riskpool-verify-") as tmp:
        fresh = Path(tmp)
        with simulate(s, paths=manifest["paths"], seed=manifest["seed"], workers=workers, method=method,
                      spool_folder=fresh) as run:
            recorded_shift = (manifest.get("sampling") or {}).get("shift", [])
            if method == "importance" and list(run.results.sampling.shift) != recorded_shift:
                report.problems.append(f"manifest: its importance-sampling shift {recorded_shift} is not the one "
                                       f"found here, {list(run.results.sampling.shift)}")
            run.write(fresh, ["riskpool", "verify"])
        compare_with_rerun(result_files(s), folder, fresh, manifest, report)


def verify_size(manifest: dict[str, Any], folder: Path, report: Report, workers: int, points: int | None) -> None:
    """Rerun a sizing search from its manifest and compare its answer, field by field."""
    asked = manifest["sizing"]
    check_base(validate(manifest["base_scenario"]), asked.get("base_sha256"), report)
    answer = size(manifest["base_scenario"], asked["target"], node=asked.get("node"), tier=asked.get("tier"),
                  paths=asked["paths"], seed=asked["seed"], workers=workers, keep_leverage=asked["keep_leverage"])
    with tempfile.TemporaryDirectory(prefix="riskpool-verify-") as tmp:
        fresh = Path(tmp)
        answer.write(fresh / ANSWER_FILE)
        compare_with_rerun((ANSWER_FILE,), folder, fresh, manifest, report)


def verify_sweep(manifest: dict[str, Any], folder: Path, report: Report, workers: int, points: int | None) -> None:
    """Check every row of a sweep's tables against its grid and rerun a sample of its points."""
    spec = manifest["sweep"]
    check_base(validate(manifest["base_scenario"]), spec.get("base_sha256"), report)
    axes = [grid.Axis(a["path"], tuple(a["values"])) for a in spec["axes"]]
    plan = prepare(manifest["base_scenario"], axes, grid.product(axes), spec["paths"], spec["seed"])
    verify_points(plan, folder, manifest, report, workers, points)


def verify_sensitivity(manifest: dict[str, Any], folder: Path, report: Report, workers: int,
                       points: int | None) -> None:
    """A sweep's checks on the Sobol design's points, then the indices recomputed from the
    published points and compared with the published ``sensitivity.parquet``."""
    asked = manifest["sensitivity"]
    check_base(validate(manifest["base_scenario"]), manifest.get("sweep", {}).get("base_sha256"), report)
    ranges = [(r["path"], r["low"], r["high"]) for r in asked["ranges"]]
    problem, plan = sens.plan(manifest["base_scenario"], ranges, asked["samples"], asked["paths"], asked["seed"])
    verify_points(plan, folder, manifest, report, workers, points)
    published = Contents(folder)
    if not published.has(POINTS_FILE):
        return
    with tempfile.TemporaryDirectory(prefix="riskpool-verify-") as tmp:
        fresh = Path(tmp)
        sens.write_indices(sens.indices(problem, published.table(POINTS_FILE), asked["seed"]), fresh / sens.INDICES_FILE)
        compare_with_rerun((sens.INDICES_FILE,), folder, fresh, manifest, report)


def verify_points(plan: Sweep, folder: Path, manifest: dict[str, Any], report: Report, workers: int,
                  points: int | None) -> None:
    """The published point and node tables: their digests, every row's design, a rerun sample."""
    listed = [name for name in (POINTS_FILE, NODES_FILE, PATHS_FILE) if name != PATHS_FILE or name in manifest.get("files", {})]
    tables = {name: table for name in listed if (table := check_record(name, folder / name, manifest, report)) is not None}
    if POINTS_FILE not in tables:
        return
    published = {row["point"]: row for row in tables[POINTS_FILE].to_pylist()}
    check_design(plan, published, report)
    valid = [k for k in range(len(plan.points)) if k not in plan.problems and k in published]
    chosen = sorted(valid if points is None or points >= len(valid) else sample(valid, points))
    if not chosen:
        return
    with open_backend(workers) as backend:
        _, rerun_points, rerun_nodes, rerun_paths = execute(plan, None, backend, only=chosen)
    everything = "every point" if len(valid) == len(plan.points) else "every valid point"
    shown = everything if len(chosen) == len(valid) else f"point{'s' if len(chosen) > 1 else ''} {', '.join(map(str, chosen))}"
    report.notes.append(f"{shown} of {len(plan.points)} rerun")
    for row in rerun_points.to_pylist():
        compare_row(POINTS_FILE, f"point {row['point']}", published.get(row["point"]), row, report)
    if NODES_FILE in tables:
        nodes = {(r["point"], r["node"]): r for r in tables[NODES_FILE].to_pylist() if r["point"] in set(chosen)}
        for row in rerun_nodes.to_pylist():
            compare_row(NODES_FILE, f"point {row['point']} node {row['node']}", nodes.get((row["point"], row["node"])),
                        row, report)
    if PATHS_FILE in tables:
        paths = {(r["point"], r["path"]): r for r in tables[PATHS_FILE].to_pylist() if r["point"] in set(chosen)}
        for row in rerun_paths.to_pylist():
            compare_row(PATHS_FILE, f"point {row['point']} path {row['path']}", paths.get((row["point"], row["path"])),
                        row, report)


def sample(valid: list[int], k: int) -> list[int]:
    """``k`` points drawn at random (from the operating system's entropy, so that a publisher
    cannot know which points an auditor will rerun)."""
    pool = list(valid)
    return [pool.pop(secrets.randbelow(len(pool))) for _ in range(k)]


def check_design(plan: Sweep, published: dict[int, dict[str, Any]], report: Report) -> None:
    """Every point of the design is published once, with its swept values, and refused points
    carry their reason and no figures."""
    expected = set(range(len(plan.points)))
    missing, extra = sorted(expected - set(published)), sorted(set(published) - expected)
    if missing or extra:
        report.problems.append(f"{POINTS_FILE}: the design has points 0-{len(plan.points) - 1}; "
                               + "; ".join(part for part in (listed("missing", missing), listed("not in it", extra)) if part))
    for k in sorted(expected & set(published)):
        row = published[k]
        for path, value in stored_values(plan.axes, plan.points[k]).items():
            if not same(row.get(path), value):
                report.problems.append(f"{POINTS_FILE}: point {k}: {path} is {row.get(path)!r} published, "
                                       f"{value!r} in the design")
        problem = plan.problems.get(k)
        if row.get("problem") != problem:
            report.problems.append(f"{POINTS_FILE}: point {k}: its problem is {row.get('problem')!r} published, "
                                   f"{problem!r} here")


Verifier = Callable[[dict[str, Any], Path, Report, int, "int | None"], None]
VERIFIERS: dict[str, Verifier] = {"run": verify_run, "size": verify_size, "sweep": verify_sweep,
                                  "sensitivity": verify_sensitivity}
