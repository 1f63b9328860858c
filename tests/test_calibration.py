"""Calibration (docs/model.md, "Calibration from a fund's history"): the likelihood against a direct
numerical integration, known parameters recovered within their intervals, refusals of what a
history cannot identify, bad rows named, and the command line."""

from __future__ import annotations

import math
from importlib import resources

import numpy as np
import pytest
from scipy import integrate, special, stats

import riskpool as rp
from riskpool import calibration
from riskpool.calibration import History, calibrate, log_likelihood
from riskpool.cli import main

EXAMPLES = resources.files("riskpool") / "examples"


def synthetic(seed: int, pd: float = 0.03, rho: float = 0.12, years: int = 15, n: int = 600) -> History:
    rng = np.random.default_rng(seed)
    p = special.ndtr((special.ndtri(pd) - math.sqrt(rho) * rng.standard_normal(years)) / math.sqrt(1 - rho))
    return History(tuple(range(years)), ("",), np.full((years, 1), n), rng.binomial(n, p)[:, None])


def test_the_quadrature_agrees_with_a_direct_integration_of_the_mixture():
    h = History((0, 1, 2), ("a", "b"), np.array([[300, 100], [250, 90], [400, 80]]), np.array([[9, 2], [20, 6], [4, 0]]))
    for pd, rho in ((0.03, 0.1), (0.01, 0.3), (0.05, 0.0)):
        direct = 0.0
        for y in range(3):
            def joint(z, y=y, pd=pd, rho=rho):
                p = special.ndtr((special.ndtri(pd) - math.sqrt(rho) * z) / math.sqrt(1 - rho))
                return np.prod(stats.binom.pmf(h.defaults[y], h.at_risk[y], p)) * stats.norm.pdf(z)
            direct += math.log(integrate.quad(joint, -12, 12, limit=400, epsabs=0, epsrel=1e-11)[0])
        assert log_likelihood(h, pd, rho) == pytest.approx(direct, rel=1e-7, abs=1e-7)


def test_known_parameters_are_recovered_within_their_intervals_at_about_their_coverage():
    """12 synthetic histories of known PD and correlation: 95 % intervals should miss at most
    once or twice; missing 4 times or more has probability below 0.3 % (binomial 12, 0.05). A
    finer check of coverage over many seeds belongs in a benchmark, not here."""
    pd_missed = rho_missed = 0
    for seed in range(12):
        est = calibrate(synthetic(seed)).estimates
        pd_e, rho_e = est["credit.annual_pd"], est["credit.asset_correlation"]
        assert pd_e.identified and rho_e.identified
        pd_missed += not pd_e.low <= 0.03 <= pd_e.high
        rho_missed += not rho_e.low <= 0.12 <= rho_e.high
    assert pd_missed <= 3 and rho_missed <= 3, (pd_missed, rho_missed)


def test_no_default_refuses_the_pd_with_its_upper_bound():
    h = History((2020, 2021), ("",), np.array([[100], [120]]), np.array([[0], [0]]))
    est = calibrate(h).estimates["credit.annual_pd"]
    assert not est.identified and est.value is None
    assert est.high == pytest.approx(1 - 0.05 ** (1 / 220))
    assert "not identified" in est.note
    assert not calibrate(h).estimates["credit.asset_correlation"].identified


def test_too_few_years_fix_the_correlation_and_fit_the_binomial_pd():
    h = History((2023, 2024), ("",), np.array([[400], [500]]), np.array([[10], [20]]))
    c = calibrate(h)
    assert not c.estimates["credit.asset_correlation"].identified
    pd = c.estimates["credit.annual_pd"]
    assert pd.value == pytest.approx(30 / 900, rel=1e-5)
    # the profile interval of a binomial: where the likelihood ratio reaches the chi-squared point
    for end in (pd.low, pd.high):
        lr = 2 * (log_likelihood(h, pd.value, 0.0) - log_likelihood(h, end, 0.0))
        assert lr == pytest.approx(calibration.CHI2_95, abs=1e-4)


def test_recovery_and_delay_laws_are_recovered():
    rng = np.random.default_rng(3)
    recoveries = rng.beta(0.15 * 11.75, 0.85 * 11.75, 2000)  # mean 0.15, sd 0.10
    delays = rng.gamma(9.0, 2.0, 2000)  # mean 18, sd 6
    est = calibrate(History((0,), ("",), np.array([[10]]), np.array([[1]])), recoveries, delays).estimates
    assert est["collateral.recovery_mean"].value == pytest.approx(0.15, abs=0.01)
    assert est["collateral.recovery_sd"].value == pytest.approx(0.10, abs=0.01)
    assert est["collateral.disposal_months_mean"].value == pytest.approx(18, abs=0.5)
    assert est["collateral.disposal_months_sd"].value == pytest.approx(6, abs=0.5)
    few = calibrate(History((0,), ("",), np.array([[10]]), np.array([[1]])), recoveries[:2], delays[:2]).estimates
    assert not few["collateral.recovery_mean"].identified and "at least 3" in few["collateral.recovery_mean"].note


def test_every_bad_row_is_named_by_line_and_column():
    text = b"year,at_risk,defaults\n2020,100,x\n2021,120,130\n2021,-5,0\n2022,50,1\n2022,60,2\n"
    with pytest.raises(rp.ScenarioError) as caught:
        calibration.read_history(text)
    paths = [p.path for p in caught.value.problems]
    assert paths == ["history line 2 column defaults", "history line 3 column defaults", "history line 4 column at_risk",
                     "history line 6 column year"]
    with pytest.raises(rp.ScenarioError, match="missing defaults"):
        calibration.read_history(b"year,at_risk\n2020,5\n")


def test_the_bundled_synthetic_history_calibrates_a_scenario(tmp_path, capsys):
    out = tmp_path / "calibrated.toml"
    code = main(["calibrate", str(EXAMPLES / "history.csv"), "--recoveries", str(EXAMPLES / "disposals.csv"),
                 "--out", str(out)])
    assert code == 0 and "credit.annual_pd" in capsys.readouterr().out
    result = rp.calibrate(EXAMPLES / "history.csv", EXAMPLES / "disposals.csv")
    s = rp.load(out)
    assert s.credit.annual_pd == result.estimates["credit.annual_pd"].value
    assert s.collateral.recovery_mean == result.estimates["collateral.recovery_mean"].value
    pd = result.estimates["credit.annual_pd"]
    assert pd.low <= 0.03 <= pd.high  # the truth the example was drawn with (scripts/make_history.py)
