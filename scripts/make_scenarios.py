"""Generate the bundled Hunan scenarios from the divisions CSV ``scripts/hunan_divisions.csv``.

Writes ``riskpool/scenarios/hunan-baseline.toml`` and ``riskpool/scenarios/stress-shock.toml``:
a province, its 14 prefecture-level units and their 122 county-level units, with the
illustrative figures of docs/policy-mapping.md. Every figure is illustrative, not official data.
The CSV lists Hunan's prefecture- and county-level divisions (GB/T 2260 codes, from the public
dataset modood/Administrative-divisions-of-China, ``dist/areas.csv``).

Usage::

    python scripts/make_scenarios.py [--csv PATH] [--out-dir DIR]

The TOML is written by riskpool.files.toml_writer (no TOML library), so that the committed files
stay readable: money with digit groups (``65_000_000``), one ``[[regions]]`` table per region.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskpool.files.toml_writer import to_toml

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CSV = REPO_ROOT / "scripts" / "hunan_divisions.csv"
DEFAULT_OUT_DIR = REPO_ROOT / "riskpool" / "scenarios"
CSV_COLUMNS = ("code", "name", "city_code", "city_name", "city_id", "kind")

PROVINCE_ID, PROVINCE_NAME = "hunan", "湖南省"
PROVINCE_FUND, PROVINCE_TOPUP = 65_000_000, 20_000_000
CAPITAL_CITY = "changsha"
CAPITAL_FUND, CAPITAL_TOPUP = 30_000_000, 5_000_000
LARGE_CITIES = frozenset({"zhuzhou", "xiangtan", "hengyang", "yueyang", "changde"})
LARGE_CITY_FUND, OTHER_CITY_FUND = 15_000_000, 8_000_000
FUNDED_COUNTIES_PER_CITY = 2
CAPITAL_COUNTY_FUND, OTHER_COUNTY_FUND = 5_000_000, 2_000_000
TOPUP_RATE = 0.10  # annual top-up as a fraction of the initial fund, where not given

RISKIER_CITIES = frozenset({"zhangjiajie", "xiangxi"})
RISKIER_PD_MULTIPLIER = 1.2
# New loans a year per county (illustrative), aiming at roughly 1,000 a year province-wide.
# The first guess, 30/8/4, gave only 846; 30/10/5 keeps the 2:1 urban:rural ratio and gives 990.
CAPITAL_COUNTY_LOANS, URBAN_DISTRICT_LOANS, OTHER_COUNTY_LOANS = 30, 10, 5
URBAN_CODE_LIMIT = "20"  # GB/T 2260: codes ending 01-19 are urban districts (市辖区)

SOURCES = [
    "湘政发〔2022〕12号 (echinagov.com/policy/327839.htm)",
    "icswb.com/h/168/20230202/800040.html",
    "modood/Administrative-divisions-of-China dist/areas.csv",
    "docs/policy-mapping.md, \"The bundled Hunan scenario, figure by figure\" (illustrative parameter set)",
]


@dataclass(frozen=True)
class County:
    code: str
    name: str
    city_id: str


@dataclass(frozen=True)
class City:
    id: str
    name: str
    counties: tuple[County, ...]


# --------------------------------------------------------------------------- reading


def read_cities(csv_path: Path) -> list[City]:
    """Cities in order of first appearance, each with its counties in CSV order.

    Rows of kind ``management_zone`` (development zones) are skipped; only ``county`` rows are
    county-level units.
    """
    names: dict[str, str] = {}
    counties: dict[str, list[County]] = {}
    with csv_path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
            raise ValueError(f"{csv_path}: expected columns {','.join(CSV_COLUMNS)}")
        for row in reader:
            if row["kind"] == "management_zone":
                continue
            if row["kind"] != "county":
                raise ValueError(f"{csv_path}: unknown kind {row['kind']!r} for {row['code']}")
            names.setdefault(row["city_id"], row["city_name"])
            counties.setdefault(row["city_id"], []).append(
                County(row["code"], row["name"], row["city_id"])
            )
    return [City(cid, names[cid], tuple(cs)) for cid, cs in counties.items()]


# --------------------------------------------------------------------------- regions


def fund_fields(fund: int, topup: int | None = None) -> dict[str, int]:
    """A fund and its annual top-up (TOPUP_RATE of the fund unless given)."""
    return {"fund": fund, "annual_topup": round(fund * TOPUP_RATE) if topup is None else topup}


def province_region() -> dict[str, Any]:
    return {
        "id": PROVINCE_ID,
        "name": PROVINCE_NAME,
        "tier": "province",
        **fund_fields(PROVINCE_FUND, PROVINCE_TOPUP),
    }


def city_fund(city_id: str) -> dict[str, int]:
    if city_id == CAPITAL_CITY:
        return fund_fields(CAPITAL_FUND, CAPITAL_TOPUP)
    return fund_fields(LARGE_CITY_FUND if city_id in LARGE_CITIES else OTHER_CITY_FUND)


def city_region(city: City) -> dict[str, Any]:
    return {
        "id": city.id,
        "name": city.name,
        "tier": "city",
        "parent": PROVINCE_ID,
        **city_fund(city.id),
    }


def new_loans_per_year(county: County) -> int:
    if county.city_id == CAPITAL_CITY:
        return CAPITAL_COUNTY_LOANS
    if county.code[4:6] < URBAN_CODE_LIMIT:
        return URBAN_DISTRICT_LOANS
    return OTHER_COUNTY_LOANS


def lending(county: County) -> dict[str, Any]:
    """One year of loans outstanding at the start (tenor 12 months), then a steady flow."""
    per_year = new_loans_per_year(county)
    return {
        "initial_loans": round(per_year),
        "new_loans_per_year": per_year,
        "loan_size_mean": 3_000_000,
        "loan_size_cv": 0.6,
        "tenor_months": 12,
        "ip_collateral_share": 1.0,
    }


def county_region(county: County, funded: bool) -> dict[str, Any]:
    """A county; only funded counties get ``fund`` and ``annual_topup`` keys."""
    capital = county.city_id == CAPITAL_CITY
    region: dict[str, Any] = {
        "id": county.code,
        "name": county.name,
        "tier": "county",
        "parent": county.city_id,
    }
    if funded:
        region.update(fund_fields(CAPITAL_COUNTY_FUND if capital else OTHER_COUNTY_FUND))
    riskier = county.city_id in RISKIER_CITIES
    region["pd_multiplier"] = RISKIER_PD_MULTIPLIER if riskier else 1.0
    region["lending"] = lending(county)
    return region


def regions(cities: list[City]) -> list[dict[str, Any]]:
    """The province, then each city immediately followed by its counties."""
    out = [province_region()]
    for city in cities:
        out.append(city_region(city))
        out += [county_region(c, i < FUNDED_COUNTIES_PER_CITY) for i, c in enumerate(city.counties)]
    return out


# --------------------------------------------------------------------------- scenarios


def baseline(cities: list[City]) -> dict[str, Any]:
    """The Hunan baseline: the example rules of docs/model.md section 7 on the full division tree."""
    return {
        "meta": {
            "name": "Hunan baseline (illustrative)",
            "currency": "CNY",
            "illustrative": True,
            "description": (
                "All figures are illustrative (docs/policy-mapping.md), not official data: "
                "a Hunan-like three-tier fund on Hunan's 14 prefecture-level and 122 "
                "county-level units."
            ),
            "sources": list(SOURCES),
        },
        "simulation": {"horizon_years": 5, "paths": 10000, "seed": 20220725},
        "credit": {
            "annual_pd": 0.02,
            "asset_correlation": 0.10,
            "city_correlation": 0.0,
            "stress": [1.0, 1.0, 1.0, 1.0, 1.0],
        },
        "collateral": {
            "recovery_mean": 0.15,
            "recovery_sd": 0.10,
            "disposal_cost": 0.05,
            "disposal_months_mean": 18,
            "disposal_months_sd": 6,
            "recovery_factor_loading": 0.0,
        },
        "sharing": {
            "fund": 0.45,
            "bank": 0.25,
            "guarantor": 0.0,
            "insurer": 0.20,
            "evaluator": 0.10,
            "tiers": {"province": 0.5, "city": 0.3, "county": 0.2},
        },
        "rules": {
            "compensation_basis": "principal",
            "claim_lag_months": 3,
            "per_loan_cap": 0,
            "max_loan": 5_000_000,
            "shortfall": "queue",
            "leverage": 10,
            "leverage_scope": "province",
            "circuit_breaker_npl": 0.08,
            "npl_warning": 0.05,
            "circuit_breaker_months": 12,
            "fund_interest_rate": 0.015,
        },
        "parties": {
            "guarantor": {"capital": 0, "fee_rate": 0.01},
            "insurer": {"premium_rate": 0.01, "loss_ratio_cap": 1.5},
        },
        "regions": regions(cities),
    }


def stress_shock(cities: list[City]) -> dict[str, Any]:
    """The baseline with PD tripled in years 2-3 and downturn (factor-linked) recoveries."""
    scenario = baseline(cities)
    scenario["meta"]["name"] = "Hunan stress: two-year default shock (illustrative)"
    scenario["meta"]["description"] = (
        "The Hunan baseline with default probabilities tripled in years 2 and 3 and lower "
        "recoveries that fall further in bad years. All figures are illustrative "
        "(docs/policy-mapping.md), not official data."
    )
    scenario["credit"]["stress"] = [1.0, 3.0, 3.0, 1.0, 1.0]
    scenario["collateral"].update(
        recovery_mean=0.10, recovery_sd=0.08, recovery_factor_loading=0.5
    )
    return scenario


SCENARIOS = {"hunan-baseline": baseline, "stress-shock": stress_shock}


def header(name: str, csv_name: str) -> str:
    return (
        f"{name}.toml: generated by scripts/make_scenarios.py from {csv_name};"
        " do not edit by hand.\n"
        "All figures are illustrative (docs/policy-mapping.md), not official data.\n"
        "Money in yuan, rates per year, times in months (see docs/model.md section 7)."
    )


# --------------------------------------------------------------------------- main


def total_new_loans(scenario: dict[str, Any]) -> float:
    return sum(r["lending"]["new_loans_per_year"] for r in scenario["regions"] if "lending" in r)


def write_all(csv_path: Path, out_dir: Path) -> dict[str, dict[str, Any]]:
    """Write every scenario into out_dir; returns the data written, by name."""
    cities = read_cities(csv_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, dict[str, Any]] = {}
    for name, build in SCENARIOS.items():
        scenario = build(cities)
        text = to_toml(scenario, header(name, csv_path.name))
        (out_dir / f"{name}.toml").write_text(text, encoding="utf-8", newline="\n")
        written[name] = scenario
    return written


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--csv", type=Path, default=DEFAULT_CSV, help="divisions CSV (default: %(default)s)"
    )
    parser.add_argument(
        "--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="output folder (default: %(default)s)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for name, scenario in write_all(args.csv, args.out_dir).items():
        tiers = [r["tier"] for r in scenario["regions"]]
        print(
            f"{args.out_dir / name}.toml: {len(tiers)} regions "
            f"({tiers.count('city')} cities, {tiers.count('county')} counties), "
            f"{total_new_loans(scenario):g} new loans a year"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
