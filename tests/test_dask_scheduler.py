"""`--scheduler ADDRESS`: a sweep on an existing Dask cluster equals the serial sweep."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

distributed = pytest.importorskip("distributed")

ARGS = ["sweep", "minimal", "--grid", "credit.annual_pd=0.02:0.2:2", "--values", "rules.shortfall=queue,bank",
        "--set", "funds.scale=0.05", "--paths", "300"]


def sweep(folder: Path, *backend: str) -> tuple:
    done = subprocess.run([sys.executable, "-m", "riskpool", *ARGS, "--out", str(folder), *backend],
                          capture_output=True, text=True, cwd=folder.parent, timeout=300)
    assert done.returncode == 0, done.stderr
    return pq.read_table(folder / "sweep.parquet"), pq.read_table(folder / "sweep_nodes.parquet")


def test_existing_cluster_gives_the_serial_tables(tmp_path: Path) -> None:
    serial = sweep(tmp_path / "serial")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = sweep(tmp_path / "remote", "--scheduler", cluster.scheduler_address)
    assert serial[0].equals(remote[0])
    assert serial[1].equals(remote[1])
    assert serial[0].num_rows == 4
