"""What a result folder holds, read from disk or from the files' bytes in memory.

The report reads a folder through this, so that a run still in memory (``Run.report``) and a
folder on disk give the same page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .digests import sha256_of


class Contents:
    """The files of a result folder, by name: a folder on disk, or a mapping of names to bytes."""

    def __init__(self, where: Path | Mapping[str, bytes]):
        self.where = where if isinstance(where, Mapping) else Path(where)

    def __str__(self) -> str:
        return "(files in memory)" if isinstance(self.where, Mapping) else str(self.where)

    def has(self, name: str) -> bool:
        return name in self.where if isinstance(self.where, Mapping) else (self.where / name).is_file()

    def _source(self, name: str) -> Any:
        return pa.BufferReader(self.where[name]) if isinstance(self.where, Mapping) else self.where / name

    def text(self, name: str) -> str:
        data = self.where[name] if isinstance(self.where, Mapping) else (self.where / name).read_bytes()
        return data.decode("utf-8")

    def json(self, name: str) -> Any:
        return json.loads(self.text(name))

    def table(self, name: str, columns: list[str] | None = None) -> pa.Table:
        return pq.read_table(self._source(name), columns=columns)

    def schema(self, name: str) -> pa.Schema:
        return pq.read_schema(self._source(name))

    def sha256(self, name: str) -> str:
        return sha256_of(self.where[name] if isinstance(self.where, Mapping) else self.where / name)
