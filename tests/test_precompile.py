"""The kernels compiled at installation are all that any run needs (riskpool.precompile).

A first run after ``pip install .`` compiles nothing only if precompiling passed every kernel
every argument type that runs pass: here the kernels are compiled into an empty cache by
``python -m riskpool.precompile`` alone, and a second process then runs every bundled scenario
(plain and importance sampling, both engines' inputs, parameter uncertainty, fate reuse) from
that cache and counts what numba had to compile anew.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RUNS = """
import json
import riskpool as rp
from riskpool import precompile
from riskpool.scenario import bundled_names
for name in bundled_names():
    rp.simulate(rp.load(name), paths=300, seed=2)
rp.simulate(rp.load("minimal", set={"credit.annual_pd": 0.001}), paths=300, method="importance")
rp.simulate(rp.load("minimal", set={"uncertainty.annual_pd.low": 0.01, "uncertainty.annual_pd.high": 0.03}), paths=600)
store = rp.FateStore()
for scale in (1.0, 0.5):
    rp.simulate(rp.load("hunan-2022-pool", set={"funds.scale": scale}), paths=300, fate_store=store)
misses = {name: sum(k.stats.cache_misses.values()) for name, k in precompile.kernels().items()}
hits = {name: sum(k.stats.cache_hits.values()) for name, k in precompile.kernels().items()}
print(json.dumps({"misses": misses, "hits": hits}))
"""


def run_python(code: list[str], cache: Path) -> str:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}, "NUMBA_CACHE_DIR": str(cache)}
    done = subprocess.run([sys.executable, *code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_runs_after_precompiling_compile_nothing(tmp_path: Path) -> None:
    printed = run_python(["-m", "riskpool.precompile"], tmp_path)
    assert "ledger._ledger_block" in printed and "fates.place_loans" in printed
    counts = json.loads(run_python(["-c", RUNS], tmp_path).splitlines()[-1])
    assert counts["hits"]["riskpool.ledger._ledger_block"] > 0  # the runs did load the cached kernels
    assert not any(counts["misses"].values()), counts["misses"]
