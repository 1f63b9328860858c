"""Differential tests: the SimPy event engine (``riskpool.events``) against the fast engine.

The two engines implement the rules of docs/model.md sections 4-5 independently. Given the same
fates they must agree path by path: every money figure within ``max(1e-6, 1e-12 x |value|)``
yuan, every month, count and flag exactly (docs/model.md section 8). Also checked here: the event
log replays to every balance it reports, and the worked example of docs/model.md section 5.8.

Hypothesis runs derandomized (the same examples every run, no database). For a deeper search
set ``RISKPOOL_PROPERTY_SCALE`` (multiplies every ``max_examples``) and
``RISKPOOL_PROPERTY_RANDOM=1`` (fresh random examples on each run).
"""

from __future__ import annotations

import csv
import math
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskpool import scenario
from riskpool.engine import simulate_blocks
from riskpool.events import (
    BANK_COLUMNS,
    EVENT_COLUMNS,
    EVENTS,
    PathTrace,
    simulate_path,
    trace_rows,
    write_trace_csv,
)
from riskpool.fates import NO_DEFAULT, Fates, sample_block
from riskpool.ledger import BANK_COLUMNS as LEDGER_BANK_COLUMNS
from riskpool.ledger import COUNTY_COLUMNS, NODE_COLUMNS, PATH_COLUMNS, LedgerResult, run_ledger
from riskpool.structure import Structure, compile_structure

if str(Path(__file__).resolve().parent) not in sys.path:  # tests/ has no __init__.py
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from strategies import scenarios, seeds

SCALE = float(os.environ.get("RISKPOOL_PROPERTY_SCALE", "1"))
SETTINGS = {
    "deadline": None,
    "derandomize": os.environ.get("RISKPOOL_PROPERTY_RANDOM", "") in ("", "0"),
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
}
EXACT_PATH = ("n_originated", "n_defaults", "guarantor_exhausted")
EXACT_NODE = ("first_shortfall_month",)
COUNTY_ATTR = {"npl_warning_months": "npl_warning_months", "breaker_trips": "breaker_trips",
               "originated": "county_originated"}
EXACT_BANK = ("n_originated", "n_defaults", "first_shortfall_month", "breaker_trips", "suspended", "refused")
PATHS_PER_EXAMPLE = 6


def examples(n: int) -> int:
    return max(1, round(n * SCALE))


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= max(1e-6, 1e-12 * max(abs(a), abs(b)))


def disagreements(tr: PathTrace, res: LedgerResult, k: int, node_ids: tuple[str, ...]) -> list[str]:
    """Every figure of path ``k`` on which the event trace and the fast engine's rows differ."""
    paths, nodes, counties, balance = res.paths[k], res.nodes[k], res.counties[k], res.balance[k]
    bad = []
    for i, name in enumerate(PATH_COLUMNS):
        a, b = tr.path_value(name), float(paths[i])
        if not (a == b if name in EXACT_PATH else _close(a, b)):
            bad.append(f"path {name}: events {a!r} ledger {b!r}")
    for i, name in enumerate(NODE_COLUMNS):
        for j, nid in enumerate(node_ids):
            a, b = float(getattr(tr, name)[j]), float(nodes[j, i])
            if name == "first_shortfall_month":
                b = -1.0 if math.isnan(b) or b < 0 else b
            if not (a == b if name in EXACT_NODE else _close(a, b)):
                bad.append(f"node {nid} {name}: events {a!r} ledger {b!r}")
    for i, name in enumerate(COUNTY_COLUMNS):
        a_all = getattr(tr, COUNTY_ATTR[name])
        for c in range(len(a_all)):
            a, b = float(a_all[c]), float(counties[c, i])
            if not (a == b if name != "originated" else _close(a, b)):
                bad.append(f"county {c} {name}: events {a!r} ledger {b!r}")
    tol = np.maximum(1e-6, 1e-12 * np.maximum(np.abs(tr.balance), np.abs(balance)))
    where = np.argwhere(np.abs(tr.balance - balance) > tol)
    for m, j in where[:5]:
        bad.append(f"balance month {m} node {node_ids[j]}: events {tr.balance[m, j]!r} ledger {balance[m, j]!r}")
    budget = res.budget[k]
    far = np.abs(tr.budget - budget) > np.maximum(1e-6, 1e-12 * np.maximum(np.abs(tr.budget), np.abs(budget)))
    bad += [f"budget year {y} slot {t}: events {tr.budget[y, t]!r} ledger {budget[y, t]!r}" for y, t in np.argwhere(far)[:5]]
    banks = res.banks[k]
    if banks.shape != tr.banks.shape:
        return [*bad, f"banks: events {tr.banks.shape} ledger {banks.shape}"]
    for i, name in enumerate(BANK_COLUMNS):
        for b, bid in enumerate(tr.bank_ids):
            a, c = float(tr.banks[b, i]), float(banks[b, i])
            if name == "first_shortfall_month":
                c = -1.0 if math.isnan(c) or c < 0 else c
            if not (a == c if name in EXACT_BANK else _close(a, c)):
                bad.append(f"bank {bid} {name}: events {a!r} ledger {c!r}")
    return bad


def check_block(st, fates: Fates, paths: range | None = None) -> None:
    res = run_ledger(st, fates)
    years = np.zeros_like(res.years)
    for k in paths if paths is not None else range(fates.n_paths):
        tr = simulate_path(st, fates, k)
        bad = disagreements(tr, res, k, st.node_ids)
        assert not bad, f"path {k}:\n" + "\n".join(bad[:20])
        check_replay(tr)
        years += tr.years
    if paths is None:  # the funds' years are summed over the block's paths
        np.testing.assert_allclose(years, res.years, rtol=1e-9, atol=1e-6 * fates.n_paths)


def check_replay(tr: PathTrace) -> None:
    """Summing ``amount`` per node in row order reproduces every ``balance`` and month end; a
    node is a deposit (the fund itself unless deposits are per bank), and a fund's month end is
    the sum of its deposits' in bank order."""
    running = {nid: None for nid in tr.deposit_ids}
    months = tr.balance.shape[0]
    last_month_seen = -1
    month_end = {}
    for month, event, _loan, node, _party, amount, bal, _ratio in tr.events:
        assert month >= last_month_seen, "rows out of month order"
        while last_month_seen < month:  # close the months before this row
            if last_month_seen >= 0:
                month_end[last_month_seen] = dict(running)
            last_month_seen += 1
        if not node:
            assert math.isnan(bal)
            continue
        if event == "open":
            assert running[node] is None
            running[node] = amount
        else:
            running[node] += amount
        assert running[node] == bal, (month, event, node, running[node], bal)
        assert bal >= 0.0
    while last_month_seen < months:
        if last_month_seen >= 0:
            month_end[last_month_seen] = dict(running)
        last_month_seen += 1
    for m in range(months):
        funds = [0.0] * len(tr.node_ids)
        for d, did in enumerate(tr.deposit_ids):
            assert month_end[m][did] == tr.deposit_balance[m, d], (m, did)
            funds[tr.deposit_fund[d]] += month_end[m][did]
        for j, nid in enumerate(tr.node_ids):
            assert funds[j] == tr.balance[m, j], (m, nid)
    assert np.array_equal(tr.final_balance, tr.balance[-1])


# --------------------------------------------------------------------------- bundled scenarios


def test_minimal_agrees_with_fast_engine():
    sc = scenario.load("minimal")
    n = 12
    res = simulate_blocks(sc, sc.simulation.seed, [(0, n)])
    st = res.structure
    fates = sample_block(st, sc.simulation.seed, 0, n)
    for k in range(n):
        tr = simulate_path(st, fates, k)
        bad = disagreements(tr, res, k, st.node_ids)
        assert not bad, f"path {k}:\n" + "\n".join(bad[:20])
        check_replay(tr)


@pytest.mark.parametrize("block,paths", [(0, 3), (1, 1)])
def test_hunan_baseline_agrees_with_fast_engine(block, paths):
    sc = scenario.load("hunan-baseline")
    st = compile_structure(sc)
    check_block(st, sample_block(st, sc.simulation.seed, block, paths))


@pytest.mark.parametrize("name", ["hunan-2022-pool", "hunan-three-tier", "jiangsu-suzhidai", "guangdong-zhongshan"])
def test_scheme_scenarios_agree_with_fast_engine(name):
    """The bundled schemes: one pool deposited at five banks, three tiers, bands, one city fund."""
    sc = scenario.load(name)
    st = compile_structure(sc)
    check_block(st, sample_block(st, sc.simulation.seed, 0, 2))


def test_stress_scenario_agrees_with_fast_engine():
    sc = scenario.load("stress-shock")
    st = compile_structure(sc)
    check_block(st, sample_block(st, sc.simulation.seed, 0, 2))


@pytest.mark.parametrize("overrides", [
    ["rules.shortfall=parent"],
    ["rules.shortfall=bank", "rules.per_loan_cap=500000"],
    ["rules.compensation_basis=net_loss", "rules.claim_lag_months=0"],
    ["rules.leverage_scope=county", "funds.scale=0.05"],
    ["parties.guarantor.capital=1000000", "sharing.guarantor=0.2", "sharing.insurer=0.0"],
])
def test_minimal_variants_agree(overrides):
    sc = scenario.load("minimal", overrides)
    st = compile_structure(sc)
    check_block(st, sample_block(st, sc.simulation.seed, 0, 6))


# --------------------------------------------------------------------------- random scenarios


def _check_raw(raw, seed: int) -> None:
    sc = scenario.from_dict(raw)
    st = compile_structure(sc)
    check_block(st, sample_block(st, seed, 0, PATHS_PER_EXAMPLE))


@settings(max_examples=examples(300), **SETTINGS)
@given(scenarios(), seeds)
def test_random_scenarios_agree(raw, seed):
    _check_raw(raw, seed)


@settings(max_examples=examples(80), **SETTINGS)
@given(st.sampled_from(["queue", "parent", "bank"]).flatmap(lambda p: scenarios(shortfall=p, annual_pd=0.25)), seeds)
def test_random_scenarios_under_stress_agree(raw, seed):
    """High default rates: funds run short, queues form, the breaker trips."""
    _check_raw(raw, seed)


@settings(max_examples=examples(25), **SETTINGS)
@given(scenarios(leverage=0.0, breaker_off=True, npl_warning_off=True), seeds)
def test_random_scenarios_without_origination_rules_agree(raw, seed):
    _check_raw(raw, seed)


# --------------------------------------------------------------------------- the worked example


def test_worked_example_of_docs():
    """docs/model.md section 5.8, with the fates set by hand."""
    sc = scenario.load("minimal", ["regions.430104.fund=100000", "regions.430104.annual_topup=0",
                                   "rules.fund_interest_rate=0"])
    st = compile_structure(sc)
    fates = Fates(
        path_start=np.array([0, 1]), county=np.array([0], dtype=np.int32), orig=np.array([-1], dtype=np.int32),
        size=np.array([3_000_000.0]), default_month=np.array([5], dtype=np.int32),
        defaulted=np.array([0]), recovery=np.array([0.20]), delay=np.array([18], dtype=np.int32),
        systematic=np.zeros((1, 5)),
    )
    tr = simulate_path(st, fates, 0)
    county = st.node_ids.index("430104")
    city, province = st.node_ids.index("changsha"), st.node_ids.index("hunan")
    assert tr.first_shortfall_month[county] == 8
    assert tr.first_shortfall_month[city] == tr.first_shortfall_month[province] == -1
    assert tr.unpaid[county] == pytest.approx(118_700, abs=1e-6)
    assert tr.loss_fund == pytest.approx(974_800, abs=1e-6)
    assert tr.loss_bank == pytest.approx(1_075_275, abs=1e-6)
    assert tr.loss_insurer == pytest.approx(18_225, abs=1e-6)
    assert tr.loss_evaluator == pytest.approx(243_000, abs=1e-6)
    assert tr.recovered == pytest.approx(570_000, abs=1e-6)
    assert tr.required_capital[county] == pytest.approx(270_000, abs=1e-6)
    total = tr.loss_fund + tr.loss_bank + tr.loss_insurer + tr.loss_evaluator + tr.loss_guarantor
    assert total + tr.recovered + tr.unpaid_total == pytest.approx(3_000_000, abs=1e-6)
    res = run_ledger(st, fates)
    assert not disagreements(tr, res, 0, st.node_ids)
    check_replay(tr)


# --------------------------------------------------------------------------- the log


def test_trace_rows_and_csv(tmp_path):
    sc = scenario.load("minimal")
    st = compile_structure(sc)
    tr = simulate_path(st, sample_block(st, sc.simulation.seed, 0, 1), 0)
    rows = trace_rows(tr)
    assert rows and all(tuple(r) == EVENT_COLUMNS for r in rows)
    opens = [r for r in rows if r["event"] == "open"]
    assert [r["node"] for r in opens] == list(st.node_ids)
    assert all(r["amount"] == r["balance"] == init for r, init in zip(opens, st.node_initial))
    out = tmp_path / "trace.csv"
    write_trace_csv(tr, out)
    with open(out, encoding="utf-8") as fh:
        read = list(csv.DictReader(fh))
    assert len(read) == len(rows) and tuple(read[0]) == EVENT_COLUMNS
    assert float(read[-1]["month"]) == rows[-1]["month"]


VOCABULARY_SETTINGS = (  # between them, every event of the log happens on the first paths of minimal
    ["credit.annual_pd=0.3", "funds.scale=0.05", "sharing.guarantor=0.1", "sharing.bank=0.15",
     "parties.guarantor.capital=1e5", "parties.guarantor.fee_rate=0.01"],
    ["credit.annual_pd=0.3", "funds.scale=0.05", "rules.shortfall=parent", "rules.compensation_basis=net_loss"],
    ["credit.annual_pd=0.3", "funds.scale=0.05", "rules.shortfall=bank", "rules.claim_lag_months=30",
     "rules.write_off_months=6", "collateral.disposal_months_mean=24"],
    ["credit.annual_pd=0.3", "rules.per_loan_cap=3e5", "layers.borrower_pool_rate=0.01"],
)


# and one with banks (docs/model.md section 5.9): a bank's breaker trips, a bank is suspended and one refuses
VOCABULARY_BANKS = [
    {"id": "icbc", "credit_line": 3e8, "circuit_breaker_npl": 0.2, "circuit_breaker_months": 6},
    {"id": "ccb", "credit_line": 1e8, "leverage": 3, "shares": {"fund": 0.6, "bank": 0.4}},
]


def with_banks(source: str, overrides: list[str], banks: list[dict], deposits: str = "pooled") -> scenario.Scenario:
    """A bundled scenario with ``--set`` overrides, [[banks]] and rules.deposits."""
    raw = scenario.read_raw_with(source, overrides)
    raw["banks"] = banks
    raw.setdefault("rules", {})["deposits"] = deposits
    return scenario.from_dict(raw)


def vocabulary_rows() -> list[dict]:
    rows = []
    scenarios_ = [scenario.load("minimal", settings_) for settings_ in VOCABULARY_SETTINGS]
    scenarios_.append(with_banks("minimal", ["credit.annual_pd=0.3", "funds.scale=0.05"], VOCABULARY_BANKS, "per_bank"))
    for sc in scenarios_:
        st = compile_structure(sc)
        fates = sample_block(st, 1, 0, 4)
        rows += [r for k in range(4) for r in trace_rows(simulate_path(st, fates, k))]
    return rows


def test_every_event_of_the_log_is_in_the_vocabulary_and_documented():
    """The log uses the documented events only, each of them occurs, and docs/auditing.md has a
    row for each (and for no other)."""
    seen = {r["event"] for r in vocabulary_rows()}
    assert seen == set(EVENTS)
    text = (Path(__file__).resolve().parents[1] / "docs" / "auditing.md").read_text(encoding="utf-8")
    section = text[text.index("\n## 6. "):text.index("\n## 7. ")]  # the per-event logs
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE))
    assert documented == set(EVENTS)


def test_amount_is_money_and_the_npl_ratio_has_its_own_column():
    rows = vocabulary_rows()
    breakers = [r for r in rows if r["event"] == "breaker"]
    assert breakers
    for r in breakers:  # the county's non-performing EAD: loans of about 3 million yuan, not a ratio
        assert r["amount"] > 1e5 and 0 < r["npl_ratio"] <= 1, r
    assert all(r["npl_ratio"] is None for r in rows if r["event"] != "breaker")


def test_path_index_is_checked():
    sc = scenario.load("minimal")
    st = compile_structure(sc)
    fates = sample_block(st, sc.simulation.seed, 0, 2)
    with pytest.raises(IndexError):
        simulate_path(st, fates, 2)


# --------------------------------------------------------------------------- hand-drawn fates


@st.composite
def fates_for(draw, st_: Structure, max_loans: int = 25) -> Fates:
    """Fates of one path drawn directly (not sampled): edge cases the sampler rarely hits, such
    as a disposal in the very month the claim falls due, equal sizes that fill a cap exactly,
    defaults in the maturity month and claims or disposals just past the horizon."""
    T = st_.horizon_months
    lag = st_.rules.claim_lag
    n = draw(st.integers(1, max_loans))
    sizes = st.one_of(st.sampled_from([1e6, 2e6, 3e6, 5e5]), st.floats(1e5, 5e6))
    loans = []
    for _ in range(n):
        county = draw(st.integers(0, st_.n_counties - 1))
        orig = draw(st.integers(-1, T - 1))
        tenor = int(st_.tenor[county])
        last = min(orig + tenor, T - 1)
        d = int(NO_DEFAULT)
        if last >= orig + 1 and draw(st.integers(0, 2)) > 0:
            d = draw(st.one_of(st.just(last), st.integers(orig + 1, last)))
        loans.append((orig, county, draw(sizes), d,
                      draw(st.one_of(st.sampled_from([0.0, 0.2, 1.0]), st.floats(0.0, 1.0))),
                      draw(st.one_of(st.integers(max(1, lag - 1), lag + 1), st.integers(1, 30)))))
    loans.sort(key=lambda x: (x[0], x[1]))
    defaulted = np.array([i for i, x in enumerate(loans) if x[3] != NO_DEFAULT], dtype=np.int64)
    return Fates(
        path_start=np.array([0, n]),
        county=np.array([x[1] for x in loans], dtype=np.int32),
        orig=np.array([x[0] for x in loans], dtype=np.int32),
        size=np.array([x[2] for x in loans]),
        default_month=np.array([x[3] for x in loans], dtype=np.int32),
        defaulted=defaulted,
        recovery=np.array([loans[i][4] for i in defaulted], dtype=np.float64),
        delay=np.array([loans[i][5] for i in defaulted], dtype=np.int32),
        systematic=np.zeros((1, T // 12)),
        kind=np.array([draw(st.integers(0, st_.n_kinds - 1)) for _ in loans], dtype=np.int64) if st_.n_kinds else None,
        bank=np.array([draw(st.sampled_from(np.flatnonzero(st_.banks.county_share[x[1]] > 0).tolist())) for x in loans],
                      dtype=np.int64) if st_.banks.n else None,
    )


@st.composite
def structure_and_fates(draw, **pins):
    raw = draw(scenarios(**pins))
    st_ = compile_structure(scenario.from_dict(raw))
    return st_, draw(fates_for(st_))


@settings(max_examples=examples(400), **SETTINGS)
@given(structure_and_fates())
def test_hand_drawn_fates_agree(case):
    st_, fates = case
    check_block(st_, fates)


@pytest.mark.parametrize("delay", [2, 3, 4])
@pytest.mark.parametrize("basis", ["principal", "net_loss"])
def test_disposal_around_the_claim_month(delay, basis):
    """Lag 3: a disposal in month d+2 or d+3 comes before the claim (net first, docs choice 5);
    in d+4 it is clawed back."""
    sc = scenario.load("minimal", ["rules.claim_lag_months=3", f"rules.compensation_basis={basis}"])
    st_ = compile_structure(sc)
    fates = Fates(
        path_start=np.array([0, 1]), county=np.array([0], dtype=np.int32), orig=np.array([-1], dtype=np.int32),
        size=np.array([3_000_000.0]), default_month=np.array([5], dtype=np.int32),
        defaulted=np.array([0]), recovery=np.array([0.5]), delay=np.array([delay], dtype=np.int32),
        systematic=np.zeros((1, 5)),
    )
    tr = simulate_path(st_, fates, 0)
    claims = [r for r in trace_rows(tr) if r["event"] == "claim" and r["node"]]
    net_first = basis == "net_loss" or delay <= 3
    assert claims[0]["month"] == (max(8, 5 + delay) if net_first else 8)
    recovered = 3_000_000 * 0.5 * 0.95
    paid = -sum(r["amount"] for r in claims)
    assert paid == pytest.approx(0.45 * (3_000_000 - (recovered if net_first else 0.0)), rel=1e-12)
    assert any(r["event"] == "clawback" and r["node"] for r in trace_rows(tr)) == (not net_first)
    check_block(st_, fates)


def test_leverage_cap_filled_exactly_is_not_refused_by_rounding():
    """0.2 + 0.1 yuan > 1 x 0.3 yuan in float64: the 1e-6 yuan slack lets the candidate in."""
    sc = scenario.load("minimal", [
        "regions.hunan.fund=0.3", "regions.changsha.fund=0", "regions.430104.fund=0",
        "regions.hunan.annual_topup=0", "regions.changsha.annual_topup=0", "regions.430104.annual_topup=0",
        "rules.fund_interest_rate=0", "rules.leverage=1", "rules.max_loan=0", "rules.circuit_breaker_npl=0",
        "rules.npl_warning=0",
    ])
    st_ = compile_structure(sc)
    fates = Fates(
        path_start=np.array([0, 3]), county=np.zeros(3, dtype=np.int32), orig=np.zeros(3, dtype=np.int32),
        size=np.array([0.2, 0.1, 1e-6]), default_month=np.full(3, NO_DEFAULT, dtype=np.int32),
        defaulted=np.zeros(0, dtype=np.int64), recovery=np.zeros(0), delay=np.zeros(0, dtype=np.int32),
        systematic=np.zeros((1, 5)),
    )
    assert 0.2 + 0.1 > 1 * 0.3
    tr = simulate_path(st_, fates, 0)
    assert tr.n_originated == 2
    check_block(st_, fates)


# --------------------------------------------------------------------------- banks and their deposits


def test_bank_columns_are_the_ledgers():
    assert BANK_COLUMNS == LEDGER_BANK_COLUMNS


@pytest.mark.parametrize("deposits", ["pooled", "per_bank"])
@pytest.mark.parametrize("shortfall", ["queue", "parent", "bank"])
def test_banks_agree_with_fast_engine(deposits, shortfall):
    """Two banks, one with its own breaker, one with its own leverage and shares; under stress."""
    sc = with_banks("minimal", ["credit.annual_pd=0.3", "funds.scale=0.05", f"rules.shortfall={shortfall}"],
                    VOCABULARY_BANKS, deposits)
    st_ = compile_structure(sc)
    check_block(st_, sample_block(st_, 1, 0, 6))


def test_per_bank_deposits_split_each_fund_by_credit_line():
    """Each deposit opens with w_b of its fund, pays only its own bank's claims, and the fund is the
    sum of its deposits; the bank's figures add up to the path's."""
    sc = with_banks("minimal", ["credit.annual_pd=0.3", "funds.scale=0.05"], VOCABULARY_BANKS, "per_bank")
    st_ = compile_structure(sc)
    fates = sample_block(st_, 1, 0, 4)
    for k in range(4):
        tr = simulate_path(st_, fates, k)
        assert tr.deposit_ids == tuple(f"{n}@{b}" for n in st_.node_ids for b in ("icbc", "ccb"))
        opens = {r[3]: r[5] for r in tr.events if r[1] == "open"}
        for j, nid in enumerate(st_.node_ids):
            assert opens[f"{nid}@icbc"] == st_.node_initial[j] * 0.75
            assert opens[f"{nid}@ccb"] == st_.node_initial[j] * 0.25
        for r in tr.events:  # a deposit pays and is clawed back only on its own bank's loans
            if r[3] and r[1] in ("claim", "queue_pay", "clawback"):
                assert r[3].endswith("@" + st_.banks.ids[int(fates.bank[int(fates.path_start[k]) + r[2]])])
        col = BANK_COLUMNS.index
        assert tr.banks[:, col("loss_bank")].sum() == pytest.approx(tr.loss_bank, rel=1e-12, abs=1e-6)
        assert tr.banks[:, col("unpaid")].sum() == pytest.approx(tr.unpaid_total, rel=1e-12, abs=1e-6)
        assert tr.banks[:, col("fund_paid")].sum() == pytest.approx(tr.loss_fund, rel=1e-12, abs=1e-6)
        assert tr.banks[:, col("n_originated")].sum() == tr.n_originated
        assert tr.banks[:, col("n_defaults")].sum() == tr.n_defaults
        check_replay(tr)


FUND_FIGURES = ("first_shortfall_month", "payout_net", "unpaid", "required_capital", "final_balance", "paid",
                "clawback", "due", "capped", "balance", "budget", "years")


def _same_funds_without_banks(raw: dict, seed: int, n_paths: int) -> None:
    plain = compile_structure(scenario.from_dict(raw))
    raw = {**raw, "banks": [{"id": "b1", "credit_line": 1e15}, {"id": "b2", "credit_line": 3e14},
                            {"id": "b3", "credit_line": 1e14}]}
    banked = compile_structure(scenario.from_dict(raw))
    f_plain, f_banked = sample_block(plain, seed, 0, n_paths), sample_block(banked, seed, 0, n_paths)
    assert f_plain.bank is None and f_banked.bank is not None
    res_plain, res_banked = run_ledger(plain, f_plain), run_ledger(banked, f_banked)
    for k in range(n_paths):
        a, b = simulate_path(plain, f_plain, k), simulate_path(banked, f_banked, k)
        for name in FUND_FIGURES:
            assert np.array_equal(getattr(a, name), getattr(b, name)), (k, name)
        for name in PATH_COLUMNS:
            assert a.path_value(name) == b.path_value(name), (k, name)
        assert a.banks.shape == (0, len(BANK_COLUMNS)) and b.banks.shape == (3, len(BANK_COLUMNS))
        assert b.banks[:, BANK_COLUMNS.index("refused")].sum() == 0
    for name in ("paths", "nodes", "balance", "budget", "years"):  # the fast engine's too
        assert np.array_equal(getattr(res_plain, name), getattr(res_banked, name)), name


def test_pooled_banks_without_rules_of_their_own_leave_every_fund_figure_as_without_banks():
    raw = scenario.read_raw_with("minimal", ["credit.annual_pd=0.3", "funds.scale=0.05"])
    _same_funds_without_banks(raw, 1, 6)


@settings(max_examples=examples(30), **SETTINGS)
@given(scenarios(banks_off=True), seeds)
def test_pooled_banks_leave_random_scenarios_as_without_banks(raw, seed):
    _same_funds_without_banks(raw, seed, 3)


@st.composite
def fates_with_banks(draw, deposits: str):
    raw = draw(scenarios(banks_off=True))
    if "products" not in raw and "bands" not in raw["sharing"] and draw(st.booleans()):
        own = {"shares": {"fund": 0.7, "bank": 0.3}}
    else:
        own = {}
    if deposits == "per_bank":  # the target of a restoring fund in yuan only
        for r in raw["regions"]:
            if r.get("target_reserve_ratio", 0.0) > 0:
                r["target_reserve_ratio"] = 0.0
                r["target_balance"] = r.get("target_balance") or 1e6
    raw["banks"] = [{"id": "a", "credit_line": draw(st.sampled_from([1e6, 3e6, 1e9])), "circuit_breaker_npl": 0.1,
                     "circuit_breaker_months": draw(st.integers(1, 6))},
                    {"id": "b", "credit_line": draw(st.sampled_from([2e6, 1e9])), "leverage": draw(st.sampled_from([0.5, 3.0])),
                     **own}]
    raw.setdefault("rules", {})["deposits"] = deposits
    st_ = compile_structure(scenario.from_dict(raw))
    return st_, draw(fates_for(st_))


@settings(max_examples=examples(120), **SETTINGS)
@given(st.sampled_from(["pooled", "per_bank"]).flatmap(fates_with_banks))
def test_hand_drawn_fates_with_banks_agree(case):
    """Credit lines the size of a few loans, breakers and leverage that bind, per-bank deposits."""
    st_, fates = case
    check_block(st_, fates)
