"""``riskpool sweep``: grid points on common random numbers, backends, resume and its store.

The contract is docs/model.md section 8 and docs/researchers.md: a 3x3 grid equals nine single runs; the
serial, process-pool and Dask backends give identical tables; a sweep killed with SIGKILL and
rerun ends identical to an uninterrupted one (no duplicate or partial rows); a store of another
sweep is refused; invalid points are stored with null figures and a problem; p_shortfall is
monotone along a PD axis when nothing but defaults changes; heatmaps; bad axes exit 2.

Everything uses the bundled ``minimal`` scenario with small path counts. Most sweeps run
in-process through ``riskpool.cli.main``; the Dask sweep and the killed sweeps run as real
``python -m riskpool`` subprocesses.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from processes import kill_group, reaped

from riskpool import cli, engine, limits, scenario
from riskpool.fates import BLOCK_PATHS
from riskpool.study import grid
from riskpool.study import sweep as sweep_mod
from riskpool.study.store import NODE_FIGURES, POINT_FIGURES

MINIMAL = "minimal"
TIERS = ("province", "city", "county")
MINIMAL_NODES = {"hunan": "province", "changsha": "city", "430104": "county"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# The 3x3 grid shared by several tests. Small funds so that shortfalls happen and the figures
# differ from point to point; 1300 paths = 5 full RNG blocks and a partial one of 50 paths.
SEED = 7
PATHS = 1300
SETS = ["--set", "funds.scale=0.05"]
PD_AXIS = "credit.annual_pd=0.02:0.1:3"
LAG_AXIS = "rules.claim_lag_months=0:6:3"
AXES_3X3 = ["--grid", PD_AXIS, "--grid", LAG_AXIS]


def sweep_argv(out: Path, *extra: str, axes: list[str] = AXES_3X3, paths: int = PATHS, seed: int = SEED,
               sets: list[str] = SETS) -> list[str]:
    return ["sweep", MINIMAL, *axes, "--paths", str(paths), "--seed", str(seed), *sets, *extra, "--out", str(out)]


def run_sweep(out: Path, *extra: str, **kw: Any) -> None:
    rc = cli.main(sweep_argv(out, *extra, **kw))
    assert rc == 0, f"sweep into {out} exited {rc}"


def parquet_tables(folder: Path) -> tuple[pa.Table, pa.Table]:
    return pq.read_table(folder / "sweep.parquet"), pq.read_table(folder / "sweep_nodes.parquet")


def store_tables(db: Path) -> tuple[pa.Table, pa.Table]:
    """The points and nodes tables of a store, in a stable order (the writer must be closed)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        points = con.sql("SELECT * FROM points ORDER BY point").to_arrow_table()
        nodes = con.sql("SELECT * FROM nodes ORDER BY point, node").to_arrow_table()
    finally:
        con.close()
    return points, nodes


def rows(table: pa.Table) -> list[dict[str, Any]]:
    return table.to_pylist()


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RISKPOOL_DEBUG", "COLUMNS", "LINES")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


@pytest.fixture(scope="module")
def grid3x3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 3x3 sweep, serial (the reference for the backend, single-run and heatmap tests)."""
    out = tmp_path_factory.mktemp("grid3x3") / "serial"
    run_sweep(out, "--workers", "1")
    return out


# --------------------------------------------------------------------------- 1. points = single runs


def test_points_are_numbered_first_axis_slowest(grid3x3: Path) -> None:
    points, nodes = parquet_tables(grid3x3)
    pds = np.linspace(0.02, 0.1, 3)
    lags = np.linspace(0, 6, 3)
    assert points.column_names == ["point", "credit.annual_pd", "rules.claim_lag_months", *POINT_FIGURES, "problem"]
    assert points.column("point").to_pylist() == list(range(9))
    assert [(r["credit.annual_pd"], r["rules.claim_lag_months"]) for r in rows(points)] == [
        (float(p), float(lag)) for p in pds for lag in lags
    ]
    assert points.column("problem").null_count == 9
    assert nodes.column_names == ["point", "node", "tier", *NODE_FIGURES]
    assert [(r["point"], r["node"], r["tier"]) for r in rows(nodes)] == [
        (k, node, MINIMAL_NODES[node]) for k in range(9) for node in sorted(MINIMAL_NODES)
    ]
    # the comparison with single runs below means something only if the figures vary
    p = points.column("p_shortfall").to_pylist()
    assert len(set(p)) == 9 and all(0 < v < 1 for v in p), p


def test_3x3_grid_equals_nine_single_runs(grid3x3: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each point's figures are exactly (==) those of ``riskpool run --json`` at its values."""
    points, nodes = parquet_tables(grid3x3)
    node_rows = rows(nodes)
    capsys.readouterr()
    for row in rows(points):
        k = row["point"]
        argv = ["run", MINIMAL, "--paths", str(PATHS), "--seed", str(SEED), *SETS,
                "--set", f"credit.annual_pd={row['credit.annual_pd']!r}",
                "--set", f"rules.claim_lag_months={int(row['rules.claim_lag_months'])}", "--json"]
        assert cli.main(argv) == 0
        summary = json.loads(capsys.readouterr().out)
        assert (summary["paths"], summary["seed"]) == (PATHS, SEED)
        fund = summary["fund"]
        expected = {
            "p_shortfall": fund["p_shortfall"],
            "p_shortfall_se": fund["p_shortfall_se"],
            "payout_net_mean": fund["payout_net"]["mean"],
            "required_capital_q95": fund["required_capital"]["q95"],
            "unpaid_mean": fund["unpaid_mean"],
            **{f"p_shortfall_{t}": summary["tiers"][t]["p_shortfall"] for t in TIERS},
        }
        assert {f: row[f] for f in expected} == expected, f"point {k}"

        mine = {r["node"]: r for r in node_rows if r["point"] == k}
        assert set(mine) == set(summary["nodes"]), f"point {k}"
        for node, v in summary["nodes"].items():
            want = {
                "tier": v["tier"],
                "p_shortfall": v["p_shortfall"], "p_shortfall_se": v["p_shortfall_se"],
                "first_shortfall_month_p50": v["first_shortfall_month"]["p50"],
                "payout_net_mean": v["payout_net"]["mean"], "unpaid_mean": v["unpaid_mean"],
                "required_capital_q95": v["required_capital"]["q95"],
                "required_capital_q99": v["required_capital"]["q99"],
            }
            assert {f: mine[node][f] for f in want} == want, f"point {k}, node {node}"


# --------------------------------------------------------------------------- 2. backends


def test_grid_splits_points_into_several_tasks_with_three_workers() -> None:
    """Guard: with 3 workers a point of the 3x3 grid spans several tasks, so the backend test
    below really reassembles points from blocks that finish out of order."""
    axes = [grid.parse_grid(PD_AXIS), grid.parse_grid(LAG_AXIS)]
    plan = sweep_mod.prepare(scenario.read_raw_with(MINIMAL, ["funds.scale=0.05"]), axes, grid.product(axes), PATHS, SEED)
    assert len(engine.plan_blocks(PATHS)) == 6 and PATHS % BLOCK_PATHS
    tasks = sweep_mod.plan_tasks(plan, list(range(9)), workers=3)
    per_point = [sum(1 for k, _ in tasks if k == p) for p in range(9)]
    assert min(per_point) >= 2, per_point
    assert sorted(b for k, blocks in tasks if k == 0 for b, _ in blocks) == list(range(6))


@pytest.mark.parametrize("workers", ["2", "3"])
def test_process_pool_equals_serial(grid3x3: Path, tmp_path: Path, workers: str) -> None:
    out = tmp_path / f"workers{workers}"
    run_sweep(out, "--workers", workers)
    for mine, ref in zip(parquet_tables(out), parquet_tables(grid3x3)):
        assert mine.equals(ref)
    for mine, ref in zip(store_tables(out / "sweep.duckdb"), store_tables(grid3x3 / "sweep.duckdb")):
        assert mine.equals(ref)


def test_dask_local_cluster_equals_serial(grid3x3: Path, tmp_path: Path) -> None:
    """Run as ``python -m riskpool`` (cwd tmp_path) so the LocalCluster's workers start cleanly."""
    out = tmp_path / "dask"
    proc = subprocess.run(
        [sys.executable, "-m", "riskpool", *sweep_argv(out, "--dask-local", "3")],
        cwd=tmp_path, env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    for mine, ref in zip(parquet_tables(out), parquet_tables(grid3x3)):
        assert mine.equals(ref)


# --------------------------------------------------------------------------- 3. kill and resume

# Big enough to take a few seconds: 15 points of 10,000 paths (40 RNG blocks each); the string
# axis also makes the store hold a VARCHAR column.
KILL_AXES = ["--grid", "credit.annual_pd=0.01:0.1:5", "--values", "rules.shortfall=queue,parent,bank"]
KILL_PATHS = 10_000
KILL_POINTS = 15


def kill_argv(out: Path, workers: str) -> list[str]:
    return sweep_argv(out, "--workers", workers, axes=KILL_AXES, paths=KILL_PATHS, seed=3)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kill") / "uninterrupted"
    assert cli.main(kill_argv(out, "1")) == 0
    return out


def stored_points(out: Path, scratch: Path) -> int | None:
    """Points stored so far, read through a copy of the live store (None if not readable yet)."""
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        for name in ("sweep.duckdb", "sweep.duckdb.wal"):
            if (out / name).exists():
                shutil.copy(out / name, scratch / name)
        con = duckdb.connect(str(scratch / "sweep.duckdb"))
        try:
            return con.execute("SELECT count(*) FROM points").fetchone()[0]
        finally:
            con.close()
    except (OSError, duckdb.Error):
        return None


def start_and_kill(out: Path, workers: str, at_least: int, extra_delay: float, scratch: Path, reference: Path) -> int:
    """Start the sweep, SIGKILL it (with any worker processes) once ``at_least`` points are
    stored plus ``extra_delay`` seconds; returns how many points the store then holds, after
    checking that they are complete and equal to the uninterrupted sweep's."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "riskpool", *kill_argv(out, workers)],
        cwd=out.parent, env=clean_env(), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    with reaped(proc):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            n = stored_points(out, scratch)
            if n is not None and n >= at_least:
                break
            time.sleep(0.03)
        time.sleep(extra_delay)
        finished_first = proc.poll() is not None
        if not finished_first:
            kill_group(proc)  # the sweep and its pool workers: a crash
        proc.wait(timeout=30)
        err = proc.stderr.read().decode() if proc.stderr else ""
    assert not finished_first, f"the sweep finished (rc {proc.returncode}) before it could be killed: {err}"
    assert proc.returncode == -signal.SIGKILL
    points, nodes = store_tables(out / "sweep.duckdb")
    check_complete_points(points, nodes)
    assert at_least <= points.num_rows < KILL_POINTS, points.num_rows
    assert not (out / "sweep.parquet").exists()
    ref_points, ref_nodes = store_tables(reference / "sweep.duckdb")
    stored = set(points.column("point").to_pylist())
    assert rows(points) == [r for r in rows(ref_points) if r["point"] in stored]
    assert rows(nodes) == [r for r in rows(ref_nodes) if r["point"] in stored]
    return points.num_rows


def check_complete_points(points: pa.Table, nodes: pa.Table) -> None:
    """No duplicate rows, no point without all its node rows, no node rows without a point."""
    ks = points.column("point").to_pylist()
    assert len(ks) == len(set(ks))
    keys = list(zip(nodes.column("point").to_pylist(), nodes.column("node").to_pylist()))
    assert len(keys) == len(set(keys))
    assert sorted(keys) == sorted((k, n) for k in ks for n in MINIMAL_NODES)
    assert points.column("p_shortfall").null_count == 0


@pytest.mark.parametrize(
    "workers, kills",
    [
        pytest.param("1", [(1, 0.0)], id="serial-after-first-point"),
        pytest.param("2", [(KILL_POINTS // 2, 0.07)], id="pool-midway"),
        pytest.param("1", [(KILL_POINTS // 4, 0.13), (3 * KILL_POINTS // 4, 0.0)], id="serial-killed-twice"),
    ],
)
def test_killed_sweep_resumes_to_the_uninterrupted_result(
    uninterrupted: Path, tmp_path: Path, workers: str, kills: list[tuple[int, float]]
) -> None:
    out = tmp_path / "killed"
    out.mkdir()
    before = 0
    for at_least, delay in kills:
        stored = start_and_kill(out, workers, at_least, delay, tmp_path / "copy", uninterrupted)
        assert stored >= before
        before = stored
    proc = subprocess.run(
        [sys.executable, "-m", "riskpool", *kill_argv(out, workers)],
        cwd=tmp_path, env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    points, nodes = store_tables(out / "sweep.duckdb")
    check_complete_points(points, nodes)
    ref_points, ref_nodes = store_tables(uninterrupted / "sweep.duckdb")
    assert points.num_rows == KILL_POINTS
    assert points.equals(ref_points)
    assert nodes.equals(ref_nodes)
    for mine, ref in zip(parquet_tables(out), parquet_tables(uninterrupted)):
        assert mine.equals(ref)
    assert not [p.name for p in out.iterdir() if ".tmp-" in p.name]


# --------------------------------------------------------------------------- 4. another sweep, same --out


def folder_state(folder: Path) -> dict[str, Any]:
    points, nodes = store_tables(folder / "sweep.duckdb")
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix in (".parquet", ".png", ".html")}
    return {"points": rows(points), "nodes": rows(nodes), "files": files}


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"axes": ["--grid", "credit.annual_pd=0.02:0.1:4", "--grid", LAG_AXIS]}, id="grid-count"),
        pytest.param({"axes": ["--grid", "credit.annual_pd=0.02:0.12:3", "--grid", LAG_AXIS]}, id="grid-stop"),
        pytest.param({"axes": ["--grid", PD_AXIS]}, id="fewer-axes"),
        pytest.param({"seed": SEED + 1}, id="seed"),
        pytest.param({"paths": PATHS + 1}, id="paths"),
        pytest.param({"sets": ["--set", "funds.scale=0.06"]}, id="scenario"),
    ],
)
def test_other_sweep_into_existing_out_is_refused(
    grid3x3: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, Any]
) -> None:
    out = tmp_path / "existing"
    shutil.copytree(grid3x3, out)
    before = folder_state(out)
    capsys.readouterr()
    rc = cli.main(sweep_argv(out, **change))
    err = capsys.readouterr().err
    assert rc == 2
    lines = error_lines(err)
    assert len(lines) == 1 and lines[0].startswith("error: --out"), err
    assert "another scenario, grid, seed or path count" in lines[0]
    assert "Traceback" not in err
    assert folder_state(out) == before


def test_same_sweep_into_existing_out_resumes_as_a_no_op(grid3x3: Path, tmp_path: Path) -> None:
    """The same specification is accepted, whatever the backend, and changes no figure."""
    out = tmp_path / "existing"
    shutil.copytree(grid3x3, out)
    before = folder_state(out)
    run_sweep(out, "--workers", "2")
    after = folder_state(out)
    assert (after["points"], after["nodes"]) == (before["points"], before["nodes"])
    for name in ("sweep.parquet", "sweep_nodes.parquet"):
        assert pq.read_table(out / name).equals(pq.read_table(grid3x3 / name))


# --------------------------------------------------------------------------- 5. invalid points

RECOVERY_AXES = ["--grid", "collateral.recovery_mean=0:0.3:4", "--grid", "rules.claim_lag_months=0:6:2"]


def test_invalid_points_are_stored_with_a_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """recovery_mean 0 with the minimal scenario's recovery_sd 0.1 has no Beta distribution."""
    out = tmp_path / "recovery"
    argv = sweep_argv(out, axes=RECOVERY_AXES, paths=300)
    capsys.readouterr()
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    points, nodes = parquet_tables(out)
    assert points.num_rows == 8
    bad = [r for r in rows(points) if r["collateral.recovery_mean"] == 0.0]
    good = [r for r in rows(points) if r["collateral.recovery_mean"] != 0.0]
    assert [r["point"] for r in bad] == [0, 1]
    for r in bad:
        assert all(r[f] is None for f in POINT_FIGURES), r
        assert r["problem"] and "recovery_sd" in r["problem"], r
        assert f"warning: point {r['point']} not simulated" in err
    for r in good:
        assert r["problem"] is None
        assert all(r[f] is not None for f in POINT_FIGURES), r
    assert sorted(set(nodes.column("point").to_pylist())) == [r["point"] for r in good]
    assert nodes.num_rows == 3 * len(good)
    # the heatmap is still drawn, with empty cells where no point is valid
    assert (out / "heatmap.png").read_bytes().startswith(PNG_SIGNATURE)
    assert (out / "heatmap.html").exists()
    # resuming stores nothing twice
    assert cli.main(argv) == 0
    again, again_nodes = parquet_tables(out)
    assert again.equals(points) and again_nodes.equals(nodes)


def test_sweep_with_no_valid_point_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "none"
    capsys.readouterr()
    rc = cli.main(sweep_argv(out, axes=["--grid", "collateral.recovery_mean=0:0:2"], paths=300))
    err = capsys.readouterr().err
    assert rc == 2
    assert len(error_lines(err)) == 1 and "recovery_sd" in err, err
    assert not (out / "sweep.duckdb").exists()


def test_every_point_is_checked_against_the_resource_limits() -> None:
    """Checked without simulating: a point needing ~37,000 GiB per block must be refused up
    front (the whole sweep, or that point stored as a problem), as `riskpool run` refuses it."""
    axes = [grid.parse_values("regions.430104.lending.new_loans_per_year=12,50000000")]
    huge = scenario.load(MINIMAL, ["regions.430104.lending.new_loans_per_year=50000000"], simulation__paths=300)
    with pytest.raises(scenario.ScenarioError):
        limits.check_resources(huge, 300)  # what `riskpool run` does
    try:
        plan = sweep_mod.prepare(scenario.read_raw_with(MINIMAL), axes, grid.product(axes), 300, 1)
    except scenario.ScenarioError:
        return
    assert 1 in plan.problems


@pytest.mark.parametrize("axis", ["simulation.seed=1:3:3", "simulation.paths=300:900:3"])
def test_axis_over_seed_or_paths_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], axis: str) -> None:
    """Every point uses the sweep's one seed and path count, so sweeping them cannot be honoured:
    it must be refused (exit 2, naming the axis), not stored under values that were not used."""
    out = tmp_path / "seed-axis"
    capsys.readouterr()
    rc = cli.main(sweep_argv(out, axes=["--grid", axis], paths=300))
    err = capsys.readouterr().err
    assert rc == 2, f"accepted; stored p_shortfall: {pq.read_table(out / 'sweep.parquet').column('p_shortfall').to_pylist()}"
    assert len(error_lines(err)) == 1 and axis.split("=")[0] in err, err


# --------------------------------------------------------------------------- 6. common random numbers


def test_p_shortfall_is_monotone_along_pd(tmp_path: Path) -> None:
    """Leverage cap and circuit breaker off, recoveries after the horizon: with common random
    numbers a higher PD only adds defaults, so p_shortfall cannot fall."""
    out = tmp_path / "pd"
    sets = ["--set", "rules.leverage=0", "--set", "rules.circuit_breaker_npl=0", "--set", "rules.npl_warning=0",
            "--set", "collateral.disposal_months_mean=200", "--set", "funds.scale=0.05"]
    run_sweep(out, axes=["--grid", "credit.annual_pd=0.01:0.3:8"], paths=600, sets=sets)
    points, _ = parquet_tables(out)
    assert points.column("credit.annual_pd").to_pylist() == [float(v) for v in np.linspace(0.01, 0.3, 8)]
    p = points.column("p_shortfall").to_pylist()
    assert all(a <= b for a, b in zip(p, p[1:])), p
    assert p[0] < p[-1], p
    county = points.column("p_shortfall_county").to_pylist()
    assert all(a <= b for a, b in zip(county, county[1:])), county


# --------------------------------------------------------------------------- 7. heatmaps


def test_heatmaps_of_a_2d_grid(grid3x3: Path) -> None:
    png = (grid3x3 / "heatmap.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 5_000
    html = (grid3x3 / "heatmap.html").read_text(encoding="utf-8")
    assert "plotly" in html.lower() and len(html) > 100_000  # JavaScript embedded: opens offline
    assert "credit.annual_pd" in html and "rules.claim_lag_months" in html
    assert not re.search(r"<script[^>]*\bsrc=", html)  # no script fetched from a CDN


def test_no_heatmap_with_one_numeric_axis(uninterrupted: Path) -> None:
    assert not (uninterrupted / "heatmap.png").exists()
    assert not (uninterrupted / "heatmap.html").exists()


# --------------------------------------------------------------------------- 8. bad axes


@pytest.mark.parametrize(
    "axes, needles",
    [
        pytest.param(["--grid", "credit.annual_pd=0.1:0.2"], ["--grid credit.annual_pd", "START:STOP:COUNT"], id="no-count"),
        pytest.param(["--grid", "credit.annual_pd=0.1:0.2:x"], ["--grid credit.annual_pd", "START:STOP:COUNT"], id="bad-count"),
        pytest.param(["--grid", "credit.annual_pd=0.1:0.2:0"], ["--grid credit.annual_pd", "COUNT"], id="zero-count"),
        pytest.param(["--grid", "nosuch.key=0:1:3"], ["nosuch", "unknown key"], id="unknown-key"),
        pytest.param(["--grid", "credit.nosuch=0:1:3"], ["credit.nosuch", "unknown key"], id="unknown-field"),
        pytest.param([], ["--grid"], id="no-axis"),
    ],
)
def test_bad_axes_exit_2_with_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], axes: list[str], needles: list[str]
) -> None:
    out = tmp_path / "bad"
    capsys.readouterr()
    rc = cli.main(sweep_argv(out, axes=axes, paths=300))
    err = capsys.readouterr().err
    assert rc == 2
    lines = error_lines(err)
    assert len(lines) == 1, err
    assert all(n in lines[0] for n in needles), lines[0]
    assert "Traceback" not in err
    assert not out.exists()
