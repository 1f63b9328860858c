"""Batch sweeps: many scenario points on common random numbers, split into (point, blocks) tasks.

Every point uses the same seed, so its RNG block ``b`` draws exactly what block ``b`` of every
other point draws: differences between points come from the parameters, not from noise. A task
runs some consecutive RNG blocks of one point anywhere (this process, worker processes, a Dask
cluster) and returns the per-path node figures; a point's figures are computed once all its
blocks are in, in block order, so every backend gives identical tables.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from .. import scenario as scenario_mod
from ..engine import Results, plan_blocks, simulate_blocks
from ..ledger import NODE_COLUMNS
from ..fatestore import FateStore, fates_key
from ..files.provenance import running_code
from ..limits import check_resources
from ..metrics import group_summary, node_summaries
from ..scenario import NO_VALUE, Problem, Scenario, ScenarioError
from ..structure import SLOT_TIERS, compile_structure
from .backends import Backend
from .grid import Axis, overrides
from .store import NODE_FIGURES, Store

TASKS_PER_WORKER = 4  # enough tasks to keep every worker busy to the end


@dataclass
class Sweep:
    """What to run: a base scenario (as plain data), the points, paths and seed."""

    base: dict[str, Any]
    axes: list[Axis]
    points: list[dict[str, Any]]
    paths: int
    seed: int
    scenarios: list[Scenario | None] = field(default_factory=list, repr=False)
    problems: dict[int, str] = field(default_factory=dict)  # points whose values are invalid

    def base_scenario(self) -> Scenario:
        """The base scenario before any point's values, with the sweep's paths and seed."""
        return scenario_mod.from_dict(self.base, simulation__paths=self.paths, simulation__seed=self.seed)

    def spec(self) -> dict[str, Any]:
        """What identifies the sweep in its store: any change means a different sweep."""
        return {
            "code_sha256": running_code().sha256,  # never resume with points computed by other code
            "base_sha256": self.base_scenario().sha256(),
            "axes": [{"path": a.path, "values": list(a.values)} for a in self.axes],
            "points": len(self.points),
            "paths": self.paths,
            "seed": self.seed,
        }


def prepare(base: dict[str, Any], axes: list[Axis], points: list[dict[str, Any]], paths: int, seed: int,
            workers: int = 1) -> Sweep:
    """Validate every point up front.

    A point whose values make an impossible scenario (say recovery_mean = 0 with a positive
    recovery_sd) is not simulated: it is stored with empty figures and the problem, and the
    rest of the sweep runs. If no point is valid, the sweep is refused.
    """
    fixed = [a.path for a in axes if a.path in ("simulation.seed", "simulation.paths")]
    if fixed:
        raise ScenarioError([Problem(f"axes {fixed[0]}", NO_VALUE,
                                     "every point of a sweep uses the same seed and paths (common random numbers): "
                                     "set them with --seed and --paths, and run another sweep for another seed")])
    sweep = Sweep(base, axes, points, paths, seed)
    for k, point in enumerate(points):
        try:
            sweep.scenarios.append(scenario_mod.from_dict(base, overrides(point), simulation__paths=paths, simulation__seed=seed))
        except scenario_mod.ScenarioError as exc:
            sweep.scenarios.append(None)
            sweep.problems[k] = "; ".join(str(p) for p in exc.problems)
    if len(sweep.problems) == len(points):
        first = sweep.problems[0]
        raise ScenarioError([Problem("axes", NO_VALUE, f"no point is a valid scenario (point 0: {first})")])
    for k, s in enumerate(sweep.scenarios):
        if s is not None:
            try:
                check_resources(s, paths, workers)
            except ScenarioError as exc:
                where = f"point {k} ({_describe(points[k])}): "
                raise ScenarioError([Problem(where + p.path, p.value, p.allowed) for p in exc.problems]) from None
    return sweep


def _describe(point: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items())


SWEEP_FATE_BYTES = 2**30  # fates a process keeps for the other points of a sweep whose axes change only rules
_process_fates: FateStore | None = None  # this process's store, made by the first task that reuses fates


def run_point_blocks(scenario: Scenario, seed: int, task: list[tuple[int, int]], reuse: bool = False) -> np.ndarray:
    """A task: some consecutive RNG blocks of one point; returns (paths, nodes, figures). With
    ``reuse`` (every point has the same fates) the blocks' fates are kept in this process for
    the other points' tasks that run here: the same numbers as sampling them again."""
    global _process_fates
    if reuse and _process_fates is None:
        _process_fates = FateStore(SWEEP_FATE_BYTES)
    return simulate_blocks(scenario, seed, task, _process_fates if reuse else None).nodes


def same_fates(scenarios: list[Scenario | None]) -> bool:
    """Whether every valid point of a sweep has the same fates (its axes change only rules)."""
    keys = {fates_key(compile_structure(s)) for s in scenarios if s is not None}
    return len(keys) == 1 and sum(s is not None for s in scenarios) > 1


def plan_tasks(sweep: Sweep, todo: list[int], workers: int) -> list[tuple[int, list[tuple[int, int]]]]:
    """(point, blocks) tasks; large points are split so that they spread over the workers."""
    blocks = plan_blocks(sweep.paths)
    wanted = max(1, TASKS_PER_WORKER * workers)
    per_task = max(1, min(len(blocks), math.ceil(len(blocks) * len(todo) / wanted)))
    return [(k, blocks[i : i + per_task]) for k in todo for i in range(0, len(blocks), per_task)]


def run(sweep: Sweep, store: Store, backend: Backend, progress: Callable[[int, int], None] | None = None,
        only: Collection[int] | None = None) -> None:
    """Run every point (of ``only``) not yet in ``store``; each finished point is stored at once."""
    stored = store.done()
    wanted = set(range(len(sweep.points)) if only is None else only)
    for k, problem in sweep.problems.items():
        if k not in stored and k in wanted:
            store.add_invalid(k, stored_values(sweep.axes, sweep.points[k]), problem)
    todo = sorted(wanted - stored - set(sweep.problems))
    tasks = plan_tasks(sweep, todo, backend.workers)
    pending: dict[int, dict[int, np.ndarray]] = {k: {} for k in todo}
    expected = Counter(k for k, _ in tasks)  # tasks per point
    done = len(wanted) - len(todo)
    if progress:
        progress(done, len(wanted))
    reuse = same_fates([sweep.scenarios[k] for k in todo])
    args = [(sweep.scenarios[k], sweep.seed, blocks, reuse) for k, blocks in tasks]
    for i, nodes in backend.map_unordered(run_point_blocks, args):
        k, blocks = tasks[i]
        pending[k][blocks[0][0]] = nodes
        if len(pending[k]) == expected[k]:
            parts = pending.pop(k)
            nodes_k = np.concatenate([parts[b] for b in sorted(parts)])
            figures, node_rows = point_figures(sweep.scenarios[k], sweep.seed, [nodes_k])
            store.add(k, stored_values(sweep.axes, sweep.points[k]), figures, node_rows, path_rows(nodes_k))
            done += 1
            if progress:
                progress(done, len(wanted))


def path_rows(nodes: np.ndarray) -> pa.Table:
    """Per path of a point: whether the fund ran short (any node) and its net payout (added node by node)."""
    first = nodes[:, :, NODE_COLUMNS.index("first_shortfall_month")]
    payout = np.zeros(len(nodes))
    for j in range(nodes.shape[1]):
        payout += nodes[:, j, NODE_COLUMNS.index("payout_net")]
    return pa.table({"shortfall": pa.array((first >= 0).any(axis=1)), "payout_net": pa.array(payout)})


def point_figures(s: Scenario, seed: int, parts: list[np.ndarray]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Fund-wide and tier figures of a point, and one row per fund node (docs/model.md section 8)."""
    res = _node_results(s, seed, np.concatenate(parts))
    st = res.structure
    tier = np.asarray(st.node_tier)
    fund = group_summary(res, np.ones(st.n_nodes, dtype=bool))
    figures = {
        "p_shortfall": fund.p_shortfall,
        "p_shortfall_se": fund.p_shortfall_se,
        "payout_net_mean": fund.payout_net.mean,
        "required_capital_q95": fund.required_capital.q95,
        "unpaid_mean": fund.unpaid_mean,
    }
    for t, name in enumerate(SLOT_TIERS):
        figures[f"p_shortfall_{name}"] = group_summary(res, tier == t).p_shortfall
    rows = []
    for node, v in node_summaries(res).items():
        flat = {
            "p_shortfall": v.p_shortfall, "p_shortfall_se": v.p_shortfall_se,
            "first_shortfall_month_p50": v.first_shortfall_month.p50,
            "payout_net_mean": v.payout_net.mean, "unpaid_mean": v.unpaid_mean,
            "required_capital_q95": v.required_capital.q95, "required_capital_q99": v.required_capital.q99,
        }
        rows.append({"node": node, "tier": v.tier, **{f: flat[f] for f in NODE_FIGURES}})
    return figures, rows


def _node_results(s: Scenario, seed: int, nodes: np.ndarray) -> Results:
    """Results holding only the per-path node figures (all that the point figures need)."""
    st = compile_structure(s)
    n = len(nodes)
    return Results(s, st, seed, n, paths=np.zeros((n, 0)), nodes=nodes, counties=np.zeros((n, 0, 0)),
                   balance=np.zeros((n, 0, st.n_nodes)), budget=np.zeros((n, 0, 3)), covered=np.zeros((0, st.n_nodes)))


def axis_types(axes: list[Axis]) -> dict[str, str]:
    """DuckDB column type of each axis: DOUBLE for numbers, VARCHAR otherwise."""
    numeric = lambda v: isinstance(v, int | float) and not isinstance(v, bool)  # noqa: E731
    return {a.path: "DOUBLE" if all(numeric(v) for v in a.values) else "VARCHAR" for a in axes}


def stored_values(axes: list[Axis], point: dict[str, Any]) -> dict[str, Any]:
    types = axis_types(axes)
    return {k: (float(v) if types[k] == "DOUBLE" else str(v)) for k, v in point.items()}


def open_store(sweep: Sweep, out: Path | None) -> Store:
    return Store(out, sweep.spec(), axis_types(sweep.axes))


def execute(sweep: Sweep, out: Path | None, backend: Backend, progress: Callable[[int, int], None] | None = None,
            only: Collection[int] | None = None) -> tuple[dict[str, Path], pa.Table, pa.Table, pa.Table]:
    """Run the points (of ``only``) missing from ``out``'s store (in memory when ``out`` is None),
    export the tables; returns (the files written, the points, nodes and paths tables)."""
    store = open_store(sweep, out)
    try:
        run(sweep, store, backend, progress, only)
        files = store.export() if only is None else {}
        return files, store.table("points"), store.table("nodes"), store.table("paths")
    finally:
        store.close()
