"""Up-front estimates of memory and time, so that an impossible request is refused, not started.

The figures are deliberately conservative: bytes per candidate loan while a block is sampled
and run, bytes per path of results kept for the whole run, and a throughput measured on one
core of a small machine (docs/performance.md). Results that do not fit in memory go to disk
(riskpool.spool) when the caller can take them from there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .fates import BLOCK_PATHS
from .ledger import BANK_COLUMNS, COUNTY_COLUMNS, NODE_COLUMNS, PATH_COLUMNS
from .scenario import Problem, Scenario, ScenarioError

BYTES_PER_CANDIDATE = 160  # fates plus the temporaries of sampling them
CANDIDATES_PER_SECOND = 10e6  # candidate loan-paths per second per worker (sampling + ledger)
MAX_HOURS = 48.0
MEMORY_FRACTION = 0.6  # of physical memory that one run may use
# results estimated above this go to disk when the caller allows (riskpool.spool); the variable
# lets a machine with little memory spool earlier (and the crash tests spool small runs)
SPOOL_ABOVE_BYTES = int(os.environ.get("RISKPOOL_SPOOL_ABOVE_BYTES", 2**30))
SPOOLED_VECTORS = 40  # vectors of one float64 a path held at once by a spooled run (summary, tables)
DISK_MARGIN = 1.6  # spool files plus the result tables written beside them


def machine_memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def result_bytes_per_path(s: Scenario) -> int:
    """Results kept per path: month-end balances of every fund node, node, county, bank and path rows."""
    nodes = sum(r.fund is not None for r in s.regions)
    counties = sum(r.tier == "county" for r in s.regions)
    # balances by month, the node and county figures, the path figures, the path's weight and the
    # top-ups by year and tier, the banks' figures
    return 8 * (s.horizon_months * nodes + len(NODE_COLUMNS) * nodes + len(COUNTY_COLUMNS) * counties
                + len(PATH_COLUMNS) + 1 + 3 * s.simulation.horizon_years + len(BANK_COLUMNS) * len(s.banks))


def results_memory_bytes(s: Scenario, paths: int) -> float:
    """Memory of ``paths`` paths' results held in memory, half as much again while the tables are written."""
    return 1.5 * result_bytes_per_path(s) * paths


def expected_candidates(s: Scenario) -> float:
    """Mean number of candidate loans per path (initial loans plus new ones over the horizon)."""
    return sum(
        r.lending.initial_loans + r.lending.new_loans_per_year * s.simulation.horizon_years
        for r in s.regions
        if r.lending is not None
    )


def estimate(s: Scenario, paths: int, workers: int = 1) -> dict[str, float]:
    """Estimated peak memory (bytes) and run time (seconds) of ``paths`` paths."""
    candidates = expected_candidates(s)
    block = BYTES_PER_CANDIDATE * candidates * BLOCK_PATHS * 4  # a task holds up to four blocks
    memory = results_memory_bytes(s, paths) + block * workers
    seconds = candidates * paths / (CANDIDATES_PER_SECOND * workers)
    return {"memory_bytes": memory, "block_bytes": block, "seconds": seconds, "candidates_per_path": candidates}


def spooled_memory_bytes(s: Scenario, paths: int, workers: int) -> float:
    """Peak memory of a run whose results go to disk: blocks in flight and a few vectors of paths."""
    return estimate(s, paths, workers)["block_bytes"] * workers + SPOOLED_VECTORS * 8 * paths


def disk_free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free


def check_resources(s: Scenario, paths: int, workers: int = 1, spool_folder: Path | None = None) -> bool:
    """Raise ScenarioError when a run would not fit this machine or a sane time.

    With ``spool_folder``, results estimated above SPOOL_ABOVE_BYTES go to disk there
    (riskpool.spool) if it has room, so that memory stays flat however many paths; returns
    whether they must.
    """
    if paths < 1:
        raise ScenarioError([Problem("simulation.paths", paths, "must be at least 1")])
    est = estimate(s, paths, workers)
    allowed = MEMORY_FRACTION * machine_memory_bytes()
    problems: list[Problem] = []
    spool = False
    if est["block_bytes"] > allowed:
        path, value = _largest_lender(s)
        problems.append(Problem(
            path, value,
            f"{est['candidates_per_path']:.3g} candidate loans per path in all need about "
            f"{_gib(est['block_bytes'])} per block of {BLOCK_PATHS} paths; this machine allows "
            f"{_gib(allowed)}: lower the loan counts",
        ))
    elif results_memory_bytes(s, paths) > SPOOL_ABOVE_BYTES and spool_folder is not None:
        spool = True
        disk = DISK_MARGIN * result_bytes_per_path(s) * paths
        if disk > disk_free_bytes(spool_folder) or spooled_memory_bytes(s, paths, workers) > allowed:
            problems.append(Problem(
                "simulation.paths", paths,
                f"needs about {_gib(est['memory_bytes'])} of memory, more than the {_gib(allowed)} this machine "
                f"allows, or {_gib(disk)} of disk in {spool_folder} (free: {_gib(disk_free_bytes(spool_folder))}): "
                "use fewer paths, a folder on a larger disk, or split the run into seeds and combine",
            ))
    elif est["memory_bytes"] > allowed:
        fits = int(max(0.0, allowed - est["block_bytes"] * workers) / results_memory_bytes(s, 1))
        problems.append(Problem(
            "simulation.paths", paths,
            f"needs about {_gib(est['memory_bytes'])} of memory; this machine allows {_gib(allowed)}: "
            f"use at most {fits} paths, or split the run into seeds and combine",
        ))
    if est["seconds"] > MAX_HOURS * 3600:
        problems.append(Problem(
            "simulation.paths", paths,
            f"would take about {est['seconds'] / 3600:.0f} hours on {workers} worker(s) (limit {MAX_HOURS:.0f}): "
            "use fewer paths or more workers",
        ))
    if problems:
        raise ScenarioError(problems)
    return spool


def _largest_lender(s: Scenario) -> tuple[str, float]:
    """The lending field that contributes most candidate loans, to name in a refusal."""
    years = s.simulation.horizon_years
    fields = [
        (count, f"regions.{r.id}.lending.{name}", value)
        for r in s.regions if r.lending is not None
        for name, value, count in (("initial_loans", r.lending.initial_loans, r.lending.initial_loans),
                                   ("new_loans_per_year", r.lending.new_loans_per_year, r.lending.new_loans_per_year * years))
    ]
    _, path, value = max(fields)
    return path, value


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"
