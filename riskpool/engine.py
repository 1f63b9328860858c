"""The Monte Carlo engine: RNG blocks of paths, grouped into tasks, run in one or more processes.

The RNG block (``fates.BLOCK_PATHS`` paths keyed by seed and block index) is the unit of
randomness; a *task* is a run of consecutive blocks and the unit of work and memory. Results are
written into arrays by block position, so they are identical whatever the number of workers or
the grouping of blocks into tasks. Under importance sampling (``method="importance"``) every
block draws its systematic factors with the scenario's shift (``importance.systematic_shift``)
and each path's likelihood ratio goes into ``Results.weight``.
"""

from __future__ import annotations

import ctypes
import mmap
import multiprocessing
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .fates import BLOCK_PATHS, sample_block
from .importance import (
    AUTO_THRESHOLD,
    METHODS,
    PLAIN,
    Sampling,
    likelihood_ratio,
    sampling_for,
)
from .fatestore import FateStore, hand_over, take_over
from .ledger import BANK_COLUMNS, COUNTY_COLUMNS, NODE_COLUMNS, PATH_COLUMNS, YEAR_COLUMNS, LedgerResult, run_ledger
from .limits import check_resources
from .scenario import Problem, Scenario, ScenarioError
from .spool import Spool, remove_stale
from .structure import Structure, compile_structure
from .uncertainty import block_structure

HUGE_PAGE_ARRAY_BYTES = 4 * 2**20  # numpy asks for huge pages from this size on (numpy/_core/src/multiarray/alloc.c)
Progress = Callable[[int, int], None]  # (paths done, paths in all)
ALL = slice(None)


@dataclass
class Results:
    """Per-path outcomes of a run, with the scenario and structure that produced them."""

    scenario: Scenario
    structure: Structure
    seed: int
    n_paths: int
    paths: np.ndarray | None  # (paths, len(PATH_COLUMNS)); None when spooled, as the next three
    nodes: np.ndarray | None  # (paths, nodes, len(NODE_COLUMNS))
    counties: np.ndarray | None  # (paths, counties, len(COUNTY_COLUMNS))
    balance: np.ndarray | None  # (paths, months, nodes)
    budget: np.ndarray | None  # (paths, years, 3 tier slots): top-ups paid at each year's start
    covered: np.ndarray  # (months, nodes): outstanding under each node, summed over all paths with their weights
    weight: np.ndarray | None = None  # (paths,): likelihood ratio of each path; None: 1 (plain sampling)
    years: np.ndarray | None = None  # (years, nodes, len(YEAR_COLUMNS)): the funds' years, summed over paths (weighted)
    banks: np.ndarray | None = None  # (paths, banks, len(BANK_COLUMNS)); None when spooled
    sampling: Sampling = PLAIN
    spool: Spool | None = None  # a large run's per-path results on disk; then the four arrays above are None
    ran: np.ndarray | None = None  # (paths,) bool: the paths run by ``simulate(only=...)``, the others zero; None: all

    def __post_init__(self) -> None:
        if self.weight is None:
            self.weight = np.ones(self.n_paths)

    def path_column(self, name: str, rows: slice = ALL) -> np.ndarray:
        k = PATH_COLUMNS.index(name)
        return self.spool.read("paths", (k,), rows) if self.spool else self.paths[rows, k]

    def node_figure(self, name: str, node: int, rows: slice = ALL) -> np.ndarray:
        """(paths,) array of one node statistic of one fund node."""
        k = NODE_COLUMNS.index(name)
        return self.spool.read("nodes", (k, node), rows) if self.spool else self.nodes[rows, node, k]

    def node_column(self, name: str) -> np.ndarray:
        """(paths, nodes) array of one node statistic (all of it in memory: small runs only)."""
        if self.spool:
            return np.stack([self.node_figure(name, j) for j in range(self.structure.n_nodes)], axis=1)
        return self.nodes[:, :, NODE_COLUMNS.index(name)]

    def county_column(self, name: str) -> np.ndarray:
        """(paths, counties) array of one county statistic (all of it in memory: small runs only)."""
        if self.spool:
            return np.stack([self.county_figure(name, c) for c in range(self.structure.n_counties)], axis=1)
        return self.counties[:, :, COUNTY_COLUMNS.index(name)]

    def county_figure(self, name: str, county: int) -> np.ndarray:
        k = COUNTY_COLUMNS.index(name)
        return self.spool.read("counties", (k, county)) if self.spool else self.counties[:, county, k]

    def bank_figure(self, name: str, bank: int, rows: slice = ALL) -> np.ndarray:
        """(paths,) array of one figure of one bank (docs/model.md section 6.11)."""
        k = BANK_COLUMNS.index(name)
        return self.spool.read("banks", (k, bank), rows) if self.spool else self.banks[rows, bank, k]

    def group_total(self, name: str, members: np.ndarray) -> np.ndarray:
        """Per path, a node statistic summed over the member nodes, added node after node."""
        total = np.zeros(self.n_paths)
        for j in np.flatnonzero(members):
            total += self.node_figure(name, j)
        return total

    def group_earliest(self, members: np.ndarray, rows: slice = ALL) -> np.ndarray:
        """Per path, the earliest first-shortfall month among the member nodes, -1 if none."""
        start, stop, _ = rows.indices(self.n_paths)
        low = np.full(stop - start, np.inf)
        for j in np.flatnonzero(members):
            first = self.node_figure("first_shortfall_month", j, rows)
            low = np.minimum(low, np.where(first >= 0, first, np.inf))
        return np.where(np.isfinite(low), low, -1.0)

    def node_balance(self, node: int, months: range) -> np.ndarray:
        """(months, paths): month-end balances of one fund node."""
        if self.spool:
            return self.spool.read("balance", (node, months.start), count=len(months)).reshape(len(months), -1)
        return self.balance[:, months.start : months.stop, node].T

    def tier_budget(self, slot: int, year: int) -> np.ndarray:
        """(paths,): what the funds of tier ``slot`` (0 county, 1 city, 2 province) were topped up
        with at the start of ``year``."""
        if self.spool:
            return self.spool.read("budget", (year, slot))
        return self.budget[:, year, slot]

    def fund_shortfall(self) -> np.ndarray:
        """Per path, whether any fund ran short."""
        return self.group_earliest(np.ones(self.structure.n_nodes, dtype=bool)) >= 0

    def release(self) -> None:
        """Delete a large run's spool files (nothing to do for a run held in memory)."""
        if self.spool:
            self.spool.close()


def plan_blocks(n_paths: int) -> list[tuple[int, int]]:
    """(block index, paths in block) covering ``n_paths`` paths."""
    full, rest = divmod(n_paths, BLOCK_PATHS)
    return [(b, BLOCK_PATHS) for b in range(full)] + ([(full, rest)] if rest else [])


def group_tasks(blocks: list[tuple[int, int]], blocks_per_task: int) -> list[list[tuple[int, int]]]:
    return [blocks[i : i + blocks_per_task] for i in range(0, len(blocks), blocks_per_task)]


def keep_freed_memory() -> None:
    """Ask glibc to keep freed block-sized arrays for reuse instead of returning them to the OS.

    Each RNG block allocates arrays of a few to 30 MB; by default glibc maps and unmaps them
    every time, and the page faults cost about a sixth of a baseline run. Elsewhere a no-op.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 32 * 2**20)  # glibc's upper limit on 64-bit systems
    libc.mallopt(m_trim_threshold, 1 * 2**30)


def simulate(
    scenario: Scenario,
    *,
    paths: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    blocks_per_task: int | None = None,
    progress: Progress | None = None,
    method: str = "plain",
    spool_folder: Path | None = None,
    spool: bool | None = None,
    fate_store: FateStore | None = None,
    only: np.ndarray | None = None,
) -> Results:
    """Simulate ``paths`` paths of ``scenario`` (defaults from its [simulation] table).

    ``method``: ``"plain"``, ``"importance"`` (shifted systematic factors, weighted paths) or
    ``"auto"`` (plain, then importance if the plain fund p_shortfall is below ``AUTO_THRESHOLD``).
    Results too large for memory go to disk in ``spool_folder`` (default: the system's temporary
    folder; ``spool=True`` forces it), and ``Results.release()`` deletes them. ``fate_store``
    keeps the sampled fates for reruns that change only the rules, and reuses those it holds
    (riskpool.fatestore): the numbers are those of a fresh run. ``only`` (a mask over the paths)
    runs only those paths, for a search that knows the others' outcome (``size``, docs/model.md
    section 8.5): the other paths' figures are zero, not results, and the sums over paths leave them out.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}")
    if method != "plain" and scenario.uncertainty.spreads():
        raise ScenarioError([Problem("method", method, "parameter uncertainty ([uncertainty]) runs with plain sampling "
                                     "only: the importance shift is found for one set of parameters")])
    if method == "auto":
        return _simulate_auto(scenario, paths=paths, seed=seed, workers=workers, blocks_per_task=blocks_per_task,
                              progress=progress, spool_folder=spool_folder, spool=spool, fate_store=fate_store)
    n_paths = scenario.simulation.paths if paths is None else paths
    seed = scenario.simulation.seed if seed is None else seed
    if workers < 1:
        raise ValueError("workers must be at least 1")
    if only is not None and (method != "plain" or np.shape(only) != (n_paths,) or np.asarray(only).dtype != bool):
        raise ValueError("only is a boolean mask over the paths of a plain run")
    folder = Path(tempfile.gettempdir()) if spool_folder is None else spool_folder
    remove_stale(folder)  # a killed run's spool would hold disk space that this run's check counts on
    must_spool = check_resources(scenario, n_paths, workers, folder)
    keep_freed_memory()
    st = compile_structure(scenario)
    blocks = plan_blocks(n_paths)
    per_task = blocks_per_task or max(1, min(4, len(blocks) // (2 * workers)))
    tasks = group_tasks(blocks, per_task)
    parallel = workers > 1 and len(tasks) > 1
    sampling = sampling_for(method, st)
    if spool or (spool is None and must_spool):
        res = _allocate_spooled(scenario, st, seed, n_paths, parallel, sampling, folder)
    else:
        res = _allocate(scenario, st, seed, n_paths, shared=parallel, sampling=sampling)
    sums = BlockSums.zeros(st, len(blocks))
    done = 0
    for task, task_sums in _execute(res, tasks, workers if parallel else 1, fate_store, only):
        sums.put(task[0][0], task_sums)
        done += sum(n for _, n in task)
        if progress:
            progress(done, n_paths)
    res.covered, res.years = sums.total()  # in block order: independent of who finished first
    res.ran = None if only is None else np.array(only)
    return res


@dataclass
class BlockSums:
    """The figures summed over paths (with their weights) while blocks run, kept per block so that
    they are added up in block order: the covered outstanding by month, the funds' years."""

    covered: np.ndarray  # (blocks, months, nodes)
    years: np.ndarray  # (blocks, years, nodes, len(YEAR_COLUMNS))

    @classmethod
    def zeros(cls, st: Structure, blocks: int) -> BlockSums:
        return cls(np.zeros((blocks, st.horizon_months, st.n_nodes)),
                   np.zeros((blocks, st.horizon_months // 12, st.n_nodes, len(YEAR_COLUMNS))))

    def put(self, first: int, part: BlockSums) -> None:
        """Place a task's sums, whose first block is ``first``."""
        self.covered[first : first + len(part.covered)] = part.covered
        self.years[first : first + len(part.years)] = part.years

    def total(self) -> tuple[np.ndarray, np.ndarray]:
        return self.covered.sum(axis=0), self.years.sum(axis=0)


def _simulate_auto(scenario: Scenario, **settings: Any) -> Results:
    """Plain, or importance sampling if the plain fund p_shortfall is below ``AUTO_THRESHOLD``.

    If the importance-sampled run sees no shortfall either, both estimate 0 and the plain run is
    reported: its other figures come from unweighted paths. It is run again then rather than
    kept, so that no more than one run's arrays are held at a time (limits.py sizes one run).
    """
    res = simulate(scenario, **settings)
    p = float(res.fund_shortfall().mean())
    if p < AUTO_THRESHOLD:
        res.release()
        res = simulate(scenario, **settings, method="importance")
        if not res.fund_shortfall().any():
            res.release()
            res = simulate(scenario, **settings)
    res.sampling = replace(res.sampling, requested="auto", pilot_p_shortfall=p)
    return res


def run_task(res: Results, task: list[tuple[int, int]], first_block: int = 0,
             store: FateStore | None = None, only: np.ndarray | None = None) -> BlockSums:
    """Sample (or take from ``store``) and run consecutive RNG blocks straight into ``res`` (whose
    row 0 is the first path of block ``first_block``); returns each block's sums over its paths.
    ``only`` (a mask over the rows of ``res``) runs only those paths, and no block without one."""
    st = res.structure
    if res.spool:
        return _run_task_to_spool(res, task, first_block, store, only)
    shift = np.array(res.sampling.shift) if res.sampling.weighted else None
    sums = BlockSums.zeros(st, len(task))
    for k, (block, n) in enumerate(task):
        start = (block - first_block) * BLOCK_PATHS
        rows = slice(start, start + n)
        paths = None if only is None else np.flatnonzero(only[rows])
        if paths is not None and not len(paths):
            continue
        fst = block_structure(res.scenario, st, res.seed, block)  # the block's parameters, if uncertain
        fates = sample_block(fst, res.seed, block, n, shift) if store is None else store.sample(fst, res.seed, block, n, shift)
        if shift is not None:
            res.weight[rows] = likelihood_ratio(fates.systematic, shift)
        out = LedgerResult(res.paths[rows], res.nodes[rows], res.counties[rows], res.balance[rows], sums.covered[k],
                           res.budget[rows], sums.years[k], res.banks[rows])
        run_ledger(st, fates, out, res.weight[rows], paths)
    return sums


def _run_task_to_spool(res: Results, task: list[tuple[int, int]], first_block: int,
                       store: FateStore | None, only: np.ndarray | None) -> BlockSums:
    """Run a task in memory, then write its paths to the spool files at their place."""
    part = _allocate(res.scenario, res.structure, res.seed, sum(n for _, n in task), shared=False,
                     sampling=res.sampling)
    start = (task[0][0] - first_block) * BLOCK_PATHS
    sums = run_task(part, task, first_block=task[0][0], store=store,
                    only=None if only is None else only[start : start + part.n_paths])
    res.weight[start : start + part.n_paths] = part.weight
    # spool layouts put the path axis last and the figure before the node (spool.py)
    res.spool.write("paths", start, part.paths)
    res.spool.write("nodes", start, part.nodes.transpose(0, 2, 1))
    res.spool.write("counties", start, part.counties.transpose(0, 2, 1))
    res.spool.write("balance", start, part.balance.transpose(0, 2, 1))
    res.spool.write("budget", start, part.budget)
    res.spool.write("banks", start, part.banks.transpose(0, 2, 1))
    return sums


def simulate_blocks(scenario: Scenario, seed: int, task: list[tuple[int, int]],
                    store: FateStore | None = None) -> Results:
    """Run some consecutive RNG blocks of a scenario in this process (a sweep's unit of work)."""
    st = compile_structure(scenario)
    res = _allocate(scenario, st, seed, sum(n for _, n in task), shared=False)
    res.covered, res.years = run_task(res, task, first_block=task[0][0], store=store).total()
    return res


_SHARED: Results | None = None  # the run's arrays, inherited by forked workers
_STORE: FateStore | None = None  # the run's store of fates, inherited by forked workers
_ONLY: np.ndarray | None = None  # the run's mask of paths to run, inherited by forked workers


def _run_shared(task: list[tuple[int, int]]) -> tuple[BlockSums, list]:
    """A task in a forked worker: its sums, and the blocks of fates it sampled for the store."""
    assert _SHARED is not None, "workers must be forked from simulate()"
    if _STORE is None:
        return run_task(_SHARED, task, only=_ONLY), []
    _STORE.added = []
    sums = run_task(_SHARED, task, store=_STORE, only=_ONLY)
    handed = [(key, hand_over(fates)) for key, fates in _STORE.added]
    return sums, [(key, h) for key, h in handed if h is not None]


def _execute(res: Results, tasks: list, workers: int, store: FateStore | None = None,
             only: np.ndarray | None = None):
    """Yield (task, its BlockSums) as tasks finish, here or in ``workers`` forked processes.

    Forked workers write their paths straight into the run's shared-memory arrays, so only
    the small sums travel back through a pipe (and, with a store, the fates they sampled).
    """
    global _SHARED, _STORE, _ONLY
    if workers == 1:
        for task in tasks:
            yield task, run_task(res, task, store=store, only=only)
        return
    _SHARED, _STORE, _ONLY = res, store, only
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = {pool.submit(_run_shared, task): task for task in tasks}
            for future in as_completed(futures):
                sums, sampled = future.result()
                for key, handed in sampled:
                    store.put(key, take_over(*handed))
                yield futures[future], sums
    finally:
        _SHARED = _STORE = _ONLY = None


def _allocate(scenario: Scenario, st: Structure, seed: int, n: int, shared: bool,
              sampling: Sampling = PLAIN) -> Results:
    t, nodes, counties = st.horizon_months, st.n_nodes, st.n_counties
    zeros = _shared_zeros if shared else _private_zeros
    weight = zeros((n,))
    weight += 1.0  # plain sampling; importance sampling overwrites each block's weights
    return Results(
        scenario=scenario,
        structure=st,
        seed=seed,
        n_paths=n,
        paths=zeros((n, len(PATH_COLUMNS))),
        nodes=zeros((n, nodes, len(NODE_COLUMNS))),
        counties=zeros((n, counties, len(COUNTY_COLUMNS))),
        balance=zeros((n, t, nodes)),
        budget=zeros((n, t // 12, 3)),
        banks=zeros((n, st.banks.n, len(BANK_COLUMNS))),
        covered=np.zeros((t, nodes)),
        weight=weight,
        sampling=sampling,
    )


def _allocate_spooled(scenario: Scenario, st: Structure, seed: int, n: int, shared: bool, sampling: Sampling,
                      folder: Path) -> Results:
    """Results whose per-path arrays live in spool files in ``folder``; weights stay in memory."""
    shapes = {"paths": (len(PATH_COLUMNS),), "nodes": (len(NODE_COLUMNS), st.n_nodes),
              "counties": (len(COUNTY_COLUMNS), st.n_counties), "balance": (st.n_nodes, st.horizon_months),
              "budget": (st.horizon_months // 12, 3), "banks": (len(BANK_COLUMNS), st.banks.n)}
    weight = _shared_zeros((n,)) if shared else np.zeros(n)
    weight += 1.0
    return Results(scenario=scenario, structure=st, seed=seed, n_paths=n, paths=None, nodes=None, counties=None,
                   balance=None, budget=None, covered=np.zeros((st.horizon_months, st.n_nodes)), weight=weight,
                   sampling=sampling, spool=Spool(folder, n, shapes))


def _private_zeros(shape: tuple[int, ...]) -> np.ndarray:
    """``np.zeros(shape)`` in pages of the system's default size, for a run's large result arrays.

    numpy asks the kernel for transparent huge pages on large arrays. The result arrays are
    written once, path by path, and a huge page must be found and cleared at its first touch:
    on the shared virtual machines measured (docs/performance.md) that took 0.4-0.7 s of a
    3 s baseline run, against about 0.1 s for ordinary pages.
    """
    count = int(np.prod(shape))
    if count * 8 < HUGE_PAGE_ARRAY_BYTES or not hasattr(mmap, "MAP_PRIVATE"):  # numpy's own zeros: no huge pages
        return np.zeros(shape)
    buffer = mmap.mmap(-1, count * 8, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    return np.frombuffer(buffer, dtype=np.float64, count=count).reshape(shape)


def _shared_zeros(shape: tuple[int, ...]) -> np.ndarray:
    """A float64 array in anonymous shared memory, visible to processes forked afterwards."""
    size = max(1, int(np.prod(shape)) * 8)
    return np.frombuffer(mmap.mmap(-1, size), dtype=np.float64, count=int(np.prod(shape))).reshape(shape)
