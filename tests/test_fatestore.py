"""Fates once, ledger many (riskpool.fatestore): a rerun that changes only rules reuses the sampled
fates and gives, bit for bit, the arrays of a fresh run; anything that shapes the fates changes
the key, so nothing is reused across it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskpool import scenario
from riskpool.engine import simulate
from riskpool.fatestore import FateStore, fates_key, hand_over, take_over
from riskpool.fates import sample_block
from riskpool.study import sizing
from riskpool.study.backends import open_backend
from riskpool.study.grid import Axis, product
from riskpool.study.store import Store
from riskpool.engine import plan_blocks, simulate_blocks
from riskpool.study.sweep import axis_types, point_figures, prepare, same_fates
from riskpool.study.sweep import run as run_sweep
from riskpool.structure import compile_structure

if str(Path(__file__).resolve().parent) not in sys.path:  # tests/ has no __init__.py
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from strategies import scenarios, seeds  # noqa: E402

ARRAYS = ("paths", "nodes", "counties", "balance", "budget", "banks", "covered", "years", "weight")
SCALE = float(os.environ.get("RISKPOOL_PROPERTY_SCALE", "1"))
# edits that change only the ledger's inputs (docs/model.md section 2.6)
LEDGER_EDITS = st.lists(st.sampled_from([
    "funds.scale=0.3", "funds.scale=2.5", "funds.county.fund_scale=0", "rules.shortfall=parent", "rules.shortfall=bank",
    "rules.claim_lag_months=0", "rules.claim_lag_months=7", "rules.per_loan_cap=2e5", "rules.leverage=3",
    "rules.circuit_breaker_npl=0.02", "rules.fund_interest_rate=0.05", "rules.compensation_basis=net_loss",
    "sharing.fund_cap_share=0.3", "rules.max_covered=1e6", "layers.bank_first_loss=0.1",
    "layers.borrower_pool_rate=0.02", "rules.write_off_months=3",
]), min_size=1, max_size=4, unique=True)


def same(a, b) -> bool:
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ARRAYS)


@settings(max_examples=max(1, round(40 * SCALE)), deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(raw=scenarios(), edits=LEDGER_EDITS, seed=seeds, n_paths=st.integers(1, 300))
def test_a_ledger_only_edit_reuses_the_fates_and_gives_a_fresh_runs_numbers(raw, edits, seed, n_paths):
    base = scenario.from_dict(raw)
    try:
        edited = scenario.from_dict(raw, edits)
    except scenario.ScenarioError:  # an edit that does not fit this scenario (say, leverage with no fund)
        return
    store = FateStore()
    simulate(base, paths=n_paths, seed=seed, fate_store=store)
    sampled = store.misses
    reused = simulate(edited, paths=n_paths, seed=seed, fate_store=store)
    assert store.hits == sampled and store.misses == sampled  # every block came from the store
    assert same(reused, simulate(edited, paths=n_paths, seed=seed))


def test_the_key_names_what_shapes_the_fates_and_nothing_else():
    base = compile_structure(scenario.load("minimal"))
    for ledger_only in (["funds.scale=2"], ["sharing.fund=0.5", "sharing.bank=0.2"], ["rules.shortfall=bank"],
                        ["regions.430104.annual_cap=1e5"], ["parties.insurer.premium_rate=0.02"]):
        assert fates_key(compile_structure(scenario.load("minimal", ledger_only))) == fates_key(base), ledger_only
    for shaping in (["credit.annual_pd=0.03"], ["collateral.recovery_mean=0.2"], ["regions.430104.lending.tenor_months=24"],
                    ["simulation.horizon_years=4", "credit.stress=[1, 1, 1, 1]"], ["collateral.p_no_sale=0.1"],
                    ["regions.430104.pd_multiplier=2"]):
        assert fates_key(compile_structure(scenario.load("minimal", shaping))) != fates_key(base), shaping
    store = FateStore()
    simulate(scenario.load("minimal"), paths=300, seed=1, fate_store=store)
    simulate(scenario.load("minimal", ["credit.annual_pd=0.03"]), paths=300, seed=1, fate_store=store)
    simulate(scenario.load("minimal"), paths=300, seed=2, fate_store=store)
    assert store.hits == 0  # another PD, another seed: sampled again


def test_forked_workers_hand_their_fates_back_and_reuse_them():
    s = scenario.load("minimal", ["credit.annual_pd=0.1"])
    edited = scenario.load("minimal", ["credit.annual_pd=0.1", "funds.scale=0.1"])
    store = FateStore()
    first = simulate(s, paths=2000, seed=4, workers=2, blocks_per_task=1, fate_store=store)
    assert len(store) == 8 and same(first, simulate(s, paths=2000, seed=4))
    assert same(simulate(edited, paths=2000, seed=4, workers=2, blocks_per_task=1, fate_store=store),
                simulate(edited, paths=2000, seed=4))
    assert len(store) == 8


def test_a_full_store_drops_the_blocks_used_least_recently():
    st_ = compile_structure(scenario.load("minimal"))
    one = sample_block(st_, 1, 0, 250)
    size = sum(v.nbytes for v in vars(one).values() if isinstance(v, np.ndarray))
    store = FateStore(max_bytes=int(2.5 * size))
    for block in range(3):
        store.sample(st_, 1, block, 250)
    assert len(store) == 2 and store.nbytes <= store.max_bytes
    store.sample(st_, 1, 2, 250)
    assert store.hits == 1
    store.sample(st_, 1, 0, 250)  # dropped: sampled again
    assert store.misses == 4


def test_handing_fates_over_keeps_every_array():
    st_ = compile_structure(scenario.load("minimal"))
    fates = sample_block(st_, 3, 1, 40)
    back = take_over(*hand_over(fates))
    for name, value in vars(fates).items():
        assert (value is None and getattr(back, name) is None) or np.array_equal(value, getattr(back, name)), name


def test_sizing_reuses_the_fates_of_its_first_step(monkeypatch: pytest.MonkeyPatch):
    """Both blocks are sampled once: simulating every path, each later scale takes both from the
    store; simulating only the undecided paths, each takes the blocks that hold one."""
    raw = scenario.read_raw_with("minimal", ["credit.annual_pd=0.1"])
    sizer = sizing.Sizer(raw, None, None, 500, 3, 1, False)
    sizer.monotone = False
    answer = sizing.search(sizer, 0.9)
    assert sizer.store.misses == 2 and sizer.store.hits == 2 * (answer.evaluations - 1)
    fresh = simulate(sizer.scenario_at(answer.scale), paths=500, seed=3)
    assert answer.sufficiency == pytest.approx(float((fresh.group_earliest(sizer.members) < 0).mean()), abs=0)

    blocks_run = []

    def recording(s, **kwargs):
        only = np.ones(500, dtype=bool) if kwargs["only"] is None else kwargs["only"]
        blocks_run.append(sum(only[start : start + 250].any() for start in (0, 250)))
        return simulate(s, **kwargs)

    monkeypatch.setattr(sizing, "simulate", recording)
    deciding = sizing.Sizer(raw, None, None, 500, 3, 1, False)
    assert sizing.search(deciding, 0.9) == answer
    assert blocks_run[0] == 2 and deciding.store.misses == 2 and deciding.store.hits == sum(blocks_run[1:])
    assert sum(blocks_run) < 2 * answer.evaluations


@pytest.mark.parametrize("path,values,reuse", [("funds.scale", (0.2, 1.0, 3.0), True),
                                               ("credit.annual_pd", (0.02, 0.05), False)])
def test_a_sweep_of_rules_reuses_fates_and_stores_a_fresh_runs_points(path, values, reuse):
    raw = scenario.read_raw_with("minimal", ["credit.annual_pd=0.1"]) if reuse else scenario.read_raw_with("minimal")
    axes = [Axis(path, values)]
    sweep = prepare(raw, axes, product(axes), paths=600, seed=2)
    assert same_fates(sweep.scenarios) is reuse
    tables = []
    for workers in (1, 2):
        store = Store(None, sweep.spec(), axis_types(axes))
        with open_backend(workers) as backend:
            run_sweep(sweep, store, backend)
        tables.append(store.table("points").to_pylist())
        store.close()
    assert tables[0] == tables[1]
    for k, s in enumerate(sweep.scenarios):  # each point as a fresh run of its own gives it
        figures, _ = point_figures(s, 2, [simulate_blocks(s, 2, plan_blocks(600)).nodes])
        assert {f: tables[0][k][f] for f in figures} == figures
