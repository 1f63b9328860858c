"""All randomness of riskpool: systematic factors and the fates of every candidate loan.

Paths are simulated in RNG blocks of ``BLOCK_PATHS`` paths. Block ``b`` draws from
``SeedSequence(seed).spawn(b + 1)[b]`` (the same as ``SeedSequence(seed, spawn_key=(b,))``),
whatever worker or machine runs it, and splits it into one child stream per kind of draw
(``STREAMS``), so that switching a draw off (say, a fixed loan size) leaves every other draw
unchanged. Within a stream, draws are consumed in path order, then loan-id order.

Candidate loans of a path are numbered (their *loan id*) by origination month (initial loans
first, as month -1), then county position in the file, then draw order (docs/model.md section 4.3).
A county's monthly Poisson counts are drawn as a Poisson total over the horizon spread over
months uniformly at random, which has exactly the law of independent monthly Poisson counts.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy import special

from .structure import Structure

BLOCK_PATHS = 250
# appending a stream leaves the others as they were: child k of a block's seed is the same for any count
STREAMS = ("systematic", "city", "counts", "months", "sizes", "defaults", "recovery", "delay", "sale", "kind", "bank",
           "parameters")
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
    kind: np.ndarray | None = None  # int64 row of shares of each candidate (its product); None without products
    bank: np.ndarray | None = None  # int64 bank of each candidate (Structure.banks order); None without banks

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
    months = rng["months"].integers(0, horizon, size=int(totals.sum()), dtype=np.int32)  # the numbers of int64, half the bytes
    # the raw outputs behind rng.random(): each loan's uniform is made where it is used
    bits = rng["defaults"].bit_generator.random_raw(int(totals.sum() + n_paths * st.initial_loans.sum()))
    path_start, county, orig, default_month = place_loans(
        totals, months, st.initial_loans, initial_terms(st), horizon, st.tenor, st.risk_class, bits, np.exp(-hazard)
    )
    size = loan_sizes(st, rng["sizes"], county)
    defaulted = np.flatnonzero(default_month != NO_DEFAULT)
    recovery, delay = collateral_outcomes(st, rng["recovery"], rng["delay"], path_start, defaulted, default_month, z)
    recovery = sale_outcomes(st, rng["sale"], recovery)
    kind = loan_kinds(st, rng["kind"], len(size)) if st.n_kinds else None
    bank = lending_banks(st, rng["bank"], county) if st.banks.n else None
    if st.book is not None:
        _enter_register(st, path_start, size, bank, defaulted, delay)
    return Fates(path_start, county, orig, size, default_month, defaulted, recovery, delay, z, kind, bank)


def initial_terms(st: Structure) -> np.ndarray:
    """Months at risk of each initial loan of a path, in loan-id order: the county's tenor, or a
    register loan's remaining term (-1: a defaulted loan, which defaults in month 0)."""
    if st.book is None:
        return np.repeat(st.tenor, st.initial_loans).astype(np.int32)
    return np.where(st.book.defaulted, -1, st.book.term).astype(np.int32)


def _enter_register(st: Structure, path_start: np.ndarray, size: np.ndarray, bank: np.ndarray | None,
                    defaulted: np.ndarray, delay: np.ndarray) -> None:
    """The register's own sizes and banks for the first loans of each path (its loans, in loan-id
    order), and each defaulted loan's delay counted from month 0: ``max(1, D - k)``, or none
    (beyond the horizon) when it is already disposed (docs/model.md section 4.8)."""
    book, paths = st.book, len(path_start) - 1
    rows = (path_start[:-1, None] + np.arange(book.n)[None, :]).reshape(-1)
    size[rows] = np.tile(book.size, paths)
    if bank is not None:
        bank[rows] = np.tile(book.bank, paths)
    hit = np.tile(book.defaulted, paths)  # the register's defaulted loans, on every path
    entry = np.tile(np.arange(book.n), paths)[hit]  # register row of each
    at = np.searchsorted(defaulted, rows[hit])  # its place among the defaulting candidates
    moved = np.maximum(1, delay[at] - book.since[entry])
    delay[at] = np.where(book.recovered[entry] > 0, st.horizon_months + 1, moved)


def lending_banks(st: Structure, rng: np.random.Generator, county: np.ndarray) -> np.ndarray:
    """Each candidate's bank, from one uniform per candidate in loan-id order: the first bank whose
    cumulative share of the county's loans exceeds it (docs/model.md section 5.9). Counties with
    the same shares are drawn together, so the work grows with the distinct splits, not the counties."""
    u = rng.random(len(county))
    share = st.banks.county_share
    splits, split_of = np.unique(share, axis=0, return_inverse=True)
    of_candidate = split_of.reshape(-1)[county]
    bank = np.empty(len(county), dtype=np.int64)
    for k, split in enumerate(splits):
        mine = np.flatnonzero(of_candidate == k) if len(splits) > 1 else slice(None)
        upper = np.cumsum(split)
        last = int(np.flatnonzero(split > 0)[-1])  # where rounding leaves u above every sum
        bank[mine] = np.minimum(np.searchsorted(upper, u[mine], side="right"), last)
    return bank


def loan_kinds(st: Structure, rng: np.random.Generator, n: int) -> np.ndarray:
    """Each candidate's product and whether it is a first loan, from one uniform per candidate in
    loan-id order: the product p whose slice of [0, 1) holds it, and a first loan when it lies in
    the first ``first_loans`` of that slice (docs/model.md section 4.7)."""
    u = rng.random(n)
    upper = np.cumsum(st.product_share)
    product = np.minimum(np.searchsorted(upper, u, side="right"), len(upper) - 1)
    lower = upper[product] - st.product_share[product]
    first = (u - lower) < st.product_first[product] * st.product_share[product]
    return 2 * product + first


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
    probability ``1 - p_y`` (docs/model.md section 3.3: a constant monthly hazard within the year).
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
def place_loans(totals, months, initial, initial_term, horizon, tenor, risk_class, bits, survival):  # pragma: no cover
    """Number the candidate loans (loan-id order) and find each one's default month.

    A counting sort by month puts the drawn loans in loan-id order: they were drawn county by
    county, and the sort keeps that order within a month. The loan with id ``i`` takes
    the uniform ``U`` that numpy's ``random()`` makes of the raw 64-bit output ``bits[i]`` and
    defaults in the first month of its risk window where the cumulative hazard since origination
    reaches ``E = -ln U`` (an Exp(1) variable).
    Indices are unsigned where numba would otherwise test each one for a negative value.
    The initial loans of a path (the first ``initial.sum()``) are at risk for ``initial_term``
    months each (their county's tenor, or a register loan's remaining term; -1: a defaulted
    register loan, which defaults in month 0).
    """
    n_paths, n_counties = totals.shape
    per_path = totals.sum(axis=1) + initial.sum()
    path_start = np.zeros(n_paths + 1, dtype=np.int64)
    for b in range(n_paths):
        path_start[b + 1] = path_start[b] + per_path[b]
    county = np.empty(path_start[-1], dtype=np.int32)
    orig = np.empty(path_start[-1], dtype=np.int32)
    default_month = np.empty(path_start[-1], dtype=np.int32)
    first = np.zeros(horizon, dtype=np.int64)  # next place of a loan of each month
    drawn = 0
    for b in range(n_paths):
        pos = path_start[b]
        for c in range(n_counties):  # initial loans: month -1
            for _ in range(initial[c]):
                county[np.uint64(pos)] = c
                pos += 1
        orig[path_start[b] : pos] = -1
        first[:] = 0
        for j in range(drawn, drawn + totals[b].sum()):
            first[np.uint64(months[np.uint64(j)])] += 1
        for m in range(horizon):
            count = first[m]
            first[m] = pos
            orig[pos : pos + count] = m
            pos += count
        for c in range(n_counties):
            for _ in range(totals[b, c]):
                m = np.uint64(months[np.uint64(drawn)])
                i = np.uint64(first[m])
                first[m] = i + np.uint64(1)
                county[i] = c
                drawn += 1
        # in loan-id order, so that the raw outputs are read in the order they were drawn
        alive = survival[b]
        n_initial = len(initial_term)
        for i in range(path_start[b], path_start[b + 1]):
            local = i - path_start[b]
            i = np.uint64(i)
            c = np.uint64(county[i])
            term = initial_term[local] if local < n_initial else tenor[c]
            if term < 0:
                default_month[i] = 0
            else:
                default_month[i] = _default_month(alive, np.uint64(risk_class[c]), orig[i], term, _uniform(bits[i]), horizon)
    return path_start, county, orig, default_month


@njit(cache=True, inline="always")
def _uniform(word):  # pragma: no cover - compiled
    """numpy's ``random()`` of a raw 64-bit output: its top 53 bits times 2**-53."""
    return np.float64(word >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always")
def _default_month(survival, k, o, tenor, u, horizon):  # pragma: no cover - compiled
    """First m in o+1 .. min(o+tenor, T-1) with cumulative hazard since o >= -ln u, else NO_DEFAULT.

    In survival terms (survival[k] = exp(-cumulative hazard) of risk class k): the first m with
    ``survival[k, m+1] <= u * survival[k, o+1]``, found by bisection with no logarithm per loan.
    The PD cap (1 - 1e-12, a hazard of at most 27.7 a year) and the horizon limit (20 years) keep
    the survival above 1e-241, far from underflow.
    """
    last = min(o + tenor, horizon - 1)
    if last <= o:
        return NO_DEFAULT
    bar = u * survival[k, np.uint64(o + 1)]
    if survival[k, np.uint64(last + 1)] > bar:
        return NO_DEFAULT
    lo, hi = o + 1, last
    while lo < hi:
        mid = (lo + hi) // 2
        if survival[k, np.uint64(mid + 1)] <= bar:
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
    x = standard_normal_f32(rng, len(county))
    if np.all(sigma == sigma[0]):  # one shape for all counties: vectorised in place
        x *= np.float32(sigma[0])
        x -= np.float32(0.5 * sigma[0] ** 2)
    else:
        x *= sigma[county].astype(np.float32)
        x -= (0.5 * sigma[county] ** 2).astype(np.float32)
    np.exp(x, out=x)
    mean = st.size_mean[0] if np.all(st.size_mean == st.size_mean[0]) else st.size_mean[county]
    return np.multiply(x, mean, dtype=np.float64)  # in double precision, in one pass


def standard_normal_f32(rng: np.random.Generator, n: int) -> np.ndarray:
    """``rng.standard_normal(n, dtype=np.float32)``: the same numbers, faster.

    numpy's single-precision ziggurat turns each 32-bit word of the generator into a normal,
    rejecting about 1.5 % of them (a rejection costs one or two more words). Here the words are
    drawn in bulk (``_words``: the very words the sampler would read) and a compiled copy of the
    sampler turns them into normals. Words left over are
    never used: a block's ``sizes`` stream draws nothing else.
    """
    out = np.empty(n, dtype=np.float32)
    words = _words(rng, n + n // 16 + 64)
    done, used = _ziggurat(words, out, 0)
    while done < n:  # rare: more rejections than the margin allows
        more = _words(rng, (n - done) + 64)
        words = np.concatenate((words[used:], more))  # from the first word of the unfinished normal
        done, used = _ziggurat(words, out, done)
    return out


def _words(rng: np.random.Generator, n: int) -> np.ndarray:
    """``rng.integers(0, 2**32, n, dtype=np.uint32)``, the same words, at half the cost.

    numpy hands out a 64-bit output of PCG64 as two 32-bit words, low half first, which is
    how little-endian memory lays out the raw outputs. Only an even count is drawn this way, so
    that no half-used output is left behind for the next call.
    """
    if np.little_endian and rng.bit_generator.state["has_uint32"] == 0:
        return rng.bit_generator.random_raw((n + 1) // 2).view(np.uint32)
    return rng.integers(0, 2**32, size=n, dtype=np.uint32)


def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """numpy's 256-layer single-precision ziggurat tables (Marsaglia & Tsang 2000), bit for bit."""
    scale, r, v = 2.0**23, _ZIG_R, 4.92867323399e-3
    k, w, f = np.zeros(256), np.zeros(256), np.zeros(256)
    q = v / math.exp(-0.5 * r * r)
    k[0], w[0], w[255], f[0], f[255] = r / q * scale, q / scale, r / scale, 1.0, math.exp(-0.5 * r * r)
    x, prev = r, r
    for i in range(254, 0, -1):
        x = math.sqrt(-2.0 * math.log(v / x + math.exp(-0.5 * x * x)))
        k[i + 1], prev = x / prev * scale, x
        f[i], w[i] = math.exp(-0.5 * x * x), x / scale
    return np.round(k).astype(np.uint32), w.astype(np.float32), f.astype(np.float32)


_ZIG_R = 3.6541528853610088  # where the tail starts
_KI, _WI, _FI = _ziggurat_tables()  # compiled into the kernels as constants


@njit(cache=True)
def _ziggurat(words, out, done):  # pragma: no cover - compiled
    """Normals out[done:] from 32-bit words, as numpy's ``random_standard_normal_f`` makes them.

    Returns (normals done, words used); stops before a normal that might run out of words.
    """
    k = 0
    for i in range(done, len(out)):
        if k + 3 > len(words):  # a rejected word needs one more, the tail two at a time
            return i, k
        x, accepted = _layer(words[k])
        if accepted:  # 98.5 % of normals
            k += 1
        else:
            x, k_next = _rejected(words, k)
            if k_next < 0:
                return i, k
            k = k_next
        out[i] = x
    return len(out), k


@njit(cache=True, inline="always")
def _layer(word):  # pragma: no cover - compiled
    """The candidate normal of one word and whether it lies inside its layer's rectangle."""
    idx = word & 0xFF
    rabs = (word >> 9) & 0x7FFFFF
    # the sign as an exact factor of +-1: a branch here would be mispredicted half the time
    sign = np.float32(1.0) - np.float32(2.0) * np.float32((word >> 8) & 1)
    return np.float32(rabs) * _WI[idx] * sign, rabs < _KI[idx]


@njit(cache=True)
def _rejected(words, k):  # pragma: no cover - compiled
    """numpy's slow branches, from a word outside its rectangle at words[k] on: the normal and
    the next unused word, or -1 if the words run out first."""
    while k + 2 < len(words):
        word = words[k]
        x, accepted = _layer(word)
        k += 1
        if accepted:
            return x, k
        idx = word & 0xFF
        if idx == 0:  # the tail beyond _ZIG_R
            while k + 2 <= len(words):
                xx = -np.float32(1.0 / _ZIG_R) * np.float32(math.log1p(-_unit(words[k])))
                yy = -np.float32(math.log1p(-_unit(words[k + 1])))
                k += 2
                if yy + yy > xx * xx:
                    return (-(np.float32(_ZIG_R) + xx) if (word >> 17) & 1 else np.float32(_ZIG_R) + xx), k
            return x, -1
        u = _unit(words[k])
        k += 1
        if (_FI[idx - 1] - _FI[idx]) * u + _FI[idx] < math.exp(-0.5 * np.float64(x) * np.float64(x)):
            return x, k
    return np.float32(0.0), -1


@njit(cache=True, inline="always")
def _unit(word):  # pragma: no cover - compiled
    """numpy's ``next_float``: the top 24 bits of a word as a float32 in [0, 1)."""
    return np.float32(word >> 8) * np.float32(1.0 / 16777216.0)


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
    if _steady_recovery(st.recovery_mean, st.recovery_loading):  # one Beta for all: scalar parameters
        mean = np.float64(st.recovery_mean)  # draw the same numbers as arrays of them, faster
    else:
        path = np.searchsorted(path_start, defaulted, side="right") - 1
        mean = downturn_mean(st.recovery_mean, st.recovery_loading, z[path, default_month[defaulted] // 12])
    if st.recovery_sd > 0 and len(defaulted):
        concentration = st.recovery_mean * (1 - st.recovery_mean) / st.recovery_sd**2 - 1
        mean = np.clip(mean, 1e-12, 1 - 1e-12)  # a Beta needs both parameters > 0
        recovery = recovery_rng.beta(mean * concentration, (1 - mean) * concentration, size=len(defaulted))
    else:
        recovery = np.full(len(defaulted), mean)
    return recovery, disposal_delays(st.disposal_mean, st.disposal_sd, delay_rng, len(defaulted))


def sale_outcomes(st: Structure, rng: np.random.Generator, recovery: np.ndarray) -> np.ndarray:
    """The recovery a disposal achieves: 0 when the IP does not sell (one uniform per defaulting
    candidate, in loan-id order, below ``p_no_sale``), and at least the buyer of last resort's
    floor (docs/model.md section 3.5)."""
    if st.p_no_sale > 0:
        recovery = np.where(rng.random(len(recovery)) < st.p_no_sale, 0.0, recovery)
    if st.recovery_floor > 0:
        recovery = np.maximum(recovery, st.recovery_floor)
    return recovery


def disposal_delays(mean: float, sd: float, rng: np.random.Generator, n: int) -> np.ndarray:
    """Whole months: a Gamma(mean, sd) draw rounded up, at least 1 (a disposal follows default).

    ``ceil(Q(u))`` is the smallest k with ``u <= F(k)``, so inverting the CDF at whole months
    gives the rounded Gamma draw exactly.
    """
    if sd == 0:
        return np.full(n, max(1, math.ceil(mean)), dtype=np.int32)
    return np.maximum(1, np.searchsorted(_delay_cdf(mean, sd), rng.random(n), side="left")).astype(np.int32)


@functools.lru_cache(maxsize=16)
def _delay_cdf(mean: float, sd: float) -> np.ndarray:
    """The Gamma(mean, sd) distribution function at whole months, 1 at the last (computed once a run)."""
    shape, scale = (mean / sd) ** 2, sd**2 / mean
    months = np.arange(0, int(mean + 40 * sd) + 2)
    cdf = special.gammainc(shape, months / scale)
    cdf[-1] = 1.0
    cdf.flags.writeable = False
    return cdf


def downturn_mean(mean: float, loading: float, z: np.ndarray) -> np.ndarray:
    """Beta mean in the year of default: ``Phi(Phi^-1(mean) + loading * Z_y)``."""
    if _steady_recovery(mean, loading):
        return np.full(z.shape, mean)
    return special.ndtr(special.ndtri(mean) + loading * z)


def _steady_recovery(mean: float, loading: float) -> bool:
    """Whether the recovery mean is the same in every year (no downturn link)."""
    return loading == 0 or mean in (0.0, 1.0)
