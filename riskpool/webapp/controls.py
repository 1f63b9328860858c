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
from ..scenario import Problem, Scenario, ScenarioError

Kind = Literal["float", "int", "choice", "list"]
SCALE_PREFIX = "funds."
MAX_APP_PATHS = 20_000  # larger runs belong to the CLI, on all cores


@dataclass(frozen=True)
class Control:
    """One editable parameter: its scenario path, labels, widget kind and bounds."""

    path: str
    zh: str
    en: str
    kind: Kind = "float"
    low: float | None = None
    high: float | None = None
    step: float | None = None
    fmt: str | None = None
    choices: tuple[str, ...] = ()

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Section:
    key: str
    zh: str
    en: str
    controls: tuple[Control, ...]
    sums_to_one: bool = False  # shares: the live check that they sum to 1

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


def _share(path: str, zh: str, en: str) -> Control:
    return Control(path, zh, en, low=0.0, high=1.0, step=0.01, fmt="%.3f")


def _scale(path: str, zh: str, en: str) -> Control:
    return Control(path, zh, en, low=0.0, high=100.0, step=0.1, fmt="%.2f")


SECTIONS: tuple[Section, ...] = (
    Section("credit", "信用风险", "Credit risk", (
        Control("credit.annual_pd", "年违约率", "Annual default rate (PD)", low=0.0, high=1.0, step=0.005, fmt="%.4f"),
        Control("credit.asset_correlation", "资产相关系数", "Asset correlation", low=0.0, high=0.99, step=0.01, fmt="%.3f"),
        Control("credit.stress", "逐年压力倍数（逗号分隔）", "Stress multiplier per year (comma-separated)", kind="list"),
    )),
    Section("collateral", "质押物处置", "Collateral disposal", (
        Control("collateral.recovery_mean", "平均回收率", "Recovery mean", low=0.0, high=1.0, step=0.01, fmt="%.3f"),
        Control("collateral.recovery_sd", "回收率标准差", "Recovery sd", low=0.0, high=0.5, step=0.01, fmt="%.3f"),
        Control("collateral.disposal_months_mean", "平均处置时长（月）", "Disposal delay, mean (months)",
                low=0.0, high=600.0, step=1.0, fmt="%.1f"),
    )),
    Section("sharing", "损失分担比例", "Loss sharing", (
        _share("sharing.fund", "风险补偿资金池", "Fund"),
        _share("sharing.bank", "银行", "Bank"),
        _share("sharing.guarantor", "担保机构", "Guarantor"),
        _share("sharing.insurer", "保险机构", "Insurer"),
        _share("sharing.evaluator", "评估机构", "Evaluator"),
    ), sums_to_one=True),
    Section("sharing.tiers", "省市县分担", "Split between tiers", (
        _share("sharing.tiers.province", "省级", "Province"),
        _share("sharing.tiers.city", "市级", "City"),
        _share("sharing.tiers.county", "县级", "County"),
    ), sums_to_one=True),
    Section("rules", "补偿规则", "Compensation rules", (
        Control("rules.claim_lag_months", "申请补偿滞后（月）", "Claim lag (months)", kind="int", low=0, high=600, step=1),
        Control("rules.per_loan_cap", "单笔补偿上限（元，0 为不设）", "Cap per loan (yuan, 0 = none)",
                low=0.0, high=1e12, step=100_000.0, fmt="%.0f"),
        Control("rules.shortfall", "资金不足时", "When a fund runs short", kind="choice", choices=("queue", "parent", "bank")),
        Control("rules.leverage", "放大倍数上限（0 为不设）", "Leverage cap (0 = none)", low=0.0, high=1e6, step=1.0, fmt="%.1f"),
        Control("rules.circuit_breaker_npl", "熔断不良率（0 为不设）", "Circuit-breaker NPL ratio (0 = none)",
                low=0.0, high=1.0, step=0.01, fmt="%.3f"),
    )),
    Section("funds", "资金规模（倍数）", "Fund sizes (multipliers)", (
        _scale("funds.scale", "全部资金与补充", "All funds and top-ups"),
        _scale("funds.province.fund_scale", "省级初始资金", "Province: initial fund"),
        _scale("funds.province.topup_scale", "省级年度补充", "Province: annual top-up"),
        _scale("funds.city.fund_scale", "市级初始资金", "City: initial funds"),
        _scale("funds.city.topup_scale", "市级年度补充", "City: annual top-ups"),
        _scale("funds.county.fund_scale", "县级初始资金", "County: initial funds"),
        _scale("funds.county.topup_scale", "县级年度补充", "County: annual top-ups"),
    )),
    Section("simulation", "模拟设置", "Simulation", (
        Control("simulation.paths", "路径数", "Paths", kind="int", low=100, high=MAX_APP_PATHS, step=500),
        Control("simulation.seed", "随机种子", "Seed", kind="int", low=0, high=2**53 - 1, step=1),
    )),
)
CONTROLS: tuple[Control, ...] = tuple(c for s in SECTIONS for c in s.controls)


def base_values(s: Scenario) -> dict[str, Any]:
    """Every control's value in a validated scenario (multipliers start at 1)."""
    data = s.canonical()
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
