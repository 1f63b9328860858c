"""The Monte Carlo engine: RNG blocks of paths, grouped into tasks, run in one or more processes.

The RNG block (``fates.BLOCK_PATHS`` paths keyed by seed and block index) is the unit of
randomness; a *task* is a run of consecutive blocks and the unit of work and memory. Results are
written into arrays by block position, so they are identical whatever the number of workers or
the grouping of blocks into tasks.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np

from .fates import BLOCK_PATHS, sample_block
from .ledger import COUNTY_COLUMNS, NODE_COLUMNS, PATH_COLUMNS, LedgerResult, run_ledger
from .limits import check_resources
from .scenario import Scenario
from .structure import Structure, compile_structure

Progress = Callable[[int, int], None]  # (paths done, paths in all)


@dataclass
class Results:
    """Per-path outcomes of a run, with the scenario and structure that produced them."""

    scenario: Scenario
    structure: Structure
    seed: int
    n_paths: int
    paths: np.ndarray  # (paths, len(PATH_COLUMNS))
    nodes: np.ndarray  # (paths, nodes, len(NODE_COLUMNS))
    counties: np.ndarray  # (paths, counties, len(COUNTY_COLUMNS))
    balance: np.ndarray  # (paths, months, nodes)
    covered: np.ndarray  # (paths, months, nodes)

    def path_column(self, name: str) -> np.ndarray:
        return self.paths[:, PATH_COLUMNS.index(name)]

    def node_column(self, name: str) -> np.ndarray:
        """(paths, nodes) array of one node statistic."""
        return self.nodes[:, :, NODE_COLUMNS.index(name)]

    def county_column(self, name: str) -> np.ndarray:
        return self.counties[:, :, COUNTY_COLUMNS.index(name)]


def plan_blocks(n_paths: int) -> list[tuple[int, int]]:
    """(block index, paths in block) covering ``n_paths`` paths."""
    full, rest = divmod(n_paths, BLOCK_PATHS)
    return [(b, BLOCK_PATHS) for b in range(full)] + ([(full, rest)] if rest else [])


def group_tasks(blocks: list[tuple[int, int]], blocks_per_task: int) -> list[list[tuple[int, int]]]:
    return [blocks[i : i + blocks_per_task] for i in range(0, len(blocks), blocks_per_task)]


def simulate(
    scenario: Scenario,
    *,
    paths: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    blocks_per_task: int | None = None,
    progress: Progress | None = None,
) -> Results:
    """Simulate ``paths`` paths of ``scenario`` (defaults from its [simulation] table)."""
    n_paths = scenario.simulation.paths if paths is None else paths
    seed = scenario.simulation.seed if seed is None else seed
    if workers < 1:
        raise ValueError("workers must be at least 1")
    check_resources(scenario, n_paths, workers)
    st = compile_structure(scenario)
    blocks = plan_blocks(n_paths)
    per_task = blocks_per_task or max(1, min(4, len(blocks) // (2 * workers)))
    tasks = group_tasks(blocks, per_task)
    res = _allocate(scenario, st, seed, n_paths)
    done = 0
    for task, result in _execute(st, seed, tasks, workers):
        first = task[0][0] * BLOCK_PATHS
        _store(res, first, result)
        done += len(result.paths)
        if progress:
            progress(done, n_paths)
    return res


def run_task(st: Structure, seed: int, task: list[tuple[int, int]]) -> LedgerResult:
    """Sample and run consecutive RNG blocks; returns their results stacked in block order."""
    parts = [run_ledger(st, sample_block(st, seed, block, n)) for block, n in task]
    return LedgerResult(*(np.concatenate([getattr(p, f) for p in parts]) for f in LedgerResult.__dataclass_fields__))


def _execute(st: Structure, seed: int, tasks: list, workers: int):
    """Yield (task, result) as tasks finish, in this process or a pool of ``workers``."""
    if workers == 1 or len(tasks) == 1:
        for task in tasks:
            yield task, run_task(st, seed, task)
        return
    # fork shares the compiled kernels with the workers; spawn where fork does not exist
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method)) as pool:
        futures = {pool.submit(run_task, st, seed, task): task for task in tasks}
        for future in as_completed(futures):
            yield futures[future], future.result()


def _allocate(scenario: Scenario, st: Structure, seed: int, n: int) -> Results:
    t, nodes, counties = st.horizon_months, st.n_nodes, st.n_counties
    return Results(
        scenario=scenario,
        structure=st,
        seed=seed,
        n_paths=n,
        paths=np.zeros((n, len(PATH_COLUMNS))),
        nodes=np.zeros((n, nodes, len(NODE_COLUMNS))),
        counties=np.zeros((n, counties, len(COUNTY_COLUMNS))),
        balance=np.zeros((n, t, nodes)),
        covered=np.zeros((n, t, nodes)),
    )


def _store(res: Results, first: int, part: LedgerResult) -> None:
    rows = slice(first, first + len(part.paths))
    res.paths[rows] = part.paths
    res.nodes[rows] = part.nodes
    res.counties[rows] = part.counties
    res.balance[rows] = part.balance
    res.covered[rows] = part.covered


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
