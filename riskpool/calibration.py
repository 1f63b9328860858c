"""Parameters from a fund's own history (docs/model.md, "Calibration from a fund's history").

The annual PD and the asset correlation are fitted by maximum likelihood of the exact Vasicek
binomial mixture (one factor per year, shared by every group of that year), integrated by
a fine trapezoid rule over the factor; their 95 % intervals are profile-likelihood intervals. Recoveries are
fitted as a Beta distribution and disposal delays as a Gamma distribution. A history that cannot
identify a parameter gets it refused with the reason (and, for a history without defaults, the
one-sided upper bound of the PD), never a made-up estimate.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import optimize, special, stats

from .scenario import NO_VALUE, Problem, ScenarioError

# the factor's grid: the trapezoid rule on [-12, 12] in steps of 0.005. Gauss-Hermite nodes (96 of
# them) were tried and missed by 1e-2 in log L when a year's defaults sit far in the factor's tail
# (the integrand then peaks narrowly away from 0); the integrand is smooth and vanishes at the
# ends, where the trapezoid rule converges fast
FACTOR_GRID = np.linspace(-12.0, 12.0, 4801)
PD_BOUNDS = (1e-6, 0.5)
RHO_MAX = 0.95
CHI2_95 = 3.841458820694124  # chi-squared, 1 degree of freedom, 95 %
MIN_YEARS_FOR_RHO = 3
MIN_RECORDS = 3
HISTORY_COLUMNS = ("year", "at_risk", "defaults")
_NODES = FACTOR_GRID
_LOG_WEIGHTS = stats.norm.logpdf(FACTOR_GRID) + math.log(FACTOR_GRID[1] - FACTOR_GRID[0])


@dataclass(frozen=True)
class History:
    """Default counts by year (rows) and group (columns): loans at risk and defaults."""

    years: tuple[int, ...]
    groups: tuple[str, ...]
    at_risk: np.ndarray  # int (years, groups)
    defaults: np.ndarray  # int (years, groups)

    @property
    def loan_years(self) -> int:
        return int(self.at_risk.sum())

    @property
    def years_with_loans(self) -> int:
        return int((self.at_risk.sum(axis=1) > 0).sum())


@dataclass(frozen=True)
class Estimate:
    """One fitted parameter: its estimate and 95 % interval, or why it could not be identified."""

    name: str
    value: float | None
    low: float | None
    high: float | None
    identified: bool
    note: str = ""


@dataclass(frozen=True)
class Calibration:
    """The fitted parameters, by scenario path, and what the data were."""

    estimates: dict[str, Estimate]
    loan_years: int
    defaults: int
    years: int
    log_likelihood: float | None = None

    def overrides(self) -> dict[str, float]:
        """The identified estimates as scenario overrides (path: value)."""
        return {path: float(e.value) for path, e in self.estimates.items() if e.identified and e.value is not None}

    def rows(self) -> list[dict[str, object]]:
        """One row per parameter: path, estimate, 95 % interval, identified, note."""
        return [{"parameter": path, "estimate": e.value, "low": e.low, "high": e.high, "identified": e.identified,
                 "note": e.note} for path, e in self.estimates.items()]


# --------------------------------------------------------------------------- reading


def read_history(source: str | Path | bytes) -> History:
    """A history CSV (docs/model.md): every bad row is reported, with its line and column."""
    rows, header = _csv_rows(source, "history")
    missing = [c for c in HISTORY_COLUMNS if c not in header]
    if missing:
        raise ScenarioError([Problem("history", header, f"needs the columns {', '.join(HISTORY_COLUMNS)} "
                                     f"(optionally group); missing {', '.join(missing)}")])
    problems: list[Problem] = []
    cells: dict[tuple[int, str], tuple[int, int]] = {}
    for line, row in rows:
        values = {c: _integer(row.get(c), f"history line {line} column {c}", problems) for c in HISTORY_COLUMNS}
        if any(v is None for v in values.values()):
            continue
        group = (row.get("group") or "").strip()
        where = f"history line {line}"
        if values["at_risk"] < 0:
            problems.append(Problem(f"{where} column at_risk", values["at_risk"], "must be >= 0"))
        elif not 0 <= values["defaults"] <= values["at_risk"]:
            problems.append(Problem(f"{where} column defaults", values["defaults"],
                                    f"must lie between 0 and at_risk ({values['at_risk']})"))
        elif (values["year"], group) in cells:
            problems.append(Problem(f"{where} column year", values["year"], f"repeats year {values['year']}"
                                    + (f" of group {group}" if group else "")))
        else:
            cells[(values["year"], group)] = (values["at_risk"], values["defaults"])
    if problems:
        raise ScenarioError(problems)
    if not cells:
        raise ScenarioError([Problem("history", NO_VALUE, "has no rows")])
    years = tuple(sorted({y for y, _ in cells}))
    groups = tuple(sorted({g for _, g in cells}))
    at_risk = np.zeros((len(years), len(groups)), dtype=np.int64)
    defaults = np.zeros_like(at_risk)
    for (y, g), (n, d) in cells.items():
        at_risk[years.index(y), groups.index(g)], defaults[years.index(y), groups.index(g)] = n, d
    return History(years, groups, at_risk, defaults)


def read_disposals(source: str | Path | bytes) -> tuple[np.ndarray, np.ndarray]:
    """Recoveries (fractions) and disposal delays (months; NaN where not given) of disposed loans."""
    rows, header = _csv_rows(source, "disposals")
    if "recovery" not in header:
        raise ScenarioError([Problem("disposals", header, "needs a recovery column (optionally disposal_months)")])
    problems: list[Problem] = []
    recoveries, delays = [], []
    for line, row in rows:
        recovery = _number(row.get("recovery"), f"disposals line {line} column recovery", problems)
        delay_text = (row.get("disposal_months") or "").strip()
        delay = _number(delay_text, f"disposals line {line} column disposal_months", problems) if delay_text else math.nan
        if recovery is None or delay is None:
            continue
        if not 0 <= recovery <= 1:
            problems.append(Problem(f"disposals line {line} column recovery", recovery, "must lie in [0, 1]"))
        elif delay < 0:
            problems.append(Problem(f"disposals line {line} column disposal_months", delay, "must be >= 0"))
        else:
            recoveries.append(recovery)
            delays.append(delay)
    if problems:
        raise ScenarioError(problems)
    return np.array(recoveries), np.array(delays)


def _csv_rows(source: str | Path | bytes, what: str) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    try:
        text = source.decode("utf-8") if isinstance(source, bytes) else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(what, str(source)[:80], f"cannot be read ({type(exc).__name__})")]) from None
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    return [(i + 2, row) for i, row in enumerate(reader)], header


def _integer(text: str | None, where: str, problems: list[Problem]) -> int | None:
    value = _number(text, where, problems)
    if value is not None and not float(value).is_integer():
        problems.append(Problem(where, value, "must be a whole number"))
        return None
    return None if value is None else int(value)


def _number(text: str | None, where: str, problems: list[Problem]) -> float | None:
    try:
        value = float((text or "").strip())
    except ValueError:
        problems.append(Problem(where, text, "expected a number"))
        return None
    if not math.isfinite(value):
        problems.append(Problem(where, text, "expected a finite number"))
        return None
    return value


# --------------------------------------------------------------------------- the likelihood


def log_likelihood(h: History, pd: float, rho: float) -> float:
    """log L(pd, rho) of the Vasicek binomial mixture, integrated over each year's factor on FACTOR_GRID."""
    threshold = special.ndtri(pd)
    p = special.ndtr((threshold - math.sqrt(rho) * _NODES) / math.sqrt(1 - rho))  # (nodes,)
    log_p, log_q = np.log(np.clip(p, 1e-300, None)), np.log1p(-np.clip(p, 0, 1 - 1e-16))
    n, d = h.at_risk[:, :, None], h.defaults[:, :, None]
    log_binom = special.gammaln(n + 1) - special.gammaln(d + 1) - special.gammaln(n - d + 1)
    per_node = (log_binom + d * log_p + (n - d) * log_q).sum(axis=1)  # (years, nodes)
    return float(special.logsumexp(per_node + _LOG_WEIGHTS, axis=1).sum())


def _fit(h: History, fixed_rho: float | None) -> tuple[float, float, float]:
    """(pd, rho, log L) at the maximum (rho held at ``fixed_rho`` when given)."""
    pooled = min(max(h.defaults.sum() / max(h.loan_years, 1), PD_BOUNDS[0] * 10), PD_BOUNDS[1] / 2)
    if fixed_rho is not None:
        res = optimize.minimize_scalar(lambda x: -log_likelihood(h, _pd(x), fixed_rho), bounds=(-14, 0), method="bounded",
                                       options={"xatol": 1e-9})
        return _pd(res.x), fixed_rho, -res.fun
    best = None
    for rho0 in (0.02, 0.1, 0.3):
        res = optimize.minimize(lambda v: -log_likelihood(h, _pd(v[0]), _rho(v[1])),
                                x0=[math.log(pooled / (1 - pooled)), special.logit(rho0 / RHO_MAX)], method="Nelder-Mead",
                                options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000})
        if best is None or res.fun < best.fun:
            best = res
    pd_hat, rho_hat = _pd(best.x[0]), _rho(best.x[1])
    at_zero = _fit(h, 0.0)  # the boundary rho = 0, where the logit cannot reach
    return at_zero if at_zero[2] >= -best.fun else (pd_hat, rho_hat, -best.fun)


def _pd(x: float) -> float:
    return float(min(max(special.expit(x), PD_BOUNDS[0]), PD_BOUNDS[1]))


def _rho(x: float) -> float:
    return float(RHO_MAX * special.expit(x))


def _profile_interval(profile, best: float, value: float, low: float, high: float) -> tuple[float, float]:
    """Where 2 (l_max - profile) crosses the chi-squared 95 % point on each side of ``value``."""
    def gap(x: float) -> float:
        return 2 * (best - profile(x)) - CHI2_95

    ends = []
    for end in (low, high):
        if abs(end - value) < 1e-12 or gap(end) < 0:
            ends.append(end)  # the interval reaches the bound
        else:
            ends.append(optimize.brentq(gap, min(value, end), max(value, end), xtol=1e-9))
    return ends[0], ends[1]


# --------------------------------------------------------------------------- fitting


def calibrate(history: History, recoveries: np.ndarray | None = None, delays: np.ndarray | None = None) -> Calibration:
    """Every parameter the data identify, with its 95 % interval; the others refused with the reason."""
    n, d = history.loan_years, int(history.defaults.sum())
    estimates: dict[str, Estimate] = {}
    log_l = None
    if d == 0:
        bound = 1 - 0.05 ** (1 / n) if n else 1.0
        estimates["credit.annual_pd"] = Estimate("annual PD", None, 0.0, bound, False,
                                                 f"no default in {n:,} loan-years: the PD is not identified; "
                                                 f"one-sided 95 % upper bound {bound:.4g} (independent defaults)")
        estimates["credit.asset_correlation"] = Estimate("asset correlation", None, None, None, False,
                                                         "not identified without defaults")
    else:
        fix = None if history.years_with_loans >= MIN_YEARS_FOR_RHO else 0.0
        pd_hat, rho_hat, log_l = _fit(history, fix)
        pd_low, pd_high = _profile_interval(lambda p: _profile_pd(history, p, fix), log_l, pd_hat, *PD_BOUNDS)
        estimates["credit.annual_pd"] = Estimate("annual PD", pd_hat, pd_low, pd_high, True)
        if fix is None:
            r_low, r_high = _profile_interval(lambda r: _fit(history, r)[2], log_l, rho_hat, 0.0, RHO_MAX)
            estimates["credit.asset_correlation"] = Estimate("asset correlation", rho_hat, r_low, r_high, True)
        else:
            estimates["credit.asset_correlation"] = Estimate(
                "asset correlation", None, None, None, False,
                f"{history.years_with_loans} year(s) with loans: the correlation needs at least {MIN_YEARS_FOR_RHO}; "
                "the PD was fitted with independent defaults (rho = 0)")
    if recoveries is not None:
        estimates.update(_beta_fit(recoveries))
    if delays is not None:
        estimates.update(_gamma_fit(delays[np.isfinite(delays)]))
    return Calibration(estimates, n, d, history.years_with_loans, log_l)


def _profile_pd(h: History, pd: float, fixed_rho: float | None) -> float:
    """The log-likelihood at ``pd``, maximised over the correlation (or at the fixed one)."""
    if fixed_rho is not None:
        return log_likelihood(h, pd, fixed_rho)
    res = optimize.minimize_scalar(lambda r: -log_likelihood(h, pd, r), bounds=(0.0, RHO_MAX), method="bounded",
                                   options={"xatol": 1e-7})
    return max(-res.fun, log_likelihood(h, pd, 0.0))


def _beta_fit(x: np.ndarray) -> dict[str, Estimate]:
    if len(x) < MIN_RECORDS:
        why = f"{len(x)} recoveries: at least {MIN_RECORDS} are needed"
        return {"collateral.recovery_mean": Estimate("recovery mean", None, None, None, False, why),
                "collateral.recovery_sd": Estimate("recovery sd", None, None, None, False, why)}
    a, b, _, _ = (float(v) for v in stats.beta.fit(np.clip(x, 1e-6, 1 - 1e-6), floc=0, fscale=1))
    mean, sd = a / (a + b), math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    se = sd / math.sqrt(len(x))  # of the mean, for its interval
    return {"collateral.recovery_mean": Estimate("recovery mean", mean, max(0.0, mean - 1.96 * se),
                                                 min(1.0, mean + 1.96 * se), True),
            "collateral.recovery_sd": Estimate("recovery sd", sd, None, None, True)}


def _gamma_fit(x: np.ndarray) -> dict[str, Estimate]:
    if len(x) < MIN_RECORDS or not (x > 0).all():
        why = f"{len(x)} disposal delays (all > 0): at least {MIN_RECORDS} are needed"
        return {"collateral.disposal_months_mean": Estimate("disposal months, mean", None, None, None, False, why),
                "collateral.disposal_months_sd": Estimate("disposal months, sd", None, None, None, False, why)}
    shape, _, scale = (float(v) for v in stats.gamma.fit(x, floc=0))
    mean, sd = shape * scale, math.sqrt(shape) * scale
    se = sd / math.sqrt(len(x))
    return {"collateral.disposal_months_mean": Estimate("disposal months, mean", mean, max(0.0, mean - 1.96 * se),
                                                        mean + 1.96 * se, True),
            "collateral.disposal_months_sd": Estimate("disposal months, sd", sd, None, None, True)}
