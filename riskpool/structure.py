"""The scenario compiled to plain arrays: the region tree, fund nodes, routing of tier parts.

Tier slots are numbered in payment order: 0 = county, 1 = city, 2 = province (docs/model.md section 5.2).
A county's part for slot ``t`` is paid by ``route[c, t]``: the nearest slot ``>= t`` in its own
chain of regions that has a fund (-1 = the bank). Under ``shortfall = "parent"`` what slot ``t``
cannot pay goes to ``overflow[c, t]``: the next slot ``> t`` with a fund (-1 = the bank).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .scenario import Scenario, months_between

SLOT_TIERS = ("county", "city", "province")
# The codes of the rules' choices, as both engines read them (scenario words -> codes)
PRINCIPAL, NET_LOSS = 0, 1  # rules.compensation_basis
QUEUE, PARENT, TO_BANK = 0, 1, 2  # rules.shortfall
PROVINCE_SCOPE, COUNTY_SCOPE = 0, 1  # rules.leverage_scope
BASIS = {"principal": PRINCIPAL, "net_loss": NET_LOSS}
POLICY = {"queue": QUEUE, "parent": PARENT, "bank": TO_BANK}
SCOPE = {"province": PROVINCE_SCOPE, "county": COUNTY_SCOPE}
# yuan: a remainder above this is a shortfall (design choice 7), and the slack of the leverage test
TOLERANCE = 1e-6


class Rules(NamedTuple):
    """The scalar rules of a scenario as both engines read them (docs/model.md sections 4-5)."""

    basis: int  # PRINCIPAL or NET_LOSS
    claim_lag: int  # months
    per_loan_cap: float  # yuan, 0 = none
    max_loan: float  # yuan, 0 = none
    shortfall: int  # QUEUE, PARENT or TO_BANK
    leverage: float  # the policy multiplier, 0 = none
    scope: int  # PROVINCE_SCOPE or COUNTY_SCOPE
    breaker: float  # NPL ratio that stops lending, 0 = off
    warning: float  # NPL ratio that is counted, 0 = off
    breaker_months: int
    interest_rate: float  # per year, on fund balances
    g_capital: float  # yuan
    g_fee_rate: float  # per year
    i_premium_rate: float  # per year
    i_loss_ratio_cap: float  # multiple of premiums earned
    disposal_cost: float  # fraction of the amount recovered
    max_covered: float  # yuan of a loan covered, 0 = the whole loan
    fund_cap_share: float  # all tiers together pay at most this share of the loss (1 = no cap)
    write_off: int  # months after default when a loan leaves the breaker's NPL, 0 = at disposal only
    pool_rate: float  # share of each loan's principal paid into the borrowers' first-loss pool
    bank_first_loss: float  # share of a loan's size whose loss the bank bears first


@dataclass(frozen=True)
class Banks:
    """The cooperating banks as both engines read them (docs/model.md section 5.9), in file order;
    no banks (empty arrays) without ``[[banks]]``."""

    ids: tuple[str, ...]
    names: tuple[str, ...]
    weight: np.ndarray  # float64 (banks,) credit line over all credit lines, w_b
    credit: np.ndarray  # float64 (banks,) credit line, yuan
    leverage: np.ndarray  # float64 (banks,) own leverage cap, 0 = none
    breaker: np.ndarray  # float64 (banks,) own circuit-breaker NPL ratio, 0 = off
    breaker_months: np.ndarray  # int64 (banks,) months a tripped bank stops lending
    row: np.ndarray  # int64 (banks,) row of Structure.shares for the bank's loans, -1 = as without banks
    county_share: np.ndarray  # float64 (counties, banks) share of each county's loans lent by each bank
    per_bank: bool  # rules.deposits = "per_bank": each fund holds one deposit per bank

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def n_deposits(self) -> int:
        """Deposits per fund: one per bank under per-bank deposits, else one."""
        return self.n if self.per_bank else 1

    @property
    def deposit_weight(self) -> np.ndarray:
        """The share of each fund's money in each of its deposits (w_b, or 1 for a pooled fund)."""
        return self.weight if self.per_bank else np.ones(1)


@dataclass(frozen=True)
class Register:
    """A fund's loan register as both engines read it (docs/model.md section 4.8): the loans that
    enter the run, in loan-id order (county by county in file order, then register order)."""

    ids: tuple[str, ...]
    county: np.ndarray  # int32 county index
    size: np.ndarray  # float64 principal, yuan
    bank: np.ndarray  # int64 bank index (Banks order), -1 without banks
    term: np.ndarray  # int32 months at risk from month 0 (performing and overdue); 0 for defaulted
    since: np.ndarray  # int32 months from its default to the valuation month (defaulted), else 0
    defaulted: np.ndarray  # bool
    paid: np.ndarray  # float64 already compensated by the funds, yuan
    recovered: np.ndarray  # float64 already recovered by its disposal, yuan

    @property
    def n(self) -> int:
        return len(self.ids)


def compile_register(s: Scenario, counties: list) -> Register | None:
    """The register's entering loans (a defaulted loan both compensated and disposed has nothing
    left to happen and does not enter)."""
    if s.book is None:
        return None
    index = {c.id: k for k, c in enumerate(counties)}
    banks = {b.id: k for k, b in enumerate(s.banks)}
    v = s.book.valuation_month
    loans = [x for x in s.book.loans if not (x.status == "defaulted" and x.compensated > 0 and x.recovered > 0)]
    loans.sort(key=lambda x: index[x.county])  # stable: register order within a county
    defaulted = [x.status == "defaulted" for x in loans]
    term = [0 if d else max(1, months_between(v, x.start_month) + x.tenor_months) for x, d in zip(loans, defaulted)]
    return Register(
        ids=tuple(x.loan_id for x in loans),
        county=np.array([index[x.county] for x in loans], dtype=np.int32),
        size=np.array([x.principal for x in loans], dtype=np.float64),
        bank=np.array([banks.get(x.bank, -1) if x.bank else -1 for x in loans], dtype=np.int64),
        term=np.array(term, dtype=np.int32),
        since=np.array([months_between(x.default_month, v) if d else 0 for x, d in zip(loans, defaulted)], dtype=np.int32),
        defaulted=np.array(defaulted, dtype=np.bool_),
        paid=np.array([x.compensated for x in loans], dtype=np.float64),
        recovered=np.array([x.recovered for x in loans], dtype=np.float64),
    )


@dataclass(frozen=True)
class Structure:
    """Everything the fates and the ledger need from a scenario, as numpy arrays."""

    horizon_months: int
    # fund nodes (regions with a fund), in file order
    node_ids: tuple[str, ...]
    node_names: tuple[str, ...]
    node_tier: np.ndarray  # int8 slot of each node (0 county, 1 city, 2 province)
    node_initial: np.ndarray  # float64 yuan
    node_topup: np.ndarray  # float64 yuan per year
    node_covers: np.ndarray  # bool (nodes, counties): county lies under the node
    # counties, in file order
    county_ids: tuple[str, ...]
    county_city: np.ndarray  # int32 index of the county's city
    county_fund: np.ndarray  # int32 (counties, 3): node at each slot of the chain, -1 none
    route: np.ndarray  # int32 (counties, 3): slot that pays slot t's part, -1 bank
    overflow: np.ndarray  # int32 (counties, 3): slot above t with a fund, -1 bank
    # Counties with the same PD by year (and city, when there is a city factor) share a
    # *risk class*: one conditional PD and one hazard curve per path serves them all.
    risk_class: np.ndarray  # int32 (counties,)
    class_pd: np.ndarray  # float64 (years, classes) annual PD, capped
    class_city: np.ndarray  # int32 (classes,) city index of the class (0 without a city factor)
    initial_loans: np.ndarray  # int64
    monthly_rate: np.ndarray  # float64 mean new loans per month
    size_mean: np.ndarray
    size_cv: np.ndarray
    tenor: np.ndarray  # int32 months
    ip_share: np.ndarray
    # sharing
    band_max: np.ndarray  # float64 (bands,) sorted ascending
    shares: np.ndarray  # float64 (bands + 2 products + 1, 5): shares in scenario.PARTIES order; last row = top level
    # products: a candidate's kind is its row of shares, 2p (product p) or 2p + 1 (a first loan of p)
    product_share: np.ndarray  # float64 (products,) share of the loans
    product_first: np.ndarray  # float64 (products,) share of a product's loans that are first loans
    tier_split: np.ndarray  # float64 (counties, 3): each county's split, in slot order county, city, province
    node_annual_cap: np.ndarray  # float64 (nodes,) yuan a fund accepts in a calendar year, 0 = no cap
    # top-ups that depend on the balance (docs/model.md section 5.6); all 0 for fixed top-ups
    node_restore: np.ndarray  # bool (nodes,): topup_rule = "restore"
    node_target: np.ndarray  # float64 (nodes,) target balance, yuan
    node_target_ratio: np.ndarray  # float64 (nodes,) target balance over covered outstanding
    node_budget: np.ndarray  # float64 (nodes,) yuan a year at most, 0 = no ceiling
    node_restore_years: np.ndarray  # int64 (nodes,) restoration deadline in years, 0 = at once
    banks: Banks
    indicators: bool  # keep the yearly performance figures of each fund (docs/model.md section 6.10)
    rules: Rules
    # credit and collateral
    rho: float
    rho_city: float
    n_cities: int
    recovery_mean: float
    recovery_sd: float
    recovery_loading: float
    disposal_mean: float
    disposal_sd: float
    p_no_sale: float
    recovery_floor: float
    book: Register | None = None  # the fund's own register as the initial book (section 4.8)

    @property
    def n_kinds(self) -> int:
        """Rows of shares that candidates are drawn into (two per product), 0 without products."""
        return 2 * len(self.product_share)

    @property
    def pool(self) -> bool:
        """Whether borrowers pay into a first-loss pool (its figures are reported)."""
        return self.rules.pool_rate > 0

    @property
    def restores(self) -> bool:
        """Whether some fund's top-up depends on its balance (then the appropriations are reported)."""
        return bool(self.node_restore.any())

    @property
    def caps(self) -> bool:
        """Whether any rule caps what the funds pay (its excess, ``capped``, is reported)."""
        return (self.rules.per_loan_cap > 0 or self.rules.fund_cap_share < 1.0
                or bool((self.node_annual_cap > 0).any()))

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    @property
    def n_counties(self) -> int:
        return len(self.county_ids)

    @property
    def node_tier_names(self) -> list[str]:
        return [SLOT_TIERS[t] for t in self.node_tier]


PD_CAP = 1.0 - 1e-12


def compile_structure(s: Scenario) -> Structure:
    """Turn a validated scenario into arrays (regions resolved, parts routed, shares sorted)."""
    by_id = {r.id: r for r in s.regions}
    funded = [r for r in s.regions if r.fund is not None]
    node_index = {r.id: i for i, r in enumerate(funded)}
    counties = [r for r in s.regions if r.tier == "county"]
    cities = [r.id for r in s.regions if r.tier == "city"]
    city_index = {cid: i for i, cid in enumerate(cities)}

    chains = [(c.id, c.parent, by_id[c.parent].parent) for c in counties]  # county, city, province
    county_fund = np.array([[node_index.get(rid, -1) for rid in chain] for chain in chains], dtype=np.int32)
    route = np.array([[_next_funded(row, t) for t in range(3)] for row in county_fund], dtype=np.int32)
    overflow = np.array([[_next_funded(row, t + 1) for t in range(3)] for row in county_fund], dtype=np.int32)
    covers = np.array([[r.id in chain for chain in chains] for r in funded], dtype=bool).reshape(len(funded), len(counties))

    lend = [c.lending for c in counties]
    book = compile_register(s, counties)
    if book is None:
        initial = np.array([x.initial_loans if x else 0 for x in lend], dtype=np.int64)
    else:  # the register's loans are the initial book (docs/model.md section 4.8)
        initial = np.bincount(book.county, minlength=len(counties)).astype(np.int64)
    stress = np.asarray(s.stress_factors(), dtype=np.float64)
    mult = np.array([c.pd_multiplier for c in counties], dtype=np.float64)
    pd = np.minimum(s.credit.annual_pd * stress[:, None] * mult[None, :], PD_CAP)
    county_city = np.array([city_index[c.parent] for c in counties], dtype=np.int32)
    keys = [(tuple(pd[:, c]), int(county_city[c]) if s.credit.city_correlation > 0 else 0) for c in range(len(counties))]
    first_of = {key: c for c, key in reversed(list(enumerate(keys)))}
    first = np.array(sorted(first_of.values()), dtype=np.int64)
    risk_class = np.array([int(np.searchsorted(first, first_of[key])) for key in keys], dtype=np.int32)

    bands = sorted(s.sharing.bands, key=lambda b: b.max_loan)
    own = [b.shares.vector() for b in s.banks if b.shares is not None]
    shares = np.array([b.vector() for b in bands] + [row for p in s.products for row in _product_rows(p)]
                      + own + [s.sharing.vector()], dtype=np.float64)
    tiers = s.sharing.tiers
    r = s.rules
    g, ins = s.parties.guarantor, s.parties.insurer
    rules = Rules(
        basis=BASIS[r.compensation_basis], claim_lag=int(r.claim_lag_months), per_loan_cap=float(r.per_loan_cap),
        max_loan=float(r.max_loan), shortfall=POLICY[r.shortfall], leverage=float(r.leverage),
        scope=SCOPE[r.leverage_scope], breaker=float(r.circuit_breaker_npl), warning=float(r.npl_warning),
        breaker_months=int(r.circuit_breaker_months), interest_rate=float(r.fund_interest_rate),
        g_capital=float(g.capital), g_fee_rate=float(g.fee_rate), i_premium_rate=float(ins.premium_rate),
        i_loss_ratio_cap=float(ins.loss_ratio_cap), disposal_cost=float(s.collateral.disposal_cost),
        max_covered=float(r.max_covered), fund_cap_share=float(s.sharing.fund_cap_share),
        write_off=int(r.write_off_months), pool_rate=float(s.layers.borrower_pool_rate),
        bank_first_loss=float(s.layers.bank_first_loss),
    )
    by_id = {region.id: region for region in s.regions}
    splits = [_tier_split(c, by_id, tiers) for c in counties]
    col = s.collateral
    return Structure(
        horizon_months=s.horizon_months,
        node_ids=tuple(r.id for r in funded),
        node_names=tuple(r.name for r in funded),
        node_tier=np.array([SLOT_TIERS.index(r.tier) for r in funded], dtype=np.int8),
        node_initial=np.array([r.fund for r in funded], dtype=np.float64),
        node_topup=np.array([r.annual_topup for r in funded], dtype=np.float64),
        node_covers=covers,
        county_ids=tuple(c.id for c in counties),
        county_city=county_city,
        county_fund=county_fund,
        route=route,
        overflow=overflow,
        risk_class=risk_class,
        class_pd=np.ascontiguousarray(pd[:, first]),
        class_city=county_city[first] if s.credit.city_correlation > 0 else np.zeros(len(first), dtype=np.int32),
        initial_loans=initial,
        monthly_rate=np.array([x.new_loans_per_year / 12 if x else 0.0 for x in lend]),
        size_mean=np.array([x.loan_size_mean if x else 1.0 for x in lend]),
        size_cv=np.array([x.loan_size_cv if x else 0.0 for x in lend]),
        tenor=np.array([x.tenor_months if x else 1 for x in lend], dtype=np.int32),
        ip_share=np.array([x.ip_collateral_share if x else 1.0 for x in lend]),
        band_max=np.array([b.max_loan for b in bands], dtype=np.float64),
        shares=shares,
        product_share=np.array([p.share for p in s.products], dtype=np.float64),
        product_first=np.array([p.first_loans for p in s.products], dtype=np.float64),
        tier_split=np.array(splits, dtype=np.float64).reshape(len(counties), 3),
        node_annual_cap=np.array([r.annual_cap for r in funded], dtype=np.float64),
        node_restore=np.array([r.topup_rule == "restore" for r in funded], dtype=np.bool_),
        node_target=np.array([r.target_balance for r in funded], dtype=np.float64),
        node_target_ratio=np.array([r.target_reserve_ratio for r in funded], dtype=np.float64),
        node_budget=np.array([r.topup_budget for r in funded], dtype=np.float64),
        node_restore_years=np.array([r.restore_years for r in funded], dtype=np.int64),
        banks=_banks(s, counties, by_id, first_row=len(shares) - 1 - len(own)),
        indicators=s.simulation.indicators,
        rules=rules,
        rho=s.credit.asset_correlation,
        rho_city=s.credit.city_correlation,
        n_cities=len(cities),
        recovery_mean=col.recovery_mean,
        recovery_sd=col.recovery_sd,
        recovery_loading=col.recovery_factor_loading,
        disposal_mean=col.disposal_months_mean,
        disposal_sd=col.disposal_months_sd,
        p_no_sale=col.p_no_sale,
        recovery_floor=col.recovery_floor,
        book=book,
    )


def _next_funded(chain_nodes: np.ndarray, start: int) -> int:
    """First slot >= start whose region has a fund, or -1 (the bank)."""
    for t in range(start, 3):
        if chain_nodes[t] >= 0:
            return t
    return -1


def _tier_split(county, by_id, default) -> tuple[float, float, float]:
    """The county's own split of the fund's part, else its city's, else sharing.tiers (slot order)."""
    city = by_id[county.parent]
    split = county.tiers or city.tiers or default
    return (split.county, split.city, split.province)


def _banks(s: Scenario, counties, by_id, first_row: int) -> Banks:
    """The banks' arrays; a county lends through its banks in its own shares, else its city's,
    else the banks' weights; banks with shares of their own have rows from ``first_row`` on."""
    credit = np.array([b.credit_line for b in s.banks], dtype=np.float64)
    weight = credit / credit.sum() if len(credit) else credit
    index = {b.id: k for k, b in enumerate(s.banks)}
    share = np.zeros((len(counties), len(s.banks)))
    for c, county in enumerate(counties):
        given = county.bank_shares or by_id[county.parent].bank_shares
        if given is None:
            share[c] = weight
        else:
            for bank_id, x in given.items():
                share[c, index[bank_id]] = x
    own = np.cumsum([b.shares is not None for b in s.banks]) - 1
    return Banks(
        ids=tuple(b.id for b in s.banks), names=tuple(b.name for b in s.banks), weight=weight, credit=credit,
        leverage=np.array([b.leverage for b in s.banks], dtype=np.float64),
        breaker=np.array([b.circuit_breaker_npl for b in s.banks], dtype=np.float64),
        breaker_months=np.array([b.circuit_breaker_months for b in s.banks], dtype=np.int64),
        row=np.array([first_row + k if b.shares is not None else -1 for k, b in zip(own, s.banks)], dtype=np.int64),
        county_share=share, per_bank=s.rules.deposits == "per_bank",
    )


def _product_rows(p) -> list[tuple[float, ...]]:
    """A product's shares, then those of its first loans: the bonus moves from the bank to the fund."""
    first = (p.fund + p.first_loan_bonus, p.bank - p.first_loan_bonus, p.guarantor, p.insurer, p.evaluator)
    return [p.vector(), first]
