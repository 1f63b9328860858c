"""Numbers as readers take them, in one place: money, per cent, months, multiples, and the scenario's
values as given.

Money follows each audience's habit: 万元 and 亿元 in Chinese (a budget line of 2.96 亿元), CNY
millions in English; the terminal's tables print bare CNY millions under a title that says so.
A figure that does not exist is "–" on a page and "-" in the terminal.
"""

from __future__ import annotations

import math

from .labels import Lang, t

MISSING = "–"  # on a page (the report, the app)
TERMINAL_MISSING = "-"  # in the terminal's tables
WAN, YI, MILLION = 1e4, 1e8, 1e6  # 万, 亿 and a million yuan


def millions(yuan: float | None, missing: str = MISSING) -> str:
    """Yuan as bare CNY millions, the unit analysts read budgets in.

    >>> millions(296_000_000), millions(None, TERMINAL_MISSING)
    ('296.0', '-')
    """
    return missing if yuan is None else f"{yuan / MILLION:,.1f}"


def money(yuan: float | None, lang: Lang) -> str:
    """A sum of money as analysts read it: 万元/亿元 in Chinese, CNY millions in English.

    >>> money(296_000_000, "zh"), money(4_335_070, "zh"), money(296_000_000, "en")
    ('2.96 亿元', '433.5 万元', 'CNY 296.0 m')
    """
    if yuan is None or (isinstance(yuan, float) and math.isnan(yuan)):
        return MISSING
    if lang == "zh":
        return f"{yuan / YI:,.2f} 亿元" if abs(yuan) >= YI else f"{yuan / WAN:,.1f} 万元"
    return f"CNY {millions(yuan)} m"


def money_axis(lang: Lang) -> tuple[float, str]:
    """Divisor and unit of money on chart axes: 万元 in Chinese, CNY m in English."""
    return (WAN, "万元") if lang == "zh" else (MILLION, "CNY m")


def percent(p: float | None, se: float | None = None, digits: int = 1, sign: str = " %",
            missing: str = MISSING) -> str:
    """A probability in per cent, with its standard error when given (the terminal writes ``%`` unspaced).

    >>> percent(0.9975, 0.0011, digits=2), percent(0.9975, sign="%"), percent(None)
    ('99.75 % ± 0.11', '99.8%', '–')
    """
    if p is None:
        return missing
    text = f"{100 * p:.{digits}f}{sign}"
    return text if se is None else f"{text} {plus_minus(se, digits)}"


def plus_minus(se: float, digits: int = 1) -> str:
    """A standard error in percentage points: ``± 0.11``."""
    return f"± {100 * se:.{digits}f}"


def month_label(m: int | None, lang: Lang) -> str:
    """A month of the horizon, counted from 0.

    >>> month_label(14, "zh"), month_label(14, "en"), month_label(None, "en")
    ('第 14 月', 'month 14', 'none')
    """
    return t("none", lang) if m is None else t("month_number", lang, m=m)


def times(x: float | None, digits: int = 1, sign: str = "×", missing: str = MISSING) -> str:
    """A multiple (a lending multiplier, a scale of the funds).

    >>> times(3.14159), times(2, digits=3), times(1.5, sign="x"), times(None)
    ('3.1×', '2.000×', '1.5x', '–')
    """
    return missing if x is None else f"{x:,.{digits}f}{sign}"


def as_given(x: object, missing: str = MISSING) -> str:
    """A scenario's number as it was given, without rounding it away (six significant digits).

    >>> as_given(0.015), as_given(18.0), as_given(250), as_given(None)
    ('0.015', '18', '250', '–')
    """
    if x is None:
        return missing
    return f"{x:.6g}" if isinstance(x, float) else str(x)


def rate_as_given(x: float) -> str:
    """A scenario's fraction in per cent, as given (1.5 %, 45 %).

    >>> rate_as_given(0.015), rate_as_given(0.45)
    ('1.5 %', '45 %')
    """
    return f"{100 * x:.6g} %"
