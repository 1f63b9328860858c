"""riskpool as a library: load a scenario, simulate it, sweep, size, study sensitivity, verify.

Everything a notebook needs is here and in ``import riskpool`` (docs/researchers.md, "The Python
API"). The command line, the web app and the report are thin shells over these calls.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from . import calibration
from . import scenario as scenario_mod
from .calibration import Calibration
from .events import PathTrace, simulate_path, trace_rows
from .fates import BLOCK_PATHS, sample_block
from .fatestore import FateStore
from .files import toml_writer
from .files.atomic import writable_folder
from .files.contents import Contents
from .files.manifest import command_line, write_manifest, write_sweep_manifest
from .files.verify import Report
from .register import with_register
from .reproduce import DEFAULT_POINTS
from .reproduce import verify as verify_manifest
from .run import Run, compare, paired_se, simulate
from .scenario import NO_VALUE, Problem, Scenario, ScenarioError
from .structure import compile_structure
from .uncertainty import block_structure
from .study import sensitivity as sens
from .study import sizing
from .study.backends import Progress, open_backend
from .study.grid import Axis, product
from .study.store import NODES_FILE, PATHS_FILE, POINTS_FILE
from .study.sweep import execute as execute_sweep
from .study.sweep import prepare
from .summary import Summary
from .workspace import Workspace

ScenarioLike = Scenario | str | Path
Overrides = Mapping[str, Any] | Sequence[str] | None

__all__ = ["Calibration", "FateStore", "Problem", "Run", "Scenario", "ScenarioError", "SensitivityResult", "Summary", "SizeResult", "SweepResult", "Trace", "Workspace", "calibrate", "calibrated", "compare", "load", "open_sweep", "paired_se",
           "render_report", "sensitivity", "simulate", "size", "sweep", "to_toml", "trace", "verify", "write_report"]


def load(source: str | Path | Mapping[str, Any] | None = None, set: Overrides = None, *,  # noqa: A002
         paths: int | None = None, seed: int | None = None, book: str | Path | bytes | None = None,
         valuation_month: str | None = None) -> Scenario:
    """A scenario: a bundled name (``"hunan-baseline"``, the default), a TOML file, or its plain
    data (a manifest's ``scenario``), with the values of ``set`` (``{"credit.annual_pd": 0.04}``,
    or ``["credit.annual_pd=0.04"]`` as on the command line) and then ``paths`` and ``seed``
    applied; every problem raises ScenarioError. ``book``: a loan register (CSV or .xlsx file, or
    its bytes) that becomes the initial book at ``valuation_month`` (``YYYY-MM``, default this
    month; docs/model.md section 4.8); its problems are named by line and column."""
    if book is not None:
        data = book if isinstance(book, bytes) else Path(book).read_bytes()
        label = "register" if isinstance(book, bytes) else Path(book).name
        return with_register(load(source, set, paths=paths, seed=seed), data, valuation_month, label)
    if isinstance(source, Mapping):
        raw = copy.deepcopy(dict(source))
    else:
        raw = scenario_mod.read_toml(scenario_mod.resolve_source(source))
    if isinstance(set, Mapping):
        for path, value in set.items():
            scenario_mod.apply_override(raw, path, value)
        set = None
    return scenario_mod.from_dict(raw, list(set or []), simulation__paths=paths, simulation__seed=seed)


def _scenario(s: ScenarioLike) -> Scenario:
    return s if isinstance(s, Scenario) else load(s)


# --------------------------------------------------------------------------- sweeps


@dataclass(frozen=True)
class SweepResult:
    """The points of a sweep on common random numbers: one row per point, one per point and fund."""

    points: pd.DataFrame  # the swept values, fund-wide and tier figures, the problem of a refused point
    nodes: pd.DataFrame  # one row per point and fund node
    spec: dict[str, Any]  # what identifies the sweep (docs/model.md section 8.4)
    folder: Path | None = None  # where it is stored (None: it ran in memory)
    files: tuple[Path, ...] = ()  # what was written there: the tables, the heatmap, the manifest
    paths: pd.DataFrame | None = None  # one row per point and path: shortfall, payout_net (None: an older folder)

    def difference(self, a: int, b: int) -> dict[str, tuple[float, float]]:
        """Point ``b`` minus point ``a``: (difference, its standard error) of ``p_shortfall`` and
        ``payout_net_mean``, from the path-by-path differences (both points have the same paths)."""
        if self.paths is None:
            raise ScenarioError([Problem("paths", NO_VALUE, "this sweep folder has no sweep_paths.parquet (made by an "
                                         "older riskpool): run the sweep again into a new folder")])
        rows = {k: self.paths[self.paths["point"] == k].sort_values("path") for k in (a, b)}
        for k, r in rows.items():
            if r.empty:
                raise ScenarioError([Problem("point", k, "no such simulated point in this sweep")])
        out = {}
        for figure, column in (("p_shortfall", "shortfall"), ("payout_net_mean", "payout_net")):
            d = rows[b][column].to_numpy(dtype=float) - rows[a][column].to_numpy(dtype=float)
            out[figure] = (float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else math.nan)
        return out

    @property
    def problems(self) -> dict[int, str]:
        """The points not simulated, with the reason (their values make no valid scenario)."""
        return {int(k): p for k, p in zip(self.points["point"], self.points["problem"]) if isinstance(p, str)}

    def report(self, lang: str = "en") -> str:
        """The HTML report of the sweep's folder."""
        if self.folder is None:
            raise ScenarioError([Problem("out", NO_VALUE, "a sweep run in memory has no folder to report; give out")])
        return render_report(self.folder, lang)


def sweep(scenario: ScenarioLike, axes: Mapping[str, Sequence[Any]] | Sequence[Axis], *, paths: int | None = None,
          seed: int | None = None, out: str | Path | None = None, workers: int = 1, dask_local: int | None = None,
          scheduler: str | None = None, progress: Progress | None = None,
          command: list[str] | None = None) -> SweepResult:
    """Every combination of the ``axes`` values (``{"credit.annual_pd": [0.01, 0.02]}``, the
    first axis varying slowest) on common random numbers: the same seed at every point.

    With ``out`` the points are stored in ``out/sweep.duckdb`` as they finish (a rerun resumes),
    and the tables, a heatmap and the manifest are written there; without, the sweep runs in
    memory. ``workers``, ``dask_local`` (a Dask LocalCluster of that many workers) or
    ``scheduler`` (a Dask scheduler's address) choose where points run; none changes a number.
    """
    from .present.charts import write_heatmap

    base = _scenario(scenario)
    axes = [Axis(path, tuple(values)) for path, values in axes.items()] if isinstance(axes, Mapping) else list(axes)
    if not axes:
        raise ScenarioError([Problem("axes", NO_VALUE, "give at least one axis, e.g. {'credit.annual_pd': [0.01, 0.05]}")])
    plan = prepare(base.canonical(), axes, product(axes), paths or base.simulation.paths,
                   base.simulation.seed if seed is None else seed, max(workers, dask_local or 1))
    folder = None if out is None else Path(out)
    started = datetime.now(timezone.utc)
    if folder is not None:
        writable_folder(folder)
        (folder / "manifest.json").unlink(missing_ok=True)  # written again once every point is in
    with open_backend(workers, dask_local, scheduler) as backend:
        files, points, nodes, paths = execute_sweep(plan, folder, backend, progress)
    written: list[Path] = []
    if folder is not None:
        charts = write_heatmap(points, [a.path for a in axes], folder)
        write_sweep_manifest(folder, plan.spec(), plan.base_scenario().canonical(), command or command_line(),
                             started, list(files))
        written = [folder / "sweep.duckdb", *files.values(), *charts, folder / "manifest.json"]
    return SweepResult(points.to_pandas(), nodes.to_pandas(), plan.spec(), folder, tuple(written), paths.to_pandas())


def open_sweep(folder: str | Path) -> SweepResult:
    """A sweep folder written by ``sweep`` (or ``riskpool sweep``), read back."""
    contents = Contents(Path(folder))
    manifest = contents.json("manifest.json")
    paths = contents.table(PATHS_FILE).to_pandas() if contents.has(PATHS_FILE) else None  # not in older folders
    return SweepResult(contents.table(POINTS_FILE).to_pandas(), contents.table(NODES_FILE).to_pandas(),
                       manifest["sweep"], Path(folder), paths=paths)


# --------------------------------------------------------------------------- sizing


SizeResult = sizing.SizeResult


def size(scenario: ScenarioLike, target: float = 0.95, *, node: str | None = None, tier: str | None = None,
         paths: int = 2000, seed: int | None = None, workers: int = 1, keep_leverage: bool = False,
         out: str | Path | None = None, command: list[str] | None = None,
         progress: Progress | None = None) -> SizeResult:
    """The smallest scale of the funds (all of them, one ``tier``'s or one ``node``'s; initial
    capital and top-ups alike) at which sufficiency reaches ``target``, on common random numbers
    (docs/researchers.md). The leverage cap is lifted unless ``keep_leverage``. With ``out`` the
    answer (``size.json``) and its manifest are written there. ``progress(evaluations, 0)`` is
    called after each scale tried (the number of steps is not known in advance)."""
    base = _scenario(scenario)
    if seed is not None:
        base = scenario_mod.from_dict(base.canonical(), simulation__seed=seed)
    folder = None if out is None else Path(out)
    started = datetime.now(timezone.utc)
    sizing.check_target(target)
    sizer = sizing.Sizer(base.canonical(), node, tier, paths, base.simulation.seed, workers, keep_leverage, progress)
    if folder is not None:
        writable_folder(folder)
    answer = sizing.search(sizer, target)
    if folder is not None:
        (folder / "manifest.json").unlink(missing_ok=True)  # an older answer's folder stops being complete
        answer.write(folder / sizing.ANSWER_FILE)
        write_manifest(folder, sizing.record(base, target, node, tier, paths, base.simulation.seed, keep_leverage),
                       [sizing.ANSWER_FILE], command or command_line(), started)
    return answer


# --------------------------------------------------------------------------- sensitivity


@dataclass(frozen=True)
class SensitivityResult:
    """Sobol first-order and total indices of p_shortfall and mean fund payout, and the points."""

    indices: pd.DataFrame  # output, parameter, S1, S1_conf, ST, ST_conf
    points: pd.DataFrame  # the Sobol design's points with their figures
    folder: Path | None = None


def sensitivity(scenario: ScenarioLike, ranges: Mapping[str, tuple[float, float]], *, samples: int = 64,
                paths: int | None = None, seed: int | None = None, out: str | Path | None = None, workers: int = 1,
                dask_local: int | None = None, scheduler: str | None = None, progress: Progress | None = None,
                command: list[str] | None = None) -> SensitivityResult:
    """Sobol indices over uniform ``ranges`` (``{"credit.annual_pd": (0.01, 0.1)}``) from SALib's
    Saltelli design of ``samples x (parameters + 2)`` points, all on one seed. With ``out`` the
    points are stored there (resumable) with the indices, a bar chart and the manifest."""
    base = _scenario(scenario)
    spans = [(path, float(low), float(high)) for path, (low, high) in ranges.items()]
    problems = [Problem(f"ranges {path}", f"{low}:{high}", "low must be below high") for path, low, high in spans
                if not low < high]
    if problems:
        raise ScenarioError(problems)
    folder = None if out is None else Path(out)
    paths = paths or base.simulation.paths
    seed = base.simulation.seed if seed is None else seed
    started = datetime.now(timezone.utc)
    problem, plan = sens.plan(base.canonical(), spans, samples, paths, seed)  # every point checked before any file
    if folder is not None:
        writable_folder(folder)
        (folder / "manifest.json").unlink(missing_ok=True)  # written again once every point is in
    with open_backend(workers, dask_local, scheduler) as backend:
        table, points = sens.run(problem, plan, seed, folder, backend, progress)
    if folder is not None:
        write_manifest(folder, sens.record(spans, samples, paths, seed, plan), list(sens.FILES),
                       command or command_line(), started)
        sens.write_bars(table, folder / sens.CHART_FILE)
    return SensitivityResult(table.to_pandas(), points.to_pandas(), folder)


# --------------------------------------------------------------------------- auditing


def verify(manifest: str | Path, *, workers: int = 1, points: int | None = DEFAULT_POINTS) -> Report:
    """Rerun what a result folder's ``manifest.json`` describes and compare every published result
    with the rerun (docs/auditing.md). ``points``: how many points of a sweep to rerun (None: all)."""
    return verify_manifest(Path(manifest), workers, points)


def render_report(folder: str | Path | Mapping[str, bytes], lang: str = "en") -> str:
    """The self-contained HTML report of a result folder (or of its files' bytes, as
    ``Run.files`` gives them), in ``"en"`` or ``"zh"``."""
    from . import report as report_mod  # embeds plotly.js: loaded only when asked

    where = folder if isinstance(folder, Mapping) else Path(folder)
    return report_mod.render(where, report_mod.parse_lang(lang))


def calibrate(history: str | Path | bytes, recoveries: str | Path | bytes | None = None) -> Calibration:
    """Fit the annual PD and asset correlation (exact Vasicek binomial mixture, profile-likelihood
    intervals) from a history CSV of yearly loans at risk and defaults, and the recovery and delay
    distributions from a disposals CSV (docs/model.md, "Calibration from a fund's history")."""
    rec, delays = calibration.read_disposals(recoveries) if recoveries is not None else (None, None)
    return calibration.calibrate(calibration.read_history(history), rec, delays)


def calibrated(scenario: ScenarioLike, result: Calibration) -> Scenario:
    """``scenario`` with the parameters ``result`` identified put in (a recovery sd the mean cannot
    have is refused by validation, naming the field)."""
    base = _scenario(scenario)
    return scenario_mod.from_dict(base.canonical(), [f"{k}={v!r}" for k, v in result.overrides().items()])


def to_toml(scenario: Scenario, note: str = "") -> str:
    """The scenario as a TOML file that ``load`` reads back to the same scenario (``note``: a
    comment at the top)."""
    return toml_writer.to_toml(scenario.canonical(), note)


def write_report(folder: str | Path, lang: str = "en", out: str | Path | None = None) -> Path:
    """Write the report of a result folder (default ``folder/report.html``, ``report.zh.html`` in
    Chinese); returns where."""
    from . import report as report_mod

    return report_mod.write(Path(folder), report_mod.parse_lang(lang), None if out is None else Path(out))


@dataclass(frozen=True)
class Trace:
    """The event engine's log of one path, and that path's outcomes."""

    path: int
    seed: int
    log: PathTrace

    def rows(self) -> list[dict[str, Any]]:
        """One dict per event, with the columns of docs/auditing.md section 6."""
        return trace_rows(self.log)

    def events(self) -> pd.DataFrame:
        """One row per event (docs/auditing.md section 6)."""
        return pd.DataFrame(self.rows())


def trace(scenario: ScenarioLike, path: int = 0, *, seed: int | None = None) -> Trace:
    """Path ``path`` (0-based, as in paths.parquet) through the SimPy event engine, with its log."""
    s = _scenario(scenario)
    if seed is not None:
        s = scenario_mod.from_dict(s.canonical(), simulation__seed=seed)
    if path < 0:
        raise ScenarioError([Problem("path", path, "a path number is 0 or more")])
    block, k = divmod(path, BLOCK_PATHS)
    # the block holds as many paths as it would in a run of max(paths, K + 1) paths
    in_block = min(BLOCK_PATHS, max(s.simulation.paths, path + 1) - block * BLOCK_PATHS)
    st = compile_structure(s)
    fst = block_structure(s, st, s.simulation.seed, block)  # the block's parameters, if uncertain
    return Trace(path, s.simulation.seed, simulate_path(st, sample_block(fst, s.simulation.seed, block, in_block), k))
