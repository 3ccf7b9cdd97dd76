"""Every exact metric against SciPy / scikit-learn on generated data, to 1e-9 (relative for p-values)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats
from scipy.spatial import distance
from sklearn import metrics as skm
from sklearn.linear_model import LinearRegression

from model_governance.risk_tests import metrics

TOL = 1e-9


def _close(got: float, want: float) -> bool:
    # rtol for p-values that span hundreds of decades; atol for values near 0.
    return bool(np.isclose(got, want, rtol=TOL, atol=1e-300) or abs(got - want) <= TOL * 1e-3)


@pytest.mark.parametrize(
    ("n1", "n2", "shift", "decimals"),
    [
        (50, 70, 0.3, None),  # SciPy's exact method
        (10_000, 9_000, 0.02, None),  # exact at the limit
        (10_001, 12_000, 0.0, None),  # asymptotic from here on
        (30_000, 20_000, 0.03, 1),  # heavy ties
        (200_000, 150_000, 0.01, 3),
        (120_000, 80_000, 0.5, None),  # p-value far below 1e-300
    ],
)
def test_ks_matches_scipy(n1: int, n2: int, shift: float, decimals: int | None) -> None:
    rng = np.random.default_rng(n1 + n2)
    a, b = rng.normal(0, 1, n1), rng.normal(shift, 1.1, n2)
    if decimals is not None:
        a, b = np.round(a, decimals), np.round(b, decimals)
    want = stats.ks_2samp(a, b)
    statistic, pvalue = metrics.ks_2samp_sorted(np.sort(a), np.sort(b))
    assert abs(statistic - want.statistic) <= TOL
    assert _close(pvalue, want.pvalue), (pvalue, want.pvalue)


def test_ks_of_identical_constant_samples_is_zero_with_p_one() -> None:
    a = np.full(20_000, 3.0)
    want = stats.ks_2samp(a, a)
    assert metrics.ks_2samp_sorted(a, a) == (float(want.statistic), float(want.pvalue)) == (0.0, 1.0)


@pytest.mark.parametrize("n", [141, 999, 12_345, 100_000, 473_684, 1_000_000, 1_000_001, 3_000_000])
def test_kstwo_sf_matches_scipy_across_its_branches(n: int) -> None:
    # n*d^2 from 1 (SciPy's Pelz-Good branch) through the smirnov branch [2.2, 370) to 0 above it.
    grid = [1.0, 2.19, 2.2, 2.21, 3.0, 5.0, 10.0, 30.0, 100.0, 200.0, 369.0, 369.99, 370.0, 400.0]
    if 400_000 <= n <= 1_000_000:
        grid = [1.0, 2.2, 50.0, 369.99, 370.0]  # SciPy itself takes ~1 s a point here
    for nx2 in grid:
        d = float(np.sqrt(nx2 / n))
        want = float(stats.kstwo.sf(d, n))
        assert _close(metrics.kstwo_sf(d, n), want), (n, nx2, want)


def test_smirnov_series_matches_scipy_special() -> None:
    for n, d in [(141, 0.2), (5_000, 0.03), (250_000, 0.004), (999_999, 0.002)]:
        assert _close(metrics._smirnov_sf(n, d), float(special.smirnov(n, d)))


def test_psi_is_symmetrised_kl_of_floored_proportions() -> None:
    rng = np.random.default_rng(3)
    expected = rng.integers(0, 1000, 12)
    actual = rng.integers(0, 1000, 12)
    expected[3] = 0  # an empty bin exercises the floor
    e = np.maximum(expected / expected.sum(), metrics.PSI_FLOOR)
    a = np.maximum(actual / actual.sum(), metrics.PSI_FLOOR)
    want = float(np.sum(special.rel_entr(a, e)) + np.sum(special.rel_entr(e, a)))
    assert abs(metrics.psi(expected, actual) - want) <= TOL


def test_quantile_bins_count_every_value_once_right_closed() -> None:
    rng = np.random.default_rng(4)
    base = np.sort(np.round(rng.normal(size=5_000), 1))
    other = np.sort(rng.normal(0.2, 1, 4_000))
    edges = metrics.quantile_edges(base, 10)
    assert np.all(np.diff(edges) > 0)
    np.testing.assert_array_equal(edges, np.unique(np.quantile(base, np.arange(1, 10) / 10)))
    counts = metrics.bin_counts_sorted(other, edges)
    # np.digitize(right=True) puts x == edge in the lower bin, as the docstring promises.
    want = np.bincount(np.digitize(other, edges, right=True), minlength=edges.size + 1)
    np.testing.assert_array_equal(counts, want)
    assert counts.sum() == other.size


def test_chi2_and_js_match_scipy_with_an_unseen_category() -> None:
    a = np.array([400, 300, 200, 100, 0])
    b = np.array([380, 310, 190, 90, 30])  # the last category is unseen in the baseline
    statistic, pvalue, dof = metrics.chi2_homogeneity(a, b)
    want = stats.chi2_contingency(np.vstack([a, b]), correction=False)
    assert abs(statistic - want.statistic) <= TOL and _close(pvalue, want.pvalue) and dof == want.dof == 4
    # The same statistic by hand: sum (O - E)^2 / E with E from the margins.
    table = np.vstack([a, b]).astype(float)
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    assert abs(statistic - float(((table - expected) ** 2 / expected).sum())) <= TOL
    assert (
        abs(metrics.js_distance(a, b) - float(distance.jensenshannon(a / a.sum(), b / b.sum(), base=2)))
        <= TOL
    )


def test_confusion_rates_match_scikit_learn() -> None:
    rng = np.random.default_rng(5)
    y = rng.random(50_000) < 0.3
    pred = rng.random(50_000) < np.where(y, 0.7, 0.2)
    counts = metrics.confusion_counts(y, pred)
    assert counts.as_matrix() == skm.confusion_matrix(y, pred).tolist()
    assert abs(counts.accuracy() - skm.accuracy_score(y, pred)) <= TOL
    assert abs(counts.precision() - skm.precision_score(y, pred)) <= TOL
    assert abs(counts.recall() - skm.recall_score(y, pred)) <= TOL
    assert abs(counts.f1() - skm.f1_score(y, pred)) <= TOL


def test_undefined_rates_are_none_not_zero() -> None:
    none_predicted = metrics.confusion_counts(np.array([True, False]), np.array([False, False]))
    assert none_predicted.precision() is None
    assert none_predicted.recall() == 0.0
    no_positive = metrics.confusion_counts(np.array([False, False]), np.array([False, False]))
    assert no_positive.recall() is None and no_positive.f1() is None and no_positive.accuracy() == 1.0


def test_auc_and_regression_metrics_match_scikit_learn() -> None:
    rng = np.random.default_rng(6)
    y = rng.random(20_000) < 0.4
    s = np.round(rng.random(20_000) * 0.7 + np.where(y, 0.3, 0.0), 2)  # ties in the score
    assert abs(metrics.roc_auc(y, s) - skm.roc_auc_score(y, s)) <= TOL
    # AUC is the Mann-Whitney U over n1*n0, an independent check of the library itself.
    u = stats.mannwhitneyu(s[y], s[~y]).statistic
    assert abs(metrics.roc_auc(y, s) - u / (y.sum() * (~y).sum())) <= TOL
    t = rng.normal(10, 3, 20_000)
    p = t + rng.normal(0, 1, 20_000)
    got = metrics.regression_metrics(t, p)
    assert abs(got["performance.r2"] - skm.r2_score(t, p)) <= TOL
    assert abs(got["performance.rmse"] - np.sqrt(skm.mean_squared_error(t, p))) <= TOL
    assert abs(got["performance.mae"] - skm.mean_absolute_error(t, p)) <= TOL


def test_durbin_watson_matches_its_definition_and_statsmodels() -> None:
    rng = np.random.default_rng(7)
    e = rng.normal(size=5_000).cumsum() * 0.1 + rng.normal(size=5_000)
    by_loop = sum((e[i] - e[i - 1]) ** 2 for i in range(1, e.size)) / sum(x * x for x in e)
    assert abs(metrics.durbin_watson(e) - by_loop) <= TOL
    try:
        from statsmodels.stats.stattools import durbin_watson
    except ImportError:
        return  # statsmodels is only in the benchmark environment; the definition above is the check
    assert abs(metrics.durbin_watson(e) - float(durbin_watson(e))) <= TOL


def test_vif_matches_one_over_one_minus_r2_of_scikit_learn() -> None:
    rng = np.random.default_rng(8)
    x1 = rng.normal(1e4, 5, 30_000)  # a mean far above the spread: centring must keep precision
    x2 = 0.8 * (x1 - 1e4) + rng.normal(0, 2, 30_000)
    x3 = rng.uniform(size=30_000)
    x = np.column_stack([x1, x2, x3])
    centred = x - x.mean(axis=0)
    got = metrics.vif_from_cross_products(centred.T @ centred)
    for j in range(3):
        others = np.delete(x, j, axis=1)
        r2 = LinearRegression().fit(others, x[:, j]).score(others, x[:, j])
        assert abs(got[j] - 1 / (1 - r2)) <= TOL * max(1.0, got[j])


def test_vif_refuses_perfect_collinearity() -> None:
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=1000), rng.normal(size=1000)
    x = np.column_stack([a, b, a + 2 * b])
    centred = x - x.mean(axis=0)
    with pytest.raises(np.linalg.LinAlgError, match="multicollinearity"):
        metrics.vif_from_cross_products(centred.T @ centred)
