"""`riskpool size` and `riskpool sensitivity`: answers checked against brute force."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from riskpool import scenario
from riskpool.cli import main
from riskpool.study.sizing import Sizer, size

PATHS = 400
SEED = 7


def minimal_raw(*overrides: str) -> dict:
    raw = scenario.read_toml(scenario.bundled_path("minimal"))
    for item in overrides:
        scenario.apply_override(raw, *scenario.split_override(item))
    return raw


def test_size_is_bracketed_by_a_fine_grid() -> None:
    """The bisection's answer lies between the last grid scale below the target and the first above."""
    raw = minimal_raw("credit.annual_pd=0.08")
    answer = size(raw, 0.9, paths=PATHS, seed=SEED)
    grid_sizer = Sizer(raw, None, None, PATHS, SEED, 1)
    scales = np.linspace(0.0, 1.0, 41)
    suff = np.array([grid_sizer.sufficiency(s) for s in scales])
    assert np.all(np.diff(suff) >= 0), "sufficiency must not fall as the funds grow (common random numbers)"
    first = int(np.argmax(suff >= 0.9))
    assert suff[first] >= 0.9 and first > 0
    assert scales[first - 1] < answer.scale <= scales[first] + 1e-12
    assert answer.scale_low <= answer.scale <= answer.scale_high
    assert answer.sufficiency >= 0.9
    assert answer.capital_needed == pytest.approx(answer.scale * answer.capital_now)


def test_size_of_one_node_scales_only_that_fund() -> None:
    raw = minimal_raw("credit.annual_pd=0.08")
    answer = size(raw, 0.9, node="430104", paths=PATHS, seed=SEED)
    assert answer.what == "node 430104"
    assert answer.capital_now == 3_000_000
    sizer = Sizer(raw, "430104", None, PATHS, SEED, 1)
    at = sizer.scenario_at(2.0)
    funds = {r.id: r.fund for r in at.regions}
    assert funds == {"hunan": 65_000_000, "changsha": 30_000_000, "430104": 6_000_000}


def test_size_refuses_unknown_node_and_both_selectors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["size", "minimal", "--node", "nowhere", "--paths", "50"]) == 2
    assert "--node" in capsys.readouterr().err
    assert main(["size", "minimal", "--node", "430104", "--tier", "city", "--paths", "50"]) == 2


def test_size_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["size", "minimal", "--tier", "county", "--paths", "200", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["what"] == "tier county"
    assert answer["scale_low"] <= answer["scale"] <= answer["scale_high"]
    assert answer["paths"] == 200


def test_sensitivity_ranks_a_parameter_that_cannot_matter_last(tmp_path, capsys) -> None:
    """The guarantor's fee rate does not touch the fund: its indices are exactly zero."""
    out = tmp_path / "sens"
    rc = main(["sensitivity", "minimal", "--range", "credit.annual_pd=0.01:0.3",
               "--range", "parties.guarantor.fee_rate=0:0.05", "--set", "funds.scale=0.05",
               "--samples", "8", "--paths", "300", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    table = pq.read_table(out / "sensitivity.parquet").to_pydict()
    rows = {(o, p): (s1, st) for o, p, s1, st in zip(table["output"], table["parameter"], table["S1"], table["ST"])}
    for output in ("p_shortfall", "payout_net_mean"):
        assert rows[(output, "parties.guarantor.fee_rate")] == (0.0, 0.0)
        assert rows[(output, "credit.annual_pd")][1] > 0.5
    assert (out / "sensitivity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
