"""Chinese and English words and number formats shared by the web app, the charts and the report.

Money follows each audience's habit: 万元 and 亿元 in Chinese (a budget line of 2.96 亿元),
CNY millions in English. Every label lives in LABELS once; ``t(key, lang)`` picks the language.
"""

from __future__ import annotations

import math
from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
WAN, YI = 1e4, 1e8  # 万 and 亿 yuan

LABELS: dict[str, tuple[str, str]] = {  # key: (zh, en)
    # regions, tiers and parties
    "fund": ("风险补偿资金池（合计）", "Whole fund"),
    "province": ("省级", "Province"),
    "city": ("市级", "City"),
    "county": ("县级", "County"),
    "tier": ("层级", "Tier"),
    "node": ("资金节点", "Fund node"),
    "name": ("名称", "Name"),
    "bank": ("银行", "Bank"),
    "guarantor": ("担保机构", "Guarantor"),
    "insurer": ("保险机构", "Insurer"),
    "evaluator": ("评估机构", "Evaluator"),
    "party": ("承担方", "Party"),
    "party_fund": ("补偿资金池", "Fund"),
    # metrics
    "sufficiency": ("充足率（期内不缺口概率）", "Sufficiency (no shortfall within the horizon)"),
    "p_shortfall": ("缺口概率", "P(shortfall)"),
    "first_shortfall": ("首次缺口月份（中位数）", "Median month of first shortfall"),
    "capital": ("现有资金", "Capital now"),
    "required_q95": ("95% 置信所需资金", "Capital needed at 95 %"),
    "required_q99": ("99% 置信所需资金", "Capital needed at 99 %"),
    "unpaid_mean": ("平均未付补偿", "Mean unpaid compensation"),
    "payout_mean": ("平均净补偿支出", "Mean net payout"),
    "multiplier": ("贷款放大倍数", "Lending multiplier"),
    "loss_mean": ("平均损失", "Mean loss"),
    "var99": ("99% 风险价值", "VaR 99 %"),
    "es99": ("99% 预期缺口", "ES 99 %"),
    "month": ("月份", "Month"),
    "balance": ("资金余额", "Fund balance"),
    "median": ("中位数", "Median"),
    "band_5_95": ("5%–95% 区间", "5–95 % band"),
    "survival": ("未出现缺口的概率", "Probability of no shortfall yet"),
    "none": ("无", "none"),
    "paths": ("模拟路径", "paths"),
    "seed": ("随机种子", "seed"),
    "of_paths": ("{n:,} 条路径，种子 {seed}", "{n:,} paths, seed {seed}"),
    # chart titles
    "fan_title": ("资金余额扇形图（按月）", "Fund balance by month (fan chart)"),
    "survival_title": ("资金不出现缺口的概率", "Survival of the fund: no shortfall yet"),
    "parties_title": ("各方损失（扣除追偿返还）", "Losses by party (net of clawbacks)"),
    "regions_title": ("各地区资金缺口概率", "Shortfall probability by region"),
    "heatmap_title": ("参数网格上的缺口概率（黑线：95% 充足）", "P(shortfall) over the grid (black line: 95 % sufficient)"),
    "contour_95": ("95% 充足", "95 % sufficient"),
    "no_fund": ("无本级资金", "no fund of its own"),
}


def t(key: str, lang: Lang, **values: object) -> str:
    """The label ``key`` in ``lang``, formatted with ``values`` when it has placeholders."""
    text = LABELS[key][0 if lang == "zh" else 1]
    return text.format(**values) if values else text


def money(yuan: float | None, lang: Lang) -> str:
    """A sum of money as analysts read it: 万元/亿元 in Chinese, CNY millions in English.

    >>> money(296_000_000, "zh"), money(4_335_070, "zh"), money(296_000_000, "en")
    ('2.96 亿元', '433.5 万元', 'CNY 296.0 m')
    """
    if yuan is None or (isinstance(yuan, float) and math.isnan(yuan)):
        return "–"
    if lang == "zh":
        return f"{yuan / YI:,.2f} 亿元" if abs(yuan) >= YI else f"{yuan / WAN:,.1f} 万元"
    return f"CNY {yuan / 1e6:,.1f} m"


def money_axis(lang: Lang) -> tuple[float, str]:
    """Divisor and unit of money on chart axes: 万元 in Chinese, CNY m in English."""
    return (WAN, "万元") if lang == "zh" else (1e6, "CNY m")


def percent(p: float | None, se: float | None = None, digits: int = 1) -> str:
    """A probability in per cent, with its standard error when given.

    >>> percent(0.9975, 0.0011, digits=2)
    '99.75 % ± 0.11'
    """
    if p is None:
        return "–"
    text = f"{100 * p:.{digits}f} %"
    return text if se is None else f"{text} ± {100 * se:.{digits}f}"


def month_label(m: int | None, lang: Lang) -> str:
    if m is None:
        return t("none", lang)
    return f"第 {m} 月" if lang == "zh" else f"month {m}"
