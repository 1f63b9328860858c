"""The scheme options of docs/model.md sections 3.5, 4.6 and 5.2, each on a path computed by hand.

Fates are set by hand on the ``minimal`` scenario with simple rules (fund and bank share 50/50,
no other party, large funds, no interest), so that every figure can be worked out on paper; both
engines (the ledger and the SimPy event engine) must give it, and agree with each other. The
sampled options (unsold IP, a buyer of last resort) are checked on drawn fates.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from riskpool import scenario
from riskpool.events import simulate_path
from riskpool.fates import NO_DEFAULT, Fates, sample_block
from riskpool.ledger import BANK_COLUMNS, NODE_COLUMNS, PATH_COLUMNS, run_ledger
from riskpool.structure import compile_structure

if str(Path(__file__).resolve().parent) not in sys.path:  # tests/ has no __init__.py
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_events import disagreements

SIMPLE = ["sharing.fund=0.5", "sharing.bank=0.5", "sharing.insurer=0", "sharing.evaluator=0", "sharing.guarantor=0",
          "rules.fund_interest_rate=0", "rules.leverage=0", "rules.max_loan=0", "rules.circuit_breaker_npl=0",
          "rules.npl_warning=0", "collateral.disposal_cost=0", "collateral.recovery_sd=0", "collateral.disposal_months_sd=0"]
NEVER = 1000  # a disposal delay beyond any horizon


def path_of(settings: list[str], loans: list[tuple[int, float, int, float, int]], kinds: list[int] | None = None,
            banks: list[dict] | None = None, lenders: list[int] | None = None):
    """Both engines on one path of hand-set loans (orig, size, default month or NO_DEFAULT,
    recovery, disposal delay) and, with products, their kinds (rows of shares, 4.7), with banks
    (``[[banks]]`` tables) the bank of each loan; returns (event trace, ledger path row, ledger
    node rows, structure); the ledger's bank rows are ``path["banks"]``."""
    raw = scenario.read_raw_with("minimal")
    raw["banks"] = banks or []
    st = compile_structure(scenario.from_dict(raw, SIMPLE + settings))
    defaulted = np.array([i for i, loan in enumerate(loans) if loan[2] != NO_DEFAULT], dtype=np.int64)
    fates = Fates(
        path_start=np.array([0, len(loans)]), county=np.zeros(len(loans), dtype=np.int32),
        orig=np.array([loan[0] for loan in loans], dtype=np.int32), size=np.array([loan[1] for loan in loans]),
        default_month=np.array([loan[2] for loan in loans], dtype=np.int32), defaulted=defaulted,
        recovery=np.array([loans[i][3] for i in defaulted]), delay=np.array([loans[i][4] for i in defaulted], dtype=np.int32),
        systematic=np.zeros((1, 5)), kind=None if kinds is None else np.array(kinds, dtype=np.int64),
        bank=None if lenders is None else np.array(lenders, dtype=np.int64),
    )
    trace = simulate_path(st, fates, 0)
    res = run_ledger(st, fates)
    assert not disagreements(trace, res, 0, st.node_ids)
    np.testing.assert_allclose(trace.years, res.years, rtol=1e-12, atol=1e-6)  # one path: its years are the sums
    return trace, {**dict(zip(PATH_COLUMNS, res.paths[0])), "banks": res.banks[0]}, res.nodes[0], st


def bank(path: dict, k: int, column: str) -> float:
    return float(path["banks"][k, BANK_COLUMNS.index(column)])


def node(nodes: np.ndarray, st, node_id: str, column: str) -> float:
    return float(nodes[st.node_ids.index(node_id), NODE_COLUMNS.index(column)])


def conserved(path: dict[str, float]) -> float:
    """Losses + recovered + unpaid - defaulted EAD (0 when money is conserved)."""
    parties = sum(path[k] for k in ("loss_fund", "loss_bank", "loss_guarantor", "loss_insurer", "loss_evaluator", "loss_pool"))
    return parties + path["recovered"] + path["unpaid"] - path["defaulted_ead"]


def test_max_covered_covers_only_the_first_yuan_of_a_loan():
    # a 3m loan defaults in month 2, claimed in month 5 (lag 3); only its first 1m is covered
    trace, path, nodes, st = path_of(["rules.max_covered=1e6"], [(-1, 3e6, 2, 0.0, NEVER)])
    assert path["loss_fund"] == pytest.approx(0.5 * 1e6)
    assert path["loss_bank"] == pytest.approx(2e6 + 0.5 * 1e6)  # the uncovered 2m, and its share of the 1m
    assert node(nodes, st, "430104", "payout_net") == pytest.approx(0.2 * 0.5e6)  # tiers 0.5 / 0.3 / 0.2
    assert node(nodes, st, "changsha", "payout_net") == pytest.approx(0.3 * 0.5e6)
    assert node(nodes, st, "hunan", "payout_net") == pytest.approx(0.5 * 0.5e6)
    assert path["capped"] == 0 and not st.caps  # a cover, not a cap
    assert abs(conserved(path)) < 1e-6


def test_fund_cap_share_caps_all_tiers_together_at_a_share_of_the_loss():
    # fund share 50 %, all tiers together at most 30 % of the loss: 1.5m asked, 0.9m paid, 0.6m capped
    trace, path, nodes, st = path_of(["sharing.fund_cap_share=0.3"], [(-1, 3e6, 2, 0.0, NEVER)])
    assert path["loss_fund"] == pytest.approx(0.9e6)
    assert path["capped"] == pytest.approx(0.6e6) == trace.capped_total
    assert path["loss_bank"] == pytest.approx(1.5e6 + 0.6e6)
    assert [r[5] for r in trace.events if r[1] == "capped"] == [pytest.approx(0.6e6)]
    assert abs(conserved(path)) < 1e-6


def test_annual_cap_limits_what_a_fund_accepts_in_a_calendar_year():
    # county fund capped at 150,000 a year; its part of a 1m loan's claim is 0.2 x 0.5 x 1m = 100,000
    loans = [(-1, 1e6, 2, 0.0, NEVER), (-1, 1e6, 3, 0.0, NEVER), (-1, 1e6, 10, 0.0, NEVER)]
    trace, path, nodes, st = path_of(["regions.430104.annual_cap=150000"], loans)
    # claims in months 5 and 6 (year 0): 100,000 then 50,000 accepted; month 13 (year 1): 100,000 again
    assert node(nodes, st, "430104", "payout_net") == pytest.approx(250_000)
    assert node(nodes, st, "430104", "capped") == pytest.approx(50_000) == path["capped"]
    assert node(nodes, st, "430104", "due") == pytest.approx(250_000)  # what it accepted
    assert node(nodes, st, "430104", "first_shortfall_month") == -1  # capped is not a shortfall
    assert path["loss_bank"] == pytest.approx(3 * 0.5e6 + 50_000)
    assert abs(conserved(path)) < 1e-6


def test_county_tier_split_overrides_the_scheme_split():
    trace, path, nodes, st = path_of(["regions.430104.tiers={province=0, city=0.25, county=0.75}"],
                                     [(-1, 1e6, 2, 0.0, NEVER)])
    assert node(nodes, st, "430104", "payout_net") == pytest.approx(0.75 * 0.5e6)
    assert node(nodes, st, "changsha", "payout_net") == pytest.approx(0.25 * 0.5e6)
    assert node(nodes, st, "hunan", "payout_net") == 0


@pytest.mark.parametrize(("write_off", "trips"), [(0, 4), (6, 1)])
def test_write_off_takes_a_loan_out_of_the_breakers_npl(write_off: int, trips: int):
    # ten 1m loans from month -1 (12-month tenor, so the book runs off in month 11); one defaults in
    # month 1 and is disposed of in month 41. NPL ratio 1/10 > 5 %: the county stops in months 1-12.
    # Undisposed, the loan keeps the ratio at 1 after the run-off: trips again in months 13, 25, 37.
    # Written off in month 7, it leaves the NPL and the county does not trip again.
    loans = [(-1, 1e6, 1 if i == 0 else NO_DEFAULT, 0.0, 40) for i in range(10)]
    settings = ["rules.circuit_breaker_npl=0.05", f"rules.write_off_months={write_off}"]
    trace, path, nodes, st = path_of(settings, loans)
    assert trace.breaker_trips[0] == trips
    assert [r[0] for r in trace.events if r[1] == "write_off"] == ([7] if write_off else [])


def test_unsold_ip_recovers_nothing_and_the_buyer_of_last_resort_pays_the_floor():
    def recoveries(settings: list[str]) -> tuple[np.ndarray, Fates]:
        s = scenario.load("minimal", ["credit.annual_pd=0.2", *settings])
        fates = sample_block(compile_structure(s), 11, 0, 250)
        return fates.recovery, fates

    plain, base = recoveries([])
    unsold, fates = recoveries(["collateral.p_no_sale=0.4"])
    assert len(plain) > 500
    assert np.array_equal(fates.default_month, base.default_month) and np.array_equal(fates.size, base.size)
    sold = unsold > 0
    assert np.array_equal(unsold[sold], plain[sold])  # a sale achieves what it would have
    share = 1 - sold.mean()
    assert stats.binomtest(int((~sold).sum()), len(sold), 0.4).pvalue > 1e-3, share
    floored, _ = recoveries(["collateral.p_no_sale=1", "collateral.recovery_floor=0.3"])
    assert np.all(floored == 0.3)  # nothing sells; the buyer of last resort pays 30 %
    floor_only, _ = recoveries(["collateral.recovery_floor=0.25"])
    assert np.array_equal(floor_only, np.maximum(plain, 0.25))


def test_added_options_at_their_defaults_keep_the_scenario_sha():
    base = scenario.load("minimal")
    explicit = scenario.load("minimal", ["rules.max_covered=0", "rules.write_off_months=0", "sharing.fund_cap_share=1",
                                         "collateral.p_no_sale=0", "collateral.recovery_floor=0",
                                         "regions.430104.annual_cap=0", "layers.borrower_pool_rate=0",
                                         "layers.bank_first_loss=0"])
    assert explicit.sha256() == base.sha256()
    assert "max_covered" not in base.canonical()["rules"]
    changed = scenario.load("minimal", ["rules.max_covered=1e6"])
    assert changed.sha256() != base.sha256() and changed.canonical()["rules"]["max_covered"] == 1e6
    assert scenario.validate(changed.canonical()).sha256() == changed.sha256()  # the canonical form reads back


def test_bad_scheme_options_name_the_field():
    for override, where in (("regions.changsha.tiers={province=0.5, city=0.6, county=0}", "regions.changsha.tiers"),
                            ("regions.hunan.tiers={province=1, city=0, county=0}", "regions.hunan.tiers"),
                            ("sharing.fund_cap_share=0", "sharing.fund_cap_share"),
                            ("collateral.p_no_sale=1.5", "collateral.p_no_sale"),
                            ("layers.bank_first_loss=-0.1", "layers.bank_first_loss"),
                            (f"products=[{PATENT}, {{id='tm', share=0.2, fund=0.3, bank=0.7}}]", "products"),
                            (f"products=[{PATENT.replace('0.05', '0.7')}]", "products.patent.first_loan_bonus"),
                            (f"products=[{PATENT}, {PATENT.replace('0.6', '0.4')}]", "products"),
                            ("products=[{id='p', share=1, fund=0.5, bank=0.6}]", "products.p")):
        with pytest.raises(scenario.ScenarioError) as caught:
            scenario.load("minimal", [override])
        assert any(p.path == where for p in caught.value.problems), (override, caught.value.problems)
    with pytest.raises(scenario.ScenarioError) as caught:
        scenario.load("minimal", [PRODUCTS, "sharing.bands=[{max_loan=1e6, fund=0.5, bank=0.5}]"])
    assert [p.path for p in caught.value.problems] == ["sharing.bands"]


def test_the_borrowers_pool_pays_first_and_gets_its_share_of_the_clawback_back():
    # three 1m loans pay 2 % each into the pool at month -1: 60,000. A defaults in month 2 (claim
    # in 5): the pool pays 60,000, the rest is shared 50/50; B defaults in month 3 (claim in 6)
    # with the pool empty. A recovers 50 % in month 12: the pool gets 30,000 back, which pays
    # part of C's claim (a new loan of month 12, its own 20,000 added: 50,000)
    loans = [(-1, 1e6, 2, 0.5, 10), (-1, 1e6, 3, 0.0, NEVER), (-1, 1e6, NO_DEFAULT, 0.0, NEVER),
             (12, 1e6, 14, 0.0, NEVER)]
    trace, path, nodes, st = path_of(["layers.borrower_pool_rate=0.02"], loans)
    assert path["pool_in"] == pytest.approx(80_000)
    assert path["loss_pool"] == pytest.approx(30_000 + 50_000)
    assert path["pool_final"] == pytest.approx(0.0, abs=1e-6)
    # A's fund part 470,000 less half of it clawed back, B's 500,000, C's 475,000
    assert path["loss_fund"] == pytest.approx(0.5 * 470_000 + 500_000 + 475_000)
    assert path["loss_bank"] == pytest.approx(path["loss_fund"])  # shared 50/50
    assert [r[5] for r in trace.events if r[1] == "claim" and r[4] == "pool"] == [pytest.approx(-60_000),
                                                                                 pytest.approx(-50_000)]
    assert abs(conserved(path)) < 1e-6


def test_the_banks_first_loss_slice_comes_before_the_shares():
    # a 1m loan defaults: the bank bears the first 10 % of its size, the other 900,000 is shared
    trace, path, nodes, st = path_of(["layers.bank_first_loss=0.1"], [(-1, 1e6, 2, 0.0, NEVER)])
    assert path["loss_fund"] == pytest.approx(450_000)
    assert path["loss_bank"] == pytest.approx(550_000)
    assert path["capped"] == 0  # a slice, not a cap
    # a slice larger than the loss takes all of it
    trace, path, nodes, st = path_of(["layers.bank_first_loss=1"], [(-1, 1e6, 2, 0.0, NEVER)])
    assert path["loss_fund"] == 0 and path["loss_bank"] == pytest.approx(1e6)


PATENT = "{id='patent', share=0.7, fund=0.4, bank=0.6, first_loans=0.6, first_loan_bonus=0.05}"
PRODUCTS = f"products=[{PATENT}, {{id='tm', share=0.3, fund=0.3, bank=0.7}}]"


def test_each_product_has_its_shares_and_a_first_loan_moves_the_bonus_to_the_fund():
    # a patent loan (row 0), a first patent loan (row 1) and a trademark loan (row 2), 1m each
    loans = [(-1, 1e6, 2, 0.0, NEVER)] * 3
    trace, path, nodes, st = path_of([PRODUCTS], loans, kinds=[0, 1, 2])
    assert path["loss_fund"] == pytest.approx(0.4e6 + 0.45e6 + 0.3e6)
    assert path["loss_bank"] == pytest.approx(0.6e6 + 0.55e6 + 0.7e6)


def test_products_and_first_loans_are_drawn_in_their_shares():
    s = scenario.load("minimal", ["credit.annual_pd=0.2", PRODUCTS])
    fates = sample_block(compile_structure(s), 5, 0, 250)
    plain = sample_block(compile_structure(scenario.load("minimal", ["credit.annual_pd=0.2"])), 5, 0, 250)
    for name in ("size", "default_month", "recovery", "delay"):  # the kind is a fate of its own stream
        assert np.array_equal(getattr(fates, name), getattr(plain, name)), name
    n = len(fates.kind)
    counts = np.bincount(fates.kind, minlength=4)
    assert counts[3] == 0
    for row, p in ((0, 0.7 * 0.4), (1, 0.7 * 0.6), (2, 0.3)):
        assert stats.binomtest(int(counts[row]), n, p).pvalue > 1e-3, (row, counts)


RESTORE = ["regions.hunan.topup_rule=restore", "regions.hunan.annual_topup=0", "regions.hunan.fund=1e6",
           "regions.hunan.target_balance=2e6"]


@pytest.mark.parametrize(("settings", "province_topups"), [
    (["regions.hunan.topup_budget=3e5"], [3e5, 3e5, 3e5, 1e5]),  # the budget binds until the gap closes
    (["regions.hunan.restore_years=4"], [2.5e5, 2.5e5, 2.5e5, 2.5e5]),  # the 1m gap spread over 4 years
    ([], [1e6, 0, 0, 0]),  # at once
])
def test_a_restoring_top_up_closes_the_gap_within_budget_and_deadline(settings: list[str], province_topups: list[float]):
    # no default: the province's 1m fund is brought to its 2m target at the starts of years 1-4
    trace, path, nodes, st = path_of(RESTORE + settings, [(-1, 1e6, NO_DEFAULT, 0.0, NEVER)])
    assert list(trace.budget[1:, 2]) == pytest.approx(province_topups)
    assert node(nodes, st, "hunan", "final_balance") == pytest.approx(2e6)
    assert list(trace.budget[1:, 1]) == pytest.approx([5e6] * 4)  # the city's fixed top-up, for comparison


def test_a_reserve_ratio_target_follows_the_covered_book():
    # target 10 % of the outstanding the province covers: 3m outstanding all year -> 300,000
    settings = ["regions.hunan.topup_rule=restore", "regions.hunan.annual_topup=0", "regions.hunan.fund=0",
                "regions.hunan.target_reserve_ratio=0.1", "regions.430104.lending.tenor_months=60"]
    trace, path, nodes, st = path_of(settings, [(-1, 3e6, NO_DEFAULT, 0.0, NEVER)])
    assert list(trace.budget[1:, 2]) == pytest.approx([3e5, 0, 0, 0])


def test_the_appropriations_are_summarised_by_tier_and_year_and_spool_alike(tmp_path: Path):
    from riskpool.engine import simulate
    from riskpool.metrics import summarize

    s = scenario.load("minimal", ["regions.hunan.topup_rule=restore", "regions.hunan.annual_topup=0",
                                  "regions.hunan.target_balance=8e7", "regions.hunan.topup_budget=1e7",
                                  "credit.annual_pd=0.1"], simulation__paths=600)
    memory = summarize(simulate(s))
    spooled_results = simulate(s, spool=True, spool_folder=tmp_path)
    spooled = summarize(spooled_results)
    spooled_results.release()
    assert memory == spooled
    province = memory.budget["province"]
    assert [a.year for a in province] == [1, 2, 3, 4]
    assert province[0].mean == pytest.approx(1e7)  # 65m below the 80m target: the budget binds
    assert all(0 <= a.mean <= 1e7 and 0 <= a.q95 <= 1e7 for a in province)  # within the budget
    fund = memory.budget["fund"]
    assert fund[0].mean == pytest.approx(1e7 + 5e6 + 5e5)  # with the city's and county's fixed top-ups


def test_a_funds_year_is_recorded_as_performance_scoring_reads_it():
    from riskpool.ledger import YEAR_COLUMNS

    # a 1m loan from month -1 defaults in month 2, claimed in month 5; the county fund pays
    # 0.2 x 0.5 x 1m = 100,000 of it in year 0, and it is still in default at the year's end
    trace, path, nodes, st = path_of(["simulation.indicators=true"], [(-1, 1e6, 2, 0.0, NEVER)])
    county = dict(zip(YEAR_COLUMNS, trace.years[0, st.node_ids.index("430104")]))
    assert county == pytest.approx({"paid": 1e5, "clawback": 0.0, "defaulted": 1e6, "originated": 1e6,
                                    "npl": 1e6, "outstanding": 0.0, "balance": 3e6 - 1e5})
    province = dict(zip(YEAR_COLUMNS, trace.years[1, st.node_ids.index("hunan")]))
    assert province["paid"] == 0 and province["defaulted"] == 0 and province["npl"] == 1e6  # year 1: stocks only

    from riskpool.engine import simulate
    from riskpool.metrics import summarize

    summary = summarize(simulate(scenario.load("minimal", ["simulation.indicators=true", "credit.annual_pd=0.1"]),
                                 paths=500))
    year = summary.indicators["hunan"][1]
    assert year.compensation_rate == pytest.approx(year.paid_mean / year.defaulted_mean)
    assert year.npl_ratio == pytest.approx(year.npl_mean / (year.npl_mean + year.outstanding_mean))
    assert len(summary.indicators["430104"]) == 5
    assert "indicators" not in summarize(simulate(scenario.load("minimal"), paths=250)).to_json()


# --------------------------------------------------------------------------- banks (5.9)

TWO_BANKS = [{"id": "big", "credit_line": 3e9}, {"id": "small", "credit_line": 1e9}]  # weights 3/4 and 1/4
COUNTY_ONLY = ["sharing.tiers.province=0", "sharing.tiers.city=0", "sharing.tiers.county=1",
               "regions.430104.fund=4e6", "regions.430104.annual_topup=0"]
# the small bank's 3m loan defaults in month 2 (claim month 5, fund part 1.5m); the big bank's 2m
# loan in month 3 (claim month 6, fund part 1m); nothing is recovered within the horizon
TWO_CLAIMS = [(-1, 3e6, 2, 0.0, NEVER), (-1, 2e6, 3, 0.0, NEVER)]


def test_a_per_bank_deposit_runs_short_while_the_other_holds_idle_money():
    # per bank: the county fund's 4m is 3m at the big bank and 1m at the small one; the small
    # bank's claim finds 1m and queues 0.5m, which no top-up ever pays
    trace, path, nodes, st = path_of(COUNTY_ONLY + ["rules.deposits=per_bank"], TWO_CLAIMS, banks=TWO_BANKS,
                                     lenders=[1, 0])
    assert node(nodes, st, "430104", "first_shortfall_month") == 5
    assert node(nodes, st, "430104", "unpaid") == pytest.approx(0.5e6)
    assert node(nodes, st, "430104", "final_balance") == pytest.approx(2e6)  # idle at the big bank
    # required: the deposits needed 1.5m (small, w = 1/4) and 1m (big, w = 3/4): max(6m, 1.33m)
    assert node(nodes, st, "430104", "required_capital") == pytest.approx(6e6)
    assert bank(path, 1, "first_shortfall_month") == 5 and bank(path, 0, "first_shortfall_month") == -1
    assert bank(path, 1, "fund_paid") == pytest.approx(1e6) and bank(path, 1, "unpaid") == pytest.approx(0.5e6)
    assert bank(path, 0, "fund_paid") == pytest.approx(1e6)
    assert bank(path, 1, "loss_bank") == pytest.approx(1.5e6) and bank(path, 0, "loss_bank") == pytest.approx(1e6)
    assert path["banks"][:, BANK_COLUMNS.index("loss_bank")].sum() == pytest.approx(path["loss_bank"])
    assert abs(conserved(path)) < 1e-6


def test_pooled_the_same_claims_are_paid_in_full():
    trace, path, nodes, st = path_of(COUNTY_ONLY, TWO_CLAIMS, banks=TWO_BANKS, lenders=[1, 0])
    assert node(nodes, st, "430104", "first_shortfall_month") == -1
    assert node(nodes, st, "430104", "final_balance") == pytest.approx(1.5e6)
    assert node(nodes, st, "430104", "required_capital") == pytest.approx(2.5e6)
    assert bank(path, 1, "first_shortfall_month") == -1 and bank(path, 1, "fund_paid") == pytest.approx(1.5e6)


def test_a_banks_credit_line_and_own_leverage_refuse_candidates():
    # the small bank may have 5m outstanding: of three 2m candidates in month 0 the third is refused;
    # the big bank's own leverage 1x of its money (3/4 of the pooled 98m ... every fund's) never binds
    banks = [{"id": "big", "credit_line": 3e9, "leverage": 1}, {"id": "small", "credit_line": 5e6}]
    loans = [(0, 2e6, NO_DEFAULT, 0.0, 0)] * 3 + [(0, 2e6, NO_DEFAULT, 0.0, 0)]
    trace, path, nodes, st = path_of([], loans, banks=banks, lenders=[1, 1, 1, 0])
    assert bank(path, 1, "refused") == 1 and bank(path, 1, "n_originated") == 2
    assert bank(path, 0, "refused") == 0 and bank(path, 0, "originated") == pytest.approx(2e6)
    assert path["n_originated"] == 3


def test_a_banks_own_breaker_stops_only_that_bank():
    # the big bank's 1m loan defaults in month 1: its NPL ratio is 1 at month 1's originations, above
    # its 3 % (Guangzhou), so it lends nothing in months 1-12; the small bank goes on lending. The
    # loan is never disposed of, so the bank trips again in months 13, 25, 37 and 49
    banks = [{"id": "big", "credit_line": 3e9, "circuit_breaker_npl": 0.03}, {"id": "small", "credit_line": 1e9}]
    loans = [(0, 1e6, 1, 0.0, NEVER), (3, 1e6, NO_DEFAULT, 0.0, 0), (3, 1e6, NO_DEFAULT, 0.0, 0)]
    trace, path, nodes, st = path_of([], loans, banks=banks, lenders=[0, 0, 1])
    assert bank(path, 0, "breaker_trips") == 5 and bank(path, 0, "suspended") == 1
    assert bank(path, 1, "n_originated") == 1 and bank(path, 1, "suspended") == 0


def test_a_banks_own_shares_replace_the_schemes_for_its_loans():
    banks = [{"id": "big", "credit_line": 3e9, "shares": {"fund": 0.8, "bank": 0.2}}, {"id": "small", "credit_line": 1e9}]
    trace, path, nodes, st = path_of([], TWO_CLAIMS, banks=banks, lenders=[1, 0])
    assert path["loss_fund"] == pytest.approx(0.5 * 3e6 + 0.8 * 2e6)
    assert bank(path, 0, "loss_bank") == pytest.approx(0.2 * 2e6) and bank(path, 1, "loss_bank") == pytest.approx(1.5e6)


def test_independent_per_bank_books_are_independent_ruin_problems():
    """Closed form: with per-bank deposits, no top-up and no interest, a bank's deposit of D_b =
    w_b x F runs short exactly when its own loans' fund parts exceed D_b, whatever the other
    bank's loans do. With N_b loans of size S at probability p each (one cohort, no
    correlation), P(short at bank b) = P(Binomial(N_b, p) x f S > D_b)."""
    raw = scenario.read_raw_with("minimal")
    raw["banks"] = [{"id": "big", "credit_line": 3e9}, {"id": "small", "credit_line": 1e9}]
    raw["credit"].pop("stress")
    s = scenario.from_dict(raw, SIMPLE + COUNTY_ONLY + [
        "rules.deposits=per_bank", "credit.asset_correlation=0", "credit.annual_pd=0.1", "collateral.recovery_mean=0",
        "regions.430104.lending.initial_loans=40", "regions.430104.lending.new_loans_per_year=0",
        "regions.430104.lending.loan_size_cv=0", "regions.430104.lending.tenor_months=60",
        "regions.430104.fund=1.2e7", "regions.hunan.annual_topup=0", "regions.changsha.annual_topup=0",
        "simulation.horizon_years=1"])
    st = compile_structure(s)
    fates = sample_block(st, 11, 0, 250, None)
    res = run_ledger(st, fates)
    first = res.banks[:, :, BANK_COLUMNS.index("first_shortfall_month")]
    lenders = fates.bank.reshape(250, 40)
    claimed = (fates.default_month <= 8).reshape(250, 40)  # claimed (lag 3) within the year
    part = 0.5 * 3e6  # each claim asks 1.5m of the fund
    p_claimed = 1 - (1 - 0.1) ** (9 / 12)  # a loan's default in months 0-8 (3.3)
    for k, w in enumerate((0.75, 0.25)):
        deposit = w * 1.2e7
        # path by path: short exactly when the bank's own claims exceed its deposit
        own_claims = (claimed & (lenders == k)).sum(axis=1)
        assert np.array_equal(first[:, k] >= 0, own_claims * part > deposit)
        n_b = (lenders == k).sum(axis=1)
        # per path, the exact probability given its number of loans at the bank, then averaged
        expected = np.mean([stats.binom.sf(np.floor(deposit / part + 1e-9), n, p_claimed) for n in n_b])
        observed = (first[:, k] >= 0).mean()
        se = np.sqrt(expected * (1 - expected) / 250)
        assert abs(observed - expected) < 4 * se + 1e-9, (k, observed, expected)
