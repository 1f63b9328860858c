"""A fund's loan register (台账), read from a CSV or Excel file into a scenario's ``[book]``.

The format is docs/model.md section 4.8: a header row naming the columns, one loan per row.
Every problem of every row is reported at once, by its line number (the header is line 1) and
column, and nothing is kept until the file is clean: the checks are the scenario's own (types and
ranges of ``scenario.BookLoan``, and the register's checks against the scenario), so that a file
and a ``[book]`` table written by hand are held to the same rules.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from .scenario import MAX_BOOK_LOANS, MONTH_PATTERN, NO_VALUE, Book, BookLoan, Problem, Scenario, ScenarioError, book_problems, validate

COLUMNS = ("loan_id", "county", "bank", "principal", "start_month", "tenor_months", "status", "default_month",
           "compensated", "recovered")
REQUIRED = ("loan_id", "county", "principal", "start_month", "tenor_months", "status")
MONTHS = ("start_month", "default_month")
NUMBERS = ("principal", "compensated", "recovered")
MAX_REGISTER_BYTES = 64 * 2**20
XLSX_MAGIC = b"PK\x03\x04"  # an .xlsx file is a zip archive
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})(?:[-/.](\d{1,2}))?$")  # 2026-12, 2026-12-03, 2026/12/3


def read_register(data: bytes, label: str = "register") -> list[tuple[int, dict[str, str]]]:
    """The rows of a CSV (UTF-8, with or without a byte-order mark) or .xlsx file (its first
    sheet), each with its line number, as text by column name."""
    if len(data) > MAX_REGISTER_BYTES:
        raise ScenarioError([Problem(label, f"{len(data)} bytes", f"a file of at most {MAX_REGISTER_BYTES} bytes")])
    table = _xlsx_rows(data) if data.startswith(XLSX_MAGIC) else _csv_rows(data, label)
    if not table:
        raise ScenarioError([Problem(f"{label} line 1", "", "a header row naming the columns")])
    header = [str(h).strip().lower() for h in table[0]]
    problems = [Problem(f"{label} line 1, column {h or k + 1}", h, f"one of {', '.join(COLUMNS)}")
                for k, h in enumerate(header) if h not in COLUMNS]
    problems += [Problem(f"{label} line 1", ", ".join(header), f"a column {name}") for name in REQUIRED if name not in header]
    if len(set(header)) != len(header):
        problems.append(Problem(f"{label} line 1", ", ".join(header), "each column once"))
    if problems:
        raise ScenarioError(problems)
    rows = [(line, {h: _text(v) for h, v in zip(header, values)}) for line, values in enumerate(table[1:], start=2)
            if any(_text(v) for v in values)]
    if not rows or len(rows) > MAX_BOOK_LOANS:
        raise ScenarioError([Problem(label, f"{len(rows)} loans", f"1 to {MAX_BOOK_LOANS:,} loans")])
    return rows


def book_table(rows: list[tuple[int, dict[str, str]]], valuation_month: str,
               label: str = "register") -> tuple[dict[str, Any], list[Problem]]:
    """The ``[book]`` table of the rows (months as ``YYYY-MM``, numbers as numbers), and the
    problems of form (a date that is no date, a number that is no number) by line and column; a
    cell with such a problem is left out of its loan."""
    problems: list[Problem] = []
    loans = []
    for line, row in rows:
        loan: dict[str, Any] = {}
        for name in COLUMNS:
            text = row.get(name, "")
            if not text:
                continue
            try:
                loan[name] = _cell(name, text)
            except ValueError as exc:
                problems.append(Problem(f"{label} line {line}, column {name}", text, str(exc)))
        loans.append(loan)
    return {"valuation_month": valuation_month, "loans": loans}, problems


def with_register(scenario: Scenario, data: bytes, valuation_month: str | None = None,
                  label: str = "register") -> Scenario:
    """``scenario`` with the register's loans as its initial book at ``valuation_month``
    (``YYYY-MM``, default: this month); every problem of every row is named by line and column."""
    month = valuation_month or date.today().strftime("%Y-%m")
    if not re.match(MONTH_PATTERN, month):
        raise ScenarioError([Problem("valuation_month", month, "a month YYYY-MM")])
    rows = read_register(data, label)
    table, problems = book_table(rows, month, label)
    reported = {p.path for p in problems}
    loans, lines = [], []
    for (line, _), loan in zip(rows, table["loans"]):  # each row on its own, so that all are checked
        try:
            loans.append(BookLoan.model_validate(loan))
            lines.append(line)
        except ValidationError as exc:
            found = [Problem(f"{label} line {line}, column {err['loc'][0]}" if err["loc"] else f"{label} line {line}",
                             NO_VALUE if err["type"] == "missing" else err.get("input", NO_VALUE), err["msg"])
                     for err in exc.errors()]
            problems += [p for p in found if p.path not in reported]
    if loans:  # the rows that are well formed, against the scenario and each other
        book = Book.model_construct(valuation_month=month, loans=loans)
        problems += [_by_line(p, lines, label) for p in book_problems(scenario, book)]
    if problems:
        raise ScenarioError(sorted(problems, key=lambda p: _line_of(p.path)))
    raw = scenario.canonical()
    raw["book"] = table
    return validate(raw)


def _line_of(path: str) -> int:
    found = re.search(r"line (\d+)", path)
    return int(found.group(1)) if found else 0


def _by_line(p: Problem, lines: list[int], label: str) -> Problem:
    """``book.loans[3].principal`` -> ``register line 5, column principal``."""
    found = re.match(r"^book\.loans\[(\d+)\]\.?(\w*)", p.path)
    if found is None:
        return Problem(label if p.path.startswith("book") else p.path, p.value, p.allowed)
    where = f"{label} line {lines[int(found.group(1))]}"
    return Problem(f"{where}, column {found.group(2)}" if found.group(2) else where, p.value, p.allowed)


def _csv_rows(data: bytes, label: str) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError([Problem(label, "", f"a CSV file in UTF-8 or an Excel .xlsx file ({exc.reason})")]) from None
    return [row for row in csv.reader(io.StringIO(text))]


def _xlsx_rows(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook  # only for Excel files

    sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _cell(name: str, text: str) -> str | float | int:
    """A cell's text as the ``[book]`` table holds it: a month, a number of yuan or months, or text."""
    if name in MONTHS:
        return _month(text)
    if name in NUMBERS:
        return _number(text, integer=False)
    return _number(text, integer=True) if name == "tenor_months" else text


def _month(text: str) -> str:
    found = _DATE.match(text)
    if found is None or not 1 <= int(found.group(2)) <= 12:
        raise ValueError("a month YYYY-MM (or a date YYYY-MM-DD)")
    return f"{int(found.group(1)):04d}-{int(found.group(2)):02d}"


def _number(text: str, integer: bool) -> float | int:
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        raise ValueError("a whole number of months" if integer else "a number (yuan)") from None
    if integer:
        if not value.is_integer():
            raise ValueError("a whole number of months")
        return int(value)
    return value
