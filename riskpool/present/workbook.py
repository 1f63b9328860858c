"""A run's results as an Excel workbook (openpyxl), for an office that works in spreadsheets.

Sheets: the summary (the whole fund and each tier), the fund nodes, the parties, the banks (with
``[[banks]]``) and the yearly indicators (with ``simulation.indicators``). Every money figure is
in yuan, every probability a fraction shown as a percentage, and each column's heading carries
its unit, in the language asked for (docs/analysts.md, "Exports").
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from ..summary import Summary
from .labels import Lang, t
from .views import banks, groups, parties

YUAN, SHARE, MONTH, COUNT, TEXT, MULTIPLE, YEAR = "yuan", "share", "month", "count", "text", "multiple", "year"
FORMATS = {YUAN: "#,##0", SHARE: "0.00%", MONTH: "0", COUNT: "#,##0.0", TEXT: "@", MULTIPLE: "0.00", YEAR: "0"}
UNIT_LABELS = {YUAN: "unit_yuan", SHARE: "workbook.unit_share", MONTH: "workbook.unit_month",
               COUNT: "workbook.unit_count", MULTIPLE: "workbook.unit_multiple"}
Column = tuple[str, str]  # heading label key, unit


def heading(key: str, unit: str, lang: Lang) -> str:
    """A column's heading with its unit: ``资金 (元)``, ``P(shortfall) (%)``."""
    return t(key, lang) if unit in (TEXT, YEAR) else f"{t(key, lang)} ({t(UNIT_LABELS[unit], lang)})"


def workbook_bytes(summary: Summary, lang: Lang) -> bytes:
    """The workbook of a run's summary, as the bytes of an .xlsx file."""
    book = Workbook()
    book.remove(book.active)
    _sheet(book, t("workbook.sheet_summary", lang), *_summary(summary, lang), lang)
    _sheet(book, t("workbook.sheet_nodes", lang), *_nodes(summary, lang), lang)
    _sheet(book, t("workbook.sheet_parties", lang), *_parties(summary, lang), lang)
    if summary.banks:
        _sheet(book, t("workbook.sheet_banks", lang), *_banks(summary), lang)
    if summary.indicators:
        _sheet(book, t("workbook.sheet_indicators", lang), *_indicators(summary), lang)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(book: Workbook, title: str, columns: Sequence[Column], rows: list[list], lang: Lang) -> None:
    sheet = book.create_sheet(title[:31])  # Excel's limit on a sheet's name
    sheet.append([heading(key, unit, lang) for key, unit in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    for j, (_, unit) in enumerate(columns, start=1):
        letter = get_column_letter(j)
        for cell in sheet[letter][1:]:
            cell.number_format = FORMATS[unit]
        sheet.column_dimensions[letter].width = max(12, min(40, len(str(sheet[f"{letter}1"].value)) + 4))
    sheet.freeze_panes = "A2"


def _summary(summary: Summary, lang: Lang) -> tuple[list[Column], list[list]]:
    columns = [("report.scope", TEXT), ("sufficiency", SHARE), ("p_shortfall", SHARE), ("workbook.se", SHARE),
               ("first_shortfall", MONTH), ("unpaid_mean", YUAN), ("capital", YUAN), ("required_q95", YUAN),
               ("required_q99", YUAN), ("workbook.nodes", COUNT)]
    rows = [[t(key, lang), v.sufficiency, v.p_shortfall, v.p_shortfall_se, v.first_shortfall_month.p50,
             v.unpaid_mean, v.capital, v.required_capital.q95, v.required_capital.q99, v.nodes]
            for key, v in groups(summary)]
    return columns, rows


def _nodes(summary: Summary, lang: Lang) -> tuple[list[Column], list[list]]:
    columns = [("node", TEXT), ("param.regions.name", TEXT), ("param.regions.tier", TEXT), ("capital", YUAN),
               ("p_shortfall", SHARE), ("workbook.se", SHARE), ("first_shortfall", MONTH), ("unpaid_mean", YUAN),
               ("payout_mean", YUAN), ("required_q95", YUAN), ("required_q99", YUAN), ("workbook.final_balance", YUAN)]
    rows = [[node_id, v.name, t(v.tier, lang), v.capital, v.p_shortfall, v.p_shortfall_se, v.first_shortfall_month.p50,
             v.unpaid_mean, v.payout_net.mean, v.required_capital.q95, v.required_capital.q99, v.final_balance_mean]
            for node_id, v in summary.nodes.items()]
    return columns, rows


def _parties(summary: Summary, lang: Lang) -> tuple[list[Column], list[list]]:
    columns = [("party", TEXT), ("loss_mean", YUAN), ("var99", YUAN), ("es99", YUAN)]
    rows = [[t("party_fund" if p == "fund" else p, lang), v.loss_mean, v.var99, v.es99] for p, v in parties(summary)]
    return columns, rows


def _banks(summary: Summary) -> tuple[list[Column], list[list]]:
    columns = [("bank", TEXT), ("param.banks.name", TEXT), ("param.banks.credit_line", YUAN), ("p_shortfall", SHARE),
               ("first_shortfall", MONTH), ("report.bank_originated", YUAN), ("report.bank_fund_paid", YUAN),
               ("report.bank_loss", YUAN), ("unpaid_mean", YUAN), ("report.bank_suspended", COUNT),
               ("report.bank_refused", COUNT), ("report.bank_p_breaker", SHARE)]
    rows = [[bank_id, v.name, v.credit_line, v.p_shortfall, v.first_shortfall_month_p50, v.originated_mean,
             v.fund_paid_mean, v.loss_mean, v.unpaid_mean, v.suspended_mean, v.refused_mean, v.p_breaker]
            for bank_id, v in banks(summary)]
    return columns, rows


def _indicators(summary: Summary) -> tuple[list[Column], list[list]]:
    columns = [("node", TEXT), ("workbook.year", YEAR), ("workbook.paid", YUAN), ("workbook.clawback", YUAN),
               ("workbook.defaulted", YUAN), ("workbook.originated", YUAN), ("workbook.npl", YUAN),
               ("workbook.outstanding", YUAN), ("workbook.balance_end", YUAN), ("workbook.compensation_rate", SHARE),
               ("workbook.recovery_rate", SHARE), ("workbook.leverage", MULTIPLE), ("workbook.npl_ratio", SHARE)]
    rows = [[node_id, y.year, y.paid_mean, y.clawback_mean, y.defaulted_mean, y.originated_mean, y.npl_mean,
             y.outstanding_mean, y.balance_mean, y.compensation_rate, y.recovery_rate, y.leverage, y.npl_ratio]
            for node_id, years in (summary.indicators or {}).items() for y in years]
    return columns, rows
