"""riskpool: a stochastic simulator of three-tier IP pledge-loan risk-compensation funds."""

from .files.provenance import __version__

__all__ = ["__version__"]
