"""The ``riskpool`` command line and its output contract (docs/model.md section 8).

Most tests call ``riskpool.cli.main`` in-process (fast); each exit-status class (0, 1, 2) is also
checked through a real ``python -m riskpool`` subprocess.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyarrow.parquet as pq
import pytest

import riskpool
from riskpool import cli, limits, scenario
from riskpool.scenario import Problem, ScenarioError

MINIMAL = "minimal"
RESULT_FILES = ("summary.json", "paths.parquet", "nodes.parquet", "months.parquet")
MINIMAL_NODES = {"hunan": "province", "changsha": "city", "430104": "county"}


# --------------------------------------------------------------------------- helpers


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = cli.main(list(args))
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RISKPOOL_DEBUG", "COLUMNS", "LINES")}
    env.update(extra)
    return env


def run_subprocess(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m riskpool ARGS`` with every standard stream a pipe, as in a script or CI log."""
    return subprocess.run(
        [sys.executable, "-m", "riskpool", *args],
        cwd=cwd,
        env=env or clean_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def minimal_text() -> str:
    return scenario.bundled_path(MINIMAL).read_text(encoding="utf-8")


def replaced(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once in minimal.toml"
    return text.replace(old, new)


TEMP = Path(tempfile.gettempdir())  # where `run` without --out keeps large results


def expected_problems(source: str, overrides: list[str], paths: int | None = None,
                      spool_folder: Path = TEMP) -> list[Problem]:
    """What the library finds wrong with the input the command is given (load, then resources,
    with results too large for memory going to ``spool_folder``'s disk, as `run` does)."""
    try:
        s = scenario.load(source, overrides, simulation__paths=paths)
        limits.check_resources(s, s.simulation.paths, spool_folder=spool_folder)
    except ScenarioError as exc:
        return exc.problems
    pytest.fail(f"the library accepts {source} {overrides}")


def error_lines(err: str) -> list[str]:
    return [line.rstrip() for line in err.splitlines() if line.startswith("error:")]


def assert_reports(err: str, problems: list[Problem], path: str) -> None:
    """One ``error:`` line per problem, each the start of ``error: <path> = <value>: <allowed>``."""
    lines = error_lines(err)
    assert len(lines) == len(problems), err
    for line, problem in zip(lines, problems):
        full = f"error: {problem}"
        assert full.startswith(line), (line, full)  # wrapped output keeps at least the start
        assert line.startswith(f"error: {problem.path}")
    assert any(line.startswith(f"error: {path}") for line in lines), err
    assert "Traceback" not in err


# Bad input, as a scenario file written into tmp_path or as --set on minimal:
# (case id, (tmp_path) -> (source, overrides), path that must be named)
def _file(text_edit: Callable[[str], str]) -> Callable[[Path], tuple[str, list[str]]]:
    def make(tmp_path: Path) -> tuple[str, list[str]]:
        path = tmp_path / "bad.toml"
        data = text_edit(minimal_text())
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        return str(path), []

    return make


def _set(*overrides: str) -> Callable[[Path], tuple[str, list[str]]]:
    return lambda tmp_path: (MINIMAL, list(overrides))


DUPLICATE_COUNTY = """
[[regions]]
id = "430104"
tier = "county"
parent = "changsha"
fund = 1_000_000
"""
SECOND_PROVINCE = """
[[regions]]
id = "hubei"
tier = "province"
fund = 1_000_000
"""

BAD_INPUT: list[tuple[str, Callable[[Path], tuple[str, list[str]]], str]] = [
    ("unknown-top-key", _set("colour=red"), "colour"),
    ("unknown-nested-key", _set("credit.anual_pd=0.05"), "credit.anual_pd"),
    ("unknown-key-in-file", _file(lambda t: replaced(t, "[rules]\n", "[rules]\nshortfal = 'bank'\n")), "rules.shortfal"),
    ("shares-sum", _set("sharing.fund=0.5"), "sharing"),
    ("tier-shares-sum", _set("sharing.tiers.city=0.4"), "sharing.tiers"),
    ("pd-above-1", _set("credit.annual_pd=1.5"), "credit.annual_pd"),
    ("pd-negative", _set("credit.annual_pd=-0.1"), "credit.annual_pd"),
    ("negative-fund", _set("regions.430104.fund=-1"), "regions.430104.fund"),
    ("negative-topup", _set("regions.changsha.annual_topup=-1"), "regions.changsha.annual_topup"),
    ("nan-in-file", _file(lambda t: replaced(t, "annual_pd = 0.02", "annual_pd = nan")), "credit.annual_pd"),
    ("inf-in-file", _file(lambda t: replaced(t, "fund = 65_000_000", "fund = inf")), "regions.hunan.fund"),
    ("inf-by-set", _set("credit.annual_pd=inf"), "credit.annual_pd"),
    ("parent-missing", _set("regions.changsha.parent=nowhere"), "regions.changsha.parent"),
    ("parent-wrong-tier", _set("regions.430104.parent=hunan"), "regions.430104.parent"),
    ("duplicate-id", _file(lambda t: t + DUPLICATE_COUNTY), "regions.430104.id"),
    ("two-provinces", _file(lambda t: t + SECOND_PROVINCE), "regions"),
    ("stress-length", _set("credit.stress=[1,2]"), "credit.stress"),
    ("recovery-sd", _set("collateral.recovery_sd=0.4"), "collateral.recovery_sd"),
    ("missing-key", _file(lambda t: replaced(t, "annual_pd = 0.02\n", "")), "credit.annual_pd"),
    ("invalid-toml", _file(lambda t: t + "\n[credit\n"), "bad.toml"),
    ("non-utf8", _file(lambda t: t.encode("utf-8").replace("岳麓区".encode(), "岳麓区".encode("gbk"))), "bad.toml"),
]
RESOURCE_INPUT: list[tuple[str, Callable[[Path], tuple[str, list[str]]], str]] = [
    ("paths-huge-by-set", _set(f"simulation.paths={10**12}"), "simulation.paths"),
    ("lending-huge", _set("regions.430104.lending.new_loans_per_year=1e9"), "regions."),
]


def _resolve(make: Callable, tmp_path: Path, path: str) -> tuple[str, list[str], str]:
    source, overrides = make(tmp_path)
    if path == "bad.toml":
        path = str(tmp_path / "bad.toml")
    return source, overrides, path


def _set_args(overrides: list[str]) -> list[str]:
    return [arg for o in overrides for arg in ("--set", o)]


# --------------------------------------------------------------------------- exit 2: bad input


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize(("make", "path"), [c[1:] for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT])
def test_bad_input_exits_2_with_one_line_per_problem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str, make: Callable, path: str
) -> None:
    source, overrides, path = _resolve(make, tmp_path, path)
    extra = ["--paths", "50"] if command == "run" else []
    rc, out, err = run_main(capsys, command, source, *_set_args(overrides), *extra)
    assert rc == 2, (out, err)
    assert_reports(err, expected_problems(source, overrides), path)
    assert "Traceback" not in out
    assert not list(tmp_path.glob("*.parquet"))


@pytest.mark.parametrize(("make", "path"), [c[1:] for c in RESOURCE_INPUT], ids=[c[0] for c in RESOURCE_INPUT])
def test_run_too_big_for_memory_or_time_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, make: Callable, path: str
) -> None:
    source, overrides, path = _resolve(make, tmp_path, path)
    out_dir = tmp_path / "out"
    rc, out, err = run_main(capsys, "run", source, *_set_args(overrides), "--out", str(out_dir))
    assert rc == 2, (out, err)
    assert_reports(err, expected_problems(source, overrides, spool_folder=tmp_path), path)
    assert not out_dir.exists()


def test_run_paths_option_too_big_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run_main(capsys, "run", MINIMAL, "--paths", str(10**12))
    assert rc == 2
    problems = expected_problems(MINIMAL, [], paths=10**12)
    assert_reports(err, problems, "simulation.paths")
    assert all(line.startswith(f"error: simulation.paths = {10**12}") for line in error_lines(err))


def test_huge_lending_line_names_new_loans_per_year(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run_main(capsys, "run", MINIMAL, "--set", "regions.430104.lending.new_loans_per_year=1e9")
    assert rc == 2
    assert "lending" in err and "new_loans_per_year" in err


@pytest.mark.parametrize(("make", "path"), [c[1:] for c in RESOURCE_INPUT], ids=[c[0] for c in RESOURCE_INPUT])
def test_validate_refuses_what_run_would_refuse(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, make: Callable, path: str
) -> None:
    source, overrides, path = _resolve(make, tmp_path, path)
    rc, _, err = run_main(capsys, "validate", source, *_set_args(overrides))
    assert rc == 2
    assert_reports(err, expected_problems(source, overrides), path)


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "no-such-scenario"],
        ["validate", "missing/file.toml"],
        ["run", MINIMAL, "--paths", "0"],
        ["run", MINIMAL, "--seed", "-1"],
        ["run", MINIMAL, "--set", "credit.annual_pd"],
        ["run", MINIMAL, "--set", "regions.nowhere.fund=1"],
        ["run", MINIMAL, "--set", "funds.scale=-2"],
    ],
    ids=["unknown-name", "missing-file", "paths-0", "seed-negative", "set-without-value", "set-unknown-region",
         "scale-negative"],
)
def test_other_bad_input_exits_2(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    rc, out, err = run_main(capsys, *args)
    assert rc == 2, (out, err)
    assert len(error_lines(err)) >= 1
    assert "Traceback" not in err + out


@pytest.mark.parametrize(
    "args",
    [["run", "--bogus"], ["frobnicate"], ["run", MINIMAL, "--paths", "abc"], ["run", MINIMAL, "--workers", "0"]],
    ids=["unknown-option", "unknown-command", "paths-not-a-number", "workers-0"],
)
def test_usage_errors_exit_2_without_traceback(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    rc, out, err = run_main(capsys, *args)
    assert rc == 2
    assert "Traceback" not in out + err


def test_bad_input_subprocess_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    text = replaced(minimal_text(), "annual_pd = 0.02", "annual_pd = nan")
    bad.write_text(replaced(text, "fund = 3_000_000", "fund = -3_000_000"), encoding="utf-8")
    done = run_subprocess("validate", str(bad), cwd=tmp_path)
    assert done.returncode == 2, done
    problems = expected_problems(str(bad), [])
    assert {p.path for p in problems} == {"credit.annual_pd", "regions.430104.fund"}
    assert_reports(done.stderr, problems, "credit.annual_pd")
    assert "Traceback" not in done.stdout + done.stderr

    done = run_subprocess("run", MINIMAL, "--paths", str(10**12), cwd=tmp_path)
    assert done.returncode == 2, done
    assert_reports(done.stderr, expected_problems(MINIMAL, [], paths=10**12), "simulation.paths")
    assert "Traceback" not in done.stdout + done.stderr


def test_each_problem_is_exactly_one_line_when_piped(tmp_path: Path) -> None:
    overrides = ["collateral.recovery_sd=0.4", "sharing.fund=0.5"]
    done = run_subprocess("validate", MINIMAL, *_set_args(overrides), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"error: {p}" for p in expected_problems(MINIMAL, overrides)]


def test_usage_error_subprocess_exits_2(tmp_path: Path) -> None:
    done = run_subprocess("run", MINIMAL, "--workers", "0", cwd=tmp_path)
    assert "Traceback" not in done.stderr
    assert done.returncode == 2


# --------------------------------------------------------------------------- exit 1: internal error


def test_internal_error_exits_1_without_traceback(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import riskpool.engine

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("injected failure")

    monkeypatch.delenv("RISKPOOL_DEBUG", raising=False)
    monkeypatch.setattr(riskpool.engine, "simulate", broken)
    rc, out, err = run_main(capsys, "run", MINIMAL, "--paths", "10")
    assert rc == 1
    assert "internal error" in err and "injected failure" in err
    assert "Traceback" not in out + err
    assert not error_lines(err)


INJECT = """
import riskpool.engine

def _broken(*args, **kwargs):
    raise RuntimeError("injected failure")

riskpool.engine.simulate = _broken
"""


def inject_failure(tmp_path: Path) -> str:
    """A PYTHONPATH whose sitecustomize makes engine.simulate raise: an internal error on demand."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(INJECT, encoding="utf-8")
    return os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))


def test_internal_error_subprocess_exits_1(tmp_path: Path) -> None:
    pythonpath = inject_failure(tmp_path)
    done = run_subprocess("run", MINIMAL, "--paths", "10", cwd=tmp_path, env=clean_env(PYTHONPATH=pythonpath))
    assert done.returncode == 1, done
    assert "internal error" in done.stderr and "injected failure" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_internal_error_with_debug_shows_the_traceback(tmp_path: Path) -> None:
    pythonpath = inject_failure(tmp_path)
    done = run_subprocess(
        "run", MINIMAL, "--paths", "10", cwd=tmp_path, env=clean_env(PYTHONPATH=pythonpath, RISKPOOL_DEBUG="1")
    )
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "RuntimeError: injected failure" in done.stderr


# --------------------------------------------------------------------------- exit 0: validate


@pytest.mark.parametrize("name", scenario.bundled_names())
def test_validate_every_bundled_scenario(capsys: pytest.CaptureFixture[str], name: str) -> None:
    rc, out, err = run_main(capsys, "validate", name)
    assert rc == 0, err
    assert out.startswith("ok:")
    assert scenario.load(name).meta.name in out
    assert not error_lines(err)


def test_validate_defaults_to_hunan_baseline(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run_main(capsys, "validate")
    assert rc == 0
    assert scenario.load("hunan-baseline").meta.name in out


def test_validate_accepts_good_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run_main(
        capsys, "validate", MINIMAL, "--set", "credit.annual_pd=0.05", "--set", "regions.changsha.fund=4e7",
        "--set", "funds.scale=1.5", "--set", "rules.shortfall=bank", "--set", "credit.stress=[1,2,1,1,1]",
    )
    assert rc == 0, err
    sha = scenario.load(
        MINIMAL, ["credit.annual_pd=0.05", "regions.changsha.fund=4e7", "funds.scale=1.5", "rules.shortfall=bank",
                  "credit.stress=[1,2,1,1,1]"]
    ).sha256()
    assert sha[:12] in out


def test_validate_subprocess_exits_0(tmp_path: Path) -> None:
    done = run_subprocess("validate", MINIMAL, cwd=tmp_path)
    assert done.returncode == 0, done
    assert done.stdout.startswith("ok:")
    assert done.stderr == ""


# --------------------------------------------------------------------------- run --json


def check_summary_keys(summary: dict[str, Any], nodes: dict[str, str]) -> None:
    """Every key that docs/model.md section 8 lists for summary.json."""
    for key in ("scenario", "scenario_sha256", "seed", "paths", "horizon_months", "fund", "tiers", "nodes",
                "parties", "lending"):
        assert key in summary, key
    assert {"p_shortfall", "p_shortfall_se"} <= set(summary["fund"])
    for tier in ("province", "city", "county"):
        assert {"p_shortfall", "p_shortfall_se"} <= set(summary["tiers"][tier]), tier
    assert set(summary["nodes"]) == set(nodes)
    for node, tier in nodes.items():
        v = summary["nodes"][node]
        assert v["tier"] == tier
        for key in ("p_shortfall", "p_shortfall_se", "unpaid_mean"):
            assert isinstance(v[key], float | int), (node, key)
        assert set(v["first_shortfall_month"]) >= {"p05", "p50", "p95"}
        assert set(v["payout_net"]) >= {"mean", "q95", "q99"}
        assert set(v["required_capital"]) >= {"q95", "q99"}
    for party in ("fund", "bank", "guarantor", "insurer", "evaluator"):
        assert {"loss_mean", "var99", "es99"} <= set(summary["parties"][party]), party
    assert {"originated_mean", "defaulted_ead_mean", "recovered_mean", "multiplier_mean",
            "leverage_peak_mean"} <= set(summary["lending"])


def test_run_json_prints_the_summary(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run_main(capsys, "run", MINIMAL, "--paths", "300", "--json")
    assert rc == 0, err
    summary = json.loads(out)
    check_summary_keys(summary, MINIMAL_NODES)
    s = scenario.load(MINIMAL, simulation__paths=300)
    assert summary["scenario"] == s.meta.name
    assert summary["scenario_sha256"] == s.sha256()
    assert summary["seed"] == s.simulation.seed
    assert summary["paths"] == 300
    assert summary["horizon_months"] == 60
    for v in [summary["fund"], *summary["tiers"].values(), *summary["nodes"].values()]:
        assert 0.0 <= v["p_shortfall"] <= 1.0
        assert v["p_shortfall_se"] >= 0.0
    assert summary["lending"]["originated_mean"] > 0


def test_run_json_seed_option(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run_main(capsys, "run", MINIMAL, "--paths", "40", "--seed", "7", "--json")
    assert rc == 0
    summary = json.loads(out)
    assert summary["seed"] == 7
    assert summary["scenario_sha256"] == scenario.load(MINIMAL, simulation__paths=40, simulation__seed=7).sha256()


def test_run_defaults_to_hunan_baseline(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run_main(capsys, "run", "--paths", "20", "--json")
    assert rc == 0
    summary = json.loads(out)
    s = scenario.load("hunan-baseline", simulation__paths=20)
    assert summary["scenario"] == s.meta.name
    assert summary["scenario_sha256"] == s.sha256()
    nodes = {r.id: r.tier for r in s.regions if r.fund is not None}
    check_summary_keys(summary, nodes)


def test_run_json_subprocess_exits_0(tmp_path: Path) -> None:
    done = run_subprocess("run", MINIMAL, "--paths", "300", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    check_summary_keys(json.loads(done.stdout), MINIMAL_NODES)
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------------- run --out


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``run minimal --paths 300 --set funds.scale=0.02 --out DIR --json``: small funds, so some run short."""
    out = tmp_path_factory.mktemp("run") / "results"
    import contextlib
    import io

    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        rc = cli.main(["run", MINIMAL, "--paths", "300", "--set", "funds.scale=0.02", "--out", str(out), "--json"])
    assert rc == 0
    return out, stdout.getvalue()


def test_run_out_writes_every_file(run_dir: tuple[Path, str]) -> None:
    out, printed = run_dir
    assert sorted(p.name for p in out.iterdir()) == sorted([*RESULT_FILES, "manifest.json"])
    assert (out / "summary.json").read_text(encoding="utf-8") == printed
    summary = json.loads(printed)
    check_summary_keys(summary, MINIMAL_NODES)
    assert 0.0 < summary["fund"]["p_shortfall"] <= 1.0  # funds scaled down: some paths run short


def test_paths_parquet_columns(run_dir: tuple[Path, str]) -> None:
    out, printed = run_dir
    summary = json.loads(printed)
    table = pq.read_table(out / "paths.parquet")
    for column in ("path", "originated", "defaulted_ead", "recovered", "unpaid", "loss_fund", "loss_bank",
                   "loss_guarantor", "loss_insurer", "loss_evaluator", "shortfall"):
        assert column in table.column_names, column
    assert table.num_rows == 300
    data = table.to_pydict()
    assert data["path"] == list(range(300))
    assert np.mean(data["shortfall"]) == pytest.approx(summary["fund"]["p_shortfall"], abs=1e-12)
    assert np.mean(data["originated"]) == pytest.approx(summary["lending"]["originated_mean"], rel=1e-9)
    assert np.mean(data["loss_fund"]) == pytest.approx(summary["parties"]["fund"]["loss_mean"], rel=1e-9, abs=1e-6)


def test_nodes_parquet_columns(run_dir: tuple[Path, str]) -> None:
    out, printed = run_dir
    summary = json.loads(printed)
    table = pq.read_table(out / "nodes.parquet")
    for column in ("path", "node", "tier", "first_shortfall_month", "payout_net", "unpaid", "required_capital",
                   "final_balance"):
        assert column in table.column_names, column
    assert table.num_rows == 300 * len(MINIMAL_NODES)
    data = table.to_pydict()
    assert set(zip(data["node"], data["tier"])) == set(MINIMAL_NODES.items())
    assert sorted(set(data["path"])) == list(range(300))
    first = data["first_shortfall_month"]
    assert any(m is None for m in first)  # null where a node never ran short
    assert all(m is None or 0 <= m < 60 for m in first)
    for node in MINIMAL_NODES:
        short = [m is not None for m, n in zip(first, data["node"]) if n == node]
        assert len(short) == 300
        assert np.mean(short) == pytest.approx(summary["nodes"][node]["p_shortfall"], abs=1e-12)


def test_months_parquet_columns(run_dir: tuple[Path, str]) -> None:
    out, _ = run_dir
    table = pq.read_table(out / "months.parquet")
    for column in ("month", "node"):
        assert column in table.column_names, column
    for q in ("p05", "p50", "p95"):
        assert [c for c in table.column_names if q in c], q
    data = table.to_pydict()
    for node in MINIMAL_NODES:
        months = [m for m, n in zip(data["month"], data["node"]) if n == node]
        assert sorted(months) == list(range(60)), node
    p05 = next(c for c in table.column_names if "p05" in c)
    p50 = next(c for c in table.column_names if "p50" in c)
    p95 = next(c for c in table.column_names if "p95" in c)
    for a, b, c in zip(data[p05], data[p50], data[p95]):
        assert a <= b <= c


def test_manifest(run_dir: tuple[Path, str]) -> None:
    out, printed = run_dir
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    summary = json.loads(printed)
    expected = scenario.load(MINIMAL, ["funds.scale=0.02"], simulation__paths=300)
    assert manifest["scenario"] == expected.canonical()
    assert manifest["scenario_sha256"] == expected.sha256() == summary["scenario_sha256"]
    canonical = json.dumps(manifest["scenario"], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert hashlib.sha256(canonical.encode("utf-8")).hexdigest() == manifest["scenario_sha256"]
    assert scenario.from_dict(manifest["scenario"]).sha256() == manifest["scenario_sha256"]
    assert manifest["seed"] == expected.simulation.seed == summary["seed"]
    assert manifest["paths"] == 300
    versions = manifest["versions"]
    for package in ("python", "numpy", "scipy"):
        assert versions.get(package), package
    assert riskpool.__version__ in (manifest.get("riskpool_version"), versions.get("riskpool"))
    assert set(manifest["files"]) >= set(RESULT_FILES)
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, name


def test_run_out_into_existing_folder_overwrites(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "nested" / "out"
    assert run_main(capsys, "run", MINIMAL, "--paths", "20", "--out", str(out))[0] == 0
    assert run_main(capsys, "run", MINIMAL, "--paths", "30", "--out", str(out))[0] == 0
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["paths"] == 30
    assert pq.read_table(out / "paths.parquet").num_rows == 30
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left behind


# --------------------------------------------------------------------------- terminal summary


def test_terminal_summary_names_the_tiers(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out, err = run_main(capsys, "run", MINIMAL, "--paths", "100", "--out", str(tmp_path / "r"))
    assert rc == 0, err
    for word in ("province", "city", "county"):
        assert word in out, word
    assert any(ch in out for ch in "┃│|"), "expected a table"
    assert "Minimal" in out
    assert not out.lstrip().startswith("{")
    assert (tmp_path / "r" / "summary.json").is_file()
