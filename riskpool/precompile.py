"""Compile the numba kernels and keep them in numba's cache beside the package's files.

``pip install .`` runs this on the built package (setup.py), so that the wheel carries the
compiled kernels and the first run after installation loads them instead of compiling them for
about 20 seconds. numba uses a cached kernel only where the source file's contents, numba's
version, Python's version and the processor are those it was compiled for; anywhere else it
compiles the kernel as before (docs/performance.md, "The first run after installation").
By hand: ``python -m riskpool.precompile``.
"""

from __future__ import annotations

from numba.core.registry import CPUDispatcher

from . import engine, fates, ledger
from .scenario import bundled_names, load

# Between them these scenarios pass every kernel each argument type that any scenario passes
# (tests/test_precompile.py runs every bundled scenario after them and finds nothing new to compile).
SCENARIOS = ("minimal", "hunan-2022-pool")


def kernels() -> dict[str, CPUDispatcher]:
    """The package's compiled kernels that a run calls from Python, by qualified name."""
    found = {}
    for module in (fates, ledger):
        for name, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and value.py_func.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = value
    return found


def precompile() -> list[str]:
    """Run one path of each of ``SCENARIOS`` (compiling, or loading, every kernel they call);
    return the kernels that now have a compiled version."""
    assert set(SCENARIOS) <= set(bundled_names())
    for name in SCENARIOS:
        engine.simulate(load(name), paths=1, seed=1)
    return sorted(name for name, kernel in kernels().items() if kernel.signatures)


if __name__ == "__main__":
    print("riskpool: compiled and cached", ", ".join(precompile()))
