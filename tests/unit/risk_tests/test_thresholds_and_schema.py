"""Thresholds (ModelOp's defaults, per-risk-level overrides) and schema validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from model_governance.exceptions import InvalidInputError, RiskTestInputError
from model_governance.risk_tests import (
    METRICS,
    Bound,
    RiskTestSchema,
    resolve_thresholds,
    validate_threshold_overrides,
)

from .conftest import classification_schema, regression_schema


def test_defaults_are_modelops_table() -> None:
    t = resolve_thresholds("Medium")
    expected = {
        "performance.auc": ">= 0.7",
        "performance.r2": ">= 0.7",
        "data_drift.ks_pvalue": ">= 0.05",
        "concept_drift.ks_pvalue": ">= 0.05",
        "stability.csi": "<= 0.2",
        "bias.ppr_disparity": "in [0.8, 1.2]",
        "regression.durbin_watson": "in (1, 3)",
        "regression.vif": "< 10",
    }
    for metric, text in expected.items():
        bound = t.for_metric(metric)
        assert bound is not None and bound.describe() == text, metric
    assert t.for_metric("performance.accuracy") is None  # information only until a use case sets one
    assert resolve_thresholds("High").bounds == resolve_thresholds("Low").bounds == t.bounds


def test_strict_bounds_are_strict() -> None:
    t = resolve_thresholds("High")
    dw, vif = t.for_metric("regression.durbin_watson"), t.for_metric("regression.vif")
    assert dw is not None and vif is not None
    assert not dw.check(1.0) and dw.check(1.0000001) and not dw.check(3.0)
    assert not vif.check(10.0) and vif.check(9.999)
    auc = t.for_metric("performance.auc")
    assert auc is not None and auc.check(0.7) and not auc.check(0.6999)


def test_overrides_apply_to_their_risk_level_only() -> None:
    overrides = {
        "High": {"performance.auc": 0.8, "bias.ppr_disparity": [0.85, 1.15], "stability.csi": 0.1},
        "Low": {"data_drift.ks_pvalue": None, "regression.vif": 20, "regression.durbin_watson": [0.5, 3.5]},
    }
    high, low, medium = (resolve_thresholds(level, overrides) for level in ("High", "Low", "Medium"))
    assert high.for_metric("performance.auc") == Bound(low=0.8)
    assert high.for_metric("bias.ppr_disparity") == Bound(0.85, 1.15)
    assert high.for_metric("stability.csi") == Bound(high=0.1)
    assert low.for_metric("data_drift.ks_pvalue") is None
    assert low.for_metric("regression.vif") == Bound(high=20.0, high_inclusive=False)
    assert low.for_metric("regression.durbin_watson") == Bound(0.5, 3.5, False, False)
    assert medium.bounds == resolve_thresholds("Medium").bounds
    assert resolve_thresholds("High").for_metric("performance.auc") == Bound(low=0.7)


def test_every_metric_accepts_a_band() -> None:
    for metric in METRICS:
        bound = resolve_thresholds("High", {"High": {metric: [0, 1]}}).for_metric(metric)
        assert bound is not None and bound.low == 0 and bound.high == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"Critical": {}}, r"key 'Critical' is not a risk level"),
        ({"High": []}, r"overrides\['High'\] must be an object"),
        ({"High": {"performance.aucc": 0.8}}, r"overrides\['High'\] names unknown metric 'performance.aucc'"),
        ({"Low": {"performance.auc": "0.8"}}, r"\['Low'\]\['performance.auc'\] is '0.8' \(str\)"),
        ({"Low": {"performance.auc": True}}, r"\['Low'\]\['performance.auc'\] is True"),
        ({"Low": {"performance.auc": float("nan")}}, r"\['Low'\]\['performance.auc'\]"),
        (
            {"High": {"bias.ppr_disparity": 0.8}},
            r"\['High'\]\['bias.ppr_disparity'\] is the single number 0.8.*band",
        ),
        (
            {"High": {"bias.ppr_disparity": [1.2, 0.8]}},
            r"\['High'\]\['bias.ppr_disparity'\] is \[1.2, 0.8\]; low must",
        ),
        (
            {"High": {"bias.ppr_disparity": [0.8]}},
            r"\['High'\]\['bias.ppr_disparity'\] is \[0.8\]; a band must",
        ),
        (
            {"High": {"regression.durbin_watson": [2, 2]}},
            r"\['High'\]\['regression.durbin_watson'\].*low must",
        ),
    ],
)
def test_bad_overrides_name_the_key(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(RiskTestInputError, match=message):
        validate_threshold_overrides(overrides)
    with pytest.raises(RiskTestInputError, match=message):
        resolve_thresholds("High", overrides)


def test_overrides_must_be_an_object_and_risk_level_known() -> None:
    with pytest.raises(RiskTestInputError, match="keyed by risk level"):
        validate_threshold_overrides([])  # type: ignore[arg-type]
    with pytest.raises(RiskTestInputError, match="risk level 'high' is not one of"):
        resolve_thresholds("high")
    # RiskTestInputError is an InvalidInputError (and a ValueError), so callers may catch either.
    assert issubclass(RiskTestInputError, InvalidInputError) and issubclass(RiskTestInputError, ValueError)


def test_thresholds_round_trip() -> None:
    t = resolve_thresholds("High", {"High": {"performance.auc": 0.8, "data_drift.ks_pvalue": None}})
    assert type(t).from_dict(json.loads(json.dumps(t.to_dict()))) == t


def test_schema_loads_from_a_file_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(classification_schema(decision_threshold=0.3)), encoding="utf-8")
    schema = RiskTestSchema.load(path)
    assert schema.decision_threshold == 0.3 and schema.columns()[:2] == ["label", "score"]
    assert RiskTestSchema.from_dict(schema.to_dict()) == schema
    assert RiskTestSchema.load(regression_schema()).problem_type == "regression"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"problem_type": "ranking"}, r"problem_type is 'ranking'"),
        ({"label": ""}, r"label is ''"),
        ({"score": 3}, r"score is 3"),
        ({"featurs": {}}, r"unknown key\(s\) \['featurs'\]"),
        ({"features": {"numeric": [], "categorical": []}}, r"lists no features"),
        ({"features": {"numeric": "income"}}, r"features.numeric must be a list"),
        ({"features": {"numerical": ["income"]}}, r"features must be an object"),
        ({"features": {"numeric": ["income", "income"]}}, r"column 'income' twice"),
        ({"features": {"numeric": ["label"]}}, r"column 'label' twice \(as label and as features.numeric\)"),
        ({"score": "label"}, r"column 'label' twice \(as label and as score\)"),
        ({"positive_class": None}, r"positive_class is None"),
        ({"positive_class": [1]}, r"positive_class is \[1\]"),
        ({"reference_groups": {"race": "x"}}, r"reference_groups names 'race', which is not a protected"),
        ({"reference_groups": {"gender": None}}, r"reference_groups\['gender'\] is None"),
        ({"decision_threshold": "0.5"}, r"decision_threshold is '0.5'"),
        ({"min_group_size": 0}, r"min_group_size is 0"),
        ({"bins": 1}, r"bins is 1"),
    ],
)
def test_bad_schemas_name_the_key(change: dict[str, Any], message: str) -> None:
    with pytest.raises(RiskTestInputError, match=message):
        RiskTestSchema.from_dict(classification_schema(**change))


def test_regression_schema_refuses_positive_class() -> None:
    with pytest.raises(RiskTestInputError, match="positive_class for a regression model"):
        RiskTestSchema.from_dict(regression_schema(positive_class=1))


def test_schema_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(RiskTestInputError, match=r"schema file .*absent\.json.* does not exist"):
        RiskTestSchema.load(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"problem_type": ', encoding="utf-8")
    with pytest.raises(RiskTestInputError, match=r"schema file .*broken\.json.* not valid JSON \(line 1"):
        RiskTestSchema.load(broken)
    listed = tmp_path / "list.json"
    listed.write_text("[]", encoding="utf-8")
    with pytest.raises(RiskTestInputError, match=r"schema file .*list\.json.* must be a JSON object"):
        RiskTestSchema.load(listed)
