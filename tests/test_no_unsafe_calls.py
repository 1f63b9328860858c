"""No code path may evaluate, execute or unpickle anything: scenarios are parsed as TOML only."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "eval(": re.compile(r"(?<![\w.])eval\("),
    "exec(": re.compile(r"(?<![\w.])exec\("),
    "import pickle": re.compile(r"^\s*(import|from)\s+(c?pickle|dill|marshal)\b", re.M),
    "yaml.load": re.compile(r"yaml\.(unsafe_)?load\("),
    "shell=True": re.compile(r"shell\s*=\s*True"),
}


def sources() -> list[Path]:
    files = sorted((ROOT / "riskpool").rglob("*.py")) + sorted((ROOT / "scripts").rglob("*.py"))
    return files + [p for p in (ROOT / "app.py",) if p.exists()]


def test_the_package_has_no_eval_exec_pickle_or_yaml_load() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sources()
        for name, pattern in FORBIDDEN.items()
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert not found, found


def test_the_patterns_catch_what_they_should() -> None:
    """Guard the guard: each pattern matches its target and not a harmless look-alike."""
    assert FORBIDDEN["eval("].search("x = eval(text)") and not FORBIDDEN["eval("].search("model.evaluate(x)")
    assert FORBIDDEN["exec("].search("exec(code)") and not FORBIDDEN["exec("].search("con.execute(sql)")
    assert FORBIDDEN["import pickle"].search("import pickle\n") and FORBIDDEN["import pickle"].search("from dill import x")
    assert FORBIDDEN["yaml.load"].search("yaml.load(f)") and not FORBIDDEN["yaml.load"].search("yaml.safe_load(f)")
