"""The whole run on generated tables: every reported number against SciPy / scikit-learn on the raw data."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest
from scipy import stats
from scipy.spatial import distance
from sklearn import metrics as skm
from sklearn.linear_model import LinearRegression

from model_governance.risk_tests import RiskTestReport, TestResult, run_risk_tests
from model_governance.risk_tests.metrics import PSI_FLOOR

from .conftest import (
    CATEGORICAL,
    NUMERIC,
    classification_schema,
    classification_table,
    regression_schema,
    regression_table,
)

TOL = 1e-9


def _close(got: float | None, want: float) -> bool:
    assert got is not None
    return bool(np.isclose(got, want, rtol=TOL, atol=1e-300) or abs(got - want) <= 1e-12)


def _one(report: RiskTestReport, test: str, *, dataset: str | None = None, **where: Any) -> TestResult:
    found = [
        r
        for r in report.results
        if r.test == test
        and (dataset is None or r.dataset == dataset)
        and all(getattr(r, k) == v for k, v in where.items())
    ]
    assert len(found) == 1, (test, dataset, where, found)
    return found[0]


def _psi(e_counts: np.ndarray, a_counts: np.ndarray) -> float:
    e = np.maximum(e_counts / e_counts.sum(), PSI_FLOOR)
    a = np.maximum(a_counts / a_counts.sum(), PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


@pytest.fixture(scope="module")
def tables() -> tuple[pa.Table, pa.Table]:
    # 15k rows a side: above SciPy's exact-KS limit, so the engine's own KS path is the one checked.
    return classification_table(15_000, seed=1), classification_table(
        12_000, seed=2, shift=0.05, extra_category=True
    )


@pytest.fixture(scope="module")
def report(tables: tuple[pa.Table, pa.Table]) -> RiskTestReport:
    base, comp = tables
    return run_risk_tests(base, comp, classification_schema(), risk_level="High")


def test_performance_matches_scikit_learn(report: RiskTestReport, tables: tuple[pa.Table, pa.Table]) -> None:
    for dataset, table in zip(("baseline", "comparator"), tables, strict=True):
        y = table.column("label").to_numpy() == 1
        s = table.column("score").to_numpy()
        pred = s >= 0.5
        assert _close(_one(report, "performance.auc", dataset=dataset).value, skm.roc_auc_score(y, s))
        accuracy = _one(report, "performance.accuracy", dataset=dataset)
        assert _close(accuracy.value, skm.accuracy_score(y, pred))
        assert accuracy.details["confusion_matrix"] == skm.confusion_matrix(y, pred).tolist()
        assert _close(
            _one(report, "performance.precision", dataset=dataset).value, skm.precision_score(y, pred)
        )
        assert _close(_one(report, "performance.recall", dataset=dataset).value, skm.recall_score(y, pred))
        assert _close(_one(report, "performance.f1", dataset=dataset).value, skm.f1_score(y, pred))
    # Only the comparator's performance is gated; the baseline's is for comparison.
    assert _one(report, "performance.auc", dataset="comparator").threshold is not None
    assert _one(report, "performance.auc", dataset="baseline").status == "info"


def test_numeric_drift_and_csi_match_scipy(report: RiskTestReport, tables: tuple[pa.Table, pa.Table]) -> None:
    base, comp = tables
    for feature in NUMERIC:
        a, b = base.column(feature).to_numpy(), comp.column(feature).to_numpy()
        want = stats.ks_2samp(a, b)
        assert _close(_one(report, "data_drift.ks_statistic", feature=feature).value, want.statistic)
        assert _close(_one(report, "data_drift.ks_pvalue", feature=feature).value, want.pvalue)
        edges = np.unique(np.quantile(a, np.arange(1, 10) / 10))
        e = np.bincount(np.digitize(a, edges, right=True), minlength=edges.size + 1)
        c = np.bincount(np.digitize(b, edges, right=True), minlength=edges.size + 1)
        assert _close(_one(report, "stability.csi", feature=feature).value, _psi(e, c))
        chart = next(d for d in report.distributions if d.feature == feature)
        assert chart.baseline_counts == e.tolist() and chart.comparator_counts == c.tolist()
        assert chart.edges == edges.tolist() and len(chart.bins) == edges.size + 1


def test_concept_drift_and_psi_of_the_score(
    report: RiskTestReport, tables: tuple[pa.Table, pa.Table]
) -> None:
    base, comp = tables
    a, b = base.column("score").to_numpy(), comp.column("score").to_numpy()
    want = stats.ks_2samp(a, b)
    assert _close(_one(report, "concept_drift.ks_statistic").value, want.statistic)
    assert _close(_one(report, "concept_drift.ks_pvalue").value, want.pvalue)
    edges = np.unique(np.quantile(a, np.arange(1, 10) / 10))
    e = np.bincount(np.digitize(a, edges, right=True), minlength=edges.size + 1)
    c = np.bincount(np.digitize(b, edges, right=True), minlength=edges.size + 1)
    assert _close(_one(report, "stability.psi").value, _psi(e, c))
    assert report.score_distribution is not None and report.score_distribution.feature == "score"


def test_categorical_drift_matches_scipy_with_unseen_category(
    report: RiskTestReport, tables: tuple[pa.Table, pa.Table]
) -> None:
    base, comp = tables
    for feature in CATEGORICAL:
        a, b = (
            base.column(feature).to_numpy(zero_copy_only=False),
            comp.column(feature).to_numpy(zero_copy_only=False),
        )
        categories = sorted(set(a) | set(b))
        ca = np.array([(a == c).sum() for c in categories])
        cb = np.array([(b == c).sum() for c in categories])
        want = stats.chi2_contingency(np.vstack([ca, cb]), correction=False)
        chi2 = _one(report, "data_drift.chi2_pvalue", feature=feature)
        assert _close(chi2.value, want.pvalue) and _close(chi2.details["statistic"], want.statistic)
        js = distance.jensenshannon(ca / ca.sum(), cb / cb.sum(), base=2)
        assert _close(_one(report, "data_drift.js_distance", feature=feature).value, js)
        assert _close(_one(report, "stability.csi", feature=feature).value, _psi(ca, cb))
    region = _one(report, "data_drift.chi2_pvalue", feature="region")
    assert region.details["unseen_in_baseline"] == ["moon"]
    chart = next(d for d in report.distributions if d.feature == "region")
    assert chart.bins[-1] == "moon" and chart.baseline_counts[-1] == 0 and chart.comparator_counts[-1] > 0


def test_bias_matches_per_group_rates(report: RiskTestReport, tables: tuple[pa.Table, pa.Table]) -> None:
    comp = tables[1]
    y = comp.column("label").to_numpy() == 1
    pred = comp.column("score").to_numpy() >= 0.5
    for attribute, reference in (("gender", "male"), ("age_band", None)):
        groups = comp.column(attribute).to_numpy(zero_copy_only=False)
        if reference is None:  # no reference_groups entry: the largest group
            values, counts = np.unique(groups, return_counts=True)
            reference = str(values[np.argmax(counts)])
        ref = groups == reference
        ref_ppr, ref_tpr = pred[ref].mean(), skm.recall_score(y[ref], pred[ref])
        for group in sorted(set(groups) - {reference}):
            g = groups == group
            ppr = _one(report, "bias.ppr_disparity", feature=attribute, group=group)
            tpr = _one(report, "bias.tpr_disparity", feature=attribute, group=group)
            assert _close(ppr.value, pred[g].mean() / ref_ppr)
            assert _close(tpr.value, skm.recall_score(y[g], pred[g]) / ref_tpr)
            assert ppr.details["reference_group"] == reference
        entry = next(d for d in report.group_disparities if d.attribute == attribute and d.is_reference)
        assert entry.group == reference and entry.rows == int(ref.sum())


def test_report_round_trips_through_json(report: RiskTestReport) -> None:
    text = report.to_json()
    data = json.loads(text)
    assert data["schema_version"] == "1.0" and data["passed"] == report.passed
    assert "NaN" not in text and "Infinity" not in text
    again = RiskTestReport.from_json(text)
    assert again == report and again.to_json() == text
    assert {r["status"] for r in data["results"]} <= {"passed", "failed", "info", "not_applicable", "error"}


def test_verdict_follows_failed_results(report: RiskTestReport) -> None:
    failed = report.failed()
    assert failed, "the shifted comparator fails some drift tests"
    assert report.passed is False
    assert all(r.passed is False and r.threshold is not None for r in failed)
    assert report.summary()["failed"] == len(failed)


def test_thresholds_change_the_verdict(tables: tuple[pa.Table, pa.Table]) -> None:
    base, comp = tables
    lenient = {
        "Low": {
            "data_drift.ks_pvalue": None,
            "data_drift.chi2_pvalue": None,
            "data_drift.js_distance": 1.0,
            "concept_drift.ks_pvalue": None,
            "stability.csi": 10.0,
            "stability.psi": 10.0,
            "bias.ppr_disparity": [0.0, 100.0],
            "bias.tpr_disparity": [0.0, 100.0],
            "performance.auc": 0.5,
        }
    }
    low = run_risk_tests(base, comp, classification_schema(), risk_level="Low", threshold_overrides=lenient)
    assert low.passed is True and low.risk_level == "Low"
    strict = run_risk_tests(
        base,
        comp,
        classification_schema(),
        risk_level="High",
        threshold_overrides={"High": {"performance.auc": 0.99}},
    )
    auc = _one(strict, "performance.auc", dataset="comparator")
    assert auc.status == "failed" and auc.threshold is not None and auc.threshold.describe() == ">= 0.99"
    assert strict.passed is False


def test_csv_and_parquet_give_the_same_report(
    tables: tuple[pa.Table, pa.Table], tmp_path: Path, write_parquet: Callable[[pa.Table, str], Path]
) -> None:
    base, comp = tables
    pa_csv.write_csv(base, tmp_path / "base.csv")
    pa_csv.write_csv(comp, tmp_path / "comp.csv")
    from_csv = run_risk_tests(tmp_path / "base.csv", tmp_path / "comp.csv", classification_schema())
    from_parquet = run_risk_tests(
        write_parquet(base, "b.parquet"), write_parquet(comp, "c.parquet"), classification_schema()
    )
    assert len(from_csv.results) == len(from_parquet.results)
    for x, y in zip(from_csv.results, from_parquet.results, strict=True):
        assert (x.test, x.feature, x.group, x.status) == (y.test, y.feature, y.group, y.status)
        if x.value is not None:
            # CSV stores floats as text; 17 significant digits round-trip, so values agree to rounding.
            assert y.value is not None and math.isclose(x.value, y.value, rel_tol=1e-9, abs_tol=1e-12)


def test_missing_values_are_left_out_and_counted() -> None:
    base = classification_table(6_000, seed=3, nulls=True)
    comp = classification_table(6_000, seed=4, nulls=True)
    report = run_risk_tests(base, comp, classification_schema())
    balance = _one(report, "data_drift.ks_pvalue", feature="balance")
    a = base.column("balance").drop_null().to_numpy()
    b = comp.column("balance").drop_null().to_numpy()
    assert _close(balance.value, stats.ks_2samp(a, b).pvalue)
    assert balance.details["missing_baseline"] == base.column("balance").null_count
    chart = next(d for d in report.distributions if d.feature == "region")
    assert chart.comparator_missing == comp.column("region").null_count
    assert sum(chart.comparator_counts) + chart.comparator_missing == comp.num_rows


def test_regression_run_matches_scikit_learn() -> None:
    base, comp = regression_table(4_000, seed=5), regression_table(3_000, seed=6, shift=1.0)
    report = run_risk_tests(base, comp, regression_schema())
    t, p = comp.column("target").to_numpy(), comp.column("prediction").to_numpy()
    assert _close(_one(report, "performance.r2", dataset="comparator").value, skm.r2_score(t, p))
    assert _close(
        _one(report, "performance.rmse", dataset="comparator").value, np.sqrt(skm.mean_squared_error(t, p))
    )
    assert _close(_one(report, "performance.mae", dataset="comparator").value, skm.mean_absolute_error(t, p))
    e = t - p
    assert _close(_one(report, "regression.durbin_watson").value, np.sum(np.diff(e) ** 2) / np.sum(e**2))
    x = np.column_stack([comp.column(c).to_numpy() for c in ("x1", "x2", "x3")])
    for j, feature in enumerate(("x1", "x2", "x3")):
        others = np.delete(x, j, axis=1)
        r2 = LinearRegression().fit(others, x[:, j]).score(others, x[:, j])
        assert _close(_one(report, "regression.vif", feature=feature).value, 1 / (1 - r2))
    # Bias needs positive predictions: not applicable, and not gated, for a regression model.
    bias = _one(report, "bias.ppr_disparity")
    assert bias.status == "not_applicable" and bias.threshold is None
    assert report.group_disparities == []


def test_threads_do_not_change_results(tables: tuple[pa.Table, pa.Table], report: RiskTestReport) -> None:
    base, comp = tables
    single = run_risk_tests(base, comp, classification_schema(), workers=1)
    assert single.to_json() == report.to_json()


def test_verdict_rules_on_constructed_results(report: RiskTestReport) -> None:
    from dataclasses import replace

    from model_governance.risk_tests import Bound

    gate = Bound(low=0.7)
    passed = TestResult("performance.auc", "comparator", 0.8, gate, True, "passed")
    small = TestResult(
        "bias.ppr_disparity", "comparator", None, Bound(0.8, 1.2), None, "not_applicable", "g", "x"
    )
    judged = TestResult("bias.ppr_disparity", "comparator", 1.0, Bound(0.8, 1.2), True, "passed", "g", "y")
    info = TestResult("performance.f1", "comparator", 0.5, None, None, "info")
    errored = TestResult("stability.csi", "both", None, Bound(high=0.2), None, "error", "f", reason="boom")
    auc_na = replace(passed, value=None, passed=None, status="not_applicable", reason="one class")
    assert replace(report, results=[passed, small, judged, info]).passed is True
    assert replace(report, results=[passed, small, info]).passed is None  # no bias group judged
    assert replace(report, results=[passed, judged, errored]).passed is None
    assert replace(report, results=[auc_na, judged]).passed is None
    failed = replace(passed, value=0.6, passed=False, status="failed")
    assert replace(report, results=[failed, errored, small]).passed is False


def test_report_reader_keeps_minor_versions_and_refuses_other_majors(report: RiskTestReport) -> None:
    from model_governance.exceptions import RiskTestInputError

    data = json.loads(report.to_json())
    data["schema_version"] = "1.7"
    data["distributions"][0]["added_in_1_7"] = "ignored by a 1.0 reader"
    data["group_disparities"][0]["added_in_1_7"] = 1
    again = RiskTestReport.from_json(json.dumps(data))
    assert again.distributions == report.distributions and again.schema_version == "1.7"
    data["schema_version"] = "2.0"
    with pytest.raises(RiskTestInputError, match=r"schema_version '2.0' is not readable"):
        RiskTestReport.from_json(json.dumps(data))
    with pytest.raises(RiskTestInputError, match="not valid JSON"):
        RiskTestReport.from_json("{")
