"""Importance sampling of the systematic factors (docs/model.md, "Importance sampling").

Validation: the static correlated book of ``test_reference`` (one province fund, ``n = 200``
initial loans of 1,000,000 yuan, horizon 1 year, no recovery, only the systematic factor
correlating defaults) with a fund of ``(k + 1/2)`` claims, ``k = 63``: it runs short exactly when
more than ``k`` loans default, with probability ``int binom.sf(k, n, p(z)) phi(z) dz`` (about
1.4e-4). With 10,000 paths the importance-sampling estimate must lie within 3 of its standard
errors of that value with a relative standard error below 10 %; the plain estimator's relative
error at the same path count (``sqrt((1 - p) / (n p))``, about 86 %) is computed beside it, and
the variance-reduction factor (recorded in docs/validation.md) must exceed 100. Run
``pytest -s tests/test_importance.py`` to see the figures.

Then the plumbing: unit weights and unchanged files under plain sampling, the weighted quantile
against numpy's, the effective sample size, the same files with one or two workers and through
``riskpool verify``, and the choice ``auto`` makes.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, special, stats

from riskpool import cli, scenario
from riskpool.engine import simulate
from riskpool.fates import BLOCK_PATHS
from riskpool.importance import AUTO_THRESHOLD, effective_sample_size, systematic_shift
from riskpool.metrics import QUANTILE_METHOD, summarize, weighted_quantile
from riskpool.structure import compile_structure

if str(Path(__file__).resolve().parent) not in sys.path:  # tests/ has no __init__.py
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_reference import PART, conditional_pd, gaussian_mixture, static_book

N_LOANS, PD, RHO, K = 200, 0.03, 0.15, 63
VALIDATION_PATHS = 10_000
Z_LIMIT = 3.0  # standard errors
RESULT_FILES = ("summary.json", "paths.parquet", "nodes.parquet", "months.parquet")
N_PATHS = 3 * BLOCK_PATHS + 11  # three full RNG blocks and a partial one
REFERENCE_RUN = Path(__file__).resolve().parents[1] / "reports" / "hunan-baseline"


@pytest.fixture(scope="module")
def rare_book() -> scenario.Scenario:
    return static_book(N_LOANS, PD, (K + 0.5) * PART, rho=RHO)


@pytest.fixture(scope="module")
def exact_p() -> float:
    return gaussian_mixture(lambda z: stats.binom.sf(K, N_LOANS, conditional_pd(z, PD, RHO)))


# --------------------------------------------------------------------------- validation


def test_shift_is_the_mode_of_the_approximate_zero_variance_density(rare_book: scenario.Scenario) -> None:
    """Given Z = mu the fund is asked for K x part, K with mean and variance n p(mu) (Poisson):
    the shift maximises log phi(mu) + log Phi((n p(mu) - k - 1/2) / sqrt(n p(mu)))."""
    def minus_log_density(mu: float) -> float:
        mean = N_LOANS * conditional_pd(mu, PD, RHO)
        return 0.5 * mu * mu - float(special.log_ndtr((mean - K - 0.5) / math.sqrt(mean)))

    mode = optimize.minimize_scalar(minus_log_density, bounds=(-6, 0), method="bounded", options={"xatol": 1e-8}).x
    shift = systematic_shift(compile_structure(rare_book))
    assert shift.shape == (1,)
    assert shift[0] == pytest.approx(mode, abs=2e-4)
    # near the large-pool boundary n p(mu) = k + 1/2, where the expected claims reach the fund
    boundary = (special.ndtri(PD) - math.sqrt(1 - RHO) * special.ndtri((K + 0.5) / N_LOANS)) / math.sqrt(RHO)
    assert abs(shift[0] - boundary) < 0.1


def test_rare_shortfall_against_the_vasicek_mixture(rare_book: scenario.Scenario, exact_p: float) -> None:
    assert 1e-5 < exact_p < 1e-3
    weighted = summarize(simulate(rare_book, paths=VALIDATION_PATHS, seed=601, method="importance"))
    plain = summarize(simulate(rare_book, paths=VALIDATION_PATHS, seed=601))
    p, se = weighted.fund.p_shortfall, weighted.fund.p_shortfall_se
    z = (p - exact_p) / se
    plain_rel_se = math.sqrt((1 - exact_p) / (VALIDATION_PATHS * exact_p))
    factor = exact_p * (1 - exact_p) / VALIDATION_PATHS / se**2
    print(f"\nIS exact={exact_p:.6g} importance={p:.6g} se={se:.3g} rel_se={se / p:.2%} z={z:+.2f} "
          f"ess={weighted.sampling.ess:.1f} ess_shortfall={weighted.sampling.ess_shortfall:.1f} "
          f"shift={weighted.sampling.shift}; plain={plain.fund.p_shortfall:.6g} "
          f"(rel se at exact p {plain_rel_se:.1%}); variance reduction {factor:.0f}x")
    assert abs(z) <= Z_LIMIT
    assert se / p < 0.10
    assert plain_rel_se > 0.5  # the plain estimator cannot resolve this probability at this path count
    assert factor > 100


# --------------------------------------------------------------------------- plain stays plain


def test_plain_weights_are_one_and_files_unweighted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    res = simulate(scenario.load("minimal", ["funds.scale=0.05"]), paths=300, seed=5)
    assert res.sampling.method == "plain"
    assert np.array_equal(res.weight, np.ones(300))
    assert cli.main(["run", "minimal", "--paths", "300", "--seed", "5", "--out", str(tmp_path), "--json"]) == 0
    capsys.readouterr()
    assert "weight" not in pq.read_schema(tmp_path / "paths.parquet").names
    assert "sampling" not in json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sampling"] == {"method": "plain", "requested": "plain"}


# --------------------------------------------------------------------------- weighted quantiles

values = st.lists(st.one_of(st.integers(-3, 3).map(float), st.floats(-1e6, 1e6)), min_size=1, max_size=60)
levels = st.one_of(st.sampled_from([0.05, 0.5, 0.95, 0.99]), st.floats(0.0, 1.0))


@settings(max_examples=300, deadline=None)
@given(values, levels)
def test_weighted_quantile_with_unit_weights_is_numpys(x: list[float], q: float) -> None:
    data = np.array(x)
    ones = np.ones(len(data))
    assert weighted_quantile(data, q, ones) == np.quantile(data, q, method=QUANTILE_METHOD)
    table = np.column_stack([data, data[::-1]])  # along axis 0, as for months.parquet
    expected = np.quantile(table, [q, 0.5], axis=0, method=QUANTILE_METHOD)
    assert np.array_equal(weighted_quantile(table, [q, 0.5], ones, axis=0), expected)


def test_weighted_quantile_reads_the_tail_on_its_side() -> None:
    x = np.array([4.0, 1.0, 3.0, 2.0])
    w = np.array([0.5, 2.0, 0.5, 1.0])  # sorted: 1 (2.0), 2 (1.0), 3 (0.5), 4 (0.5); n = 4
    # below 1/2: sum of weights at or below v over n; from 1/2: 1 - sum of weights above v over n
    assert weighted_quantile(x, 0.25, w) == 1.0  # 2.0 / 4 >= 0.25
    assert weighted_quantile(x, 0.49, w) == 1.0  # 2.0 / 4 >= 0.49
    assert weighted_quantile(x, 0.75, w) == 2.0  # 1 - 1.0 / 4 >= 0.75; at 1: 1 - 2.0 / 4 < 0.75
    assert weighted_quantile(x, 0.9, w) == 4.0  # at 3: 1 - 0.5 / 4 = 0.875 < 0.9
    # weights too light to reach a low level: the largest value
    assert weighted_quantile(x, 0.3, np.full(4, 0.25)) == 4.0


def test_weighted_quantile_of_a_shifted_sample() -> None:
    """Draws of N(3, 1) weighted back to N(0, 1): the 99.9 % quantile is near Phi^-1(0.999)."""
    mu, n = 3.0, 20_000
    z = np.random.default_rng(7).standard_normal(n) + mu
    w = np.exp(-mu * z + mu * mu / 2)
    q = float(weighted_quantile(z, 0.999, w))
    tail = float(np.mean(w * (z > q)))  # the estimated probability above it
    assert tail <= 0.001 < tail + float(w[z == q][0]) / n
    assert q == pytest.approx(special.ndtri(0.999), abs=0.03)


# --------------------------------------------------------------------------- outputs and reruns


def importance_run(out: Path, *args: str) -> dict[str, bytes]:
    rc = cli.main(["run", "minimal", "--paths", str(N_PATHS), "--seed", "3", "--set", "funds.scale=0.2",
                   "--method", "importance", *args, "--out", str(out), "--json"])
    assert rc == 0
    return {name: (out / name).read_bytes() for name in RESULT_FILES}


@pytest.fixture(scope="module")
def weighted_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same importance-sampled run with one and with two workers, in ``w1`` and ``w2``."""
    root = tmp_path_factory.mktemp("importance")
    for workers in ("1", "2"):
        importance_run(root / f"w{workers}", "--workers", workers)
    return root


def test_weights_ess_and_figures_are_consistent(weighted_runs: Path) -> None:
    summary = json.loads((weighted_runs / "w1" / "summary.json").read_text(encoding="utf-8"))
    paths = pq.read_table(weighted_runs / "w1" / "paths.parquet").to_pydict()
    w, short = np.array(paths["weight"]), np.array(paths["shortfall"])
    sampling = summary["sampling"]
    assert sampling["method"] == "importance" and min(sampling["shift"]) < 0
    assert sampling["ess"] == pytest.approx(effective_sample_size(w), rel=1e-12)
    assert sampling["ess"] == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=1e-12)
    assert 0 < sampling["ess"] < N_PATHS and sampling["weight_mean"] == pytest.approx(w.mean())
    fund = summary["fund"]
    assert short.any()
    assert fund["p_shortfall"] == pytest.approx(np.mean(w * short), rel=1e-12)
    assert fund["p_shortfall_se"] == pytest.approx(np.std(w * short) / math.sqrt(N_PATHS), rel=1e-9)
    assert fund["survival"][-1] == pytest.approx(1 - fund["p_shortfall"], abs=1e-15)
    assert summary["parties"]["fund"]["loss_mean"] == pytest.approx(np.mean(w * np.array(paths["loss_fund"])))


def test_one_or_two_workers_give_identical_files(weighted_runs: Path) -> None:
    one, two = (weighted_runs / f"w{k}" for k in "12")
    for name in RESULT_FILES:
        assert (one / name).read_bytes() == (two / name).read_bytes(), f"{name} differs"


def test_verify_reproduces_an_importance_run(weighted_runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = weighted_runs / "w2" / "manifest.json"
    assert json.loads(manifest.read_text(encoding="utf-8"))["sampling"]["method"] == "importance"
    capsys.readouterr()
    assert cli.main(["verify", str(manifest)]) == 0
    assert capsys.readouterr().out == "identical\n"


def test_verify_names_an_edited_shift(weighted_runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = Path(shutil.copytree(weighted_runs / "w1", tmp_path / "run"))
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    manifest["sampling"]["shift"][0] -= 0.5
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    capsys.readouterr()
    assert cli.main(["verify", str(run / "manifest.json")]) == 1
    assert capsys.readouterr().out.startswith("differs: manifest: its importance-sampling shift")


# --------------------------------------------------------------------------- auto


def test_auto_picks_importance_for_a_rare_shortfall(rare_book: scenario.Scenario) -> None:
    res = simulate(rare_book, paths=2000, seed=11, method="auto")
    assert res.sampling.method == "importance" and res.sampling.requested == "auto"
    assert res.sampling.pilot_p_shortfall < AUTO_THRESHOLD
    assert res.sampling.manifest()["auto_threshold"] == AUTO_THRESHOLD


def test_auto_keeps_plain_when_importance_sees_no_shortfall_either() -> None:
    """The bundled minimal scenario: no shortfall in 500 plain paths, nor under the shift."""
    s = scenario.load("minimal")
    res = simulate(s, paths=500, seed=1, method="auto")
    assert res.sampling.pilot_p_shortfall == 0.0
    assert (res.sampling.method, res.sampling.requested) == ("plain", "auto")
    assert systematic_shift(compile_structure(s)).any()  # the importance run was made, and set aside


def test_auto_keeps_plain_for_the_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The committed reference run (2,000 paths, fund p_shortfall 0.25 %): auto writes the same data."""
    out = tmp_path / "auto"
    assert cli.main(["run", "--paths", "2000", "--method", "auto", "--out", str(out), "--json"]) == 0
    capsys.readouterr()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    reference = json.loads((REFERENCE_RUN / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sampling"]["method"] == "plain" and manifest["sampling"]["requested"] == "auto"
    assert manifest["sampling"]["pilot_p_shortfall"] >= AUTO_THRESHOLD
    assert manifest["data"] == reference["data"]
