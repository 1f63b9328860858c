"""Sweep axes: ``--grid PATH=START:STOP:COUNT`` and ``--values PATH=a,b,c``, and their product.

Points are numbered in the order of the full cartesian product, the first axis varying slowest,
so point ``k`` means the same parameters on every machine and after every resume.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..scenario import Problem, ScenarioError, literal, parse_value


@dataclass(frozen=True)
class Axis:
    """One swept scenario path and its values."""

    path: str
    values: tuple[Any, ...]


def parse_grid(item: str) -> Axis:
    """``credit.annual_pd=0.01:0.10:10`` -> 10 evenly spaced values, both ends included."""
    path, spec = _split(item, "grid", "PATH=START:STOP:COUNT")
    parts = spec.split(":")
    try:
        start, stop, count = float(parts[0]), float(parts[1]), int(parts[2])
        if len(parts) != 3:
            raise ValueError
    except (ValueError, IndexError):
        raise ScenarioError([Problem(f"grid {path}", spec, "expected START:STOP:COUNT, e.g. 0.01:0.10:10")]) from None
    if not (math.isfinite(start) and math.isfinite(stop)) or not 1 <= count <= 10_000:
        raise ScenarioError([Problem(f"grid {path}", spec, "START and STOP finite, COUNT from 1 to 10000")])
    values = np.linspace(start, stop, count) if count > 1 else np.array([start])
    return Axis(path, tuple(float(v) for v in values))


def parse_values(item: str) -> Axis:
    """``rules.shortfall=queue,parent,bank`` -> the listed values, each read as a TOML literal."""
    path, spec = _split(item, "values", "PATH=a,b,c")
    values = tuple(parse_value(v.strip()) for v in spec.split(",") if v.strip())
    if not values:
        raise ScenarioError([Problem(f"values {path}", spec, "give at least one value: PATH=a,b,c")])
    return Axis(path, values)


def _split(item: str, option: str, form: str) -> tuple[str, str]:
    if "=" not in item:
        raise ScenarioError([Problem(option, item, f"expected {form}")])
    path, spec = item.split("=", 1)
    return path.strip(), spec.strip()


def product(axes: list[Axis]) -> list[dict[str, Any]]:
    """Every combination of axis values, the first axis varying slowest."""
    paths = [a.path for a in axes]
    if len(set(paths)) != len(paths):
        raise ScenarioError([Problem("axes", paths, "each path may be swept only once")])
    return [dict(zip(paths, combo)) for combo in itertools.product(*(a.values for a in axes))]


def overrides(point: dict[str, Any]) -> list[str]:
    """A point as ``--set`` overrides (values written back as TOML literals)."""
    return [f"{path}={literal(value)}" for path, value in point.items()]
