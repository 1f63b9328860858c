"""Paired statistics on common random numbers: the standard error of a difference between two runs."""

from __future__ import annotations

import math

import pytest

import riskpool as rp


def test_the_se_of_a_difference_is_that_of_the_discordant_paths():
    # smaller funds on the same paths: a path short at the larger funds is short at the smaller
    # (property 5), so d = ok_small - ok_large is 0 or -1; with q the share of discordant paths,
    # the sd of d is sqrt(q (1 - q) n / (n - 1))
    set_ = {"credit.annual_pd": 0.2, "funds.scale": 0.05}
    large = rp.simulate(rp.load("minimal", set=set_), paths=2000, seed=1)
    small = rp.simulate(rp.load("minimal", set={**set_, "funds.scale": 0.04}), paths=2000, seed=1)
    q = large.summary.fund.sufficiency - small.summary.fund.sufficiency
    assert q > 0
    n = 2000
    assert rp.paired_se(large, small)["sufficiency"] == pytest.approx(math.sqrt(q * (1 - q) * n / (n - 1) / n))
    # far below the error of two independent estimates
    unpaired = math.hypot(large.summary.fund.p_shortfall_se, small.summary.fund.p_shortfall_se)
    assert rp.paired_se(large, small)["sufficiency"] < 0.8 * unpaired
    assert all(v == 0 for v in rp.paired_se(large, large).values())


def test_a_paired_difference_needs_the_same_paths():
    a = rp.simulate(rp.load("minimal"), paths=300, seed=1)
    with pytest.raises(ValueError, match="same seed and paths"):
        rp.paired_se(a, rp.simulate(rp.load("minimal"), paths=300, seed=2))


def test_a_sweep_keeps_what_the_se_of_a_difference_between_points_needs(tmp_path):
    s = rp.load("minimal", set={"credit.annual_pd": 0.2}, paths=1000)
    sweep = rp.sweep(s, {"funds.scale": [0.05, 0.04]}, paths=1000, seed=1, out=tmp_path / "sw")
    points = sweep.points.set_index("point")
    diff, se = sweep.difference(0, 1)["p_shortfall"]
    assert diff == pytest.approx(points.loc[1, "p_shortfall"] - points.loc[0, "p_shortfall"])
    # the same as the two runs' paired difference: the sweep's points are those runs
    runs = [rp.simulate(rp.load("minimal", set={"credit.annual_pd": 0.2, "funds.scale": x}), paths=1000, seed=1)
            for x in (0.05, 0.04)]
    assert se == pytest.approx(rp.paired_se(runs[0], runs[1])["sufficiency"])
    again = rp.open_sweep(tmp_path / "sw")
    assert again.difference(0, 1) == sweep.difference(0, 1)
    payout, payout_se = sweep.difference(0, 1)["payout_net_mean"]
    assert payout == pytest.approx(points.loc[1, "payout_net_mean"] - points.loc[0, "payout_net_mean"])
    with pytest.raises(rp.ScenarioError):
        sweep.difference(0, 7)


def test_verify_of_a_sweep_catches_a_forged_path_row(tmp_path):
    import pyarrow.parquet as pq

    folder = tmp_path / "sw"
    rp.sweep(rp.load("minimal", set={"credit.annual_pd": 0.2}), {"funds.scale": [0.05, 0.1]}, paths=300, seed=1,
             out=folder)
    assert rp.verify(folder / "manifest.json", points=None).identical
    table = pq.read_table(folder / "sweep_paths.parquet").to_pandas()
    table.loc[3, "shortfall"] = not table.loc[3, "shortfall"]
    pq.write_table(__import__("pyarrow").Table.from_pandas(table, preserve_index=False), folder / "sweep_paths.parquet")
    report = rp.verify(folder / "manifest.json", points=None)
    assert not report.identical and any("sweep_paths.parquet" in p for p in report.problems)
