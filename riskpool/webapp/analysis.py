"""What the web app computes, through the same engine API as the CLI; nothing here imports Streamlit.

A run is the engine's ``simulate`` and ``summarize`` plus the months table of ``outputs``; the
"explore" grid uses the sweep's points (common random numbers: one seed for every point); "how
much is enough" is ``sizing.size``; downloads are the files ``riskpool run`` writes.
"""

from __future__ import annotations

import copy
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..engine import Results, plan_blocks, simulate
from ..files.runfolder import months_table, nodes_table, write_run
from ..files.toml_writer import to_toml
from ..metrics import summarize
from ..scenario import Scenario
from ..study import sizing
from ..study.grid import Axis, product
from ..study.sweep import point_figures, prepare, run_point_blocks

EXPLORE_PATHS = 500  # per grid point: the heatmap is a map of where to look, not a final answer
SIZING_PATHS = 1000
PD_FACTORS = (0.5, 0.75, 1.0, 1.5, 2.0)  # times the scenario's annual PD
RECOVERY_STEPS = (-0.10, -0.05, 0.0, 0.05, 0.10)  # added to the scenario's recovery mean


@dataclass(frozen=True)
class Analysis:
    """One simulated scenario: the results, summary.json's content and the months table."""

    scenario: Scenario
    results: Results
    summary: dict[str, Any]
    months: pd.DataFrame
    seconds: float


def analyse(s: Scenario) -> Analysis:
    """Simulate ``s`` with its own paths and seed, on one core (the app serves one analyst)."""
    start = time.perf_counter()
    res = simulate(s)
    summary = summarize(res)
    months = months_table(res).to_pandas()
    return Analysis(s, res, summary, months, time.perf_counter() - start)


def headline(summary: dict[str, Any]) -> dict[str, Any]:
    """The figures of the result cards: sufficiency of the fund and of each tier that has funds."""
    tiers = {name: v for name, v in summary["tiers"].items() if v["nodes"]}
    return {"fund": summary["fund"], "tiers": tiers, "multiplier": summary["lending"]["multiplier_mean"]}


def explore_axes(s: Scenario) -> list[Axis]:
    """A 5 x 5 grid around the scenario: annual PD times 0.5-2 and recovery mean +-10 points."""
    pd_values = tuple(min(1.0, s.credit.annual_pd * f) for f in PD_FACTORS)
    mean = s.collateral.recovery_mean
    recoveries = tuple(sorted({round(min(0.99, max(0.01, mean + d)), 4) for d in RECOVERY_STEPS}))
    return [Axis("collateral.recovery_mean", recoveries), Axis("credit.annual_pd", pd_values)]


def explore(s: Scenario, paths: int = EXPLORE_PATHS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P(shortfall) of the whole fund on the explore grid: (pd values, recovery values, z[rec, pd]).

    Grid points whose values make no valid scenario (a recovery sd too wide for the mean) are NaN.
    """
    axes = explore_axes(s)
    sweep = prepare(s.canonical(), axes, product(axes), paths, s.simulation.seed)
    blocks = plan_blocks(paths)
    z = np.full(len(sweep.points), np.nan)
    for k, point_scenario in enumerate(sweep.scenarios):
        if point_scenario is not None:
            nodes = run_point_blocks(point_scenario, sweep.seed, blocks)
            z[k] = point_figures(point_scenario, sweep.seed, [nodes])[0]["p_shortfall"]
    recoveries, pds = axes[0].values, axes[1].values
    return np.array(pds), np.array(recoveries), z.reshape(len(recoveries), len(pds))


def how_much(s: Scenario, target: float = 0.95, paths: int = SIZING_PATHS) -> sizing.SizeResult:
    """The capital at which the whole fund reaches ``target`` sufficiency (funds scaled together)."""
    return sizing.size(s.canonical(), target, paths=min(paths, s.simulation.paths), seed=s.simulation.seed)


COMPARED = (  # (row key, where in summary.json)
    ("sufficiency", ("fund", "sufficiency")),
    ("sufficiency_province", ("tiers", "province", "sufficiency")),
    ("sufficiency_city", ("tiers", "city", "sufficiency")),
    ("sufficiency_county", ("tiers", "county", "sufficiency")),
    ("required_q95", ("fund", "required_capital", "q95")),
    ("capital", ("fund", "capital")),
    ("payout_mean", ("fund", "payout_net", "mean")),
    ("unpaid_mean", ("fund", "unpaid_mean")),
    ("loss_bank", ("parties", "bank", "loss_mean")),
    ("loss_insurer", ("parties", "insurer", "loss_mean")),
    ("multiplier", ("lending", "multiplier_mean")),
)


def compare(base: dict[str, Any], edited: dict[str, Any]) -> list[tuple[str, float | None, float | None]]:
    """(row key, base value, edited value) for the comparison table."""
    return [(key, _dig(base, where), _dig(edited, where)) for key, where in COMPARED]


def _dig(data: dict[str, Any], where: tuple[str, ...]) -> float | None:
    node: Any = data
    for key in where:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def scenario_toml(s: Scenario, note: str) -> bytes:
    """The edited scenario as a TOML file that ``riskpool run`` reads back to the same scenario."""
    return to_toml(s.canonical(), note).encode("utf-8")


def export_files(a: Analysis, lang: str) -> dict[str, bytes]:
    """The files ``riskpool run`` writes for this run (summary, manifest, nodes as CSV), and the
    HTML report, read into memory from a temporary folder that is then deleted."""
    with tempfile.TemporaryDirectory(prefix="riskpool-app-") as tmp:
        folder = Path(tmp)
        write_run(a.results, copy.deepcopy(a.summary), folder, ["riskpool", "app"])
        files = {name: (folder / name).read_bytes() for name in ("summary.json", "manifest.json")}
        files["nodes.csv"] = nodes_table(a.results).to_pandas().to_csv(index=False).encode("utf-8")
        files["report.html"] = _report(folder, lang)
    return files


def _report(folder: Path, lang: str) -> bytes:
    from .. import report  # the report module embeds plotly.js: load it only when asked

    return report.render(folder, lang).encode("utf-8")
