"""The package's layers, as its folders show them (docs/researchers.md, "The Python API").

The model's core (flat modules) imports nothing around it; ``files/`` (result files) sits on the
core; ``study/`` (many runs) and ``present/`` (words, views, charts) on files; ``report/`` on
those; the shells (``api``, ``run``, ``reproduce``, ``cli``, ``webapp/``) on everything. No module
imports another's private name, and no two modules import each other at load time.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "riskpool"
SHELLS = {"riskpool", "riskpool.api", "riskpool.run", "riskpool.reproduce", "riskpool.cli", "riskpool.__main__"}
LEVEL = {"core": 0, "files": 1, "study": 2, "present": 2, "report": 3, "shell": 4}


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if path.name == "_version.py":  # written at build time
            continue
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def layer(module: str) -> str:
    parts = module.split(".")
    if module in SHELLS or (len(parts) > 1 and parts[1] == "webapp"):
        return "shell"
    return parts[1] if len(parts) > 1 and parts[1] in LEVEL else "core"


def imports(module: str, path: Path, found: dict[str, Path]) -> list[tuple[str, str, bool]]:
    """(imported module, imported name, at load time) of every ``from ... import`` in riskpool."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    at_load = {id(node) for node in tree.body}
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        if target.split(".")[0] != "riskpool":
            continue
        for alias in node.names:
            as_module = f"{target}.{alias.name}"
            out.append((as_module if as_module in found else target, alias.name, id(node) in at_load))
    return out


def test_no_module_imports_a_private_name_of_another() -> None:
    found = modules()
    private = [(m, t, name) for m, p in found.items() for t, name, _ in imports(m, p, found)
               if name.startswith("_") and not name.startswith("__") and t != m]
    assert private == []


def test_layers_import_downwards_only() -> None:
    found = modules()
    upward = [(m, t) for m, p in found.items() for t, _, _ in imports(m, p, found)
              if LEVEL[layer(t)] > LEVEL[layer(m)] or {layer(m), layer(t)} == {"study", "present"}]
    assert upward == []


def test_no_import_cycle_at_load_time() -> None:
    found = modules()
    edges = {m: {t for t, _, at_load in imports(m, p, found) if at_load and t in found and t != m}
             for m, p in found.items()}
    cycles = []

    def visit(module: str, stack: list[str], done: set[str]) -> None:
        for target in edges[module]:
            if target in stack:
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in done:
                done.add(target)
                visit(target, [*stack, target], done)

    for module in edges:
        visit(module, [module], set())
    assert cycles == []


def test_the_layers_are_there() -> None:
    """A check of the checks: every layer has modules, so the tests above test something."""
    kinds = {layer(m) for m in modules()}
    assert kinds == set(LEVEL)
