"""``riskpool verify`` and reproducibility (docs/auditing.md).

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
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import riskpool
from riskpool import cli, precompile, scenario
from riskpool.engine import simulate
from riskpool.fates import BLOCK_PATHS
from riskpool.files import provenance
from riskpool.files.atomic import json_text
from riskpool.files.digests import data_digest, sha256_of
from riskpool.files.runfolder import RESULT_FILES, write_run
from riskpool.metrics import summarize

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
        assert sha256_of(folder / name) == manifest["files"][name], f"{name}: committed bytes differ"


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
    assert text.index(old) < text.index('"convergence"')  # the run's paths, before its last checkpoint's
    summary.write_text(text.replace(old, f'"paths": {N_PATHS + 1},', 1), encoding="utf-8")  # one digit
    rc, out, _ = verify_main(capsys, run / "manifest.json")
    assert rc == 1
    lines = differs_lines(out)
    assert len(lines) == 1, out
    assert lines[0] == f"differs: summary.json: the published file was changed after the run: paths is {N_PATHS + 1} " \
                       f"published, {N_PATHS} in the rerun", lines[0]


def compact_json(path: Path) -> None:
    path.write_text(json.dumps(json.loads(path.read_text(encoding="utf-8"))), encoding="utf-8")


def snappy_parquet(path: Path) -> None:
    pq.write_table(pq.read_table(path), path, compression="snappy")


@pytest.mark.parametrize(("name", "rewrite"), [("summary.json", compact_json), ("paths.parquet", snappy_parquet)])
def test_same_data_in_other_bytes_is_formatting_only(capsys: pytest.CaptureFixture[str], run: Path, name: str,
                                                     rewrite) -> None:
    """What counts is the data: a re-saved file verifies, with a warning that names it."""
    before = (run / name).read_bytes()
    rewrite(run / name)
    assert (run / name).read_bytes() != before
    assert data_digest(run / name) == manifest_of(run)["data"][name]  # the same data
    rc, out, err = verify_main(capsys, run / "manifest.json")
    assert (rc, out) == (0, "identical\n"), out
    assert err.splitlines() == [f"warning: {name}: its bytes are not those the manifest records, but its data are "
                                "the same (re-saved or reformatted: formatting only)"], err


@pytest.mark.parametrize("name", ["months.parquet", "summary.json"])
def test_damaged_result_file_is_named(capsys: pytest.CaptureFixture[str], run: Path, name: str) -> None:
    path = run / name
    path.write_bytes(path.read_bytes()[:1000])  # truncated: no longer parquet, or JSON
    rc, out, err = verify_main(capsys, run / "manifest.json")
    assert rc == 1, out + err
    lines = differs_lines(out)
    assert len(lines) == 1, out
    assert lines[0].startswith(f"differs: {name}: "), out


def test_changed_manifest_file_hash_alone_is_formatting_only(capsys: pytest.CaptureFixture[str], run: Path) -> None:
    edit_json(run / "manifest.json", lambda m: m["files"].update({"paths.parquet": "0" * 64}))
    rc, out, err = verify_main(capsys, run / "manifest.json")
    assert (rc, out) == (0, "identical\n")
    assert [line.split(": ")[1] for line in err.splitlines()] == ["paths.parquet"], err


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


# --------------------------------------------------------------------------- forgeries that rewrite the manifest too


def forge(folder: Path, name: str, change, digest: bool = False) -> None:
    """Change a result file with ``change(path)``, then write its new SHA-256 into the manifest's
    file list (and with ``digest`` its new data digest too), as a forger who can edit the folder would."""
    change(folder / name)
    def rehash(m: dict[str, Any]) -> None:
        m["files"][name] = sha256_of(folder / name)
        if digest:
            m["data"][name] = data_digest(folder / name)
    edit_json(folder / "manifest.json", rehash)


def bump_p_shortfall(path: Path) -> None:
    edit_json(path, lambda s: s["fund"].update(p_shortfall=0.5))


def add_to_loss_fund(path: Path) -> None:
    def change(values: np.ndarray) -> np.ndarray:
        values[3] += 1000.0
        return values

    rewrite_column(path, "loss_fund", change)


@pytest.mark.parametrize("digest", [False, True], ids=["file-hash", "file-hash-and-data-digest"])
def test_forged_summary_with_rewritten_hashes_names_the_field_and_both_values(
        capsys: pytest.CaptureFixture[str], run: Path, digest: bool) -> None:
    rerun_value = json.loads((run / "summary.json").read_text(encoding="utf-8"))["fund"]["p_shortfall"]
    forge(run, "summary.json", bump_p_shortfall, digest)
    rc, out, _ = verify_main(capsys, run / "manifest.json")
    assert rc == 1
    how = "the published data are not the rerun's" if digest else "the published file was changed after the run"
    assert differs_lines(out) == [f"differs: summary.json: {how}: fund.p_shortfall is 0.5 published, "
                                  f"{json.dumps(rerun_value)} in the rerun"], out


@pytest.mark.parametrize("digest", [False, True], ids=["file-hash", "file-hash-and-data-digest"])
def test_forged_table_cell_with_rewritten_hashes_names_the_column(capsys: pytest.CaptureFixture[str], run: Path,
                                                                  digest: bool) -> None:
    forge(run, "paths.parquet", add_to_loss_fund, digest)
    rc, out, _ = verify_main(capsys, run / "manifest.json")
    assert rc == 1
    (line,) = differs_lines(out)
    assert line.startswith("differs: paths.parquet: ") and line.endswith(
        "columns loss_fund (largest absolute difference 1000)"), line


def test_reformatted_equal_summary_verifies_as_formatting_only(capsys: pytest.CaptureFixture[str], run: Path) -> None:
    """Keys in another order, other indentation, 600 written as 600.0: the same data."""
    def reformat(path: Path) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["paths"] = float(data["paths"])
        path.write_text(json.dumps(data, indent=4, sort_keys=True), encoding="utf-8")

    reformat(run / "summary.json")
    rc, out, err = verify_main(capsys, run / "manifest.json")
    assert (rc, out) == (0, "identical\n"), out
    assert "summary.json" in err and "formatting only" in err, err


def test_a_flag_written_as_a_number_is_not_the_same_data(capsys: pytest.CaptureFixture[str], run: Path) -> None:
    forge(run, "summary.json", lambda p: edit_json(p, lambda s: s.update(paths=True)))  # True == 1 in Python
    rc, out, _ = verify_main(capsys, run / "manifest.json")
    assert rc == 1 and "paths is true published" in out, out


def test_edited_data_digest_alone_names_the_manifest(capsys: pytest.CaptureFixture[str], run: Path) -> None:
    edit_json(run / "manifest.json", lambda m: m["data"]["months.parquet"].update(sha256="0" * 64))
    rc, out, _ = verify_main(capsys, run / "manifest.json")
    assert rc == 1
    assert differs_lines(out) == ["differs: manifest: its data digest of months.parquet is not that of the published "
                                  "data (the manifest was edited)"], out


# --------------------------------------------------------------------------- sweeps, sensitivity studies, sizing answers

BATCH_ARGS = ["--paths", "250", "--seed", "7", "--set", "funds.scale=0.05"]


@pytest.fixture(scope="module")
def batch_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 3 x 2 sweep, a sensitivity study of one parameter and a sizing answer, published."""
    root = tmp_path_factory.mktemp("batch")
    made = {kind: root / kind for kind in ("sweep", "sensitivity", "size")}
    assert cli.main(["sweep", "minimal", "--grid", "credit.annual_pd=0.02:0.2:3", "--values", "rules.shortfall=queue,bank",
                     *BATCH_ARGS, "--out", str(made["sweep"])]) == 0
    assert cli.main(["sensitivity", "minimal", "--range", "credit.annual_pd=0.02:0.2", "--samples", "4", *BATCH_ARGS,
                     "--out", str(made["sensitivity"])]) == 0
    assert cli.main(["size", "minimal", "--paths", "250", "--seed", "7", "--out", str(made["size"])]) == 0
    return made


@pytest.fixture
def batch(batch_folders: dict[str, Path], tmp_path: Path) -> dict[str, Path]:
    """Copies of the published batch folders, free to tamper with."""
    return {kind: Path(shutil.copytree(folder, tmp_path / kind)) for kind, folder in batch_folders.items()}


def verify_with(capsys: pytest.CaptureFixture[str], folder: Path, *options: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = cli.main(["verify", str(folder / "manifest.json"), *options])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def set_cell(column: str, row: int, value: Any):
    def change(path: Path) -> None:
        table = pq.read_table(path)
        i = table.schema.get_field_index(column)
        values = table.column(i).to_pylist()
        values[row] = value
        pq.write_table(table.set_column(i, table.schema.field(i), pa.array(values, type=table.schema.field(i).type)),
                       path, compression="zstd")
    return change


@pytest.mark.parametrize("kind", ["sweep", "sensitivity", "size"])
def test_published_batch_folders_verify_identical(capsys: pytest.CaptureFixture[str], batch: dict[str, Path],
                                                  kind: str) -> None:
    rc, out, err = verify_with(capsys, batch[kind], "--points", "all")
    assert (rc, out) == (0, "identical\n"), out + err
    points = {"sweep": 6, "sensitivity": 12, "size": None}[kind]
    assert err == ("" if points is None else f"note: every point of {points} rerun\n"), err


def test_sweep_verify_catches_a_forged_point_whose_digest_was_rewritten(capsys: pytest.CaptureFixture[str],
                                                                        batch: dict[str, Path]) -> None:
    published = pq.read_table(batch["sweep"] / "sweep.parquet").column("p_shortfall").to_pylist()
    forge(batch["sweep"], "sweep.parquet", set_cell("p_shortfall", 4, 0.001), digest=True)
    rc, out, _ = verify_with(capsys, batch["sweep"], "--points", "all")
    assert rc == 1
    assert differs_lines(out) == [f"differs: sweep.parquet: point 4: p_shortfall is 0.001 published, "
                                  f"{published[4]!r} in the rerun"], out


def test_sweep_verify_catches_a_forged_point_outside_the_sample_by_its_digest(capsys: pytest.CaptureFixture[str],
                                                                              batch: dict[str, Path]) -> None:
    forge(batch["sweep"], "sweep_nodes.parquet", set_cell("payout_net_mean", 0, 1.0))  # bytes rehashed, data not
    rc, out, err = verify_with(capsys, batch["sweep"], "--points", "1")
    assert rc == 1, out + err
    assert any(line.startswith("differs: sweep_nodes.parquet: its data are not those the manifest records")
               for line in differs_lines(out)), out
    assert err.count("note: point ") == 1, err


def test_sweep_verify_checks_every_row_against_the_grid(capsys: pytest.CaptureFixture[str], batch: dict[str, Path]) -> None:
    forge(batch["sweep"], "sweep.parquet", set_cell("credit.annual_pd", 1, 0.5), digest=True)
    rc, out, _ = verify_with(capsys, batch["sweep"], "--points", "1")
    assert rc == 1
    assert "differs: sweep.parquet: point 1: credit.annual_pd is 0.5 published, 0.02 in the design" in out, out


def test_sensitivity_verify_recomputes_the_indices(capsys: pytest.CaptureFixture[str], batch: dict[str, Path]) -> None:
    forge(batch["sensitivity"], "sensitivity.parquet", set_cell("ST", 0, 0.99), digest=True)
    rc, out, _ = verify_with(capsys, batch["sensitivity"], "--points", "1")
    assert rc == 1
    (line,) = differs_lines(out)
    assert line.startswith("differs: sensitivity.parquet: the published data are not the rerun's: columns ST"), line


def test_size_verify_reruns_the_search(capsys: pytest.CaptureFixture[str], batch: dict[str, Path]) -> None:
    scale = json.loads((batch["size"] / "size.json").read_text(encoding="utf-8"))["scale"]
    forge(batch["size"], "size.json", lambda p: edit_json(p, lambda a: a.update(scale=scale / 2)), digest=True)
    rc, out, _ = verify_with(capsys, batch["size"])
    assert rc == 1
    assert differs_lines(out) == [f"differs: size.json: the published data are not the rerun's: scale is "
                                  f"{json.dumps(scale / 2)} published, {json.dumps(scale)} in the rerun"], out


@pytest.mark.parametrize("points", ["0", "-2", "some"])
def test_bad_points_option_exits_2(capsys: pytest.CaptureFixture[str], batch_folders: dict[str, Path],
                                   points: str) -> None:
    rc, out, err = verify_with(capsys, batch_folders["sweep"], "--points", points)
    assert (rc, out) == (2, "")
    assert err == f"error: --points = {points!r}: a number of points (1 or more) or all\n", err


# --------------------------------------------------------------------------- provenance


def test_manifest_records_the_code_that_made_the_run(run: Path) -> None:
    manifest = manifest_of(run)
    here = provenance.running_code()
    assert manifest["riskpool_version"] == riskpool.__version__ == here.version != "0.1.0"
    assert manifest["code_sha256"] == provenance.code_digest() == here.sha256
    assert manifest["git_commit"] == here.commit and manifest["git_dirty"] == here.dirty


def test_other_code_warns(capsys: pytest.CaptureFixture[str], run: Path) -> None:
    edit_json(run / "manifest.json", lambda m: m.update(code_sha256="f" * 64))
    rc, out, err = verify_main(capsys, run / "manifest.json")
    assert (rc, out) == (0, "identical\n")
    assert err.startswith("warning: riskpool's code here (") and "is not the code that made the results" in err, err


def test_code_digest_covers_the_package_files_and_nothing_else(tmp_path: Path) -> None:
    package = shutil.copytree(ROOT / "riskpool", tmp_path / "riskpool", ignore=shutil.ignore_patterns("__pycache__"))
    before = provenance.code_digest(package)
    assert before == provenance.code_digest(ROOT / "riskpool")
    (package / "_version.py").write_text("__version__ = 'other'\n", encoding="utf-8")
    (package / "__pycache__").mkdir(exist_ok=True)
    (package / "__pycache__" / "x.pyc").write_bytes(b"compiled")
    assert provenance.code_digest(package) == before  # the version file and caches are not code
    (package / "scenarios" / "minimal.toml").write_text("# edited\n", encoding="utf-8")
    assert provenance.code_digest(package) != before  # a bundled scenario is


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60).stdout


def built_wheel(source: Path, out: Path, precompile: bool = True) -> tuple[str, list[str]]:
    """Build riskpool's wheel from ``source`` (as ``pip install .`` does): its _version.py, and
    the kernels whose numba cache index it carries (riskpool/__pycache__/*.nbi)."""
    env = {**os.environ, "RISKPOOL_PRECOMPILE": "1" if precompile else "0"}
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = out.glob("riskpool-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        cached = [Path(name).name.split("-")[0] for name in zf.namelist() if name.endswith(".nbi")]
        return zf.read("riskpool/_version.py").decode(), sorted(cached)


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs the git checkout riskpool is built from")
def test_an_installed_package_knows_its_version_commit_and_dirty_flag(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(ROOT), str(clone))
    # the clone is committed with this tree's build configuration and package, so that the
    # build under test is the one of the code being tested
    for name in ("pyproject.toml", "setup.py"):
        shutil.copy2(ROOT / name, clone / name)
    shutil.rmtree(clone / "riskpool")
    shutil.copytree(ROOT / "riskpool", clone / "riskpool", ignore=shutil.ignore_patterns("__pycache__", "_version.py"))
    git(clone, "add", "-A")
    git(clone, "-c", "user.name=test", "-c", "user.email=test@example.invalid", "commit", "-q", "--allow-empty",
        "-m", "the tree under test")
    head = git(clone, "rev-parse", "HEAD").strip()
    built: dict[str, Any] = {}
    version_file, cached = built_wheel(clone, tmp_path / "clean")
    exec(version_file, built)  # noqa: S102 - the file the build just wrote
    assert built["__commit__"] == "g" + head[: len(built["__commit__"]) - 1] and len(built["__commit__"]) >= 8
    assert built["__dirty__"] is False and "+g" in built["__version__"] and built["__version__"] != "0.1.0"
    # the wheel carries every kernel a run calls (docs/performance.md; tests/test_precompile.py
    # shows that these are all a run needs), and those they call, compiled with them
    called = {name.removeprefix("riskpool.") for name in precompile.precompile()}
    assert called >= {"ledger._ledger_block", "fates.place_loans"} and set(cached) >= called, cached
    (clone / "riskpool" / "cli.py").write_text("# edited\n", encoding="utf-8")
    dirty: dict[str, Any] = {}
    version_file, cached = built_wheel(clone, tmp_path / "dirty", precompile=False)
    exec(version_file, dirty)  # noqa: S102
    assert dirty["__dirty__"] is True and ".d" in dirty["__version__"], dirty["__version__"]
    assert cached == []  # RISKPOOL_PRECOMPILE=0 builds without them


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
