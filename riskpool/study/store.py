"""The results store of a sweep: ``DIR/sweep.duckdb``, written a point at a time, resumable.

Tables: ``sweep_meta`` (the sweep's specification and its hash), ``points`` (one row per grid
point: the swept values, then fund-wide and tier figures), ``nodes`` (one row per point and
fund node) and ``paths`` (one row per point and path: whether the fund ran short and its net
payout, what the standard error of a difference between two points needs, common random
numbers pairing the paths). A point's rows are inserted in one transaction, so a killed sweep leaves complete
points or none; a rerun skips the points already stored. A store is bound to one specification:
another scenario, grid, seed or path count is refused, never mixed in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ..files.atomic import atomic_write
from ..scenario import Problem, ScenarioError

POINTS_FILE, NODES_FILE, PATHS_FILE = "sweep.parquet", "sweep_nodes.parquet", "sweep_paths.parquet"  # the exported tables
POINT_FIGURES = (
    "p_shortfall", "p_shortfall_se", "payout_net_mean", "required_capital_q95",
    "unpaid_mean", "p_shortfall_province", "p_shortfall_city", "p_shortfall_county",
)
NODE_FIGURES = (
    "p_shortfall", "p_shortfall_se", "first_shortfall_month_p50", "payout_net_mean",
    "unpaid_mean", "required_capital_q95", "required_capital_q99",
)


class Store:
    """A DuckDB file holding the finished points of one sweep specification.

    SQL text is built from this module's names and the swept paths only (a path the scenario
    model does not know makes every point invalid, and such a sweep is refused before a store is
    opened); values are always bound as ``?`` parameters. Hence the ``nosec B608`` marks.
    """

    def __init__(self, folder: Path | None, spec: dict[str, Any], axis_types: dict[str, str]):
        """A store in ``folder/sweep.duckdb``, or in memory (nothing resumable) when ``folder`` is None."""
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.axes = list(axis_types)
        self.con = duckdb.connect(":memory:" if folder is None else str(folder / "sweep.duckdb"))
        self._bind(spec, axis_types)

    def _bind(self, spec: dict[str, Any], axis_types: dict[str, str]) -> None:
        text = json.dumps(spec, sort_keys=True)
        self.con.execute("CREATE TABLE IF NOT EXISTS sweep_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        row = self.con.execute("SELECT value FROM sweep_meta WHERE key = 'spec'").fetchone()
        if row is not None and row[0] != text:
            self.close()
            raise ScenarioError([Problem(
                "out", str(self.folder),
                "holds a sweep of another scenario, grid, seed or path count; choose a new folder "
                "(results of different sweeps are never mixed)",
            )])
        axis_cols = ", ".join(f'"{name}" {kind}' for name, kind in axis_types.items())
        figures = ", ".join(f"{f} DOUBLE" for f in POINT_FIGURES)
        node_figures = ", ".join(f"{f} DOUBLE" for f in NODE_FIGURES)
        self.con.execute("BEGIN TRANSACTION")
        self.con.execute(f"CREATE TABLE IF NOT EXISTS points (point INTEGER PRIMARY KEY, {axis_cols}{', ' if axis_cols else ''}{figures}, problem VARCHAR)")
        self.con.execute(f"CREATE TABLE IF NOT EXISTS nodes (point INTEGER, node VARCHAR, tier VARCHAR, {node_figures}, PRIMARY KEY (point, node))")
        self.con.execute("CREATE TABLE IF NOT EXISTS paths (point INTEGER, path INTEGER, shortfall BOOLEAN, payout_net DOUBLE, "
                         "PRIMARY KEY (point, path))")
        if row is None:
            self.con.execute("INSERT INTO sweep_meta VALUES ('spec', ?)", [text])
        self.con.execute("COMMIT")

    def done(self) -> set[int]:
        return {r[0] for r in self.con.execute("SELECT point FROM points").fetchall()}

    def add(self, point: int, values: dict[str, Any], figures: dict[str, Any], nodes: list[dict[str, Any]],
            paths: pa.Table | None = None) -> None:
        """Insert one finished point, its node rows and its path rows (columns shortfall, payout_net) atomically."""
        cols = ["point", *self.axes, *POINT_FIGURES]
        row = [point, *(values[a] for a in self.axes), *(figures[f] for f in POINT_FIGURES)]
        names = ", ".join(f'"{c}"' for c in cols)
        marks = ", ".join("?" for _ in cols)
        node_rows = [[point, n["node"], n["tier"], *(n[f] for f in NODE_FIGURES)] for n in nodes]
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.execute(f"INSERT INTO points ({names}) VALUES ({marks})", row)  # nosec B608
            if node_rows:
                node_marks = ", ".join("?" for _ in node_rows[0])
                self.con.executemany(f"INSERT INTO nodes VALUES ({node_marks})", node_rows)  # nosec B608
            if paths is not None:
                rows = pa.table({"point": pa.array([point] * len(paths), pa.int32()),
                                 "path": pa.array(range(len(paths)), pa.int32()),
                                 "shortfall": paths["shortfall"], "payout_net": paths["payout_net"]})
                self.con.register("new_paths", rows)
                self.con.execute("INSERT INTO paths SELECT * FROM new_paths")
                self.con.unregister("new_paths")
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise

    def add_invalid(self, point: int, values: dict[str, Any], problem: str) -> None:
        """Record a point that is not a valid scenario: empty figures and the reason."""
        cols = ["point", *self.axes, "problem"]
        names = ", ".join(f'"{c}"' for c in cols)
        marks = ", ".join("?" for _ in cols)
        self.con.execute(f"INSERT INTO points ({names}) VALUES ({marks})",  # nosec B608
                         [point, *(values[a] for a in self.axes), problem])

    def table(self, name: str) -> pa.Table:
        order = {"points": "point", "nodes": "point, node", "paths": "point, path"}[name]
        return self.con.sql(f"SELECT * FROM {name} ORDER BY {order}").to_arrow_table()  # nosec B608

    def export(self) -> dict[str, Path]:
        """Write ``sweep.parquet`` (points) and ``sweep_nodes.parquet`` beside the store (nothing
        for a store in memory)."""
        files: dict[str, Path] = {}
        if self.folder is None:
            return files
        for name, table in ((POINTS_FILE, self.table("points")), (NODES_FILE, self.table("nodes")),
                            (PATHS_FILE, self.table("paths"))):
            path = self.folder / name
            atomic_write(path, lambda p, t=table: pq.write_table(t, p, compression="zstd"))
            files[name] = path
        return files

    def close(self) -> None:
        self.con.close()
