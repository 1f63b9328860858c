"""Importance sampling against plain Monte Carlo for rare fund shortfalls, at equal path counts.

Two scenarios: the static correlated book of tests/test_importance.py, whose shortfall
probability is known exactly (the Vasicek mixture), and the bundled Hunan baseline. Each method
runs with several seeds. For the whole fund and each tier the table gives the mean p_shortfall,
the spread of the estimates over seeds (the realised standard error), the root-mean-square
reported standard error and the relative standard error; then the effective sample size and the
mean run time (shift search and summary included). The variance-reduction factor divides the
plain estimator's variance, ``p (1 - p) / paths`` at the exact ``p`` where known, by the
importance-sampling estimator's (its realised variance, and its mean reported one).

    python benchmarks/bench_importance.py [--paths 10000] [--seeds 10] [--baseline-seeds 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

from riskpool import scenario
from riskpool.engine import simulate
from riskpool.metrics import summarize

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_importance import N_LOANS, PD, RHO, K
from test_reference import PART, conditional_pd, gaussian_mixture, static_book

GROUPS = ("fund", "province", "city", "county")


def runs(s: scenario.Scenario, method: str, paths: int, seeds: int) -> tuple[dict[str, np.ndarray], float, float]:
    """Per group, (p_shortfall, reported se) for each seed; the mean ESS and the mean seconds."""
    figures: dict[str, list[tuple[float, float]]] = {g: [] for g in GROUPS}
    ess, seconds = [], []
    for seed in range(1, seeds + 1):
        t0 = time.perf_counter()
        summary = summarize(simulate(s, paths=paths, seed=seed, method=method))
        seconds.append(time.perf_counter() - t0)
        for g in GROUPS:
            v = summary["fund"] if g == "fund" else summary["tiers"][g]
            if v["nodes"]:  # a tier without funds has no figures
                figures[g].append((v["p_shortfall"], v["p_shortfall_se"]))
        ess.append(summary.get("sampling", {}).get("ess", paths))
    return {g: np.array(v) for g, v in figures.items() if v}, float(np.mean(ess)), float(np.mean(seconds))


def report(label: str, s: scenario.Scenario, paths: int, seeds: int, exact: float | None) -> None:
    simulate(s, paths=250)  # load the compiled kernels
    results = {method: runs(s, method, paths, seeds) for method in ("plain", "importance")}
    print(f"\n{label}: {paths:,} paths x {seeds} seeds" + (f"; exact fund p = {exact:.4g}" if exact else ""))
    print(f"{'group':<9}{'method':<11}{'mean p':>11}{'realised se':>13}{'reported se':>13}{'rel se':>9}"
          f"{'VRF realised':>14}{'VRF reported':>14}")
    for g in results["importance"][0]:
        p = exact if exact is not None and g == "fund" else results["importance"][0][g][:, 0].mean()
        plain_variance = p * (1 - p) / paths
        for method, (figures, _, _) in results.items():
            est, se = figures[g][:, 0], figures[g][:, 1]
            spread, rms = est.std(ddof=1), np.sqrt(np.mean(se**2))
            gain = f"{plain_variance / spread**2:>14.1f}{plain_variance / rms**2:>14.1f}" if method == "importance" else ""
            print(f"{g:<9}{method:<11}{est.mean():>11.4g}{spread:>13.3g}{rms:>13.3g}{rms / est.mean():>9.1%}{gain}")
    for method, (_, ess, seconds) in results.items():
        print(f"{method}: ESS {ess:,.1f}, {seconds:.2f} s a run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--baseline-seeds", type=int, default=5)
    args = parser.parse_args()
    exact = gaussian_mixture(lambda z: stats.binom.sf(K, N_LOANS, conditional_pd(z, PD, RHO)))
    report(f"static book (n {N_LOANS}, pd {PD}, rho {RHO}, k {K})", static_book(N_LOANS, PD, (K + 0.5) * PART, rho=RHO),
           args.paths, args.seeds, exact)
    report("Hunan baseline", scenario.load(None), args.paths, args.baseline_seeds, None)


if __name__ == "__main__":
    main()
