"""``python -m riskpool`` is the ``riskpool`` command."""

from .cli import entry

entry()
