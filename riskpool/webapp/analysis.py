"""What the web app computes, through riskpool's Python API alone; nothing here imports Streamlit.

A run is ``riskpool.simulate``; the "explore" grid is a ``riskpool.sweep`` held in memory (common
random numbers: one seed for every point); "how much is enough" is ``riskpool.size``; downloads
are the files ``Run.files`` makes, and the report is rendered from them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import api as rp
from ..api import FateStore
from ..scenario import Scenario
from ..study.grid import Axis
from ..summary import Summary

EXPLORE_PATHS = 500  # per grid point: the heatmap is a map of where to look, not a final answer
SIZING_PATHS = 1000
FATE_STORE_BYTES = 2**30  # the fates an app keeps for reruns (about four 2,000-path runs of the Hunan baseline)
PD_FACTORS = (0.5, 0.75, 1.0, 1.5, 2.0)  # times the scenario's annual PD
RECOVERY_STEPS = (-0.10, -0.05, 0.0, 0.05, 0.10)  # added to the scenario's recovery mean


@dataclass(frozen=True)
class Analysis:
    """One simulated scenario: the run, its months table and how long it took."""

    run: rp.Run
    months: pd.DataFrame
    seconds: float

    @property
    def scenario(self) -> Scenario:
        return self.run.scenario

    @property
    def summary(self) -> Summary:
        return self.run.summary


def analyse(s: Scenario, fates: FateStore | None = None) -> Analysis:
    """Simulate ``s`` with its own paths and seed, on one core (the app serves one analyst);
    with ``fates``, an edit of the rules only reuses the fates of an earlier run."""
    start = time.perf_counter()
    run = rp.simulate(s, fate_store=fates)
    return Analysis(run, run.months(), time.perf_counter() - start)


def paired_se(base: Analysis, edited: Analysis) -> dict[str, float]:
    """Standard errors of the differences edited - base (same seed and paths: common random numbers)."""
    return rp.paired_se(base.run, edited.run)


def warm_up() -> None:
    """A one-path run of the smallest scenario: compiles the engine's kernels, or loads them from
    numba's cache, with the types every run uses."""
    rp.simulate(rp.load("minimal"), paths=1, seed=0)


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
    points = rp.sweep(s, axes, paths=paths).points
    z = points["p_shortfall"].to_numpy(dtype=float)
    recoveries, pds = axes[0].values, axes[1].values
    return np.array(pds), np.array(recoveries), z.reshape(len(recoveries), len(pds))


def how_much(s: Scenario, target: float = 0.95, paths: int = SIZING_PATHS) -> rp.SizeResult:
    """The capital at which the whole fund reaches ``target`` sufficiency (funds scaled together)."""
    return rp.size(s, target, paths=min(paths, s.simulation.paths))


def scenario_toml(s: Scenario, note: str) -> bytes:
    """The edited scenario as a TOML file that ``riskpool run`` reads back to the same scenario."""
    return rp.to_toml(s, note).encode("utf-8")


def export_files(a: Analysis, lang: str) -> dict[str, bytes]:
    """The files ``riskpool run`` writes for this run (summary, manifest, nodes as CSV), and the
    HTML report and the Excel workbook made from them, all in memory."""
    files = a.run.files(["riskpool", "app"])
    return {"summary.json": files["summary.json"], "manifest.json": files["manifest.json"],
            "nodes.csv": a.run.nodes().to_csv(index=False).encode("utf-8"), "report.html": rp.render_report(files, lang).encode("utf-8"),
            "results.xlsx": a.run.workbook(lang)}
