"""Crash safety of single runs: ``riskpool run --out DIR`` killed with SIGKILL (docs/reliability.md).

A real ``python -m riskpool run`` subprocess is killed at random moments (seeded), and just
after it renames each result file into place. Each time the folder first holds an older,
complete run (and the temporaries of the runs killed before). After every kill the folder must
hold complete result files or none:

- every result file present is complete: byte for byte the killed run's or the older run's;
- ``manifest.json``, the commit marker, is present only if every file it lists is present with
  the SHA-256 it records, so an interrupted run is never mistaken for a complete one;
- temporary files are hidden and never carry a result file's name.

A rerun into the same folder then succeeds, removes the temporaries of the killed runs and
writes files byte-identical to an uninterrupted run's (the manifest differs in its times and --out only).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from processes import kill_group, reaped

from riskpool import cli
from riskpool.files.runfolder import RESULT_FILES

# 20,000 paths of the minimal scenario take a few seconds, half of them writing the files
RUN = ["run", "minimal", "--paths", "20000", "--seed", "11", "--set", "funds.scale=0.05"]
OLDER_RUN = ["run", "minimal", "--paths", "3000", "--seed", "12"]  # what the folder held before
RANDOM_KILLS = 4
KILL_SEED = 20220725
MANIFEST = "manifest.json"
RUN_DEPENDENT = ("started", "finished", "command")  # the manifest's times, and the command with its --out


@dataclass(frozen=True)
class Reference:
    files: dict[str, bytes]  # result files of the uninterrupted run
    manifest: dict
    seconds: float  # how long the uninterrupted run took


def riskpool_process(out: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("RISKPOOL_DEBUG", "COLUMNS", "LINES")}
    return subprocess.Popen(
        [sys.executable, "-m", "riskpool", *RUN, "--out", str(out)],
        cwd=out.parent, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, start_new_session=True,
    )


def finish(proc: subprocess.Popen[bytes]) -> str:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    return err.decode()


def read_results(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in RESULT_FILES}


def manifest_without_times(folder: Path) -> dict:
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    return {k: v for k, v in manifest.items() if k not in RUN_DEPENDENT}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    out = tmp_path_factory.mktemp("crash") / "uninterrupted"
    started = time.monotonic()
    finish(riskpool_process(out))
    return Reference(read_results(out), manifest_without_times(out), time.monotonic() - started)


def inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


def kill(out: Path, moment: float | str, rng: random.Random) -> str:
    """Start the run and SIGKILL it ``moment`` seconds later, or once it has renamed its file
    named ``moment`` into place (plus up to 20 ms); returns what happened."""
    before = inode(out / str(moment))
    with reaped(riskpool_process(out)) as proc:
        if isinstance(moment, str):
            while proc.poll() is None and inode(out / moment) == before:
                time.sleep(0.002)
            time.sleep(rng.uniform(0.0, 0.02))
        else:
            time.sleep(moment)
        if proc.poll() is not None:
            finish(proc)
            return "finished before the kill"
        kill_group(proc)
        assert proc.returncode == -signal.SIGKILL
        return "killed"


def dead_pid() -> int:
    """The process id of a process that has ended (as a killed writer's)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def check_folder(out: Path, known: dict[str, dict[str, bytes]]) -> str:
    """The folder holds complete files or none; returns what it holds, for the log."""
    names = sorted(os.listdir(out))
    temporaries = [n for n in names if n not in (*RESULT_FILES, MANIFEST)]  # or the --out write probe
    for name in temporaries:
        assert name.startswith("."), f"{name}: a non-hidden file that is not a result"
    held = []
    for name in (n for n in names if n in RESULT_FILES):
        data = (out / name).read_bytes()
        runs = [run for run, files in known.items() if data == files[name]]
        assert runs, f"{name}: neither the killed run's nor the older run's"
        if name.endswith(".parquet"):
            pq.read_table(out / name)
        else:
            json.loads(data)
        held.append(f"{name} {runs[0]}")
    if MANIFEST in names:
        recorded = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["files"]
        for name, digest in recorded.items():
            assert (out / name).is_file(), f"the manifest lists {name}, which is missing"
            assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, (
                f"the manifest passes {name} off as its own: a mix of two runs")
    manifest = "a manifest" if MANIFEST in names else "no manifest"
    return ", ".join([*held, manifest, f"{len(temporaries)} temporaries"])


def test_killed_runs_leave_complete_files_or_none(reference: Reference, tmp_path: Path) -> None:
    older_run, out = tmp_path / "older", tmp_path / "run"
    assert cli.main([*OLDER_RUN, "--out", str(older_run), "--json"]) == 0
    older = read_results(older_run)
    rng = random.Random(KILL_SEED)
    moments: list[float | str] = list(RESULT_FILES)  # the write phase: just after each rename
    moments += [rng.uniform(0.0, reference.seconds) for _ in range(RANDOM_KILLS)]
    log = []
    out.mkdir()
    for moment in moments:
        for name in (*RESULT_FILES, MANIFEST):
            shutil.copy(older_run / name, out / name)
        outcome = kill(out, moment, rng)
        held = check_folder(out, {"new": reference.files, "older": older})
        log.append(f"{moment if isinstance(moment, str) else f'{moment:.2f} s'}: {outcome}; {held}")
    print(f"uninterrupted run {reference.seconds:.1f} s; kills:", *log, sep="\n  ")
    assert sum("killed" in line for line in log) >= len(moments) // 2, log
    # whatever the last kills left: a dead writer's temporary goes, a live writer's stays
    (out / f".nodes.parquet.tmp-{dead_pid()}").write_bytes(b"partial")
    live = out / f".paths.parquet.tmp-{os.getpid()}"
    live.write_bytes(b"partial")
    finish(riskpool_process(out))
    assert read_results(out) == reference.files
    assert manifest_without_times(out) == reference.manifest
    assert sorted(os.listdir(out)) == sorted((*RESULT_FILES, MANIFEST, live.name)), "a killed run's temporaries remain"
