"""Generate the bundled SYNTHETIC fund history (riskpool/examples/): no real fund's data.

Draws twelve years of a fund's book from the Vasicek model with known parameters (annual PD 3 %,
asset correlation 0.12, three cities lending 120-400 loans a year) and 60 disposals with Beta
recoveries (mean 0.15, sd 0.10) and Gamma delays (mean 18, sd 6 months), so that
``riskpool calibrate`` can be tried, and checked, on data whose truth is known.

    python scripts/make_history.py [--out-dir riskpool/examples]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from scipy import special

TRUE_PD, TRUE_RHO = 0.03, 0.12
RECOVERY_MEAN, RECOVERY_SD = 0.15, 0.10
DELAY_MEAN, DELAY_SD = 18.0, 6.0
YEARS = range(2013, 2025)
GROUPS = {"changsha": 400, "zhuzhou": 200, "yueyang": 120}
DISPOSALS = 60
SEED = 20241231


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parents[1] / "riskpool" / "examples")
    out = parser.parse_args().out_dir
    rng = np.random.default_rng(SEED)
    with open(out / "history.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["year", "group", "at_risk", "defaults"])
        for year in YEARS:
            p = special.ndtr((special.ndtri(TRUE_PD) - np.sqrt(TRUE_RHO) * rng.standard_normal()) / np.sqrt(1 - TRUE_RHO))
            for group, n in GROUPS.items():
                w.writerow([year, group, n, int(rng.binomial(n, p))])
    var = RECOVERY_SD**2
    common = RECOVERY_MEAN * (1 - RECOVERY_MEAN) / var - 1
    recoveries = rng.beta(RECOVERY_MEAN * common, (1 - RECOVERY_MEAN) * common, DISPOSALS)
    delays = rng.gamma((DELAY_MEAN / DELAY_SD) ** 2, DELAY_SD**2 / DELAY_MEAN, DISPOSALS)
    with open(out / "disposals.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["recovery", "disposal_months"])
        for r, m in zip(recoveries, delays):
            w.writerow([f"{r:.4f}", f"{m:.1f}"])


if __name__ == "__main__":
    main()
