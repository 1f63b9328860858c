"""Fates once, ledger many: what reusing sampled fates saves where users wait (issue budgets).

In one run, on the bundled Hunan baseline (best of ``--repeat`` each, after a warm-up that
loads the compiled kernels):

- the app: an answer at 2,000 paths from scratch, and one after an edit that changes only the
  rules (fund sizes), with the fates of the earlier answer in the app's store;
- ``size`` (95 % sufficiency, 2,000 paths) as it was (sampling and simulating every path at every
  scale), with the store of fates only, and as it is (the store, and only the paths that the
  scales tried before leave undecided simulated); the answers must be equal;
- a sweep point of a sweep whose axis changes only rules (``funds.scale``), with and without
  reuse.

Budgets: ledger-only app edit <= 0.3 s and <= 0.35x a full run; size <= 0.4x; sweep point
<= 0.45x.

    python benchmarks/bench_reuse.py [--repeat 3] [--workers 1]
"""

from __future__ import annotations

import argparse
import time

from riskpool import scenario
from riskpool.engine import plan_blocks
from riskpool.fatestore import FateStore
from riskpool.metrics import summarize
from riskpool.run import simulate
from riskpool.study import sizing
from riskpool.study.sweep import run_point_blocks

APP_PATHS = 2000


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def app(repeat: int) -> tuple[float, float]:
    """An app answer (simulate and summarise, as the app does) from scratch, and after an edit of the rules."""
    base = scenario.load("hunan-baseline", simulation__paths=APP_PATHS)
    edited = scenario.load("hunan-baseline", ["funds.scale=0.8"], simulation__paths=APP_PATHS)
    full = best(lambda: simulate(base).summary, repeat)
    store = FateStore()
    _ = simulate(base, fate_store=store).summary  # the earlier answer, whose fates the edit reuses
    edit = best(lambda: simulate(edited, fate_store=store).summary, repeat)
    return full, edit


def size(repeat: int, workers: int) -> tuple[float, float, float]:
    """The search as it was (every path sampled and simulated at every scale), with the store of
    fates only, and as it is (the store, and only the undecided paths simulated); equal answers."""
    raw = scenario.read_raw_with("hunan-baseline")
    answers = {}

    def search(reuse: bool, decided: bool) -> None:
        sizer = sizing.Sizer(raw, None, None, APP_PATHS, 0, workers, False)
        if not reuse:
            sizer.store = None
        sizer.monotone = sizer.monotone and decided
        answers[reuse, decided] = sizing.search(sizer, 0.95)

    times = [best(lambda how=how: search(*how), repeat) for how in ((False, False), (True, False), (True, True))]
    first = answers[False, False]
    assert all(a == first for a in answers.values()), "reuse or decided paths changed size's answer"
    return times[0], times[1], times[2]


def sweep_point(repeat: int) -> tuple[float, float]:
    s = scenario.load("hunan-baseline", ["funds.scale=0.7"])
    task = plan_blocks(APP_PATHS)
    run_point_blocks(s, 0, task, reuse=True)  # the sweep's first point samples; the others reuse
    return best(lambda: run_point_blocks(s, 0, task), repeat), best(lambda: run_point_blocks(s, 0, task, reuse=True), repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="for size")
    args = parser.parse_args()
    summarize(simulate(scenario.load("minimal"), paths=250).results)  # warm up: load the kernels
    full, edit = app(args.repeat)
    print(f"app, {APP_PATHS} paths: full answer {full:.3f} s, ledger-only edit {edit:.3f} s "
          f"({edit / full:.2f}x; budget <= 0.3 s and <= 0.35x)")
    before, reused, now = size(args.repeat, args.workers)
    print(f"size 95 %, {APP_PATHS} paths, {args.workers} worker(s): {before:.2f} s sampling and simulating every "
          f"path at every scale, {reused:.2f} s with the store ({reused / before:.2f}x), {now:.2f} s simulating only "
          f"undecided paths ({now / before:.2f}x; budget <= 0.4x); same answer")
    fresh, again = sweep_point(args.repeat)
    print(f"sweep point (funds.scale), {APP_PATHS} paths: {fresh:.3f} s sampled, {again:.3f} s reused "
          f"({again / fresh:.2f}x; budget <= 0.45x)")


if __name__ == "__main__":
    main()
