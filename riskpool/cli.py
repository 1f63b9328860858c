"""The ``riskpool`` command: argument handling and printing around the engine, nothing more.

Exit status: 0 on success, 2 on bad input (one line per problem naming the field, the value
and what is allowed), 1 on an internal error.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer
from rich.console import Console
from rich.table import Table

from . import scenario as scenario_mod
from .files.atomic import atomic_write, json_text, writable_folder
from .scenario import NO_VALUE, Problem, Scenario, ScenarioError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Simulate three-tier IP pledge-loan risk-compensation funds (docs/model.md).",
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
LOG_WIDTH = 1000  # columns of the results' console outside a terminal: tables keep their own width

ScenarioArg = Annotated[
    Optional[str],
    typer.Argument(help="Scenario TOML file or bundled name (default: hunan-baseline)."),
]
SetOpt = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Override PATH=VALUE, e.g. credit.annual_pd=0.05, regions.changsha.fund=4e7, funds.scale=1.5."),
]


# options shared by the batch commands (sweep, sensitivity)
PointPathsOpt = Annotated[Optional[int], typer.Option(help="Paths per point (default: the scenario's).")]
PointSeedOpt = Annotated[Optional[int], typer.Option(help="Root seed, the same for every point.")]
WorkersOpt = Annotated[int, typer.Option(min=1, help="Local worker processes.")]
DaskLocalOpt = Annotated[Optional[int], typer.Option(min=1, help="Run on a Dask LocalCluster of N workers.")]
SchedulerOpt = Annotated[Optional[str], typer.Option(help="Run on an existing Dask cluster (tcp://host:8786).")]


def _load(source: str | None, overrides: list[str] | None, paths: int | None = None,
          seed: int | None = None) -> Scenario:
    return scenario_mod.load(source, overrides or [], simulation__paths=paths, simulation__seed=seed)


def _with_book(s: Scenario, book: Path, valuation_month: str | None) -> Scenario:
    from .register import with_register

    try:
        data = book.read_bytes()
    except OSError as exc:
        raise ScenarioError([Problem("book", str(book), f"a readable file ({exc.strerror or exc})")]) from None
    return with_register(s, data, valuation_month, book.name)


@app.command()
def validate(source: ScenarioArg = None, set_: SetOpt = None) -> None:
    """Check a scenario file and report every problem."""
    s = _load(source, set_)
    from .limits import check_resources

    check_resources(s, s.simulation.paths, spool_folder=Path(tempfile.gettempdir()))  # as `run` without --out
    typer.echo(f"ok: {s.meta.name} ({len(s.regions)} regions, sha256 {s.sha256()[:12]})")


@app.command()
def run(
    source: ScenarioArg = None,
    paths: Annotated[Optional[int], typer.Option(help="Monte Carlo paths (default: the scenario's).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Root seed (default: the scenario's).")] = None,
    set_: SetOpt = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes to run blocks of paths in.")] = 1,
    out: Annotated[Optional[Path], typer.Option(help="Folder for summary.json, manifest.json and parquet tables.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print summary.json to standard output.")] = False,
    method: Annotated[Literal["plain", "importance", "auto"], typer.Option(
        help="Sampling of the yearly systematic factors: plain; importance (shifted towards shortfalls, "
             "paths weighted; for rare shortfalls); auto (importance if the plain fund p_shortfall is below 0.1 %).")] = "plain",
    book: Annotated[Optional[Path], typer.Option(
        help="The fund's loan register (CSV or .xlsx, docs/model.md 4.8) as the initial book.")] = None,
    valuation_month: Annotated[Optional[str], typer.Option(
        help="YYYY-MM: month 0 of the run, the register's valuation month (default: this month).")] = None,
) -> None:
    """Simulate a scenario and print its sufficiency table (or the JSON summary)."""
    from . import api as rp
    from .limits import check_resources
    from .present.terminal import print_summary

    s = _load(source, set_, paths, seed)
    if book is not None:
        s = _with_book(s, book, valuation_month)
    spool_folder = out if out is not None else Path(tempfile.gettempdir())  # large results go to disk there
    check_resources(s, s.simulation.paths, workers, existing_folder(spool_folder))  # refuse before writing
    if out is not None:
        writable_folder(out)
    with _ProgressBar(enabled=not json_) as progress, \
            rp.simulate(s, workers=workers, progress=progress, method=method, spool_folder=spool_folder) as result:
        if out is not None:
            result.write(out)
    if json_:
        sys.stdout.write(json_text(result.summary.to_json()))
    else:
        print_summary(result.summary, results_console())
        if out is not None:
            results_console().print(f"results written to {out}/")


@app.command()
def sweep(
    source: ScenarioArg = None,
    grid: Annotated[Optional[list[str]], typer.Option(help="Axis PATH=START:STOP:COUNT (both ends included).")] = None,
    values: Annotated[Optional[list[str]], typer.Option(help="Axis PATH=a,b,c (listed values).")] = None,
    paths: PointPathsOpt = None,
    seed: PointSeedOpt = None,
    set_: SetOpt = None,
    workers: WorkersOpt = 1,
    dask_local: DaskLocalOpt = None,
    scheduler: SchedulerOpt = None,
    out: Annotated[Path, typer.Option(help="Folder for sweep.duckdb, sweep.parquet and the heatmap; rerun to resume.")] = Path("sweep"),
) -> None:
    """Run every combination of the axes on common random numbers; resumable."""
    from . import api as rp
    from .study.backends import check_choice
    from .study.grid import parse_grid, parse_values

    check_choice(workers, dask_local, scheduler)
    axes = [parse_grid(g) for g in grid or []] + [parse_values(v) for v in values or []]
    if not axes:
        raise ScenarioError([Problem("axes", NO_VALUE, "give at least one axis, e.g. --grid credit.annual_pd=0.01:0.10:10")])
    base = _load(source, set_, paths, seed)
    with _ProgressBar(True, "points") as progress:
        result = rp.sweep(base, axes, out=out, workers=workers, dask_local=dask_local, scheduler=scheduler,
                          progress=progress)
    for k, problem in sorted(result.problems.items()):
        print(f"warning: point {k} not simulated: {problem}", file=sys.stderr)
    results_console().print(f"{len(result.points)} points, {result.spec['paths']:,} paths each (seed {result.spec['seed']}) in {out}/: "
                    + ", ".join(p.name for p in result.files))


@app.command()
def verify(
    manifest: Annotated[Path, typer.Argument(help="manifest.json of a run, sweep, sensitivity or size folder.")],
    workers: WorkersOpt = 1,
    points: Annotated[str, typer.Option(help="Points of a sweep or sensitivity study to rerun: a number, or all.")] = "3",
) -> None:
    """Rerun what a manifest describes and compare every published result with the rerun."""
    from . import api as rp

    if not manifest.is_file():
        raise ScenarioError([Problem("MANIFEST", str(manifest), "no such file")])
    count = _points(points)
    try:
        report = rp.verify(manifest, workers=workers, points=count)
    except (ValueError, KeyError, TypeError) as exc:  # not a riskpool manifest, or one edited out of shape
        raise ScenarioError([Problem("MANIFEST", str(manifest), f"not a readable riskpool manifest ({type(exc).__name__}: {exc})")]) from None
    for line in report.warnings:
        print(f"warning: {line}", file=sys.stderr)
    for line in report.notes:
        print(f"note: {line}", file=sys.stderr)
    if report.identical:
        typer.echo("identical")
        return
    for line in report.problems:
        typer.echo(f"differs: {line}")
    raise typer.Exit(1)


def _points(text: str) -> int | None:
    """``--points``: a count of at least 1, or ``all`` (None)."""
    if text.strip().lower() == "all":
        return None
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise ScenarioError([Problem("points", text, "a number of points (1 or more) or all")])
    return count


@app.command()
def report(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="A result folder (the one holding manifest.json).")],
    lang: Annotated[str, typer.Option(help="Language of the report: zh (Chinese) or en (English).")] = "en",
    out: Annotated[Optional[Path], typer.Option(help="HTML file to write (default: DIR/report.html, DIR/report.zh.html in Chinese); "
                                                     "FILE.xlsx writes a run's Excel workbook instead.")] = None,
) -> None:
    """Write a self-contained HTML report of a result folder (to read, or print to PDF), or a run's Excel workbook."""
    from . import api as rp

    try:
        path = rp.write_report(folder, lang, out)
    except OSError as exc:
        raise ScenarioError([Problem("out", str(out or folder), f"cannot write the report there ({exc.strerror or exc})")]) from None
    typer.echo(str(path))


@app.command()
def trace(
    source: ScenarioArg = None,
    path: Annotated[int, typer.Option("--path", min=0, help="Path number K (0-based), as in paths.parquet.")] = 0,
    seed: Annotated[Optional[int], typer.Option(help="Root seed (default: the scenario's).")] = None,
    set_: SetOpt = None,
    out: Annotated[Path, typer.Option(help="FILE.csv or FILE.parquet for the event log.")] = Path("trace.csv"),
) -> None:
    """Write the event engine's log of one path: every payment, queue, clawback and balance."""
    from . import api as rp
    from .events import write_trace_csv

    s = _load(source, set_, seed=seed)
    if out.suffix not in (".csv", ".parquet"):
        raise ScenarioError([Problem("out", str(out), "must end in .csv or .parquet")])
    found = rp.trace(s, path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        atomic_write(out, lambda p: write_trace_csv(found.log, p))
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(found.rows())
        atomic_write(out, lambda p: pq.write_table(table, p))
    typer.echo(f"{len(found.log.events):,} events of path {path} (seed {found.seed}) written to {out}")


@app.command()
def size(
    source: ScenarioArg = None,
    target: Annotated[float, typer.Option(help="Sufficiency to reach, e.g. 0.95.")] = 0.95,
    node: Annotated[Optional[str], typer.Option(help="Size one fund node (its fund and top-up), judged by its own shortfalls.")] = None,
    tier: Annotated[Optional[str], typer.Option(help="Size the funds of one tier (province, city, county), judged by that tier.")] = None,
    paths: Annotated[int, typer.Option(min=1, help="Paths per evaluation.")] = 2000,
    seed: Annotated[Optional[int], typer.Option(help="Root seed (default: the scenario's).")] = None,
    set_: SetOpt = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes per evaluation.")] = 1,
    keep_leverage: Annotated[bool, typer.Option(help="Keep the leverage cap while sizing (lending then grows with the funds).")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
    out: Annotated[Optional[Path], typer.Option(help="Folder for size.json and manifest.json (for report and verify).")] = None,
) -> None:
    """How much money is enough: the smallest scale of the funds reaching the target sufficiency.

    The leverage cap is lifted while sizing unless --keep-leverage: the answer is the capital
    that carries all the demand for loans.
    """
    from . import api as rp
    from .study.sizing import MAX_SCALE

    if node is not None and tier is not None:
        raise ScenarioError([Problem("node/tier", f"{node}/{tier}", "give one of --node and --tier, not both")])
    base = _load(source, set_, seed=seed)
    with _ProgressBar(True, "scales tried") as progress:
        answer = rp.size(base, target, node=node, tier=tier, paths=paths, workers=workers, keep_leverage=keep_leverage,
                         out=out, progress=progress)
    if json_:
        sys.stdout.write(json_text(answer.as_dict()))
        return
    console = results_console()
    if answer.scale is None:
        console.print(f"{answer.what}: sufficiency {target:.1%} is not reached even with the funds scaled "
                      f"{MAX_SCALE:.0f}x (a fund that receives claims may have no money to scale).")
        return
    console.print(
        f"{answer.what}: sufficiency reaches {target:.1%} at {answer.scale:.3f}x the current funds "
        f"(95 % interval {answer.scale_low:.3f}x to {_fmt_scale(answer.scale_high)}), i.e. "
        f"{answer.capital_needed / 1e6:,.1f} CNY m of initial capital against {answer.capital_now / 1e6:,.1f} CNY m now "
        f"(top-ups scaled alike). Estimated sufficiency there {answer.sufficiency:.2%} ± {answer.sufficiency_se:.2%}; "
        f"{answer.paths:,} paths, seed {answer.seed}, {answer.evaluations} runs on common random numbers"
        + ("." if keep_leverage else "; leverage cap lifted, so all demand for loans is met.")
    )


@app.command()
def sensitivity(
    source: ScenarioArg = None,
    range_: Annotated[Optional[list[str]], typer.Option("--range", help="Parameter PATH=LO:HI (uniform).")] = None,
    samples: Annotated[int, typer.Option(min=2, help="Sobol base sample N: N x (parameters + 2) points.")] = 64,
    paths: PointPathsOpt = None,
    seed: PointSeedOpt = None,
    set_: SetOpt = None,
    workers: WorkersOpt = 1,
    dask_local: DaskLocalOpt = None,
    scheduler: SchedulerOpt = None,
    out: Annotated[Path, typer.Option(help="Folder for the points store, sensitivity.parquet and the bar chart.")] = Path("sensitivity"),
) -> None:
    """Sobol first-order and total indices of p_shortfall and mean fund payout (SALib)."""
    from rich.table import Table

    from . import api as rp
    from .study.backends import check_choice
    from .study.sensitivity import CHART_FILE, INDICES_FILE, parse_range

    check_choice(workers, dask_local, scheduler)
    ranges = {path: (low, high) for path, low, high in (parse_range(r) for r in range_ or [])}
    base = _load(source, set_, paths, seed)
    with _ProgressBar(True, "points") as progress:
        result = rp.sensitivity(base, ranges, samples=samples, out=out, workers=workers, dask_local=dask_local,
                                scheduler=scheduler, progress=progress)
    view = Table(title=f"Sobol indices ({samples} x {len(ranges) + 2} points, {base.simulation.paths:,} paths each)")
    for col in ("output", "parameter", "S1", "± 95%", "ST", "± 95% "):
        view.add_column(col, justify="left" if col in ("output", "parameter") else "right")
    for row in result.indices.itertuples(index=False):
        view.add_row(row.output, row.parameter, f"{row.S1:.3f}", f"{row.S1_conf:.3f}", f"{row.ST:.3f}", f"{row.ST_conf:.3f}")
    results_console().print(view)
    results_console().print(f"written: {out / INDICES_FILE}, {out / CHART_FILE}")


@app.command()
def calibrate(
    history: Annotated[Path, typer.Argument(help="CSV of year, at_risk, defaults (and optionally group).")],
    recoveries: Annotated[Optional[Path], typer.Option(help="CSV of recovery (and optionally disposal_months) per disposed loan.")] = None,
    base: Annotated[Optional[str], typer.Option(help="Scenario the fitted values go into (default: the bundled baseline).")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Write the calibrated scenario (TOML) here.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the estimates as JSON.")] = False,
) -> None:
    """Fit PD and asset correlation (Vasicek, maximum likelihood) and the recovery and delay laws from a fund's history."""
    from . import api as rp

    result = rp.calibrate(history, recoveries)
    if json_:
        sys.stdout.write(json_text({"loan_years": result.loan_years, "defaults": result.defaults, "years": result.years,
                                    "estimates": result.rows()}))
    else:
        console = results_console()
        table = Table(title=f"Calibration: {result.loan_years:,} loan-years, {result.defaults:,} defaults, "
                            f"{result.years} years (95 % intervals: profile likelihood for PD and correlation)")
        for col in ("parameter", "estimate", "95 % interval", "note"):
            table.add_column(col, justify="right" if col in ("estimate", "95 % interval") else "left")
        for row in result.rows():
            interval = "-" if row["low"] is None else f"{row['low']:.4g} – {row['high']:.4g}"
            table.add_row(row["parameter"], "-" if row["estimate"] is None else f"{row['estimate']:.4g}", interval,
                          row["note"])
        console.print(table)
    if out is not None:
        s = rp.calibrated(_load(base, None), result)
        atomic_write(out, lambda p: p.write_text(rp.to_toml(s, f"calibrated from {history.name} by riskpool calibrate"),
                                                 encoding="utf-8"))
        print(f"calibrated scenario written to {out}", file=sys.stderr)


@app.command("app")
def app_command(
    address: Annotated[str, typer.Option(help="Address to listen on; the default keeps the app on this machine.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8501,
) -> None:
    """Start the analysts' web app (Streamlit, Chinese and English) at http://ADDRESS:PORT."""
    from .webapp.launch import serve

    raise typer.Exit(serve(address, port))


def _fmt_scale(x: float | None) -> str:
    return "beyond reach" if x is None else f"{x:.3f}x"


def existing_folder(folder: Path) -> Path:
    """``folder``, or the nearest folder above it that exists (whose disk it will be on)."""
    folder = folder.absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


class _ProgressBar:
    """Progress on standard error: a rich bar in a terminal once a run has taken a second; in a
    log (not a terminal) a line every ``LOG_EVERY`` seconds. A sweep that resumes says first how
    many of its points were already stored."""

    LOG_EVERY = 5.0  # seconds between progress lines in a log

    def __init__(self, enabled: bool, unit: str = "paths"):
        self.enabled = enabled
        self.terminal = err.is_terminal
        self.unit = unit
        self.start = self.logged = time.monotonic()
        self.first = True
        self.bar = None
        self.task = None

    def __enter__(self):
        return self.update

    def update(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.first:
            self.first = False
            if done and self.unit == "points":
                print(f"resuming: {done:,} of {total:,} points already stored", file=sys.stderr, flush=True)
        now = time.monotonic()
        if not self.terminal:
            if now - self.logged >= self.LOG_EVERY:
                self.logged = now
                of = f"/{total:,} ({done / total:.0%})" if total else ""
                print(f"{self.unit}: {done:,}{of} after {now - self.start:.0f} s", file=sys.stderr, flush=True)
            return
        if self.bar is None:
            if now - self.start < 1.0:
                return
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn(self.unit), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                                TimeRemainingColumn(), console=err, transient=True)
            self.bar.start()
            self.task = self.bar.add_task("run", total=total or None)
        self.bar.update(self.task, completed=done)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()


def results_console() -> Console:
    """The console of results: in a terminal its width; in a file or a pipe wide enough that no
    table is ever cut (rich would cut it to 80 columns)."""
    return Console() if sys.stdout.isatty() else Console(width=LOG_WIDTH)


# the library names its parameters; the command line says which option (or argument) sets each
FLAGS = {"set": "--set", "lang": "--lang", "folder": "DIR", "out": "--out", "workers": "--workers",
         "dask_local": "--dask-local", "scheduler": "--scheduler", "grid": "--grid", "values": "--values",
         "axes": "--grid/--values", "range": "--range", "ranges": "--range", "node": "--node", "tier": "--tier",
         "target": "--target", "points": "--points", "path": "--path"}


def as_flags(problem: Problem) -> Problem:
    """``problem`` with the parameter its path starts with named as the command line's option."""
    head, space, rest = problem.path.partition(" ")
    named = "/".join(FLAGS.get(part, part) for part in head.split("/"))
    return Problem(named + space + rest, problem.value, problem.allowed)


# typer ships its own copy of click; its base exception is found without importing a private module
_CLICK_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def main(argv: list[str] | None = None) -> int:
    """Entry point: maps bad input to exit 2 and internal errors to exit 1, without tracebacks."""
    _notices_to_stderr()
    try:
        code = app(args=argv, standalone_mode=False)
    except ScenarioError as exc:
        for problem in exc.problems:
            print(f"error: {as_flags(problem)}", file=sys.stderr)  # one physical line per problem
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        print("aborted", file=sys.stderr)
        return 130
    except _CLICK_ERROR as exc:  # usage errors: unknown option, bad option value
        exc.show()
        return 2
    except BrokenPipeError:  # output piped into a reader that stopped, e.g. `| head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback for users
        if os.environ.get("RISKPOOL_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (set RISKPOOL_DEBUG=1 for a traceback)", file=sys.stderr)
        return 1
    return code if isinstance(code, int) else 0


def _notices_to_stderr() -> None:
    """The library's notices (riskpool's loggers: the Dask dashboard, a scheduler without workers) as lines on stderr."""
    logger = logging.getLogger("riskpool")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
