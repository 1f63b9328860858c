"""``riskpool verify`` and reproducibility (auditors' issue; docs/auditing.md).

- The committed reference run ``reports/hunan-baseline`` verifies identical (through a real
  ``python -m riskpool`` subprocess, from the repository root).
- A fresh small run verifies identical; each kind of tampering is detected and named: a value
  in a result table (file, column, largest absolute difference), a value in summary.json, the
  scenario inside the manifest, a deleted or damaged result file, the same data rewritten in
  other bytes, an edited file hash. Other library versions give a warning and still verify. Bad
  manifests exit 2 without a traceback.
- Result files do not depend on how the run was split: ``--workers 1`` vs ``--workers 2``, and
  the grouping of RNG blocks into tasks, give identical data digests and byte-identical files.

"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from riskpool import cli, scenario
from riskpool.audit import data_digest
from riskpool.engine import simulate
from riskpool.fates import BLOCK_PATHS
from riskpool.metrics import summarize
from riskpool.outputs import RESULT_FILES, json_text, sha256_file, write_run

ROOT = Path(__file__).resolve().parents[1]
BASELINE = Path("reports/hunan-baseline/manifest.json")  # relative to ROOT, as an auditor types it
N_PATHS = 600  # two full RNG blocks and a partial one
SPLIT_SEED = 3
SPLIT_SETTINGS = ["funds.scale=0.05"]  # small funds: shortfalls, queues and parent tiers are exercised


# --------------------------------------------------------------------------- helpers


def riskpool_subprocess(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m riskpool ARGS`` with pipes for every stream, as in a script or CI log."""
    env = {k: v for k, v in os.environ.items() if k not in ("RISKPOOL_DEBUG", "COLUMNS", "LINES")}
    return subprocess.run(
        [sys.executable, "-m", "riskpool", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def verify_main(capsys: pytest.CaptureFixture[str], manifest: Path) -> tuple[int, str, str]:
    """``riskpool verify MANIFEST`` in-process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    rc = cli.main(["verify", str(manifest)])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def differs_lines(out: str) -> list[str]:
    lines = out.splitlines()
    assert lines, "verify printed nothing"
    assert all(line.startswith("differs: ") for line in lines), out
    return lines


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json_text(data), encoding="utf-8")


def rewrite_column(path: Path, column: str, change) -> None:
    """Rewrite a parquet file with pyarrow, ``column`` replaced by ``change(values)``."""
    table = pq.read_table(path)
    i = table.schema.get_field_index(column)
    field = table.schema.field(i)
    values = change(table.column(i).to_numpy(zero_copy_only=False).copy())
    table = table.set_column(i, field, pa.array(values, type=field.type))
    pq.write_table(table, path, compression="zstd")


def result_bytes(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in RESULT_FILES}


def manifest_of(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def assert_same_results(a: Path, b: Path) -> None:
    """Same data digests and file hashes in both manifests, and byte-identical result files."""
    ma, mb = manifest_of(a), manifest_of(b)
    assert ma["data"] == mb["data"]
    assert ma["files"] == mb["files"]
    bytes_a, bytes_b = result_bytes(a), result_bytes(b)
    for name in RESULT_FILES:
        assert bytes_a[name] == bytes_b[name], f"{name} differs"


# --------------------------------------------------------------------------- the reference run


def test_reference_run_verifies_identical() -> None:
    done = riskpool_subprocess("verify", str(BASELINE), cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == "identical\n", done.stdout
    assert "Traceback" not in done.stderr


def test_reference_run_is_the_documented_run() -> None:
    """How reports/hunan-baseline was made, and that its files are the ones the run wrote."""
    folder = ROOT / BASELINE.parent
    manifest = manifest_of(folder)
    assert manifest["command"] == ["riskpool", "run", "--paths", "2000", "--out", "reports/hunan-baseline"]
    assert manifest["paths"] == 2000
    assert manifest["seed"] == manifest["scenario"]["simulation"]["seed"]
    assert manifest["randomness"]["block_paths"] == BLOCK_PATHS
    assert sorted(manifest["data"]) == sorted(RESULT_FILES)
    for name in RESULT_FILES:
        assert data_digest(folder / name)["sha256"] == manifest["data"][name]["sha256"], name
        assert sha256_file(folder / name) == manifest["files"][name], f"{name}: committed bytes differ"


# --------------------------------------------------------------------------- a fresh run, tampered


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``riskpool run minimal --paths 600 --out tmp``: a published run folder (not to be modified)."""
    out = tmp_path_factory.mktemp("published") / "run"
    done = riskpool_subprocess("run", "minimal", "--paths", str(N_PATHS), "--out", str(out), cwd=out.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.fixture
def run(published: Path, tmp_path: Path) -> Path:
    """A copy of the published run folder, free to tamper with."""
    return Path(shutil.copytree(published, tmp_path / "run"))


def test_fresh_run_verifies_identical(capsys: pytest.CaptureFixture[str], run: Path) -> None:
    rc, out, err = verify_main(capsys, run / "manifest.json")
    assert (rc, out, err) == (0, "identical\n", "")


def test_fresh_run_verifies_identical_in_a_subprocess(run: Path) -> None:
    done = riskpool_subprocess("verify", "run/manifest.json", cwd=run.parent)
    assert (done.returncode, done.stdout) == (0, "identical\n"), done.stdout + done.stderr


@pytest.mark.parametrize(
    ("name", "column", "delta", "shown"),
    [
        ("paths.parquet", "loss_fund", 1234.5, "1234.5"),
        ("paths.parquet", "n_defaults", 2, "2"),
        ("nodes.parquet", "final_balance", -0.25, "0.25"),
        ("months.parquet", "balance_p50", 1e6, "1e+06"),
    ],
)
def test_changed_table_value_names_file_column_and_largest_difference(
    capsys: pytest.CaptureFixture[str], run: Path, name: str, column: str, delta: float, shown: str
) -> None:
    def change(values: np.ndarray) -> np.ndarray:
        values[5] += delta
        return values

    rewrite_column(run / name, column, change)
    rc, out, err = verify_main(capsys, run / "manifest.json")
    assert rc == 1
    lines = differs_lines(out)
    assert len(lines) == 1, out  # only the published file: the rerun still matches the manifest
    line = lines[0]
    assert line.startswith(f"differs: {name}: "), line
    assert f"columns {column} (largest absolute difference {shown})" in line, line
    assert line.count("largest absolute difference") == 1, line  # no other column is named
    assert err == ""


def test_changed_summary_value_names_summary(capsys: pytest.CaptureFixture[str], run: Path) -> None:
    summary = run / "summary.json"
    text = summary.read_text(encoding="utf-8")
    old = f'"paths": {N_PATHS},'
    assert text.count(old) == 1
    summary.write_text(text.replace(old, f'"paths": {N_PATHS + 1},'), encoding="utf-8")  # one digit
    rc, out, _ = verify_main(capsys, run / "manifest.json")
    assert rc == 1
    lines = differs_lines(out)
    assert len(lines) == 1, out
    assert lines[0].startswith("differs: summary.json: "), lines[0]


def compact_json(path: Path) -> None:
    path.write_text(json.dumps(json.loads(path.read_text(encoding="utf-8"))), encoding="utf-8")


def snappy_parquet(path: Path) -> None:
    pq.write_table(pq.read_table(path), path, compression="snappy")


@pytest.mark.parametrize(("name", "rewrite"), [("summary.json", compact_json), ("paths.parquet", snappy_parquet)])
def test_same_data_in_other_bytes_is_named(capsys: pytest.CaptureFixture[str], run: Path, name: str, rewrite) -> None:
    """A published file must be byte for byte the one the run wrote (the manifest's ``files``),
    even when its data is unchanged; the rerun itself is compared by data digest and matches."""
    before = (run / name).read_bytes()
    rewrite(run / name)
    assert (run / name).read_bytes() != before
    assert data_digest(run / name) == manifest_of(run)["data"][name]  # the same data
    rc, out, _ = verify_main(capsys, run / "manifest.json")
    assert rc == 1
    lines = differs_lines(out)
    assert len(lines) == 1, out
    assert lines[0].startswith(f"differs: {name}: "), out
    assert "largest absolute difference" not in lines[0]  # no column differs


@pytest.mark.parametrize("name", ["months.parquet", "summary.json"])
def test_damaged_result_file_is_named(capsys: pytest.CaptureFixture[str], run: Path, name: str) -> None:
    path = run / name
    path.write_bytes(path.read_bytes()[:1000])  # truncated: no longer parquet, or JSON
    rc, out, err = verify_main(capsys, run / "manifest.json")
    assert rc == 1, out + err
    lines = differs_lines(out)
    assert len(lines) == 1, out
    assert lines[0].startswith(f"differs: {name}: "), out


def test_changed_manifest_file_hash_is_named(capsys: pytest.CaptureFixture[str], run: Path) -> None:
    edit_json(run / "manifest.json", lambda m: m["files"].update({"paths.parquet": "0" * 64}))
    rc, out, _ = verify_main(capsys, run / "manifest.json")
    assert rc == 1
    assert [line.split(": ")[1] for line in differs_lines(out)] == ["paths.parquet"], out


def test_changed_manifest_scenario_names_the_manifest(capsys: pytest.CaptureFixture[str], run: Path) -> None:
    def change(manifest: dict[str, Any]) -> None:
        assert manifest["scenario"]["credit"]["annual_pd"] == 0.02
        manifest["scenario"]["credit"]["annual_pd"] = 0.03

    edit_json(run / "manifest.json", change)
    rc, out, _ = verify_main(capsys, run / "manifest.json")
    assert rc == 1
    lines = differs_lines(out)
    assert lines[0].startswith("differs: manifest: "), out
    assert "scenario_sha256" in lines[0]


@pytest.mark.parametrize("name", RESULT_FILES)
def test_deleted_result_file_is_named(capsys: pytest.CaptureFixture[str], run: Path, name: str) -> None:
    (run / name).unlink()
    rc, out, _ = verify_main(capsys, run / "manifest.json")
    assert rc == 1
    assert differs_lines(out) == [f"differs: {name}: missing beside the manifest"]


def test_other_numpy_version_warns_and_still_verifies(capsys: pytest.CaptureFixture[str], run: Path) -> None:
    def change(manifest: dict[str, Any]) -> None:
        manifest["versions"]["numpy"] = "1.26.4"

    edit_json(run / "manifest.json", change)
    rc, out, err = verify_main(capsys, run / "manifest.json")
    assert (rc, out) == (0, "identical\n")
    warnings = err.splitlines()
    assert len(warnings) == 1, err
    assert warnings[0].startswith("warning: numpy "), err
    assert "1.26.4" in warnings[0]


def test_non_manifest_json_exits_2_without_traceback(run: Path) -> None:
    done = riskpool_subprocess("verify", "run/summary.json", cwd=run.parent)  # JSON, but not a manifest
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith("error: MANIFEST = 'run/summary.json': not a readable riskpool manifest"), done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_missing_manifest_exits_2_without_traceback(tmp_path: Path) -> None:
    done = riskpool_subprocess("verify", "nowhere/manifest.json", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert done.stderr == "error: MANIFEST = 'nowhere/manifest.json': no such file\n"


@pytest.mark.parametrize("text", ["", "not json", '{"scenario": 1}'], ids=["empty", "not-json", "bad-scenario"])
def test_unreadable_manifest_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(text, encoding="utf-8")
    rc, out, err = verify_main(capsys, manifest)
    assert rc == 2
    assert out == ""
    assert err.startswith("error: MANIFEST = ") and len(err.splitlines()) == 1, err


# --------------------------------------------------------------------------- gaps found while writing these tests (regressions)


def test_other_riskpool_version_warns(capsys: pytest.CaptureFixture[str], run: Path) -> None:
    edit_json(run / "manifest.json", lambda m: m.update(riskpool_version="0.0.1"))
    rc, out, err = verify_main(capsys, run / "manifest.json")
    assert (rc, out) == (0, "identical\n")
    assert any(line.startswith("warning: riskpool") for line in err.splitlines()), err


def test_non_object_json_manifest_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text("[1, 2]\n", encoding="utf-8")
    rc, _, err = verify_main(capsys, manifest)
    assert rc == 2, err
    assert err.startswith("error: MANIFEST = "), err


def test_manifest_without_a_file_digest_is_not_identical(capsys: pytest.CaptureFixture[str], run: Path) -> None:
    edit_json(run / "manifest.json", lambda m: m["data"].pop("paths.parquet"))
    rewrite_column(run / "paths.parquet", "loss_fund", lambda v: v + 1.0)
    rc, out, _ = verify_main(capsys, run / "manifest.json")
    assert rc == 1, out
    assert "paths.parquet" in out


def test_changed_manifest_seed_names_the_manifest(capsys: pytest.CaptureFixture[str], run: Path) -> None:
    edit_json(run / "manifest.json", lambda m: m.update(seed=m["seed"] + 1))
    rc, out, _ = verify_main(capsys, run / "manifest.json")
    assert rc == 1
    assert differs_lines(out)[0].startswith("differs: manifest: "), out


def test_null_changed_to_value_reports_a_meaningful_difference(capsys: pytest.CaptureFixture[str], run: Path) -> None:
    table = pq.read_table(run / "paths.parquet")
    values = table.column("first_shortfall_month").to_pylist()
    assert values[3] is None  # the minimal run has no shortfall
    values[3] = 7
    i = table.schema.get_field_index("first_shortfall_month")
    table = table.set_column(i, table.schema.field(i), pa.array(values, type=pa.int32()))
    pq.write_table(table, run / "paths.parquet", compression="zstd")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rc, out, err = verify_main(capsys, run / "manifest.json")
    assert rc == 1
    assert "first_shortfall_month" in out
    assert "nan" not in out, out
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in caught]


# --------------------------------------------------------------------------- how the run was split


@pytest.fixture(scope="module")
def split_scenario() -> scenario.Scenario:
    return scenario.load("minimal", SPLIT_SETTINGS)


def test_one_or_two_workers_give_identical_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["run", "minimal", "--paths", str(N_PATHS), "--seed", str(SPLIT_SEED)]
    for setting in SPLIT_SETTINGS:
        args += ["--set", setting]
    for workers in ("1", "2"):
        assert cli.main([*args, "--workers", workers, "--out", str(tmp_path / f"w{workers}"), "--json"]) == 0
    capsys.readouterr()
    summary = json.loads((tmp_path / "w1" / "summary.json").read_text(encoding="utf-8"))
    assert 0 < summary["fund"]["p_shortfall"] < 1  # the outcome varies by path
    assert_same_results(tmp_path / "w1", tmp_path / "w2")
    rc, out, _ = verify_main(capsys, tmp_path / "w2" / "manifest.json")  # a parallel run verifies too
    assert (rc, out) == (0, "identical\n")


@pytest.mark.parametrize(("blocks_per_task", "workers"), [(3, 1), (2, 2)])
def test_grouping_of_blocks_into_tasks_gives_identical_results(
    tmp_path: Path, split_scenario: scenario.Scenario, blocks_per_task: int, workers: int
) -> None:
    assert N_PATHS > 2 * BLOCK_PATHS and N_PATHS % BLOCK_PATHS  # several blocks, the last one partial
    folders = {}
    for per_task, w in ((1, 1), (blocks_per_task, workers)):
        res = simulate(split_scenario, paths=N_PATHS, seed=SPLIT_SEED, workers=w, blocks_per_task=per_task)
        folders[per_task] = tmp_path / f"tasks-of-{per_task}"
        write_run(res, summarize(res), folders[per_task], ["test_verify"], started=None)
    assert_same_results(folders[1], folders[blocks_per_task])
