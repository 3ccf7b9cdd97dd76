"""Per-risk-level thresholds: the ``risk_tests.thresholds`` settings override the suite's defaults for the
use cases of one risk level only; the rest keep the defaults; the review document says which applied."""

from __future__ import annotations

import pytest

from model_governance.config import parse_config
from model_governance.documents.review import _thresholds_view
from model_governance.exceptions import ConfigurationError, RiskTestInputError
from model_governance.risk_tests import METRICS, resolve_thresholds, run_risk_tests
from model_governance.snapshots import threshold_overrides
from tests.unit.risk_tests.conftest import classification_schema, classification_table

SETTINGS = {
    "risk_tests": {
        "thresholds": {
            "High": {
                "performance.auc": 0.75,
                "data_drift.ks_statistic": 0.1,
                "bias.ppr_disparity": [0.9, 1.1],
            },
            "Low": {"data_drift.ks_pvalue": None},
        }
    }
}


def _resolved(settings: dict[str, object], level: str) -> dict[str, object]:
    config = parse_config(settings)
    overrides = threshold_overrides(config.threshold_settings(), level)
    return {
        metric: (bound.describe() if bound is not None else None)
        for metric, bound in resolve_thresholds(level, {level: overrides}).bounds.items()
    }


def test_each_level_gets_its_own_thresholds_and_the_rest_keep_the_defaults() -> None:
    high, medium, low = (_resolved(SETTINGS, level) for level in ("High", "Medium", "Low"))
    assert high["performance.auc"] == ">= 0.75" and medium["performance.auc"] == ">= 0.7"
    assert high["data_drift.ks_statistic"] == "<= 0.1" and medium["data_drift.ks_statistic"] is None
    assert high["bias.ppr_disparity"] == "in [0.9, 1.1]" and low["bias.ppr_disparity"] == "in [0.8, 1.2]"
    assert low["data_drift.ks_pvalue"] is None, "null turns the gate off (reported for information)"
    assert high["data_drift.ks_pvalue"] == ">= 0.05", "a metric the level does not name keeps its default"
    defaults = {m: (s.default.describe() if s.default else None) for m, s in METRICS.items()}
    assert medium == defaults and _resolved({}, "High") == defaults, "nothing configured: the defaults"


def test_risk_tests_thresholds_win_over_the_older_top_level_setting_metric_by_metric() -> None:
    settings = {
        "risk_thresholds": {"High": {"performance.auc": 0.6, "stability.psi": 0.3}},
        **SETTINGS,
    }
    high = _resolved(settings, "High")
    assert high["performance.auc"] == ">= 0.75" and high["stability.psi"] == "<= 0.3"


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ({"Extreme": {"performance.auc": 0.8}}, "risk_tests.thresholds.Extreme"),
        ({"High": {"AUC": 0.8}}, "metric ids look like 'performance.auc'"),
        ({"High": {"bias.ppr_disparity": [1.2, 0.8]}}, "needs low <= high"),
        ({"High": {"performance.auc": "high"}}, "risk_tests.thresholds.High.performance.auc"),
    ],
)
def test_bad_threshold_settings_are_named(thresholds: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_config({"risk_tests": {"thresholds": thresholds}})


def test_a_metric_the_suite_does_not_know_is_refused_when_resolved() -> None:
    config = parse_config({"risk_tests": {"thresholds": {"High": {"performance.gini": 0.5}}}})
    with pytest.raises(RiskTestInputError, match=r"unknown metric 'performance\.gini'"):
        resolve_thresholds("High", {"High": threshold_overrides(config.threshold_settings(), "High")})


def test_the_same_data_fails_at_high_and_passes_at_medium() -> None:
    base, comp = classification_table(3_000, seed=21), classification_table(3_000, seed=22)
    overrides = {"High": {"performance.auc": 0.99, "bias.ppr_disparity": [0.5, 2.0]}}
    medium_overrides = {"Medium": {"bias.ppr_disparity": [0.5, 2.0]}}
    high = run_risk_tests(
        base, comp, classification_schema(), risk_level="High", threshold_overrides=overrides
    )
    medium = run_risk_tests(
        base, comp, classification_schema(), risk_level="Medium", threshold_overrides=medium_overrides
    )
    auc_high = [r for r in high.results if r.test == "performance.auc" and r.dataset == "comparator"]
    auc_medium = [r for r in medium.results if r.test == "performance.auc" and r.dataset == "comparator"]
    assert auc_high and all(r.status == "failed" for r in auc_high), "High: AUC >= 0.99"
    assert auc_medium and all(r.status == "passed" for r in auc_medium), "Medium: the default >= 0.7"
    assert [r.value for r in auc_high] == [r.value for r in auc_medium], "same data, same AUC"


def test_the_review_document_says_which_thresholds_applied_and_from_where() -> None:
    base, comp = classification_table(1_000, seed=23), classification_table(1_000, seed=24)
    report = run_risk_tests(
        base,
        comp,
        classification_schema(),
        risk_level="High",
        threshold_overrides={"High": {"performance.auc": 0.75, "stability.psi": None}},
    )
    rows = {row["metric"]: row for row in _thresholds_view(report)}
    assert rows["performance.auc"] == {
        "metric": "performance.auc",
        "passes_when": ">= 0.75",
        "source": "High setting",
    }
    assert rows["stability.psi"]["passes_when"] == "not gated (info only)"
    assert rows["stability.psi"]["source"] == "High setting"
    assert rows["stability.csi"] == {"metric": "stability.csi", "passes_when": "<= 0.2", "source": "default"}
    assert "performance.accuracy" not in rows, "metrics with no gate by default or as set are left out"
