"""`riskpool trace`: the event log of a path replays to the fast engine's balances."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from riskpool import scenario
from riskpool.cli import main
from riskpool.engine import simulate_blocks
from riskpool.fates import BLOCK_PATHS


def tolerance(value: float) -> float:
    return max(1e-6, 1e-12 * abs(value))


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("path_number", [0, BLOCK_PATHS + 3])
def test_trace_replays_to_the_fast_engine(tmp_path: Path, capsys: pytest.CaptureFixture[str], path_number: int) -> None:
    out = tmp_path / "t.csv"
    assert main(["trace", "--path", str(path_number), "--out", str(out)]) == 0, capsys.readouterr().err
    rows = read_csv(out)
    s = scenario.load(None)
    block, k = divmod(path_number, BLOCK_PATHS)
    fast = simulate_blocks(s, s.simulation.seed, [(block, BLOCK_PATHS)])
    nodes = list(fast.structure.node_ids)
    running = {}
    month_end = np.full((fast.structure.horizon_months, len(nodes)), np.nan)
    for row in rows:
        if not row["node"] or row["balance"] == "":
            continue
        j = nodes.index(row["node"])
        running[j] = running.get(j, 0.0) + float(row["amount"])
        assert abs(running[j] - float(row["balance"])) <= tolerance(running[j]), row
        if int(row["month"]) >= 0:
            month_end[int(row["month"]), j] = float(row["balance"])
    # carry balances forward through months without events
    for j in range(len(nodes)):
        for m in range(month_end.shape[0]):
            if np.isnan(month_end[m, j]):
                month_end[m, j] = month_end[m - 1, j] if m else fast.structure.node_initial[j]
    expected = fast.balance[k]
    assert np.all(np.abs(month_end - expected) <= np.maximum(1e-6, 1e-12 * np.abs(expected)))


def test_trace_parquet_and_bad_suffix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.parquet"
    assert main(["trace", "minimal", "--path", "2", "--out", str(out)]) == 0
    table = pq.read_table(out)
    assert table.column_names[:7] == ["month", "event", "loan", "node", "party", "amount", "balance"]
    assert main(["trace", "minimal", "--out", str(tmp_path / "t.txt")]) == 2
    assert "--out" in capsys.readouterr().err
