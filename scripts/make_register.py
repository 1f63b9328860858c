"""Generate the bundled SYNTHETIC loan register (riskpool/examples/register.csv): no real fund's data.

About 400 loans of the counties of the Hunan baseline, valued at 2026-12: most performing (made
in the two years before, tenors of 12, 24 or 36 months), a few overdue, and some defaulted, in
each state of their claim and disposal (not yet compensated, compensated and awaiting the sale,
sold before the claim), so that ``riskpool run --book`` can be tried on every kind of row.

    python scripts/make_register.py [--out riskpool/examples/register.csv]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from riskpool import scenario
from riskpool.register import COLUMNS

VALUATION = (2026, 12)
LOANS = 400
SEED = 20261203


def month(offset: int) -> str:
    """The month ``offset`` months from the valuation month (offset <= 0), YYYY-MM."""
    total = VALUATION[0] * 12 + VALUATION[1] - 1 + offset
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def loans(rng: np.random.Generator) -> list[dict[str, object]]:
    counties = [r for r in scenario.load("hunan-baseline").regions if r.tier == "county" and r.lending is not None]
    rows = []
    for k in range(LOANS):
        county = counties[int(rng.integers(len(counties)))]
        tenor = int(rng.choice([12, 24, 36]))
        age = int(rng.integers(0, tenor))  # months since it was made: still within its term
        principal = round(float(county.lending.loan_size_mean * rng.lognormal(-0.18, 0.6)), -3)
        row = {"loan_id": f"HN-{2024 + k % 3}-{k + 1:04d}", "county": county.id, "bank": "", "principal": principal,
               "start_month": month(-age), "tenor_months": tenor, "status": "performing", "default_month": "",
               "compensated": "", "recovered": ""}
        u = rng.random()
        if u < 0.03:
            row["status"] = "overdue"
        elif u < 0.08 and age >= 2:
            since = int(rng.integers(1, min(age, 24) + 1))  # defaulted `since` months ago
            row.update(status="defaulted", default_month=month(-since))
            stage = rng.random()
            if stage < 0.4 and since > 3:  # compensated, the IP not yet sold
                row["compensated"] = round(principal * 0.5, 2)
            elif stage < 0.55 and since > 6:  # sold before the claim was made
                row["recovered"] = round(principal * 0.2, 2)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "riskpool" / "examples" / "register.csv")
    args = parser.parse_args()
    with args.out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(loans(np.random.default_rng(SEED)))
    print(args.out)


if __name__ == "__main__":
    main()
