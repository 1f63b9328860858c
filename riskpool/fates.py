"""All randomness of riskpool: systematic factors and the fates of every candidate loan.

Paths are simulated in RNG blocks of ``BLOCK_PATHS`` paths. Block ``b`` draws from
``SeedSequence(seed).spawn(b + 1)[b]`` (the same as ``SeedSequence(seed, spawn_key=(b,))``),
whatever worker or machine runs it, and splits it into one child stream per kind of draw
(``STREAMS``), so that switching a draw off (say, a fixed loan size) leaves every other draw
unchanged. Within a stream, draws are consumed in path order, then loan-id order.

Candidate loans of a path are numbered (their *loan id*) by origination month (initial loans
first, as month -1), then county position in the file, then draw order (MODEL.md section 4).
A county's monthly Poisson counts are drawn as a Poisson total over the horizon spread over
months uniformly at random, which has exactly the law of independent monthly Poisson counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy import special

from .structure import Structure

BLOCK_PATHS = 250
STREAMS = ("systematic", "city", "counts", "months", "sizes", "defaults", "recovery", "delay")
NO_DEFAULT = np.int32(2**30)


@dataclass
class Fates:
    """The sampled fates of one block of paths; loans of path k are ``path_start[k]:path_start[k+1]``."""

    path_start: np.ndarray  # int64 (paths + 1,)
    county: np.ndarray  # int32 per loan
    orig: np.ndarray  # int32 origination month, -1 for initial loans
    size: np.ndarray  # float64 yuan
    default_month: np.ndarray  # int32, NO_DEFAULT when it survives the horizon or its tenor
    recovery: np.ndarray  # float64 recovery fraction R (meaningful for defaulted loans)
    delay: np.ndarray  # int32 disposal delay in months (meaningful for defaulted loans)
    systematic: np.ndarray  # float64 (paths, years): Z_y

    @property
    def n_paths(self) -> int:
        return len(self.path_start) - 1


def block_streams(seed: int, block: int) -> dict[str, np.random.Generator]:
    """One independent generator per kind of draw for RNG block ``block`` of ``seed``."""
    children = np.random.SeedSequence(seed, spawn_key=(block,)).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children)}


def sample_block(st: Structure, seed: int, block: int, n_paths: int) -> Fates:
    """Draw the fates of the ``n_paths`` paths of RNG block ``block``."""
    rng = block_streams(seed, block)
    years = st.horizon_months // 12
    z = rng["systematic"].standard_normal((n_paths, years))
    w = rng["city"].standard_normal((n_paths, years, st.n_cities)) if st.rho_city > 0 else None
    hazard = cumulative_hazard(st, z, w)
    path_start, county, orig = candidate_loans(st, rng["counts"], rng["months"], n_paths)
    size = loan_sizes(st, rng["sizes"], county)
    exposure = rng["defaults"].standard_exponential(len(county))
    default_month = default_months(path_start, county, orig, st.tenor, exposure, hazard, st.horizon_months)
    recovery, delay = collateral_outcomes(st, rng["recovery"], rng["delay"], path_start, default_month, z)
    return Fates(path_start, county, orig, size, default_month, recovery, delay, z)


def conditional_pd(st: Structure, z: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """Annual PD given the factors, per (path, year, county): the Vasicek formula, capped."""
    if st.rho == 0 and st.rho_city == 0:
        return np.broadcast_to(st.pd[None, :, :], (z.shape[0],) + st.pd.shape)
    shift = np.sqrt(st.rho) * z[:, :, None]
    if w is not None:
        shift = shift + np.sqrt(st.rho_city) * w[:, :, st.county_city]
    threshold = special.ndtri(st.pd)[None, :, :]  # -inf for a PD of 0
    p = special.ndtr((threshold - shift) / np.sqrt(1.0 - st.rho - st.rho_city))
    return np.minimum(p, 1.0 - 1e-12)


def cumulative_hazard(st: Structure, z: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """Cumulative monthly hazard per (path, county, month + 1), 0 at month -1.

    The monthly hazard of year y is ``-log(1 - p_y) / 12``, so that surviving 12 months has
    probability ``1 - p_y`` (MODEL.md section 3: a constant monthly hazard within the year).
    """
    p = conditional_pd(st, z, w)
    monthly = -np.log1p(-p) / 12.0  # (paths, years, counties)
    per_month = np.repeat(monthly, 12, axis=1).transpose(0, 2, 1)  # (paths, counties, months)
    out = np.zeros(per_month.shape[:2] + (per_month.shape[2] + 1,))
    np.cumsum(per_month, axis=2, out=out[:, :, 1:])
    return out


def candidate_loans(
    st: Structure, counts_rng: np.random.Generator, months_rng: np.random.Generator, n_paths: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Path offsets, county and origination month of every candidate loan, in loan-id order."""
    horizon, n_counties = st.horizon_months, st.n_counties
    totals = counts_rng.poisson(st.monthly_rate * horizon, size=(n_paths, n_counties))
    path_of = np.repeat(np.repeat(np.arange(n_paths), n_counties), totals.ravel())
    county_of = np.repeat(np.tile(np.arange(n_counties), n_paths), totals.ravel())
    month_of = months_rng.integers(0, horizon, size=len(path_of), dtype=np.int64)
    cells = (path_of * horizon + month_of) * n_counties + county_of
    counts = np.bincount(cells, minlength=n_paths * horizon * n_counties).reshape(n_paths, horizon, n_counties)
    counts = np.concatenate([np.broadcast_to(st.initial_loans, (n_paths, 1, n_counties)), counts], axis=1)
    flat = counts.ravel()
    county = np.repeat(np.tile(np.arange(n_counties, dtype=np.int32), n_paths * (horizon + 1)), flat)
    month = np.repeat(np.tile(np.repeat(np.arange(-1, horizon, dtype=np.int32), n_counties), n_paths), flat)
    path_start = np.zeros(n_paths + 1, dtype=np.int64)
    np.cumsum(counts.sum(axis=(1, 2)), out=path_start[1:])
    return path_start, county, month


def loan_sizes(st: Structure, rng: np.random.Generator, county: np.ndarray) -> np.ndarray:
    """Lognormal sizes with each county's arithmetic mean and coefficient of variation."""
    mean = st.size_mean[county]
    if not np.any(st.size_cv > 0):
        return mean.astype(np.float64, copy=True)
    sigma = np.sqrt(np.log1p(st.size_cv**2))[county]
    return mean * np.exp(sigma * rng.standard_normal(len(county)) - 0.5 * sigma**2)


@njit(cache=True)
def default_months(path_start, county, orig, tenor, exposure, hazard, horizon):  # pragma: no cover - compiled
    """First month in the loan's risk window where cumulative hazard reaches its exponential draw."""
    out = np.full(len(county), NO_DEFAULT, dtype=np.int32)
    for b in range(len(path_start) - 1):
        for i in range(path_start[b], path_start[b + 1]):
            c, o = county[i], orig[i]
            last = min(o + tenor[c], horizon - 1)
            if last <= o:
                continue
            base = hazard[b, c, o + 1]
            if hazard[b, c, last + 1] - base < exposure[i]:
                continue
            lo, hi = o + 1, last  # smallest m in [lo, hi] with hazard[m + 1] - base >= exposure
            while lo < hi:
                mid = (lo + hi) // 2
                if hazard[b, c, mid + 1] - base >= exposure[i]:
                    hi = mid
                else:
                    lo = mid + 1
            out[i] = lo
    return out


def collateral_outcomes(
    st: Structure,
    recovery_rng: np.random.Generator,
    delay_rng: np.random.Generator,
    path_start: np.ndarray,
    default_month: np.ndarray,
    z: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Recovery fraction and disposal delay of each candidate, by inversion of one uniform each.

    Every candidate draws its uniforms (so a loan keeps them when a sweep changes the PD);
    the Beta and Gamma quantiles are evaluated only for loans that default.
    """
    n = len(default_month)
    recovery = np.zeros(n)
    delay = np.zeros(n, dtype=np.int32)
    u_rec = recovery_rng.random(n) if st.recovery_sd > 0 else None
    u_delay = delay_rng.random(n) if st.disposal_sd > 0 else None
    hit = np.flatnonzero(default_month != NO_DEFAULT)
    if len(hit) == 0:
        return recovery, delay
    path = np.searchsorted(path_start, hit, side="right") - 1
    year = default_month[hit] // 12
    mean = downturn_mean(st.recovery_mean, st.recovery_loading, z[path, year])
    if u_rec is None:
        recovery[hit] = mean
    else:
        concentration = st.recovery_mean * (1 - st.recovery_mean) / st.recovery_sd**2 - 1
        mean = np.clip(mean, 1e-12, 1 - 1e-12)  # a Beta needs both parameters > 0
        recovery[hit] = special.betaincinv(mean * concentration, (1 - mean) * concentration, u_rec[hit])
    if u_delay is None:
        months = np.full(len(hit), st.disposal_mean)
    else:
        shape = (st.disposal_mean / st.disposal_sd) ** 2
        months = special.gammaincinv(shape, u_delay[hit]) * st.disposal_sd**2 / st.disposal_mean
    # A disposal needs a defaulted loan: it comes at the earliest in the month after default.
    delay[hit] = np.maximum(1, np.ceil(months)).astype(np.int32)
    return recovery, delay


def downturn_mean(mean: float, loading: float, z: np.ndarray) -> np.ndarray:
    """Beta mean in the year of default: ``Phi(Phi^-1(mean) + loading * Z_y)``."""
    if loading == 0 or mean in (0.0, 1.0):
        return np.full(z.shape, mean)
    return special.ndtr(special.ndtri(mean) + loading * z)
