"""``python -m riskpool`` is the ``riskpool`` command."""

from .cli import entry

if __name__ == "__main__":  # guarded: Dask and spawned workers import this module
    entry()
