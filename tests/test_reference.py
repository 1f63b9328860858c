"""Reference tests: the Monte Carlo engine against closed forms (docs/model.md sections 2-6).

Every test simulates a *static book* whose outcome has an exact law, and asserts that the Monte
Carlo estimate lies within 4 Monte Carlo standard errors of the exact value, the standard error
being computed from the sample itself (``sd / sqrt(paths)``; for a proportion
``sqrt(p_hat (1 - p_hat) / paths)``). Seeds are fixed, so the tests are deterministic; the
tolerance is never widened to make a test pass. Run ``pytest -s tests/test_reference.py`` to
see the figures (estimate, exact, standard error, z-score) printed by each test.

The static book: horizon 1 year (T = 12 months) unless stated; one province with the fund, one
city and one county without funds (tier split province 0.5 / city 0.3 / county 0.2: the parts
of the fund-less tiers route to the province, which so pays the whole fund part). The county
holds ``n`` initial loans of exactly 1,000,000 yuan with a 12-month tenor, so every loan is at
risk in months 0..11 and defaults within the year with probability exactly ``pd`` (given the
factor ``Z``: ``p(Z)``), in a month ``M`` with ``P(M <= m) = 1 - (1 - pd)^((m + 1) / 12)``
(constant monthly hazard). Claim lag 0, shortfall rule "queue", no interest, top-up, leverage
cap, breaker, loan cap or size limit; the fund bears ``f = 0.5`` of each loss and the bank the
rest, so each default asks the province fund for ``part = f x 1,000,000`` in its default month.
``K`` is the number of defaults in the year.

References (parameters in brackets)
1. Expected net fund payout, independent defaults [n 200, pd 0.03, huge fund, 100,000 paths]:
   ``E = n pd f size``; also ``E K = n pd``. With a fixed recovery ``R = 0.3`` (sd 0), disposal
   cost ``c = 0.1`` and a fixed disposal delay ``d`` months [50,000 paths], a default in month
   ``M`` is clawed back (``f size R (1 - c)``) only if its disposal month ``M + d <= T - 1``:
   ``E = n f size (pd - R (1 - c) P(M <= j))``, ``j = min(T - 1 - d, 11)``; the recovered
   amount is ``n size R (1 - c) P(M <= j)``. Variants: every disposal inside the horizon
   (T = 24, d = 2, pd 0.03), only defaults of months 0..5 disposed (T = 12, d = 6, pd 0.03),
   only months 0..8 (T = 24, d = 15, pd 0.4: there a uniform rather than constant-hazard
   default month would miss by about 40 standard errors).
2. Shortfall probability, independent defaults [n 200, pd 0.03, k 6 and 8, 60,000 paths]: with
   initial balance ``F = (k + 0.5) part`` the fund runs short iff ``K > k``, ``K ~ Binomial(n,
   pd)``, so ``p_shortfall = binom.sf(k, n, pd)`` (checked path by path too, with
   ``required_capital = K part``). The survival curve (no shortfall up to month ``m``) is
   ``binom.cdf(k, n, P(M <= m))``, tested in the months where it is at most 0.99.
3. Shortfall probability, one-factor Gaussian copula [n 200, pd 0.03, rho 0.15, k 12, 100,000
   paths]: ``P(K > k) = int binom.sf(k, n, p(z)) phi(z) dz`` with ``p(z) = Phi((Phi^-1(pd) -
   sqrt(rho) z) / sqrt(1 - rho))``, by ``scipy.integrate.quad``.
4. Large-pool default-rate quantile (Vasicek) [n 5,000, pd 0.03, rho 0.10, q 0.90 and 0.95,
   12,000 paths]: the q-quantile of ``K / n`` tends to ``x_q = Phi((Phi^-1(pd) + sqrt(rho)
   Phi^-1(q)) / sqrt(1 - rho))`` as n grows. The empirical CDF of ``K / n`` at ``x_q`` is
   compared with the exact finite-pool CDF ``int binom.cdf(floor(n x_q), n, p(z)) phi(z) dz``
   (granularity included), with the standard error of a proportion; separately, the (exact,
   deterministic) granularity gap between that CDF and ``q`` is checked to be below one Monte
   Carlo standard error, so the closed form itself is resolved by this run.
5. City factor [pd 0.05, rho 0.10, rho_c 0.15, 200 loans in each of three counties, two in city
   A and one in city B, each county with its own fund paying the whole loss, 50,000 paths]:
   the latent variables of two loans are correlated ``rho + rho_c`` in one city and ``rho``
   across cities, so two distinct loans default together with probability ``Phi2(a, a; r) =
   int Phi((a - sqrt(r) z) / sqrt(1 - r))^2 phi(z) dz``, ``a = Phi^-1(pd)``, estimated without
   bias by ``K_i K_j / n^2`` (two counties) and ``K_i (K_i - 1) / (n (n - 1))`` (one county),
   ``K_i`` read from each county fund's amount due; the marginal PD stays ``pd``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import integrate, special, stats

from riskpool import scenario
from riskpool.engine import simulate
from riskpool.metrics import quantile, summarize

SIZE = 1_000_000.0
FUND_SHARE = 0.5
PART = FUND_SHARE * SIZE  # what one default asks of the fund
Z_LIMIT = 4.0  # Monte Carlo standard errors
HUGE_FUND = 1e13  # never runs short


# --------------------------------------------------------------------------- helpers


def static_book(
    n: int,
    pd: float,
    fund: float,
    *,
    rho: float = 0.0,
    horizon_years: int = 1,
    recovery: float = 0.0,
    disposal_cost: float = 0.0,
    disposal_months: float = 18.0,
) -> scenario.Scenario:
    """The static book of the module docstring, validated through ``scenario.from_dict``."""
    raw: dict[str, Any] = {
        "meta": {"name": "reference static book"},
        "simulation": {"horizon_years": horizon_years},
        "credit": {"annual_pd": pd, "asset_correlation": rho},
        "collateral": {
            "recovery_mean": recovery, "recovery_sd": 0.0, "disposal_cost": disposal_cost,
            "disposal_months_mean": disposal_months, "disposal_months_sd": 0.0,
        },
        "sharing": {
            "fund": FUND_SHARE, "bank": 1.0 - FUND_SHARE,
            # city and county have no fund: their parts pass to the province
            "tiers": {"province": 0.5, "city": 0.3, "county": 0.2},
        },
        "rules": {
            "compensation_basis": "principal", "claim_lag_months": 0, "per_loan_cap": 0,
            "max_loan": 0, "shortfall": "queue", "leverage": 0, "circuit_breaker_npl": 0,
            "npl_warning": 0, "fund_interest_rate": 0.0,
        },
        "regions": [
            {"id": "prov", "tier": "province", "fund": fund},
            {"id": "city", "tier": "city", "parent": "prov"},
            {"id": "cnty", "tier": "county", "parent": "city", "lending": {
                "initial_loans": n, "new_loans_per_year": 0, "loan_size_mean": SIZE,
                "loan_size_cv": 0, "tenor_months": 12,
            }},
        ],
    }
    return scenario.from_dict(raw)


def check(label: str, estimate: float, exact: float, se: float) -> float:
    """Assert ``|estimate - exact| <= 4 se`` (se from the sample) and return the z-score."""
    assert se > 0, f"{label}: zero standard error; the sample cannot resolve the reference"
    z = (estimate - exact) / se
    print(f"\nREF {label}: estimate={estimate:.6g} exact={exact:.6g} se={se:.3g} z={z:+.2f}")
    assert abs(z) <= Z_LIMIT, f"{label}: estimate {estimate!r} vs exact {exact!r}, se {se!r}, z {z:+.2f}"
    return z


def mean_se(x: np.ndarray) -> tuple[float, float]:
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x)))


def proportion_se(p_hat: float, paths: int) -> float:
    return math.sqrt(p_hat * (1.0 - p_hat) / paths)


def default_by(pd: float, month: int) -> float:
    """P(a loan at risk from month 0 has defaulted by the end of month ``month``) (0..11)."""
    return -math.expm1((month + 1) / 12.0 * math.log1p(-pd))


def conditional_pd(z: float, pd: float, rho: float) -> float:
    return float(special.ndtr((special.ndtri(pd) - math.sqrt(rho) * z) / math.sqrt(1.0 - rho)))


def gaussian_mixture(f) -> float:
    """``int f(z) phi(z) dz`` over the real line (|z| > 12 carries < 1e-32 of the mass)."""
    value, err = integrate.quad(lambda z: f(z) * stats.norm.pdf(z), -12.0, 12.0,
                                points=[0.0], epsabs=1e-13, epsrel=1e-11, limit=400)
    assert err < 1e-9
    return value


# --------------------------------------------------------------------------- 1. expected payout


def test_expected_payout_independent_no_recovery() -> None:
    n, pd, paths = 200, 0.03, 100_000
    res = simulate(static_book(n, pd, HUGE_FUND), paths=paths, seed=101)
    summary = summarize(res)
    loss = res.path_column("loss_fund")
    assert summary.fund.payout_net.mean == pytest.approx(loss.mean(), rel=1e-12)
    assert np.all(res.path_column("unpaid") == 0)
    est, se = mean_se(loss)
    check("payout, rho 0, no recovery", est, n * pd * FUND_SHARE * SIZE, se)
    # the default count itself: E K = n pd
    est, se = mean_se(res.path_column("n_defaults"))
    check("defaults, rho 0", est, n * pd, se)


@pytest.mark.parametrize(
    ("horizon_years", "delay", "pd", "seed"),
    [(2, 2, 0.03, 111), (1, 6, 0.03, 112), (2, 15, 0.40, 113)],
)
def test_expected_payout_with_fixed_recovery(horizon_years: int, delay: int, pd: float, seed: int) -> None:
    n, paths, recovery, cost = 200, 50_000, 0.3, 0.1
    sc = static_book(n, pd, HUGE_FUND, horizon_years=horizon_years, recovery=recovery,
                     disposal_cost=cost, disposal_months=delay)
    res = simulate(sc, paths=paths, seed=seed)
    horizon = 12 * horizon_years
    last = min(horizon - 1 - delay, 11)  # last default month whose disposal is within the horizon
    p_disposed = default_by(pd, last) if last >= 0 else 0.0
    kept = recovery * (1.0 - cost)
    exact = n * FUND_SHARE * SIZE * (pd - kept * p_disposed)
    assert np.all(res.path_column("unpaid") == 0)
    est, se = mean_se(res.path_column("loss_fund"))
    check(f"net payout, T={horizon} d={delay} pd={pd}", est, exact, se)
    est, se = mean_se(res.path_column("recovered"))
    check(f"recovered, T={horizon} d={delay} pd={pd}", est, n * SIZE * kept * p_disposed, se)


# --------------------------------------------------------------------------- 2. binomial tail


@pytest.mark.parametrize(("k", "seed"), [(6, 201), (8, 202)])
def test_p_shortfall_independent_binomial(k: int, seed: int) -> None:
    n, pd, paths = 200, 0.03, 60_000
    res = simulate(static_book(n, pd, (k + 0.5) * PART), paths=paths, seed=seed)
    fund = summarize(res).fund
    # shortfall iff K > k, path by path
    shortfall = res.node_column("first_shortfall_month")[:, 0] >= 0
    assert np.array_equal(shortfall, res.path_column("n_defaults") > k)
    # nothing flows in, so the capital needed is everything asked of the fund: K x part
    required = res.node_column("required_capital")[:, 0]
    np.testing.assert_allclose(required, res.path_column("n_defaults") * PART, rtol=1e-12, atol=1e-6)
    assert fund.p_shortfall_se == pytest.approx(proportion_se(fund.p_shortfall, paths))
    check(f"p_shortfall, rho 0, k={k}", fund.p_shortfall, float(stats.binom.sf(k, n, pd)),
          fund.p_shortfall_se)


def test_survival_curve_independent_binomial() -> None:
    n, pd, k, paths = 200, 0.03, 6, 60_000
    res = simulate(static_book(n, pd, (k + 0.5) * PART), paths=paths, seed=203)
    survival = summarize(res).fund.survival
    exact = [float(stats.binom.cdf(k, n, default_by(pd, m))) for m in range(12)]
    tested = [m for m in range(12) if exact[m] <= 0.99]  # enough shortfalls for a sample se
    assert tested and tested[-1] == 11
    for m in tested:
        check(f"survival to month {m}, rho 0, k={k}", survival[m], exact[m], proportion_se(survival[m], paths))


# --------------------------------------------------------------------------- 3. Vasicek mixture


def test_p_shortfall_correlated_vasicek_mixture() -> None:
    n, pd, rho, k, paths = 200, 0.03, 0.15, 12, 100_000
    res = simulate(static_book(n, pd, (k + 0.5) * PART, rho=rho), paths=paths, seed=301)
    fund = summarize(res).fund
    exact = gaussian_mixture(lambda z: stats.binom.sf(k, n, conditional_pd(z, pd, rho)))
    check(f"p_shortfall, rho {rho}, k={k}", fund.p_shortfall, exact, fund.p_shortfall_se)
    # the independent-default tail is far off: the correlation is really there
    assert abs(fund.p_shortfall - stats.binom.sf(k, n, pd)) > 20 * fund.p_shortfall_se


# --------------------------------------------------------------------------- 4. large-pool quantile


LARGE_N, LARGE_PD, LARGE_RHO, LARGE_PATHS = 5_000, 0.03, 0.10, 12_000


@pytest.fixture(scope="module")
def large_pool_fraction() -> np.ndarray:
    res = simulate(static_book(LARGE_N, LARGE_PD, HUGE_FUND, rho=LARGE_RHO), paths=LARGE_PATHS, seed=401)
    return res.path_column("n_defaults") / LARGE_N


@pytest.mark.parametrize("q", [0.90, 0.95])
def test_large_pool_quantile_vasicek(large_pool_fraction: np.ndarray, q: float) -> None:
    n, pd, rho, paths = LARGE_N, LARGE_PD, LARGE_RHO, LARGE_PATHS
    x_q = float(special.ndtr((special.ndtri(pd) + math.sqrt(rho) * special.ndtri(q)) / math.sqrt(1.0 - rho)))
    k_q = math.floor(n * x_q)  # K / n <= x_q  iff  K <= k_q
    exact_n = gaussian_mixture(lambda z: stats.binom.cdf(k_q, n, conditional_pd(z, pd, rho)))
    cdf_hat = float(np.mean(large_pool_fraction <= x_q))
    se = proportion_se(cdf_hat, paths)
    check(f"CDF of K/n at Vasicek x_{q} (finite-n exact)", cdf_hat, exact_n, se)
    gap = exact_n - q
    print(f"REF granularity: exact finite-n CDF {exact_n:.6f} vs q {q} (gap {gap:+.6f}, {gap / se:+.2f} se); "
          f"vs q the estimate has z={(cdf_hat - q) / se:+.2f}; empirical quantile "
          f"{float(quantile(large_pool_fraction, q)):.6f} vs x_q {x_q:.6f}")
    assert abs(gap) < se, "pool too small for the closed form to hold within one standard error"


# --------------------------------------------------------------------------- 5. city factor


def test_city_factor_joint_default_probabilities() -> None:
    n, pd, rho, rho_c, paths = 200, 0.05, 0.10, 0.15, 50_000

    def county(cid: str, city: str) -> dict[str, Any]:
        return {"id": cid, "tier": "county", "parent": city, "fund": HUGE_FUND, "lending": {
            "initial_loans": n, "new_loans_per_year": 0, "loan_size_mean": SIZE, "loan_size_cv": 0,
            "tenor_months": 12}}

    raw = {
        "meta": {"name": "reference city factor"},
        "simulation": {"horizon_years": 1},
        "credit": {"annual_pd": pd, "asset_correlation": rho, "city_correlation": rho_c},
        "collateral": {"recovery_mean": 0.0},
        "sharing": {"fund": 1.0, "bank": 0.0, "tiers": {"province": 0.0, "city": 0.0, "county": 1.0}},
        "rules": {"claim_lag_months": 0},
        "regions": [
            {"id": "prov", "tier": "province", "fund": 0},
            {"id": "cityA", "tier": "city", "parent": "prov"},
            {"id": "cityB", "tier": "city", "parent": "prov"},
            county("a1", "cityA"), county("a2", "cityA"), county("b1", "cityB"),
        ],
    }
    res = simulate(scenario.from_dict(raw), paths=paths, seed=501)
    nodes = list(res.structure.node_ids)
    due = res.node_column("due")
    k_a1, k_a2, k_b1 = (due[:, nodes.index(c)] / SIZE for c in ("a1", "a2", "b1"))
    assert np.array_equal(k_a1 + k_a2 + k_b1, res.path_column("n_defaults"))

    a = float(special.ndtri(pd))

    def joint(r: float) -> float:  # P(two loans with latent correlation r both default)
        return gaussian_mixture(lambda z: conditional_pd(z, pd, r) ** 2)

    same_city, cross_city = joint(rho + rho_c), joint(rho)
    assert a < 0 and cross_city < same_city
    est, se = mean_se(k_a1 * (k_a1 - 1) / (n * (n - 1)))
    check("joint PD, same county", est, same_city, se)
    est, se = mean_se(k_a1 * k_a2 / n**2)
    check("joint PD, two counties of one city", est, same_city, se)
    est, se = mean_se(k_a1 * k_b1 / n**2)
    check("joint PD, two cities", est, cross_city, se)
    assert abs(est - same_city) > 10 * se  # the city factor does not leak across cities
    for k in (k_a1, k_a2, k_b1):  # marginal PD unchanged by the factors
        est, se = mean_se(k / n)
        check("marginal PD with city factor", est, pd, se)
