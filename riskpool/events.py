"""The event engine: one path at a time, as a SimPy discrete-event model, with a full event log.

This is riskpool's *second* engine. It re-implements the rules of docs/model.md sections 4-5 (and
its design choices) independently of ``ledger.py`` (never imported here), from the same
sampled fates (``fates.sample_block``), so that each engine checks the other. It is slow and
explicit; ``riskpool trace`` writes its log.

Actors are SimPy processes:

- each **fund** (interest and top-up at the inflows step, then paying its queue at the
  queued-claims step), and the **guarantor and insurer** earning fees and premiums;
- each **county's origination desk** (initial loans in month -1, then its candidates in loan-id
  order) with the **circuit breaker** looking at every county's book first (then every bank's
  own breaker at its loans);
- each originated **loan** (default or maturity), whose default starts the **bank's claim**
  (filed after the lag) and the **disposal agency** (selling the IP, then the clawback);
- the **book-keeper** recording month-end balances, the peak book and the required-capital gap.

**Order within a month.** SimPy runs events by time, so each action is scheduled at an exact
integer time stamp that encodes the order of docs/model.md section 5.0::

    time = ((month + 1) * N_PHASES + phase) * R + rank

with the phases INFLOWS, CLAWBACKS, QUEUED_CLAIMS, DEFAULTS, CLAIMS, MATURITIES, ORIGINATIONS, MONTH_END
and, within a phase, ``rank`` the tie-break the specification asks for: the fund's file order
(inflows, queues), the loan id (defaults, maturities, originations, after the breaker's rank 0),
or ``default month x n + loan id`` (clawbacks and claims: by default month, then loan id).
Month -1 is the ORIGINATIONS phase that books the initial loans.

Money is unrounded float64 yuan; every move of a fund's money is a row of the log.

**Banks** (docs/model.md sections 4.6 and 5.9). With ``[[banks]]`` each candidate has its bank
(a fate); the bank's own shares, if any, replace the others for its loans, and its breaker, credit
line and leverage are origination rules 4-6. A fund's money lies in *deposits*: one per fund
(pooled, the default; every fund figure is then as without banks), or one per fund and bank
under ``rules.deposits = "per_bank"``, ``d = fund x banks + bank``. Each deposit has its own
balance, interest, top-up, queue and required-capital gap; a tier part of a claim is paid from
the deposit at the loan's bank; a fund's figures are those of its deposits added up (its annual
cap is on them together). ``PathTrace.banks`` holds each bank's figures (``BANK_COLUMNS``).

**The log** (``PathTrace.events``, columns ``EVENT_COLUMNS``; ``loan`` is the loan id within the
path, -1 / empty when none). Rows with a ``node`` move that fund's money: ``amount`` is signed
(+ into the node, - out of it) and ``balance`` is the node's balance after the row, so summing
``amount`` per node in row order replays every balance. Under per-bank deposits the node is a
deposit, named ``<fund id>@<bank id>`` (``PathTrace.deposit_ids``), and a fund's balance is the
sum of its deposits' in bank order:

- ``open`` (month -1, the initial balance), ``interest``, ``topup``;
- ``claim`` (paid at the claim), ``queue_pay`` (paid from the queue), ``clawback`` (inflow).

Rows without a node (``balance`` NaN) record what moves no fund's money:

- ``originate``, ``default``, ``mature`` (amount = size), ``dispose`` (amount recovered);
- ``fee`` (party guarantor), ``premium`` (party insurer): earned this month;
- ``claim`` with ``party`` bank / guarantor / insurer / evaluator: minus what it bears;
  ``clawback`` with such a party: what it gets back; ``recovery`` (party bank): a recovery
  before the claim (net first); ``horizon`` (party bank): a claim not due by month T-1;
- ``queued``, ``pass_up``, ``to_bank`` with ``party`` = a fund's id (a deposit's name under
  per-bank deposits): the remainder it could not pay (queued, passed to its parent, lost to the
  bank); ``cancel``: a clawback share that cancelled that fund's (deposit's) queued amount;
  ``capped`` with a fund's id: what its annual cap sent to the bank;
- ``breaker`` with ``party`` = a county's id, or a bank's id for a bank's own breaker, ``amount``
  = its non-performing EAD (yuan) and ``npl_ratio`` = its non-performing ratio, the one column
  that is not money;
- ``suspended`` / ``refused`` with ``party`` = a bank's id (amount = size): a candidate dropped
  because its bank was stopped by its breaker / by its credit line or leverage.

docs/auditing.md section 6 lists every event with the meaning of each column.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from .fates import NO_DEFAULT, Fates
from .structure import (
    NET_LOSS,
    PARENT,
    PROVINCE_SCOPE,
    QUEUE,
    TOLERANCE,
    Structure,
)

INFLOWS, CLAWBACKS, QUEUED_CLAIMS, DEFAULTS, CLAIMS, MATURITIES, ORIGINATIONS, MONTH_END = range(8)
N_PHASES = 8
FUND, BANK, GUARANTOR, INSURER, EVALUATOR, POOL = range(6)  # scenario.PARTIES order, then the borrowers' pool
PARTY_NAMES = ("fund", "bank", "guarantor", "insurer", "evaluator", "pool")
EVENT_COLUMNS = ("month", "event", "loan", "node", "party", "amount", "balance", "npl_ratio")
# every event of the log (docs/auditing.md section 6 gives the meaning of each column for each)
EVENTS = ("open", "interest", "topup", "fee", "premium", "dispose", "recovery", "clawback", "cancel", "write_off",
          "queue_pay", "default", "claim", "capped", "queued", "pass_up", "to_bank", "mature", "breaker", "originate",
          "pool_in", "horizon", "suspended", "refused")
# a bank's figures of a path (docs/model.md section 6.11), the columns of PathTrace.banks; first_shortfall_month -1 = none
BANK_COLUMNS = ("originated", "n_originated", "defaulted_ead", "n_defaults", "loss_bank", "fund_paid", "unpaid",
                "first_shortfall_month", "breaker_trips", "suspended", "refused")
(B_ORIG, B_N_ORIG, B_DEF_EAD, B_N_DEF, B_L_BANK, B_FUND_PAID, B_UNPAID, B_FIRST, B_TRIPS, B_SUSPENDED,
 B_REFUSED) = range(len(BANK_COLUMNS))


@dataclass
class PathTrace:
    """The event log and the outcomes of one path (names as in docs/model.md section 6)."""

    node_ids: tuple[str, ...]
    county_ids: tuple[str, ...]
    events: list[tuple] = field(default_factory=list)  # rows of EVENT_COLUMNS
    balance: np.ndarray = None  # (months, nodes) month-end balances (the sum of each fund's deposits, in bank order)
    # the deposits, fund-major then bank (one per fund, named as the fund, unless rules.deposits = "per_bank")
    deposit_ids: tuple[str, ...] = ()  # the ``node`` of the log's rows that move a deposit's money
    deposit_fund: tuple[int, ...] = ()  # the fund of each deposit
    deposit_balance: np.ndarray = None  # (months, deposits) month-end balances
    bank_ids: tuple[str, ...] = ()
    banks: np.ndarray = None  # (banks, len(BANK_COLUMNS)) each bank's figures; (0, 11) without banks
    # per node
    first_shortfall_month: np.ndarray = None  # int, -1 none
    payout_net: np.ndarray = None
    unpaid: np.ndarray = None
    required_capital: np.ndarray = None
    final_balance: np.ndarray = None
    paid: np.ndarray = None  # paid from the balance, at claims and from the queue
    clawback: np.ndarray = None  # clawbacks paid into the balance
    due: np.ndarray = None  # everything the node was asked to pay
    # per county
    npl_warning_months: np.ndarray = None
    breaker_trips: np.ndarray = None
    county_originated: np.ndarray = None
    # per path
    originated: float = 0.0
    defaulted_ead: float = 0.0
    recovered: float = 0.0
    unpaid_total: float = 0.0
    loss_fund: float = 0.0
    loss_bank: float = 0.0
    loss_guarantor: float = 0.0
    loss_insurer: float = 0.0
    loss_evaluator: float = 0.0
    loss_pool: float = 0.0  # what the borrowers' first-loss pool paid, net of clawbacks
    pool_in: float = 0.0  # what the borrowers paid into it
    pool_final: float = 0.0  # its balance at the horizon
    fees: float = 0.0
    premiums: float = 0.0
    peak_outstanding: float = 0.0
    n_originated: int = 0
    n_defaults: int = 0
    guarantor_exhausted: bool = False
    capped_total: float = 0.0  # what the caps sent to the bank (the ``capped`` column)
    capped: np.ndarray = None  # per node: what its annual cap sent to the bank
    budget: np.ndarray = None  # (years, 3 tier slots): top-ups paid at the start of each year
    years: np.ndarray = None  # (years, nodes, 7): each fund's year (with the indicators on; ledger.YEAR_COLUMNS)
    simpy_events: int = 0  # SimPy events processed (for speed figures)

    def path_value(self, name: str) -> float:
        """A per-path figure by its ``paths.parquet`` column name."""
        totals = {"unpaid": self.unpaid_total, "capped": self.capped_total}
        return float(totals[name] if name in totals else getattr(self, name))


class _QueueItem:
    __slots__ = ("claim_month", "default_month", "loan", "remaining")

    def __init__(self, remaining: float, claim_month: int, default_month: int, loan: int):
        self.remaining = remaining
        self.claim_month = claim_month
        self.default_month = default_month
        self.loan = loan


class _Loan:
    __slots__ = (
        "assigned",
        "bank",
        "claim_month",
        "claimed",
        "county",
        "default_month",
        "delay",
        "disposal_month",
        "fund_paid",
        "fund_queued",
        "guaranteed",
        "id",
        "insured",
        "in_npl",
        "net_first",
        "orig",
        "recovered",
        "recovery",
        "shares",
        "size",
        "term",
        "since",
        "paid_before",
        "recovered_before",
    )

    def __init__(self, lid, county, orig, size, default_month, recovery, delay, shares, bank):
        self.id, self.county, self.orig, self.size = lid, county, orig, size
        self.bank = bank  # the lending bank (Structure.banks order), -1 without banks
        self.default_month, self.recovery, self.delay, self.shares = default_month, recovery, delay, shares
        self.guaranteed = shares[GUARANTOR] > 0
        self.insured = shares[INSURER] > 0
        self.net_first = False
        self.claim_month = self.disposal_month = -1
        self.recovered = 0.0  # recovered before the claim (net first)
        self.assigned = [0.0] * 6  # bank, guarantor, insurer, evaluator, pool (index FUND unused)
        self.fund_paid: dict[int, float] = {}  # node -> paid from its balance (its deposit at the loan's bank)
        self.fund_queued: dict[int, _QueueItem] = {}  # node -> its (deposit's) queue item for this loan
        self.claimed = False
        self.in_npl = False
        # a register's loan (docs/model.md section 4.8): its own term, months since its default,
        # what the funds paid and its disposal recovered before month 0; term 0 = its county's tenor
        self.term = self.since = 0
        self.paid_before = self.recovered_before = 0.0


class _PathModel:
    """The actors and the state of one path."""

    def __init__(self, st: Structure, fates: Fates, k: int):
        self.st = st
        self.T = T = st.horizon_months
        lo, hi = int(fates.path_start[k]), int(fates.path_start[k + 1])
        self.n_loans = n = hi - lo
        # ranks per phase: disposals, then write-offs, each by default month and loan id
        self.R = 2 * (T + 2) * (n + 1) + st.n_nodes + 2
        rules = st.rules
        self.basis = rules.basis
        self.lag = rules.claim_lag
        self.cap = rules.per_loan_cap
        self.max_loan = rules.max_loan
        self.policy = rules.shortfall
        self.leverage = rules.leverage
        self.scope = rules.scope
        self.breaker = rules.breaker
        self.warning = rules.warning
        self.breaker_months = rules.breaker_months
        self.rate = rules.interest_rate
        self.g_capital, self.g_fee = rules.g_capital, rules.g_fee_rate
        self.i_premium, self.i_cap = rules.i_premium_rate, rules.i_loss_ratio_cap
        self.cost = rules.disposal_cost
        self.max_covered, self.cap_share, self.write_off = rules.max_covered, rules.fund_cap_share, rules.write_off

        # candidate loans of the path, by loan id
        defaulted = fates.defaulted
        self.loans: list[_Loan] = []
        for lid in range(n):
            i = lo + lid
            d = int(fates.default_month[i])
            rec, delay = 0.0, 0
            if d != NO_DEFAULT:
                j = int(np.searchsorted(defaulted, i))
                rec, delay = float(fates.recovery[j]), int(fates.delay[j])
            size = float(fates.size[i])
            kind = None if fates.kind is None else int(fates.kind[i])
            bank = -1 if fates.bank is None else int(fates.bank[i])
            self.loans.append(_Loan(lid, int(fates.county[i]), int(fates.orig[i]), size, d, rec, delay,
                                    self._shares(size, kind, bank), bank))
        if st.book is not None:  # the register's loans are the path's first loans, in its order
            for lid in range(st.book.n):
                loan = self.loans[lid]
                loan.term, loan.since = int(st.book.term[lid]), int(st.book.since[lid])
                loan.paid_before, loan.recovered_before = float(st.book.paid[lid]), float(st.book.recovered[lid])

        nn, nc = st.n_nodes, st.n_counties
        # the funds' money lies in deposits, d = j * nd + b: one per fund (pooled), or one per fund
        # and bank (rules.deposits = "per_bank", docs/model.md section 5.9), each with weight w_b
        bk = st.banks
        self.nb = bk.n
        self.per_bank = bool(bk.per_bank)
        self.nd = nd = bk.n_deposits
        self.w = [float(x) for x in bk.deposit_weight]
        self.dep_ids = tuple(f"{nid}@{bid}" for nid in st.node_ids for bid in bk.ids) if self.per_bank \
            else tuple(st.node_ids)
        n_dep = nn * nd
        self.balance = [float(st.node_initial[j]) * self.w[b] for j in range(nn) for b in range(nd)]
        self.queue: list[list[_QueueItem]] = [[] for _ in range(n_dep)]  # per deposit
        self.paid = [0.0] * nn  # per fund
        self.claw_in = [0.0] * nn
        self.due = [0.0] * nn
        self.dep_due = [0.0] * n_dep  # what each deposit was asked (required capital)
        self.inflow = [0.0] * n_dep  # interest + top-ups + full clawback shares (required capital)
        self.gap = [0.0] * n_dep
        self.first_short = [-1] * nn
        self.below_since = [-1] * n_dep  # the year a restoring deposit was first found below its target
        self.budget = np.zeros((T // 12, 3))  # top-ups paid at the start of each year, by tier slot
        self.capped = [0.0] * nn  # what each node's annual cap sent to the bank
        self.year_accepted = [0.0] * nn  # what each node accepted in the calendar year accept_year
        self.accept_year = 0
        self.month_end = np.zeros((T, nn))
        self.dep_month_end = np.zeros((T, n_dep))
        # the banks: their books, breakers and figures (docs/model.md sections 4.6, 5.9, 6.11)
        nb = self.nb
        self.bank_out = [0.0] * nb
        self.bank_npl = [0.0] * nb
        self.bank_npl_count = [0] * nb
        self.bank_stop_end = [-1] * nb  # stopped in months < bank_stop_end
        self.bank_fig = np.zeros((nb, len(BANK_COLUMNS)))
        self.bank_fig[:, B_FIRST] = -1
        # the book
        self.outstanding = 0.0
        self.county_out = [0.0] * nc
        self.out_guaranteed = 0.0
        self.out_insured = 0.0
        self.npl = [0.0] * nc
        self.npl_count = [0] * nc
        self.stop_end = [-1] * nc  # stopped in months < stop_end
        self.warn_months = [0] * nc
        self.trips = [0] * nc
        self.county_orig = [0.0] * nc
        self.county_def = [0.0] * nc  # EAD defaulted per county so far
        self.year_seen = [(0.0, 0.0, 0.0, 0.0)] * st.n_nodes  # paid, clawback, defaulted, originated at the last year end
        self.years = np.zeros((T // 12, st.n_nodes, 7))  # ledger.YEAR_COLUMNS
        # parties and path totals
        self.fees = self.premiums = 0.0
        self.g_paid = self.i_paid = 0.0
        self.loss = [0.0] * 6
        self.pool = self.pool_in = 0.0  # the borrowers' first-loss pool and what was paid into it
        self.originated = self.defaulted_ead = self.recovered = self.peak = 0.0
        self.n_originated = self.n_defaults = 0
        self.g_exhausted = False
        self.capped_total = 0.0  # everything the caps sent to the bank
        self.pending_claims: set[int] = set()
        self.log: list[tuple] = []
        self.env = simpy.Environment(initial_time=0)

    # ------------------------------------------------------------------ helpers

    def at(self, month: int, phase: int, rank: int = 0) -> int:
        return ((month + 1) * N_PHASES + phase) * self.R + rank

    def wait_until(self, month: int, phase: int, rank: int = 0):
        return self.env.timeout(self.at(month, phase, rank) - self.env.now)

    def _shares(self, size: float, kind: int | None, bank: int = -1) -> tuple[float, ...]:
        """The five shares of a loan: its bank's own, else its product's (first loan or not), else
        its size band's."""
        st = self.st
        if bank >= 0 and int(st.banks.row[bank]) >= 0:
            return tuple(float(x) for x in st.shares[int(st.banks.row[bank])])
        if kind is not None:
            return tuple(float(x) for x in st.shares[kind])
        for b, limit in enumerate(st.band_max):
            if size <= limit:
                return tuple(float(x) for x in st.shares[b])
        return tuple(float(x) for x in st.shares[-1])

    def row(self, month, event, loan=-1, node=-1, party="", amount=0.0, npl_ratio=math.nan):
        """A row of the log; ``node`` is a deposit (the fund itself unless deposits are per bank)."""
        bal = self.balance[node] if node >= 0 else math.nan
        nid = self.dep_ids[node] if node >= 0 else ""
        self.log.append((month, event, loan, nid, party, amount, bal, npl_ratio))

    def node_move(self, month, event, loan, node, amount):
        """Money into (+) or out of (-) a deposit's balance, with its log row."""
        self.balance[node] += amount
        self.row(month, event, loan, node, "", amount)

    def deposit(self, j: int, loan: _Loan) -> int:
        """The deposit of fund j that backs the loan: at the loan's bank under per-bank deposits."""
        return j * self.nd + (loan.bank if self.per_bank else 0)

    def fund_balance(self, j: int) -> float:
        """A fund's balance: the sum of its deposits, in bank order."""
        total = 0.0
        for d in range(j * self.nd, (j + 1) * self.nd):
            total += self.balance[d]
        return total

    def claim_rank(self, loan: _Loan) -> int:
        return loan.default_month * (self.n_loans + 1) + loan.id

    # ------------------------------------------------------------------ actors

    def fund(self, j: int):
        """A fund: interest on the opening balance and the annual top-up, then its queue; deposit by
        deposit (in bank order) under per-bank deposits."""
        topup = float(self.st.node_topup[j])
        deposits = range(j * self.nd, (j + 1) * self.nd)
        for m in range(self.T):
            yield self.wait_until(m, INFLOWS, j)
            for b, d in enumerate(deposits):
                if self.rate > 0:
                    interest = self.balance[d] * self.rate / 12.0
                    self.inflow[d] += interest
                    self.node_move(m, "interest", -1, d, interest)
                if m > 0 and m % 12 == 0:
                    amount = self.restoring_topup(j, b, m) if self.st.node_restore[j] else topup * self.w[b]
                    self.budget[m // 12][int(self.st.node_tier[j])] += amount
                    if amount > 0:
                        self.inflow[d] += amount
                        self.node_move(m, "topup", -1, d, amount)
            yield self.wait_until(m, QUEUED_CLAIMS, j)
            for d in deposits:
                q = self.queue[d]
                while q and self.balance[d] > 0:
                    item = q[0]
                    pay = min(self.balance[d], item.remaining)
                    item.remaining -= pay
                    self.paid[j] += pay
                    loan = self.loans[item.loan]
                    loan.fund_paid[j] = loan.fund_paid.get(j, 0.0) + pay
                    if loan.bank >= 0:
                        self.bank_fig[loan.bank, B_FUND_PAID] += pay
                    self.node_move(m, "queue_pay", item.loan, d, -pay)
                    if item.remaining > 0:
                        break
                    q.pop(0)
                    del loan.fund_queued[j]

    def restoring_topup(self, j: int, b: int, m: int) -> float:
        """What brings deposit b of fund j (the fund itself when pooled) towards its target (w_b of
        the fund's) at the start of year m // 12: the gap spread over the years left of its
        restoration deadline, within its budget (w_b of the fund's)."""
        st = self.st
        d, w = j * self.nd + b, self.w[b]
        covered = sum(self.county_out[c] for c in range(st.n_counties) if st.node_covers[j, c])
        gap = (float(st.node_target[j]) + float(st.node_target_ratio[j]) * covered) * w - self.balance[d]
        if gap <= 0:
            self.below_since[d] = -1
            return 0.0
        year, deadline = m // 12, int(st.node_restore_years[j])
        if self.below_since[d] < 0:
            self.below_since[d] = year
        left = max(1, deadline - (year - self.below_since[d])) if deadline > 0 else 1
        budget = float(st.node_budget[j]) * w
        return min(gap / left, budget) if budget > 0 else gap / left

    def guarantor_and_insurer(self):
        """Fees and premiums earned on the book at the start of each month."""
        for m in range(self.T):
            yield self.wait_until(m, INFLOWS, self.st.n_nodes)
            fee = self.g_fee / 12.0 * self.out_guaranteed
            premium = self.i_premium / 12.0 * self.out_insured
            self.fees += fee
            self.premiums += premium
            if fee:
                self.row(m, "fee", party="guarantor", amount=fee)
            if premium:
                self.row(m, "premium", party="insurer", amount=premium)

    def origination_desk(self, c: int, candidates: list[_Loan]):
        """A county's desk: books its initial loans in month -1, then decides on each candidate."""
        for loan in candidates:
            yield self.wait_until(loan.orig, ORIGINATIONS, 1 + loan.id)
            if loan.orig >= 0 and not self.accept(loan):
                continue
            self.book(loan)

    def accept(self, loan: _Loan) -> bool:
        """The origination rules 1-6 of docs/model.md section 4.6 (b); B (all deposits) and M_b are
        read from the balances, which do not move during originations."""
        m, c, s = loan.orig, loan.county, loan.size
        if m < self.stop_end[c]:
            return False
        if self.max_loan > 0 and s > self.max_loan:
            return False
        if self.leverage > 0:
            if self.scope == PROVINCE_SCOPE:
                if self.outstanding + s > self.leverage * sum(self.balance) + TOLERANCE:
                    return False
            else:
                node = int(self.st.county_fund[c, 0])
                if node < 0 or self.county_out[c] + s > self.leverage * self.fund_balance(node) + TOLERANCE:
                    return False
        b = loan.bank
        if b < 0:
            return True
        banks = self.st.banks
        if m < self.bank_stop_end[b]:  # 4. stopped by its own breaker
            self.bank_fig[b, B_SUSPENDED] += 1
            self.row(m, "suspended", loan.id, party=banks.ids[b], amount=s)
            return False
        refused = self.bank_out[b] + s > float(banks.credit[b]) + TOLERANCE  # 5. its credit line
        lev = float(banks.leverage[b])
        if not refused and lev > 0:  # 6. its own leverage on the money that backs its claims
            if self.per_bank:
                backing = 0.0
                for j in range(self.st.n_nodes):
                    backing += self.balance[j * self.nd + b]
            else:
                backing = float(banks.weight[b]) * sum(self.balance)
            refused = self.bank_out[b] + s > lev * backing + TOLERANCE
        if refused:
            self.bank_fig[b, B_REFUSED] += 1
            self.row(m, "refused", loan.id, party=banks.ids[b], amount=s)
            return False
        return True

    def book(self, loan: _Loan):
        c, s = loan.county, loan.size
        self.outstanding += s
        self.county_out[c] += s
        if loan.guaranteed:
            self.out_guaranteed += s
        if loan.insured:
            self.out_insured += s
        self.originated += s
        self.county_orig[c] += s
        self.n_originated += 1
        if loan.bank >= 0:
            self.bank_out[loan.bank] += s
            self.bank_fig[loan.bank, B_ORIG] += s
            self.bank_fig[loan.bank, B_N_ORIG] += 1
        self.row(loan.orig, "originate", loan.id, amount=s)
        if self.st.rules.pool_rate > 0:
            paid_in = self.st.rules.pool_rate * s
            self.pool += paid_in
            self.pool_in += paid_in
            self.row(loan.orig, "pool_in", loan.id, party="pool", amount=paid_in)
        self.env.process(self.loan_life(loan))

    def leave_book(self, loan: _Loan):
        c, s = loan.county, loan.size
        self.outstanding -= s
        self.county_out[c] -= s
        if loan.guaranteed:
            self.out_guaranteed -= s
        if loan.insured:
            self.out_insured -= s
        if loan.bank >= 0:
            self.bank_out[loan.bank] -= s

    def loan_life(self, loan: _Loan):
        """A loan: it defaults (starting the claim and the disposal) or it matures."""
        d, T = loan.default_month, self.T
        maturity = loan.orig + (loan.term or int(self.st.tenor[loan.county]))
        if d != NO_DEFAULT and d <= T - 1:
            yield self.wait_until(d, DEFAULTS, loan.id)
            self.default(loan)
        elif maturity <= T - 1:
            yield self.wait_until(maturity, MATURITIES, loan.id)
            self.leave_book(loan)
            self.row(maturity, "mature", loan.id, amount=loan.size)

    def default(self, loan: _Loan):
        d, c, s = loan.default_month, loan.county, loan.size
        self.leave_book(loan)
        # a register loan defaulted `since` months before month 0: already written off, or disposed,
        # it is not in the NPL; its claim falls due `lag` months after its real default
        write_off = self.write_off - loan.since
        loan.in_npl = loan.recovered_before == 0 and not (self.write_off > 0 and write_off <= 0)
        if loan.in_npl:
            self.npl[c] += s
            self.npl_count[c] += 1
        self.defaulted_ead += s
        self.county_def[c] += s
        self.n_defaults += 1
        if loan.bank >= 0:
            if loan.in_npl:
                self.bank_npl[loan.bank] += s
                self.bank_npl_count[loan.bank] += 1
            self.bank_fig[loan.bank, B_DEF_EAD] += s
            self.bank_fig[loan.bank, B_N_DEF] += 1
        self.row(d, "default", loan.id, amount=s)
        x = d + max(1, loan.delay)
        claim = d + max(0, self.lag - loan.since)
        if loan.recovered_before > 0:  # disposed before month 0: the claim is on the net loss
            loan.net_first = True
            loan.recovered = loan.recovered_before
        elif loan.paid_before > 0:  # paid on the gross loss: its recovery is clawed back
            loan.net_first = False
        else:
            loan.net_first = self.basis == NET_LOSS or x <= claim
            if loan.net_first:
                claim = max(claim, x)
        loan.disposal_month, loan.claim_month = x, claim
        if loan.paid_before > 0:  # compensated before month 0: no claim, only clawbacks to come
            loan.claimed = True
            self.paid_before(loan)
        elif claim <= self.T - 1:
            self.env.process(self.bank_claim(loan))
        else:
            self.pending_claims.add(loan.id)
        if x <= self.T - 1:
            self.env.process(self.disposal(loan))
        if loan.in_npl and 0 < self.write_off and d + write_off < min(x, self.T):
            self.env.process(self.write_off_loan(loan, d + write_off))

    def paid_before(self, loan: _Loan) -> None:
        """What the funds paid before month 0, as the claim's tier parts would have gone: each
        fund's part of the county's tier split (parts routed to the bank left out), scaled to it."""
        c = loan.county
        parts = {}
        for slot in range(3):
            to = int(self.st.route[c, slot])
            if to >= 0:
                node = int(self.st.county_fund[c, to])
                parts[node] = parts.get(node, 0.0) + float(self.st.tier_split[c, slot])
        total = sum(parts.values())
        for node, part in parts.items():
            if total > 0:
                loan.fund_paid[node] = loan.paid_before * part / total

    def leave_npl(self, loan: _Loan) -> None:
        """The loan no longer counts in its county's non-performing amount."""
        c = loan.county
        loan.in_npl = False
        self.npl[c] -= loan.size
        self.npl_count[c] -= 1
        if self.npl_count[c] == 0:
            self.npl[c] = 0.0
        b = loan.bank
        if b >= 0:
            self.bank_npl[b] -= loan.size
            self.bank_npl_count[b] -= 1
            if self.bank_npl_count[b] == 0:
                self.bank_npl[b] = 0.0

    def write_off_loan(self, loan: _Loan, month: int):
        """Write-off: after the month's disposals, the undisposed loan leaves the breaker's NPL."""
        yield self.wait_until(month, CLAWBACKS, (self.T + 2) * (self.n_loans + 1) + self.claim_rank(loan))
        self.leave_npl(loan)
        self.row(month, "write_off", loan.id, amount=loan.size)

    def disposal(self, loan: _Loan):
        """The disposal agency sells the pledged IP; the recovery is clawed back pro rata."""
        m = loan.disposal_month
        yield self.wait_until(m, CLAWBACKS, self.claim_rank(loan))
        s = loan.size
        amount = s * loan.recovery * (1.0 - self.cost)
        self.recovered += amount
        if loan.in_npl:
            self.leave_npl(loan)
        self.row(m, "dispose", loan.id, amount=amount)
        if loan.net_first:
            loan.recovered = amount
            self.row(m, "recovery", loan.id, party="bank", amount=amount)
            return
        f = amount / s
        for p in (BANK, GUARANTOR, INSURER, EVALUATOR, POOL):
            back = f * loan.assigned[p]
            self.loss[p] -= back
            if p == POOL:
                self.pool += back
            if p == BANK and loan.bank >= 0:
                self.bank_fig[loan.bank, B_L_BANK] -= back
            if back:
                self.row(m, "clawback", loan.id, party=PARTY_NAMES[p], amount=back)
        for j in sorted(set(loan.fund_paid) | set(loan.fund_queued)):
            d = self.deposit(j, loan)  # the deposit that paid or queued the part
            item = loan.fund_queued.get(j)
            queued = item.remaining if item is not None else 0.0
            share = f * (loan.fund_paid.get(j, 0.0) + queued)
            self.inflow[d] += share
            cancel = min(share, queued)
            if item is not None and cancel > 0:
                item.remaining -= cancel
                self.row(m, "cancel", loan.id, party=self.dep_ids[d], amount=cancel)
                if item.remaining <= 0:
                    self.queue[d].remove(item)
                    del loan.fund_queued[j]
            rest = share - cancel
            if rest > 0:
                self.claw_in[j] += rest
                if loan.bank >= 0:
                    self.bank_fig[loan.bank, B_FUND_PAID] -= rest
                self.node_move(m, "clawback", loan.id, d, rest)

    def bank_claim(self, loan: _Loan):
        """The bank files the claim when due; the parties and the fund tiers pay their parts."""
        m = loan.claim_month
        yield self.wait_until(m, CLAIMS, self.claim_rank(loan))
        loan.claimed = True
        c, s, sh = loan.county, loan.size, loan.shares
        base_loss = s - loan.recovered if loan.net_first else s
        # the first-loss layers: the borrowers' pool pays first, then the bank bears its slice
        by_pool = min(self.pool, base_loss) if self.st.rules.pool_rate > 0 else 0.0
        self.pool -= by_pool
        loan.assigned[POOL] = by_pool
        self.loss[POOL] += by_pool
        if by_pool:
            self.row(m, "claim", loan.id, party="pool", amount=-by_pool)
        slice_ = min(base_loss - by_pool, self.st.rules.bank_first_loss * s)
        shared = base_loss - by_pool - slice_
        covered = min(1.0, self.max_covered / s) if self.max_covered > 0 else 1.0  # the first max_covered yuan
        eligible = float(self.st.ip_share[c]) * shared * covered
        bank = slice_ + (shared - eligible) + sh[BANK] * eligible
        fund = sh[FUND] * eligible
        limit = min(self.cap if self.cap > 0 else math.inf, self.cap_share * base_loss)
        if fund > limit:  # the per-loan cap and the cap on all tiers together
            bank += fund - limit
            self.capped_total += fund - limit
            self.row(m, "capped", loan.id, party="bank", amount=fund - limit)
            fund = limit
        want = sh[GUARANTOR] * eligible
        guarantor = min(want, max(self.g_capital + self.fees - self.g_paid, 0.0))
        if want - guarantor > TOLERANCE:
            self.g_exhausted = True
        bank += want - guarantor
        self.g_paid += guarantor
        want = sh[INSURER] * eligible
        insurer = min(want, max(self.i_cap * self.premiums - self.i_paid, 0.0))
        bank += want - insurer
        self.i_paid += insurer
        evaluator = sh[EVALUATOR] * eligible
        # tier parts, routed to the paying slot; parts with no fund above them go to the bank
        asked = [0.0, 0.0, 0.0]
        for t in range(3):
            part = float(self.st.tier_split[c, t]) * fund
            slot = int(self.st.route[c, t])
            if slot < 0:
                bank += part
            else:
                asked[slot] += part
        if m // 12 != self.accept_year:  # a new calendar year: every annual cap opens again
            self.accept_year = m // 12
            self.year_accepted = [0.0] * self.st.n_nodes
        for slot in range(3):
            node = int(self.st.county_fund[c, slot])
            if node < 0 or asked[slot] == 0.0:
                continue
            a = self.within_annual_cap(node, asked[slot], m, loan)
            bank += asked[slot] - a
            if a == 0.0:
                continue
            d = self.deposit(node, loan)  # the fund's money that backs this loan
            self.due[node] += a
            self.dep_due[d] += a
            pay = min(self.balance[d], a)
            rest = a - pay
            if pay > 0:
                self.paid[node] += pay
                loan.fund_paid[node] = loan.fund_paid.get(node, 0.0) + pay
                if loan.bank >= 0:
                    self.bank_fig[loan.bank, B_FUND_PAID] += pay
                self.node_move(m, "claim", loan.id, d, -pay)
            else:
                loan.fund_paid.setdefault(node, 0.0)
            if rest > 0:
                if rest > TOLERANCE and self.first_short[node] < 0:
                    self.first_short[node] = m
                if rest > TOLERANCE and loan.bank >= 0 and self.bank_fig[loan.bank, B_FIRST] < 0:
                    self.bank_fig[loan.bank, B_FIRST] = m
                nid = self.dep_ids[d]
                if self.policy == QUEUE:
                    item = _QueueItem(rest, m, loan.default_month, loan.id)
                    self.queue[d].append(item)
                    loan.fund_queued[node] = item
                    self.row(m, "queued", loan.id, party=nid, amount=rest)
                elif self.policy == PARENT and int(self.st.overflow[c, slot]) >= 0:
                    asked[int(self.st.overflow[c, slot])] += rest
                    self.row(m, "pass_up", loan.id, party=nid, amount=rest)
                else:
                    bank += rest
                    self.row(m, "to_bank", loan.id, party=nid, amount=rest)
        if loan.bank >= 0:
            self.bank_fig[loan.bank, B_L_BANK] += bank
        for p, amount in ((BANK, bank), (GUARANTOR, guarantor), (INSURER, insurer), (EVALUATOR, evaluator)):
            loan.assigned[p] = amount
            self.loss[p] += amount
            if amount:
                self.row(m, "claim", loan.id, party=PARTY_NAMES[p], amount=-amount)

    def within_annual_cap(self, node: int, amount: float, m: int, loan: _Loan) -> float:
        """What of ``amount`` the node accepts under its annual cap; the rest is capped (to the bank)."""
        cap = float(self.st.node_annual_cap[node])
        if cap <= 0:
            return amount
        room = max(cap - self.year_accepted[node], 0.0)
        accepted = min(amount, room)
        if amount > accepted:
            self.capped[node] += amount - accepted
            self.capped_total += amount - accepted
            self.row(m, "capped", loan.id, party=self.st.node_ids[node], amount=amount - accepted)
        self.year_accepted[node] += accepted
        return accepted

    def breaker_watch(self):
        """The circuit breaker and the NPL warning look at every county before any candidate, then
        the banks' own breakers at every bank that has one (in file order)."""
        own = [b for b in range(self.nb) if self.st.banks.breaker[b] > 0]
        if self.breaker <= 0 and self.warning <= 0 and not own:
            return
        banks = self.st.banks
        for m in range(self.T):
            yield self.wait_until(m, ORIGINATIONS, 0)
            for c in range(self.st.n_counties):
                ratio = 0.0
                if self.npl_count[c] > 0:
                    ratio = self.npl[c] / (self.npl[c] + self.county_out[c])
                if self.warning > 0 and ratio > self.warning:
                    self.warn_months[c] += 1
                if self.breaker > 0 and m >= self.stop_end[c] and ratio > self.breaker:
                    self.stop_end[c] = m + self.breaker_months
                    self.trips[c] += 1
                    self.row(m, "breaker", party=self.st.county_ids[c], amount=self.npl[c], npl_ratio=ratio)
            for b in own:
                ratio = 0.0
                if self.bank_npl_count[b] > 0:
                    ratio = self.bank_npl[b] / (self.bank_npl[b] + self.bank_out[b])
                if m >= self.bank_stop_end[b] and ratio > float(banks.breaker[b]):
                    self.bank_stop_end[b] = m + int(banks.breaker_months[b])
                    self.bank_fig[b, B_TRIPS] += 1
                    self.row(m, "breaker", party=banks.ids[b], amount=self.bank_npl[b], npl_ratio=ratio)

    def book_keeper(self):
        """Month ends: balances, the peak book and the required-capital gap; with the indicators on,
        each fund's year at the end of months 11, 23, ..."""
        for m in range(self.T):
            yield self.wait_until(m, MONTH_END, 0)
            self.dep_month_end[m] = self.balance
            self.month_end[m] = [self.fund_balance(j) for j in range(self.st.n_nodes)]
            self.peak = max(self.peak, self.outstanding)
            for d in range(len(self.balance)):
                self.gap[d] = max(self.gap[d], self.dep_due[d] - self.inflow[d])
            if self.st.indicators and m % 12 == 11:
                self.close_year(m // 12)

    def close_year(self, year: int) -> None:
        """Each fund's year: flows since the last year end, stocks now, over the counties it covers."""
        st = self.st
        for j in range(st.n_nodes):
            under = [c for c in range(st.n_counties) if st.node_covers[j, c]]
            now = (self.paid[j], self.claw_in[j], sum(self.county_def[c] for c in under),
                   sum(self.county_orig[c] for c in under))
            flows = [x - y for x, y in zip(now, self.year_seen[j])]
            self.years[year, j] = (*flows, sum(self.npl[c] for c in under), sum(self.county_out[c] for c in under),
                                   self.fund_balance(j))
            self.year_seen[j] = now

    # ------------------------------------------------------------------ the run

    def run(self) -> PathTrace:
        st, env = self.st, self.env
        for d in range(len(self.balance)):
            self.row(-1, "open", node=d, amount=self.balance[d])
        by_county: list[list[_Loan]] = [[] for _ in range(st.n_counties)]
        for loan in self.loans:
            by_county[loan.county].append(loan)
        for c in range(st.n_counties):
            env.process(self.origination_desk(c, by_county[c]))
        for j in range(st.n_nodes):
            env.process(self.fund(j))
        env.process(self.guarantor_and_insurer())
        env.process(self.breaker_watch())
        env.process(self.book_keeper())
        steps = 0
        end = self.at(self.T, 0, 0)
        while env.peek() < end:
            env.step()
            steps += 1
        return self.finish(steps)

    def finish(self, steps: int) -> PathTrace:
        """The horizon: claims not yet due fall to the bank; what is queued is unpaid."""
        st, T = self.st, self.T
        for lid in sorted(self.pending_claims):
            loan = self.loans[lid]
            bear = loan.size - loan.recovered if loan.net_first else loan.size
            self.loss[BANK] += bear
            if loan.bank >= 0:
                self.bank_fig[loan.bank, B_L_BANK] += bear
            self.row(T - 1, "horizon", lid, party="bank", amount=-bear)
        nd = self.nd
        unpaid = np.array([math.fsum(i.remaining for q in self.queue[j * nd:(j + 1) * nd] for i in q)
                           for j in range(st.n_nodes)])
        for q in self.queue:
            for item in q:
                b = self.loans[item.loan].bank
                if b >= 0:
                    self.bank_fig[b, B_UNPAID] += item.remaining
        required = np.zeros(st.n_nodes)
        for j in range(st.n_nodes):  # the largest of its deposits', scaled to the whole fund
            required[j] = max(max(self.gap[j * nd + b], 0.0) / self.w[b] for b in range(nd))
        paid = np.array(self.paid)
        claw = np.array(self.claw_in)
        payout = paid - claw
        tr = PathTrace(node_ids=st.node_ids, county_ids=st.county_ids, events=self.log)
        tr.balance = self.month_end
        tr.first_shortfall_month = np.array(self.first_short, dtype=np.int64)
        tr.payout_net = payout
        tr.unpaid = unpaid
        tr.required_capital = required
        tr.final_balance = self.month_end[T - 1].copy() if T else np.array(
            [self.fund_balance(j) for j in range(st.n_nodes)])
        tr.deposit_ids = self.dep_ids
        tr.deposit_fund = tuple(d // nd for d in range(len(self.balance)))
        tr.deposit_balance = self.dep_month_end
        tr.bank_ids = tuple(st.banks.ids)
        tr.banks = self.bank_fig
        tr.paid, tr.clawback, tr.due = paid, claw, np.array(self.due)
        tr.npl_warning_months = np.array(self.warn_months, dtype=np.int64)
        tr.breaker_trips = np.array(self.trips, dtype=np.int64)
        tr.county_originated = np.array(self.county_orig)
        tr.originated, tr.defaulted_ead, tr.recovered = self.originated, self.defaulted_ead, self.recovered
        tr.unpaid_total = float(unpaid.sum())
        tr.loss_fund = float(payout.sum())
        tr.loss_bank, tr.loss_guarantor = self.loss[BANK], self.loss[GUARANTOR]
        tr.loss_insurer, tr.loss_evaluator = self.loss[INSURER], self.loss[EVALUATOR]
        tr.loss_pool, tr.pool_in, tr.pool_final = self.loss[POOL], self.pool_in, self.pool
        tr.fees, tr.premiums, tr.peak_outstanding = self.fees, self.premiums, self.peak
        tr.n_originated, tr.n_defaults = self.n_originated, self.n_defaults
        tr.guarantor_exhausted = self.g_exhausted
        tr.capped_total, tr.capped = self.capped_total, np.array(self.capped)
        tr.budget, tr.years = self.budget, self.years
        tr.simpy_events = steps
        return tr


def simulate_path(st: Structure, fates: Fates, k: int) -> PathTrace:
    """Run path ``k`` (0-based, within the block) of a sampled block through the event engine."""
    if not 0 <= k < fates.n_paths:
        raise IndexError(f"path {k} is not in this block of {fates.n_paths} paths")
    return _PathModel(st, fates, k).run()


def trace_rows(trace: PathTrace) -> list[dict[str, Any]]:
    """The log as dicts of EVENT_COLUMNS (``loan`` None and ``node``/``party`` "" when not set,
    ``balance`` None on rows that move no fund's money, ``npl_ratio`` None but on breaker rows)."""
    out = []
    for month, event, loan, node, party, amount, bal, ratio in trace.events:
        out.append({
            "month": month, "event": event, "loan": None if loan < 0 else loan, "node": node,
            "party": party, "amount": amount, "balance": None if math.isnan(bal) else bal,
            "npl_ratio": None if math.isnan(ratio) else ratio,
        })
    return out


def write_trace_csv(trace: PathTrace, path) -> None:
    """Write the log as CSV with the columns of docs/model.md section 8 (``riskpool trace``)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(EVENT_COLUMNS)
        for r in trace_rows(trace):
            w.writerow(["" if r[c] is None else (repr(r[c]) if isinstance(r[c], float) else r[c])
                        for c in EVENT_COLUMNS])
