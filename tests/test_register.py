"""A fund's loan register as the initial book (docs/model.md section 4.8; riskpool.register).

A small book computed by hand, both engines path by path on the bundled example register, the
parser on good files (CSV, Excel) and on bad rows (hypothesis: every corrupted cell is named by
its line and column, and nothing runs), the command line and a run that verifies.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import riskpool as rp
from riskpool import cli
from riskpool.fates import sample_block
from riskpool.register import COLUMNS, with_register
from riskpool.scenario import ScenarioError
from riskpool.structure import compile_structure

sys.path.insert(0, str(Path(__file__).parent))
from test_events import check_block  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "riskpool" / "examples" / "register.csv"
VALUATION = "2026-12"
# no randomness left that matters: no sampled default, a fixed recovery (0.15) and delay (18)
FIXED = {"credit.annual_pd": 0.0, "collateral.recovery_sd": 0.0, "collateral.disposal_months_sd": 0.0,
         "regions[2].lending.new_loans_per_year": 0}
SMALL_BOOK = """loan_id,county,principal,start_month,tenor_months,status,default_month,compensated,recovered
A,430104,1000000,2026-08,9,performing,,,
B,430104,2000000,2025-01,24,defaulted,2026-09,,
C,430104,1000000,2025-01,24,defaulted,2026-02,450000,
D,430104,1000000,2025-06,24,defaulted,2026-10,,300000
E,430104,1000000,2025-06,24,defaulted,2026-01,100,100
"""


def small_book() -> rp.Scenario:
    return rp.load("minimal", set=FIXED, book=SMALL_BOOK.encode(), valuation_month=VALUATION)


def moves(s: rp.Scenario) -> pd.DataFrame:
    rows = pd.DataFrame(rp.trace(s, 0).rows())
    return rows[rows["loan"] >= 0]


def test_a_small_book_by_hand() -> None:
    """minimal: fund share 0.45, tiers 0.5/0.3/0.2, claim lag 3, recovery 0.15 less 5 % cost, delay 18."""
    rows = moves(small_book())
    funds = rows[rows["node"] != ""]

    def paid(loan: int, event: str) -> dict[str, float]:
        got = funds[(funds["loan"] == loan) & (funds["event"] == event)]
        return {node: abs(amount) for node, amount in zip(got["node"], got["amount"])}

    tiers = {"hunan": 0.5, "changsha": 0.3, "430104": 0.2}
    # A, performing, made 4 months before with 9 months of term: 5 months at risk, matures in month 4
    assert rows[(rows["loan"] == 0) & (rows["event"] == "mature")]["month"].tolist() == [4]
    # B, defaulted 3 months before, not compensated: its claim is due in month max(0, 3 - 3) = 0,
    # its disposal in month max(1, 18 - 3) = 15, and the recovery is clawed back pro rata
    assert rows[(rows["loan"] == 1) & (rows["event"] == "claim")]["month"].unique().tolist() == [0]
    assert paid(1, "claim") == pytest.approx({n: 0.45 * 2e6 * w for n, w in tiers.items()})
    back = 2e6 * 0.15 * 0.95 / 2e6
    assert paid(1, "clawback") == pytest.approx({n: 0.45 * 2e6 * w * back for n, w in tiers.items()})
    assert rows[(rows["loan"] == 1) & (rows["event"] == "dispose")]["month"].tolist() == [15]
    # C, compensated 450,000 ten months before: no claim; sold in month max(1, 18 - 10) = 8, and
    # each fund gets back its part of what was paid times the recovery fraction
    assert paid(2, "claim") == {}
    assert rows[(rows["loan"] == 2) & (rows["event"] == "dispose")]["month"].tolist() == [8]
    assert paid(2, "clawback") == pytest.approx({n: 450_000 * w * 0.15 * 0.95 for n, w in tiers.items()})
    # D, sold for 300,000 before its claim: the claim is on the net loss, due in month max(0, 3 - 2) = 1
    assert rows[(rows["loan"] == 3) & (rows["event"] == "claim")]["month"].unique().tolist() == [1]
    assert paid(3, "claim") == pytest.approx({n: 0.45 * 700_000 * w for n, w in tiers.items()})
    assert rows[(rows["loan"] == 3) & (rows["event"] == "dispose")].empty
    # E, compensated and sold: nothing left to happen, it does not enter
    assert sorted(rows["loan"].unique()) == [0, 1, 2, 3]


def test_the_fast_engine_gives_the_hand_figures() -> None:
    run = rp.simulate(small_book(), paths=3)
    nodes = run.nodes()
    province = nodes[(nodes["path"] == 0) & (nodes["node"] == "hunan")].iloc[0]
    paid = 0.45 * 0.5 * (2e6 + 700_000)  # claims of B and D after month 0; C's was paid before
    clawed = 0.45 * 0.5 * 2e6 * 0.1425 + 450_000 * 0.5 * 0.1425  # B's and C's recoveries
    assert province["payout_net"] == pytest.approx(paid - clawed)
    paths = run.paths()
    assert (paths["originated"] == 5e6).all() and (paths["n_defaults"] == 3).all()


@pytest.mark.parametrize(("name", "overrides"), [
    ("hunan-baseline", {}),
    ("hunan-baseline", {"rules.compensation_basis": "net_loss", "rules.write_off_months": 6, "credit.annual_pd": 0.08}),
    ("hunan-baseline", {"credit.annual_pd": 0.2, "funds.scale": 0.05, "rules.shortfall": "parent"}),
])
def test_both_engines_agree_on_the_example_register(name: str, overrides: dict) -> None:
    s = rp.load(name, set=overrides, book=EXAMPLE, valuation_month=VALUATION)
    st_ = compile_structure(s)
    assert st_.book is not None and st_.book.defaulted.any() and (st_.book.paid > 0).any()
    check_block(st_, sample_block(st_, 11, 0, 4))


def test_both_engines_agree_with_banks_and_their_deposits() -> None:
    base = rp.load("hunan-2022-pool")
    rows = list(csv.DictReader(EXAMPLE.open(encoding="utf-8")))
    for k, row in enumerate(rows):
        row["bank"] = base.banks[k % len(base.banks)].id
    s = rp.load(base.canonical(), set={"rules.deposits": "per_bank"}, book=register_bytes(rows), valuation_month=VALUATION)
    st_ = compile_structure(s)
    check_block(st_, sample_block(st_, 3, 0, 3))


def test_the_register_replaces_initial_loans_and_fixes_sizes_and_banks() -> None:
    s = rp.load("hunan-baseline", book=EXAMPLE, valuation_month=VALUATION)
    st_ = compile_structure(s)
    fates = sample_block(st_, 5, 0, 2)
    n = st_.book.n
    assert st_.initial_loans.sum() == n and n == len(s.book.loans) - 0  # every example loan enters
    for k in range(2):
        first = slice(fates.path_start[k], fates.path_start[k] + n)
        assert (fates.size[first] == st_.book.size).all() and (fates.orig[first] == -1).all()
        assert (fates.default_month[first][st_.book.defaulted] == 0).all()
    again = rp.simulate(s, paths=500, seed=5)
    assert again.summary.fund.sufficiency == rp.simulate(s, paths=500, seed=5).summary.fund.sufficiency


def register_bytes(rows: list[dict[str, object]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def example_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(EXAMPLE.open(encoding="utf-8")))[:40]


def test_an_excel_register_reads_as_its_csv() -> None:
    rows = example_rows()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append([float(row[c]) if c in ("principal", "tenor_months") else row[c] or None for c in COLUMNS])
    data = io.BytesIO()
    book.save(data)
    base = rp.load("hunan-baseline")
    assert with_register(base, data.getvalue(), VALUATION).book == with_register(base, register_bytes(rows), VALUATION).book


# every bad value a column can be given, with what makes it bad
BAD = {
    "loan_id": [""],
    "county": ["999999", ""],
    "bank": ["icbc"],
    "principal": ["-5", "0", "abc", "nan", ""],
    "start_month": ["2027-01", "2026-13", "soon", ""],
    "tenor_months": ["0", "2.5", "x", ""],
    "status": ["closed", ""],
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 39), st.sampled_from(sorted(BAD)), st.data()), min_size=1, max_size=4,
                unique_by=lambda x: x[0]))
def test_every_bad_cell_is_named_by_line_and_column_and_nothing_runs(cells) -> None:
    rows = example_rows()
    expected = set()
    for k, column, data in cells:
        rows[k][column] = data.draw(st.sampled_from(BAD[column]))
        expected.add((k + 2, column))  # line 1 is the header
    with pytest.raises(ScenarioError) as err:
        rp.load("hunan-baseline", book=register_bytes(rows), valuation_month=VALUATION)
    named = {p.path for p in err.value.problems}
    for line, column in expected:
        assert any(path.startswith(f"register line {line}") and (column in path or "column" not in path) for path in named), \
            (line, column, named)
    assert all(path.startswith("register line ") for path in named), named


def test_duplicates_dates_and_statuses_are_checked_against_each_other() -> None:
    rows = example_rows()
    rows[3]["loan_id"] = rows[2]["loan_id"]
    rows[5].update(status="performing", start_month="2020-01", tenor_months="12", default_month="")  # ended in 2020
    rows[6].update(status="defaulted", default_month="")
    rows[7].update(status="performing", default_month="2026-01")
    rows[8].update(status="defaulted", default_month="2027-02")
    with pytest.raises(ScenarioError) as err:
        rp.load("hunan-baseline", book=register_bytes(rows), valuation_month=VALUATION)
    assert [p.path for p in err.value.problems] == [
        "register line 5, column loan_id", "register line 7, column tenor_months", "register line 8, column default_month",
        "register line 9, column default_month", "register line 10, column default_month"]


def test_a_header_without_a_required_column_or_with_an_unknown_one() -> None:
    with pytest.raises(ScenarioError) as err:
        rp.load("minimal", book=b"loan_id,county,size\nA,430104,1\n", valuation_month=VALUATION)
    paths = [p.path for p in err.value.problems]
    assert "register line 1, column size" in paths and paths.count("register line 1") == 4  # four required missing


def test_the_command_line_runs_a_register_and_refuses_a_bad_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert cli.main(["run", "--book", str(EXAMPLE), "--valuation-month", VALUATION, "--paths", "500", "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["scenario"]["book"]["valuation_month"] == VALUATION  # the run holds its register
    capsys.readouterr()
    assert cli.main(["verify", str(out / "manifest.json")]) == 0
    assert capsys.readouterr().out == "identical\n"
    page = rp.render_report(out, "en")  # the report says the initial book is the register, by status
    book = page[page.index("loan register (the initial book)"):]
    assert "valued at 2026-12" in book and ">369<" in book and ">15<" in book and ">16<" in book
    rows = example_rows()
    rows[0]["principal"] = "-1"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(register_bytes(rows))
    assert cli.main(["run", "--book", str(bad), "--valuation-month", VALUATION, "--paths", "250"]) == 2
    assert "bad.csv line 2, column principal" in capsys.readouterr().err
