"""The engine's own kernels where it no longer calls SciPy / scikit-learn, against them on random inputs
(to 1e-9, relative for p-values), and a CLI run that imports neither (nor pandas)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance
from sklearn import metrics as skm

from model_governance.risk_tests import metrics

from .conftest import classification_schema, classification_table

TOL = 1e-9
REPO_ROOT = Path(__file__).resolve().parents[3]


def _close(got: float, want: float) -> bool:
    return bool(np.isclose(got, want, rtol=TOL, atol=1e-300) or abs(got - want) <= TOL * 1e-3)


def test_exact_ks_matches_scipy_on_random_sizes_ties_and_shifts() -> None:
    rng = np.random.default_rng(11)
    for trial in range(120):
        n1 = int(rng.integers(1, 1_500))
        n2 = n1 if trial % 3 == 0 else int(rng.integers(1, 1_500))
        shift = float(rng.choice([0.0, 0.05, 0.3, 2.0]))
        a, b = rng.normal(0, 1, n1), rng.normal(shift, 1, n2)
        if trial % 2:
            a, b = np.round(a, 1), np.round(b, 1)
        want = stats.ks_2samp(a, b)
        statistic, pvalue = metrics.ks_2samp_sorted(np.sort(a), np.sort(b))
        assert abs(statistic - want.statistic) <= 1e-12, (n1, n2, shift)
        assert _close(pvalue, want.pvalue), (n1, n2, shift, pvalue, want.pvalue)


@pytest.mark.parametrize(("n1", "n2"), [(10_000, 10_000), (2_000, 3_000), (9_999, 10_000)])
def test_exact_ks_at_the_limits_matches_scipy(n1: int, n2: int) -> None:
    rng = np.random.default_rng(n1 + 2 * n2)
    a, b = rng.normal(0, 1, n1), rng.normal(0.03, 1, n2)
    want = stats.ks_2samp(a, b)
    statistic, pvalue = metrics.ks_2samp_sorted(np.sort(a), np.sort(b))
    assert abs(statistic - want.statistic) <= 1e-12 and _close(pvalue, want.pvalue)


def test_ks_statistic_from_the_merge_matches_scipy_with_heavy_ties() -> None:
    rng = np.random.default_rng(12)
    for _ in range(20):
        a = np.sort(rng.integers(0, 5, int(rng.integers(1, 50_000))).astype(float))
        b = np.sort(rng.integers(0, 6, int(rng.integers(1, 50_000))).astype(float))
        assert abs(metrics.ks_statistic_sorted(a, b) - stats.ks_2samp(a, b).statistic) <= 1e-12


@pytest.mark.parametrize("n", [141, 5_000, 99_999, 100_001, 400_000])
def test_kstwo_sf_below_the_smirnov_branch_matches_scipy(n: int) -> None:
    # n*d^2 < 2.2: SciPy's 1 - CDF by Durbin's matrix (n <= 100,000, small d) or Pelz-Good.
    for nx2 in [0.005, 0.02, 0.1, 0.3, 0.75, 1.2, 2.0, 2.19]:
        d = math.sqrt(nx2 / n)
        assert _close(metrics.kstwo_sf(d, n), float(stats.kstwo.sf(d, n))), (n, nx2)
    for t in [0.4, 0.6, 0.9, 1.0]:  # Ruben-Gambino: n*d <= 1
        assert _close(metrics.kstwo_sf(t / n, n), float(stats.kstwo.sf(t / n, n))), (n, t)


@pytest.mark.parametrize("dof", [1, 2, 3, 7, 40, 333, 2_000, 9_999, 12_001])
def test_chi2_sf_matches_scipy(dof: int) -> None:
    for x in [1e-9, 0.01, 0.5, 1.0, dof / 2, dof - 1, dof, dof + 1, 1.5 * dof, 3 * dof, 10 * dof + 50, 1_400]:
        assert _close(metrics.chi2_sf(x, dof), float(stats.chi2.sf(x, dof))), (dof, x)


def test_chi2_homogeneity_and_js_match_scipy_on_random_tables() -> None:
    rng = np.random.default_rng(13)
    for _ in range(40):
        counts = rng.integers(0, 2_000, (2, int(rng.integers(2, 40))))
        counts[:, counts.sum(axis=0) == 0] = 1
        want = stats.chi2_contingency(counts, correction=False)
        statistic, pvalue, dof = metrics.chi2_homogeneity(counts[0], counts[1])
        assert abs(statistic - want.statistic) <= TOL * max(1.0, want.statistic)
        assert _close(pvalue, want.pvalue) and dof == want.dof
        js = float(distance.jensenshannon(counts[0], counts[1], base=2))
        assert abs(metrics.js_distance(counts[0], counts[1]) - js) <= TOL


def test_auc_and_regression_metrics_match_scikit_learn_on_random_data() -> None:
    rng = np.random.default_rng(14)
    for _ in range(20):
        n = int(rng.integers(10, 40_000))
        y = rng.random(n) < rng.uniform(0.05, 0.95)
        if y.all() or not y.any():
            continue
        s = np.round(rng.random(n) + 0.3 * y, int(rng.integers(1, 6)))
        assert abs(metrics.roc_auc(y, s) - skm.roc_auc_score(y, s)) <= TOL
        t = rng.normal(5, 2, n)
        p = t + rng.normal(0, 1, n)
        got = metrics.regression_metrics(t, p)
        assert abs(got["performance.r2"] - skm.r2_score(t, p)) <= TOL
        assert abs(got["performance.rmse"] - skm.root_mean_squared_error(t, p)) <= TOL
        assert abs(got["performance.mae"] - skm.mean_absolute_error(t, p)) <= TOL
    constant = np.full(10, 3.0)
    r2 = metrics.regression_metrics(constant, constant)["performance.r2"]
    assert r2 == skm.r2_score(constant, constant)


def test_a_cli_run_imports_no_scipy_sklearn_or_pandas(tmp_path: Path) -> None:
    """Nor ``pyarrow.compute``, whose import wraps every Arrow kernel (the engine calls them directly)."""
    import pyarrow.parquet as pq

    pq.write_table(classification_table(1_000, seed=1), tmp_path / "base.parquet")
    pq.write_table(classification_table(1_000, seed=2, shift=0.2), tmp_path / "comp.parquet")
    (tmp_path / "schema.json").write_text(json.dumps(classification_schema()))
    code = (
        "import sys, runpy\n"
        "sys.argv = ['risk_tests', '--baseline', 'base.parquet', '--comparator', 'comp.parquet',"
        " '--schema', 'schema.json', '--out', 'report.json']\n"
        "try:\n"
        "    runpy.run_module('model_governance.risk_tests', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "print(sorted(m for m in ('scipy', 'sklearn', 'pandas', 'pyarrow.compute') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
    assert json.loads((tmp_path / "report.json").read_text())["results"]
