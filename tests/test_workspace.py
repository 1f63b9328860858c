"""Named scenarios saved as one file, and runs compared side by side (riskpool.workspace, rp.compare)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import riskpool as rp
from riskpool.scenario import ScenarioError
from riskpool.workspace import MAX_SCENARIOS, Workspace


def test_a_saved_workspace_reads_back_to_the_same_scenarios() -> None:
    w = Workspace()
    w.add("基准", rp.load("hunan-baseline"))
    w.add("PD 4%", rp.load("hunan-baseline", set={"credit.annual_pd": 0.04}))
    w.add("minimal", rp.load("minimal"))
    again = Workspace.from_json(w.to_json())
    assert list(again.scenarios) == ["基准", "PD 4%", "minimal"]
    assert [s.sha256() for s in again.scenarios.values()] == [s.sha256() for s in w.scenarios.values()]
    w.add("基准", rp.load("minimal"))  # a name again replaces, in its place
    assert list(w.scenarios) == ["基准", "PD 4%", "minimal"] and w.scenarios["基准"].sha256() == rp.load("minimal").sha256()


def test_every_bad_scenario_of_a_file_is_named_with_its_field() -> None:
    w = Workspace()
    w.add("a", rp.load("minimal"))
    w.add("b", rp.load("minimal"))
    raw = json.loads(w.to_json())
    raw["scenarios"][0]["scenario"]["credit"]["annual_pd"] = 2.0
    raw["scenarios"][1]["scenario"]["credit"]["typo"] = 1
    with pytest.raises(ScenarioError) as err:
        Workspace.from_json(json.dumps(raw))
    paths = [p.path for p in err.value.problems]
    assert paths == ["workspace.a.credit.annual_pd", "workspace.b.credit.typo"], paths


@pytest.mark.parametrize(("text", "path"), [
    ("not json", "workspace"),
    ('{"format": "other"}', "workspace.format"),
    ('{"format": "riskpool-workspace", "version": 9}', "workspace.version"),
    ('{"format": "riskpool-workspace", "version": 1, "scenarios": 3}', "workspace.scenarios"),
    ('{"format": "riskpool-workspace", "version": 1, "scenarios": [{"name": "x"}]}', "workspace.scenarios[0]"),
])
def test_a_file_that_is_not_a_workspace_is_refused(text: str, path: str) -> None:
    with pytest.raises(ScenarioError) as err:
        Workspace.from_json(text)
    assert err.value.problems[0].path == path


def test_names_and_size_are_bounded() -> None:
    w = Workspace()
    with pytest.raises(ScenarioError):
        w.add("  ", rp.load("minimal"))
    for k in range(MAX_SCENARIOS):
        w.add(f"s{k}", rp.load("minimal"))
    with pytest.raises(ScenarioError):
        w.add("one more", rp.load("minimal"))
    raw = json.loads(w.to_json())
    raw["scenarios"].append(raw["scenarios"][0])
    with pytest.raises(ScenarioError):
        Workspace.from_json(json.dumps(raw))


def test_compare_gives_each_difference_and_its_paired_standard_error() -> None:
    base = rp.load("hunan-baseline", set={"simulation.paths": 1000, "credit.annual_pd": 0.05})
    runs = {"base": rp.simulate(base), "lean": rp.simulate(rp.load(base.canonical(), set={"funds.scale": 0.3})),
            "other seed": rp.simulate(base, seed=99)}
    table = rp.compare(runs).set_index("figure")
    s = {name: run.summary for name, run in runs.items()}
    assert table.loc["sufficiency", "lean"] == s["lean"].fund.sufficiency
    assert table.loc["sufficiency", "lean - base"] == s["lean"].fund.sufficiency - s["base"].fund.sufficiency
    # the paired standard error, by hand: sd of the path-by-path differences over sqrt(paths)
    short = {name: run.paths()["shortfall"].to_numpy(dtype=float) for name, run in runs.items()}
    d = (1 - short["lean"]) - (1 - short["base"])
    assert table.loc["sufficiency", "se(lean - base)"] == pytest.approx(np.std(d, ddof=1) / math.sqrt(len(d)), rel=1e-12)
    assert math.isnan(table.loc["sufficiency", "se(other seed - base)"])  # not on the same random numbers
