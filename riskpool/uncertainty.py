"""Parameter uncertainty: each block of paths draws its own PD, correlation and recovery mean.

With ``[uncertainty]`` (docs/model.md section 2.7) RNG block ``b`` draws one uniform per uncertain
parameter from its stream ``parameters`` and samples its fates with those values; the rules
(the ledger) are the scenario's. A block's parameters depend only on the seed and the block, so
results do not depend on the number of workers, and a degenerate spread (low = high = the
scenario's value) gives the scenario's own fates, bit for bit.
"""

from __future__ import annotations

import math

from .fates import block_streams
from .scenario import Scenario, Spread, validate, with_parameters
from .structure import Structure, compile_structure


def draw(spread: Spread, u: float) -> float:
    """The value of ``spread`` at the uniform ``u``: low + (high - low) u, or values[floor(u n)]."""
    if spread.values is not None:
        return spread.values[min(int(u * len(spread.values)), len(spread.values) - 1)]
    return spread.low + (spread.high - spread.low) * u


def block_parameters(s: Scenario, seed: int, block: int) -> dict[str, float]:
    """The uncertain parameters of RNG block ``block`` (scenario path: value); empty without any."""
    spreads = s.uncertainty.spreads()
    if not spreads:
        return {}
    u = block_streams(seed, block)["parameters"].random(len(spreads))
    return {path: draw(spread, float(x)) for (path, spread), x in zip(spreads, u)}


def block_structure(s: Scenario, st: Structure, seed: int, block: int) -> Structure:
    """The structure a block's fates are sampled with: the scenario's, with the block's parameters."""
    values = block_parameters(s, seed, block)
    return compile_structure(validate(with_parameters(s, values))) if values else st


def split(block_p: list[float], block_paths: list[int]) -> dict[str, float]:
    """Spread of the blocks' shortfall shares: in all, its Monte Carlo part (the binomial sd a
    block of that many paths has at its own share) and the rest, due to the parameters."""
    b = len(block_p)
    mean = sum(block_p) / b
    total = math.sqrt(sum((p - mean) ** 2 for p in block_p) / (b - 1)) if b > 1 else 0.0
    mc = math.sqrt(sum(p * (1 - p) / n for p, n in zip(block_p, block_paths)) / b)
    return {"total_sd": total, "monte_carlo_sd": mc, "parameter_sd": math.sqrt(max(total**2 - mc**2, 0.0))}
