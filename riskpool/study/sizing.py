"""How much money is enough: the smallest fund scale at which sufficiency reaches a target.

Sufficiency is estimated on common random numbers (the same seed at every scale). The leverage
cap is lifted while sizing (``keep_leverage=False``, the default): the cap depends on the very
capital being sized, and with it a smaller fund would also lend less and could look
sufficient at any size, down to zero. Without the cap every scale makes the same loans, so
sufficiency rises with the scale and the search is a bisection on the estimate. Where it rises
path by path (``monotone_in_scale``), a scale simulates only the paths that the scales tried
before leave undecided (docs/model.md section 8.5). The Monte Carlo uncertainty of the answer
is the range of scales over which the target lies inside the estimate's 95 % interval: the
smallest scale whose sufficiency reaches ``target + 1.96 se`` and the smallest that reaches
``target - 1.96 se``, with ``se = sqrt(target (1 - target) / paths)``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import scenario as scenario_mod
from ..engine import simulate
from ..fates import BLOCK_PATHS
from ..fatestore import FateStore
from ..files.atomic import atomic_write, json_text
from ..metrics import Z95
from ..scenario import Problem, ScenarioError
from ..structure import PARENT, SLOT_TIERS, Structure, compile_structure

MAX_SCALE = 1024.0
RELATIVE_TOLERANCE = 1e-3
ANSWER_FILE = "size.json"


@dataclass
class SizeResult:
    target: float
    what: str  # "whole fund", "tier city", "node changsha"
    scale: float | None  # None: not reachable by scaling up to MAX_SCALE
    scale_low: float | None
    scale_high: float | None
    sufficiency: float | None  # estimated at `scale`
    sufficiency_se: float | None
    capital_now: float  # initial balances of the scaled funds
    paths: int
    seed: int
    evaluations: int

    @property
    def capital_needed(self) -> float | None:
        return None if self.scale is None else self.scale * self.capital_now

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["capital_needed"] = self.capital_needed
        return out

    def write(self, path: Path) -> None:
        """The answer as JSON (``size.json`` of ``riskpool size --out``)."""
        atomic_write(path, lambda p: p.write_text(json_text(self.as_dict()), encoding="utf-8"))


def record(base: scenario_mod.Scenario, target: float, node: str | None, tier: str | None, paths: int, seed: int,
           keep_leverage: bool) -> dict[str, Any]:
    """The manifest's account of a sizing search: what verify needs to rerun it."""
    return {
        "kind": "size",
        "sizing": {"target": target, "node": node, "tier": tier, "paths": paths, "seed": seed,
                   "keep_leverage": keep_leverage, "base_sha256": base.sha256(), "max_scale": MAX_SCALE,
                   "relative_tolerance": RELATIVE_TOLERANCE},
        "base_scenario": base.canonical(),
    }


class Sizer:
    """Sufficiency of one fund, tier or node as a function of the scale of its funds (cached)."""

    def __init__(self, raw: dict[str, Any], node: str | None, tier: str | None, paths: int, seed: int, workers: int,
                 keep_leverage: bool = False, progress: Callable[[int, int], None] | None = None):
        raw = copy.deepcopy(raw)
        if not keep_leverage:
            raw.setdefault("rules", {})["leverage"] = 0
        self.raw, self.paths, self.seed, self.workers = raw, paths, seed, workers
        base = scenario_mod.validate(copy.deepcopy(raw))
        ids = [r.id for r in base.regions if r.fund is not None]
        tiers = {r.id: r.tier for r in base.regions}
        if node is not None and node not in ids:
            raise ScenarioError([Problem("node", node, f"not a region with a fund; choose one of {', '.join(ids[:8])}...")])
        if tier is not None and tier not in SLOT_TIERS:
            raise ScenarioError([Problem("tier", tier, "must be province, city or county")])
        if tier is not None and not any(tiers[i] == tier for i in ids):
            raise ScenarioError([Problem("tier", tier, "no region of this tier has a fund")])
        self.scaled = [i for i in ids if (node is None or i == node) and (tier is None or tiers[i] == tier)]
        self.what = f"node {node}" if node else f"tier {tier}" if tier else "whole fund"
        st = compile_structure(base)
        self.members = np.array([i in self.scaled for i in st.node_ids])
        self.capital_now = float(sum(r.fund for r in base.regions if r.id in self.scaled))
        self.cache: dict[float, np.ndarray] = {}
        self.store = FateStore()  # every scale has the same fates: sampled once, reused by each step
        self.progress = progress  # called with (scales tried, 0) after each
        # per path, where sufficiency is monotone in the scale: the smallest scale found sufficient
        # and the largest found short, which decide the path at every scale above and below them
        self.monotone = monotone_in_scale(st)
        self.sufficient_from = np.full(paths, np.inf)
        self.short_up_to = np.full(paths, -np.inf)

    def scenario_at(self, scale: float) -> scenario_mod.Scenario:
        raw = copy.deepcopy(self.raw)
        for region in raw["regions"]:
            if region.get("id") in self.scaled:
                region["fund"] = region["fund"] * scale
                region["annual_topup"] = region.get("annual_topup", 0) * scale
        return scenario_mod.validate(raw)

    def ok(self, scale: float) -> np.ndarray:
        """Per path: no shortfall at any measured node with the funds scaled by ``scale``."""
        if scale not in self.cache:
            known = self.sufficient_from <= scale
            todo = ~(known | (self.short_up_to >= scale)) if self.monotone else np.ones(self.paths, dtype=bool)
            ok = known.copy()
            if todo.any():
                # forking a pool costs more than a few hundred paths: only for a block per worker
                workers = self.workers if todo.sum() >= BLOCK_PATHS * self.workers else 1
                res = simulate(self.scenario_at(scale), paths=self.paths, seed=self.seed, workers=workers,
                               fate_store=self.store, only=None if todo.all() else todo)
                ok[todo] = (res.group_earliest(self.members) < 0)[todo]
                res.release()
            self.sufficient_from[ok] = np.minimum(self.sufficient_from[ok], scale)
            self.short_up_to[~ok] = np.maximum(self.short_up_to[~ok], scale)
            self.cache[scale] = ok
            if self.progress:
                self.progress(len(self.cache), 0)
        return self.cache[scale]

    def sufficiency(self, scale: float) -> float:
        return float(self.ok(scale).mean())

    def smallest_scale(self, level: float) -> float | None:
        """Smallest scale whose estimated sufficiency reaches ``level`` (bisection), None if none."""
        if self.sufficiency(0.0) >= level:
            return 0.0
        hi = 1.0
        while self.sufficiency(hi) < level:
            if hi >= MAX_SCALE:
                return None
            hi *= 2
        lo = 0.0 if hi == 1.0 else hi / 2
        while hi - lo > RELATIVE_TOLERANCE * hi:
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if self.sufficiency(mid) >= level else (mid, hi)
        return hi


def monotone_in_scale(st: Structure) -> bool:
    """Whether each path's sufficiency can only rise with the scale of the funds (docs/model.md
    section 8.5): the same loans at every scale, and no rule under which more money in a fund
    can leave it, or its parent, with less."""
    same_loans = st.rules.leverage == 0 and not (st.banks.leverage > 0).any()
    parent_with_caps = st.rules.shortfall == PARENT and bool((st.node_annual_cap > 0).any())
    return same_loans and not st.node_restore.any() and not parent_with_caps


def size(raw: dict[str, Any], target: float, *, node: str | None = None, tier: str | None = None,
         paths: int = 2000, seed: int = 0, workers: int = 1, keep_leverage: bool = False) -> SizeResult:
    """Find the scale of the chosen funds at which sufficiency reaches ``target``."""
    check_target(target)
    return search(Sizer(raw, node, tier, paths, seed, workers, keep_leverage), target)


def check_target(target: float) -> None:
    if not 0 < target < 1:
        raise ScenarioError([Problem("target", target, "must lie strictly between 0 and 1")])


def search(sizer: Sizer, target: float) -> SizeResult:
    """The answer of ``size`` for a prepared ``Sizer``: the scale and its 95 % interval."""
    check_target(target)
    paths = sizer.paths
    se = math.sqrt(target * (1 - target) / paths)
    scale = sizer.smallest_scale(target)
    low = sizer.smallest_scale(max(0.0, target - Z95 * se))
    high = sizer.smallest_scale(min(1.0, target + Z95 * se))
    estimate = None if scale is None else sizer.sufficiency(scale)
    return SizeResult(
        target=target, what=sizer.what, scale=scale, scale_low=low, scale_high=high,
        sufficiency=estimate,
        sufficiency_se=None if estimate is None else math.sqrt(estimate * (1 - estimate) / paths),
        capital_now=sizer.capital_now, paths=paths, seed=sizer.seed, evaluations=len(sizer.cache),
    )
