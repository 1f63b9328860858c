"""Generate the bundled scenarios of riskpool/scenarios (all but ``minimal``).

Writes into ``riskpool/scenarios``:

- ``hunan-baseline.toml`` and ``stress-shock.toml``, from the divisions CSV
  ``scripts/hunan_divisions.csv``: a province, its 14 prefecture-level units and their 122
  county-level units, with the illustrative figures of docs/policy-mapping.md (the reference
  run; every figure illustrative, not official data);
- ``hunan-2022-pool.toml`` (Hunan's 6,500万 as the one pool it is) and ``hunan-three-tier.toml``
  (the 省市县三级 tree of 湘政发〔2022〕12号 without counting Changsha's money twice), on the same
  tree;
- ``jiangsu-suzhidai.toml`` (Jiangsu's 苏知贷: one provincial fund, shares by loan size) and
  ``guangdong-zhongshan.toml`` (Zhongshan's city fund, 54:26:16:4), on small illustrative trees.

The four later files cite their sources as web addresses, in the header and in
``meta.sources``, and say what is sourced and what is illustrative or INFERENCE. The CSV lists
Hunan's prefecture- and county-level divisions (GB/T 2260 codes, from the public dataset
modood/Administrative-divisions-of-China, ``dist/areas.csv``).

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
LOAN_SIZE_MEAN, LOAN_SIZE_CV, TENOR_MONTHS = 3_000_000, 0.6, 12

SOURCES = [
    "湘政发〔2022〕12号 (echinagov.com/policy/327839.htm)",
    "icswb.com/h/168/20230202/800040.html",
    "modood/Administrative-divisions-of-China dist/areas.csv",
    "docs/policy-mapping.md, \"The bundled Hunan scenario, figure by figure\" (illustrative parameter set)",
]

# The later scenarios cite web addresses only (the baseline's SOURCES stay as they are, so that
# hunan-baseline.toml and its SHA-256 do not change).
URL_HUNAN_POLICY = "http://www.echinagov.com/policy/327839.htm"
URL_HUNAN_POOL = "https://www.icswb.com/h/168/20230202/800040.html"
URL_HUNAN_LOANS = "https://m.lianbei66.com/news/051Tc6123.html"
URL_DIVISIONS = "https://github.com/modood/Administrative-divisions-of-China"
URL_SUZHIDAI = "https://www.bobainet.com/p1/rd/20230815/427761.html"
URL_ZHONGSHAN = "https://zscq.creditchina.gov.cn/dxal/202501/t20250123_349350.html"
URL_ZHONGSHAN_POOL = "http://chinadevelopment.com.cn/xc/2021/1217/1757672.shtml"

# Hunan's 6,500万 as documented: one pool (province, Changsha, Yueyang FTZ), one operator.
POOL_SHARES = {"fund": 0.45, "bank": 0.25, "guarantor": 0.20, "insurer": 0.0, "evaluator": 0.10}
POOL_MAX_COVERED = 5_000_000  # 单户 500万, read as a cap on the covered amount (INFERENCE)
# The pool is deposited at the cooperating banks pro rata to their committed credit lines (sourced);
# the banks and their lines are not published: five illustrative banks, 30亿 in all (about the
# 28.8亿 lent by the end of 2022)
POOL_BANKS = (("a", "合作银行A", 1_000_000_000), ("b", "合作银行B", 800_000_000), ("c", "合作银行C", 500_000_000),
              ("d", "合作银行D", 400_000_000), ("e", "合作银行E", 300_000_000))

# Jiangsu 苏知贷 (2023): bands by loan size, (max_loan, fund share); the bank bears the rest.
JIANGSU_ID, JIANGSU_NAME = "jiangsu", "江苏省"
SUZHIDAI_BANDS = ((10_000_000, 0.8), (30_000_000, 0.5))
SUZHIDAI_MAX_LOAN = 30_000_000
JIANGSU_FUND = 500_000_000  # illustrative: about a tenth of the book the lending below builds up
SUZHIDAI_LOANS_PER_CITY, SUZHIDAI_LOAN_MEAN, SUZHIDAI_LOAN_CV = 25, 5_000_000, 0.8
SUZHIDAI_TENOR = 36  # the longest allowed: a three-year working-capital loan by design
# Jiangsu's 13 prefecture-level cities (id, name, GB/T 2260 code of the whole city)
JIANGSU_CITIES = (
    ("nanjing", "南京市", "320100"), ("wuxi", "无锡市", "320200"), ("xuzhou", "徐州市", "320300"),
    ("changzhou", "常州市", "320400"), ("suzhou", "苏州市", "320500"), ("nantong", "南通市", "320600"),
    ("lianyungang", "连云港市", "320700"), ("huaian", "淮安市", "320800"), ("yancheng", "盐城市", "320900"),
    ("yangzhou", "扬州市", "321000"), ("zhenjiang", "镇江市", "321100"), ("taizhou", "泰州市", "321200"),
    ("suqian", "宿迁市", "321300"),
)

# Zhongshan (Guangdong): one city fund, 54:26:16:4 (fund : bank : insurer : evaluator).
GUANGDONG_ID, GUANGDONG_NAME = "guangdong", "广东省"
ZHONGSHAN_CITY = ("zhongshan", "中山市", "442000")
ZHONGSHAN_SHARES = {"fund": 0.54, "bank": 0.26, "guarantor": 0.0, "insurer": 0.16, "evaluator": 0.04}
ZHONGSHAN_FUND = 70_000_000  # 7,000万 in 2021
ZHONGSHAN_LOANS = 150  # illustrative: about 4.5亿 a year at 300万 each


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


def lending_table(
    per_year: int,
    initial: int | None = None,
    size_mean: int = LOAN_SIZE_MEAN,
    size_cv: float = LOAN_SIZE_CV,
    tenor: int = TENOR_MONTHS,
) -> dict[str, Any]:
    """A county's lending table; by default one year of loans outstanding at the start."""
    return {
        "initial_loans": round(per_year) if initial is None else initial,
        "new_loans_per_year": per_year,
        "loan_size_mean": size_mean,
        "loan_size_cv": size_cv,
        "tenor_months": tenor,
        "ip_collateral_share": 1.0,
    }


def lending(county: County) -> dict[str, Any]:
    """One year of loans outstanding at the start (tenor 12 months), then a steady flow."""
    return lending_table(new_loans_per_year(county))


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


# --------------------------------------------------------------------------- later scenarios


def tier_split(province: float = 0.0, city: float = 0.0, county: float = 0.0) -> dict[str, float]:
    return {"province": province, "city": city, "county": county}


def without_fund(region: dict[str, Any]) -> dict[str, Any]:
    """The region with neither fund nor top-up: a region without money, whose tier parts go up."""
    return {k: v for k, v in region.items() if k not in ("fund", "annual_topup")}


def region_by_id(scenario: dict[str, Any], region_id: str) -> dict[str, Any]:
    return next(r for r in scenario["regions"] if r["id"] == region_id)


def sourced(scenario: dict[str, Any], name: str, description: str, sources: list[str]) -> dict[str, Any]:
    """The scenario renamed, described and with its sources (web addresses) in meta."""
    scenario["meta"].update(name=name, description=description, sources=sources)
    return scenario


def hunan_2022_pool(cities: list[City]) -> dict[str, Any]:
    """Hunan's 6,500万 as documented: one pool (the province's region), no city or county money."""
    scenario = sourced(
        baseline(cities),
        "Hunan 2022: one pool of 6,500万 (sourced rules, illustrative lending)",
        "Hunan's 6,500万 as the one pool it is (province, Changsha and the Yueyang FTZ together, one "
        "operator): only the province's region has a fund and it bears the whole fund share; shares "
        "45:45:10; 单户 500万 read as a cap on the covered amount (INFERENCE). Tree, lending and risk "
        "figures are hunan-baseline's (illustrative).",
        [
            f"{URL_HUNAN_POOL} (the 6,500万 pool of the province, Changsha and the Yueyang FTZ, run by "
            "湖南省知识产权交易中心; shares 45 : 45 : 10; deposits at banks pro rata to their credit lines; "
            "单户 500万)",
            f"{URL_HUNAN_POLICY} (湘政发〔2022〕12号)",
            f"{URL_HUNAN_LOANS} (loans of 800万 and 1,500万 under Hunan schemes)",
            f"{URL_DIVISIONS} (dist/areas.csv: Hunan's divisions)",
        ],
    )
    scenario["sharing"].update(POOL_SHARES, tiers=tier_split(province=1.0))
    scenario["rules"].update(max_loan=0, max_covered=POOL_MAX_COVERED, deposits="per_bank")
    scenario["regions"] = [r if r["tier"] == "province" else without_fund(r) for r in scenario["regions"]]
    scenario["banks"] = [{"id": i, "name": name, "credit_line": line} for i, name, line in POOL_BANKS]
    return scenario


def hunan_three_tier(cities: list[City]) -> dict[str, Any]:
    """The baseline's three-tier tree with Changsha's money taken out of the provincial fund."""
    scenario = sourced(
        baseline(cities),
        "Hunan three-tier (省市县三级) without double counting (illustrative)",
        "hunan-baseline's province, 14 city funds and 28 county funds, with the provincial fund at "
        "65 m minus Changsha's 30 m, so that Changsha's money is not counted twice (INFERENCE). All "
        "other figures are hunan-baseline's (illustrative).",
        [
            f"{URL_HUNAN_POLICY} (湘政发〔2022〕12号: 省市县三级优势互补)",
            f"{URL_HUNAN_POOL} (the 6,500万 pool includes Changsha's money; 28 counties with policies)",
            f"{URL_DIVISIONS} (dist/areas.csv: Hunan's divisions)",
        ],
    )
    province = region_by_id(scenario, PROVINCE_ID)
    province["fund"] = province["fund"] - region_by_id(scenario, CAPITAL_CITY)["fund"]
    return scenario


def city_tree(
    province: tuple[str, str], cities: tuple[tuple[str, str, str], ...], lending_of_city: dict[str, Any]
) -> list[dict[str, Any]]:
    """A province, its cities, and for each city one county-level unit standing for the whole city
    (id: the city's GB/T 2260 code), with the same lending table; no region has a fund yet."""
    province_id, province_name = province
    out: list[dict[str, Any]] = [{"id": province_id, "name": province_name, "tier": "province"}]
    for city_id, city_name, code in cities:
        out.append({"id": city_id, "name": city_name, "tier": "city", "parent": province_id})
        out.append({"id": code, "name": f"{city_name}（全市）", "tier": "county", "parent": city_id,
                    "pd_multiplier": 1.0, "lending": dict(lending_of_city)})
    return out


def band(max_loan: int, fund: float) -> dict[str, Any]:
    """A band of [[sharing.bands]] shared by the fund and the bank only."""
    return {"max_loan": max_loan, "fund": fund, "bank": round(1.0 - fund, 12),
            "guarantor": 0.0, "insurer": 0.0, "evaluator": 0.0}


def jiangsu_suzhidai(cities: list[City]) -> dict[str, Any]:
    """Jiangsu's 苏知贷: one provincial fund, fund/bank shares by loan size, loans up to 3,000万."""
    scenario = sourced(
        baseline(cities),
        "Jiangsu 苏知贷 (2023): one provincial fund, shares by loan size (illustrative fund and lending)",
        "Jiangsu's 苏知贷: loans up to 1,000万 fund 80 / bank 20, 1,000万-3,000万 fund 50 / bank 50, "
        "principal only, up to three years. The fund size, the small tree of Jiangsu's 13 cities and "
        "the lending are illustrative; PD, recovery, leverage and breaker are hunan-baseline's.",
        [f"{URL_SUZHIDAI} (江苏省 苏知贷 工作方案, 2023: shares by loan size, ≤3,000万, principal only, "
         "≤ three years)"],
    )
    top_band = band(*SUZHIDAI_BANDS[-1])
    scenario["sharing"] = {**{k: v for k, v in top_band.items() if k != "max_loan"},
                           "tiers": tier_split(province=1.0), "bands": [band(*b) for b in SUZHIDAI_BANDS]}
    scenario["rules"]["max_loan"] = SUZHIDAI_MAX_LOAN
    del scenario["parties"]  # no guarantor or insurer under 苏知贷
    table = lending_table(SUZHIDAI_LOANS_PER_CITY, initial=0, size_mean=SUZHIDAI_LOAN_MEAN,
                          size_cv=SUZHIDAI_LOAN_CV, tenor=SUZHIDAI_TENOR)
    scenario["regions"] = city_tree((JIANGSU_ID, JIANGSU_NAME), JIANGSU_CITIES, table)
    scenario["regions"][0].update(fund_fields(JIANGSU_FUND))
    return scenario


def guangdong_zhongshan(cities: list[City]) -> dict[str, Any]:
    """Zhongshan's city fund (政府+银行+保险+评估, 54:26:16:4) on a one-city tree."""
    scenario = sourced(
        baseline(cities),
        "Guangdong, Zhongshan: one city fund, 54:26:16:4 (illustrative lending)",
        "Zhongshan's city fund of 7,000万 with fund 54 / bank 26 / insurer 16 / evaluator 4; the "
        "province has no fund here (sharing.tiers city = 1). The top-up, the one-city tree and the "
        "lending are illustrative; PD, recovery, leverage and breaker are hunan-baseline's.",
        [
            f"{URL_ZHONGSHAN} (中山: 54 : 26 : 16 : 4, fund : bank : insurer : evaluator)",
            f"{URL_ZHONGSHAN_POOL} (中山模式: 政府+银行+保险+评估; the pool of 7,000万 in 2021; 6.1亿 of "
            "IP-pledge loans in 2020)",
        ],
    )
    scenario["sharing"].update(ZHONGSHAN_SHARES, tiers=tier_split(city=1.0))
    scenario["rules"]["max_loan"] = 0  # no loan-size limit found
    scenario["regions"] = city_tree((GUANGDONG_ID, GUANGDONG_NAME), (ZHONGSHAN_CITY,),
                                    lending_table(ZHONGSHAN_LOANS))
    scenario["regions"][1].update(fund_fields(ZHONGSHAN_FUND))
    return scenario


SCENARIOS = {
    "hunan-baseline": baseline,
    "stress-shock": stress_shock,
    "hunan-2022-pool": hunan_2022_pool,
    "hunan-three-tier": hunan_three_tier,
    "jiangsu-suzhidai": jiangsu_suzhidai,
    "guangdong-zhongshan": guangdong_zhongshan,
}

# What each later file's header says is sourced, illustrative or INFERENCE (its sources follow).
NOTES = {
    "hunan-2022-pool": (
        "Hunan's scheme as documented: the 6,500万 is ONE pool, co-funded by the province, Changsha and",
        "the Yueyang FTZ and run by one operator (湖南省知识产权交易中心). So only the province's region",
        "has a fund (65 m, +20 m a year as in hunan-baseline; the top-up is illustrative), the cities and",
        "counties are regions without money, and the pool bears the whole fund share (tiers province = 1).",
        "Sourced: the pool; shares 45 (fund) : 45 (bank with a guarantor or insurer) : 10 (appraisal and",
        "disposal agency); 单户 500万. Illustrative: the middle 45 split as bank 25 + guarantor 20.",
        "INFERENCE: 单户 500万 caps the covered amount (rules.max_covered), not the loan: loans of 800万",
        "and 1,500万 were made under Hunan schemes, so no loan is excluded (rules.max_loan = 0).",
        "Sourced: the pool is deposited at the cooperating banks pro rata to their credit lines, as each",
        "bank's risk deposit (rules.deposits = \"per_bank\"). Illustrative: the five banks and their lines",
        "(30亿 in all, about the 28.8亿 lent by the end of 2022); the banks' lines were not found.",
        "Tree, lending, PD, recovery, leverage and breaker are hunan-baseline's (illustrative); the 10x",
        "leverage cap on the one pool lets fewer loans be originated than in hunan-baseline.",
    ),
    "hunan-three-tier": (
        "The three-tier (省市县三级) tree that 湘政发〔2022〕12号 asks Hunan to build: hunan-baseline's",
        "province, 14 city funds and 28 county funds, but the provincial fund is 35 m, not 65 m.",
        "INFERENCE: the documented 6,500万 is one pool that already holds Changsha's money, and",
        "hunan-baseline also gives Changsha a 30 m fund of its own, so it counts Changsha's money twice;",
        "here the province keeps 65 m - 30 m = 35 m. The Yueyang FTZ's part is not published and stays in.",
        "Every other figure is hunan-baseline's: illustrative (docs/policy-mapping.md), not official data.",
    ),
    "jiangsu-suzhidai": (
        "Jiangsu's 苏知贷 (2023): one provincial fund (the product's part of the provincial 普惠金融发展",
        "风险补偿基金), no city or county money (sharing.tiers province = 1).",
        "Sourced: loans up to 1,000万 fund 80 / bank 20, 1,000万-3,000万 fund 50 / bank 50 ([[sharing.bands]];",
        "the source bands a borrower's balance, the model a loan's size: one loan per borrower, INFERENCE);",
        "loans up to 3,000万 (rules.max_loan); principal only, the bank bears all interest; tenor up to",
        "three years (tenor_months = 36, the longest: the source stresses the long term as a feature).",
        "The top-level shares (50/50) apply to no loan: a loan above the top band is not originated.",
        "Illustrative: the fund (500 m, +50 m a year: about a tenth of the book the lending builds up);",
        "the tree (Jiangsu's 13 prefecture-level cities, each lending through one unit standing for the",
        "whole city, not its counties); 25 new loans a year per city, mean 500万, cv 0.8, none at the",
        "start (the product began in 2023); PD, recovery, claim lag, leverage and breaker of hunan-baseline.",
    ),
    "guangdong-zhongshan": (
        "Zhongshan (Guangdong): one city fund, 政府+银行+保险+评估 sharing 54 : 26 : 16 : 4 (fund : bank :",
        "insurer : evaluator); the province has no fund here, so sharing.tiers city = 1.",
        "Sourced: the shares; the pool of 7,000万 (2021, with 3,000万 of central 普惠金融 money in it).",
        "Illustrative: the top-up (10 % a year); the tree (Guangdong, Zhongshan and one county-level unit",
        "for the whole city: Zhongshan has no counties); 150 loans a year of 300万 on average, cv 0.6,",
        "one year of them at the start (about 4.5亿 a year; Zhongshan's IP-pledge loans: 6.1亿 in 2020);",
        "no loan-size limit (none found); PD, recovery, claim lag, leverage, breaker, fee and premium of",
        "hunan-baseline. With one unit for the whole city, a trip of the 8 % breaker stops all of",
        "Zhongshan's new lending for 12 months.",
    ),
}


def header(name: str, csv_name: str, scenario: dict[str, Any] | None = None) -> str:
    """The file's comment lines; a later scenario's also say what is sourced and list its sources."""
    if name not in NOTES:
        return (
            f"{name}.toml: generated by scripts/make_scenarios.py from {csv_name};"
            " do not edit by hand.\n"
            "All figures are illustrative (docs/policy-mapping.md), not official data.\n"
            "Money in yuan, rates per year, times in months (see docs/model.md section 7)."
        )
    sources = scenario["meta"]["sources"] if scenario is not None else []
    return "\n".join([
        f"{name}.toml: generated by scripts/make_scenarios.py; do not edit by hand.",
        *NOTES[name],
        "Money in yuan, rates per year, times in months (see docs/model.md section 7).",
        "Sources:",
        *(f"- {source}" for source in sources),
    ])


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
        text = to_toml(scenario, header(name, csv_path.name, scenario))
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
