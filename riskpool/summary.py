"""The summary of a run as typed, frozen records; ``Summary.to_json()`` is ``summary.json``.

Every figure is specified in docs/model.md section 6 and its place in ``summary.json`` in section
8. Field order is the order of the file: :meth:`Summary.to_json` writes the records field by
field, and :meth:`Summary.from_json` reads such a file back.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Quantiles:
    """The 5 / 50 / 95 % quantiles of the first shortfall month among paths that ran short."""

    p05: int | None
    p50: int | None
    p95: int | None


@dataclass(frozen=True)
class Payout:
    """Payouts net of clawbacks over paths (yuan): mean and upper quantiles."""

    mean: float | None
    q95: float | None
    q99: float | None


@dataclass(frozen=True)
class Required:
    """Required capital (yuan) at 95 % and 99 % (docs/model.md section 6.3)."""

    q95: float | None
    q99: float | None


@dataclass(frozen=True)
class Group:
    """A tier or the whole fund: its member funds combined per path, then over paths."""

    p_shortfall: float
    p_shortfall_se: float
    sufficiency: float
    first_shortfall_month: Quantiles
    payout_net: Payout
    unpaid_mean: float | None
    required_capital: Required
    capital: float  # initial balances of the members, yuan
    nodes: int  # how many funds the group has
    survival: list[float]  # by month: share of paths without a shortfall so far


@dataclass(frozen=True)
class Node:
    """One fund node (a region with a fund)."""

    name: str
    tier: str
    capital: float
    p_shortfall: float
    p_shortfall_se: float
    sufficiency: float
    first_shortfall_month: Quantiles
    payout_net: Payout
    unpaid_mean: float | None
    required_capital: Required
    final_balance_mean: float | None
    survival: list[float]


@dataclass(frozen=True)
class PartyLoss:
    """A party's loss net of clawbacks (yuan): mean, 99 % VaR and 99 % expected shortfall."""

    loss_mean: float | None
    var99: float | None
    es99: float | None


@dataclass(frozen=True)
class GuarantorLoss(PartyLoss):
    fees_mean: float | None
    p_exhausted: float


@dataclass(frozen=True)
class InsurerLoss(PartyLoss):
    premiums_mean: float | None
    loss_ratio: float | None


@dataclass(frozen=True)
class Lending:
    """Lending over the horizon (means over paths) and its ratios to the initial fund capital."""

    originated_mean: float | None
    loans_originated_mean: float | None
    defaulted_ead_mean: float | None
    defaults_mean: float | None
    recovered_mean: float | None
    initial_fund_capital: float
    multiplier_mean: float | None
    leverage_peak_mean: float | None


@dataclass(frozen=True)
class County:
    """Circuit-breaker and NPL-warning figures of one county."""

    originated_mean: float | None
    npl_warning_months_mean: float | None
    p_breaker: float


@dataclass(frozen=True)
class Sampling:
    """How an importance-sampled run drew its factors, and what its weighted paths are worth."""

    method: str
    shift: list[float]
    ess: float
    ess_shortfall: float
    weight_mean: float


@dataclass(frozen=True)
class Caps:
    """What the caps on compensation sent to the bank, by design (not a shortfall): the per-loan
    cap, the cap on all tiers together and each fund's annual cap (docs/model.md section 5.2)."""

    capped_mean: float | None  # yuan per path, all caps together
    p_capped: float  # share of paths where some compensation was capped
    nodes: dict[str, float | None]  # per fund node: mean yuan its annual cap sent to the bank


@dataclass(frozen=True)
class Appropriation:
    """The top-ups a group of funds was paid at the start of one year (yuan): the budget it needed."""

    year: int  # paid in month 12 x year
    mean: float | None
    q95: float | None


@dataclass(frozen=True)
class FundYear:
    """A fund's year, as performance scoring reads it (财金〔2020〕31号): means over paths (yuan) of
    what it paid and clawed back, the EAD that defaulted and the principal lent under it during
    the year, and at the year's end the EAD in default, the outstanding under it and its balance;
    then the ratios of those means."""

    year: int
    paid_mean: float
    clawback_mean: float
    defaulted_mean: float
    originated_mean: float
    npl_mean: float
    outstanding_mean: float
    balance_mean: float
    compensation_rate: float | None  # 代偿率: paid / defaulted
    recovery_rate: float | None  # 回收率: clawed back / paid
    leverage: float | None  # 放大倍数: outstanding / balance at the year's end
    npl_ratio: float | None  # 不良率: in default / (in default + outstanding) at the year's end


@dataclass(frozen=True)
class Bank:
    """A cooperating bank over the horizon (docs/model.md section 6.11): money in yuan, means over paths."""

    name: str
    credit_line: float
    p_shortfall: float  # share of paths where a claim on its loans found its backing balance short
    first_shortfall_month_p50: int | None  # median first shortfall month among those paths
    originated_mean: float | None
    defaulted_ead_mean: float | None
    loss_mean: float | None  # its loss as a party on its loans
    fund_paid_mean: float | None  # what the funds paid on its loans, net of clawbacks
    unpaid_mean: float | None
    suspended_mean: float | None  # candidates dropped while its own breaker stopped it
    refused_mean: float | None  # candidates dropped by its credit line or its own leverage cap
    p_breaker: float  # share of paths where its own breaker tripped


@dataclass(frozen=True)
class Checkpoint:
    """The fund's shortfall estimate after the first ``paths`` paths, with its batch-means error."""

    paths: int
    p_shortfall: float
    se: float


@dataclass(frozen=True)
class Convergence:
    """How the estimate settles as paths are added, and the paths a narrower interval needs (6.12)."""

    batch_paths: int
    checkpoints: list[Checkpoint]
    paths_for: dict[str, int | None]  # half-width of the 95 % interval -> paths needed; None: no shortfall seen


@dataclass(frozen=True)
class ParameterSpread:
    """How the whole fund's shortfall varies over the blocks' parameter draws (docs/model.md 2.7):
    the spread of the blocks' shortfall shares, split into Monte Carlo noise and parameters."""

    blocks: int
    parameters: dict[str, list[float]]  # scenario path -> the value each block drew
    block_p_shortfall: list[float]
    total_sd: float
    monte_carlo_sd: float
    parameter_sd: float
    sufficiency_q025: float  # 2.5 % and 97.5 % quantiles of the blocks' sufficiency
    sufficiency_q975: float


@dataclass(frozen=True)
class Summary:
    """Every figure of a run (docs/model.md sections 6 and 8)."""

    scenario: str
    scenario_sha256: str
    seed: int
    paths: int
    horizon_months: int
    sampling: Sampling | None  # only under importance sampling (absent from a plain run's file)
    fund: Group
    tiers: dict[str, Group]  # province, city, county
    nodes: dict[str, Node]  # by region id, in file order
    parties: dict[str, PartyLoss]  # fund, bank, guarantor, insurer, evaluator
    lending: Lending
    counties: dict[str, County]
    caps: Caps | None = None  # only when a cap on compensation is set
    budget: dict[str, list[Appropriation]] | None = None  # only when a top-up depends on the balance: fund, tiers
    indicators: dict[str, list[FundYear]] | None = None  # only with simulation.indicators: each fund node, by year
    banks: dict[str, Bank] | None = None  # only with [[banks]]: by bank id, in file order
    convergence: Convergence | None = None  # absent from summaries of older runs
    uncertainty: ParameterSpread | None = None  # only with [uncertainty]

    def to_json(self) -> dict[str, Any]:
        """The content of ``summary.json`` (a part that does not apply to the run is left out)."""
        data = dataclasses.asdict(self)
        for key in OPTIONAL:
            if data[key] is None:
                del data[key]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        """A summary read back from the content of ``summary.json``."""
        return _build(cls, {**dict.fromkeys(OPTIONAL), **data})


OPTIONAL = ("sampling", "caps", "budget", "indicators", "banks", "convergence", "uncertainty")  # parts of a summary left out of summary.json when they do not apply


def _build(kind: Any, data: Any) -> Any:
    """``data`` (parsed JSON) as an instance of the annotated type ``kind``."""
    origin = typing.get_origin(kind)
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return kind(**{f.name: _build(hints[f.name], data[f.name]) for f in dataclasses.fields(kind)})
    if origin is dict:
        _, value = typing.get_args(kind)
        return {k: _build(_party_type(k, value), v) for k, v in data.items()}
    if origin is list:
        (item,) = typing.get_args(kind)
        return [_build(item, x) for x in data]
    if origin in (typing.Union, types.UnionType):
        if data is None:
            return None
        return _build(next(a for a in typing.get_args(kind) if a is not type(None)), data)
    return data


def _party_type(key: str, value: Any) -> Any:
    """The guarantor's and the insurer's records carry more figures than the other parties'."""
    if value is PartyLoss:
        return {"guarantor": GuarantorLoss, "insurer": InsurerLoss}.get(key, PartyLoss)
    return value
