"""The Streamlit page: scenario inputs in the sidebar, results and exploration in the main area.

Layout and words only; every figure comes from riskpool.webapp.analysis (the engine's API) and
every chart from riskpool.present.figures. Widget keys are the scenario paths of the controls, so a
value survives a language switch and tests can address a control by its path.
"""

from __future__ import annotations

import threading
import time
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from .. import scenario as scenario_mod
from ..files.atomic import json_text
from ..present import figures, maps, views
from ..present.formats import money, month_label, percent, plus_minus, times
from ..present.labels import Lang, t
from ..register import with_register
from ..scenario import NO_VALUE, Problem, Scenario, ScenarioError
from ..study.sizing import MAX_SCALE
from ..summary import Summary
from ..webapp import analysis, controls
from ..webapp.workspace import workspace_section

APP_PATHS = 2_000  # the app's default: an answer in about a second on one core
CACHE_ENTRIES = 4  # each entry keeps a run's arrays: about 40 MB at 2,000 paths of the baseline
LANG_NAMES = {"zh": "中文", "en": "English"}


def main() -> None:
    st.set_page_config(page_title="riskpool", page_icon="📊", layout="wide")
    _warming_up()
    lang = st.sidebar.radio(t("language", "zh"), list(LANG_NAMES), format_func=LANG_NAMES.get, key="lang",
                            horizontal=True)
    st.title(t("title", lang))
    st.caption(t("intro", lang))
    base = scenario_input(lang)
    values = sync_controls(base)
    edited, problems = apply_edits(base, values)
    placed = controls.place(problems)
    parameter_inputs(values, placed, edited, lang)
    if run_button(edited, placed.get("", []), lang):
        with st.spinner(t("run", lang)):
            st.session_state["result"] = run(edited)
    show_result(base, edited, lang)


# --------------------------------------------------------------------------- inputs


def scenario_input(lang: Lang) -> Scenario:
    """The scenario the analyst starts from: a bundled one, or an uploaded TOML file."""
    sidebar = st.sidebar
    sidebar.header(t("scenario", lang))
    names = scenario_mod.bundled_names()
    name = sidebar.selectbox(t("bundled", lang), names, index=names.index(scenario_mod.DEFAULT_SCENARIO), key="source")
    kib = scenario_mod.MAX_UPLOAD_BYTES // 1024
    upload = sidebar.file_uploader(t("upload", lang), type=["toml"], key="upload", help=t("upload_help", lang, kib=kib))
    base = _bundled(name)
    if upload is not None:
        data = upload.getvalue()
        try:
            base = _uploaded(data, upload.name)
            sidebar.success(t("using_upload", lang, name=upload.name))
        except ScenarioError as exc:
            for problem in exc.problems:
                sidebar.error(str(problem))
    return register_input(base, lang)


MAX_SHOWN_PROBLEMS = 200  # of a register; the message gives their number


def register_input(base: Scenario, lang: Lang) -> Scenario:
    """The fund's own loan register as the initial book (docs/model.md section 4.8); while the
    file has problems they are listed and nothing runs."""
    sidebar = st.sidebar
    upload = sidebar.file_uploader(t("register_upload", lang), type=["csv", "xlsx"], key="register",
                                   help=t("register_help", lang))
    if upload is None:
        return base
    month = sidebar.text_input(t("param.book.valuation_month", lang), value=date.today().strftime("%Y-%m"),
                               key="register_month")
    try:
        with_book = _registered(base.sha256(), base, upload.getvalue(), month, upload.name)
    except ScenarioError as exc:
        st.error(t("register_bad", lang, name=upload.name, n=len(exc.problems)))
        st.table(pd.DataFrame([{t("register_where", lang): p.path, t("register_problem", lang): p.allowed,
                                t("register_value", lang): "" if p.value is NO_VALUE else str(p.value)}
                               for p in exc.problems[:MAX_SHOWN_PROBLEMS]]))
        st.stop()
    sidebar.success(t("register_using", lang, name=upload.name, n=len(with_book.book.loans), month=month))
    return with_book


@st.cache_resource(max_entries=4, show_spinner=False)
def _registered(sha: str, _base: Scenario, data: bytes, month: str, name: str) -> Scenario:
    return with_register(_base, data, month or None, name)


@st.cache_resource(max_entries=8)
def _bundled(name: str) -> Scenario:
    return scenario_mod.load(name, simulation__paths=APP_PATHS)


def _uploaded(data: bytes, name: str) -> Scenario:
    s = scenario_mod.from_upload(data, name)
    return scenario_mod.from_dict(s.canonical(), simulation__paths=min(s.simulation.paths, APP_PATHS))


def sync_controls(base: Scenario) -> dict[str, Any]:
    """Load the controls with the base scenario's values whenever another scenario is chosen."""
    if st.session_state.get("base_sha") != base.sha256():
        reset_controls(base)
    return {c.path: st.session_state[c.path] for c in controls.CONTROLS}


def reset_controls(base: Scenario) -> None:
    st.session_state.update(controls.base_values(base))
    st.session_state["base_sha"] = base.sha256()


def apply_edits(base: Scenario, values: dict[str, Any]) -> tuple[Scenario | None, list[Problem]]:
    try:
        return controls.edit(base, controls.changed(controls.base_values(base), values)), []
    except ScenarioError as exc:
        return None, exc.problems


def parameter_inputs(values: dict[str, Any], placed: dict[str, list[Problem]], edited: Scenario | None,
                     lang: Lang) -> None:
    sidebar = st.sidebar
    sidebar.header(t("parameters", lang))
    for section in controls.SECTIONS:
        with sidebar.expander(section.label(lang), expanded=section.key in ("credit", "collateral")):
            for control in section.controls:
                control_widget(control, lang)
                _problems(placed.get(control.path, []))
            if section.sums_to_one:
                _share_check(values, section, lang)
            if section.key == "funds" and edited is not None:
                _tier_totals(edited, lang)
            _problems(placed.get(section.key, []))


def _tier_totals(s: Scenario, lang: Lang) -> None:
    """What the multipliers amount to: each tier's initial funds and yearly top-ups, in money."""
    for total in views.tier_totals(s):
        st.caption(t("tier_total", lang, tier=t(total.tier, lang), fund=money(total.capital, lang),
                      topup=money(total.annual_topup, lang)))


def control_widget(control: controls.Control, lang: Lang) -> None:
    label, key, tip = control.label(lang), control.path, control.help(lang)
    if control.kind == "choice":
        st.selectbox(label, control.choices, key=key, format_func=control.choice_label, help=tip)
    elif control.kind == "list":
        st.text_input(label, key=key, help=tip)
    elif control.kind == "int":
        st.number_input(label, min_value=int(control.low), max_value=int(control.high), step=int(control.step), key=key,
                        help=tip)
    else:
        st.number_input(label, min_value=control.low, max_value=control.high, step=control.step, format=control.fmt,
                        key=key, help=tip)


def _problems(problems: list[Problem]) -> None:
    for problem in problems:
        st.error(str(problem))


def _share_check(values: dict[str, Any], section: controls.Section, lang: Lang) -> None:
    total = controls.share_total(values, section)
    if abs(total - 1) <= scenario_mod.SHARE_TOLERANCE:
        st.success(t("sum_ok", lang))
    else:
        st.warning(t("sum_bad", lang, total=total))


def run_button(edited: Scenario | None, unplaced: list[Problem], lang: Lang) -> bool:
    if edited is None:
        st.error(t("fix_first", lang))
        _problems(unplaced)
    return st.button(t("run", lang), type="primary", disabled=edited is None, key="run")


# --------------------------------------------------------------------------- running


@st.cache_resource(show_spinner=False)
def _warming_up() -> threading.Thread:
    """Once per server: compile (or load) the engine's kernels while the first page loads, so that
    the first click answers like the others (a first run after installation compiles for ~20 s)."""
    thread = threading.Thread(target=analysis.warm_up, name="riskpool-warm-up", daemon=True)
    thread.start()
    return thread


@st.cache_resource(show_spinner=False)
def _fate_store() -> analysis.FateStore:
    """The fates of recent runs, for edits that change only the rules (shared by the sessions)."""
    return analysis.FateStore(analysis.FATE_STORE_BYTES)


@st.cache_resource(max_entries=CACHE_ENTRIES, show_spinner=False)
def _analysed(sha: str, _s: Scenario) -> analysis.Analysis:
    """Cached by the scenario's SHA-256, which covers its paths and seed."""
    return analysis.analyse(_s, _fate_store())


def run(s: Scenario) -> dict[str, Any]:
    start = time.perf_counter()
    result = _analysed(s.sha256(), s)
    return {"sha": s.sha256(), "analysis": result, "seconds": time.perf_counter() - start}


# --------------------------------------------------------------------------- results


def show_result(base: Scenario, edited: Scenario | None, lang: Lang) -> None:
    result = st.session_state.get("result")
    if result is None:
        st.info(t("no_result", lang))
        return
    a: analysis.Analysis = result["analysis"]
    if edited is None or result["sha"] != edited.sha256():
        st.warning(t("stale", lang))
    cached = t("cached", lang) if result["seconds"] < a.seconds / 2 else ""
    st.caption(t("ran_in", lang, paths=a.summary.paths, seed=a.summary.seed, seconds=result["seconds"],
                  cached=cached))
    cards(a.summary, lang)
    if a.summary.uncertainty:
        st.caption(uncertainty_caption(a.summary, lang))
    names = ("tab_balances", "tab_regions", "tab_parties", "tab_survival", "tab_explore", "tab_compare", "tab_export")
    tabs = dict(zip(names, st.tabs([t(n, lang) for n in names], key="result_tabs")))
    with tabs["tab_balances"]:
        balances(a, lang)
    with tabs["tab_regions"]:
        regions(a, lang)
    with tabs["tab_parties"]:
        parties(a.summary, lang)
    with tabs["tab_survival"]:
        st.plotly_chart(figures.survival_chart(a.summary, lang), key="survival_chart")
    with tabs["tab_explore"]:
        explore(a.scenario, lang)
    with tabs["tab_compare"]:
        compare(base, a, lang)
    with tabs["tab_export"]:
        export(a, result["sha"], lang)


def uncertainty_caption(summary: Summary, lang: Lang) -> str:
    """The sufficiency range over the blocks' parameter draws, and the spread's two parts."""
    u = summary.uncertainty
    return t("uncertainty_caption", lang, low=percent(u.sufficiency_q025), high=percent(u.sufficiency_q975),
             param=percent(u.parameter_sd, digits=2), mc=percent(u.monte_carlo_sd, digits=2))


def cards(summary: Summary, lang: Lang) -> None:
    """Headline cards: sufficiency of the fund and each tier (± one standard error), then the first
    shortfall, capital needed against capital now, and the lending multiplier."""
    groups = views.groups(summary)
    for column, (key, v) in zip(st.columns(len(groups)), groups):
        label = t("card_fund" if key == "fund" else f"sufficiency_{key}", lang)
        column.metric(label, percent(v.sufficiency), delta=plus_minus(v.p_shortfall_se), delta_color="off",
                      delta_arrow="off", delta_description=t("standard_error", lang), help=t("help_sufficiency", lang),
                      border=True)
    fund, multiplier = summary.fund, summary.lending.multiplier_mean
    items = [
        (t("card_first", lang), month_label(fund.first_shortfall_month.p50, lang), None),
        (t("required_q95", lang), money(fund.required_capital.q95, lang),
         f"{t('capital', lang)} {money(fund.capital, lang)}"),
        (t("multiplier", lang), times(multiplier), None),
    ]
    for column, (label, value, note) in zip(st.columns(len(items)), items):
        column.metric(label, value, delta=note, delta_color="off", delta_arrow="off", border=True)


def balances(a: analysis.Analysis, lang: Lang) -> None:
    groups = ["fund"] + views.funded_tiers(a.summary)
    chosen = st.multiselect(t("series", lang), groups, default=groups, format_func=lambda k: t(k, lang),
                            key=f"fan_series_{lang}")  # option texts are fixed per key
    nodes = [""] + [node for node, _ in views.by_weakness(a.summary)]
    node = st.selectbox(t("node", lang), nodes, key=f"fan_node_{lang}",
                        format_func=lambda n: "–" if not n else figures.series_label(n, a.summary, lang))
    keys = chosen + ([node] if node else [])
    st.plotly_chart(figures.fan_chart(a.months, keys, a.summary, lang), key="fan_chart")


def regions(a: analysis.Analysis, lang: Lang) -> None:
    st.plotly_chart(maps.region_figure(a.summary, a.scenario, lang), key="region_chart")
    st.dataframe(pd.DataFrame([{
        t("node", lang): node, t("param.regions.name", lang): v.name,
        t("param.regions.tier", lang): t(v.tier, lang),
        t("p_shortfall", lang): percent(v.p_shortfall, v.p_shortfall_se),
        t("capital", lang): money(v.capital, lang), t("required_q95", lang): money(v.required_capital.q95, lang),
    } for node, v in views.weakest_nodes(a.summary)]), hide_index=True)


def parties(summary: Summary, lang: Lang) -> None:
    st.plotly_chart(figures.party_chart(summary, lang), key="party_chart")
    st.dataframe(pd.DataFrame([{
        t("party", lang): t("party_fund" if p == "fund" else p, lang),
        **{t(k, lang): money(getattr(v, k), lang) for k in ("loss_mean", "var99", "es99")},
    } for p, v in views.parties(summary)]), hide_index=True)
    if summary.banks:
        st.subheader(t("report.sec_banks", lang))
        st.dataframe(pd.DataFrame([{
            t("param.banks.id", lang): bank_id, t("param.banks.name", lang): v.name,
            t("p_shortfall", lang): percent(v.p_shortfall), t("param.banks.credit_line", lang): money(v.credit_line, lang),
            t("report.bank_originated", lang): money(v.originated_mean, lang),
            t("report.bank_fund_paid", lang): money(v.fund_paid_mean, lang),
            t("report.bank_loss", lang): money(v.loss_mean, lang),
            t("report.bank_refused", lang): f"{v.refused_mean:,.1f}", t("report.bank_p_breaker", lang): percent(v.p_breaker),
        } for bank_id, v in views.banks(summary)]), hide_index=True)
        st.caption(t("report.banks_note", lang))


def explore(s: Scenario, lang: Lang) -> None:
    """The PD x recovery heatmap and the sizing answer, computed on request (seconds, not one)."""
    sha = s.sha256()
    st.caption(t("explore_intro", lang, paths=analysis.EXPLORE_PATHS))
    if st.button(t("explore_run", lang), key="explore_run"):
        with st.spinner(t("explore_run", lang)):
            st.session_state["explore"] = (sha, analysis.explore(s))
    if st.session_state.get("explore", (None,))[0] == sha:
        pds, recoveries, z = st.session_state["explore"][1]
        fig = figures.heatmap(pds, recoveries, z, t("param.credit.annual_pd", lang),
                              t("param.collateral.recovery_mean", lang), lang)
        st.plotly_chart(fig, key="explore_chart")
    st.caption(t("size_intro", lang, paths=min(analysis.SIZING_PATHS, s.simulation.paths)))
    if st.button(t("size_run", lang), key="size_run"):
        with st.spinner(t("size_run", lang)):
            st.session_state["sizing"] = (sha, analysis.how_much(s))
    if st.session_state.get("sizing", (None,))[0] == sha:
        answer = st.session_state["sizing"][1]
        if answer.scale is None:
            st.warning(t("size_unreachable", lang, max=MAX_SCALE))
        else:
            st.success(t("size_answer", lang, need=money(answer.capital_needed, lang), now=money(answer.capital_now, lang),
                          scale=answer.scale, low=answer.scale_low or answer.scale, high=answer.scale_high or answer.scale))


def compare(base: Scenario, a: analysis.Analysis, lang: Lang) -> None:
    """The edited scenario's figures beside those of the scenario it started from, then the
    scenarios of the workspace side by side."""
    _compare_with_start(base, a, lang)
    workspace_section(a, lambda s: _analysed(s.sha256(), s), lang, _formatter)


def _compare_with_start(base: Scenario, a: analysis.Analysis, lang: Lang) -> None:
    edits = controls.changed(controls.base_values(base), controls.base_values(a.scenario))
    st.caption(t("compare_intro", lang))
    if not edits:
        st.info(t("compare_same", lang))
        return
    st.caption(t("changed_params", lang, items=", ".join(f"{k} = {v}" for k, v in edits.items())))
    original_scenario = controls.edit(base, {k: v for k, v in edits.items() if k.startswith("simulation.")})
    original = _analysed(original_scenario.sha256(), original_scenario)
    rows = views.compare(original.summary, a.summary)
    se = analysis.paired_se(original, a)
    st.dataframe(pd.DataFrame([_comparison_row(key, old, new, se.get(key), lang) for key, old, new in rows]),
                 hide_index=True)
    st.caption(t("paired_note", lang))


def _comparison_row(key: str, old: float | None, new: float | None, se: float | None, lang: Lang) -> dict[str, str]:
    show = _formatter(key, lang)
    change = "–" if old is None or new is None else show(new - old)
    if se is not None and change != "–":
        change = f"{change} ± {show(se)}"
    return {t("report.figure", lang): t(key, lang), t("original", lang): show(old), t("edited", lang): show(new),
            t("change", lang): change}


def _formatter(key: str, lang: Lang):
    if key in views.PROBABILITIES:
        return lambda v: percent(v, digits=2)
    if key == "multiplier":
        return times
    return lambda v: money(v, lang)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export(a: analysis.Analysis, sha: str, lang: Lang) -> None:
    """Downloads: the scenario and summary at once; manifest, node table and report on request."""
    stem = f"riskpool-{sha[:8]}"
    note = f"Edited in the riskpool web app; scenario SHA-256 {sha}."
    st.download_button(t("download_toml", lang), analysis.scenario_toml(a.scenario, note), f"{stem}.toml",
                       mime="application/toml", key="download_toml")
    st.download_button(t("download_summary", lang), json_text(a.summary.to_json()),
                       f"{stem}-summary.json", mime="application/json", key="download_summary")
    if st.button(t("prepare", lang), key="prepare"):
        st.session_state["files"] = (sha, lang, analysis.export_files(a, lang))
    prepared = st.session_state.get("files")
    if prepared and prepared[:2] == (sha, lang):
        files = prepared[2]
        for key, name, mime in (("download_manifest", "manifest.json", "application/json"),
                                ("download_nodes", "nodes.csv", "text/csv"),
                                ("download_report", "report.html", "text/html"),
                                ("download_workbook", "results.xlsx", XLSX)):
            st.download_button(t(key, lang), files[name], f"{stem}-{name}", mime=mime, key=key)
        st.caption(t("export_note", lang))
