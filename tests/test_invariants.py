"""Property tests of the invariants of docs/model.md sections 2, 5 and 6 on random small scenarios.

Each property draws a valid scenario from ``tests/strategies.py``, simulates 20-60 paths and
checks, path by path and node by node:

1. conservation: party losses + recovered + unpaid = defaulted EAD;
2. no fund balance below zero;
3. bounds: every party's loss in [0, defaulted EAD], node unpaid and payouts add up;
4. nothing is left unpaid under the "bank" and "parent" shortfall policies;
5. common random numbers: larger funds never create a shortfall;
6. the set of defaults only grows (and comes no later) with annual_pd;
7. with no recovery inside the horizon, shortfalls only grow with annual_pd;
8. determinism: reruns, task grouping and workers give identical arrays;

and, beside them, each fund node's bookkeeping (balance = opening + inflows - paid, a shortfall
exactly when required capital exceeds the opening balance) and the guarantor's and insurer's
limits. ``test_tiny_positive_sd_is_rejected_or_simulated`` is the regression test of tiny sds (rejected).

Hypothesis runs derandomized (the same examples on every run, no example database) so that
CI is deterministic; the file takes well under a minute and a half on two cores. For a deeper
search set ``RISKPOOL_PROPERTY_SCALE`` (multiplies every ``max_examples``) and
``RISKPOOL_PROPERTY_RANDOM=1`` (fresh random examples on each run).
"""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from riskpool import scenario
from riskpool.engine import simulate
from riskpool.fates import BLOCK_PATHS, NO_DEFAULT, sample_block
from riskpool.ledger import NODE_COLUMNS, PATH_COLUMNS
from riskpool.structure import compile_structure

if str(Path(__file__).resolve().parent) not in sys.path:  # tests/ has no __init__.py
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from strategies import paths, scenarios, seeds  # noqa: E402

PARTY_LOSSES = ("loss_fund", "loss_bank", "loss_guarantor", "loss_insurer", "loss_evaluator", "loss_pool")

SCALE = float(os.environ.get("RISKPOOL_PROPERTY_SCALE", "1"))
SETTINGS = dict(
    deadline=None,
    derandomize=os.environ.get("RISKPOOL_PROPERTY_RANDOM", "") in ("", "0"),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def examples(n: int) -> int:
    return max(1, round(n * SCALE))


def tolerance(amount: np.ndarray) -> np.ndarray:
    """Rounding allowance of a sum of money, in yuan."""
    return 1e-9 * np.maximum(1.0, np.abs(amount)) + 1e-6


def run(raw: dict, n_paths: int, seed: int, overrides: list[str] | None = None):
    return simulate(scenario.from_dict(raw, overrides), paths=n_paths, seed=seed)


def with_pd(raw: dict, pd: float) -> dict:
    out = copy.deepcopy(raw)
    out["credit"]["annual_pd"] = pd
    return out


def where(mask: np.ndarray) -> list:
    """Indices of the first few failing entries, for assertion messages."""
    return [tuple(int(i) for i in idx) for idx in np.argwhere(mask)[:5]]


# --------------------------------------------------------------------------- 1-4: one run


@settings(max_examples=examples(400), **SETTINGS)
@given(raw=scenarios(), n_paths=paths, seed=seeds)
def test_accounting_invariants(raw: dict, n_paths: int, seed: int) -> None:
    """Properties 1-4 of one run: conservation, balances >= 0, bounds, nothing unpaid off "queue"."""
    res = run(raw, n_paths, seed)
    for name in ("paths", "nodes", "counties", "balance", "covered", "banks"):
        bad = ~np.isfinite(getattr(res, name))
        assert not bad.any(), f"non-finite {name} at {where(bad)}"
    col = res.path_column
    ead = col("defaulted_ead")
    tol = tolerance(ead)

    # 1. conservation: per loan, losses + recovered + unpaid = EAD; summed over a path's loans
    total = sum(col(name) for name in PARTY_LOSSES) + col("recovered") + col("unpaid")
    bad = np.abs(total - ead) > tol
    assert not bad.any(), f"conservation fails on paths {where(bad)}: {total[bad][:5]} != {ead[bad][:5]}"

    # 2. no fund balance below zero, at any month end or at the horizon
    assert res.balance.shape == (n_paths, res.structure.horizon_months, res.structure.n_nodes)
    assert not (res.balance < 0).any(), f"negative month-end balance at {where(res.balance < 0)}"
    final = res.node_column("final_balance")
    assert not (final < 0).any(), f"negative final balance at {where(final < 0)}"
    if res.structure.horizon_months:
        np.testing.assert_array_equal(final, res.balance[:, -1, :])

    # 3. bounds of each party's loss, of recoveries and of unpaid claims
    for name in (*PARTY_LOSSES, "recovered", "unpaid"):
        v = col(name)
        low, high = v < -tol, v > ead + tol
        assert not low.any(), f"{name} < 0 on paths {where(low)}: {v[low][:5]}"
        assert not high.any(), f"{name} > defaulted_ead on paths {where(high)}: {v[high][:5]} > {ead[high][:5]}"
    # the borrowers' pool holds what was paid into it less what it paid, net of clawbacks, never < 0
    np.testing.assert_allclose(col("pool_final"), col("pool_in") - col("loss_pool"), rtol=1e-9, atol=1e-6)
    assert not (col("pool_final") < -tol).any()
    unpaid_nodes = res.node_column("unpaid")
    assert not (unpaid_nodes < 0).any(), f"negative node unpaid at {where(unpaid_nodes < 0)}"
    np.testing.assert_allclose(unpaid_nodes.sum(axis=1), col("unpaid"), rtol=1e-12, atol=1e-6)
    payout = res.node_column("payout_net")
    assert not (payout < -tolerance(payout)).any(), f"negative net payout of a node at {where(payout < -1e-6)}"
    np.testing.assert_allclose(payout.sum(axis=1), col("loss_fund"), rtol=1e-12, atol=1e-6)
    first = res.node_column("first_shortfall_month")
    assert ((first == -1) | ((first >= 0) & (first < res.structure.horizon_months))).all()
    assert (col("n_defaults") <= col("n_originated")).all()
    assert (ead <= col("originated") + tol).all()

    # the banks' figures add up to the path's, and a fund runs short exactly when a claim on some
    # bank's loans finds its backing balance short, in the same first month (docs/model.md 5.9)
    if res.structure.banks.n:
        for bank_column, path_column in (("originated", "originated"), ("n_originated", "n_originated"),
                                         ("defaulted_ead", "defaulted_ead"), ("n_defaults", "n_defaults"),
                                         ("loss_bank", "loss_bank"), ("fund_paid", "loss_fund"), ("unpaid", "unpaid")):
            total = sum(res.bank_figure(bank_column, k) for k in range(res.structure.banks.n))
            np.testing.assert_allclose(total, col(path_column), rtol=1e-9, atol=1e-6, err_msg=bank_column)
        bank_first = np.stack([res.bank_figure("first_shortfall_month", k) for k in range(res.structure.banks.n)], axis=1)
        earliest = lambda f: np.where(f >= 0, f, np.inf).min(axis=1, initial=np.inf)  # noqa: E731
        np.testing.assert_array_equal(earliest(bank_first), earliest(first))

    # 4. under "bank" and "parent" a claim is paid or passed on at once: nothing stays queued
    if res.scenario.rules.shortfall in ("bank", "parent"):
        assert (col("unpaid") == 0).all(), f"unpaid under {res.scenario.rules.shortfall!r}: {col('unpaid')}"
        assert (unpaid_nodes == 0).all()


@settings(max_examples=examples(250), **SETTINGS)
@given(raw=scenarios(), n_paths=paths, seed=seeds)
def test_node_bookkeeping_and_party_limits(raw: dict, n_paths: int, seed: int) -> None:
    """Companions of 1-4 (docs/model.md 5.3, 5.6, 6): each fund node's balance is its opening balance
    plus inflows less what it paid; a node runs short exactly when its required capital exceeds
    its opening balance; the guarantor and the insurer never pay beyond their limits."""
    res = run(raw, n_paths, seed)
    st_, sc = res.structure, res.scenario
    col, node = res.path_column, res.node_column
    initial = st_.node_initial[None, :]
    paid, claw, due, unpaid = node("paid"), node("clawback"), node("due"), node("unpaid")
    final, required, first = node("final_balance"), node("required_capital"), node("first_shortfall_month")
    tol = tolerance(np.maximum(due, initial))

    assert not (claw < -tol).any(), f"negative clawback at {where(claw < -tol)}"
    assert not (paid > due + tol).any(), f"paid more than was due at {where(paid > due + tol)}"
    assert not (unpaid > due - paid + tol).any(), f"unpaid beyond what is due and not paid at {where(unpaid > due - paid + tol)}"
    np.testing.assert_allclose(node("payout_net"), paid - claw, rtol=1e-12, atol=1e-6)

    # 5.6: top-ups at months 12, 24, ... within the horizon (fixed, or restoring: then they are
    # what the budget report says each tier was paid); interest is the only other inflow
    fixed = ~st_.node_restore
    topups = st_.node_topup[None, :] * ((st_.horizon_months - 1) // 12)
    book = initial + topups + claw - paid
    tier = np.asarray(st_.node_tier)
    if sc.rules.fund_interest_rate == 0:
        np.testing.assert_allclose(final[:, fixed], book[:, fixed], rtol=1e-9, atol=1e-6,
                                   err_msg="final balance != opening + inflows - paid")
        for t in range(3):
            members = tier == t
            gained = (final - initial - claw + paid)[:, members].sum(axis=1)
            np.testing.assert_allclose(gained, res.budget[:, :, t].sum(axis=1), rtol=1e-9, atol=1e-6 * (1 + members.sum()),
                                       err_msg=f"tier {t}: top-ups != the budget reported")
    else:
        assert not (final[:, fixed] < book[:, fixed] - tol[:, fixed]).any(), "interest made a balance smaller"

    # 6: required capital = max over month ends of (cumulative due - cumulative inflows), >= 0;
    # a shortfall means the opening balance was not enough, and no shortfall means it was, up
    # to the remainders of at most 1e-6 yuan that 5.4 does not count as a shortfall: a node
    # is asked to pay at most 3 times per defaulted loan (own part, children's overflow)
    assert not (required < 0).any()
    short = first != -1
    under = short & (required < initial - tol)
    assert not under.any(), f"short with required_capital below the opening balance at {where(under)}"
    # (a deposit's remainder counts 1 / w_b times in its fund's required capital, 5.9)
    slack = 3e-6 * col("n_defaults")[:, None] / st_.banks.deposit_weight.min()
    over = ~short & (required > initial + tol + slack)
    assert not over.any(), (
        f"no shortfall but required_capital above the opening balance at {where(over)}: "
        f"{required[over][:5]} > {np.broadcast_to(initial, required.shape)[over][:5]}"
    )

    # 5.3: the guarantor pays from capital plus fees earned, the insurer up to cap x premiums
    g, ins = sc.parties.guarantor, sc.parties.insurer
    g_limit = g.capital + col("fees")
    assert not (col("loss_guarantor") > g_limit + tolerance(g_limit)).any()
    i_limit = ins.loss_ratio_cap * col("premiums")
    assert not (col("loss_insurer") > i_limit + tolerance(i_limit)).any()
    shares = [sc.sharing, *sc.sharing.bands, *sc.products, *(b.shares for b in sc.banks if b.shares)]
    if all(s.guarantor == 0 for s in shares):
        assert (col("fees") == 0).all() and (col("loss_guarantor") == 0).all()
        assert (col("guarantor_exhausted") == 0).all()
    if all(s.insurer == 0 for s in shares):
        assert (col("premiums") == 0).all() and (col("loss_insurer") == 0).all()

    # lending figures: per-county originations add up; the breaker trips at most once a stop
    np.testing.assert_allclose(res.county_column("originated").sum(axis=1), col("originated"), rtol=1e-12, atol=1e-6)
    trips = res.county_column("breaker_trips")
    warned = res.county_column("npl_warning_months")
    assert (warned >= 0).all() and (warned <= st_.horizon_months).all()
    if sc.rules.circuit_breaker_npl == 0:
        assert (trips == 0).all()
    else:
        assert (trips <= -(-st_.horizon_months // sc.rules.circuit_breaker_months)).all()
    if sc.rules.npl_warning == 0:
        assert (warned == 0).all()
    assert (col("peak_outstanding") >= -1e-6).all()


# --------------------------------------------------------------------------- 5: fund scale


@settings(max_examples=examples(250), **SETTINGS)
@given(
    raw=scenarios(leverage=0.0, breaker_off=True, npl_warning_off=True),
    scale=st.one_of(st.sampled_from([1.0, 2.0, 10.0]), st.floats(1.0, 5.0)),
    n_paths=paths,
    seed=seeds,
)
def test_larger_funds_never_create_a_shortfall(raw: dict, scale: float, n_paths: int, seed: int) -> None:
    """Property 5: with lending independent of the funds, scaling every fund and top-up up by
    ``scale >= 1`` never creates a shortfall, path by path and node by node (common random
    numbers: same seed, same fates); where both run short, the larger funds run short no earlier."""
    low = run(raw, n_paths, seed)
    high = run(raw, n_paths, seed, [f"funds.scale={scale!r}"])
    # lending does not depend on the funds, so the same loans are originated and default
    np.testing.assert_array_equal(high.path_column("originated"), low.path_column("originated"))
    np.testing.assert_array_equal(high.path_column("defaulted_ead"), low.path_column("defaulted_ead"))
    f_low = low.node_column("first_shortfall_month")
    f_high = high.node_column("first_shortfall_month")
    target(float((f_low != -1).sum()), label="shortfalls at the lower scale")
    created = (f_low == -1) & (f_high != -1)
    assert not created.any(), (
        f"scale {scale}: shortfall at (path, node) {where(created)} that the lower scale did not have; "
        f"first months {f_high[created][:5]}"
    )
    both = (f_low != -1) & (f_high != -1)
    earlier = both & (f_high < f_low)
    assert not earlier.any(), f"scale {scale}: earlier shortfall at (path, node) {where(earlier)}"
    # under "queue" what a node still owes at the horizon cannot grow with its funds
    u_low, u_high = low.node_column("unpaid"), high.node_column("unpaid")
    more = u_high > u_low + tolerance(u_low)
    assert not more.any(), f"scale {scale}: more unpaid at (path, node) {where(more)}: {u_low[more][:5]} -> {u_high[more][:5]}"


# --------------------------------------------------------------------------- 6: defaults grow with pd


@st.composite
def pd_pairs(draw: st.DrawFn) -> tuple[float, float]:
    pd1 = draw(st.one_of(st.just(0.0), st.floats(0.0, 0.3), st.floats(0.3, 1.0)))
    pd2 = draw(st.one_of(st.floats(pd1, min(1.0, pd1 + 0.05)), st.floats(pd1, 1.0)))
    return pd1, pd2


@settings(max_examples=examples(200), **SETTINGS)
@given(
    raw=scenarios(leverage=0.0, breaker_off=True),
    pds=pd_pairs(),
    n_paths=paths,
    seed=seeds,
    block=st.integers(0, 3),
)
def test_defaults_only_grow_with_pd(raw: dict, pds: tuple[float, float], n_paths: int, seed: int, block: int) -> None:
    """Property 6: with the same seed every candidate that defaults at pd1 also defaults at
    pd2 >= pd1, no later; the candidates themselves do not depend on pd; and with leverage and
    the circuit breaker off the number of defaults per path does not fall."""
    pd1, pd2 = pds
    s1, s2 = scenario.from_dict(with_pd(raw, pd1)), scenario.from_dict(with_pd(raw, pd2))
    f1 = sample_block(compile_structure(s1), seed, block, n_paths)
    f2 = sample_block(compile_structure(s2), seed, block, n_paths)
    for name in ("path_start", "county", "orig", "size", "systematic"):
        np.testing.assert_array_equal(getattr(f2, name), getattr(f1, name), err_msg=name)
    d1, d2 = f1.default_month, f2.default_month
    lost = (d1 != NO_DEFAULT) & (d2 == NO_DEFAULT)
    assert not lost.any(), f"pd {pd1} -> {pd2}: candidates {where(lost)} no longer default"
    later = (d1 != NO_DEFAULT) & (d2 > d1)
    assert not later.any(), f"pd {pd1} -> {pd2}: candidates {where(later)} default later: {d1[later][:5]} -> {d2[later][:5]}"
    np.testing.assert_array_equal(f1.defaulted, np.flatnonzero(d1 != NO_DEFAULT))
    np.testing.assert_array_equal(f2.defaulted, np.flatnonzero(d2 != NO_DEFAULT))

    r1 = simulate(s1, paths=n_paths, seed=seed)
    r2 = simulate(s2, paths=n_paths, seed=seed)
    np.testing.assert_array_equal(r2.path_column("originated"), r1.path_column("originated"))
    n1, n2 = r1.path_column("n_defaults"), r2.path_column("n_defaults")
    fewer = n2 < n1
    assert not fewer.any(), f"pd {pd1} -> {pd2}: fewer defaults on paths {where(fewer)}: {n1[fewer]} -> {n2[fewer]}"


# --------------------------------------------------------------------------- 7: shortfalls grow with pd


@settings(max_examples=examples(250), **SETTINGS)
@given(
    raw=scenarios(leverage=0.0, breaker_off=True, disposal_after_horizon=True, pool_off=True),
    pds=pd_pairs(),
    n_paths=paths,
    seed=seeds,
)
def test_shortfalls_only_grow_with_pd(raw: dict, pds: tuple[float, float], n_paths: int, seed: int) -> None:
    """Property 7: with every disposal after the horizon (no clawback within it) and lending
    independent of the funds, a node short at pd1 is short at pd2 >= pd1, no later. Not with
    a borrowers' pool: it pays claims first come, so a loan that defaults earlier at pd2 can
    take the pool's money from another fund's claim and spare its own fund (docs/model.md 5.2)."""
    pd1, pd2 = pds
    r1 = run(with_pd(raw, pd1), n_paths, seed)
    r2 = run(with_pd(raw, pd2), n_paths, seed)
    assert (r1.path_column("recovered") == 0).all() and (r2.path_column("recovered") == 0).all()
    f1 = r1.node_column("first_shortfall_month")
    f2 = r2.node_column("first_shortfall_month")
    target(float((f1 != -1).sum()), label="shortfalls at pd1")
    lost = (f1 != -1) & (f2 == -1)
    assert not lost.any(), f"pd {pd1} -> {pd2}: (path, node) {where(lost)} short at pd1 only; months {f1[lost][:5]}"
    later = (f1 != -1) & (f2 > f1)
    assert not later.any(), f"pd {pd1} -> {pd2}: (path, node) {where(later)} short later: {f1[later][:5]} -> {f2[later][:5]}"
    # under "queue" (the only policy that leaves claims unpaid) what a node owes only grows
    u1, u2 = r1.node_column("unpaid"), r2.node_column("unpaid")
    less = u2 < u1 - tolerance(u1)
    assert not less.any(), f"pd {pd1} -> {pd2}: less unpaid at (path, node) {where(less)}: {u1[less][:5]} -> {u2[less][:5]}"


# --------------------------------------------------------------------------- 8: determinism


DETERMINISM_RAW = {
    "meta": {"name": "determinism"},
    "simulation": {"horizon_years": 2},
    "credit": {"annual_pd": 0.08, "asset_correlation": 0.2, "city_correlation": 0.1, "stress": [1.0, 2.0]},
    "collateral": {
        "recovery_mean": 0.3, "recovery_sd": 0.2, "disposal_cost": 0.05,
        "disposal_months_mean": 6, "disposal_months_sd": 3, "recovery_factor_loading": 0.5,
    },
    "sharing": {
        "fund": 0.5, "bank": 0.2, "guarantor": 0.1, "insurer": 0.15, "evaluator": 0.05,
        "tiers": {"province": 0.4, "city": 0.3, "county": 0.3},
        "bands": [{"max_loan": 1e6, "fund": 0.7, "bank": 0.3}],
    },
    "rules": {
        "claim_lag_months": 2, "shortfall": "queue", "leverage": 8.0, "circuit_breaker_npl": 0.2,
        "npl_warning": 0.1, "circuit_breaker_months": 6, "fund_interest_rate": 0.02, "max_loan": 4e6,
    },
    "parties": {"guarantor": {"capital": 1e6, "fee_rate": 0.01}, "insurer": {"premium_rate": 0.01, "loss_ratio_cap": 1.5}},
    "regions": [
        {"id": "p", "tier": "province", "fund": 5e6, "annual_topup": 1e6},
        {"id": "a", "tier": "city", "parent": "p", "fund": 2e6},
        {"id": "b", "tier": "city", "parent": "p"},
        {"id": "a1", "tier": "county", "parent": "a", "fund": 5e5, "annual_topup": 1e5,
         "lending": {"initial_loans": 2, "new_loans_per_year": 10, "loan_size_mean": 1e6, "loan_size_cv": 0.5,
                     "tenor_months": 12}},
        {"id": "b1", "tier": "county", "parent": "b", "pd_multiplier": 1.5,
         "lending": {"new_loans_per_year": 6, "loan_size_mean": 2e6, "loan_size_cv": 0.3, "tenor_months": 24,
                     "ip_collateral_share": 0.8}},
    ],
}
ARRAYS = ("paths", "nodes", "counties", "balance", "covered")


def assert_identical(a, b, label: str) -> None:
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=f"{label}: {name}")


@pytest.mark.parametrize("policy", ["queue", "parent", "bank"])
def test_determinism_across_runs_tasks_and_workers(policy: str) -> None:
    """Property 8: same scenario and seed -> identical arrays, whatever the grouping of the
    (at least three) RNG blocks into tasks and the number of worker processes."""
    sc = scenario.from_dict(DETERMINISM_RAW, [f'rules.shortfall="{policy}"'])
    n = 2 * BLOCK_PATHS + 7  # three RNG blocks, the last one partial
    base = simulate(sc, paths=n, seed=12345)
    assert base.paths.shape == (n, len(PATH_COLUMNS))
    assert base.nodes.shape[2] == len(NODE_COLUMNS)
    assert base.path_column("n_defaults").sum() > 0  # the scenario exercises the rules
    assert_identical(base, simulate(sc, paths=n, seed=12345), "rerun")
    assert_identical(base, simulate(sc, paths=n, seed=12345, blocks_per_task=1), "blocks_per_task=1")
    assert_identical(base, simulate(sc, paths=n, seed=12345, blocks_per_task=3), "blocks_per_task=3")
    assert_identical(base, simulate(sc, paths=n, seed=12345, workers=2, blocks_per_task=1), "workers=2")
    # a prefix of the paths is the same run: paths are keyed by block, not by the total
    part = simulate(sc, paths=BLOCK_PATHS + 3, seed=12345)
    np.testing.assert_array_equal(part.paths[:BLOCK_PATHS], base.paths[:BLOCK_PATHS])
    np.testing.assert_array_equal(part.balance[:BLOCK_PATHS], base.balance[:BLOCK_PATHS])
    # and another seed is another run
    other = simulate(sc, paths=n, seed=12346)
    assert not np.array_equal(other.paths, base.paths)


# --------------------------------------------------------------------------- tiny standard deviations (regression)


TINY_SD_RAW = {
    "meta": {"name": "tiny sd"},
    "simulation": {"horizon_years": 1},
    "credit": {"annual_pd": 0.5},
    "collateral": {"recovery_mean": 0.5, "disposal_months_mean": 1.0},
    "sharing": {"fund": 1.0, "bank": 0.0, "tiers": {"province": 1.0, "city": 0.0, "county": 0.0}},
    "regions": [
        {"id": "p", "tier": "province", "fund": 0.0},
        {"id": "c", "tier": "city", "parent": "p"},
        {"id": "k", "tier": "county", "parent": "c", "lending": {"initial_loans": 1, "loan_size_mean": 1e6}},
    ],
}


@pytest.mark.parametrize(
    "field, value",
    [("disposal_months_sd", 1e-160), ("recovery_sd", 1e-170), ("recovery_sd", 1e-158)],
)
def test_tiny_positive_sd_is_rejected_or_simulated(field: str, value: float) -> None:
    """A scenario either fails validation (ScenarioError) or simulates to finite figures."""
    raw = copy.deepcopy(TINY_SD_RAW)
    raw["collateral"][field] = value
    try:
        sc = scenario.from_dict(raw)
    except scenario.ScenarioError:
        return
    res = simulate(sc, paths=20, seed=0)
    assert np.isfinite(res.paths).all() and np.isfinite(res.nodes).all()
    assert res.path_column("n_defaults").sum() > 0
