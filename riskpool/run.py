"""One simulated scenario as an object: ``simulate`` returns a :class:`Run`.

A run holds the engine's per-path results and their typed summary; it gives its tables as pandas
DataFrames, writes its result folder, and renders its report, without a folder on disk.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from . import engine, metrics
from .engine import Progress, Results
from .fatestore import FateStore
from .files.manifest import command_line
from .files.runfolder import months_table, nodes_table, paths_table, run_files, write_run
from .metrics import summarize
from .present import views
from .scenario import NO_VALUE, Problem, Scenario, ScenarioError
from .summary import Summary


class Run:
    """A simulated scenario: its summary, its per-path results, and the files that record it.

    Large runs keep their per-path results on disk (docs/model.md, design choice 21); ``release``
    deletes them, and a run used in a ``with`` block releases itself at the end.
    """

    def __init__(self, results: Results, started: datetime | None = None):
        self.results = results
        self.summary: Summary = summarize(results)
        self.started = started
        self._months: pd.DataFrame | None = None

    def __repr__(self) -> str:
        fund = self.summary.fund
        return (f"<Run {self.scenario.meta.name!r}: {self.n_paths:,} paths, seed {self.seed}, "
                f"sufficiency {fund.sufficiency:.2%} ± {fund.p_shortfall_se:.2%}>")

    @property
    def scenario(self) -> Scenario:
        return self.results.scenario

    @property
    def seed(self) -> int:
        return self.results.seed

    @property
    def n_paths(self) -> int:
        return self.results.n_paths

    @property
    def method(self) -> str:
        """How the yearly factors were sampled: ``plain`` or ``importance``."""
        return self.results.sampling.method

    def paths(self) -> pd.DataFrame:
        """One row per path: lending, losses by party, shortfall flags (``paths.parquet``)."""
        return paths_table(self.results).to_pandas()

    def nodes(self) -> pd.DataFrame:
        """One row per path and fund node (``nodes.parquet``)."""
        return nodes_table(self.results).to_pandas()

    def months(self) -> pd.DataFrame:
        """Balance bands and reserve ratios by month, for nodes, tiers and the fund (``months.parquet``)."""
        if self._months is None:
            self._months = months_table(self.results).to_pandas()
        return self._months

    def write(self, folder: str | Path, command: list[str] | None = None) -> dict[str, Any]:
        """Write the result folder (summary.json, three parquet tables, manifest.json last); returns
        the manifest. ``command`` is recorded in it (default: this process's command line)."""
        return write_run(self.results, self.summary, Path(folder), command or command_line(), self.started)

    def files(self, command: list[str] | None = None) -> dict[str, bytes]:
        """The bytes of every file ``write`` writes, made in memory."""
        return run_files(self.results, self.summary, command or command_line())

    def report(self, lang: str = "en") -> str:
        """The HTML report of this run (as ``riskpool report`` makes of its folder)."""
        from . import report  # embeds plotly.js: loaded only when asked

        return report.render(self.files(), report.parse_lang(lang))

    def workbook(self, lang: str = "en") -> bytes:
        """The Excel workbook of this run's summary (.xlsx bytes; riskpool.present.workbook)."""
        from . import report

        return report.workbook(self.files(), report.parse_lang(lang))

    def release(self) -> None:
        """Delete a large run's per-path results from disk (nothing to do for a run in memory)."""
        self.results.release()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def paired_se(base: Run, edited: Run) -> dict[str, float]:
    """Standard errors of the differences ``edited - base`` of the figures that are means over
    paths (sufficiency of the fund and each tier, payouts, unpaid, bank and insurer losses), for
    two runs on common random numbers (the same seed and paths)."""
    return metrics.paired_se(base.results, edited.results)


def compare(runs: Mapping[str, Run]) -> pd.DataFrame:
    """The figures of named runs side by side (one row per figure, a column per run), and each
    run's difference from the first with its standard error on common random numbers (``se``:
    NaN where a run's seed or paths differ from the first's, so that the difference is not paired)."""
    if not runs:
        raise ScenarioError([Problem("runs", NO_VALUE, "at least one run to compare")])
    names = list(runs)
    first = runs[names[0]]
    paired = {name: paired_se(first, run) if (run.summary.seed, run.summary.paths) == (first.summary.seed,
              first.summary.paths) else {} for name, run in runs.items()}
    rows = []
    for key, figure in views.COMPARED:
        row: dict[str, Any] = {"figure": key, **{name: figure(run.summary) for name, run in runs.items()}}
        for name in names[1:]:
            a, b = row[names[0]], row[name]
            row[f"{name} - {names[0]}"] = math.nan if a is None or b is None else b - a
            row[f"se({name} - {names[0]})"] = paired[name].get(key, math.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def simulate(scenario: Scenario, *, paths: int | None = None, seed: int | None = None, workers: int = 1,
             method: str = "plain", progress: Progress | None = None, spool_folder: str | Path | None = None,
             fate_store: FateStore | None = None) -> Run:
    """Simulate ``scenario`` (``paths`` and ``seed`` default to its own) and summarise it.

    ``method``: ``"plain"``, ``"importance"`` (yearly factors shifted towards shortfalls, paths
    weighted) or ``"auto"``. ``workers`` never changes a number. ``progress(done, total)`` is
    called as blocks of paths finish. ``spool_folder``: where a run too large for memory keeps
    its per-path results (default: the system's temporary folder). ``fate_store``
    (``riskpool.FateStore()``): keeps the sampled fates, so that a rerun which changes only the
    rules (funds, top-ups, sharing, caps, parties, deposits) reuses them; numbers are unchanged.
    """
    started = datetime.now(timezone.utc)
    results = engine.simulate(scenario, paths=paths, seed=seed, workers=workers, method=method, progress=progress,
                             spool_folder=None if spool_folder is None else Path(spool_folder), fate_store=fate_store)
    return Run(results, started)
