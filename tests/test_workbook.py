"""The Excel workbook of a run (riskpool.present.workbook): its sheets, units and figures."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest

import riskpool as rp
from riskpool import cli
from riskpool.present.labels import LANGS, t


@pytest.fixture(scope="module")
def run() -> rp.Run:
    return rp.simulate(rp.load("hunan-2022-pool", set={"simulation.indicators": True}), paths=300, seed=3)


def sheets(data: bytes) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return {s.title: list(s.iter_rows(values_only=True)) for s in book}


@pytest.mark.parametrize("lang", LANGS)
def test_every_sheet_with_units_in_its_headings(run: rp.Run, lang: str) -> None:
    book = sheets(run.workbook(lang))
    names = [t(f"workbook.sheet_{k}", lang) for k in ("summary", "nodes", "parties", "banks", "indicators")]
    assert list(book) == names
    yuan, share = f"({t('unit_yuan', lang)})", f"({t('workbook.unit_share', lang)})"
    summary_head = book[names[0]][0]
    assert f"{t('capital', lang)} {yuan}" in summary_head and f"{t('p_shortfall', lang)} {share}" in summary_head
    assert all(any(h.endswith(yuan) for h in rows[0]) for rows in book.values())  # money in every sheet
    assert all(h.endswith(yuan) for h in book[names[2]][0][1:])  # every party figure is money


def test_figures_are_the_summary_s(run: rp.Run) -> None:
    book = sheets(run.workbook("en"))
    s = run.summary
    fund = book["Summary"][1]
    assert fund[0] == t("fund", "en") and fund[2] == s.fund.p_shortfall and fund[6] == s.fund.capital
    nodes = {row[0]: row for row in book["Fund nodes"][1:]}
    assert list(nodes) == list(s.nodes)
    for node_id, v in s.nodes.items():
        assert nodes[node_id][4] == v.p_shortfall and nodes[node_id][9] == v.required_capital.q95
    banks = {row[0]: row for row in book["Banks"][1:]}
    assert list(banks) == list(s.banks) and all(banks[b][3] == v.p_shortfall for b, v in s.banks.items())
    years = book["Yearly indicators"][1:]
    assert len(years) == sum(len(v) for v in s.indicators.values())
    first = s.indicators[next(iter(s.indicators))][0]
    # a spreadsheet holds 15 significant digits (openpyxl writes them so): compare to that precision
    assert years[0][1:4] == pytest.approx((first.year, first.paid_mean, first.clawback_mean), rel=1e-14)


def test_a_plain_run_has_no_banks_or_indicators_sheet() -> None:
    names = list(sheets(rp.simulate(rp.load("minimal"), paths=250).workbook("zh")))
    assert names == [t(f"workbook.sheet_{k}", "zh") for k in ("summary", "nodes", "parties")]


def test_report_command_writes_the_workbook_of_a_run_folder_only(tmp_path: Path) -> None:
    assert cli.main(["run", "minimal", "--paths", "250", "--out", str(tmp_path / "run")]) == 0
    assert cli.main(["report", str(tmp_path / "run"), "--lang", "zh", "--out", str(tmp_path / "r.xlsx")]) == 0
    assert list(sheets((tmp_path / "r.xlsx").read_bytes()))[0] == "概要"
    assert cli.main(["size", "minimal", "--paths", "250", "--out", str(tmp_path / "size")]) == 0
    assert cli.main(["report", str(tmp_path / "size"), "--out", str(tmp_path / "s.xlsx")]) == 2
    assert not (tmp_path / "s.xlsx").exists()
