"""Global sensitivity: Sobol first-order and total indices of fund sufficiency and payout.

Points come from SALib's Sobol/Saltelli sampling of the given ranges (N (D + 2) points for D
parameters, second-order indices off) and run through the sweep machinery, so they share the
seed (common random numbers), the backends and the resumable store. Indices are estimated for
``p_shortfall`` and ``payout_net_mean`` (fund-wide), with SALib's bootstrap 95 % intervals.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..files.atomic import atomic_write
from ..files.manifest import sweep_randomness
from ..metrics import QUANTILE_METHOD
from ..scenario import NO_VALUE, Problem, ScenarioError
from . import sweep as sweep_mod
from .backends import Backend
from .grid import Axis
from .store import NODES_FILE, POINTS_FILE

OUTPUTS = ("p_shortfall", "payout_net_mean")
INDICES_FILE = "sensitivity.parquet"
CHART_FILE = "sensitivity.png"
FILES = (POINTS_FILE, NODES_FILE, INDICES_FILE)  # the results a manifest covers


def parse_range(item: str) -> tuple[str, float, float]:
    """``credit.annual_pd=0.01:0.1`` -> (path, low, high)."""
    path, _, spec = item.partition("=")
    try:
        low, high = (float(x) for x in spec.split(":"))
    except ValueError:
        raise ScenarioError([Problem(f"range {path}", spec, "expected LO:HI, e.g. 0.01:0.10")]) from None
    if not low < high:
        raise ScenarioError([Problem(f"range {path}", spec, "LO must be below HI")])
    return path.strip(), low, high


def design(ranges: list[tuple[str, float, float]], samples: int, seed: int) -> tuple[dict[str, Any], np.ndarray]:
    """SALib problem and its Sobol sample matrix (one row per point)."""
    from SALib.sample import sobol as sobol_sample

    if not ranges:
        raise ScenarioError([Problem("ranges", NO_VALUE, "give at least one PATH=LO:HI")])
    problem = {"num_vars": len(ranges), "names": [r[0] for r in ranges], "bounds": [[r[1], r[2]] for r in ranges]}
    return problem, sobol_sample.sample(problem, samples, calc_second_order=False, seed=seed % 2**32)


def plan(base: dict[str, Any], ranges: list[tuple[str, float, float]], samples: int, paths: int,
         seed: int) -> tuple[dict[str, Any], sweep_mod.Sweep]:
    """The SALib problem and the sweep of its Sobol design's points (all of them valid)."""
    problem, matrix = design(ranges, samples, seed)
    names = problem["names"]
    axes = [Axis(name, tuple(float(v) for v in matrix[:, j])) for j, name in enumerate(names)]
    points = [dict(zip(names, (float(v) for v in row))) for row in matrix]
    sweep = sweep_mod.prepare(base, axes, points, paths, seed)
    if sweep.problems:
        k = min(sweep.problems)
        raise ScenarioError([Problem("ranges", f"point {k}", f"a sampled point is not a valid scenario: {sweep.problems[k]}; narrow the ranges")])
    return problem, sweep


def run(problem: dict[str, Any], sweep: sweep_mod.Sweep, seed: int, out: Path | None, backend: Backend,
        progress: Callable[[int, int], None] | None = None) -> tuple[pa.Table, pa.Table]:
    """Simulate the points of a Sobol design (``plan``) resumably in ``out`` (in memory when None)
    and write the indices table there; returns the indices and the points table."""
    _, table, _, _ = sweep_mod.execute(sweep, out, backend, progress)
    result = indices(problem, table, seed)
    if out is not None:
        write_indices(result, out / INDICES_FILE)
    return result, table


def indices(problem: dict[str, Any], points: pa.Table, seed: int) -> pa.Table:
    """Sobol indices of each output from the points table (rows in design order)."""
    from SALib.analyze import sobol as sobol_analyze

    rows: dict[str, list] = {k: [] for k in ("output", "parameter", "S1", "S1_conf", "ST", "ST_conf")}
    points = points.sort_by("point")
    for output in OUTPUTS:
        y = np.asarray(points.column(output).to_pylist(), dtype=float)
        found = sobol_analyze.analyze(problem, y, calc_second_order=False, seed=seed % 2**32)
        for j, name in enumerate(problem["names"]):
            rows["output"].append(output)
            rows["parameter"].append(name)
            for key in ("S1", "S1_conf", "ST", "ST_conf"):
                rows[key].append(float(found[key][j]))
    return pa.table(rows)


def write_indices(table: pa.Table, path: Path) -> None:
    atomic_write(path, lambda p: pq.write_table(table, p))


def record(ranges: list[tuple[str, float, float]], samples: int, paths: int, seed: int,
           sweep: sweep_mod.Sweep) -> dict[str, Any]:
    """The manifest's account of a sensitivity study: what verify needs to rerun it."""
    return {
        "kind": "sensitivity",
        "sensitivity": {"ranges": [{"path": p, "low": lo, "high": hi} for p, lo, hi in ranges], "samples": samples,
                        "paths": paths, "seed": seed, "outputs": list(OUTPUTS), "design": "SALib sobol.sample, "
                        "calc_second_order=False, seed = seed mod 2**32", "points": len(sweep.points)},
        "sweep": sweep.spec(),
        "base_scenario": sweep.base_scenario().canonical(),
        "randomness": sweep_randomness(seed),
        "quantile_method": QUANTILE_METHOD,
    }


def write_bars(table: pa.Table, path: Path) -> Path:
    """Bar chart of first-order and total indices with their intervals, one panel per output."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = table.to_pydict()
    fig, panels = plt.subplots(1, len(OUTPUTS), figsize=(5 * len(OUTPUTS), 4), dpi=120, squeeze=False)
    for ax, output in zip(panels[0], OUTPUTS):
        idx = [i for i, o in enumerate(data["output"]) if o == output]
        names = [data["parameter"][i] for i in idx]
        x = np.arange(len(idx))
        for offset, key, label in ((-0.2, "S1", "first order"), (0.2, "ST", "total")):
            ax.bar(x + offset, [data[key][i] for i in idx], 0.4, yerr=[data[f"{key}_conf"][i] for i in idx], label=label, capsize=3)
        ax.set_xticks(x, names, rotation=20, ha="right")
        ax.set_title(f"Sobol indices of {output}")
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.legend()
    fig.tight_layout()
    atomic_write(path, lambda p: fig.savefig(p, format="png"))
    plt.close(fig)
    return path
