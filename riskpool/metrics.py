"""Figures of MODEL.md section 6 computed from per-path results.

Tier and fund-wide figures aggregate their nodes per path first (shortfall: any node; first
shortfall month: the earliest; payout, unpaid, required capital: sums), then take statistics
over paths. Quantiles use numpy's ``inverted_cdf`` method (an observed value, no interpolation).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .engine import Results
from .structure import SLOT_TIERS

QUANTILE_METHOD = "inverted_cdf"
PARTY_COLUMNS = {
    "fund": "loss_fund", "bank": "loss_bank", "guarantor": "loss_guarantor",
    "insurer": "loss_insurer", "evaluator": "loss_evaluator",
}


def quantile(x: np.ndarray, q: float | list[float], axis: int | None = None) -> Any:
    return np.quantile(x, q, axis=axis, method=QUANTILE_METHOD)


def _num(x: float | np.floating) -> float | None:
    """A JSON-safe float: None for NaN or infinity."""
    value = float(x)
    return value if math.isfinite(value) else None


def shortfall_stats(first: np.ndarray) -> dict[str, Any]:
    """p_shortfall, its standard error and quantiles of the first shortfall month.

    ``first`` holds each path's first shortfall month, -1 where the path had none.
    """
    hit = first >= 0
    n = len(first)
    p = float(hit.mean())
    months = first[hit]
    q = quantile(months, [0.05, 0.5, 0.95]) if len(months) else [None] * 3
    return {
        "p_shortfall": p,
        "p_shortfall_se": math.sqrt(p * (1 - p) / n),
        "sufficiency": 1 - p,
        "first_shortfall_month": {k: (None if v is None else int(v)) for k, v in zip(("p05", "p50", "p95"), q)},
    }


def money_stats(payout: np.ndarray, unpaid: np.ndarray, required: np.ndarray) -> dict[str, Any]:
    return {
        "payout_net": {"mean": _num(payout.mean()), "q95": _num(quantile(payout, 0.95)), "q99": _num(quantile(payout, 0.99))},
        "unpaid_mean": _num(unpaid.mean()),
        "required_capital": {"q95": _num(quantile(required, 0.95)), "q99": _num(quantile(required, 0.99))},
    }


def earliest(first: np.ndarray) -> np.ndarray:
    """Per path, the earliest first-shortfall month across columns (nodes), -1 if none."""
    if first.shape[1] == 0:
        return np.full(first.shape[0], -1.0)
    masked = np.where(first >= 0, first, np.inf)
    low = masked.min(axis=1)
    return np.where(np.isfinite(low), low, -1.0)


def survival_curve(first: np.ndarray, horizon: int) -> list[float]:
    """Share of paths without a shortfall up to and including each month."""
    months = first[first >= 0].astype(np.int64)
    hits = np.cumsum(np.bincount(months, minlength=horizon)[:horizon])
    return [float(v) for v in 1.0 - hits / len(first)]


def group_summary(res: Results, members: np.ndarray) -> dict[str, Any]:
    """Figures of a set of fund nodes (a tier or the whole fund), aggregated per path first."""
    first = earliest(res.node_column("first_shortfall_month")[:, members])
    out = shortfall_stats(first)
    out.update(money_stats(
        res.node_column("payout_net")[:, members].sum(axis=1),
        res.node_column("unpaid")[:, members].sum(axis=1),
        res.node_column("required_capital")[:, members].sum(axis=1),
    ))
    out["capital"] = float(res.structure.node_initial[members].sum())
    out["nodes"] = int(members.sum())
    out["survival"] = survival_curve(first, res.structure.horizon_months)
    return out


def node_summaries(res: Results) -> dict[str, dict[str, Any]]:
    st = res.structure
    out = {}
    for j, node in enumerate(st.node_ids):
        entry = {"name": st.node_names[j], "tier": SLOT_TIERS[st.node_tier[j]], "capital": float(st.node_initial[j])}
        first = res.node_column("first_shortfall_month")[:, j]
        entry.update(shortfall_stats(first))
        entry.update(money_stats(
            res.node_column("payout_net")[:, j], res.node_column("unpaid")[:, j], res.node_column("required_capital")[:, j]
        ))
        entry["final_balance_mean"] = _num(res.node_column("final_balance")[:, j].mean())
        entry["survival"] = survival_curve(first, st.horizon_months)
        out[node] = entry
    return out


def party_summaries(res: Results) -> dict[str, dict[str, Any]]:
    out = {}
    for party, column in PARTY_COLUMNS.items():
        loss = res.path_column(column)
        var = quantile(loss, 0.99)
        out[party] = {"loss_mean": _num(loss.mean()), "var99": _num(var), "es99": _num(loss[loss >= var].mean())}
    premiums = res.path_column("premiums").mean()
    out["insurer"]["premiums_mean"] = _num(premiums)
    out["insurer"]["loss_ratio"] = _num(res.path_column("loss_insurer").mean() / premiums) if premiums > 0 else None
    out["guarantor"]["fees_mean"] = _num(res.path_column("fees").mean())
    out["guarantor"]["p_exhausted"] = float(res.path_column("guarantor_exhausted").mean())
    return out


def lending_summary(res: Results) -> dict[str, Any]:
    capital = float(res.structure.node_initial.sum())
    originated = res.path_column("originated")
    peak = res.path_column("peak_outstanding")
    ratio = (lambda x: _num((x / capital).mean())) if capital > 0 else (lambda x: None)
    return {
        "originated_mean": _num(originated.mean()),
        "loans_originated_mean": _num(res.path_column("n_originated").mean()),
        "defaulted_ead_mean": _num(res.path_column("defaulted_ead").mean()),
        "defaults_mean": _num(res.path_column("n_defaults").mean()),
        "recovered_mean": _num(res.path_column("recovered").mean()),
        "initial_fund_capital": capital,
        "multiplier_mean": ratio(originated),
        "leverage_peak_mean": ratio(peak),
    }


def county_summaries(res: Results) -> dict[str, dict[str, Any]]:
    """Circuit-breaker and NPL-warning figures per county (MODEL.md section 4)."""
    warn = res.county_column("npl_warning_months")
    trips = res.county_column("breaker_trips")
    orig = res.county_column("originated")
    return {
        cid: {
            "originated_mean": _num(orig[:, c].mean()),
            "npl_warning_months_mean": _num(warn[:, c].mean()),
            "p_breaker": float((trips[:, c] > 0).mean()),
        }
        for c, cid in enumerate(res.structure.county_ids)
    }


def summarize(res: Results) -> dict[str, Any]:
    """The summary of MODEL.md section 8 (and more): deterministic for a given run."""
    st = res.structure
    tier_of = np.asarray(st.node_tier)
    return {
        "scenario": res.scenario.meta.name,
        "scenario_sha256": res.scenario.sha256(),
        "seed": res.seed,
        "paths": res.n_paths,
        "horizon_months": st.horizon_months,
        "fund": group_summary(res, np.ones(st.n_nodes, dtype=bool)),
        "tiers": {tier: group_summary(res, tier_of == t) for t, tier in reversed(list(enumerate(SLOT_TIERS)))},
        "nodes": node_summaries(res),
        "parties": party_summaries(res),
        "lending": lending_summary(res),
        "counties": county_summaries(res),
    }
