"""Determinism (docs/model.md section 2.5): the same seed gives byte-identical result files, whatever the
number of workers or the grouping of RNG blocks into tasks; another seed gives other results.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from riskpool import cli, scenario
from riskpool.engine import Results, simulate
from riskpool.fates import BLOCK_PATHS

MINIMAL = "minimal"
RESULT_FILES = ("summary.json", "paths.parquet", "nodes.parquet", "months.parquet")
N_PATHS = 3 * BLOCK_PATHS + 11  # three full RNG blocks and a partial one
ARRAYS = ("paths", "nodes", "counties", "balance", "covered")


def run_out(out: Path, *args: str) -> dict[str, bytes]:
    """``riskpool run minimal ARGS --out OUT`` in-process; the bytes of every result file."""
    rc = cli.main(["run", MINIMAL, *args, "--out", str(out), "--json"])
    assert rc == 0
    return {name: (out / name).read_bytes() for name in RESULT_FILES}


def assert_same_files(a: dict[str, bytes], b: dict[str, bytes]) -> None:
    for name in RESULT_FILES:
        assert a[name] == b[name], f"{name} differs"


def assert_same_arrays(a: Results, b: Results) -> None:
    assert a.n_paths == b.n_paths
    for name in ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.shape == y.shape, name
        assert np.array_equal(x, y, equal_nan=True), f"{name} differs"


@pytest.fixture(scope="module")
def minimal() -> scenario.Scenario:
    # Small funds, so that shortfalls, queues and the parent tiers are exercised too.
    return scenario.load(MINIMAL, ["funds.scale=0.05"])


@pytest.fixture(scope="module")
def reference(minimal: scenario.Scenario) -> Results:
    return simulate(minimal, paths=N_PATHS, seed=11, workers=1, blocks_per_task=1)


def test_path_count_spans_several_blocks() -> None:
    assert N_PATHS > 3 * BLOCK_PATHS
    assert N_PATHS % BLOCK_PATHS != 0


def test_same_seed_gives_byte_identical_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--paths", "300", "--seed", "5", "--set", "funds.scale=0.05")
    first = run_out(tmp_path / "a", *args)
    second = run_out(tmp_path / "b", *args)
    assert_same_files(first, second)
    capsys.readouterr()


def test_one_or_two_workers_give_byte_identical_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--paths", str(N_PATHS), "--seed", "3", "--set", "funds.scale=0.05")
    one = run_out(tmp_path / "w1", *args, "--workers", "1")
    two = run_out(tmp_path / "w2", *args, "--workers", "2")
    assert_same_files(one, two)
    summary = json.loads(one["summary.json"])
    assert summary["paths"] == N_PATHS
    assert 0 < summary["fund"]["p_shortfall"] < 1  # a run where the outcome varies by path
    capsys.readouterr()


@pytest.mark.parametrize("blocks_per_task", [2, 3, 4, 100])
def test_grouping_of_blocks_into_tasks_does_not_matter(
    minimal: scenario.Scenario, reference: Results, blocks_per_task: int
) -> None:
    res = simulate(minimal, paths=N_PATHS, seed=11, workers=1, blocks_per_task=blocks_per_task)
    assert_same_arrays(reference, res)


def test_default_grouping_matches(minimal: scenario.Scenario, reference: Results) -> None:
    assert_same_arrays(reference, simulate(minimal, paths=N_PATHS, seed=11))


def test_two_workers_with_either_grouping_match(minimal: scenario.Scenario, reference: Results) -> None:
    res = simulate(minimal, paths=N_PATHS, seed=11, workers=2, blocks_per_task=1)
    assert_same_arrays(reference, res)
    res = simulate(minimal, paths=N_PATHS, seed=11, workers=2, blocks_per_task=2)
    assert_same_arrays(reference, res)


def test_first_paths_do_not_depend_on_the_path_count(minimal: scenario.Scenario, reference: Results) -> None:
    # Block b is keyed by (seed, b): running fewer paths gives a prefix of the same paths.
    fewer = simulate(minimal, paths=BLOCK_PATHS + 7, seed=11)
    n = fewer.n_paths
    for name in ("paths", "nodes", "counties", "balance"):
        assert np.array_equal(getattr(fewer, name), getattr(reference, name)[:n]), name


def test_reference_run_is_not_degenerate(reference: Results) -> None:
    assert reference.paths.shape[0] == N_PATHS
    assert np.any(reference.paths != 0)
    # different blocks hold different paths
    assert not np.array_equal(reference.paths[:BLOCK_PATHS], reference.paths[BLOCK_PATHS : 2 * BLOCK_PATHS])


def test_different_seed_gives_different_results(minimal: scenario.Scenario, reference: Results) -> None:
    other = simulate(minimal, paths=N_PATHS, seed=12, workers=1, blocks_per_task=1)
    assert not np.array_equal(reference.paths, other.paths)
    assert not np.array_equal(reference.balance, other.balance)


def test_different_seed_gives_different_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = run_out(tmp_path / "a", "--paths", "300", "--seed", "1")
    b = run_out(tmp_path / "b", "--paths", "300", "--seed", "2")
    for name in RESULT_FILES:
        assert a[name] != b[name], f"{name} is the same for two seeds"
    sa, sb = json.loads(a["summary.json"]), json.loads(b["summary.json"])
    assert (sa["seed"], sb["seed"]) == (1, 2)
    assert sa["scenario_sha256"] != sb["scenario_sha256"]  # the seed is part of the canonical scenario
    assert sa["lending"] != sb["lending"]
    capsys.readouterr()
