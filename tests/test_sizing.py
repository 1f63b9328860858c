"""`riskpool size` and `riskpool sensitivity`: answers checked against brute force."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskpool import scenario
from riskpool.cli import main
from riskpool.engine import simulate
from riskpool.fates import sample_block
from riskpool.ledger import run_ledger
from riskpool.metrics import summarize
from riskpool.structure import compile_structure
from riskpool.study import sizing
from riskpool.study.sizing import Sizer, monotone_in_scale, search, size

if str(Path(__file__).resolve().parent) not in sys.path:  # tests/ has no __init__.py
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from strategies import scenarios, seeds  # noqa: E402

SCALE = float(os.environ.get("RISKPOOL_PROPERTY_SCALE", "1"))

PATHS = 400
SEED = 7


def minimal_raw(*overrides: str) -> dict:
    raw = scenario.read_toml(scenario.bundled_path("minimal"))
    for item in overrides:
        scenario.apply_override(raw, *scenario.split_override(item))
    return raw


def test_size_is_bracketed_by_a_fine_grid() -> None:
    """The bisection's answer lies between the last grid scale below the target and the first above."""
    raw = minimal_raw("credit.annual_pd=0.08")
    answer = size(raw, 0.9, paths=PATHS, seed=SEED)
    grid_sizer = Sizer(raw, None, None, PATHS, SEED, 1)
    scales = np.linspace(0.0, 1.0, 41)
    suff = np.array([grid_sizer.sufficiency(s) for s in scales])
    assert np.all(np.diff(suff) >= 0), "sufficiency must not fall as the funds grow (common random numbers)"
    first = int(np.argmax(suff >= 0.9))
    assert suff[first] >= 0.9 and first > 0
    assert scales[first - 1] < answer.scale <= scales[first] + 1e-12
    assert answer.scale_low <= answer.scale <= answer.scale_high
    assert answer.sufficiency >= 0.9
    assert answer.capital_needed == pytest.approx(answer.scale * answer.capital_now)


def test_size_of_one_node_scales_only_that_fund() -> None:
    raw = minimal_raw("credit.annual_pd=0.08")
    answer = size(raw, 0.9, node="430104", paths=PATHS, seed=SEED)
    assert answer.what == "node 430104"
    assert answer.capital_now == 3_000_000
    sizer = Sizer(raw, "430104", None, PATHS, SEED, 1)
    at = sizer.scenario_at(2.0)
    funds = {r.id: r.fund for r in at.regions}
    assert funds == {"hunan": 65_000_000, "changsha": 30_000_000, "430104": 6_000_000}


def exhaustive(sizer: Sizer) -> Sizer:
    """The same search simulating every path at every scale (no outcome taken from other scales)."""
    sizer.monotone = False
    return sizer


HYPOTHESIS = dict(deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
# bundled scenarios of every shape (banks, per-bank shares, products, bands, a pool, one city) with
# the rules varied: the searches they give have undecided paths at many scales
BUNDLED_EDITS = st.lists(st.sampled_from([
    "credit.annual_pd=0.04", "credit.annual_pd=0.12", "rules.shortfall=parent", "rules.shortfall=bank",
    "rules.claim_lag_months=0", "rules.fund_interest_rate=0.05", "rules.compensation_basis=net_loss",
    "rules.circuit_breaker_npl=0.2", "layers.borrower_pool_rate=0.02", "rules.write_off_months=4",
]), max_size=3, unique=True)


@settings(max_examples=max(1, round(20 * SCALE)), **HYPOTHESIS)
@given(raw=scenarios(annual_pd=0.15), seed=seeds, n_paths=st.integers(20, 120),
       target=st.sampled_from([0.5, 0.8, 0.95]), which=st.sampled_from(["all", "tier", "node"]))
def test_outcomes_taken_from_other_scales_are_those_simulating_gives(raw, seed, n_paths, target, which):
    """Where size takes a path's outcome from the scales tried before (docs/model.md section 8.5),
    it is what simulating the path gives, at every scale the search tried: the same answer; and
    there each path's sufficiency is monotone in the scale, as the rule assumes."""
    check_against_exhaustive(raw, seed, n_paths, target, which)


@settings(max_examples=max(1, round(16 * SCALE)), **HYPOTHESIS)
@given(name=st.sampled_from(["minimal", "hunan-three-tier", "guangdong-zhongshan", "jiangsu-suzhidai",
                             "hunan-2022-pool"]),
       edits=BUNDLED_EDITS, seed=seeds, n_paths=st.integers(50, 150), target=st.sampled_from([0.5, 0.8, 0.95]),
       which=st.sampled_from(["all", "tier", "node"]))
def test_size_of_bundled_scenarios_takes_only_outcomes_simulating_gives(name, edits, seed, n_paths, target, which):
    check_against_exhaustive(scenario.read_raw_with(name, edits), seed, n_paths, target, which)


def check_against_exhaustive(raw: dict, seed: int, n_paths: int, target: float, which: str) -> None:
    base = scenario.from_dict(raw)
    funded = [r for r in base.regions if r.fund]
    if not funded:  # nothing to size
        return
    node = funded[-1].id if which == "node" else None
    tier = funded[-1].tier if which == "tier" else None
    fast = Sizer(raw, node, tier, n_paths, seed, 1)
    slow = exhaustive(Sizer(raw, node, tier, n_paths, seed, 1))
    assert search(fast, target) == search(slow, target)
    assert fast.cache.keys() == slow.cache.keys()
    for scale, ok in slow.cache.items():
        assert np.array_equal(fast.cache[scale], ok), scale
    if fast.monotone:
        scales = sorted(slow.cache)
        oks = np.array([slow.cache[s] for s in scales])
        assert (np.diff(oks.astype(int), axis=0) >= 0).all(), "a path fell short at a larger scale"


def test_size_simulates_only_the_undecided_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the minimal scenario most scales leave few paths undecided: far fewer simulated, same answer."""
    raw = minimal_raw("credit.annual_pd=0.08")
    simulated = []

    def counting(scenario_, **kwargs):
        only = kwargs["only"]
        simulated.append(PATHS if only is None else int(only.sum()))
        return simulate(scenario_, **kwargs)

    monkeypatch.setattr(sizing, "simulate", counting)
    fast = Sizer(raw, None, None, PATHS, SEED, 1)
    answer = search(fast, 0.9)
    monkeypatch.undo()
    assert fast.monotone
    assert answer == search(exhaustive(Sizer(raw, None, None, PATHS, SEED, 1)), 0.9)
    assert len(simulated) <= answer.evaluations
    assert sum(simulated) < 0.4 * PATHS * answer.evaluations


@pytest.mark.parametrize("overrides", [
    ["rules.leverage=5"],  # kept (keep_leverage below)
    ["regions.hunan.topup_rule=restore", "regions.hunan.annual_topup=0", "regions.hunan.target_balance=8e7"],
    ["rules.shortfall=parent", "regions.changsha.annual_cap=1e6"],
])
def test_size_simulates_every_path_where_sufficiency_need_not_be_monotone(overrides) -> None:
    raw = minimal_raw(*overrides)
    sizer = Sizer(raw, None, None, 50, SEED, 1, keep_leverage="rules.leverage=5" in overrides)
    assert not sizer.monotone
    assert Sizer(minimal_raw(), None, None, 50, SEED, 1).monotone  # its leverage cap lifted
    assert not monotone_in_scale(compile_structure(scenario.from_dict(minimal_raw())))  # with it


def test_a_run_of_some_paths_gives_those_paths_of_the_full_run() -> None:
    s = scenario.load("minimal")
    full = simulate(s, paths=600, seed=SEED)
    only = np.zeros(600, dtype=bool)
    only[[3, 249, 250, 251, 599]] = True  # the first and last paths of blocks too; block 1 runs one path
    part = simulate(s, paths=600, seed=SEED, only=only)
    for name in ("paths", "nodes", "counties", "balance", "budget", "banks"):
        assert np.array_equal(getattr(part, name)[only], getattr(full, name)[only]), name
        assert not getattr(part, name)[~only].any(), name
    assert np.array_equal(part.ran, only) and full.ran is None
    with pytest.raises(ValueError, match="some of its paths"):  # its other paths are zeros, not results
        summarize(part)
    for bad in (only[:10], only.astype(int)):
        with pytest.raises(ValueError, match="mask"):
            simulate(s, paths=600, only=bad)
    st_ = compile_structure(s)
    fates = sample_block(st_, SEED, 0, 250)
    for bad in (np.array([False, True]), np.array([[0, 1]]), np.array([0.0, 1.0]), np.array([1, 0]), np.array([250])):
        with pytest.raises(ValueError, match="ascending integer indices"):
            run_ledger(st_, fates, paths=bad)


def test_size_refuses_unknown_node_and_both_selectors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["size", "minimal", "--node", "nowhere", "--paths", "50"]) == 2
    assert "--node" in capsys.readouterr().err
    assert main(["size", "minimal", "--node", "430104", "--tier", "city", "--paths", "50"]) == 2


def test_size_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["size", "minimal", "--tier", "county", "--paths", "200", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["what"] == "tier county"
    assert answer["scale_low"] <= answer["scale"] <= answer["scale_high"]
    assert answer["paths"] == 200


def test_sensitivity_ranks_a_parameter_that_cannot_matter_last(tmp_path, capsys) -> None:
    """The guarantor's fee rate does not touch the fund: its indices are exactly zero."""
    out = tmp_path / "sens"
    rc = main(["sensitivity", "minimal", "--range", "credit.annual_pd=0.01:0.3",
               "--range", "parties.guarantor.fee_rate=0:0.05", "--set", "funds.scale=0.05",
               "--samples", "8", "--paths", "300", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    table = pq.read_table(out / "sensitivity.parquet").to_pydict()
    rows = {(o, p): (s1, st) for o, p, s1, st in zip(table["output"], table["parameter"], table["S1"], table["ST"])}
    for output in ("p_shortfall", "payout_net_mean"):
        assert rows[(output, "parties.guarantor.fee_rate")] == (0.0, 0.0)
        assert rows[(output, "credit.annual_pd")][1] > 0.5
    assert (out / "sensitivity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
