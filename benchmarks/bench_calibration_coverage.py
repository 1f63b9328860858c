"""Coverage of calibrate's 95 % intervals over many synthetic histories of known parameters.

Draws ``--histories`` histories from the Vasicek model (PD 3 %, asset correlation 0.12, 15 years
of 600 loans, as tests/test_calibration.py does with 12), fits each, and prints how often the
profile-likelihood interval holds the truth, with the binomial standard error of that share.

    python benchmarks/bench_calibration_coverage.py [--histories 200] [--years 15]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy import special

from riskpool.calibration import History, calibrate

TRUE_PD, TRUE_RHO, LOANS = 0.03, 0.12, 600


def history(seed: int, years: int) -> History:
    rng = np.random.default_rng(seed)
    p = special.ndtr((special.ndtri(TRUE_PD) - math.sqrt(TRUE_RHO) * rng.standard_normal(years)) / math.sqrt(1 - TRUE_RHO))
    return History(tuple(range(years)), ("",), np.full((years, 1), LOANS), rng.binomial(LOANS, p)[:, None])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--histories", type=int, default=200)
    parser.add_argument("--years", type=int, default=15)
    args = parser.parse_args()
    start = time.perf_counter()
    hits = {"credit.annual_pd": 0, "credit.asset_correlation": 0}
    truth = {"credit.annual_pd": TRUE_PD, "credit.asset_correlation": TRUE_RHO}
    for seed in range(args.histories):
        est = calibrate(history(seed, args.years)).estimates
        for name in hits:
            hits[name] += est[name].low <= truth[name] <= est[name].high
    n = args.histories
    for name, k in hits.items():
        share = k / n
        print(f"{name}: {share:.1%} of {n} intervals hold {truth[name]} "
              f"(se {math.sqrt(share * (1 - share) / n):.1%}; nominal 95 %)")
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
