"""Loading, overriding and validating scenarios (docs/model.md section 7: every check listed there).

Every bad input must raise ScenarioError whose problems name the field path (as ``--set``
addresses it), the value and what is allowed. Memory and time refusals come from
``limits.check_resources``, which ``engine.simulate`` runs before any work: the helper
``problems_of`` applies both, as ``riskpool run`` does.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from pathlib import Path
from typing import Any, Callable

import pytest

from riskpool import limits, scenario
from riskpool.scenario import Problem, ScenarioError

MINIMAL = "minimal"


def minimal_raw() -> dict[str, Any]:
    return scenario.read_toml(scenario.bundled_path(MINIMAL))


def minimal_text() -> str:
    return scenario.bundled_path(MINIMAL).read_text(encoding="utf-8")


def region(raw: dict[str, Any], rid: str) -> dict[str, Any]:
    (match,) = [r for r in raw["regions"] if r["id"] == rid]
    return match


def replaced(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once in minimal.toml"
    return text.replace(old, new)


def problems_of(raw: dict[str, Any], overrides: list[str] | None = None) -> list[Problem]:
    """Problems found by loading ``raw`` with ``overrides`` and checking it fits this machine."""
    try:
        s = scenario.from_dict(raw, overrides)
        limits.check_resources(s, s.simulation.paths)
    except ScenarioError as exc:
        assert exc.problems, "a ScenarioError must carry at least one problem"
        return exc.problems
    pytest.fail(f"no ScenarioError for overrides {overrides!r}")


def problems_of_text(text: str | bytes, tmp_path: Path) -> list[Problem]:
    path = tmp_path / "bad.toml"
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    with pytest.raises(ScenarioError) as info:
        scenario.load(path)
    assert info.value.problems
    return info.value.problems


# --------------------------------------------------------------------------- bundled names


@pytest.mark.parametrize("name", scenario.bundled_names())
def test_bundled_name_resolves_to_the_packaged_file(name: str) -> None:
    path = scenario.resolve_source(name)
    assert path == scenario.bundled_path(name)
    assert path.is_file()
    s = scenario.load(name)
    assert s.sha256() == scenario.load(path).sha256()


def test_bundled_names_include_the_default_and_minimal() -> None:
    names = scenario.bundled_names()
    assert scenario.DEFAULT_SCENARIO == "hunan-baseline"
    assert {"hunan-baseline", "minimal"} <= set(names)


def test_no_source_means_the_hunan_baseline() -> None:
    assert scenario.resolve_source(None) == scenario.bundled_path("hunan-baseline")
    assert scenario.load().sha256() == scenario.load("hunan-baseline").sha256()


def test_a_file_path_is_used_as_given(tmp_path: Path) -> None:
    path = tmp_path / "copy.toml"
    path.write_text(minimal_text(), encoding="utf-8")
    assert scenario.resolve_source(str(path)) == path
    assert scenario.load(str(path)).sha256() == scenario.load(MINIMAL).sha256()


def test_a_local_file_named_like_a_bundled_scenario_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path(MINIMAL).write_text(replaced(minimal_text(), "annual_pd = 0.02", "annual_pd = 0.03"), encoding="utf-8")
    assert scenario.load(MINIMAL).credit.annual_pd == 0.03


def test_unknown_name_is_a_scenario_error_naming_it() -> None:
    with pytest.raises(ScenarioError) as info:
        scenario.load("no-such-scenario")
    (problem,) = info.value.problems
    assert problem.path == "no-such-scenario"
    assert "cannot read" in problem.allowed


def test_minimal_shape() -> None:
    s = scenario.load(MINIMAL)
    assert [(r.id, r.tier, r.parent) for r in s.regions] == [
        ("hunan", "province", None),
        ("changsha", "city", "hunan"),
        ("430104", "county", "changsha"),
    ]
    assert s.horizon_months == 60
    assert s.stress_factors() == [1.0] * 5


# --------------------------------------------------------------------------- overrides


def test_scalar_override() -> None:
    s = scenario.load(MINIMAL, ["credit.annual_pd=0.05"])
    assert s.credit.annual_pd == 0.05
    assert scenario.load(MINIMAL).credit.annual_pd == 0.02


def test_region_field_override_by_id() -> None:
    s = scenario.load(MINIMAL, ["regions.changsha.fund=4e7"])
    funds = {r.id: r.fund for r in s.regions}
    assert funds == {"hunan": 65_000_000, "changsha": 40_000_000, "430104": 3_000_000}


def test_nested_region_field_override_by_numeric_id() -> None:
    s = scenario.load(MINIMAL, ["regions.430104.lending.new_loans_per_year=20"])
    county = s.regions[2]
    assert county.id == "430104"
    assert county.lending is not None
    assert county.lending.new_loans_per_year == 20
    assert county.lending.loan_size_mean == 3_000_000  # the rest of the table is kept


def test_funds_scale_multiplies_every_fund_and_topup() -> None:
    base = scenario.load(MINIMAL)
    scaled = scenario.load(MINIMAL, ["funds.scale=1.5"])
    for a, b in zip(base.regions, scaled.regions, strict=True):
        assert b.fund == pytest.approx(1.5 * a.fund, rel=1e-15)
        assert b.annual_topup == pytest.approx(1.5 * a.annual_topup, rel=1e-15)
    assert scaled.credit == base.credit


def test_funds_scale_leaves_regions_without_a_fund_alone() -> None:
    raw = minimal_raw()
    del region(raw, "changsha")["fund"]
    region(raw, "changsha")["annual_topup"] = 0
    s = scenario.from_dict(raw, ["funds.scale=2"])
    assert s.regions[1].fund is None
    assert s.regions[0].fund == 130_000_000


@pytest.mark.parametrize("text", ['rules.shortfall="bank"', "rules.shortfall=bank", "rules.shortfall = bank"])
def test_string_override_quoted_or_bare(text: str) -> None:
    assert scenario.load(MINIMAL, [text]).rules.shortfall == "bank"


def test_list_override() -> None:
    s = scenario.load(MINIMAL, ["credit.stress=[1,2,1,1,1]"])
    assert s.credit.stress == [1.0, 2.0, 1.0, 1.0, 1.0]
    assert s.stress_factors() == [1.0, 2.0, 1.0, 1.0, 1.0]


def test_overrides_apply_in_order_and_settings_last() -> None:
    s = scenario.load(
        MINIMAL, ["credit.annual_pd=0.05", "credit.annual_pd=0.06"], simulation__paths=123, simulation__seed=None
    )
    assert s.credit.annual_pd == 0.06
    assert s.simulation.paths == 123
    assert s.simulation.seed == 20220725  # None settings are ignored


def test_override_does_not_touch_the_input_data() -> None:
    raw = minimal_raw()
    before = copy.deepcopy(raw)
    scenario.from_dict(raw, ["funds.scale=2", "credit.annual_pd=0.05", "regions.changsha.fund=1"])
    assert raw == before


@pytest.mark.parametrize(
    ("override", "path"),
    [
        ("credit.annual_pd", "set credit.annual_pd"),  # no '='
        ("regions.nowhere.fund=1", "regions.nowhere.fund"),
        ("regions.changsha=1", "regions.changsha"),
        ("funds.scale=-1", "funds.scale"),
        ("funds.scale=nan", "funds.scale"),
        ("funds.scale=abc", "funds.scale"),
        ("credit..annual_pd=1", "set credit..annual_pd"),
    ],
)
def test_bad_override_is_a_scenario_error(override: str, path: str) -> None:
    problems = problems_of(minimal_raw(), [override])
    assert path in [p.path for p in problems]


# --------------------------------------------------------------------------- canonical form and hash


def test_sha256_is_the_hash_of_the_canonical_json() -> None:
    s = scenario.load(MINIMAL)
    text = s.canonical_json()
    assert s.sha256() == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert json.loads(text) == s.canonical()
    assert "岳麓区" in text  # not escaped: ensure_ascii=False


def test_canonical_json_is_stable() -> None:
    a, b = scenario.load(MINIMAL), scenario.load(MINIMAL)
    assert a.canonical_json() == b.canonical_json()
    assert a.sha256() == b.sha256()
    again = scenario.from_dict(json.loads(a.canonical_json()))  # the canonical form is a fixed point
    assert again.canonical_json() == a.canonical_json()


def test_canonical_json_fills_defaults_and_ignores_layout(tmp_path: Path) -> None:
    text = minimal_text()
    # Reorder sections, drop a key that equals its default, change number spelling.
    collateral = text[text.index("[collateral]") : text.index("[sharing]")]
    moved = text.replace(collateral, "") + "\n" + collateral
    moved = replaced(moved, 'compensation_basis = "principal"\n', "")
    moved = replaced(moved, "fund = 65_000_000", "fund = 6.5e7")
    path = tmp_path / "moved.toml"
    path.write_text(moved, encoding="utf-8")
    assert scenario.load(path).sha256() == scenario.load(MINIMAL).sha256()


@pytest.mark.parametrize(
    "override",
    ["credit.annual_pd=0.05", "regions.changsha.fund=4e7", "funds.scale=1.5", "rules.shortfall=bank", "simulation.seed=1"],
)
def test_an_override_changes_the_hash(override: str) -> None:
    base = scenario.load(MINIMAL)
    changed = scenario.load(MINIMAL, [override])
    assert changed.sha256() != base.sha256()
    assert changed.canonical_json() != base.canonical_json()


def test_an_override_to_the_same_value_keeps_the_hash() -> None:
    assert scenario.load(MINIMAL, ["credit.annual_pd=0.02"]).sha256() == scenario.load(MINIMAL).sha256()


# --------------------------------------------------------------------------- bad input


def _drop(*keys: str) -> Callable[[dict[str, Any]], None]:
    def edit(raw: dict[str, Any]) -> None:
        node = raw
        for key in keys[:-1]:
            node = node[key]
        del node[keys[-1]]

    return edit


def _duplicate_county(raw: dict[str, Any]) -> None:
    raw["regions"].append(copy.deepcopy(region(raw, "430104")))


def _second_province(raw: dict[str, Any]) -> None:
    raw["regions"].append({"id": "hubei", "name": "湖北省", "tier": "province", "fund": 1})


def _no_province(raw: dict[str, Any]) -> None:
    raw["regions"] = [r for r in raw["regions"] if r["id"] != "hunan"]
    del region(raw, "changsha")["parent"]


def _orphan_county(raw: dict[str, Any]) -> None:
    del region(raw, "430104")["parent"]


def _region_unknown_key(raw: dict[str, Any]) -> None:
    region(raw, "430104")["colour"] = "red"


def _lending_unknown_key(raw: dict[str, Any]) -> None:
    region(raw, "430104")["lending"]["loans_per_year"] = 12


# (case id, edit of the raw data or None, overrides, the problem path that must be reported)
BAD_INPUT: list[tuple[str, Callable | None, list[str], str]] = [
    # probabilities outside [0, 1]
    ("pd-above-1", None, ["credit.annual_pd=1.5"], "credit.annual_pd"),
    ("pd-negative", None, ["credit.annual_pd=-0.01"], "credit.annual_pd"),
    ("recovery-mean-above-1", None, ["collateral.recovery_mean=1.2"], "collateral.recovery_mean"),
    ("share-negative", None, ["sharing.insurer=-0.1", "sharing.fund=0.75"], "sharing.insurer"),
    ("npl-above-1", None, ["rules.circuit_breaker_npl=2"], "rules.circuit_breaker_npl"),
    # shares that do not sum to 1
    ("shares-sum", None, ["sharing.fund=0.5"], "sharing"),
    ("shares-sum-1e-8", None, ["sharing.fund=0.45000001"], "sharing"),
    ("tier-shares-sum", None, ["sharing.tiers.city=0.4"], "sharing.tiers"),
    # negative money
    ("fund-negative", None, ["regions.430104.fund=-1"], "regions.430104.fund"),
    ("topup-negative", None, ["regions.changsha.annual_topup=-5"], "regions.changsha.annual_topup"),
    ("cap-negative", None, ["rules.per_loan_cap=-1"], "rules.per_loan_cap"),
    ("capital-negative", None, ["parties.guarantor.capital=-1e6"], "parties.guarantor.capital"),
    ("loan-size-negative", None, ["regions.430104.lending.loan_size_mean=-3e6"], "regions.430104.lending.loan_size_mean"),
    # non-finite numbers given as overrides
    ("pd-nan", None, ["credit.annual_pd=nan"], "credit.annual_pd"),
    ("fund-inf", None, ["regions.hunan.fund=inf"], "regions.hunan.fund"),
    ("new-loans-inf", None, ["regions.430104.lending.new_loans_per_year=inf"], "regions.430104.lending.new_loans_per_year"),
    # the region tree
    ("parent-missing", None, ["regions.changsha.parent=nowhere"], "regions.changsha.parent"),
    ("parent-absent", _orphan_county, [], "regions.430104.parent"),
    ("parent-wrong-tier", None, ["regions.430104.parent=hunan"], "regions.430104.parent"),
    ("province-with-parent", None, ['regions.hunan.parent="changsha"'], "regions.hunan.parent"),
    ("duplicate-id", _duplicate_county, [], "regions.430104.id"),
    ("duplicate-id-by-set", None, ['regions.changsha.id="hunan"'], "regions.hunan.id"),
    ("two-provinces", _second_province, [], "regions"),
    ("no-province", _no_province, [], "regions"),
    # stress of the wrong length
    ("stress-short", None, ["credit.stress=[1,2]"], "credit.stress"),
    ("stress-long", None, ["credit.stress=[1,1,1,1,1,1]"], "credit.stress"),
    ("stress-vs-horizon", None, ["simulation.horizon_years=3"], "credit.stress"),
    # a recovery distribution that cannot exist
    ("recovery-sd", None, ["collateral.recovery_sd=0.4"], "collateral.recovery_sd"),
    ("recovery-sd-boundary", None, ["collateral.recovery_mean=0.5", "collateral.recovery_sd=0.5"], "collateral.recovery_sd"),
    # too big for memory or time
    ("paths-huge", None, [f"simulation.paths={10**12}"], "simulation.paths"),
    ("paths-zero", None, ["simulation.paths=0"], "simulation.paths"),
    # unknown keys
    ("unknown-top", None, ["colour=1"], "colour"),
    ("unknown-nested", None, ["credit.anual_pd=0.05"], "credit.anual_pd"),
    ("unknown-deep", None, ["sharing.tiers.town=0.1"], "sharing.tiers.town"),
    ("unknown-region-key", _region_unknown_key, [], "regions.430104.colour"),
    ("unknown-lending-key", _lending_unknown_key, [], "regions.430104.lending.loans_per_year"),
    # missing required keys
    ("missing-pd", _drop("credit", "annual_pd"), [], "credit.annual_pd"),
    ("missing-meta", _drop("meta"), [], "meta"),
    ("missing-tiers", _drop("sharing", "tiers"), [], "sharing.tiers"),
    # wrong types
    ("string-for-number", None, ["credit.annual_pd=high"], "credit.annual_pd"),
    ("bad-literal", None, ['rules.shortfall="nobody"'], "rules.shortfall"),
]


@pytest.mark.parametrize(("edit", "overrides", "path"), [c[1:] for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT])
def test_bad_input_names_the_field(edit: Callable | None, overrides: list[str], path: str) -> None:
    raw = minimal_raw()
    if edit is not None:
        edit(raw)
    problems = problems_of(raw, overrides)
    assert path in [p.path for p in problems], [str(p) for p in problems]
    for p in problems:
        line = str(p)
        assert "\n" not in line
        assert line.startswith(p.path)
        assert p.allowed and p.allowed in line


def test_bad_value_is_shown_with_what_is_allowed() -> None:
    (problem,) = problems_of(minimal_raw(), ["credit.annual_pd=1.5"])
    assert problem == Problem("credit.annual_pd", 1.5, problem.allowed)
    assert str(problem).startswith("credit.annual_pd = 1.5: ")
    assert "1" in problem.allowed


def test_share_sum_within_tolerance_is_accepted() -> None:
    s = scenario.load(MINIMAL, ["sharing.fund=0.4500000000001"])  # off by 1e-13
    assert math.isclose(s.sharing.fund, 0.45)


def test_share_sum_problem_reports_the_sum() -> None:
    problems = problems_of(minimal_raw(), ["sharing.fund=0.5"])
    (problem,) = [p for p in problems if p.path == "sharing"]
    assert problem.value == pytest.approx(1.05)
    assert "sum to 1" in problem.allowed


def test_recovery_sd_just_below_the_bound_is_accepted() -> None:
    bound = math.sqrt(0.15 * 0.85)
    s = scenario.load(MINIMAL, [f"collateral.recovery_sd={bound * 0.999}"])
    assert s.collateral.recovery_sd < bound


def test_stress_problem_says_how_many_values() -> None:
    (problem,) = problems_of(minimal_raw(), ["credit.stress=[1,2]"])
    assert problem.value == [1.0, 2.0]
    assert "5" in problem.allowed


def test_huge_paths_are_refused_before_running() -> None:
    problems = problems_of(minimal_raw(), [f"simulation.paths={10**12}"])
    assert {p.path for p in problems} == {"simulation.paths"}
    assert all(p.value == 10**12 for p in problems)


def test_huge_lending_is_refused_naming_lending() -> None:
    raw = minimal_raw()
    problems = problems_of(raw, ["regions.430104.lending.new_loans_per_year=1e9"])
    lending = [p for p in problems if "lending" in p.path]
    assert lending, [str(p) for p in problems]
    assert all(p.path.startswith("regions.") for p in lending)
    assert lending[0].path.endswith("new_loans_per_year")


def test_huge_lending_names_the_county_field_and_value() -> None:
    problems = problems_of(minimal_raw(), ["regions.430104.lending.new_loans_per_year=1e9"])
    assert Problem("regions.430104.lending.new_loans_per_year", 1e9, problems[0].allowed) in [
        Problem(p.path, p.value, problems[0].allowed) for p in problems
    ]


def test_huge_lending_passes_scenario_validation_alone() -> None:
    # Loading checks the file; the machine-dependent refusal is limits.check_resources's job.
    s = scenario.load(MINIMAL, ["regions.430104.lending.new_loans_per_year=1e9"])
    with pytest.raises(ScenarioError):
        limits.check_resources(s, 1)


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of(
        minimal_raw(),
        ["credit.annual_pd=2", "sharing.tiers.county=0.5", "regions.430104.fund=-1", "colour=1"],
    )
    paths = [p.path for p in problems]
    assert {"credit.annual_pd", "regions.430104.fund", "colour"} <= set(paths)
    problems = problems_of(minimal_raw(), ["sharing.fund=0.5", "credit.stress=[1]", "collateral.recovery_sd=0.4"])
    assert {"sharing", "credit.stress", "collateral.recovery_sd"} <= {p.path for p in problems}


# --------------------------------------------------------------------------- bad TOML text


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("annual_pd = 0.02", "annual_pd = nan", "credit.annual_pd"),
        ("annual_pd = 0.02", "annual_pd = +inf", "credit.annual_pd"),
        ("recovery_mean = 0.15", "recovery_mean = -nan", "collateral.recovery_mean"),
        ("fund = 65_000_000", "fund = inf", "regions.hunan.fund"),
        ("loan_size_mean = 3_000_000", "loan_size_mean = inf", "regions.430104.lending.loan_size_mean"),
        ("stress = [1.0, 1.0, 1.0, 1.0, 1.0]", "stress = [1.0, nan, 1.0, 1.0, 1.0]", "credit.stress[1]"),
        ('[meta]\n', '[meta]\nversion = 2\n', "meta.version"),
        ("[rules]\n", "[rules]\nshortfal = 'bank'\n", "rules.shortfal"),
        ("[credit]\n", "[extras]\nx = 1\n\n[credit]\n", "extras"),
        ("annual_pd = 0.02\n", "", "credit.annual_pd"),
    ],
    ids=["nan", "inf", "minus-nan", "fund-inf", "loan-size-inf", "nan-in-list", "unknown-meta-key",
         "unknown-rules-key", "unknown-section", "missing-key"],
)
def test_bad_toml_values_name_the_field(tmp_path: Path, old: str, new: str, path: str) -> None:
    problems = problems_of_text(replaced(minimal_text(), old, new), tmp_path)
    assert path in [p.path for p in problems], [str(p) for p in problems]


def test_nan_problem_says_finite() -> None:
    problems = problems_of(scenario.parse_toml(replaced(minimal_text(), "annual_pd = 0.02", "annual_pd = nan").encode()))
    (problem,) = problems
    assert problem.path == "credit.annual_pd"
    assert "finite" in problem.allowed


def test_invalid_toml_is_a_scenario_error(tmp_path: Path) -> None:
    (problem,) = problems_of_text(minimal_text() + "\n[credit\nannual_pd = \n", tmp_path)
    assert problem.path.endswith("bad.toml")
    assert "TOML" in problem.allowed


def test_duplicate_toml_key_is_a_scenario_error(tmp_path: Path) -> None:
    (problem,) = problems_of_text(replaced(minimal_text(), "annual_pd = 0.02", "annual_pd = 0.02\nannual_pd = 0.03"), tmp_path)
    assert "TOML" in problem.allowed


def test_non_utf8_is_a_scenario_error(tmp_path: Path) -> None:
    data = minimal_text().encode("utf-8").replace("岳麓区".encode("utf-8"), "岳麓区".encode("gbk"))
    (problem,) = problems_of_text(data, tmp_path)
    assert problem.path.endswith("bad.toml")
    assert "UTF-8" in problem.allowed


def test_empty_file_reports_the_missing_sections(tmp_path: Path) -> None:
    problems = problems_of_text("", tmp_path)
    assert {"meta", "credit", "collateral", "sharing", "regions"} <= {p.path for p in problems}
    assert all("missing" in p.allowed for p in problems)
