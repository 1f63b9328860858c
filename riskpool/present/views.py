"""What the terminal, the report and the web app show of a summary, chosen once, in no language.

Each front end renders these views in its own way (rich tables, HTML, Streamlit widgets); none of
them picks figures out of a summary on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..scenario import TIERS, Scenario
from ..summary import Bank, Group, Node, PartyLoss, Summary

WEAKEST = 10  # fund nodes in the list of the weakest


def groups(summary: Summary) -> list[tuple[str, Group]]:
    """The whole fund, then each tier that has funds (province, city, county)."""
    return [("fund", summary.fund)] + [(tier, g) for tier, g in summary.tiers.items() if g.nodes]


def funded_tiers(summary: Summary) -> list[str]:
    """The tiers that have funds, province first."""
    return [tier for tier, g in summary.tiers.items() if g.nodes]


def weakest_nodes(summary: Summary, count: int = WEAKEST) -> list[tuple[str, Node]]:
    """The ``count`` fund nodes most likely to run short: highest p_shortfall first, ties by id."""
    return by_weakness(summary)[:count]


def by_weakness(summary: Summary) -> list[tuple[str, Node]]:
    """Every fund node, the most likely to run short first, ties by id."""
    return sorted(summary.nodes.items(), key=lambda kv: (-kv[1].p_shortfall, kv[0]))


def parties(summary: Summary) -> list[tuple[str, PartyLoss]]:
    """Each party's losses: fund, bank, guarantor, insurer, evaluator."""
    return list(summary.parties.items())


def banks(summary: Summary) -> list[tuple[str, Bank]]:
    """Each cooperating bank in file order (none without [[banks]])."""
    return list((summary.banks or {}).items())


@dataclass(frozen=True)
class TierTotal:
    """The money of one tier's funds (yuan)."""

    tier: str
    funds: int
    capital: float
    annual_topup: float


def tier_totals(s: Scenario) -> list[TierTotal]:
    """Initial capital and yearly top-ups of each tier's funds, province first (tiers without funds left out)."""
    totals = []
    for tier in TIERS:
        funded = [r for r in s.regions if r.tier == tier and r.fund is not None]
        if funded:
            totals.append(TierTotal(tier, len(funded), sum(r.fund for r in funded), sum(r.annual_topup for r in funded)))
    return totals


COMPARED = (  # (label key, the figure of a summary)
    ("sufficiency", lambda s: s.fund.sufficiency),
    ("sufficiency_province", lambda s: s.tiers["province"].sufficiency),
    ("sufficiency_city", lambda s: s.tiers["city"].sufficiency),
    ("sufficiency_county", lambda s: s.tiers["county"].sufficiency),
    ("required_q95", lambda s: s.fund.required_capital.q95),
    ("capital", lambda s: s.fund.capital),
    ("payout_mean", lambda s: s.fund.payout_net.mean),
    ("unpaid_mean", lambda s: s.fund.unpaid_mean),
    ("loss_bank", lambda s: s.parties["bank"].loss_mean),
    ("loss_insurer", lambda s: s.parties["insurer"].loss_mean),
    ("multiplier", lambda s: s.lending.multiplier_mean),
)
PROBABILITIES = {"sufficiency", "sufficiency_province", "sufficiency_city", "sufficiency_county"}


def compare(base: Summary, edited: Summary) -> list[tuple[str, float | None, float | None]]:
    """(label key, base value, edited value) of the figures two runs are compared by."""
    return [(key, figure(base), figure(edited)) for key, figure in COMPARED]
