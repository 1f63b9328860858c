"""The compare tab's scenario workspace: named scenarios kept in the session, compared side by side.

Each scenario is simulated as the app simulates the one being edited (cached, its fates reused),
so scenarios added from the page share its paths and seed and their differences are paired
(``rp.compare``). The workspace is saved and read back as one JSON file (riskpool.workspace).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd
import streamlit as st

from .. import api as rp
from ..present import figures
from ..present.labels import Lang, t
from ..scenario import Scenario, ScenarioError
from ..workspace import Workspace
from . import analysis

Analyse = Callable[[Scenario], analysis.Analysis]


def current() -> Workspace:
    """The session's workspace (one per browser session)."""
    return st.session_state.setdefault("workspace", Workspace())


def workspace_section(a: analysis.Analysis, analyse: Analyse, lang: Lang, format_value: Callable) -> None:
    st.subheader(t("workspace_title", lang))
    st.caption(t("workspace_intro", lang))
    space = current()
    _add_and_load(space, a.scenario, lang)
    if not space.scenarios:
        return
    chosen = st.multiselect(t("workspace_compare", lang), list(space.scenarios), default=list(space.scenarios),
                            key="workspace_chosen")
    if chosen:
        analyses = {name: analyse(space.scenarios[name]) for name in chosen}
        table = rp.compare({name: x.run for name, x in analyses.items()})
        st.dataframe(_shown(table, chosen, lang, format_value), hide_index=True)
        st.caption(t("workspace_note", lang, first=chosen[0]))
        st.plotly_chart(figures.survival_overlay({n: x.summary for n, x in analyses.items()}, lang),
                        key="workspace_chart")
    left, right = st.columns(2)
    left.download_button(t("workspace_save", lang), space.to_json().encode("utf-8"), "riskpool-workspace.json",
                         mime="application/json", key="workspace_save")
    if right.button(t("workspace_clear", lang), key="workspace_clear"):
        st.session_state["workspace"] = Workspace()
        st.rerun()


def _add_and_load(space: Workspace, s: Scenario, lang: Lang) -> None:
    name_col, add_col = st.columns([3, 1])
    name = name_col.text_input(t("param.meta.name", lang), key="workspace_name",
                               placeholder=t("workspace_name_hint", lang))
    if add_col.button(t("workspace_add", lang), key="workspace_add", disabled=not name.strip()):
        try:
            space.add(name, s)
            _choose_all(space)
        except ScenarioError as exc:
            st.error(str(exc))
    upload = st.file_uploader(t("workspace_load", lang), type=["json"], key="workspace_upload")
    if upload is not None and st.session_state.get("workspace_loaded") != upload.file_id:
        try:
            for loaded_name, loaded in Workspace.from_json(upload.getvalue()).scenarios.items():
                space.add(loaded_name, loaded)
            st.session_state["workspace_loaded"] = upload.file_id
            _choose_all(space)
        except ScenarioError as exc:
            st.error(t("workspace_bad", lang) + "\n\n" + "\n".join(f"- {p}" for p in exc.problems))


def _choose_all(space: Workspace) -> None:
    """A scenario added or loaded joins the comparison (set before the selection is drawn)."""
    st.session_state["workspace_chosen"] = list(space.scenarios)


def _shown(table: pd.DataFrame, chosen: list[str], lang: Lang, format_value: Callable) -> pd.DataFrame:
    """The comparison as the page shows it: labels, formatted values, each change ± its error."""
    rows = []
    for record in table.to_dict("records"):
        key = record["figure"]
        show = format_value(key, lang)
        row = {t("report.figure", lang): t(key, lang), **{name: show(_value(record[name])) for name in chosen}}
        for name in chosen[1:]:
            diff, se = record[f"{name} - {chosen[0]}"], record[f"se({name} - {chosen[0]})"]
            change = "–" if math.isnan(diff) else show(diff)
            row[t("workspace_change", lang, name=name)] = change if math.isnan(se) or change == "–" else f"{change} ± {show(se)}"
        rows.append(row)
    return pd.DataFrame(rows)


def _value(x: float | None) -> float | None:
    """A figure a run does not have (NaN in the table) as the formatters take it: None."""
    return None if x is None or math.isnan(x) else x
