"""The analysts' web app through Streamlit's AppTest: the main interactions, without a browser.

tests/test_app_browser.py drives the same page in a real chromium.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from riskpool import scenario as scenario_mod
from riskpool.workspace import Workspace
from riskpool.webapp import analysis, controls, launch
from riskpool.webapp.page import APP_PATHS

APP = str(Path(__file__).resolve().parents[1] / "app.py")  # AppTest resolves relative paths oddly
SMALL = 500  # paths for the interactions that do not test the default


def fresh(paths: int | None = SMALL) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if paths is not None:
        at.number_input(key="simulation.paths").set_value(paths).run()
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def run(at: AppTest) -> AppTest:
    at.button(key="run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_page_opens_on_the_baseline_in_chinese_with_the_app_default_paths():
    at = fresh(paths=None)
    assert at.sidebar.radio(key="lang").value == "zh"
    assert at.selectbox(key="source").value == scenario_mod.DEFAULT_SCENARIO
    base = scenario_mod.load(scenario_mod.DEFAULT_SCENARIO)
    assert at.number_input(key="credit.annual_pd").value == base.credit.annual_pd
    assert at.number_input(key="simulation.paths").value == APP_PATHS
    assert not at.button(key="run").disabled
    assert "运行" in at.button(key="run").label


def test_changing_the_default_rate_and_running_updates_sufficiency_per_tier():
    at = run(fresh())
    before = metrics(at)
    assert {"整体充足率", "省级充足率", "市级充足率", "县级充足率"} <= set(before)
    at.number_input(key="credit.annual_pd").set_value(0.08)
    after = metrics(run(at))
    assert after["整体充足率"] != before["整体充足率"]
    worse = [float(after[k].split(" %")[0]) <= float(before[k].split(" %")[0]) for k in before if "充足率" in k]
    assert all(worse), (before, after)  # a higher PD cannot help on common random numbers
    assert len(at.get("plotly_chart")) >= 4  # fan chart, regions, parties, survival


def test_the_app_gives_the_engine_numbers():
    """The card shows summary.json's sufficiency for the same scenario, paths and seed."""
    at = run(fresh())
    s = scenario_mod.load(scenario_mod.DEFAULT_SCENARIO, simulation__paths=SMALL)
    fund = analysis.analyse(s).summary.fund
    from riskpool.present.formats import percent

    card = next(m for m in at.metric if m.label == "整体充足率")
    assert card.value == percent(fund.sufficiency)
    assert card.proto.delta == f"± {100 * fund.p_shortfall_se:.1f}"


def test_switching_language_translates_labels_and_keeps_values():
    at = run(fresh())
    at.number_input(key="credit.annual_pd").set_value(0.03).run()
    at.sidebar.radio(key="lang").set_value("en").run()
    assert not at.exception
    assert at.number_input(key="credit.annual_pd").value == 0.03
    labels = set(metrics(at))
    assert {"Fund sufficiency", "Province sufficiency"} <= labels
    assert not any("充足" in label for label in labels)
    assert at.button(key="run").label == "Run"
    assert any("CNY" in v for v in metrics(at).values())  # money in CNY millions in English
    at.sidebar.radio(key="lang").set_value("zh").run()
    assert any("亿元" in v or "万元" in v for v in metrics(at).values())


def test_shares_that_do_not_sum_to_one_disable_running_with_the_message_beside_them():
    sharing = scenario_mod.load(scenario_mod.DEFAULT_SCENARIO).sharing
    at = fresh()
    at.number_input(key="sharing.fund").set_value(sharing.fund + 0.2).run()
    assert at.button(key="run").disabled
    messages = [e.value for e in at.sidebar.error]
    assert any(m.startswith("sharing = ") and "must sum to 1" in m for m in messages), messages
    assert any("1.200" in w.value for w in at.sidebar.warning)  # the live sum
    at.number_input(key="sharing.bank").set_value(sharing.bank - 0.2).run()
    assert not at.button(key="run").disabled
    assert not at.sidebar.error


def test_an_impossible_recovery_distribution_is_named_and_blocks_running():
    at = fresh()
    at.number_input(key="collateral.recovery_mean").set_value(0.01).run()
    assert at.button(key="run").disabled
    assert any(e.value.startswith("collateral.recovery_sd") for e in at.sidebar.error)


def test_a_malformed_stress_list_is_named():
    at = fresh()
    at.text_input(key="credit.stress").set_value("1, 2, x").run()
    assert at.button(key="run").disabled
    assert any(e.value.startswith("credit.stress") for e in at.sidebar.error)


def test_identical_inputs_come_from_the_cache():
    at = run(fresh())
    at.number_input(key="credit.annual_pd").set_value(0.05)
    run(at)
    at.number_input(key="credit.annual_pd").set_value(0.02)
    run(at)
    assert "（缓存）" in at.caption[1].value or any("（缓存）" in c.value for c in at.caption)


def test_comparison_shows_the_original_beside_the_edit():
    at = run(fresh())
    at.number_input(key="funds.scale").set_value(2.0)
    run(at)
    tables = [d.value for d in at.dataframe]
    compared = [t for t in tables if "原情景" in t.columns]
    assert compared, [list(t.columns) for t in tables]
    rows = compared[0].set_index("指标")
    assert rows.loc["现有资金", "修改后"] != rows.loc["现有资金", "原情景"]


def test_workspace_compares_named_scenarios_and_saves_them_as_one_file():
    at = run(fresh())
    at.text_input(key="workspace_name").set_value("基准").run()
    at.button(key="workspace_add").click().run()
    at.number_input(key="funds.scale").set_value(0.2)
    run(at)
    at.text_input(key="workspace_name").set_value("资金减至两成").run()
    at.button(key="workspace_add").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.multiselect(key="workspace_chosen").value == ["基准", "资金减至两成"]
    tables = [d.value for d in at.dataframe if "基准" in d.value.columns]
    assert tables, [list(d.value.columns) for d in at.dataframe]
    rows = tables[0].set_index("指标")
    change = rows.loc["充足率（期内不缺口概率）", "资金减至两成 相对参照的变化（± 标准误）"]
    assert " ± " in change and change.startswith("-"), change  # smaller funds, paired error
    saved = Workspace.from_json(at.session_state["workspace"].to_json())  # what the save button offers
    assert list(saved.scenarios) == ["基准", "资金减至两成"]
    assert saved.scenarios["资金减至两成"].sha256() != saved.scenarios["基准"].sha256()


def test_explore_heatmap_and_sizing_answer():
    at = run(fresh())
    at.button(key="explore_run").click().run()
    assert not at.exception
    assert any(c.proto.spec and "contour" in c.proto.spec for c in at.get("plotly_chart"))
    at.button(key="size_run").click().run()
    assert not at.exception
    assert any("倍" in s.value and "亿元" in s.value for s in at.success), [s.value for s in at.success]


def test_downloads_offer_the_scenario_summary_manifest_nodes_and_report():
    at = run(fresh())
    at.button(key="prepare").click().run()
    assert not at.exception, [e.value for e in at.exception]
    keys = {b.key for b in at.get("download_button")}
    assert {"download_toml", "download_summary", "download_manifest", "download_nodes", "download_report"} <= keys


# --------------------------------------------------------------------------- the pieces behind the page


def test_edited_scenario_round_trips_through_the_downloaded_toml():
    base = scenario_mod.load("minimal")
    edited = controls.edit(base, {"credit.annual_pd": 0.04, "funds.city.fund_scale": 2.0, "credit.stress": "1, 2, 1, 1, 1"})
    text = analysis.scenario_toml(edited, "note")
    again = scenario_mod.from_upload(text)
    assert again.sha256() == edited.sha256()
    assert tomllib.loads(text.decode())["credit"]["annual_pd"] == 0.04
    assert again.regions[1].fund == 2 * base.regions[1].fund
    assert again.stress_factors() == [1.0, 2.0, 1.0, 1.0, 1.0]


def test_no_edit_gives_back_the_base_scenario():
    base = scenario_mod.load(scenario_mod.DEFAULT_SCENARIO)
    values = controls.base_values(base)
    assert controls.changed(values, values) == {}
    assert controls.edit(base, {}).sha256() == base.sha256()


def test_every_control_path_is_a_valid_override():
    base = scenario_mod.load("minimal")
    for path, value in controls.base_values(base).items():
        assert controls.edit(base, {path: value}).sha256() == base.sha256(), path


def test_problems_are_placed_beside_their_control_or_section():
    problems = [scenario_mod.Problem("sharing", 1.2, "sum"), scenario_mod.Problem("sharing.tiers", 0.9, "sum"),
                scenario_mod.Problem("credit.annual_pd", 2, "range"), scenario_mod.Problem("regions[3].fund", -1, "x")]
    placed = controls.place(problems)
    assert [p.path for p in placed["sharing"]] == ["sharing"]
    assert [p.path for p in placed["sharing.tiers"]] == ["sharing.tiers"]
    assert [p.path for p in placed["credit.annual_pd"]] == ["credit.annual_pd"]
    assert [p.path for p in placed[""]] == ["regions[3].fund"]


def test_upload_is_size_limited_and_parsed_as_toml_only():
    with pytest.raises(scenario_mod.ScenarioError, match="too large"):
        scenario_mod.from_upload(b"#" * (scenario_mod.MAX_UPLOAD_BYTES + 1))
    with pytest.raises(scenario_mod.ScenarioError, match="invalid TOML"):
        scenario_mod.from_upload(b"!!python/object:os.system ['echo']\n")
    with pytest.raises(scenario_mod.ScenarioError, match="not UTF-8"):
        scenario_mod.from_upload(b"\x80\x81")


def test_riskpool_app_listens_on_localhost_by_default():
    command = launch.streamlit_command("127.0.0.1", 8765)
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert command[command.index("--server.maxUploadSize") + 1] == "1"
    assert launch.SCRIPT.exists()
    config = tomllib.loads((Path(APP).parent / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"


def test_summary_download_is_summary_json():
    s = scenario_mod.load("minimal", simulation__paths=250)
    a = analysis.analyse(s)
    files = analysis.export_files(a, "en")
    assert json.loads(files["summary.json"]) == json.loads(json.dumps(a.summary.to_json()))
    manifest = json.loads(files["manifest.json"])
    assert manifest["scenario_sha256"] == s.sha256() and manifest["paths"] == 250
    assert files["nodes.csv"].startswith(b"path,node,tier")
    assert b"<html" in files["report.html"]


def test_fund_multipliers_show_what_they_amount_to_per_tier():
    at = fresh()
    at.number_input(key="funds.city.fund_scale").set_value(2.0).run()
    base = scenario_mod.load(scenario_mod.DEFAULT_SCENARIO)
    city = sum(r.fund for r in base.regions if r.tier == "city" and r.fund is not None)
    from riskpool.present.formats import money

    assert any(c.value.startswith("市级") and money(2 * city, "zh") in c.value for c in at.sidebar.caption), \
        [c.value for c in at.sidebar.caption]
