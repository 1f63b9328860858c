"""Result files of docs/model.md section 8: summary.json, paths/nodes/months.parquet (banks.parquet
with banks), manifest.json.

Every file is written to a temporary name and renamed, so a folder holds complete files or
none. manifest.json is the commit marker of a run folder: removed before the first result file
is written and written after the last, so a folder with a manifest holds exactly the files it
lists, and one without holds an interrupted run (docs/reliability.md). Parquet files are written
from pyarrow tables without pandas metadata or timestamps, so the same run gives byte-identical
files.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..engine import Results
from ..fates import BLOCK_PATHS, STREAMS
from ..ledger import BANK_COLUMNS, PATH_COLUMNS
from ..metrics import QUANTILE_METHOD, quantile
from ..structure import SLOT_TIERS, Structure
from ..scenario import Scenario
from ..summary import Summary
from .atomic import atomic_write, json_text, remove_stale_temporaries
from .manifest import manifest_of, write_manifest

RESULT_FILES = ("summary.json", "paths.parquet", "nodes.parquet", "months.parquet")
BANK_FILE = "banks.parquet"  # written only for a scenario with [[banks]]
COUNT_COLUMNS = {"n_originated", "n_defaults"}
# typed, not inferred: with no covered loan (no lending) every reserve ratio is null
MONTH_TYPES = {"month": pa.int32(), "reserve_ratio": pa.float64()}


CHUNK_PATHS = 20_000  # paths per row group of paths/nodes.parquet: tables are built and written a chunk at a time
CHUNK_VALUES = 2**21  # float64 values of one node's balances read at once for the months table (16 MiB)


def path_chunks(n_paths: int) -> list[slice]:
    return [slice(p, min(p + CHUNK_PATHS, n_paths)) for p in range(0, n_paths, CHUNK_PATHS)]


def path_columns(st: Structure) -> tuple[str, ...]:
    """The ledger's per-path figures written to paths.parquet: those of an option only when the
    scenario uses it (``capped`` with a cap, the pool's with a borrowers' pool)."""
    used = {"capped": st.caps, "loss_pool": st.pool, "pool_in": st.pool, "pool_final": st.pool}
    return tuple(name for name in PATH_COLUMNS if used.get(name, True))


def paths_table(res: Results, rows: slice = slice(None)) -> pa.Table:
    """One row per path (of ``rows``): lending, losses by party net of clawbacks, shortfall flags."""
    start, stop, _ = rows.indices(res.n_paths)
    tier = np.asarray(res.structure.node_tier)
    fund_first = res.group_earliest(np.ones(len(tier), dtype=bool), rows)
    columns: dict[str, Any] = {"path": pa.array(np.arange(start, stop, dtype=np.int64))}
    for name in path_columns(res.structure):
        values = res.path_column(name, rows)
        if name in COUNT_COLUMNS:
            columns[name] = pa.array(values.astype(np.int64))
        elif name == "guarantor_exhausted":
            columns[name] = pa.array(values > 0)
        else:
            columns[name] = pa.array(values)
    columns["shortfall"] = pa.array(fund_first >= 0)
    columns["first_shortfall_month"] = _nullable_month(fund_first)
    for t in reversed(range(3)):
        columns[f"shortfall_{SLOT_TIERS[t]}"] = pa.array(res.group_earliest(tier == t, rows) >= 0)
    if res.sampling.weighted:  # plain runs keep their columns as they always were
        columns["weight"] = pa.array(res.weight[rows])
    return pa.table(columns)


def nodes_table(res: Results, rows: slice = slice(None)) -> pa.Table:
    """One row per path (of ``rows``) and fund node."""
    st = res.structure
    start, stop, _ = rows.indices(res.n_paths)
    n, k = stop - start, st.n_nodes

    def figure(name: str) -> np.ndarray:  # path-major: all nodes of a path, then the next path
        return np.column_stack([res.node_figure(name, j, rows) for j in range(k)]).ravel()

    return pa.table({
        "path": pa.array(np.repeat(np.arange(start, stop, dtype=np.int64), k)),
        "node": pa.array(list(st.node_ids) * n, type=pa.string()),
        "tier": pa.array(st.node_tier_names * n, type=pa.string()),
        "first_shortfall_month": _nullable_month(figure("first_shortfall_month")),
        "payout_net": pa.array(figure("payout_net")),
        "unpaid": pa.array(figure("unpaid")),
        "required_capital": pa.array(figure("required_capital")),
        "final_balance": pa.array(figure("final_balance")),
        **({"capped": pa.array(figure("capped"))} if (st.node_annual_cap > 0).any() else {}),
    })


def banks_table(res: Results, rows: slice = slice(None)) -> pa.Table:
    """One row per path (of ``rows``) and bank (docs/model.md section 6.11)."""
    banks = res.structure.banks
    start, stop, _ = rows.indices(res.n_paths)

    def figure(name: str) -> np.ndarray:  # path-major: all banks of a path, then the next path
        return np.column_stack([res.bank_figure(name, k, rows) for k in range(banks.n)]).ravel()

    columns: dict[str, Any] = {
        "path": pa.array(np.repeat(np.arange(start, stop, dtype=np.int64), banks.n)),
        "bank": pa.array(list(banks.ids) * (stop - start), type=pa.string()),
    }
    for name in BANK_COLUMNS:
        if name == "first_shortfall_month":
            columns[name] = _nullable_month(figure(name))
        elif name.startswith("n_") or name in ("breaker_trips", "suspended", "refused"):
            columns[name] = pa.array(figure(name).astype(np.int64))
        else:
            columns[name] = pa.array(figure(name))
    return pa.table(columns)


MONTH_COLUMNS = ("month", "node", "level", "tier", "balance_p05", "balance_p50", "balance_p95", "reserve_ratio")


def months_table(res: Results) -> pa.Table:
    """Quantile bands of month-end balances and the reserve ratio by month, for nodes, tiers, fund.

    The reserve ratio is the mean balance over the mean outstanding principal of the loans the
    node (or group) covers: a ratio of means over paths, like the FDIC's fund over insured deposits.
    Both means and the quantiles weigh each path by its likelihood ratio (1 under plain sampling).
    Balances are read a few months at a time, each node's once, and summed into the tiers and
    the whole fund node after node, so that a large run never holds them all.
    """
    st = res.structure
    tier = np.asarray(st.node_tier)
    groups = [(node, "node", SLOT_TIERS[tier[j]], np.arange(st.n_nodes) == j) for j, node in enumerate(st.node_ids)]
    groups += [(SLOT_TIERS[t], "tier", SLOT_TIERS[t], tier == t) for t in reversed(range(3)) if (tier == t).any()]
    groups.append(("fund", "fund", "", np.ones(st.n_nodes, dtype=bool)))
    covered = {name: res.covered[:, _outermost(st.node_covers, members)].sum(axis=1) for name, _, _, members in groups}
    found: dict[str, dict[str, list]] = {name: {k: [] for k in MONTH_COLUMNS} for name, *_ in groups}
    sums = [(name, members) for name, level, _, members in groups if level != "node"]
    step = max(1, CHUNK_VALUES // max(1, res.n_paths))
    for span in (range(m, min(m + step, st.horizon_months)) for m in range(0, st.horizon_months, step)):
        totals = {name: np.zeros((len(span), res.n_paths)) for name, _ in sums}
        for j, node in enumerate(st.node_ids):
            part = res.node_balance(j, span)  # (months of the span, paths)
            _add_bands(found[node], part, res.weight, covered[node], span)
            for name, members in sums:
                if members[j]:
                    totals[name] += part
        for name, _ in sums:
            _add_bands(found[name], totals.pop(name), res.weight, covered[name], span)
    columns: dict[str, list] = {k: [] for k in MONTH_COLUMNS}
    for name, level, tier_name, _ in groups:
        months = found[name]["month"]
        found[name].update(node=[name] * len(months), level=[level] * len(months), tier=[tier_name] * len(months))
        for key in MONTH_COLUMNS:
            columns[key].extend(found[name][key])
    return pa.table({k: pa.array(v, type=MONTH_TYPES.get(k)) for k, v in columns.items()})


def _add_bands(rows: dict[str, list], balance: np.ndarray, weight: np.ndarray, covered: np.ndarray,
               span: range) -> None:
    """The months of ``span`` of one group: balance quantiles over paths and the reserve ratio."""
    by_path = np.ascontiguousarray(balance.T)  # (paths, months of the span)
    bands = quantile(by_path, [0.05, 0.5, 0.95], axis=0, weight=weight)
    total = np.cumsum(weight[:, None] * by_path, axis=0)[-1]  # a running sum: the same bits for any span
    rows["month"].extend(span)
    for key, band in zip(("balance_p05", "balance_p50", "balance_p95"), bands):
        rows[key].extend(band.tolist())
    rows["reserve_ratio"].extend([float(b / c) if c > 0 else None for b, c in zip(total, covered[span.start:span.stop])])


def _outermost(covers: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Members not nested under another member, so that covered loans are counted once."""
    idx = np.flatnonzero(members)
    top = np.zeros_like(members)
    for j in idx:
        nested = [k for k in idx if k != j and np.all(covers[k] >= covers[j])
                  and (covers[k].sum() > covers[j].sum() or k < j)]
        top[j] = not nested
    return top


def _nullable_month(first: np.ndarray) -> pa.Array:
    return pa.array(first.astype(np.int32), mask=first < 0, type=pa.int32())


# --------------------------------------------------------------------------- files


def writers(res: Results, summary: Summary) -> dict[str, Callable[[Path | BinaryIO], None]]:
    """Each result file's writer: it writes the file to a path or a binary file object."""
    return {
        "summary.json": lambda sink: _write_bytes(sink, json_text(summary.to_json()).encode("utf-8")),
        "paths.parquet": lambda sink: write_in_chunks(res, paths_table, sink),
        "nodes.parquet": lambda sink: write_in_chunks(res, nodes_table, sink),
        "months.parquet": lambda sink: pq.write_table(months_table(res), sink, compression="zstd"),
        **({BANK_FILE: lambda sink: write_in_chunks(res, banks_table, sink)} if res.structure.banks.n else {}),
    }


def result_files(s: Scenario) -> tuple[str, ...]:
    """The result files of a run of ``s``, as its manifest lists them."""
    return (*RESULT_FILES, BANK_FILE) if s.banks else RESULT_FILES


def _write_bytes(sink: Path | BinaryIO, data: bytes) -> None:
    if isinstance(sink, Path):
        sink.write_bytes(data)
    else:
        sink.write(data)


def write_run(res: Results, summary: Summary, out: Path, command: list[str],
              started: datetime | None = None) -> dict[str, Any]:
    """Write every result file, then the manifest into ``out``; returns the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").unlink(missing_ok=True)  # the older run's files stop being a complete set
    remove_stale_temporaries(out, (*RESULT_FILES, BANK_FILE, "manifest.json"))
    (out / BANK_FILE).unlink(missing_ok=True)  # an older run's banks are not this run's
    files = writers(res, summary)
    for name, write in files.items():
        atomic_write(out / name, write)
    return write_manifest(out, run_record(res), list(files), command, started)


def run_files(res: Results, summary: Summary, command: list[str]) -> dict[str, bytes]:
    """The bytes of every result file and of the manifest, made in memory: what ``write_run``
    would write (but the manifest's times)."""
    files = {}
    for name, write in writers(res, summary).items():
        buffer = io.BytesIO()
        write(buffer)
        files[name] = buffer.getvalue()
    manifest = manifest_of(run_record(res), files, command, None)
    return {**files, "manifest.json": json_text(manifest).encode("utf-8")}


def run_record(res: Results) -> dict[str, Any]:
    """What an auditor needs to reproduce the run (docs/model.md section 8; docs/auditing.md)."""
    return {
        "scenario": res.scenario.canonical(),
        "scenario_sha256": res.scenario.sha256(),
        "seed": res.seed,
        "paths": res.n_paths,
        "randomness": {
            "bit_generator": "PCG64",
            "seed_sequence_entropy": res.seed,
            "block_paths": BLOCK_PATHS,
            "block_seed": "SeedSequence(entropy=seed, spawn_key=(block,)).spawn(len(streams))",
            "streams": list(STREAMS),
        },
        "quantile_method": QUANTILE_METHOD,
        "sampling": res.sampling.manifest(),
    }


def write_in_chunks(res: Results, table_of, sink: Path | BinaryIO) -> None:
    """A per-path table written a chunk of paths at a time (one row group each): a run of up to
    CHUNK_PATHS paths gives the bytes that writing the whole table at once gives."""
    writer = None
    try:
        for rows in path_chunks(res.n_paths):
            table = table_of(res, rows)
            writer = writer or pq.ParquetWriter(sink, table.schema, compression="zstd")
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
