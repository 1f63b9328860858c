"""Benchmark of the fast engine against the floor, on the bundled baseline.

The *floor* is the time numpy's default generator needs to draw one uniform number per
candidate loan per path: the least randomness any loan-level engine needs. The engine is
timed on the same machine in the same run, each measurement in a fresh process (after a
warm-up run that loads the compiled kernels), with its peak resident memory.

    python benchmarks/bench_engine.py [--paths 10000] [--repeat 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

CHILD = r"""
import json, resource, sys, time
from riskpool import scenario
from riskpool.engine import simulate
paths, workers = int(sys.argv[1]), int(sys.argv[2])
s = scenario.load(None)
simulate(s, paths=250)  # load the compiled kernels from numba's cache
t0 = time.perf_counter()
res = simulate(s, paths=paths, workers=workers)
seconds = time.perf_counter() - t0
rss = lambda who: resource.getrusage(who).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "peak_rss_bytes": rss(resource.RUSAGE_SELF),
                  "worker_peak_rss_bytes": rss(resource.RUSAGE_CHILDREN)}))
"""


def expected_candidates(paths: int) -> int:
    from riskpool import scenario
    from riskpool.limits import expected_candidates as per_path

    return int(round(per_path(scenario.load(None)) * paths))


def floor_seconds(n: int, repeat: int) -> float:
    """Best time to draw ``n`` uniforms with PCG64, in blocks as the engine draws them."""
    rng = np.random.default_rng(0)
    block = 1_500_000
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        left = n
        while left > 0:
            rng.random(min(block, left))
            left -= block
        best = min(best, time.perf_counter() - t0)
    return best


def engine_run(paths: int, workers: int) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(paths), str(workers)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    n = expected_candidates(args.paths)
    floor = floor_seconds(n, args.repeat)
    one = min((engine_run(args.paths, 1) for _ in range(args.repeat)), key=lambda r: r["seconds"])
    two = min((engine_run(args.paths, 2) for _ in range(args.repeat)), key=lambda r: r["seconds"])
    figures = {
        "paths": args.paths,
        "candidate_loan_paths": n,
        "floor_seconds": round(floor, 3),
        "engine_seconds_1_worker": round(one["seconds"], 3),
        "ratio_to_floor": round(one["seconds"] / floor, 1),
        "engine_seconds_2_workers": round(two["seconds"], 3),
        "speedup_2_workers": round(one["seconds"] / two["seconds"], 2),
        "peak_memory_gib_1_worker": round(one["peak_rss_bytes"] / 2**30, 2),
        "peak_memory_gib_2_workers_main": round(two["peak_rss_bytes"] / 2**30, 2),
        "peak_memory_gib_2_workers_largest_worker": round(two["worker_peak_rss_bytes"] / 2**30, 2),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(figures, fh, indent=2)


if __name__ == "__main__":
    main()
