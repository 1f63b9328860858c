"""Figures of docs/model.md section 6 computed from per-path results.

Tier and fund-wide figures aggregate their nodes per path first (shortfall: any node; first
shortfall month: the earliest; payout, unpaid, required capital: sums), then take statistics
over paths. Quantiles use numpy's ``inverted_cdf`` method (an observed value, no interpolation).

Every path counts with its likelihood-ratio weight ``w`` (``Results.weight``; 1 under plain
sampling, docs/model.md "Importance sampling"): an expectation is the mean of ``w x``, a
conditional one (expected shortfall, the first shortfall month among paths that ran short) the
``w``-weighted mean over its paths, and a quantile is read from the weighted CDF
(:func:`weighted_quantile`). With every weight 1 each figure is the plain one, bit for bit.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .engine import Results, plan_blocks
from .fates import BLOCK_PATHS
from .importance import effective_sample_size
from .structure import SLOT_TIERS
from .uncertainty import block_parameters, split
from .summary import (
    Appropriation,
    Bank,
    ParameterSpread,
    Checkpoint,
    Convergence,
    FundYear,
    Caps,
    County,
    Group,
    GuarantorLoss,
    InsurerLoss,
    Lending,
    Node,
    PartyLoss,
    Payout,
    Quantiles,
    Required,
    Sampling,
    Summary,
)

QUANTILE_METHOD = "inverted_cdf"
PARTY_COLUMNS = {
    "fund": "loss_fund", "bank": "loss_bank", "guarantor": "loss_guarantor",
    "insurer": "loss_insurer", "evaluator": "loss_evaluator",
}


def quantile(x: np.ndarray, q: float | list[float], axis: int | None = None, weight: np.ndarray | None = None) -> Any:
    """numpy's ``inverted_cdf`` quantile, or with ``weight`` (one per row) :func:`weighted_quantile`."""
    if weight is None or np.all(weight == 1.0):  # the same result, by numpy's faster selection
        return np.quantile(x, q, axis=axis, method=QUANTILE_METHOD)
    return weighted_quantile(x, q, weight, axis)


def weighted_quantile(x: np.ndarray, q: float | list[float], weight: np.ndarray, axis: int | None = None) -> Any:
    """The smallest observed value whose weighted CDF reaches ``q`` (``axis``: None or 0).

    ``weight`` holds likelihood ratios (mean 1 in expectation). The CDF is estimated from the tail
    on the quantile's own side, where importance sampling puts its paths: for ``q < 1/2``
    ``F(v) = sum(w_i, x_i <= v) / n``, otherwise ``F(v) = 1 - sum(w_i, x_i > v) / n``. Both are
    unbiased; with every weight 1 both are the empirical CDF and this is numpy's ``inverted_cdf``.
    If ``F`` never reaches ``q`` (weights summing to less than ``q n``) the largest value is used.
    """
    if axis is None and x.ndim > 1:
        raise ValueError("weighted_quantile takes a 1-d array or axis=0")
    data = x.reshape(len(x), -1)  # one column per quantile to take along axis 0
    n = len(data)
    order = np.argsort(data, axis=0, kind="stable")
    values = np.take_along_axis(data, order, axis=0)
    w = weight[order]
    below = np.cumsum(w, axis=0)  # weight at or below each sorted position
    above = np.zeros_like(w)  # weight strictly above it
    above[:-1] = np.cumsum(w[::-1], axis=0)[::-1][1:]
    out = []
    for level in np.atleast_1d(q):
        reached = below >= level * n if level < 0.5 else n - above >= level * n
        k = np.where(reached.any(axis=0), reached.argmax(axis=0), n - 1)
        out.append(values[k, np.arange(values.shape[1])])
    result = np.array(out).reshape((len(out),) + x.shape[1:])
    return result[0] if np.ndim(q) == 0 else result


def wmean(x: np.ndarray, w: np.ndarray) -> float:
    """The estimate of an expectation: the mean of ``w x`` (the plain mean when every w is 1)."""
    return float(np.mean(w * x))


def conditional_mean(x: np.ndarray, w: np.ndarray) -> float:
    """The ``w``-weighted mean of ``x``: an expectation given the event that selected the paths."""
    return float(np.sum(w * x) / np.sum(w))


def _num(x: float | np.floating) -> float | None:
    """A JSON-safe float: None for NaN or infinity."""
    value = float(x)
    return value if math.isfinite(value) else None


def shortfall_stats(first: np.ndarray, w: np.ndarray) -> dict[str, Any]:
    """p_shortfall, its standard error, sufficiency and quantiles of the first shortfall month.

    ``first`` holds each path's first shortfall month, -1 where the path had none. The standard
    error is that of the mean of ``w 1{shortfall}``: its variance ``p (r - p)``, with ``r`` the
    ``w``-weighted mean weight of the paths that ran short, is ``p (1 - p)`` when every w is 1.
    """
    hit = first >= 0
    n = len(first)
    p = wmean(hit, w)
    months = first[hit]
    spread = float(np.sum(w[hit] ** 2) / np.sum(w[hit])) if len(months) else 1.0
    q = quantile(months, [0.05, 0.5, 0.95], weight=w[hit] / w[hit].mean()) if len(months) else [None] * 3
    return {
        "p_shortfall": p,
        "p_shortfall_se": math.sqrt(max(p * (spread - p), 0.0) / n),
        "sufficiency": 1 - p,
        "first_shortfall_month": Quantiles(*(None if v is None else int(v) for v in q)),
    }


def money_stats(payout: np.ndarray, unpaid: np.ndarray, required: np.ndarray, w: np.ndarray) -> dict[str, Any]:
    payout_q, required_q = (quantile(x, [0.95, 0.99], weight=w) for x in (payout, required))
    return {
        "payout_net": Payout(_num(wmean(payout, w)), _num(payout_q[0]), _num(payout_q[1])),
        "unpaid_mean": _num(wmean(unpaid, w)),
        "required_capital": Required(_num(required_q[0]), _num(required_q[1])),
    }


def survival_curve(first: np.ndarray, horizon: int, w: np.ndarray) -> list[float]:
    """Share of paths (weighted) without a shortfall up to and including each month."""
    hit = first >= 0
    hits = np.cumsum(np.bincount(first[hit].astype(np.int64), weights=w[hit], minlength=horizon)[:horizon])
    return [float(v) for v in 1.0 - hits / len(first)]


def group_summary(res: Results, members: np.ndarray) -> Group:
    """Figures of a set of fund nodes (a tier or the whole fund), aggregated per path first."""
    first = res.group_earliest(members)
    return Group(
        **shortfall_stats(first, res.weight),
        **money_stats(res.group_total("payout_net", members), res.group_total("unpaid", members),
                      res.group_total("required_capital", members), res.weight),
        capital=float(res.structure.node_initial[members].sum()),
        nodes=int(members.sum()),
        survival=survival_curve(first, res.structure.horizon_months, res.weight),
    )


def node_summaries(res: Results) -> dict[str, Node]:
    st = res.structure
    w = res.weight
    out = {}
    for j, node in enumerate(st.node_ids):
        first = res.node_figure("first_shortfall_month", j)
        out[node] = Node(
            name=st.node_names[j], tier=SLOT_TIERS[st.node_tier[j]], capital=float(st.node_initial[j]),
            **shortfall_stats(first, w),
            **money_stats(res.node_figure("payout_net", j), res.node_figure("unpaid", j),
                          res.node_figure("required_capital", j), w),
            final_balance_mean=_num(wmean(res.node_figure("final_balance", j), w)),
            survival=survival_curve(first, st.horizon_months, w),
        )
    return out


def party_summaries(res: Results) -> dict[str, PartyLoss]:
    w = res.weight
    losses = {}
    columns = {**PARTY_COLUMNS, **({"pool": "loss_pool"} if res.structure.pool else {})}
    for party, column in columns.items():
        loss = res.path_column(column)
        var = quantile(loss, 0.99, weight=w)
        tail = loss >= var
        losses[party] = {"loss_mean": _num(wmean(loss, w)), "var99": _num(var),
                         "es99": _num(conditional_mean(loss[tail], w[tail]))}
    premiums = wmean(res.path_column("premiums"), w)
    insurer = InsurerLoss(**losses["insurer"], premiums_mean=_num(premiums),
                          loss_ratio=_num(wmean(res.path_column("loss_insurer"), w) / premiums) if premiums > 0 else None)
    guarantor = GuarantorLoss(**losses["guarantor"], fees_mean=_num(wmean(res.path_column("fees"), w)),
                              p_exhausted=wmean(res.path_column("guarantor_exhausted"), w))
    special = {"insurer": insurer, "guarantor": guarantor}
    return {party: special.get(party) or PartyLoss(**v) for party, v in losses.items()}


def lending_summary(res: Results) -> Lending:
    capital = float(res.structure.node_initial.sum())
    w = res.weight
    originated = res.path_column("originated")
    peak = res.path_column("peak_outstanding")
    ratio = (lambda x: _num(wmean(x / capital, w))) if capital > 0 else (lambda x: None)
    return Lending(
        originated_mean=_num(wmean(originated, w)),
        loans_originated_mean=_num(wmean(res.path_column("n_originated"), w)),
        defaulted_ead_mean=_num(wmean(res.path_column("defaulted_ead"), w)),
        defaults_mean=_num(wmean(res.path_column("n_defaults"), w)),
        recovered_mean=_num(wmean(res.path_column("recovered"), w)),
        initial_fund_capital=capital,
        multiplier_mean=ratio(originated),
        leverage_peak_mean=ratio(peak),
    )


def county_summaries(res: Results) -> dict[str, County]:
    """Circuit-breaker and NPL-warning figures per county (docs/model.md sections 4.6 and 6.7)."""
    w = res.weight
    return {
        cid: County(
            originated_mean=_num(wmean(res.county_figure("originated", c), w)),
            npl_warning_months_mean=_num(wmean(res.county_figure("npl_warning_months", c), w)),
            p_breaker=wmean(res.county_figure("breaker_trips", c) > 0, w),
        )
        for c, cid in enumerate(res.structure.county_ids)
    }


def summarize(res: Results) -> Summary:
    """The summary.json of docs/model.md section 8: deterministic for a given run."""
    if res.ran is not None:
        raise ValueError("a run of some of its paths (simulate(only=...)) has no summary: its other paths are zeros")
    st = res.structure
    tier_of = np.asarray(st.node_tier)
    return Summary(
        scenario=res.scenario.meta.name,
        scenario_sha256=res.scenario.sha256(),
        seed=res.seed,
        paths=res.n_paths,
        horizon_months=st.horizon_months,
        sampling=sampling_summary(res) if res.sampling.weighted else None,  # a plain run's summary has none
        fund=group_summary(res, np.ones(st.n_nodes, dtype=bool)),
        tiers={tier: group_summary(res, tier_of == t) for t, tier in reversed(list(enumerate(SLOT_TIERS)))},
        nodes=node_summaries(res),
        parties=party_summaries(res),
        lending=lending_summary(res),
        counties=county_summaries(res),
        caps=caps_summary(res) if st.caps else None,
        budget=budget_summary(res) if st.restores else None,
        indicators=indicator_summary(res) if st.indicators else None,
        banks=bank_summaries(res) if st.banks.n else None,
        convergence=convergence_summary(res),
        uncertainty=parameter_spread(res) if res.scenario.uncertainty.spreads() else None,
    )


def parameter_spread(res: Results) -> ParameterSpread:
    """Each block's parameters and shortfall share, and the split of their spread (docs/model.md 2.7)."""
    short = res.fund_shortfall()
    blocks = plan_blocks(res.n_paths)
    shares, sizes = [], []
    parameters: dict[str, list[float]] = {path: [] for path, _ in res.scenario.uncertainty.spreads()}
    for block, n in blocks:
        shares.append(float(short[block * BLOCK_PATHS : block * BLOCK_PATHS + n].mean()))
        sizes.append(n)
        for path, value in block_parameters(res.scenario, res.seed, block).items():
            parameters[path].append(value)
    parts = split(shares, sizes)
    low, high = (float(1 - q) for q in np.quantile(shares, [0.975, 0.025], method=QUANTILE_METHOD))
    return ParameterSpread(len(blocks), parameters, shares, parts["total_sd"], parts["monte_carlo_sd"],
                           parts["parameter_sd"], low, high)


Z95 = 1.959963984540054  # two-sided 95 % point of the standard normal
HALF_WIDTHS = (0.01, 0.005, 0.001)  # of the 95 % interval of p_shortfall, for "paths needed"


def convergence_summary(res: Results) -> Convergence:
    """The running estimate of the fund's p_shortfall with batch-means errors (docs/model.md 6.12)."""
    y = res.weight * res.fund_shortfall()
    n = len(y)
    sizes = [BLOCK_PATHS * 2**k for k in range(64) if BLOCK_PATHS * 2**k < n] + [n]
    points = [Checkpoint(m, float(y[:m].mean()), batch_means_se(y[:m])) for m in sizes]
    spread = points[-1].se * math.sqrt(n)
    paths_for = {f"{x:g}": math.ceil((Z95 * spread / x) ** 2) if spread > 0 else None for x in HALF_WIDTHS}
    return Convergence(BLOCK_PATHS, points, paths_for)


def batch_means_se(y: np.ndarray) -> float:
    """The standard error of mean(y) from the means of its whole batches of BLOCK_PATHS values."""
    batches = len(y) // BLOCK_PATHS
    if batches < 2:
        return float(np.std(y, ddof=1) / math.sqrt(len(y))) if len(y) > 1 else 0.0
    means = y[: batches * BLOCK_PATHS].reshape(batches, BLOCK_PATHS).mean(axis=1)
    return float(np.std(means, ddof=1) / math.sqrt(batches))


def per_path_figures(res: Results) -> dict[str, np.ndarray]:
    """The figures of ``views.COMPARED`` that are means over paths, path by path (their weights
    applied): what a paired difference between two runs on the same paths is taken of."""
    tier = np.asarray(res.structure.node_tier)
    w = res.weight
    figures = {"sufficiency": w * (res.group_earliest(np.ones(len(tier), dtype=bool)) < 0)}
    for t, name in enumerate(SLOT_TIERS):
        if (tier == t).any():
            figures[f"sufficiency_{name}"] = w * (res.group_earliest(tier == t) < 0)
    for key, column in (("payout_mean", "loss_fund"), ("unpaid_mean", "unpaid"), ("loss_bank", "loss_bank"),
                        ("loss_insurer", "loss_insurer")):
        figures[key] = w * res.path_column(column)
    return figures


def paired_se(base: Results, edited: Results) -> dict[str, float]:
    """The standard error of the difference (edited - base) of each per-path figure of two runs
    on common random numbers (the same seed and paths): sd of the path-by-path differences over
    sqrt(paths). Far smaller than the two runs' own errors combined when the runs move together."""
    if base.n_paths != edited.n_paths or base.seed != edited.seed:
        raise ValueError("a paired difference needs two runs of the same seed and paths")
    a, b = per_path_figures(base), per_path_figures(edited)
    n = base.n_paths
    return {k: float(np.std(b[k] - a[k], ddof=1) / math.sqrt(n)) if n > 1 else math.nan for k in a.keys() & b.keys()}


def bank_summaries(res: Results) -> dict[str, Bank]:
    """Each cooperating bank's shortfall, lending, losses and stops (docs/model.md section 6.11)."""
    banks, w = res.structure.banks, res.weight
    out = {}
    for k, bank_id in enumerate(banks.ids):
        def mean(name: str, k: int = k) -> float | None:
            return _num(wmean(res.bank_figure(name, k), w))

        first = res.bank_figure("first_shortfall_month", k)
        stats = shortfall_stats(first, w)
        out[bank_id] = Bank(
            name=banks.names[k], credit_line=float(banks.credit[k]), p_shortfall=stats["p_shortfall"],
            first_shortfall_month_p50=stats["first_shortfall_month"].p50, originated_mean=mean("originated"),
            defaulted_ead_mean=mean("defaulted_ead"), loss_mean=mean("loss_bank"), fund_paid_mean=mean("fund_paid"),
            unpaid_mean=mean("unpaid"), suspended_mean=mean("suspended"), refused_mean=mean("refused"),
            p_breaker=wmean(res.bank_figure("breaker_trips", k) > 0, w),
        )
    return out


def indicator_summary(res: Results) -> dict[str, list[FundYear]]:
    """Each fund's years (docs/model.md section 6.10): means over paths and their ratios."""
    def ratio(a: float, b: float) -> float | None:
        return _num(a / b) if b > 0 else None

    out = {}
    for j, node in enumerate(res.structure.node_ids):
        rows = []
        for year, sums in enumerate(res.years[:, j, :]):
            paid, claw, defaulted, originated, npl, outstanding, balance = (float(x) / res.n_paths for x in sums)
            rows.append(FundYear(year, paid, claw, defaulted, originated, npl, outstanding, balance,
                                 compensation_rate=ratio(paid, defaulted), recovery_rate=ratio(claw, paid),
                                 leverage=ratio(outstanding, balance), npl_ratio=ratio(npl, npl + outstanding)))
        out[node] = rows
    return out


def budget_summary(res: Results) -> dict[str, list[Appropriation]]:
    """The top-ups paid at the start of each year 1 ... Y-1, for the whole fund and each tier
    with funds: the appropriation each budget needed (mean and 95 % over paths)."""
    st, w = res.structure, res.weight
    tiers = [(SLOT_TIERS[t], (t,)) for t in reversed(range(3)) if (np.asarray(st.node_tier) == t).any()]
    out = {}
    for name, slots in [("fund", (0, 1, 2)), *tiers]:
        rows = []
        for year in range(1, st.horizon_months // 12):
            paid = np.zeros(res.n_paths)
            for t in slots:
                paid += res.tier_budget(t, year)
            rows.append(Appropriation(year, _num(wmean(paid, w)), _num(quantile(paid, 0.95, weight=w))))
        out[name] = rows
    return out


def caps_summary(res: Results) -> Caps:
    """What the caps on compensation sent to the bank: per path, and per node (annual caps)."""
    w = res.weight
    capped = res.path_column("capped")
    return Caps(
        capped_mean=_num(wmean(capped, w)),
        p_capped=wmean(capped > 0, w),
        nodes={node: _num(wmean(res.node_figure("capped", j), w)) for j, node in enumerate(res.structure.node_ids)},
    )


def sampling_summary(res: Results) -> Sampling:
    """The method, the shift of each year's factor and the effective sample sizes (all paths, and
    the paths where the fund ran short: how many plain paths the weighted ones are worth)."""
    short = res.fund_shortfall()
    return Sampling(method=res.sampling.method, shift=list(res.sampling.shift),
                    ess=effective_sample_size(res.weight), ess_shortfall=effective_sample_size(res.weight[short]),
                    weight_mean=float(res.weight.mean()))
