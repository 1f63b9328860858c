"""The fast ledger: the rules of docs/model.md section 5, month by month, compiled with numba.

This module is the one home of the rules in the fast engine. :func:`run_ledger` validates its
inputs and calls :func:`_ledger_block`, a compiled kernel that walks each path of a block
through the months in the order of docs/model.md section 5.0:

    interest, top-ups, fees and premiums; clawbacks; queued claims (oldest first);
    defaults; new claims (by default month, then loan id); maturities; originations.

Events of a path are kept in per-month linked lists (defaults, claims, disposals) that are
appended in loan-id order, so each list is already in the order the rules require; performing
loans wait in a book kept in the order they were originated, from which a maturity step reads
those originated one tenor earlier, also in loan-id order. Queued claims are kept in a linked
list per fund node, in the order they were queued, which is the order of due month, default
month and loan id. Every sum is added up in the same order as the rules state, so the results
do not depend on how the kernel is organised for speed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from .fates import NO_DEFAULT, Fates
from .structure import COUNTY_SCOPE, NET_LOSS, PARENT, PROVINCE_SCOPE, QUEUE, TOLERANCE, Structure

PATH_COLUMNS = (
    "originated", "defaulted_ead", "recovered", "unpaid", "loss_fund", "loss_bank",
    "loss_guarantor", "loss_insurer", "loss_evaluator", "fees", "premiums",
    "peak_outstanding", "n_originated", "n_defaults", "guarantor_exhausted", "capped",
    "loss_pool", "pool_in", "pool_final",
)
NODE_COLUMNS = (
    "first_shortfall_month", "payout_net", "unpaid", "required_capital", "final_balance",
    "paid", "clawback", "due", "capped",
)
COUNTY_COLUMNS = ("npl_warning_months", "breaker_trips", "originated")
# a fund's year (summed over paths with their weights): paid from its balance, clawed back into it,
# EAD defaulting and principal originated under it during the year; at the year's end, the EAD in
# default and the outstanding under it, and its balance
# a bank's path (docs/model.md section 6.11); first_shortfall_month -1 = none
BANK_COLUMNS = (
    "originated", "n_originated", "defaulted_ead", "n_defaults", "loss_bank", "fund_paid", "unpaid",
    "first_shortfall_month", "breaker_trips", "suspended", "refused",
)
YEAR_COLUMNS = ("paid", "clawback", "defaulted", "originated", "npl", "outstanding", "balance")

(P_ORIG, P_DEF_EAD, P_RECOVERED, P_UNPAID, P_L_FUND, P_L_BANK, P_L_GUAR, P_L_INS, P_L_EVAL,
 P_FEES, P_PREMIUMS, P_PEAK, P_N_ORIG, P_N_DEF, P_G_EXHAUSTED, P_CAPPED, P_L_POOL, P_POOL_IN,
 P_POOL_FINAL) = range(len(PATH_COLUMNS))
N_FIRST, N_PAYOUT, N_UNPAID, N_REQUIRED, N_FINAL, N_PAID, N_CLAW, N_DUE, N_CAPPED = range(len(NODE_COLUMNS))
C_WARN, C_TRIPS, C_ORIG = range(len(COUNTY_COLUMNS))
Y_PAID, Y_CLAW, Y_DEF, Y_ORIG, Y_NPL, Y_OUT, Y_BAL = range(len(YEAR_COLUMNS))
(B_ORIG, B_N_ORIG, B_DEF_EAD, B_N_DEF, B_L_BANK, B_FUND_PAID, B_UNPAID, B_FIRST, B_TRIPS, B_SUSPENDED,
 B_REFUSED) = range(len(BANK_COLUMNS))

# party columns of Structure.shares
S_FUND, S_BANK, S_GUAR, S_INS, S_EVAL = range(5)
S_POOL = 5  # the borrowers' first-loss pool, a sixth party of a claim
BANK = -1  # a route or overflow slot of -1 means the bank
DEFAULTS, CLAIMS, DISPOSALS, WRITE_OFFS, BOOK_MATURITIES = range(5)  # the per-month event lists


@dataclass
class LedgerResult:
    """Per-path outcomes of one block (arrays indexed by path first)."""

    paths: np.ndarray  # (paths, len(PATH_COLUMNS))
    nodes: np.ndarray  # (paths, nodes, len(NODE_COLUMNS))
    counties: np.ndarray  # (paths, counties, len(COUNTY_COLUMNS))
    balance: np.ndarray  # (paths, months, nodes) month-end balances
    covered: np.ndarray  # (months, nodes) outstanding principal under each node, summed over paths (weighted)
    budget: np.ndarray  # (paths, years, 3 tier slots) top-ups paid at the start of each year
    years: np.ndarray  # (years, nodes, len(YEAR_COLUMNS)) summed over paths (weighted); kept with indicators on
    banks: np.ndarray  # (paths, banks, len(BANK_COLUMNS))


def allocate(st: Structure, n_paths: int) -> LedgerResult:
    t, nodes, counties = st.horizon_months, st.n_nodes, st.n_counties
    return LedgerResult(
        paths=np.zeros((n_paths, len(PATH_COLUMNS))),
        nodes=np.zeros((n_paths, nodes, len(NODE_COLUMNS))),
        counties=np.zeros((n_paths, counties, len(COUNTY_COLUMNS))),
        balance=np.zeros((n_paths, t, nodes)),
        covered=np.zeros((t, nodes)),
        budget=np.zeros((n_paths, t // 12, 3)),
        years=np.zeros((t // 12, nodes, len(YEAR_COLUMNS))),
        banks=np.zeros((n_paths, st.banks.n, len(BANK_COLUMNS))),
    )


def run_ledger(st: Structure, fates: Fates, out: LedgerResult | None = None,
               weight: np.ndarray | None = None, paths: np.ndarray | None = None) -> LedgerResult:
    """Apply the rules to a block of sampled fates, into ``out`` (zeroed arrays) or new arrays.

    ``weight`` (per path, 1 if omitted) weighs each path's outstanding in ``out.covered``, the one
    figure summed over paths here, so that it is an importance-sampling estimate too. ``paths``
    (the block's path indices, ascending) runs only those paths: the others' rows stay zero and the
    sums over paths count only those run (for a search that knows the other paths' outcome).
    """
    n = fates.n_paths
    if not (len(fates.county) == len(fates.size) == len(fates.orig) == fates.path_start[-1]):
        raise ValueError("fates arrays disagree in length")
    if st.n_kinds and (fates.kind is None or len(fates.kind) != len(fates.size)):
        raise ValueError("a scenario with products needs each candidate's kind in its fates")
    banks = st.banks
    if banks.n and (fates.bank is None or len(fates.bank) != len(fates.size)):
        raise ValueError("a scenario with banks needs each candidate's bank in its fates")
    out = allocate(st, n) if out is None else out
    if len(out.paths) != n or out.balance.shape[1:] != (st.horizon_months, st.n_nodes):
        raise ValueError("output arrays do not match the block")
    weight = np.ones(n) if weight is None else weight
    paths = np.arange(n) if paths is None else np.asarray(paths)
    if paths.ndim != 1 or paths.dtype.kind not in "iu" or (
            len(paths) and (paths[0] < 0 or paths[-1] >= n or (np.diff(paths) <= 0).any())):
        raise ValueError("paths must be ascending integer indices of the block's paths")
    paths = paths.astype(np.int64, copy=False)
    none = np.zeros(0, dtype=np.int64)
    _ledger_block(
        paths, fates.path_start, fates.county, fates.orig, fates.size, fates.default_month,
        fates.defaulted, fates.recovery, fates.delay, st.horizon_months,
        *deposit_arrays(st), st.county_fund, st.route, st.overflow,
        st.tenor, st.ip_share, st.band_max, st.shares, st.tier_split, st.node_annual_cap, st.rules, weight,
        st.indicators, st.n_kinds, none if fates.kind is None else fates.kind,
        none if fates.bank is None else fates.bank, banks.weight, banks.deposit_weight, banks.credit, banks.leverage,
        banks.breaker, banks.breaker_months, banks.row, *register_arrays(st),
        out.paths, out.nodes, out.counties, out.balance, out.covered, out.budget, out.years, out.banks,
    )
    return out


def register_arrays(st: Structure) -> tuple[np.ndarray, ...]:
    """A register's loans, by their place among a path's first loans (docs/model.md section 4.8):
    remaining term, months since default, already compensated, already recovered (empty without one)."""
    book = st.book
    if book is None:
        return (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0), np.zeros(0))
    return book.term, book.since, book.paid, book.recovered


def deposit_arrays(st: Structure) -> tuple[np.ndarray, ...]:
    """The funds' money as deposits (fund j, bank b) at index ``j * deposits + b``: initial fund,
    fixed top-up, tier, restore flag, target, target ratio, budget and deadline of each. A fund's
    deposit holds the share w_b of its money (docs/model.md section 5.9); pooled, it is the fund."""
    w = st.banks.deposit_weight

    def scaled(x: np.ndarray) -> np.ndarray:
        return np.outer(x, w).ravel()

    def each(x: np.ndarray) -> np.ndarray:
        return np.repeat(x, len(w))

    return (scaled(st.node_initial), scaled(st.node_topup), each(st.node_tier), each(st.node_restore),
            scaled(st.node_target), each(st.node_target_ratio), scaled(st.node_budget), each(st.node_restore_years))


@njit(cache=True, inline="always")
def _push(heads, which, nxt, month, i):  # pragma: no cover - compiled
    """Append item ``i`` to list ``which`` of ``month`` (rows 2 which, 2 which + 1: head, tail)."""
    nxt[i] = -1
    if heads[2 * which, month] < 0:
        heads[2 * which, month] = i
    else:
        nxt[heads[2 * which + 1, month]] = i
    heads[2 * which + 1, month] = i


@njit(cache=True, inline="always")
def _leave_book(x, c, cover, one_cover, city_of, out, out_total, out_g, out_i):  # pragma: no cover - compiled
    """A performing loan of size ``x`` in county ``c`` leaves the book (it defaults or matures):
    the outstanding totals (all, county, city; with fees and premiums) drop; returns the three totals."""
    out_total -= x
    out[c] -= x
    out[city_of[c]] -= x
    if not one_cover:
        out_g, out_i = _covered(cover, -x, out_g, out_i)
    return out_total, out_g, out_i


@njit(cache=True, inline="always")
def _paid_before(paid, c, tier_split, route, merged, assigned, r):  # pragma: no cover - compiled
    """What the funds paid on a register loan before month 0, over the fund slots of its county
    as a claim's tier parts would go (routing and merges; a part routed to the bank left out)."""
    merged[:] = 0.0
    for s in range(3):
        if route[c, s] != BANK:
            merged[route[c, s]] += tier_split[c, s]
    total = merged[0] + merged[1] + merged[2]
    for s in range(3):
        assigned[r, s] = paid * merged[s] / total if total > 0.0 else 0.0


@njit(cache=True, inline="always")
def _covered(cover, amount, out_g, out_i):  # pragma: no cover - compiled
    """Outstanding on which guarantee fees (cover bit 1) and insurance premiums (bit 2) are earned."""
    if cover & 1:
        out_g += amount
    if cover & 2:
        out_i += amount
    return out_g, out_i


@njit(cache=True)
def _ledger_block(run_paths, path_start, county, orig, size, default_month, defaulted, recovery, delay, horizon,
                  dep_initial, dep_topup, dep_tier, restore, target, target_ratio, budget, restore_years,
                  county_fund, route, overflow,
                  tenor, ip_share, band_max, shares, tier_split, annual_cap, rules, weight,
                  indicators, n_kinds, kind, bank, bank_weight, dep_weight, bank_credit, bank_leverage,
                  bank_breaker, bank_breaker_months, bank_row, book_term, book_since, book_paid, book_recovered,
                  out_paths, out_nodes, out_counties, out_balance, out_covered, out_budget,
                  out_years, out_banks):  # pragma: no cover
    # Speed: the loops over loans call no helper that takes an array. numba counts references to
    # arrays handed to a function with atomic instructions, which cost more than the loop bodies.
    # The funds' money is held in deposits: fund j's deposit at bank b is j * nd + b (pooled: nd = 1,
    # the deposit is the fund), paid from by the loans of bank b (docs/model.md section 5.9).
    nd = len(dep_weight)
    n_acc = len(dep_initial)
    n_nodes = n_acc // nd
    n_banks = len(bank_credit)
    has_banks = n_banks > 0
    n_counties = len(tenor)
    n_bands = len(band_max)
    basis = rules.basis
    lag = rules.claim_lag
    cap = rules.per_loan_cap
    max_loan = rules.max_loan
    policy = rules.shortfall
    leverage = rules.leverage
    scope = rules.scope
    breaker = rules.breaker
    warning = rules.warning
    breaker_months = rules.breaker_months
    monthly_interest = rules.interest_rate / 12.0
    g_capital = rules.g_capital
    g_fee = rules.g_fee_rate / 12.0
    i_premium = rules.i_premium_rate / 12.0
    i_cap = rules.i_loss_ratio_cap
    keep = 1.0 - rules.disposal_cost
    max_covered = rules.max_covered
    cap_share = rules.fund_cap_share
    write_off = rules.write_off
    pool_rate = rules.pool_rate
    first_loss = rules.bank_first_loss

    # shares row -> cover bits: 1 guarantee fees are earned on the loan, 2 insurance premiums
    covers = np.empty(len(shares), dtype=np.int64)
    for row in range(len(shares)):
        covers[row] = (shares[row, S_GUAR] > 0.0) + 2 * (shares[row, S_INS] > 0.0)
    # With one shares row every loan has the same cover, so the outstanding that earns fees and
    # premiums is the total outstanding (the same additions in the same order) or nothing.
    one_cover = n_bands == 0 and n_kinds == 0 and not (bank_row >= 0).any()
    top = len(shares) - 1  # the top-level shares
    fees_on_total = one_cover and covers[0] & 1 == 1
    premiums_on_total = one_cover and covers[0] & 2 == 2
    # Outstanding principal, added up in the order loans come and go: per county (out[c]), per
    # city fund (out[n_counties + node]; out[n_counties + n_nodes] collects the counties whose
    # city has no fund) and in all (out[total], written at month ends). A county's fund covers
    # exactly its county's loans and the province's fund all of them, so these sums are theirs.
    total = n_counties + n_nodes + 1
    out = np.empty(total + 1)
    city_of = np.where(county_fund[:, 1] >= 0, county_fund[:, 1], n_nodes) + n_counties
    covers_out = np.empty(n_nodes, dtype=np.int64)  # the slot of out[] each fund node covers
    for j in range(n_nodes):
        covers_out[j] = n_counties + j
    for c in range(n_counties):
        if county_fund[c, 0] >= 0:
            covers_out[county_fund[c, 0]] = c
        if county_fund[c, 2] >= 0:
            covers_out[county_fund[c, 2]] = total
    dep_covers = np.repeat(covers_out, nd)  # what each deposit's fund covers

    max_loans = 0
    for b in range(len(path_start) - 1):
        max_loans = max(max_loans, path_start[b + 1] - path_start[b])
    # Scratch reused across paths. Loan lists (defaults) hold local loan indices; a defaulted loan
    # gets a record r (in default order) that the claim, disposal and queue lists refer to.
    # Records are initialised when created, so nothing is reset per path.
    nxt_loan = np.empty(max_loans, dtype=np.int64)  # defaults of a month, in loan-id order
    loan_row = np.empty(max_loans, dtype=np.int64)  # shares row of an originated loan that defaults
    loan_fate = np.empty(max_loans, dtype=np.int64)  # its position in defaulted / recovery / delay
    to_default = np.empty(max_loans, dtype=np.int64)  # originated this month, will default
    passing = np.empty(max_loans, dtype=np.int64)  # candidates of the month that pass the first rules
    # The book of performing loans (originated, never to default) in loan-id order, as they are
    # originated: those of month o are entries booked[o + 1] .. booked[o + 2] - 1, and each
    # matures at o + tenor, so a maturity step reads one stretch per tenor.
    book_size = np.empty(max_loans)
    book_county = np.empty(max_loans, dtype=np.int64)
    book_cover = np.empty(max_loans, dtype=np.int64)
    book_bank = np.empty(max_loans if has_banks else 0, dtype=np.int64)
    booked = np.empty(horizon + 2, dtype=np.int64)
    tenors = np.unique(tenor)
    rec_loan = np.empty(max_loans, dtype=np.int64)  # global loan index of record r
    rec_fate = np.empty(max_loans, dtype=np.int64)  # as loan_fate and loan_row, for record r
    rec_row = np.empty(max_loans, dtype=np.int64)
    net_first = np.empty(max_loans, dtype=np.bool_)  # recovery goes to the bank before the claim
    claimed = np.empty(max_loans, dtype=np.bool_)
    recovered = np.empty(max_loans)
    assigned = np.empty((max_loans, 3))  # per fund slot: paid + queued
    queued = np.empty((max_loans, 3))
    party = np.empty((max_loans, 6))  # bank, guarantor, insurer, evaluator, pool in their S_* columns
    nxt_claim = np.empty(max_loans, dtype=np.int64)
    nxt_dispose = np.empty(max_loans, dtype=np.int64)
    nxt_write_off = np.empty(max_loans, dtype=np.int64)
    in_npl = np.empty(max_loans, dtype=np.bool_)  # counted in its county's NPL (not yet disposed or written off)
    q_next = np.empty(3 * max_loans, dtype=np.int64)
    heads = np.empty((10, horizon), dtype=np.int64)  # head and tail rows: defaults, claims, disposals, write-offs, register maturities
    n_reg = len(book_term)  # a register's loans are a path's first loans (docs/model.md section 4.8)
    nxt_mature = np.empty(max_loans, dtype=np.int64)
    month_start = np.empty(horizon + 2, dtype=np.int64)
    months_from = np.arange(-1, horizon + 1)  # loan ids of month m start at the first orig >= m
    bal = np.empty(n_acc)  # per deposit, as the next five
    q_head = np.empty(n_acc, dtype=np.int64)
    q_tail = np.empty(n_acc, dtype=np.int64)
    cum_in = np.empty(n_acc)
    below_since = np.empty(n_acc, dtype=np.int64)  # year a restoring deposit was first found below target, -1
    node_bal = np.empty(n_nodes)  # a fund's balance at the month end: its deposits', in bank order
    accepted = np.empty(n_nodes)  # what each node accepted this calendar year (its annual cap)
    def_c = np.empty(n_counties)  # EAD defaulted per county so far (the yearly indicators)
    seen = np.empty((n_nodes, 4))  # a node's paid, clawback, defaulted, originated at the last year end
    asked = np.empty(n_acc)  # everything each deposit was asked to pay (summed: the fund's N_DUE)
    required = np.empty(n_acc)  # the largest gap between what was due and what came in
    orig_c = np.empty(n_counties)  # principal originated per county
    npl_c = np.empty(n_counties)
    # loans in default per county: at 0 npl_c is reset to exactly 0, so that rounding residue
    # of additions and subtractions never looks like a non-performing ratio
    npl_n = np.empty(n_counties, dtype=np.int64)
    # the counties with loans in default (npl_n > 0), in no particular order, and their places
    active = np.empty(n_counties, dtype=np.int64)
    active_at = np.empty(n_counties, dtype=np.int64)
    stop_until = np.empty(n_counties, dtype=np.int64)
    merged = np.empty(3)
    # banks: outstanding, loans in default (EAD, count), end of a stop, money backing their claims
    out_b = np.empty(n_banks)
    npl_b = np.empty(n_banks)
    npl_nb = np.empty(n_banks, dtype=np.int64)
    stop_b = np.empty(n_banks, dtype=np.int64)
    money_b = np.empty(n_banks)

    for b in run_paths:
        lo = path_start[b]
        n = path_start[b + 1] - lo
        pth = out_paths[b]
        nst = out_nodes[b]
        cst = out_counties[b]
        obk = out_banks[b]
        obk[:, B_FIRST] = -1.0
        out_b[:] = 0.0
        npl_b[:] = 0.0
        npl_nb[:] = 0
        stop_b[:] = 0
        heads[:] = -1
        bal[:] = dep_initial
        q_head[:] = -1
        q_tail[:] = -1
        cum_in[:] = 0.0
        below_since[:] = -1
        def_c[:] = 0.0
        seen[:] = 0.0
        out[:] = 0.0
        asked[:] = 0.0
        required[:] = 0.0
        orig_c[:] = 0.0
        npl_c[:] = 0.0
        npl_n[:] = 0
        n_active = 0
        stop_until[:] = 0
        nst[:, N_FIRST] = -1.0
        n_rec = 0
        n_book = 0
        booked[0] = 0
        fate = np.searchsorted(defaulted, lo)  # the path's first defaulting candidate
        out_total = 0.0
        pool = 0.0  # the borrowers' first-loss pool
        out_g = 0.0
        out_i = 0.0
        fees = 0.0
        premiums = 0.0
        g_paid = 0.0
        i_paid = 0.0
        peak = 0.0
        originated = 0.0
        n_originated = 0

        # candidates of month m are local loans month_start[m + 1] .. month_start[m + 2] - 1
        month_start[:] = np.searchsorted(orig[lo : lo + n], months_from)

        for m in range(-1, horizon):
            if m >= 0:
                # 1. interest on the opening balance, top-ups, fees and premiums
                _inflows(m, monthly_interest, dep_topup, bal, cum_in, dep_tier, out_budget[b, m // 12],
                         restore, target, target_ratio, budget, restore_years, below_since, out, out_total,
                         dep_covers, total)
                if m % 12 == 0:
                    accepted[:] = 0.0
                fees += g_fee * (out_total if fees_on_total else out_g)
                premiums += i_premium * (out_total if premiums_on_total else out_i)

                # 2. clawbacks of disposals due this month
                r = heads[2 * DISPOSALS, m]
                while r >= 0:
                    g = rec_loan[r]
                    c = county[g]
                    amount = size[g] * recovery[rec_fate[r]] * keep
                    recovered[r] = amount
                    pth[P_RECOVERED] += amount
                    kb = bank[g] if has_banks else 0
                    if in_npl[r]:
                        in_npl[r] = False
                        n_active = _leave_npl(c, size[g], npl_c, npl_n, active, active_at, n_active)
                        if has_banks:
                            _leave_bank_npl(kb, size[g], npl_b, npl_nb)
                    if not net_first[r]:
                        frac = amount / size[g]
                        for s in range(3):
                            share = assigned[r, s] * frac
                            if share > 0.0:
                                j = county_fund[c, s]
                                a = j * nd + (kb if nd > 1 else 0)
                                cut = min(share, queued[r, s])
                                queued[r, s] -= cut
                                bal[a] += share - cut
                                nst[j, N_CLAW] += share - cut
                                cum_in[a] += share
                                if has_banks:
                                    obk[kb, B_FUND_PAID] -= share - cut
                        for s in range(1, 5):
                            party[r, s] -= party[r, s] * frac
                        if pool_rate > 0.0:  # the pool's share goes back into it
                            back = party[r, S_POOL] * frac
                            party[r, S_POOL] -= back
                            pool += back
                    r = nxt_dispose[r]
                r = heads[2 * WRITE_OFFS, m]  # then write-offs: the loan leaves the NPL undisposed
                while r >= 0:
                    in_npl[r] = False
                    g = rec_loan[r]
                    n_active = _leave_npl(county[g], size[g], npl_c, npl_n, active, active_at, n_active)
                    if has_banks:
                        _leave_bank_npl(bank[g], size[g], npl_b, npl_nb)
                    r = nxt_write_off[r]

                # 3. queued claims, oldest first, from each deposit's balance (fund, then bank)
                _pay_queues(bal, q_head, q_next, queued, nst, nd, has_banks, bank, rec_loan, obk)

                # 4. defaults: the loan leaves the performing book and gets a record
                i = heads[2 * DEFAULTS, m]
                while i >= 0:
                    g = lo + i
                    c = county[g]
                    x = size[g]
                    out_total, out_g, out_i = _leave_book(x, c, covers[loan_row[i]], one_cover, city_of, out,
                                                          out_total, out_g, out_i)
                    # a register's defaulted loan (docs/model.md section 4.8): defaulted k months
                    # before month 0, perhaps already compensated (paid_before) or disposed
                    reg = i < n_reg
                    k = book_since[i] if reg else 0
                    paid_before = book_paid[i] if reg else 0.0
                    recovered_before = book_recovered[i] if reg else 0.0
                    wo = write_off - k
                    npl_in = recovered_before == 0.0 and not (write_off > 0 and wo <= 0)
                    if npl_in:
                        if npl_n[c] == 0:
                            active[n_active] = c
                            active_at[c] = n_active
                            n_active += 1
                        npl_c[c] += x
                        npl_n[c] += 1
                    def_c[c] += x
                    if has_banks:
                        kb = bank[g]
                        out_b[kb] -= x
                        if npl_in:
                            npl_b[kb] += x
                            npl_nb[kb] += 1
                        obk[kb, B_DEF_EAD] += x
                        obk[kb, B_N_DEF] += 1
                    pth[P_DEF_EAD] += x
                    pth[P_N_DEF] += 1
                    r = n_rec
                    n_rec += 1
                    rec_loan[r] = g
                    rec_fate[r] = loan_fate[i]
                    rec_row[r] = loan_row[i]
                    claimed[r] = False
                    in_npl[r] = npl_in
                    recovered[r] = 0.0
                    for s in range(3):
                        assigned[r, s] = 0.0
                        queued[r, s] = 0.0
                    for s in range(6):
                        party[r, s] = 0.0
                    dispose = m + delay[rec_fate[r]]
                    due = m + max(0, lag - k)
                    if recovered_before > 0.0:  # disposed before month 0: a claim is on the net loss
                        net_first[r] = True
                        recovered[r] = recovered_before
                    elif paid_before > 0.0:  # paid on the gross loss: its recovery is clawed back
                        net_first[r] = False
                    else:
                        net_first[r] = basis == NET_LOSS or dispose <= due
                        if net_first[r]:
                            due = max(due, dispose)
                    if dispose < horizon:
                        _push(heads, DISPOSALS, nxt_dispose, dispose, r)
                    if write_off > 0 and npl_in and m + wo < min(dispose, horizon):
                        _push(heads, WRITE_OFFS, nxt_write_off, m + wo, r)
                    if paid_before > 0.0:  # compensated before month 0: no claim, but its clawbacks
                        claimed[r] = True
                        _paid_before(paid_before, c, tier_split, route, merged, assigned, r)
                    elif due < horizon:
                        _push(heads, CLAIMS, nxt_claim, due, r)
                    i = nxt_loan[i]

                # 5. new claims, by default month then loan id
                r = heads[2 * CLAIMS, m]
                while r >= 0:
                    g = rec_loan[r]
                    c = county[g]
                    claimed[r] = True
                    loss = size[g] - recovered[r] if net_first[r] else size[g]
                    shared = loss  # after the first-loss layers: the borrowers' pool, the bank's slice
                    if pool_rate > 0.0:
                        paid_by_pool = min(pool, shared)
                        pool -= paid_by_pool
                        party[r, S_POOL] += paid_by_pool
                        shared -= paid_by_pool
                    slice_ = 0.0
                    if first_loss > 0.0:
                        slice_ = min(shared, first_loss * size[g])
                        shared -= slice_
                    base = ip_share[c] * shared
                    if max_covered > 0.0 and size[g] > max_covered:  # only the first max_covered yuan are covered
                        base *= max_covered / size[g]
                    row = rec_row[r]
                    to_bank = shared - base + shares[row, S_BANK] * base
                    if slice_ > 0.0:
                        to_bank += slice_
                    fund_part = shares[row, S_FUND] * base
                    if cap > 0.0 and fund_part > cap:
                        to_bank += fund_part - cap
                        pth[P_CAPPED] += fund_part - cap
                        fund_part = cap
                    if cap_share < 1.0 and fund_part > cap_share * loss:  # all tiers together
                        to_bank += fund_part - cap_share * loss
                        pth[P_CAPPED] += fund_part - cap_share * loss
                        fund_part = cap_share * loss
                    want = shares[row, S_GUAR] * base
                    pay = min(want, max(g_capital + fees - g_paid, 0.0))
                    g_paid += pay
                    party[r, S_GUAR] += pay
                    if want - pay > TOLERANCE:
                        pth[P_G_EXHAUSTED] = 1.0
                    to_bank += want - pay
                    want = shares[row, S_INS] * base
                    pay = min(want, max(i_cap * premiums - i_paid, 0.0))
                    i_paid += pay
                    party[r, S_INS] += pay
                    to_bank += want - pay
                    party[r, S_EVAL] += shares[row, S_EVAL] * base
                    merged[:] = 0.0
                    for s in range(3):
                        part = fund_part * tier_split[c, s]
                        if route[c, s] == BANK:
                            to_bank += part
                        else:
                            merged[route[c, s]] += part
                    kb = bank[g] if has_banks else 0
                    to_bank = _pay_tier_parts(to_bank, r, c, m, policy, merged, county_fund, overflow, asked, bal, nst,
                                              assigned, queued, q_head, q_tail, q_next, annual_cap, accepted, pth,
                                              nd, kb, has_banks, obk)
                    party[r, S_BANK] += to_bank
                    r = nxt_claim[r]

                # 6. maturities: the register's performing loans whose term ends (the lowest loan ids),
                # then performing loans originated `tenor` months ago, in loan-id order
                i = heads[2 * BOOK_MATURITIES, m]
                while i >= 0:
                    g = lo + i
                    x = size[g]
                    out_total, out_g, out_i = _leave_book(x, county[g], covers[loan_row[i]], one_cover, city_of, out,
                                                          out_total, out_g, out_i)
                    if has_banks:
                        out_b[bank[g]] -= x
                    i = nxt_mature[i]
                out_total, out_g, out_i = _mature(m, tenors, tenor, booked, book_size, book_county, book_cover, one_cover,
                                                  city_of, out, out_total, out_g, out_i, book_bank, out_b)

            # 7. originations: circuit breaker first, then candidates in loan-id order
            if m >= 0 and (breaker > 0.0 or warning > 0.0):
                _watch_npl(m, breaker, warning, breaker_months, active, n_active, npl_c, out, stop_until, cst)
            if m >= 0 and has_banks:
                _watch_banks(m, bank_breaker, bank_breaker_months, npl_b, npl_nb, out_b, stop_b, obk)
            total_bal = 0.0
            for a in range(n_acc):
                total_bal += bal[a]
            for kb in range(n_banks):  # the money backing each bank's claims (its own leverage cap)
                if nd > 1:
                    money_b[kb] = 0.0
                    for j in range(n_nodes):
                        money_b[kb] += bal[j * nd + kb]
                else:
                    money_b[kb] = bank_weight[kb] * total_bal
            # Initial loans (m = -1) are exempt from the origination rules. First the candidates
            # that pass the rules that do not depend on the book, without a branch per candidate
            # (its outcome would be hard to predict), then the leverage cap, in loan-id order.
            now = max(m, 0)
            lim_size = max_loan if max_loan > 0.0 and m >= 0 else np.inf
            lim_total = leverage * total_bal + TOLERANCE if leverage > 0.0 and scope == PROVINCE_SCOPE else np.inf
            n_pass = 0
            for i in range(month_start[m + 1], month_start[m + 2]):
                g = np.uint64(lo + i)  # unsigned indices skip numba's test for negative ones
                passing[n_pass] = i
                n_pass += (stop_until[np.uint64(county[g])] <= now) & (size[g] <= lim_size)
            n_new = 0
            for e in range(n_pass):
                i = passing[e]
                g = np.uint64(lo + i)
                c = np.uint64(county[g])
                x = size[g]
                if m >= 0:
                    if out_total + x > lim_total:
                        continue
                    if leverage > 0.0 and scope == COUNTY_SCOPE:
                        own = county_fund[c, 0]
                        if own < 0:
                            continue
                        own_bal = bal[own * nd]
                        for d in range(1, nd):
                            own_bal += bal[own * nd + d]
                        if out[c] + x > leverage * own_bal + TOLERANCE:
                            continue
                kb = 0
                if has_banks:  # the bank's own rules (docs/model.md section 4.6, rules 4-6)
                    kb = bank[g]
                    if m >= 0:
                        if stop_b[kb] > now:
                            obk[kb, B_SUSPENDED] += 1
                            continue
                        if out_b[kb] + x > bank_credit[kb] + TOLERANCE or (
                                bank_leverage[kb] > 0.0 and out_b[kb] + x > bank_leverage[kb] * money_b[kb] + TOLERANCE):
                            obk[kb, B_REFUSED] += 1
                            continue
                    out_b[kb] += x
                    obk[kb, B_ORIG] += x
                    obk[kb, B_N_ORIG] += 1
                out_total += x
                out[c] += x
                out[city_of[c]] += x
                if n_kinds > 0:  # the loan's product (and whether a first loan)
                    row = kind[g]
                else:  # the first band with size <= max_loan, else the top level (the last row)
                    row = 0
                    while row < n_bands and x > band_max[row]:
                        row += 1
                    if row == n_bands:
                        row = top
                if has_banks and bank_row[kb] >= 0:  # the bank's own shares
                    row = bank_row[kb]
                if pool_rate > 0.0:  # the borrower pays into the first-loss pool
                    pool += pool_rate * x
                    pth[P_POOL_IN] += pool_rate * x
                if not one_cover:
                    out_g, out_i = _covered(covers[row], x, out_g, out_i)
                originated += x
                n_originated += 1
                orig_c[c] += x
                if default_month[g] != NO_DEFAULT:
                    loan_row[i] = row
                    to_default[n_new] = i
                    n_new += 1
                elif i < n_reg:  # a register loan: it matures when its own term ends (step 6)
                    loan_row[i] = row
                    if book_term[i] - 1 < horizon:
                        _push(heads, BOOK_MATURITIES, nxt_mature, book_term[i] - 1, i)
                else:  # performing until it matures (step 6)
                    book_size[n_book] = x
                    book_county[n_book] = c
                    book_cover[n_book] = covers[row]
                    if has_banks:
                        book_bank[n_book] = kb
                    n_book += 1
            booked[m + 2] = n_book
            for k in range(n_new):  # defaults to come, in loan-id order, as are the fates
                i = to_default[k]
                while fate < len(defaulted) and defaulted[fate] < lo + i:
                    fate += 1
                loan_fate[i] = fate
                _push(heads, DEFAULTS, nxt_loan, default_month[lo + i], i)

            if m >= 0:  # month end
                peak = max(peak, out_total)
                out[total] = out_total
                for j in range(n_nodes):
                    node_bal[j] = bal[j * nd]
                    for d in range(1, nd):
                        node_bal[j] += bal[j * nd + d]
                    out_balance[b, m, j] = node_bal[j]
                    out_covered[m, j] += weight[b] * out[covers_out[j]]
                for a in range(n_acc):
                    required[a] = max(required[a], asked[a] - cum_in[a])
                if indicators and m % 12 == 11:
                    _year_end(out_years[m // 12], weight[b], county_fund, def_c, orig_c, npl_c, nst, seen, node_bal,
                              out, covers_out)

        _close_path(n_rec, rec_loan, claimed, net_first, recovered, queued, party, size, county, county_fund,
                    node_bal, orig_c, asked, required, dep_weight, pth, nst, cst, has_banks, bank, obk)
        pth[P_POOL_FINAL] = pool
        pth[P_FEES] = fees
        pth[P_PREMIUMS] = premiums
        pth[P_PEAK] = peak
        pth[P_ORIG] = originated
        pth[P_N_ORIG] = n_originated


@njit(cache=True, inline="always")
def _year_end(row, w, county_fund, def_c, orig_c, npl_c, nst, seen, bal, out, covers_out):  # pragma: no cover
    """A year's figures of every fund, added with the path's weight into ``row`` (nodes, YEAR_COLUMNS):
    flows since the last year end (``seen``), and the stocks now. A node covers the counties below it,
    so each county's figures go to the funds of its chain."""
    stock = np.zeros((len(bal), 3))  # defaulted, originated (cumulative), npl under each node
    for c in range(len(def_c)):
        for s in range(3):
            j = county_fund[c, s]
            if j >= 0:
                stock[j, 0] += def_c[c]
                stock[j, 1] += orig_c[c]
                stock[j, 2] += npl_c[c]
    for j in range(len(bal)):
        row[j, Y_PAID] += w * (nst[j, N_PAID] - seen[j, 0])
        row[j, Y_CLAW] += w * (nst[j, N_CLAW] - seen[j, 1])
        row[j, Y_DEF] += w * (stock[j, 0] - seen[j, 2])
        row[j, Y_ORIG] += w * (stock[j, 1] - seen[j, 3])
        row[j, Y_NPL] += w * stock[j, 2]
        row[j, Y_OUT] += w * out[covers_out[j]]
        row[j, Y_BAL] += w * bal[j]
        seen[j, 0], seen[j, 1], seen[j, 2], seen[j, 3] = nst[j, N_PAID], nst[j, N_CLAW], stock[j, 0], stock[j, 1]


@njit(cache=True, inline="always")
def _leave_npl(c, x, npl_c, npl_n, active, active_at, n_active):  # pragma: no cover - compiled
    """A loan of county c (size x) leaves the county's NPL (disposed or written off); at the
    county's last such loan its NPL is reset to exactly 0 and it leaves the active counties,
    the last of which takes its place. Returns the number of active counties."""
    npl_c[c] -= x
    npl_n[c] -= 1
    if npl_n[c] == 0:
        npl_c[c] = 0.0
        n_active -= 1
        active[active_at[c]] = active[n_active]
        active_at[active[n_active]] = active_at[c]
    return n_active


@njit(cache=True, inline="always")
def _leave_bank_npl(kb, x, npl_b, npl_nb):  # pragma: no cover - compiled
    """A loan of bank kb (size x) leaves the bank's NPL; at its last such loan the NPL is exactly 0."""
    npl_b[kb] -= x
    npl_nb[kb] -= 1
    if npl_nb[kb] == 0:
        npl_b[kb] = 0.0


@njit(cache=True, inline="always")
def _inflows(m, monthly_interest, topups, bal, cum_in, tiers, paid, restore, target, target_ratio, budget,
             restore_years, below_since, out, out_total, covers_out, total):  # pragma: no cover - compiled
    """Step 1 (funds): interest on each opening balance, then in months 12, 24, ... the top-up: the
    fixed one, or what restores the fund towards its target (``paid``: this year's top-ups by tier)."""
    year_start = m % 12 == 0 and m > 0
    for j in range(len(bal)):
        if not restore[j]:
            inflow = bal[j] * monthly_interest
            if year_start:
                inflow += topups[j]
                paid[tiers[j]] += topups[j]
            bal[j] += inflow
            cum_in[j] += inflow
            continue
        interest = bal[j] * monthly_interest
        bal[j] += interest
        cum_in[j] += interest
        if not year_start:
            continue
        covered = out_total if covers_out[j] == total else out[covers_out[j]]
        gap = target[j] + target_ratio[j] * covered - bal[j]
        if gap <= 0.0:
            below_since[j] = -1
            continue
        year = m // 12
        if below_since[j] < 0:
            below_since[j] = year
        left = max(1, restore_years[j] - (year - below_since[j])) if restore_years[j] > 0 else 1
        topup = gap / left
        if budget[j] > 0.0 and topup > budget[j]:
            topup = budget[j]
        bal[j] += topup
        cum_in[j] += topup
        paid[tiers[j]] += topup


@njit(cache=True, inline="always")
def _mature(m, tenors, tenor, booked, book_size, book_county, book_cover, one_cover, city_of, out, out_total, out_g,
            out_i, book_bank, out_b):  # pragma: no cover - compiled
    """Step 6: performing loans originated ``tenor`` months ago leave the book, in loan-id order;
    returns the outstanding totals (all, with guarantee fees, with premiums)."""
    for t in tenors:
        if m - t < -1:
            continue
        for q in range(booked[m - t + 1], booked[m - t + 2]):
            q = np.uint64(q)
            c = np.uint64(book_county[q])
            if tenor[c] != t:
                continue
            x = book_size[q]
            out_total, out_g, out_i = _leave_book(x, c, book_cover[q], one_cover, city_of, out, out_total, out_g, out_i)
            if len(out_b) > 0:
                out_b[book_bank[q]] -= x
    return out_total, out_g, out_i


@njit(cache=True, inline="always")
def _pay_queues(bal, q_head, q_next, queued, nst, nd, has_banks, bank, rec_loan, obk):  # pragma: no cover - compiled
    """Step 3: each deposit (fund by fund, then bank by bank) pays its queue, oldest first, from its
    balance (items cleared by clawbacks are skipped); queue item ``3 r + slot`` is record r's part at
    that slot."""
    for a in range(len(bal)):
        while q_head[a] >= 0 and bal[a] > 0.0:
            item = q_head[a]
            r, s = item // 3, item % 3
            pay = min(bal[a], queued[r, s])
            bal[a] -= pay
            queued[r, s] -= pay
            nst[a // nd, N_PAID] += pay
            if has_banks:
                obk[bank[rec_loan[r]], B_FUND_PAID] += pay
            if queued[r, s] > 0.0:
                break
            q_head[a] = q_next[item]
        while q_head[a] >= 0 and queued[q_head[a] // 3, q_head[a] % 3] <= 0.0:
            q_head[a] = q_next[q_head[a]]  # cleared by clawbacks


@njit(cache=True, inline="always")
def _pay_tier_parts(to_bank, r, c, m, policy, merged, county_fund, overflow, asked, bal, nst, assigned, queued,
                    q_head, q_tail, q_next, annual_cap, accepted, pth, nd, kb, has_banks, obk):  # pragma: no cover - compiled
    """Step 5, for claim record r of county c, on a loan of bank kb: each slot's fund accepts its
    merged parts up to its annual cap (the rest falls to the bank, capped) and pays them from its
    deposit at the bank; a remainder is queued, passed up (PARENT) or lost: returns ``to_bank`` with
    what falls to the bank added (in the order it falls)."""
    dep = kb if nd > 1 else 0
    for first_slot in range(3):
        # slot's fund pays amount; under "parent" what it cannot pay moves up
        slot = first_slot
        amount = merged[slot]
        while amount > 0.0:
            node = county_fund[c, slot]
            if annual_cap[node] > 0.0:
                room = max(annual_cap[node] - accepted[node], 0.0)
                if amount > room:
                    to_bank += amount - room
                    nst[node, N_CAPPED] += amount - room
                    pth[P_CAPPED] += amount - room
                    amount = room
                    if amount <= 0.0:
                        break
                accepted[node] += amount
            a = node * nd + dep
            asked[a] += amount
            pay = min(bal[a], amount)
            bal[a] -= pay
            nst[node, N_PAID] += pay
            assigned[r, slot] += pay
            if has_banks:
                obk[kb, B_FUND_PAID] += pay
            rest = amount - pay
            if rest <= 0.0:
                break
            if rest > TOLERANCE:
                if nst[node, N_FIRST] < 0:
                    nst[node, N_FIRST] = m
                if has_banks and obk[kb, B_FIRST] < 0:
                    obk[kb, B_FIRST] = m
            if policy == QUEUE:  # waits for later inflows
                assigned[r, slot] += rest
                queued[r, slot] += rest
                item = r * 3 + slot
                q_next[item] = -1
                if q_head[a] < 0:
                    q_head[a] = item
                else:
                    q_next[q_tail[a]] = item
                q_tail[a] = item
                break
            if policy == PARENT:  # the next fund up pays at once, before its own part
                up = overflow[c, slot]
                if up == BANK:
                    to_bank += rest
                    break
                slot = up
                amount = rest
                continue
            to_bank += rest  # TO_BANK
            break
    return to_bank


@njit(cache=True, inline="always")
def _watch_npl(m, breaker, warning, breaker_months, active, n_active, npl_c, out, stop_until, cst):  # pragma: no cover
    """Step 7a: the NPL warning and the circuit breaker of each county with loans in default (the
    first ``n_active`` of ``active``; a county without any has ratio 0); a stopped county is not
    evaluated again until the stop ends."""
    for a in range(n_active):
        c = active[a]
        ratio = npl_c[c] / (npl_c[c] + out[c])
        if warning > 0.0 and ratio > warning:
            cst[c, C_WARN] += 1
        if breaker > 0.0 and stop_until[c] <= m and ratio > breaker:
            stop_until[c] = m + breaker_months
            cst[c, C_TRIPS] += 1


@njit(cache=True, inline="always")
def _watch_banks(m, threshold, months, npl_b, npl_nb, out_b, stop_b, obk):  # pragma: no cover - compiled
    """Step 7a, after the counties: each bank with a breaker of its own, in file order, stops
    lending when its NPL ratio passes the threshold (docs/model.md section 4.6)."""
    for kb in range(len(threshold)):
        if threshold[kb] <= 0.0 or stop_b[kb] > m or npl_nb[kb] == 0:
            continue
        if npl_b[kb] / (npl_b[kb] + out_b[kb]) > threshold[kb]:
            stop_b[kb] = m + months[kb]
            obk[kb, B_TRIPS] += 1


@njit(cache=True, inline="always")
def _close_path(n_rec, rec_loan, claimed, net_first, recovered, queued, party, size, county, county_fund, node_bal,
                orig_c, asked, required, dep_weight, pth, nst, cst, has_banks, bank, obk):  # pragma: no cover
    """The horizon: claims not yet due are borne by the bank, queued claims stay unpaid; then the
    path's per-party losses (and each bank's), each node's net payout, final balance, what was
    asked of it and its required capital (the largest of its deposits', scaled to the whole
    fund), per-county lending."""
    for r in range(n_rec):
        g = rec_loan[r]
        if not claimed[r]:
            party[r, S_BANK] += size[g] - (recovered[r] if net_first[r] else 0.0)
        for s in range(3):
            if queued[r, s] > 0.0:
                j = county_fund[county[g], s]
                nst[j, N_UNPAID] += queued[r, s]
                pth[P_UNPAID] += queued[r, s]
                if has_banks:
                    obk[bank[g], B_UNPAID] += queued[r, s]
        if has_banks:
            obk[bank[g], B_L_BANK] += party[r, S_BANK]
        pth[P_L_BANK] += party[r, S_BANK]
        pth[P_L_GUAR] += party[r, S_GUAR]
        pth[P_L_INS] += party[r, S_INS]
        pth[P_L_EVAL] += party[r, S_EVAL]
        pth[P_L_POOL] += party[r, S_POOL]
    nd = len(dep_weight)
    for j in range(len(node_bal)):
        nst[j, N_PAYOUT] = nst[j, N_PAID] - nst[j, N_CLAW]
        nst[j, N_FINAL] = node_bal[j]
        pth[P_L_FUND] += nst[j, N_PAYOUT]
        nst[j, N_DUE] = asked[j * nd]
        nst[j, N_REQUIRED] = required[j * nd] / dep_weight[0]
        for d in range(1, nd):
            nst[j, N_DUE] += asked[j * nd + d]
            nst[j, N_REQUIRED] = max(nst[j, N_REQUIRED], required[j * nd + d] / dep_weight[d])
    cst[:, C_ORIG] = orig_c
