"""Digests of result data: what a result file holds, independent of how its bytes were written.

A result file's *data digest* is a SHA-256 over its content, not its bytes: for a parquet
table, each column's name, type, validity and values (strings as UTF-8, numbers as
little-endian float64 or int64); for JSON, the canonical text (sorted keys, compact). Two
writes of the same data by different pyarrow versions have different bytes but the same data
digest. ``sha256_of`` is the digest of the bytes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def column_digest(column: pa.ChunkedArray | pa.Array) -> str:
    """SHA-256 of one column's type, validity and values."""
    return _digest(column.type, lambda: [column])


def _digest(kind: pa.DataType, pieces) -> str:
    """The digest of a column given as consecutive non-empty pieces: ``pieces()`` yields them,
    once for the validity and once for the values, so that one piece is in memory at a time."""
    digest = hashlib.sha256(str(kind).encode())
    for piece in pieces():
        digest.update(np.asarray(_array(piece).is_valid(), dtype=np.uint8).tobytes())
    for i, piece in enumerate(pieces()):
        digest.update(_value_bytes(_array(piece), first=i == 0))
    return digest.hexdigest()


def _array(piece: pa.ChunkedArray | pa.Array) -> pa.Array:
    return piece.combine_chunks() if isinstance(piece, pa.ChunkedArray) else piece


def _value_bytes(array: pa.Array, first: bool) -> bytes:
    """Strings as UTF-8 joined by NUL (a NUL also between pieces), numbers as float64 or int64."""
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        text = "\0".join("" if v is None else v for v in array.to_pylist())
        return (text if first else "\0" + text).encode("utf-8")
    if pa.types.is_boolean(array.type):
        return np.asarray(array.fill_null(False), dtype=np.uint8).tobytes()
    if pa.types.is_integer(array.type):
        return np.asarray(array.fill_null(0), dtype="<i8").tobytes()
    return np.asarray(array.fill_null(0.0), dtype="<f8").tobytes()


def data_digest(source: Path | bytes, name: str | None = None) -> dict[str, Any]:
    """``{"sha256": ..., "rows": ..., "columns": {name: sha256}}`` of a parquet table (read a row
    group of one column at a time, so that large tables need little memory), or ``{"sha256": ...}``
    of the canonical JSON. ``source`` is a file or its bytes (then ``name`` says which kind)."""
    name = name or Path(source).name
    if name.endswith(".parquet"):
        table = pq.ParquetFile(pa.BufferReader(source) if isinstance(source, bytes) else source)
        schema = table.schema_arrow
        columns = {}
        for column in schema.names:
            groups = [g for g in range(table.num_row_groups) if table.metadata.row_group(g).num_rows]
            columns[column] = _digest(schema.field(column).type,
                                      lambda n=column, gs=groups: (table.read_row_group(g, columns=[n]).column(0) for g in gs))
        whole = hashlib.sha256(json.dumps(columns, sort_keys=False).encode()).hexdigest()
        return {"sha256": whole, "rows": table.metadata.num_rows, "columns": columns}
    text = source.decode("utf-8") if isinstance(source, bytes) else source.read_text(encoding="utf-8")
    return {"sha256": hashlib.sha256(canonical_json(json.loads(text)).encode()).hexdigest()}


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_of(source: Path | bytes) -> str:
    """SHA-256 of a file's bytes (read a MiB at a time), or of bytes."""
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest()
    digest = hashlib.sha256()
    with source.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
