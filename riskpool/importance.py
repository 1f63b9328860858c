"""Importance sampling of the yearly systematic factors, for rare shortfalls (Glasserman & Li 2005).

Under method ``"importance"`` every path draws ``Z_y ~ N(mu_y, 1)`` instead of ``N(0, 1)``: the
same standard normals plus ``mu_y`` (``fates.sample_block(..., shift=mu)``), so every other draw
is unchanged. A path then counts with its likelihood ratio, the density of its factors under the
plain law over the shifted one, ``w = exp(-sum_y mu_y Z_y + sum_y mu_y^2 / 2)``, and every figure
of ``metrics.summarize`` is a weighted estimate. City factors are not shifted.

The shift is found from the scenario alone, with no randomness: the mode of the zero-variance
density ``phi(z) P(shortfall | z)``, with ``P(shortfall | z)`` from a normal approximation of the
funds' claims around their large-pool (expected) amount given the factors. In a large pool this
is the smallest shift at which the expected claims of some fund reach its money.
docs/model.md, "Importance sampling", gives the formulas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import special

from .fates import cumulative_hazard, downturn_mean
from .ledger import S_FUND
from .structure import NET_LOSS, Structure

METHODS = ("plain", "importance", "auto")
# auto: importance sampling when the plain fund p_shortfall is below this, where 10,000 plain paths
# see 10 shortfalls or fewer (docs/model.md, "Importance sampling", on why not higher)
AUTO_THRESHOLD = 0.001
Z_MAX = 6.0  # no year's factor is shifted below -6 (a one-year probability of 1e-9)
GRID_STEP = 0.25  # the search scans the shift in these steps, then refines around the best one
TERNARY_STEPS = 30  # 0.5 (2/3)^30 < 3e-6: below the 4 decimals the shift is rounded to
SHIFT_DECIMALS = 4  # the shift is recorded, and used, rounded to this
CHUNK_CELLS = 2_000_000  # candidates x counties x months evaluated at once (about 16 MB an array)


@dataclass(frozen=True)
class Sampling:
    """How a run sampled the systematic factors, and why."""

    method: str = "plain"  # what produced the results: "plain" or "importance"
    shift: tuple[float, ...] = ()  # mean of Z_y in each year under "importance"
    requested: str = "plain"  # the --method asked for: plain, importance or auto
    pilot_p_shortfall: float | None = None  # auto: the fund p_shortfall of the plain run

    @property
    def weighted(self) -> bool:
        return self.method != "plain"

    def manifest(self) -> dict[str, Any]:
        """What manifest.json records; ``verify`` reruns ``method`` (the shift is recomputed)."""
        out: dict[str, Any] = {"method": self.method, "requested": self.requested}
        if self.weighted:
            out["shift"] = list(self.shift)
        if self.requested == "auto":
            out.update(auto_threshold=AUTO_THRESHOLD, pilot_p_shortfall=self.pilot_p_shortfall)
        return out


PLAIN = Sampling()


def sampling_for(method: str, st: Structure) -> Sampling:
    """The sampling of a ``"plain"`` or an ``"importance"`` run of ``st`` (its shift searched)."""
    if method == "plain":
        return PLAIN
    return Sampling("importance", tuple(systematic_shift(st).tolist()), "importance")


def likelihood_ratio(z: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Per path, the N(0, I) density of its factors ``z`` (paths, years) over the N(shift, I) one."""
    return np.exp(0.5 * float(shift @ shift) - z @ shift)


def effective_sample_size(weight: np.ndarray) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` (the path count when every w = 1)."""
    total = float(weight.sum())
    return total * total / float(weight @ weight) if total > 0 else 0.0


def systematic_shift(st: Structure) -> np.ndarray:
    """The mean of each year's factor under importance sampling (zeros if no shift helps).

    The mode of the zero-variance density ``phi(z) P(shortfall | z)``, with ``P(shortfall | z)``
    approximated by ``FundApproximation.log_p_short``, over the shifts of years ``0 .. Y`` by a
    common ``mu`` that leave later years alone (a shortfall by year ``Y`` does not depend on later
    factors): per ``Y`` a scan of ``mu`` down to ``-Z_MAX`` and a ternary search around the best
    point, then the best ``Y``. Zero when no shift beats ``mu = 0`` (shortfalls are not rare,
    or come from single loans rather than bad years).
    """
    years = st.horizon_months // 12
    approx = FundApproximation(st)
    masks = np.tril(np.ones((years, years)))  # row Y: years 0 .. Y shifted

    def log_density(mu: np.ndarray) -> np.ndarray:  # mu (candidates, Y) -> (candidates, Y)
        z = (mu[:, :, None] * masks[None]).reshape(-1, years)
        return (-0.5 * np.sum(z * z, axis=1) + approx.log_p_short(z)).reshape(mu.shape)

    grid = -np.arange(0.0, Z_MAX + GRID_STEP / 2, GRID_STEP)
    best = grid[np.argmax(log_density(np.repeat(grid[:, None], years, axis=1)), axis=0)]
    lo, hi = np.maximum(best - GRID_STEP, -Z_MAX), np.minimum(best + GRID_STEP, 0.0)
    for _ in range(TERNARY_STEPS):
        left, right = lo + (hi - lo) / 3, hi - (hi - lo) / 3
        higher_left = (log_density(np.stack([left, right]))).argmax(axis=0) == 0
        lo, hi = np.where(higher_left, lo, left), np.where(higher_left, right, hi)
    mu = 0.5 * (lo + hi)
    value = log_density(np.stack([mu, np.zeros(years)]))
    y = int(np.argmax(value[0]))
    if not value[0, y] > value[1, 0]:
        return np.zeros(years)
    return np.round(mu[y] * masks[y], SHIFT_DECIMALS) + 0.0  # + 0.0: no negative zeros


class FundApproximation:
    """Each fund's gap (claims less clawbacks, initial balance and top-ups) given the yearly
    factors: its mean with every county's defaults at their expected amount (the large pool), its
    variance from the loans' independent defaults given the factors (compound Poisson). Loan rules
    are taken at the mean loan size; origination rules and interest are left out (docs/model.md)."""

    def __init__(self, st: Structure):
        self.st = st
        t = st.horizon_months
        size = st.size_mean
        # expected principal of each county's cohorts: initial loans (month -1), then each month
        self.cohort = np.column_stack([st.initial_loans * size] + [st.monthly_rate * size] * t)
        self.second = size * (1 + st.size_cv**2)  # E[S^2] / E[S]: variance of defaulted EAD per yuan
        m = np.arange(t)
        self.window_lo = np.maximum(0, m[None, :] - st.tenor[:, None] + 1)  # first cohort at risk in m
        self.fund_share = self._fund_share()
        lag, delay = st.rules.claim_lag, max(1, math.ceil(st.disposal_mean))
        self.net_first = st.rules.basis == NET_LOSS or delay <= lag
        self.claim_delay = max(lag, delay) if self.net_first else lag
        self.disposal_delay = delay
        self.inflows = st.node_initial[:, None] + st.node_topup[:, None] * (m // 12)[None, :]

    def _fund_share(self) -> np.ndarray:
        """(counties, nodes): each fund's part of a yuan defaulted in the county, at the mean size."""
        st = self.st
        band = np.searchsorted(st.band_max, st.size_mean, side="left")  # first band with size <= max_loan
        fund = st.shares[band, S_FUND] * st.ip_share
        if st.rules.max_covered > 0:
            fund = fund * np.minimum(1.0, st.rules.max_covered / st.size_mean)
        if st.rules.per_loan_cap > 0:
            fund = np.minimum(fund, st.rules.per_loan_cap / st.size_mean)
        fund = np.minimum(fund, st.rules.fund_cap_share)
        share = np.zeros((st.n_counties, st.n_nodes))
        for c in range(st.n_counties):
            for slot in range(3):
                payer = st.route[c, slot]
                if payer >= 0:
                    share[c, st.county_fund[c, payer]] += st.tier_split[c, slot] * fund[c]
        return share

    def defaults(self, z: np.ndarray) -> np.ndarray:
        """(candidates, counties, months): expected EAD defaulting in each month, given ``z``."""
        st = self.st
        t = st.horizon_months
        # the large pool averages the city factors out: the plain one-factor PD, rho_city = 0
        hazard = cumulative_hazard(replace(st, rho_city=0.0), z, None)[:, st.risk_class, :]
        survival = np.exp(-hazard)  # index a: survival to the end of month a - 1
        alive = self.cohort[None, :, :t] / survival[:, :, :t]  # cohort a (originated in month a - 1)
        total = np.concatenate([np.zeros(alive.shape[:2] + (1,)), np.cumsum(alive, axis=2)], axis=2)
        lo = np.broadcast_to(self.window_lo, alive.shape)
        at_risk = total[:, :, 1:] - np.take_along_axis(total, lo, axis=2)
        return (survival[:, :, :t] - survival[:, :, 1:]) * at_risk

    def log_p_short(self, z: np.ndarray) -> np.ndarray:
        """Per candidate ``z`` (candidates, years): log P(some fund runs short | z), as the normal
        tail of the gap's z-score at the fund and month end where that score is highest."""
        if self.st.n_nodes == 0:
            return np.full(len(z), -np.inf)
        per_chunk = max(1, CHUNK_CELLS // (self.st.n_counties * (self.st.horizon_months + 1)))
        return np.concatenate([self._log_p_short(z[i : i + per_chunk]) for i in range(0, len(z), per_chunk)])

    def _log_p_short(self, z: np.ndarray) -> np.ndarray:
        st = self.st
        t = st.horizon_months
        ead = self.defaults(z)
        due = np.einsum("kcm,cj->kjm", ead, self.fund_share)  # by default month
        spread = np.einsum("kcm,cj->kjm", ead * self.second[None, :, None], self.fund_share**2)
        kept = downturn_mean(st.recovery_mean, st.recovery_loading, np.repeat(z, 12, axis=1)) * (1 - st.rules.disposal_cost)
        if self.net_first:  # the claim is on the loss net of the recovery, and nothing comes back
            claimed = _delayed(due * (1 - kept[:, None, :]), self.claim_delay, t)
            variance = _delayed(spread * (1 - kept[:, None, :]) ** 2, self.claim_delay, t)
        else:
            claimed = _delayed(due, self.claim_delay, t) - _delayed(due * kept[:, None, :], self.disposal_delay, t)
            variance = _delayed(spread, self.claim_delay, t)
        gap = np.cumsum(claimed, axis=2) - self.inflows[None]
        sd = np.sqrt(np.cumsum(variance, axis=2))
        score = np.where(sd > 0, gap / np.where(sd > 0, sd, 1.0), np.where(gap > 0, np.inf, -np.inf))
        return special.log_ndtr(score.max(axis=(1, 2)))


def _delayed(x: np.ndarray, months: int, horizon: int) -> np.ndarray:
    """``x`` moved ``months`` later along its last axis; what falls after the horizon is dropped."""
    out = np.zeros_like(x)
    if months < horizon:
        out[..., months:] = x[..., : horizon - months]
    return out
