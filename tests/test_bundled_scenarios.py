"""The scenarios shipped in riskpool/scenarios load, have the expected shape, and are up to date."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from riskpool import scenario

REPO_ROOT = Path(__file__).resolve().parents[1]
DIVISIONS_CSV = REPO_ROOT / "scripts" / "hunan_divisions.csv"
GENERATOR = REPO_ROOT / "scripts" / "make_scenarios.py"
GENERATED = ("hunan-baseline", "stress-shock")


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
