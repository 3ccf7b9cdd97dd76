"""Pass thresholds of the standard risk tests: ModelOp's defaults, overridable per risk level and metric.

Every metric the engine reports has an id (``performance.auc``, ``stability.csi``, ...) and a *direction*:
``min`` (higher is better, passes when ``value >= bound``), ``max`` (lower is better, ``value <= bound``)
or ``band`` (passes inside ``[low, high]``). Some bounds are strict, as ModelOp states them: Durbin-Watson
passes when ``1 < dw < 3`` and VIF when ``vif < 10``; an override keeps the metric's strictness.

Defaults (the same for every risk level until overridden): ModelOp's public table where it has one
(AUC, R2, KS p-values, CSI, positive-prediction-rate disparity, Durbin-Watson, VIF); otherwise the
widely used rule the peer tools apply: PSI <= 0.2 (as CSI, the same formula), chi-square p-value >= 0.05
(as KS), Jensen-Shannon distance <= 0.1 (Evidently's categorical drift default), true-positive-rate
disparity in [0.8, 1.2] (as the positive-prediction rate: the four-fifths rule). Metrics with no accepted
default (accuracy, precision, recall, F1, RMSE, MAE, KS statistics) are reported for information only:
their result has ``status`` ``info`` and ``passed`` null until a use case sets a threshold.

Overrides, as the deployment configuration holds them::

    {"High": {"performance.auc": 0.8, "bias.ppr_disparity": [0.85, 1.15]},
     "Low": {"data_drift.ks_pvalue": null}}

A number is a one-sided bound in the metric's own direction, ``[low, high]`` a band (allowed for every
metric), and ``null`` turns a gate off so the metric is reported for information only (useful at millions
of rows, where KS p-values are ~0 for negligible shifts and the KS statistic is the better gate).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from model_governance.exceptions import RiskTestInputError

RISK_LEVELS = ("High", "Medium", "Low")

Direction = Literal["min", "max", "band"]


@dataclass(frozen=True)
class Bound:
    """A pass condition on one metric value: ``low <=/< value <=/< high``; a None side is open."""

    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True

    def check(self, value: float) -> bool:
        if self.low is not None and (value < self.low if self.low_inclusive else value <= self.low):
            return False
        return not (
            self.high is not None and (value > self.high if self.high_inclusive else value >= self.high)
        )

    def describe(self) -> str:
        """The condition as a reviewer reads it: ``>= 0.7``, ``< 10``, ``in [0.8, 1.2]``, ``in (1, 3)``."""
        if self.low is not None and self.high is not None:
            left = "[" if self.low_inclusive else "("
            right = "]" if self.high_inclusive else ")"
            return f"in {left}{_num(self.low)}, {_num(self.high)}{right}"
        if self.low is not None:
            return f"{'>=' if self.low_inclusive else '>'} {_num(self.low)}"
        if self.high is not None:
            return f"{'<=' if self.high_inclusive else '<'} {_num(self.high)}"
        return "any value"

    def to_dict(self) -> dict[str, Any]:
        return {
            "low": self.low,
            "high": self.high,
            "low_inclusive": self.low_inclusive,
            "high_inclusive": self.high_inclusive,
            "text": self.describe(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Bound:
        return cls(
            low=data.get("low"),
            high=data.get("high"),
            low_inclusive=bool(data.get("low_inclusive", True)),
            high_inclusive=bool(data.get("high_inclusive", True)),
        )


def _num(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class MetricSpec:
    """What a metric id means and how its bound reads."""

    metric_id: str
    direction: Direction
    description: str
    default: Bound | None
    # ModelOp states Durbin-Watson and VIF with strict inequalities; overrides keep them strict.
    strict: bool = False


def _min(value: float) -> Bound:
    return Bound(low=value)


def _max(value: float) -> Bound:
    return Bound(high=value)


METRICS: dict[str, MetricSpec] = {
    spec.metric_id: spec
    for spec in (
        MetricSpec("performance.auc", "min", "ROC AUC of the score against the label", _min(0.7)),
        MetricSpec("performance.accuracy", "min", "share of correct predictions", None),
        MetricSpec("performance.precision", "min", "TP / (TP + FP)", None),
        MetricSpec("performance.recall", "min", "TP / (TP + FN)", None),
        MetricSpec("performance.f1", "min", "harmonic mean of precision and recall", None),
        MetricSpec("performance.r2", "min", "coefficient of determination", _min(0.7)),
        MetricSpec("performance.rmse", "max", "root mean squared error", None),
        MetricSpec("performance.mae", "max", "mean absolute error", None),
        MetricSpec("data_drift.ks_statistic", "max", "two-sample KS statistic (effect size)", None),
        MetricSpec("data_drift.ks_pvalue", "min", "two-sample KS p-value", _min(0.05)),
        MetricSpec("data_drift.chi2_pvalue", "min", "chi-square test of homogeneity p-value", _min(0.05)),
        MetricSpec("data_drift.js_distance", "max", "Jensen-Shannon distance, base 2", _max(0.1)),
        MetricSpec("concept_drift.ks_statistic", "max", "KS statistic of the score", None),
        MetricSpec("concept_drift.ks_pvalue", "min", "KS p-value of the score", _min(0.05)),
        MetricSpec("stability.psi", "max", "population stability index of the score", _max(0.2)),
        MetricSpec("stability.csi", "max", "characteristic stability index of a feature", _max(0.2)),
        MetricSpec(
            "bias.ppr_disparity", "band", "positive-prediction rate / reference group's", Bound(0.8, 1.2)
        ),
        MetricSpec("bias.tpr_disparity", "band", "true-positive rate / reference group's", Bound(0.8, 1.2)),
        MetricSpec(
            "regression.durbin_watson",
            "band",
            "Durbin-Watson statistic of the residuals",
            Bound(1.0, 3.0, low_inclusive=False, high_inclusive=False),
            strict=True,
        ),
        MetricSpec(
            "regression.vif",
            "max",
            "variance inflation factor of a numeric feature",
            Bound(high=10.0, high_inclusive=False),
            strict=True,
        ),
    )
}


@dataclass(frozen=True)
class Thresholds:
    """The bound of every metric for one risk level; ``None`` means reported for information only."""

    risk_level: str
    bounds: Mapping[str, Bound | None]

    def for_metric(self, metric_id: str) -> Bound | None:
        if metric_id not in self.bounds:
            raise KeyError(f"unknown risk test metric {metric_id!r}")
        return self.bounds[metric_id]

    def to_dict(self) -> dict[str, Any]:
        return {
            "risk_level": self.risk_level,
            "bounds": {k: (v.to_dict() if v else None) for k, v in self.bounds.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Thresholds:
        bounds = {k: (Bound.from_dict(v) if v else None) for k, v in data["bounds"].items()}
        return cls(risk_level=data["risk_level"], bounds=bounds)


def _is_number(value: object) -> bool:
    # bool is an int subclass; True as a threshold is a typo, not 1.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _bound_from_override(spec: MetricSpec, value: object, where: str) -> Bound | None:
    if value is None:
        return None
    if _is_number(value):
        assert isinstance(value, int | float)
        if spec.direction == "band":
            raise RiskTestInputError(
                f"threshold override {where} is the single number {value!r}, but {spec.metric_id} is "
                "judged inside a band: give [low, high], e.g. [0.8, 1.2]"
            )
        if spec.direction == "min":
            return Bound(low=float(value), low_inclusive=not spec.strict)
        return Bound(high=float(value), high_inclusive=not spec.strict)
    if isinstance(value, list | tuple):
        if len(value) != 2 or not all(_is_number(v) for v in value):
            raise RiskTestInputError(
                f"threshold override {where} is {value!r}; a band must be two finite numbers [low, high]"
            )
        low, high = float(value[0]), float(value[1])
        if low > high or (spec.strict and low == high):
            raise RiskTestInputError(
                f"threshold override {where} is [{low:g}, {high:g}]; low must be below high"
            )
        return Bound(low, high, low_inclusive=not spec.strict, high_inclusive=not spec.strict)
    raise RiskTestInputError(
        f"threshold override {where} is {value!r} ({type(value).__name__}); give a number (one-sided bound, "
        f"{'>=' if spec.direction == 'min' else '<='} for this metric), [low, high], or null to report only"
    )


def validate_threshold_overrides(overrides: Mapping[str, Any]) -> None:
    """Check an overrides document (see the module docstring); ``RiskTestInputError`` names the bad key."""
    if not isinstance(overrides, Mapping):
        raise RiskTestInputError(
            f"threshold overrides must be an object keyed by risk level {list(RISK_LEVELS)}, "
            f"got {type(overrides).__name__}"
        )
    for level, metrics in overrides.items():
        if level not in RISK_LEVELS:
            raise RiskTestInputError(
                f"threshold overrides key {level!r} is not a risk level; use one of {list(RISK_LEVELS)}"
            )
        if not isinstance(metrics, Mapping):
            raise RiskTestInputError(
                f"threshold overrides[{level!r}] must be an object of metric id -> bound, "
                f"got {type(metrics).__name__}"
            )
        for metric_id, value in metrics.items():
            spec = METRICS.get(metric_id)
            if spec is None:
                raise RiskTestInputError(
                    f"threshold overrides[{level!r}] names unknown metric {metric_id!r}; "
                    f"known metrics: {sorted(METRICS)}"
                )
            _bound_from_override(spec, value, f"[{level!r}][{metric_id!r}]")


def resolve_thresholds(risk_level: str, overrides: Mapping[str, Any] | None = None) -> Thresholds:
    """ModelOp's defaults with the overrides for ``risk_level`` applied on top."""
    if risk_level not in RISK_LEVELS:
        raise RiskTestInputError(f"risk level {risk_level!r} is not one of {list(RISK_LEVELS)}")
    overrides = overrides or {}
    validate_threshold_overrides(overrides)
    bounds: dict[str, Bound | None] = {k: spec.default for k, spec in METRICS.items()}
    for metric_id, value in overrides.get(risk_level, {}).items():
        bounds[metric_id] = _bound_from_override(
            METRICS[metric_id], value, f"[{risk_level!r}][{metric_id!r}]"
        )
    return Thresholds(risk_level=risk_level, bounds=bounds)
