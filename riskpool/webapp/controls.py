"""The scenario parameters an analyst edits in the web app, and how edits become a scenario.

Each control is one ``--set`` path of the CLI, so the app edits a scenario exactly as
``riskpool run --set PATH=VALUE`` does and validation is the scenario's own. Fund sizes are
edited as multipliers per tier (``funds.<tier>.fund_scale``), so that a tier's many regions keep
their proportions. Nothing here imports Streamlit.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Literal

from .. import scenario as scenario_mod
from ..present.labels import LABELS, Lang, t
from ..scenario import Problem, Scenario, ScenarioError, field_unit

Kind = Literal["float", "int", "choice", "list"]
SCALE_PREFIX = "funds."
MAX_APP_PATHS = 20_000  # larger runs belong to the CLI, on all cores


@dataclass(frozen=True)
class Control:
    """One editable parameter: its scenario path, widget kind and bounds. Its name is the
    parameter's (``param.<path>`` of riskpool/present/labels.toml) unless ``name`` gives the key of
    another label (a share is named by the party or tier that bears it)."""

    path: str
    kind: Kind = "float"
    low: float | None = None
    high: float | None = None
    step: float | None = None
    fmt: str | None = None
    choices: tuple[str, ...] = ()
    name: str | None = None

    def label(self, lang: Lang) -> str:
        """The parameter's name, with its money unit and what 0 means where the field says."""
        unit, zero_is_none = field_unit(self.path)
        notes = [t(key, lang) for key, wanted in (("unit_yuan", unit == "yuan"), ("unit_zero_is_none", zero_is_none))
                 if wanted]
        name = t(self.name or f"param.{self.path}", lang)
        if not notes:
            return name
        return f"{name}（{'，'.join(notes)}）" if lang == "zh" else f"{name} ({', '.join(notes)})"

    def help(self, lang: Lang) -> str | None:
        """What the parameter means (``help.<path>``), and how a list is typed."""
        texts = [t(key, lang) for key in (f"help.{self.path}", "list_help" if self.kind == "list" else "")
                 if key in LABELS]
        return " ".join(texts) or None

    def choice_label(self, value: str) -> str:
        """A choice in both languages: Streamlit keeps a keyed selectbox's option texts across reruns."""
        key = f"choice.{self.path.split('.')[-1]}.{value}"
        return f"{t(key, 'zh')} / {t(key, 'en')}"


@dataclass(frozen=True)
class Section:
    """Controls shown together; titled ``section.<key>`` unless ``title`` gives another key."""

    key: str
    controls: tuple[Control, ...]
    sums_to_one: bool = False  # shares: the live check that they sum to 1
    title: str | None = None

    def label(self, lang: Lang) -> str:
        return t(self.title or f"section.{self.key}", lang)


def _share(path: str, name: str) -> Control:
    return Control(path, low=0.0, high=1.0, step=0.01, fmt="%.3f", name=name)


def _scale(path: str) -> Control:
    return Control(path, low=0.0, high=100.0, step=0.1, fmt="%.2f")


SECTIONS: tuple[Section, ...] = (
    Section("credit", (
        Control("credit.annual_pd", low=0.0, high=1.0, step=0.005, fmt="%.4f"),
        Control("credit.asset_correlation", low=0.0, high=0.99, step=0.01, fmt="%.3f"),
        Control("credit.stress", kind="list"),
    )),
    Section("collateral", (
        Control("collateral.recovery_mean", low=0.0, high=1.0, step=0.01, fmt="%.3f"),
        Control("collateral.recovery_sd", low=0.0, high=0.5, step=0.01, fmt="%.3f"),
        Control("collateral.disposal_months_mean", low=0.0, high=600.0, step=1.0, fmt="%.1f"),
    )),
    Section("sharing", tuple(_share(f"sharing.{party}", "party_fund" if party == "fund" else party)
                             for party in scenario_mod.PARTIES), sums_to_one=True, title="section.shares"),
    Section("sharing.tiers", tuple(_share(f"sharing.tiers.{tier}", tier) for tier in scenario_mod.TIERS),
            sums_to_one=True),
    Section("rules", (
        Control("rules.claim_lag_months", kind="int", low=0, high=600, step=1),
        Control("rules.per_loan_cap", low=0.0, high=1e12, step=100_000.0, fmt="%.0f"),
        Control("rules.shortfall", kind="choice", choices=("queue", "parent", "bank")),
        Control("rules.leverage", low=0.0, high=1e6, step=1.0, fmt="%.1f"),
        Control("rules.circuit_breaker_npl", low=0.0, high=1.0, step=0.01, fmt="%.3f"),
        Control("rules.deposits", kind="choice", choices=("pooled", "per_bank")),
    )),
    Section("funds", (
        _scale("funds.scale"),
        *(_scale(f"funds.{tier}.{name}") for tier in scenario_mod.TIERS for name in ("fund_scale", "topup_scale")),
    )),
    Section("simulation", (
        Control("simulation.paths", kind="int", low=100, high=MAX_APP_PATHS, step=500),
        Control("simulation.seed", kind="int", low=0, high=2**53 - 1, step=1),
    )),
)
CONTROLS: tuple[Control, ...] = tuple(c for s in SECTIONS for c in s.controls)


def base_values(s: Scenario) -> dict[str, Any]:
    """Every control's value in a validated scenario (multipliers start at 1)."""
    data = s.model_dump(mode="json")  # every field, options added later at their default too
    values: dict[str, Any] = {}
    for control in CONTROLS:
        if control.path.startswith(SCALE_PREFIX):
            values[control.path] = 1.0
        elif control.kind == "list":
            values[control.path] = ", ".join(f"{v:g}" for v in s.stress_factors())
        else:
            node: Any = data
            for key in control.path.split("."):
                node = node[key]
            values[control.path] = node
    return values


def parse_list(text: str, path: str) -> list[float]:
    """``"1, 1.5, 1"`` -> [1.0, 1.5, 1.0]; anything else is a Problem at ``path``."""
    try:
        values = [float(item) for item in text.replace("，", ",").split(",") if item.strip()]
    except ValueError:
        raise ScenarioError([Problem(path, text, "expected numbers separated by commas, e.g. 1, 1, 1.5")]) from None
    if not values or not all(math.isfinite(v) for v in values):
        raise ScenarioError([Problem(path, text, "expected finite numbers separated by commas, e.g. 1, 1, 1.5")])
    return values


def changed(base: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The controls whose value differs from the base scenario's."""
    return {path: value for path, value in values.items() if path in base and value != base[path]}


def edit(base: Scenario, edits: dict[str, Any]) -> Scenario:
    """The base scenario with ``edits`` (path: value) applied and validated.

    Raises ScenarioError listing every problem, each named by its scenario path.
    """
    raw = base.canonical()
    problems: list[Problem] = []
    for path, value in edits.items():
        try:
            if path == "credit.stress":
                value = parse_list(value, path)
            scenario_mod.apply_override(raw, path, copy.deepcopy(value))
        except ScenarioError as exc:
            problems += exc.problems
    if problems:
        raise ScenarioError(problems)
    return scenario_mod.validate(raw)


def place(problems: list[Problem]) -> dict[str, list[Problem]]:
    """Each problem under the control with its path, else the innermost section holding it,
    else under "" (shown above the run button)."""
    placed: dict[str, list[Problem]] = {}
    for problem in problems:
        placed.setdefault(_place_of(problem.path), []).append(problem)
    return placed


def _place_of(path: str) -> str:
    if any(c.path == path for c in CONTROLS):
        return path
    holders = [s.key for s in SECTIONS if path == s.key or path.startswith(s.key + ".")]
    return max(holders, key=len, default="")


def share_total(values: dict[str, Any], section: Section) -> float:
    return math.fsum(float(values[c.path]) for c in section.controls)
