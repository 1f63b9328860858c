"""riskpool: a stochastic simulator of three-tier IP pledge-loan risk-compensation funds."""

__version__ = "0.1.0"
