"""Benchmark of the fast engine against the floor, on the bundled baseline.

The *floor* is the time numpy's default generator needs to draw one uniform number per
candidate loan per path: the least randomness any loan-level engine needs. The engine is
timed on the same machine in the same run, each measurement in a fresh process (after a
warm-up run that loads the compiled kernels), with its peak resident memory. Every timing is
repeated ``--repeat`` times; the ratio to the floor is reported for the best, the median and
the worst engine run, each against the best floor.

``--results memory`` keeps a run's per-path results in memory whatever its size; the default,
``auto``, lets ``simulate`` decide as it does for users (large runs go to disk, riskpool.spool).
``--profile`` also times each stage of one 1-worker run (wrapping the functions that
``fates.sample_block`` and ``engine.run_task`` call, so nothing is timed twice).
``--event-paths N`` also runs N baseline paths through the SimPy event engine (riskpool.events)
and compares its time per path with the fast engine's.

    python benchmarks/bench_engine.py [--paths 10000] [--repeat 3] [--results auto|memory]
                                      [--profile] [--event-paths 40] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

CHILD = r"""
import json, resource, sys, time
from riskpool import scenario
from riskpool.engine import simulate
paths, workers, spool = int(sys.argv[1]), int(sys.argv[2]), {"auto": None, "memory": False}[sys.argv[3]]
s = scenario.load(None)
simulate(s, paths=250).release()  # load the compiled kernels from numba's cache
t0 = time.perf_counter()
res = simulate(s, paths=paths, workers=workers, spool=spool)
seconds = time.perf_counter() - t0
rss = lambda who: resource.getrusage(who).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "spooled": res.spool is not None, "peak_rss_bytes": rss(resource.RUSAGE_SELF),
                  "worker_peak_rss_bytes": rss(resource.RUSAGE_CHILDREN)}))
"""

# Stages of one run, exclusive of each other. Draws made inside sizes, recoveries and delays
# count with those functions; the rest of the run (result arrays, writing them, sums over blocks,
# Python) is what the stages leave of the run's time.
PROFILE = r"""
import collections, json, sys, time
from riskpool import engine, fates, scenario, spool
paths, spool_mode = int(sys.argv[1]), {"auto": None, "memory": False}[sys.argv[2]]
spent = collections.defaultdict(float)

def timed(stage, function):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[stage] += time.perf_counter() - start
    return wrapper

class TimedGenerator:
    STAGES = {"systematic": "systematic factors and hazards", "city": "systematic factors and hazards",
              "counts": "Poisson counts", "months": "origination months", "defaults": "default uniforms"}
    def __init__(self, rng, stage):
        self.rng, self.stage = rng, stage
    def __getattr__(self, name):
        if name == "bit_generator" and self.stage:  # raw outputs drawn straight from the bit generator
            return TimedGenerator(self.rng.bit_generator, self.stage)
        method = getattr(self.rng, name)
        return timed(self.stage, method) if self.stage and callable(method) else method

block_streams = fates.block_streams
fates.block_streams = lambda seed, block: {k: TimedGenerator(g, TimedGenerator.STAGES.get(k))
                                           for k, g in block_streams(seed, block).items()}
fates.cumulative_hazard = timed("systematic factors and hazards", fates.cumulative_hazard)
fates.place_loans = timed("place_loans: loan ids, default months", fates.place_loans)
fates.loan_sizes = timed("sizes (normals, exp)", fates.loan_sizes)
fates.collateral_outcomes = timed("recoveries and delays", fates.collateral_outcomes)
engine.run_ledger = timed("ledger kernel", engine.run_ledger)
spool.Spool.write = timed("results: writing spool files", spool.Spool.write)

s = scenario.load(None)
engine.simulate(s, paths=250).release()
spent.clear()
t0 = time.perf_counter()
res = engine.simulate(s, paths=paths, spool=spool_mode)
total = time.perf_counter() - t0
spent["results and the rest (arrays, sums, Python)"] = total - sum(spent.values())
print(json.dumps({"total": total, "spooled": res.spool is not None, "stages": dict(spent)}))
"""


def event_engine_seconds_per_path(paths: int) -> float:
    """Time per path of the SimPy event engine on the first ``paths`` baseline paths (one block)."""
    from riskpool import scenario
    from riskpool.events import simulate_path
    from riskpool.fates import sample_block
    from riskpool.structure import compile_structure

    s = scenario.load(None)
    st = compile_structure(s)
    fates = sample_block(st, s.simulation.seed, 0, paths)
    t0 = time.perf_counter()
    for k in range(paths):
        simulate_path(st, fates, k)
    return (time.perf_counter() - t0) / paths


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


def child(script: str, *args: object) -> dict:
    done = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def spread(runs: list[dict], floor: float) -> dict:
    """Best, median and worst of the runs, in seconds and as ratios to the floor."""
    seconds = sorted(r["seconds"] for r in runs)
    picks = {"best": seconds[0], "median": statistics.median(seconds), "worst": seconds[-1]}
    return {"seconds": {k: round(v, 3) for k, v in picks.items()},
            "ratio_to_floor": {k: round(v / floor, 1) for k, v in picks.items()}}


def print_profile(profile: dict, floor: float) -> None:
    total = profile["total"]
    print(f"\nWhere one 1-worker run spends its time ({total:.3f} s, results "
          f"{'on disk' if profile['spooled'] else 'in memory'}; floor {floor:.3f} s):")
    for stage, seconds in sorted(profile["stages"].items(), key=lambda item: -item[1]):
        print(f"  {stage:46s} {seconds:7.3f} s  {100 * seconds / total:5.1f} %  {seconds / floor:5.2f} x floor")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--results", choices=("auto", "memory"), default="auto",
                        help="auto: simulate decides whether results go to disk; memory: never")
    parser.add_argument("--profile", action="store_true", help="also time each stage of one 1-worker run")
    parser.add_argument("--event-paths", type=int, default=0,
                        help="also time this many paths of the SimPy event engine")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    n = expected_candidates(args.paths)
    floor = floor_seconds(n, args.repeat)
    one = [child(CHILD, args.paths, 1, args.results) for _ in range(args.repeat)]
    two = [child(CHILD, args.paths, 2, args.results) for _ in range(args.repeat)]
    best_one, best_two = min(one, key=lambda r: r["seconds"]), min(two, key=lambda r: r["seconds"])
    figures = {
        "paths": args.paths,
        "candidate_loan_paths": n,
        "results": args.results,
        "results_on_disk": best_one["spooled"],
        "floor_seconds": round(floor, 3),
        "engine_1_worker": spread(one, floor),
        "engine_2_workers": spread(two, floor),
        "speedup_2_workers": round(best_one["seconds"] / best_two["seconds"], 2),
        "peak_memory_gib_1_worker": round(best_one["peak_rss_bytes"] / 2**30, 2),
        "peak_memory_gib_2_workers_main": round(best_two["peak_rss_bytes"] / 2**30, 2),
        "peak_memory_gib_2_workers_largest_worker": round(best_two["worker_peak_rss_bytes"] / 2**30, 2),
    }
    if args.profile:
        figures["profile_1_worker"] = child(PROFILE, args.paths, args.results)
    if args.event_paths:
        per_path = event_engine_seconds_per_path(args.event_paths)
        figures["event_engine_seconds_per_path"] = round(per_path, 4)
        figures["fast_engine_speedup_over_event_engine"] = round(per_path * args.paths / best_one["seconds"])
    print(json.dumps(figures, indent=2))
    print()
    for workers in (1, 2):
        ratio = figures[f"engine_{workers}_worker{'s' if workers > 1 else ''}"]["ratio_to_floor"]
        print(f"ratio to the floor, {workers} worker{'s' if workers > 1 else ''}, {args.repeat} runs: best {ratio['best']}x, "
              f"median {ratio['median']}x, worst {ratio['worst']}x (floor {floor:.3f} s, one core)")
    if args.profile:
        print_profile(figures["profile_1_worker"], floor)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(figures, fh, indent=2)


if __name__ == "__main__":
    main()
