"""Parameter uncertainty (docs/model.md section 2.7): each block draws its own parameters, results
do not depend on workers, a degenerate spread gives the plain run bit for bit, both engines agree."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

import riskpool as rp
from riskpool.engine import simulate
from riskpool.fates import sample_block
from riskpool.structure import compile_structure
from riskpool.uncertainty import block_parameters, block_structure, split

if str(Path(__file__).resolve().parent) not in sys.path:  # tests/ has no __init__.py
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_events import check_block  # noqa: E402

ARRAYS = ("paths", "nodes", "counties", "balance", "budget", "banks", "covered")
WIDE = ["credit.annual_pd=0.1", "uncertainty.annual_pd={low=0.02, high=0.3}",
        "uncertainty.recovery_mean={values=[0.1, 0.15, 0.3]}", "uncertainty.asset_correlation={low=0, high=0.3}"]


def same(a, b) -> bool:
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ARRAYS)


@pytest.mark.parametrize("spread", ["uncertainty.annual_pd={low=0.02, high=0.02}",
                                    "uncertainty.recovery_mean={values=[0.15]}"])
def test_a_spread_of_one_value_gives_the_plain_run_bit_for_bit(spread):
    plain = simulate(rp.load("minimal"), paths=600, seed=3)
    assert same(simulate(rp.load("minimal", [spread]), paths=600, seed=3), plain)


def test_each_block_samples_its_fates_with_its_own_draw_and_workers_change_nothing():
    s = rp.load("minimal", WIDE)
    one = simulate(s, paths=1000, seed=5)
    assert same(simulate(s, paths=1000, seed=5, workers=2, blocks_per_task=1), one)
    values = [block_parameters(s, 5, b) for b in range(4)]
    assert len({v["credit.annual_pd"] for v in values}) == 4
    assert all(0.02 <= v["credit.annual_pd"] <= 0.3 and v["collateral.recovery_mean"] in (0.1, 0.15, 0.3) for v in values)
    own = rp.load("minimal", [f"{k}={v!r}" for k, v in values[2].items()])
    fates = sample_block(block_structure(s, compile_structure(s), 5, 2), 5, 2, 250)
    expected = sample_block(compile_structure(own), 5, 2, 250)
    for name in ("default_month", "size", "recovery", "delay"):
        assert np.array_equal(getattr(fates, name), getattr(expected, name)), name


def test_the_event_engine_agrees_on_a_block_with_its_own_parameters():
    s = rp.load("minimal", WIDE)
    st = compile_structure(s)
    check_block(st, sample_block(block_structure(s, st, 7, 1), 7, 1, 6))


def test_the_summary_splits_the_blocks_spread():
    run = rp.simulate(rp.load("minimal", WIDE + ["funds.scale=0.1"]), paths=2500, seed=2)
    u = run.summary.uncertainty
    assert u.blocks == 10 and len(u.block_p_shortfall) == 10 and len(u.parameters["credit.annual_pd"]) == 10
    short = run.paths()["shortfall"].to_numpy(dtype=float)
    assert u.block_p_shortfall == [pytest.approx(short[i * 250:(i + 1) * 250].mean()) for i in range(10)]
    assert u.parameter_sd > u.monte_carlo_sd  # a PD from 2 % to 30 % moves the blocks far more than noise
    assert u.sufficiency_q025 <= run.summary.fund.sufficiency <= u.sufficiency_q975
    parts = split([0.1, 0.3], [250, 250])
    assert parts["total_sd"] == pytest.approx(math.sqrt(0.02))
    assert parts["monte_carlo_sd"] == pytest.approx(math.sqrt((0.09 + 0.21) / 250 / 2))
    assert parts["parameter_sd"] == pytest.approx(math.sqrt(0.02 - 0.3 / 500))


@pytest.mark.parametrize(("override", "where"), [
    ("uncertainty.annual_pd={low=0.05, high=0.01}", "uncertainty.annual_pd.low"),
    ("uncertainty.annual_pd={low=0.01}", "uncertainty.annual_pd"),
    ("uncertainty.recovery_mean={low=0.1, high=0.2, values=[0.1]}", "uncertainty.recovery_mean"),
    ("uncertainty.recovery_mean={values=[0.01, 0.2]}", "uncertainty.recovery_mean"),
])
def test_a_bad_spread_names_itself(override, where):
    with pytest.raises(rp.ScenarioError) as caught:
        rp.load("minimal", [override])
    assert [p.path for p in caught.value.problems] == [where]


def test_uncertainty_runs_with_plain_sampling_only():
    with pytest.raises(rp.ScenarioError, match="plain sampling only"):
        simulate(rp.load("minimal", WIDE), paths=250, method="importance")


def test_the_app_states_the_range_over_the_parameter_draws():
    from riskpool.present.formats import percent
    from riskpool.webapp import analysis, page

    a = analysis.analyse(rp.load("minimal", WIDE + ["funds.scale=0.1"], paths=1000))
    u = a.summary.uncertainty
    for lang in ("zh", "en"):
        text = page.uncertainty_caption(a.summary, lang)
        assert percent(u.sufficiency_q025) in text and percent(u.parameter_sd, digits=2) in text
