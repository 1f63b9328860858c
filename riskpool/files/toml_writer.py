"""Write scenario data as readable TOML (the standard library reads TOML but cannot write it).

Used for the bundled scenarios (scripts/make_scenarios.py) and for the web app's download of an
edited scenario. Keys whose value is None are left out, as the scenario format has no null.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_LINE = 100  # longer lists are written one item a line
MONEY_KEYS = frozenset({"fund", "annual_topup", "max_loan", "per_loan_cap", "capital", "loan_size_mean", "max_covered",
                        "credit_line", "annual_cap", "target_balance", "topup_budget"})


def toml_value(key: str, value: Any) -> str:
    """A TOML literal; whole money amounts get digit groups (65_000_000)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and key in MONEY_KEYS and value.is_integer() and math.isfinite(value):
        value = int(value)
    if isinstance(value, int):
        return f"{value:_}" if key in MONEY_KEYS else str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(key, v) for v in value) + "]"
    raise TypeError(f"cannot write {key} = {value!r} as TOML")


def key_value(key: str, value: Any) -> str:
    """``key = value``; a long list is written one item a line."""
    line = f"{key} = {toml_value(key, value)}"
    if len(line) <= MAX_LINE or not isinstance(value, list):
        return line
    return "\n".join([f"{key} = [", *(f"    {toml_value(key, v)}," for v in value), "]"])


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def table_lines(table: dict[str, Any], prefix: str) -> list[str]:
    """Scalars of a table, then its sub-tables and arrays of tables, without blank lines between."""
    lines = [key_value(k, v) for k, v in table.items()
             if v is not None and not isinstance(v, dict) and not _is_table_list(v)]
    for key, value in table.items():
        if isinstance(value, dict):
            lines += [f"[{prefix}.{key}]", *table_lines(value, f"{prefix}.{key}")]
        elif _is_table_list(value):
            for item in value:
                lines += [f"[[{prefix}.{key}]]", *table_lines(item, f"{prefix}.{key}")]
    return lines


def to_toml(data: dict[str, Any], header: str = "") -> str:
    """Top-level tables in order, after ``header`` as comment lines; a list of tables becomes
    ``[[name]]`` blocks."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for name, value in data.items():
        blocks = value if isinstance(value, list) else [value]
        opener = f"[[{name}]]" if isinstance(value, list) else f"[{name}]"
        for block in blocks:
            only_subtables = all(isinstance(v, dict) for v in block.values())
            lines.append("")
            if isinstance(value, list) or not only_subtables:  # [parties] alone is noise
                lines.append(opener)
            lines += table_lines(block, name)
    return "\n".join(lines).lstrip("\n") + "\n"
