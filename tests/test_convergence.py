"""Convergence diagnostics (docs/model.md section 6.12): the running estimate, its batch-means
error and the paths a narrower interval needs."""

from __future__ import annotations

import math

import numpy as np
import pytest

import riskpool as rp
from riskpool.metrics import batch_means_se


def test_the_checkpoints_are_running_estimates_with_batch_means_errors():
    run = rp.simulate(rp.load("minimal", set={"credit.annual_pd": 0.2, "funds.scale": 0.05}), paths=3000, seed=2)
    c = run.summary.convergence
    assert [k.paths for k in c.checkpoints] == [250, 500, 1000, 2000, 3000]
    short = run.paths()["shortfall"].to_numpy(dtype=float)
    for k in c.checkpoints:
        assert k.p_shortfall == pytest.approx(short[: k.paths].mean())
        batches = short[: (k.paths // 250) * 250].reshape(-1, 250).mean(axis=1)
        if len(batches) < 2:  # one batch: the plain formula
            assert k.se == pytest.approx(np.std(short[: k.paths], ddof=1) / math.sqrt(k.paths))
        else:
            assert k.se == pytest.approx(np.std(batches, ddof=1) / math.sqrt(len(batches)))
    assert c.checkpoints[-1].p_shortfall == run.summary.fund.p_shortfall
    # on a plain run batch means estimate the binomial error, up to the noise of 12 batches
    p = run.summary.fund.p_shortfall
    assert c.checkpoints[-1].se == pytest.approx(math.sqrt(p * (1 - p) / 3000), rel=0.5)
    spread = c.checkpoints[-1].se * math.sqrt(3000)
    assert c.paths_for["0.01"] == math.ceil((1.959963984540054 * spread / 0.01) ** 2)
    assert c.paths_for["0.001"] > c.paths_for["0.005"] > c.paths_for["0.01"]


def test_no_shortfall_means_no_paths_needed_figure():
    c = rp.simulate(rp.load("minimal"), paths=500, seed=1).summary.convergence
    assert c.paths_for == {"0.01": None, "0.005": None, "0.001": None}


def test_batch_means_of_independent_values_match_the_plain_error_in_mean():
    rng = np.random.default_rng(0)
    ratios = [batch_means_se(rng.binomial(1, 0.1, 5000).astype(float)) / math.sqrt(0.09 / 5000) for _ in range(200)]
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.05)
    assert batch_means_se(np.array([1.0, 0.0, 0.0])) == pytest.approx(np.std([1, 0, 0], ddof=1) / math.sqrt(3))
