"""The scenarios shipped in riskpool/scenarios load, have the expected shape, and are up to date."""

from __future__ import annotations

import csv
import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest

from riskpool import scenario

REPO_ROOT = Path(__file__).resolve().parents[1]
DIVISIONS_CSV = REPO_ROOT / "scripts" / "hunan_divisions.csv"
GENERATOR = REPO_ROOT / "scripts" / "make_scenarios.py"
# the scenarios that cite their sources as web addresses (header and meta.sources)
SOURCED = ("hunan-2022-pool", "hunan-three-tier", "jiangsu-suzhidai", "guangdong-zhongshan")
GENERATED = ("hunan-baseline", "stress-shock", *SOURCED)
WEB_ADDRESS = re.compile(r"https?://[^\s()]+")


def county_codes() -> list[str]:
    with DIVISIONS_CSV.open(encoding="utf-8", newline="") as handle:
        return [row["code"] for row in csv.DictReader(handle) if row["kind"] == "county"]


def tiers(s: scenario.Scenario, tier: str) -> list[scenario.Region]:
    return [r for r in s.regions if r.tier == tier]


def test_expected_scenarios_are_bundled() -> None:
    assert {"minimal", *GENERATED} <= set(scenario.bundled_names())


@pytest.mark.parametrize("name", scenario.bundled_names())
def test_bundled_scenario_loads(name: str) -> None:
    s = scenario.load(name)
    assert len(tiers(s, "province")) == 1


def test_hunan_baseline_tree() -> None:
    s = scenario.load("hunan-baseline")
    counties = tiers(s, "county")
    assert len(tiers(s, "province")) == 1
    assert len(tiers(s, "city")) == 14
    assert len(counties) == 122
    assert [r.id for r in counties] == county_codes()
    assert sum(r.fund is not None for r in counties) == 28
    assert s.meta.illustrative is True


def test_minimal_has_three_regions() -> None:
    assert len(scenario.load("minimal").regions) == 3


def test_stress_shock_raises_default_rates() -> None:
    s = scenario.load("stress-shock")
    assert max(s.stress_factors()) > 1.0
    assert s.meta.illustrative is True


def test_generator_reproduces_committed_files(tmp_path: Path) -> None:
    # No --csv and a foreign cwd: the default CSV path must resolve from the script's location.
    subprocess.run(
        [sys.executable, str(GENERATOR), "--out-dir", str(tmp_path)],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    for name in GENERATED:
        committed = scenario.bundled_path(name).read_bytes()
        fresh = (tmp_path / f"{name}.toml").read_bytes()
        assert fresh == committed, f"{name}.toml is stale: rerun scripts/{GENERATOR.name}"


def header_comment(name: str) -> str:
    """The comment lines the file opens with."""
    lines = scenario.bundled_path(name).read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in itertools.takewhile(lambda line: line.startswith("#"), lines))


def funded(s: scenario.Scenario) -> list[scenario.Region]:
    return [r for r in s.regions if r.fund is not None]


def region(s: scenario.Scenario, region_id: str) -> scenario.Region:
    return next(r for r in s.regions if r.id == region_id)


@pytest.mark.parametrize("name", SOURCED)
def test_sourced_scenarios_cite_web_addresses(name: str) -> None:
    s = scenario.load(name)
    header = header_comment(name)
    assert s.meta.sources
    for source in s.meta.sources:
        assert WEB_ADDRESS.match(source), f"{name}: meta.sources entry is not a web address: {source!r}"
        assert source in header, f"{name}: the header does not list {source!r}"
    assert len(WEB_ADDRESS.findall(header)) >= len(s.meta.sources)
    assert ".md" not in " ".join(s.meta.sources)  # sources are public pages, not files
    assert "illustrative" in header.lower()


def test_hunan_2022_pool_is_one_pool() -> None:
    s = scenario.load("hunan-2022-pool")
    base = scenario.load("hunan-baseline")
    assert [r.id for r in funded(s)] == ["hunan"]
    assert funded(s)[0].fund == region(base, "hunan").fund == 65_000_000
    assert funded(s)[0].annual_topup == region(base, "hunan").annual_topup
    assert [(r.id, r.tier, r.parent, r.lending) for r in s.regions] == [
        (r.id, r.tier, r.parent, r.lending) for r in base.regions]
    assert (s.sharing.tiers.province, s.sharing.tiers.city, s.sharing.tiers.county) == (1.0, 0.0, 0.0)
    assert s.sharing.vector() == (0.45, 0.25, 0.20, 0.0, 0.10)  # 45 : 45 : 10, the middle 45 split
    assert (s.rules.max_covered, s.rules.max_loan) == (5_000_000, 0)


def test_hunan_three_tier_counts_changsha_once() -> None:
    s = scenario.load("hunan-three-tier")
    pool = scenario.load("hunan-2022-pool")
    base = scenario.load("hunan-baseline")
    assert region(s, "hunan").fund == region(pool, "hunan").fund - region(s, "changsha").fund == 35_000_000
    others = [r for r in s.regions if r.id != "hunan"]
    assert others == [r for r in base.regions if r.id != "hunan"]
    assert s.sharing == base.sharing and s.rules == base.rules


def test_jiangsu_suzhidai_bands() -> None:
    s = scenario.load("jiangsu-suzhidai")
    assert [r.id for r in funded(s)] == ["jiangsu"]
    assert [(b.max_loan, b.fund, b.bank) for b in s.sharing.bands] == [
        (10_000_000, 0.8, 0.2), (30_000_000, 0.5, 0.5)]
    assert s.rules.max_loan == 30_000_000 and s.rules.compensation_basis == "principal"
    assert s.sharing.tiers.province == 1.0
    assert len(tiers(s, "city")) == 13
    assert all(r.lending is not None and r.lending.tenor_months == 36 for r in tiers(s, "county"))


def test_guangdong_zhongshan_city_fund() -> None:
    s = scenario.load("guangdong-zhongshan")
    assert [r.id for r in funded(s)] == ["zhongshan"]
    assert s.sharing.vector() == (0.54, 0.26, 0.0, 0.16, 0.04)
    assert (s.sharing.tiers.province, s.sharing.tiers.city, s.sharing.tiers.county) == (0.0, 1.0, 0.0)
