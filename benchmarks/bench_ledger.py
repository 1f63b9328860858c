"""The compiled ledger alone, on fixed blocks of fates: the cost of the rules, nothing else.

Samples eight RNG blocks of 250 paths of a scenario once, then times ``ledger.run_ledger`` over
them, best and median of ``--repeat`` passes, and prints a checksum of the results (which a
change meant to keep the numbers must not move). Compare two trees by running it in each, in
turn, several times: the machine's noise is larger than most differences.

``--parts`` also times the same kernel on the same blocks without their defaults (every loan
performs) and without any loan (what is left is the work per path and month), and a *floor*: a
kernel of a few lines that does only the bookkeeping every loan needs whatever the rules (add
each candidate to the outstanding sums of its county, city and the total, book it, subtract it
at maturity), on the same arrays. The floor is a measuring instrument, not the rules.

    python benchmarks/bench_ledger.py [SCENARIO] [--set PATH=VALUE ...] [--repeat 7] [--parts]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import numpy as np
from numba import njit

from riskpool import scenario
from riskpool.fates import BLOCK_PATHS, NO_DEFAULT, Fates, sample_block
from riskpool.ledger import run_ledger
from riskpool.structure import Structure, compile_structure

BLOCKS = 8


def timed(run, blocks: list, repeat: int) -> list[float]:
    run(blocks[0])  # load the kernel from numba's cache (or compile it)
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        for fates in blocks:
            run(fates)
        seconds.append(time.perf_counter() - start)
    return seconds


def without_defaults(f: Fates) -> Fates:
    return dataclasses.replace(f, default_month=np.full_like(f.default_month, NO_DEFAULT),
                               defaulted=f.defaulted[:0], recovery=f.recovery[:0], delay=f.delay[:0])


def without_loans(f: Fates) -> Fates:
    return dataclasses.replace(f, path_start=np.zeros_like(f.path_start), county=f.county[:0], orig=f.orig[:0],
                               size=f.size[:0], default_month=f.default_month[:0], defaulted=f.defaulted[:0],
                               recovery=f.recovery[:0], delay=f.delay[:0], kind=None, bank=None)


@njit(cache=True)
def _bookkeeping(path_start, county, orig, size, default_month, city_of, horizon, tenor):  # pragma: no cover
    """Outstanding sums of every originated loan, the book of performing loans and their maturities."""
    out = np.zeros(city_of.max() + 1)
    book_size = np.empty(len(size))
    book_county = np.empty(len(size), dtype=np.int64)
    booked = np.empty(horizon + 2, dtype=np.int64)
    months = np.arange(-1, horizon + 1)
    check = 0.0
    for b in range(len(path_start) - 1):
        lo, hi = path_start[b], path_start[b + 1]
        out[:] = 0.0
        total, n_book = 0.0, 0
        booked[0] = 0
        start = np.searchsorted(orig[lo:hi], months)
        for m in range(-1, horizon):
            if m >= 0:
                t = tenor[0]
                if m - t >= -1:
                    for q in range(booked[m - t + 1], booked[m - t + 2]):
                        c, x = book_county[q], book_size[q]
                        total -= x
                        out[c] -= x
                        out[city_of[c]] -= x
            for i in range(start[m + 1], start[m + 2]):
                g = lo + i
                c, x = county[g], size[g]
                total += x
                out[c] += x
                out[city_of[c]] += x
                if default_month[g] == NO_DEFAULT:
                    book_size[n_book] = x
                    book_county[n_book] = c
                    n_book += 1
            booked[m + 2] = n_book
        check += total
    return check


def floor_run(st: Structure):
    city_of = np.where(st.county_fund[:, 1] >= 0, st.county_fund[:, 1], st.n_nodes) + st.n_counties
    return lambda f: _bookkeeping(f.path_start, f.county, f.orig, f.size, f.default_month, city_of,
                                  st.horizon_months, st.tenor)


def report(what: str, seconds: list[float]) -> None:
    print(f"{what}: best {min(seconds):.3f} s, median {statistics.median(seconds):.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=None)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--parts", action="store_true", help="also without defaults, without loans, and the floor")
    args = parser.parse_args()
    s = scenario.load(args.scenario, args.overrides)
    st = compile_structure(s)
    blocks = [sample_block(st, s.simulation.seed, b, BLOCK_PATHS) for b in range(BLOCKS)]
    seconds = timed(lambda f: run_ledger(st, f), blocks, args.repeat)
    out = run_ledger(st, blocks[3])
    print(f"ledger, {BLOCKS} blocks of {BLOCK_PATHS} paths: best {min(seconds):.3f} s, "
          f"median {statistics.median(seconds):.3f} s; checksum {float(out.paths.sum())!r} {float(out.balance.sum())!r}")
    if args.parts:
        report("  the same blocks, no loan defaulting", timed(lambda f: run_ledger(st, f),
                                                              [without_defaults(f) for f in blocks], args.repeat))
        report("  the same paths without loans", timed(lambda f: run_ledger(st, f),
                                                       [without_loans(f) for f in blocks], args.repeat))
        if len(np.unique(st.tenor)) == 1:
            report("  floor: the loans' bookkeeping alone", timed(floor_run(st), blocks, args.repeat))


if __name__ == "__main__":
    main()
