"""The compiled ledger alone, on fixed blocks of fates: the cost of the rules, nothing else.

Samples eight RNG blocks of 250 paths of a scenario once, then times ``ledger.run_ledger`` over
them, best and median of ``--repeat`` passes, and prints a checksum of the results (which a
change meant to keep the numbers must not move). Compare two trees by running it in each, in
turn, several times: the machine's noise is larger than most differences.

    python benchmarks/bench_ledger.py [SCENARIO] [--set PATH=VALUE ...] [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

from riskpool import scenario
from riskpool.fates import BLOCK_PATHS, sample_block
from riskpool.ledger import run_ledger
from riskpool.structure import compile_structure

BLOCKS = 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=None)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    s = scenario.load(args.scenario, args.overrides)
    st = compile_structure(s)
    blocks = [sample_block(st, s.simulation.seed, b, BLOCK_PATHS) for b in range(BLOCKS)]
    run_ledger(st, blocks[0])  # load the kernel from numba's cache (or compile it)
    seconds = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        for fates in blocks:
            run_ledger(st, fates)
        seconds.append(time.perf_counter() - start)
    out = run_ledger(st, blocks[3])
    print(f"ledger, {BLOCKS} blocks of {BLOCK_PATHS} paths: best {min(seconds):.3f} s, "
          f"median {statistics.median(seconds):.3f} s; checksum {float(out.paths.sum())!r} {float(out.balance.sum())!r}")


if __name__ == "__main__":
    main()
