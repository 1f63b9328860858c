"""Benchmark of a PD x recovery sweep of the baseline: 1 worker, 2 workers, a Dask LocalCluster.

    python benchmarks/bench_sweep.py [--size 20] [--paths 2000]

Each configuration runs `riskpool sweep` in a fresh process into a fresh folder (the store is
part of the measured work), so the times include process start, loading the compiled kernels
and, for Dask, starting the cluster. The tables of all three must be identical.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq


def sweep(folder: Path, size: int, paths: int, backend: list[str]) -> float:
    command = [sys.executable, "-m", "riskpool", "sweep",
               "--grid", f"credit.annual_pd=0.005:0.15:{size}",
               "--grid", f"collateral.recovery_mean=0.01:0.4:{size}",
               "--paths", str(paths), "--out", str(folder), *backend]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=folder.parent)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20, help="points per axis")
    parser.add_argument("--paths", type=int, default=2000)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runs = {"1 worker": [], "2 workers": ["--workers", "2"], "dask LocalCluster, 2 workers": ["--dask-local", "2"]}
        seconds = {name: sweep(root / name.replace(" ", "_").replace(",", ""), args.size, args.paths, opts)
                   for name, opts in runs.items()}
        tables = [pq.read_table(root / name.replace(" ", "_").replace(",", "") / "sweep.parquet") for name in runs]
        identical = all(t.equals(tables[0]) for t in tables[1:])
    figures = {
        "points": args.size**2,
        "paths_per_point": args.paths,
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        "speedup_2_workers": round(seconds["1 worker"] / seconds["2 workers"], 2),
        "dask_overhead_vs_processes": round(seconds["dask LocalCluster, 2 workers"] / seconds["2 workers"] - 1, 3),
        "tables_identical": identical,
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
