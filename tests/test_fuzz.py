"""Scenario fuzzing: random damage to the bundled scenario files (docs/reliability.md).

Each damaged file is fed to ``riskpool validate FILE`` and ``riskpool run FILE --paths 50 --out
DIR`` through ``riskpool.cli.main`` in-process, and to the web app's loader
``scenario.from_upload``. Whatever the damage, the outcome is exit 0 (a scenario that is still
valid) or exit 2 with one ``error: PATH ...: WHAT`` line per problem (the loader: ScenarioError);
never exit 1, a traceback, a warning or a hang. Where the damage makes the file certainly invalid,
it must be refused and the message must name the damaged field (or say "invalid TOML", "not
UTF-8").

- structural damage of the parsed data: wrong types, missing and extra keys, huge and tiny
  numbers, nan and inf, enormous strings (written back as TOML by :func:`toml_text`);
- region trees: empty, without a province, duplicated ids, cycles through ``parent``, deep
  chains, wide trees, no lending at all;
- textual damage of the file: truncation, stray and non-UTF-8 bytes, duplicated keys and lines,
  garbage lines, other encodings, deep nesting, numbers of thousands of digits.

The examples are drawn from a fixed seed: 100 per test by default (about 40 s on two cores), the
bugs found so far first (``@example``). Longer profiles (about 0.1 s per example)::

    RISKPOOL_FUZZ_EXAMPLES=2000 python -m pytest tests/test_fuzz.py -q
    RISKPOOL_FUZZ_EXAMPLES=2000 RISKPOOL_FUZZ_SEED=2 python -m pytest tests/test_fuzz.py -q
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import json
import math
import os
import re
import signal
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, example, given, seed, settings
from hypothesis import strategies as st

from riskpool import cli, scenario
from riskpool.scenario import MAX_UPLOAD_BYTES, ScenarioError

EXAMPLES = int(os.environ.get("RISKPOOL_FUZZ_EXAMPLES", "100"))
SEED = int(os.environ.get("RISKPOOL_FUZZ_SEED", "20220725"))
CASE_SECONDS = 60  # hard limit of one case (validate + run + upload); a valid run takes < 1 s
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=10),  # generous: the machine is shared
    database=None,  # the fixed seed alone decides the examples
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
BUNDLED = ("minimal", "hunan-baseline", "stress-shock")
RUN_PATHS = "50"
ERROR_LINE = re.compile(r"^error: \S.*: \S")  # error: PATH[ = VALUE]: WHAT IS ALLOWED
REGION_STRINGS = ("id", "parent", "name")  # numbers there are read as text (GB/T 2260 codes)


# --------------------------------------------------------------------------- TOML writer


def toml_text(data: dict[str, Any]) -> str:
    """TOML for parsed-TOML-like data: every top-level key on one line, nested values inline.

    Inline tables and arrays nest to any depth, so any shape the mutations produce is writable.
    """
    return "".join(f"{_toml_string(k)} = {_toml_value(v)}\n" for k, v in data.items())


def _toml_string(text: str) -> str:
    # JSON escapes are TOML basic-string escapes; TOML also forbids a raw DEL
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{_toml_string(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """A damaged scenario file and what its damage implies."""

    data: bytes
    what: str  # the damage, for failure messages
    valid: bool | None = None  # False: validate, run and the loader must refuse it; True: accept it
    named: str | None = None  # a word that the refusal must contain (a key, "invalid TOML" ...)
    run_may_pass: bool = False  # run's --paths replaces the damaged value


@dataclass(frozen=True)
class Outcome:
    what: str  # validate, run or upload
    rc: int
    err: str


@functools.cache
def bundled_bytes(name: str) -> bytes:
    return scenario.bundled_path(name).read_bytes()


def bundled_data(name: str) -> dict[str, Any]:
    return tomllib.loads(bundled_bytes(name).decode("utf-8"))


def structural_case(data: dict[str, Any], what: str, **expect: Any) -> Case:
    return Case(toml_text(data).encode("utf-8"), what, **expect)


def edited(name: str, path: tuple[Any, ...], value: Any, **expect: Any) -> Case:
    """The bundled scenario ``name`` with the value at ``path`` replaced (regression examples)."""
    data = bundled_data(name)
    parent = functools.reduce(lambda node, key: node[key], path[:-1], data)
    parent[path[-1]] = value
    return structural_case(data, f"{name}: {path} = {value!r:.60}", **expect)


def text_case(name: str, old: str, new: str, **expect: Any) -> Case:
    data = bundled_bytes(name).decode("utf-8")
    assert old in data
    return Case(data.replace(old, new, 1).encode("utf-8"), f"{name}: {old!r} -> {new!r:.60}", **expect)


# --------------------------------------------------------------------------- running a case


class CaseTimeout(BaseException):
    """Not an Exception, so that cli.main's last line of defence does not swallow it."""


@contextlib.contextmanager
def hard_limit(seconds: float) -> Iterator[None]:
    """Interrupt a hung case (hypothesis' deadline only judges a case after it ends)."""

    def expire(signum: int, frame: Any) -> None:
        raise CaseTimeout(f"the case ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def call_cli(argv: list[str]) -> Outcome:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        rc = cli.main(argv)
    return Outcome(argv[0], rc, err.getvalue())


def call_upload(data: bytes) -> Outcome:
    try:
        scenario.from_upload(data, "upload")
    except ScenarioError as exc:
        return Outcome("upload", 2, "".join(f"error: {p}\n" for p in exc.problems))
    return Outcome("upload", 0, "")


def outcomes(case: Case) -> tuple[Outcome, Outcome, Outcome, bool]:
    """validate, run and upload outcomes of a case, and whether run wrote its manifest."""
    with tempfile.TemporaryDirectory(prefix="riskpool-fuzz-") as tmp, hard_limit(CASE_SECONDS):
        file, out = Path(tmp) / "case.toml", Path(tmp) / "out"
        file.write_bytes(case.data)
        validate = call_cli(["validate", str(file)])
        run = call_cli(["run", str(file), "--paths", RUN_PATHS, "--out", str(out)])
        wrote = (out / "manifest.json").is_file()
        return validate, run, call_upload(case.data), wrote


def check(case: Case) -> None:
    validate, run, upload, wrote = outcomes(case)
    event(f"exit codes: validate {validate.rc}, run {run.rc}, upload {upload.rc}")  # --hypothesis-show-statistics
    for outcome in (validate, run, upload):
        check_clean(outcome, case)
    assert (run.rc == 0) == wrote, f"{case.what}: run exited {run.rc}, manifest written: {wrote}"
    if len(case.data) > MAX_UPLOAD_BYTES:
        assert upload.rc == 2 and "too large" in upload.err, f"{case.what}: the loader took {len(case.data)} bytes"
    elif validate.rc == 0:
        assert upload.rc == 0, f"{case.what}: valid for the command line, refused by the loader:\n{upload.err}"
    if validate.rc == 0:
        assert run.rc == 0, f"{case.what}: validates but does not run:\n{run.err}"
    if case.valid is False:
        refusing = (validate, upload) if case.run_may_pass else (validate, run, upload)
        for outcome in refusing:
            assert outcome.rc == 2, f"{case.what}: {outcome.what} accepted it"
    if case.valid:
        for outcome in (validate, run, upload):
            assert outcome.rc == 0, f"{case.what}: {outcome.what} refused it:\n{outcome.err}"


def check_clean(outcome: Outcome, case: Case) -> None:
    """Exit 0 or 2; on 2, one well-formed error line per problem naming the damage."""
    where = f"{case.what}: {outcome.what} exited {outcome.rc}"
    assert outcome.rc in (0, 2), f"{where}\n{outcome.err}"
    assert "Traceback" not in outcome.err and "Warning" not in outcome.err, f"{where}\n{outcome.err}"
    if outcome.rc == 0:
        return
    lines = outcome.err.removesuffix("\n").split("\n")  # physical lines
    assert lines and all(ERROR_LINE.match(line) for line in lines), f"{where}, badly formed:\n{outcome.err}"
    if case.named is not None and not (case.run_may_pass and outcome.what == "run"):
        assert case.named in outcome.err, f"{where} without naming {case.named!r}:\n{outcome.err}"


# --------------------------------------------------------------------------- structural damage

NUMBERS = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 0, -1, -0.0, 5e-324, 1e-300, 1e-9, 1e15, 1e16, 1e300,
                     1e308, -1e308, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30, -(2**63)]),
    st.integers(),
    st.floats(),
)
TEXTS = st.one_of(
    st.sampled_from(["", " ", "nan", "1e3", "0x10", "true", "province", "county", "queue", "hunan", "430104",
                     "../../etc/passwd", "\u202e", "\x00", "\x7f"]),
    st.text(max_size=30),
)
ENORMOUS = st.sampled_from([201, 5_001, 70_000, 300_000]).map(lambda n: "漢" * n)  # 300,000: over the upload limit
OTHER = st.sampled_from([True, False, [], {}, [[]], [1, "a"], {"x": 1}, date(1970, 1, 1), time(12, 30),
                         datetime(2020, 2, 29, 23, 59, tzinfo=timezone.utc)])
KEYS = st.one_of(st.sampled_from(["x", "Fund", "fund ", "paths", "id", "regions", "annual_pd", "", "a.b", "\n"]),
                 st.text(max_size=12))
WEIRD = st.one_of(NUMBERS, TEXTS, ENORMOUS, OTHER, st.lists(NUMBERS, max_size=4),
                  st.dictionaries(KEYS, NUMBERS, max_size=3))


def _children(node: Any) -> list[Any]:
    return list(node) if isinstance(node, dict) else list(range(len(node)))


@st.composite
def locations(draw: st.DrawFn, data: dict[str, Any], dicts_only: bool = False) -> tuple[Any, ...]:
    """A random walk from the root: the path of a value (or, with dicts_only, of a table)."""
    path: list[Any] = []
    node: Any = data
    while isinstance(node, dict | list) and node and (not path or draw(st.booleans())):
        key = draw(st.sampled_from(_children(node)))
        if dicts_only and not isinstance(node[key], dict | list):
            break
        path.append(key)
        node = node[key]
    while dicts_only and not isinstance(node, dict):  # back up to the nearest table
        path.pop()
        node = functools.reduce(lambda n, k: n[k], path, data)
    return tuple(path)


def leaf_key(path: tuple[Any, ...]) -> str:
    """The last key name of a path (a list index names its list), as an error shows it."""
    return shown_key(next(k for k in reversed(path) if isinstance(k, str)))


def shown_key(key: str) -> str:
    """Errors show a key bare, or quoted like a Python string if it is not a bare key."""
    return key if re.fullmatch(r"[A-Za-z0-9_\-]+", key) else repr(key)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def replace_expectation(path: tuple[Any, ...], old: Any, new: Any) -> dict[str, Any]:
    """What replacing ``old`` by ``new`` at ``path`` certainly implies, if anything."""
    key = leaf_key(path)
    section_lost = isinstance(old, dict) and not isinstance(new, dict)
    nonfinite = is_number(old) and isinstance(new, float) and not math.isfinite(new) and key not in REGION_STRINGS
    if not (section_lost or nonfinite):
        return {}
    return {"valid": False, "named": key, "run_may_pass": path[:2] == ("simulation", "paths")}


def numeric_leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if is_number(node):
        yield path
    elif isinstance(node, dict | list):
        for key in _children(node):
            yield from numeric_leaves(node[key], (*path, key))


@st.composite
def numeric_location(draw: st.DrawFn, data: dict[str, Any]) -> tuple[Any, ...]:
    """A number of the scenario: a section first, then one of its numbers (regions hold most)."""
    section = draw(st.sampled_from([k for k in data if any(numeric_leaves(data[k]))]))
    return draw(st.sampled_from(list(numeric_leaves(data[section], (section,)))))


@st.composite
def mutation(draw: st.DrawFn, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Apply one random mutation to ``data`` in place; returns its description and expectation."""
    kind = draw(st.sampled_from(["replace", "delete", "extra", "number"]))
    if kind == "extra":
        path = draw(locations(data, dicts_only=True))
        table = functools.reduce(lambda n, k: n[k], path, data)
        key = draw(KEYS.filter(lambda k: k not in table))
        table[key] = draw(WEIRD)
        return f"extra {path + (key,)}", {"valid": False, "named": shown_key(key)}
    path = draw(numeric_location(data) if kind == "number" else locations(data))
    parent = functools.reduce(lambda n, k: n[k], path[:-1], data)
    if kind == "delete":
        del parent[path[-1]]
        return f"delete {path}", {}
    old, parent[path[-1]] = parent[path[-1]], draw(NUMBERS if kind == "number" else WEIRD)
    return f"replace {path} = {parent[path[-1]]!r:.60}", replace_expectation(path, old, parent[path[-1]])


@st.composite
def structural_damage(draw: st.DrawFn) -> Case:
    name = draw(st.sampled_from(BUNDLED))
    data = bundled_data(name)
    n = draw(st.integers(1, 3))
    done = [draw(mutation(data)) for _ in range(n)]
    # a later mutation can undo an earlier one's certainty: expectations hold for one mutation only
    expect = done[0][1] if n == 1 else {}
    return structural_case(data, f"{name}: " + "; ".join(d for d, _ in done), **expect)


# --------------------------------------------------------------------------- region trees


def _region(rid: str, tier: str, parent: str | None, like: dict[str, Any]) -> dict[str, Any]:
    region = {k: copy.deepcopy(v) for k, v in like.items() if k not in ("id", "parent", "tier", "name")}
    region.update({"id": rid, "tier": tier, **({"parent": parent} if parent is not None else {})})
    if tier != "county":
        region.pop("lending", None)
        region.pop("pd_multiplier", None)
    return region


@st.composite
def region_damage(draw: st.DrawFn) -> Case:
    """Broken (or merely unusual) region trees."""
    name = draw(st.sampled_from(BUNDLED))
    data = bundled_data(name)
    regions: list[dict[str, Any]] = data["regions"]
    county = next(r for r in regions if r["tier"] == "county")
    kind = draw(st.sampled_from(["empty", "no-province", "duplicate", "cycle", "chain", "wide", "idle"]))
    expect: dict[str, Any] = {"valid": False}
    if kind == "empty":
        data["regions"] = []
        expect["named"] = "regions"
    elif kind == "no-province":
        data["regions"] = [r for r in regions if r["tier"] != "province"]
        expect["named"] = "province"
    elif kind == "duplicate":
        regions.append(copy.deepcopy(draw(st.sampled_from(regions))))
        expect["named"] = "duplicate"
    elif kind == "cycle":  # a region's parent becomes itself or one of its descendants
        region = draw(st.sampled_from(regions))
        below = [r for r in regions if r.get("parent") == region["id"]]
        region["parent"] = draw(st.sampled_from([region, *below]))["id"]
        expect["named"] = "parent"
    elif kind == "chain":  # a deep chain hanging below a county (which can have no children)
        tiers = draw(st.lists(st.sampled_from(scenario.TIERS), min_size=1, max_size=2000))
        parents = [county["id"], *(f"deep{i}" for i in range(len(tiers) - 1))]
        regions += [_region(f"deep{i}", t, p, county) for i, (t, p) in enumerate(zip(tiers, parents))]
        expect["named"] = "parent"
    elif kind == "wide":  # many valid counties under one city
        n = draw(st.integers(1, 300))
        regions += [_region(f"wide{i}", "county", county["parent"], county) for i in range(n)]
        expect = {"valid": True}
    else:  # idle: valid, but no county lends, so nothing is ever claimed
        for region in regions:
            if draw(st.booleans()):
                region.pop("lending", None)
            elif "lending" in region:
                region["lending"].update(initial_loans=0, new_loans_per_year=0)
        expect = {"valid": True}
    return structural_case(data, f"{name}: regions {kind}", **expect)


# --------------------------------------------------------------------------- textual damage


def toml_verdict(data: bytes) -> str | None:
    """What must be said about bytes that are not UTF-8 TOML; None if they are."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    try:
        tomllib.loads(text.removeprefix("\ufeff"))  # a byte-order mark is allowed
    except (ValueError, RecursionError):  # TOMLDecodeError is a ValueError
        return "invalid TOML"
    return None


@st.composite
def textual_damage(draw: st.DrawFn) -> Case:
    name = draw(st.sampled_from(BUNDLED))
    data = bundled_bytes(name)
    lines = data.splitlines(keepends=True)
    kind = draw(st.sampled_from(["truncate", "insert", "duplicate-key", "duplicate-line", "drop-line",
                                 "garbage-line", "encoding", "deep", "long-number"]))
    at = draw(st.integers(0, len(data)))
    line = draw(st.integers(0, len(lines) - 1))
    if kind == "truncate":
        damaged = data[:at]
    elif kind == "insert":
        damaged = data[:at] + draw(st.one_of(st.binary(min_size=1, max_size=8),
                                             st.sampled_from([b"\xff", b"\xc3", b"\xe6\xb9", b"\x00", b"\r"]))) + data[at:]
    elif kind == "duplicate-key":
        keyed = [i for i, text in enumerate(lines) if re.match(rb"^\w+ = ", text)]
        i = draw(st.sampled_from(keyed))
        damaged = b"".join(lines[: i + 1] + [lines[i].split(b"=")[0] + b"= 1\n"] + lines[i + 1:])
    elif kind == "duplicate-line":
        damaged = b"".join(lines[: line + 1] + lines[line:])
    elif kind == "drop-line":
        damaged = b"".join(lines[:line] + lines[line + 1:])
    elif kind == "garbage-line":
        garbage = draw(st.one_of(st.sampled_from([b"[credit\n", b"= 1\n", b"x = \n", b"]]\n", b"[[regions]\n",
                                                   b"[meta]\n", b"x = [1,\n", b'x = "\n']),
                                 st.binary(max_size=20)))
        damaged = b"".join(lines[:line] + [garbage] + lines[line:])
    elif kind == "encoding":
        encoding = draw(st.sampled_from(["gbk", "utf-16", "utf-32", "utf-8-sig"]))
        damaged = data.decode("utf-8").encode(encoding)
    elif kind == "deep":  # nesting far beyond any scenario's: arrays, inline tables, dotted keys
        depth = draw(st.integers(1, 5000))
        nested = draw(st.sampled_from([b"x = " + b"[" * depth + b"]" * depth,
                                       b"x = " + b"{a=" * depth + b"1" + b"}" * depth,
                                       b".".join([b"x"] * depth) + b" = 1"]))
        damaged = b"".join(lines[:line] + [nested + b"\n"] + lines[line:])
    else:  # a number literal of thousands of digits
        number = draw(st.sampled_from([b"9" * 5000, b"0." + b"0" * 5000 + b"1", b"1" + b"0" * 400 + b".0"]))
        numbered = [i for i, text in enumerate(lines) if re.match(rb"^\w+ = [0-9]", text)]
        i = draw(st.sampled_from(numbered))
        damaged = b"".join(lines[:i] + [lines[i].split(b"=")[0] + b"= " + number + b"\n"] + lines[i + 1:])
    verdict = toml_verdict(damaged)
    expect = {"valid": False, "named": verdict} if verdict else {}
    return Case(damaged, f"{name}: {kind} (byte {at}, line {line})", **expect)


# --------------------------------------------------------------------------- tests


# Regression examples: the bugs this fuzzing found (docs/reliability.md), each run first.


@seed(SEED)
@FUZZ
@given(structural_damage())
# a fund near the float limit overflowed to inf in the results, with numpy warnings, exit 0
@example(edited("minimal", ("regions", 0, "fund"), 1e308, valid=False, named="fund"))
# an unknown key holding a line break broke the one-line-per-problem error output
@example(edited("minimal", ("meta", "a\nb"), 1, valid=False, named=repr("a\nb")))
def test_structural_damage_is_refused_by_name(case: Case) -> None:
    check(case)


@seed(SEED)
@FUZZ
@given(region_damage())
# no loans at all: reserve_ratio was an all-null column of type null; writing the run's data
# digests failed (ArrowInvalid), exit 1
@example(edited("minimal", ("regions", 2, "lending", "new_loans_per_year"), 0, valid=True))
def test_broken_region_trees_are_refused_by_name(case: Case) -> None:
    check(case)


@seed(SEED)
@FUZZ
@given(textual_damage())
# each of these was exit 1 (ValueError or RecursionError), or a crash of the loader
@example(text_case("minimal", "seed = 20220725", "seed = " + "9" * 5000, valid=False, named="invalid TOML"))
@example(text_case("minimal", "annual_pd = 0.02", "annual_pd = " + "[" * 3000 + "]" * 3000,
                   valid=False, named="invalid TOML"))
@example(text_case("minimal", "annual_pd = 0.02\n", "annual_pd = 0.02\n" + ".".join(["a"] * 3000) + " = 1\n",
                   valid=False, named="nested more than"))
# a byte-order mark (Windows Notepad) was "invalid TOML: Invalid statement (at line 1, column 1)"
@example(Case(b"\xef\xbb\xbf" + bundled_bytes("minimal"), "minimal with a byte-order mark", valid=True))
def test_textual_damage_is_refused_by_name(case: Case) -> None:
    check(case)


def test_toml_text_round_trips() -> None:
    """Guard the guard: the writer gives back the data it was given, for every bundled file."""
    odd = {"a": [math.inf, -0.0, 5e-324, 2**64, "\x7f\x00\n\"\\", date(1970, 1, 1), [[{}]]], "": {"\n": True}}
    for data in [*(bundled_data(name) for name in BUNDLED), odd]:
        assert tomllib.loads(toml_text(data)) == data
    assert math.isnan(tomllib.loads(toml_text({"x": math.nan}))["x"])
