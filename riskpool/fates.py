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

import math
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
    defaulted: np.ndarray  # int64 indices of the candidates that default, ascending
    recovery: np.ndarray  # float64 recovery fraction R of each defaulted candidate
    delay: np.ndarray  # int32 disposal delay in months of each defaulted candidate
    systematic: np.ndarray  # float64 (paths, years): Z_y, shifted under importance sampling

    @property
    def n_paths(self) -> int:
        return len(self.path_start) - 1


def block_streams(seed: int, block: int) -> dict[str, np.random.Generator]:
    """One independent generator per kind of draw for RNG block ``block`` of ``seed``."""
    children = np.random.SeedSequence(seed, spawn_key=(block,)).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children)}


def sample_block(st: Structure, seed: int, block: int, n_paths: int, shift: np.ndarray | None = None) -> Fates:
    """Draw the fates of the ``n_paths`` paths of RNG block ``block``.

    With ``shift`` (one mean per year), ``Z_y ~ N(shift_y, 1)``: the same normals plus the shift,
    for importance sampling (``importance.likelihood_ratio`` gives each path's weight).
    """
    rng = block_streams(seed, block)
    years, horizon = st.horizon_months // 12, st.horizon_months
    z = rng["systematic"].standard_normal((n_paths, years))
    if shift is not None:
        z += shift
    w = rng["city"].standard_normal((n_paths, years, st.n_cities)) if st.rho_city > 0 else None
    hazard = cumulative_hazard(st, z, w)
    totals = rng["counts"].poisson(st.monthly_rate * horizon, size=(n_paths, st.n_counties))
    months = rng["months"].integers(0, horizon, size=int(totals.sum()), dtype=np.int64)
    uniform = rng["defaults"].random(int(totals.sum() + n_paths * st.initial_loans.sum()))
    path_start, county, orig, default_month = place_loans(
        totals, months, st.initial_loans, horizon, st.tenor, st.risk_class, uniform, np.exp(-hazard)
    )
    size = loan_sizes(st, rng["sizes"], county)
    defaulted = np.flatnonzero(default_month != NO_DEFAULT)
    recovery, delay = collateral_outcomes(st, rng["recovery"], rng["delay"], path_start, defaulted, default_month, z)
    return Fates(path_start, county, orig, size, default_month, defaulted, recovery, delay, z)


def conditional_pd(st: Structure, z: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """Annual PD given the factors, per (path, year, risk class): the Vasicek formula, capped."""
    if st.rho == 0 and st.rho_city == 0:
        return np.broadcast_to(st.class_pd[None, :, :], (z.shape[0],) + st.class_pd.shape)
    shift = np.sqrt(st.rho) * z[:, :, None]
    if w is not None:
        shift = shift + np.sqrt(st.rho_city) * w[:, :, st.class_city]
    threshold = special.ndtri(st.class_pd)[None, :, :]  # -inf for a PD of 0
    p = special.ndtr((threshold - shift) / np.sqrt(1.0 - st.rho - st.rho_city))
    return np.minimum(p, 1.0 - 1e-12)


def cumulative_hazard(st: Structure, z: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """Cumulative monthly hazard per (path, risk class, month + 1), 0 at month -1.

    The monthly hazard of year y is ``-log(1 - p_y) / 12``, so that surviving 12 months has
    probability ``1 - p_y`` (MODEL.md section 3: a constant monthly hazard within the year).
    """
    monthly = -np.log1p(-conditional_pd(st, z, w)) / 12.0  # (paths, years, classes)
    return _accumulate_hazard(np.ascontiguousarray(monthly))


@njit(cache=True)
def _accumulate_hazard(monthly):  # pragma: no cover - compiled
    n_paths, years, n_classes = monthly.shape
    out = np.zeros((n_paths, n_classes, 12 * years + 1))
    for b in range(n_paths):
        for c in range(n_classes):
            total = 0.0
            for y in range(years):
                h = monthly[b, y, c]
                for k in range(12):
                    total += h
                    out[b, c, 12 * y + k + 1] = total
    return out


@njit(cache=True)
def place_loans(totals, months, initial, horizon, tenor, risk_class, uniform, survival):  # pragma: no cover
    """Number the candidate loans (loan-id order) and find each one's default month.

    A counting sort puts the drawn loans in order of month, county and draw order. The loan
    with id ``i`` takes ``uniform[i] = U`` and defaults in the first month of its risk window
    where the cumulative hazard since origination reaches ``E = -ln U`` (an Exp(1) variable).
    """
    n_paths, n_counties = totals.shape
    per_path = totals.sum(axis=1) + initial.sum()
    path_start = np.zeros(n_paths + 1, dtype=np.int64)
    for b in range(n_paths):
        path_start[b + 1] = path_start[b] + per_path[b]
    county = np.empty(path_start[-1], dtype=np.int32)
    orig = np.empty(path_start[-1], dtype=np.int32)
    default_month = np.empty(path_start[-1], dtype=np.int32)
    cell = np.zeros((horizon, n_counties), dtype=np.int64)
    drawn = 0
    for b in range(n_paths):
        pos = path_start[b]
        for c in range(n_counties):  # initial loans: month -1
            alive = survival[b, risk_class[c]]
            for _ in range(initial[c]):
                county[pos] = c
                orig[pos] = -1
                default_month[pos] = _default_month(alive, -1, tenor[c], uniform[pos], horizon)
                pos += 1
        cell[:] = 0
        k = drawn
        for c in range(n_counties):
            for _ in range(totals[b, c]):
                cell[months[k], c] += 1
                k += 1
        for m in range(horizon):  # cell counts -> first position of each (month, county) cell
            for c in range(n_counties):
                count = cell[m, c]
                cell[m, c] = pos
                pos += count
        for c in range(n_counties):
            alive = survival[b, risk_class[c]]
            for _ in range(totals[b, c]):
                m = months[drawn]
                i = cell[m, c]
                cell[m, c] += 1
                county[i] = c
                orig[i] = m
                default_month[i] = _default_month(alive, m, tenor[c], uniform[i], horizon)
                drawn += 1
    return path_start, county, orig, default_month


@njit(cache=True, inline="always")
def _default_month(survival, o, tenor, u, horizon):  # pragma: no cover - compiled
    """First m in o+1 .. min(o+tenor, T-1) with cumulative hazard since o >= -ln u, else NO_DEFAULT.

    In survival terms (survival = exp(-cumulative hazard)): ``survival[m+1] <= u * survival[o+1]``,
    with no logarithm per loan. The PD cap (1 - 1e-12, a hazard of at most 27.7 a year) and the
    horizon limit (20 years) keep the survival above 1e-241, far from underflow.
    """
    last = min(o + tenor, horizon - 1)
    if last <= o:
        return NO_DEFAULT
    bar = u * survival[o + 1]
    if survival[last + 1] > bar:
        return NO_DEFAULT
    lo, hi = o + 1, last
    while lo < hi:
        mid = (lo + hi) // 2
        if survival[mid + 1] <= bar:
            hi = mid
        else:
            lo = mid + 1
    return lo


def loan_sizes(st: Structure, rng: np.random.Generator, county: np.ndarray) -> np.ndarray:
    """Lognormal sizes with each county's arithmetic mean and coefficient of variation."""
    if not np.any(st.size_cv > 0):
        return st.size_mean[county]
    sigma = np.sqrt(np.log1p(st.size_cv**2))
    # single precision (7 significant digits of a size) halves the cost of this step
    x = rng.standard_normal(len(county), dtype=np.float32)
    if np.all(sigma == sigma[0]):  # one shape for all counties: vectorised in place
        x *= np.float32(sigma[0])
        x -= np.float32(0.5 * sigma[0] ** 2)
    else:
        x *= sigma[county].astype(np.float32)
        x -= (0.5 * sigma[county] ** 2).astype(np.float32)
    np.exp(x, out=x)
    size = x.astype(np.float64)
    size *= st.size_mean[0] if np.all(st.size_mean == st.size_mean[0]) else st.size_mean[county]
    return size


def collateral_outcomes(
    st: Structure,
    recovery_rng: np.random.Generator,
    delay_rng: np.random.Generator,
    path_start: np.ndarray,
    defaulted: np.ndarray,
    default_month: np.ndarray,
    z: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Recovery fraction and disposal delay of the candidates that default within the horizon.

    They are drawn for defaulted candidates only, in loan-id order: recoveries from numpy's
    Beta sampler, delays by inverting the Gamma distribution at whole months (exact).
    """
    path = np.searchsorted(path_start, defaulted, side="right") - 1
    mean = downturn_mean(st.recovery_mean, st.recovery_loading, z[path, default_month[defaulted] // 12])
    if st.recovery_sd > 0 and len(defaulted):
        concentration = st.recovery_mean * (1 - st.recovery_mean) / st.recovery_sd**2 - 1
        mean = np.clip(mean, 1e-12, 1 - 1e-12)  # a Beta needs both parameters > 0
        recovery = recovery_rng.beta(mean * concentration, (1 - mean) * concentration)
    else:
        recovery = mean
    return recovery, disposal_delays(st.disposal_mean, st.disposal_sd, delay_rng, len(defaulted))


def disposal_delays(mean: float, sd: float, rng: np.random.Generator, n: int) -> np.ndarray:
    """Whole months: a Gamma(mean, sd) draw rounded up, at least 1 (a disposal follows default).

    ``ceil(Q(u))`` is the smallest k with ``u <= F(k)``, so inverting the CDF at whole months
    gives the rounded Gamma draw exactly.
    """
    if sd == 0:
        return np.full(n, max(1, math.ceil(mean)), dtype=np.int32)
    shape, scale = (mean / sd) ** 2, sd**2 / mean
    months = np.arange(0, int(mean + 40 * sd) + 2)
    cdf = special.gammainc(shape, months / scale)
    cdf[-1] = 1.0
    return np.maximum(1, np.searchsorted(cdf, rng.random(n), side="left")).astype(np.int32)


def downturn_mean(mean: float, loading: float, z: np.ndarray) -> np.ndarray:
    """Beta mean in the year of default: ``Phi(Phi^-1(mean) + loading * Z_y)``."""
    if loading == 0 or mean in (0.0, 1.0):
        return np.full(z.shape, mean)
    return special.ndtr(special.ndtri(mean) + loading * z)
