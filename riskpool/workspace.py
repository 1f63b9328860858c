"""Named scenarios kept together, and saved and read back as one file (a workspace).

The file is JSON: ``{"format": "riskpool-workspace", "version": 1, "scenarios": [{"name": ...,
"scenario": {...}}, ...]}``, each scenario in its canonical form (the form whose SHA-256 names a
run), in the order they were added. Reading one validates every scenario as a scenario file is
validated; a problem is named by the scenario's name and the field (docs/analysts.md, "The
scenario workspace").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .scenario import MAX_UPLOAD_BYTES, Problem, Scenario, ScenarioError, validate

FORMAT = "riskpool-workspace"
VERSION = 1
MAX_SCENARIOS = 20
MAX_NAME = 60
MAX_BYTES = MAX_SCENARIOS * MAX_UPLOAD_BYTES


@dataclass
class Workspace:
    """Scenarios by name, in the order they were added."""

    scenarios: dict[str, Scenario] = field(default_factory=dict)

    def add(self, name: str, scenario: Scenario) -> None:
        """Keep ``scenario`` under ``name`` (a scenario already of that name is replaced)."""
        name = name.strip()
        if not name or len(name) > MAX_NAME:
            raise ScenarioError([Problem("workspace.name", name, f"a name of 1 to {MAX_NAME} characters")])
        if name not in self.scenarios and len(self.scenarios) >= MAX_SCENARIOS:
            raise ScenarioError([Problem("workspace", name, f"at most {MAX_SCENARIOS} scenarios")])
        self.scenarios[name] = scenario

    def remove(self, name: str) -> None:
        self.scenarios.pop(name, None)

    def to_json(self) -> str:
        entries = [{"name": name, "scenario": s.canonical()} for name, s in self.scenarios.items()]
        return json.dumps({"format": FORMAT, "version": VERSION, "scenarios": entries}, ensure_ascii=False, indent=1) + "\n"

    @classmethod
    def from_json(cls, data: bytes | str) -> Workspace:
        """Read a saved workspace; every problem of every scenario is reported, nothing is kept
        until all are valid."""
        if len(data) > MAX_BYTES:
            raise ScenarioError([Problem("workspace", f"{len(data)} bytes", f"at most {MAX_BYTES} bytes")])
        try:
            raw = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ScenarioError([Problem("workspace", "", f"a JSON file ({exc})")]) from None
        entries = _entries(raw)
        problems: list[Problem] = []
        found = cls()
        for k, entry in enumerate(entries):
            name = entry.get("name") if isinstance(entry, dict) else None
            where = f"workspace.scenarios[{k}]"
            if not isinstance(name, str) or not isinstance(entry.get("scenario"), dict):
                problems.append(Problem(where, entry, 'a table {"name": text, "scenario": a scenario}'))
                continue
            if name.strip() in found.scenarios:
                problems.append(Problem(f"{where}.name", name, "a name not used by an earlier scenario"))
                continue
            try:
                found.add(name, validate(entry["scenario"]))
            except ScenarioError as exc:
                problems += [Problem(f"workspace.{name}.{p.path}", p.value, p.allowed) for p in exc.problems]
        if problems:
            raise ScenarioError(problems)
        return found


def _entries(raw: Any) -> list[Any]:
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ScenarioError([Problem("workspace.format", raw.get("format") if isinstance(raw, dict) else raw,
                                     f'"{FORMAT}" (a file saved by riskpool\'s workspace)')])
    if raw.get("version") != VERSION:
        raise ScenarioError([Problem("workspace.version", raw.get("version"), f"{VERSION}")])
    entries = raw.get("scenarios")
    if not isinstance(entries, list) or len(entries) > MAX_SCENARIOS:
        raise ScenarioError([Problem("workspace.scenarios", entries, f"a list of at most {MAX_SCENARIOS} scenarios")])
    return entries
