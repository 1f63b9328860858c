"""Large runs keep their per-path results on disk (riskpool.spool): the same files, flat memory.

A spooled run must write byte-identical result files to the same run held in memory, on one or
two workers and under importance sampling; its spool files must be gone afterwards; and a run
too large for the disk is refused up front.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from processes import kill_group, reaped

from riskpool import engine, limits, scenario
from riskpool.cli import main
from riskpool.files import runfolder
from riskpool.metrics import summarize
from riskpool.scenario import ScenarioError
from riskpool.spool import SPOOL_PREFIX


def written(s: scenario.Scenario, folder: Path, **settings) -> dict[str, str]:
    """Simulate, write the result files into ``folder`` and return their byte hashes."""
    res = engine.simulate(s, spool_folder=folder.parent, **settings)
    try:
        manifest = runfolder.write_run(res, summarize(res), folder, ["test"])
    finally:
        res.release()
    return manifest["files"]


@pytest.mark.parametrize(("name", "paths", "workers", "method"), [
    ("minimal", 600, 1, "plain"), ("minimal", 600, 2, "plain"), ("hunan-baseline", 500, 2, "plain"),
    ("minimal", 600, 1, "importance"),
])
def test_spooled_run_writes_the_same_bytes(tmp_path: Path, name: str, paths: int, workers: int, method: str):
    s = scenario.load(name, simulation__paths=paths)
    held = written(s, tmp_path / "memory", spool=False, workers=workers, method=method)
    spooled = written(s, tmp_path / "disk", spool=True, workers=workers, method=method)
    assert spooled == held


def test_spool_files_are_deleted_on_release(tmp_path: Path):
    res = engine.simulate(scenario.load("minimal", simulation__paths=300), spool=True, spool_folder=tmp_path)
    assert res.spool is not None and res.paths is None
    assert [p.name.startswith(".spool.tmp-") for p in tmp_path.iterdir()] == [True]
    res.release()
    assert list(tmp_path.iterdir()) == []


def test_large_results_go_to_disk_by_themselves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(limits, "SPOOL_ABOVE_BYTES", 1)  # every run counts as large
    s = scenario.load("minimal", simulation__paths=300)
    res = engine.simulate(s, spool_folder=tmp_path)
    assert res.spool is not None
    res.release()
    res = engine.simulate(s)  # no folder given: the system's temporary folder
    folder = res.spool.folder
    assert folder.parent == Path(tempfile.gettempdir()) and folder.exists()
    del res
    gc.collect()
    assert not folder.exists()  # a forgotten release() is done when the results are collected
    monkeypatch.setattr(limits, "SPOOL_ABOVE_BYTES", 2**62)
    assert engine.simulate(s, spool_folder=tmp_path).spool is None


def test_cli_run_leaves_only_result_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.setattr(limits, "SPOOL_ABOVE_BYTES", 1)
    out = tmp_path / "run"
    assert main(["run", "minimal", "--paths", "300", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted((*runfolder.RESULT_FILES, "manifest.json"))
    assert json.loads((out / "summary.json").read_text())["paths"] == 300


def test_tables_of_many_chunks_hold_the_same_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    s = scenario.load("minimal", simulation__paths=700)
    whole = written(s, tmp_path / "whole", spool=True)
    monkeypatch.setattr(runfolder, "CHUNK_PATHS", 250)
    monkeypatch.setattr(runfolder, "CHUNK_VALUES", 1000)  # months summed one or two at a time
    chunked_folder = tmp_path / "chunked"
    chunked = written(s, chunked_folder, spool=True)
    assert pq.ParquetFile(chunked_folder / "nodes.parquet").metadata.num_row_groups == 3
    assert chunked["months.parquet"] == whole["months.parquet"]
    assert chunked["summary.json"] == whole["summary.json"]
    for name in ("paths.parquet", "nodes.parquet"):
        assert pq.read_table(chunked_folder / name).equals(pq.read_table(tmp_path / "whole" / name))


def test_a_run_too_large_for_the_disk_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(limits, "SPOOL_ABOVE_BYTES", 1)
    monkeypatch.setattr(limits, "disk_free_bytes", lambda folder: 1000)
    with pytest.raises(ScenarioError) as caught:
        engine.simulate(scenario.load("minimal", simulation__paths=300), spool_folder=tmp_path)
    problem = caught.value.problems[0]
    assert problem.path == "simulation.paths" and str(tmp_path) in problem.allowed and "disk" in problem.allowed
    assert list(tmp_path.iterdir()) == []


def spooled_run(out: Path) -> subprocess.Popen:
    """`riskpool run` of 20,000 minimal paths into ``out``, its results on disk (a process group)."""
    env = {**os.environ, "RISKPOOL_SPOOL_ABOVE_BYTES": "1"}
    return subprocess.Popen([sys.executable, "-m", "riskpool", "run", "minimal", "--paths", "20000", "--out", str(out)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def spool_lifetime(proc: subprocess.Popen, out: Path) -> float:
    """Wait for ``proc``; return how long (seconds) its spool files existed."""
    seen = gone = None
    while proc.poll() is None:
        present = bool(list(out.glob(f"{SPOOL_PREFIX}*")))
        seen = seen or (time.monotonic() if present else None)
        gone = gone or (time.monotonic() if seen and not present else None)
        time.sleep(0.005)
    assert proc.wait(timeout=300) == 0 and seen is not None
    return (gone or time.monotonic()) - seen


@pytest.mark.parametrize("share", [0.0, 0.3, 0.6])
def test_a_killed_spooled_run_leaves_no_spool_after_the_rerun(tmp_path: Path, share: float):
    """Killed at ``share`` of the time its spool lives (measured on the same run just before, so
    that a loaded machine slows both alike), the run leaves its spool, which the rerun deletes."""
    reference = tmp_path / "reference"
    lifetime = spool_lifetime(spooled_run(reference), reference)
    out = tmp_path / "killed"
    with reaped(spooled_run(out)) as proc:
        while proc.poll() is None and not list(out.glob(f"{SPOOL_PREFIX}*")):
            time.sleep(0.005)
        time.sleep(share * lifetime)
        os.killpg(proc.pid, signal.SIGSTOP)  # frozen, so that what is checked is what the kill leaves
        assert proc.poll() is None, "the run ended before the kill: give it more paths"
        assert list(out.glob(f"{SPOOL_PREFIX}*")), "the run had deleted its spool before the kill"
        kill_group(proc)
    assert list(out.glob(f"{SPOOL_PREFIX}*")), "the killed run left its spool"
    rerun = spooled_run(out)
    assert rerun.wait(timeout=300) == 0, rerun.stderr.read().decode()
    rerun.stderr.close()
    assert not list(out.glob(f"{SPOOL_PREFIX}*"))  # the killed run's spool is gone, and the rerun's
    for name in (*runfolder.RESULT_FILES,):
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name
