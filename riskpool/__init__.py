"""riskpool: a stochastic simulator of three-tier IP pledge-loan risk-compensation funds.

    >>> import riskpool as rp
    >>> s = rp.load("minimal", set={"credit.annual_pd": 0.04})
    >>> run = rp.simulate(s, paths=500, seed=1)
    >>> run.summary.fund.sufficiency
    1.0

The functions and result types are those of :mod:`riskpool.api` (docs/researchers.md). They are
imported on first use, so that ``import riskpool`` (and the command line's start) stays quick.
"""

from typing import Any

from .files.provenance import __version__

__all__ = ["Calibration", "FateStore", "Problem", "Run", "Scenario", "ScenarioError", "SensitivityResult", "SizeResult", "Summary", "SweepResult",
           "Trace", "Workspace", "__version__", "calibrate", "calibrated", "compare", "load", "open_sweep", "paired_se", "render_report", "sensitivity", "simulate", "size", "sweep", "to_toml",
           "trace", "verify", "write_report"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'riskpool' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
