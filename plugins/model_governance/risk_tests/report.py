"""``RiskTestReport``: the result of one run of the standard risk tests, and its versioned JSON form.

JSON shape (``schema_version`` "1.0"; a reader refuses another major version)::

    {
      "schema_version": "1.0",
      "engine_version": "1.0.0",           # the risk test suite's version, kept in the snapshot
      "problem_type": "classification",     # or "regression"
      "risk_level": "High",
      "passed": true | false | null,        # see "Overall verdict" below
      "summary": {"passed": 31, "failed": 2, "not_applicable": 1, "info": 12, "error": 0,
                  "not_judged": ["performance.auc"]},   # gated metrics with no judged result
      "thresholds": {"risk_level": "High",
                     "bounds": {"performance.auc": {"low": 0.7, "high": null, "low_inclusive": true,
                                                    "high_inclusive": true, "text": ">= 0.7"}, ...}},
      "inputs": {"baseline": {"source": "s3://...", "rows": 1000000},
                 "comparator": {...}, "schema": {...the schema as a dict...}},
      "results": [
        {"test": "data_drift.ks_pvalue",    # metric id, see thresholds.METRICS
         "dataset": "comparator",            # "comparator", "baseline", or "both" (a comparison)
         "feature": "income",                # the feature / protected attribute, or null
         "group": null,                      # the group value of a bias result, or null
         "value": 0.003,                     # a finite number, or null when not applicable / errored
         "threshold": {...bound...} | null,  # null: reported for information only
         "passed": false,                    # true / false, null when not judged
         "status": "failed",                 # passed | failed | info | not_applicable | error
         "reason": null,                     # why not applicable or errored (always set then)
         "details": {"statistic": 0.011, "n_baseline": 1000000, ...}}   # test-specific numbers
      ],
      "distributions": [                     # per feature, for the review document's charts
        {"feature": "income", "kind": "numeric",        # or "categorical"
         "bins": ["<= 21000", "(21000, 25500]", ..., "> 98000"],
         "edges": [21000.0, 25500.0, ...],   # numeric: interior edges (baseline quantiles); categorical: []
         "baseline_counts": [...], "comparator_counts": [...],
         "baseline_missing": 0, "comparator_missing": 12}
      ],
      "score_distribution": {...same shape, feature = the score column...},
      "group_disparities": [                 # classification only; comparator data
        {"attribute": "gender", "group": "female", "is_reference": false, "rows": 480211,
         "predicted_positive": 51234, "ppr": 0.1067, "actual_positive": 50011, "true_positive": 40012,
         "tpr": 0.80, "ppr_disparity": 0.97, "tpr_disparity": 1.01, "note": null}
      ],
      "warnings": ["..."],                   # e.g. rows dropped for a missing label
      "champion": {...}                      # only in a model change's challenger report, see below
    }

Champion vs challenger (a model change: the report of the challenger only; absent otherwise, so every other
report keeps its bytes). The challenger's comparator data carries the champion's scores for the same rows
in one column; the champion's performance (and, for classification, bias) is computed from that column on
exactly the rows the challenger's own results used, with the same thresholds (``champion.compare_champion``)::

      "champion": {"score_column": "champion_score",
                   "model": {"package_arn": "arn:...", "version": 2},     # who the champion is
                   "dataset": {"source": "s3://...", "sha256": "...", "version_id": ..., "rows": 2000},
                   "rows_compared": 1990,            # rows with a label and the challenger's score
                   "results": [...same shape as above, dataset "comparator"...],
                   "group_disparities": [...], "warnings": [...]}

The champion's results never change the report's verdict, summary or failed tests: they are the
comparison, not the challenger's tests.

Overall verdict: ``false`` if any result failed; otherwise ``null`` if any result errored or a gated
metric (one with a threshold) has results but none of them could be judged (for example AUC when the
comparator's label has one class): a reviewer must decide; otherwise ``true``. Small bias groups that are
not applicable do not make the verdict null as long as other groups of that metric were judged.

Numbers in the JSON are always finite: NaN or infinity never appear (``value`` is null with a reason).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from model_governance.exceptions import RiskTestInputError
from model_governance.risk_tests.thresholds import Bound, Thresholds

REPORT_SCHEMA_VERSION = "1.0"
ENGINE_VERSION = "1.0.0"

Status = Literal["passed", "failed", "info", "not_applicable", "error"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "info", "not_applicable", "error")


@dataclass
class TestResult:
    test: str
    dataset: str
    value: float | None
    threshold: Bound | None
    passed: bool | None
    status: Status
    feature: str | None = None
    group: str | None = None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    # pytest collects classes named Test*; this is not a test case.
    __test__ = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "dataset": self.dataset,
            "feature": self.feature,
            "group": self.group,
            "value": self.value,
            "threshold": self.threshold.to_dict() if self.threshold else None,
            "passed": self.passed,
            "status": self.status,
            "reason": self.reason,
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TestResult:
        threshold = data.get("threshold")
        return cls(
            test=data["test"],
            dataset=data["dataset"],
            feature=data.get("feature"),
            group=data.get("group"),
            value=data.get("value"),
            threshold=Bound.from_dict(threshold) if threshold else None,
            passed=data.get("passed"),
            status=data["status"],
            reason=data.get("reason"),
            details=dict(data.get("details") or {}),
        )


@dataclass
class BinnedDistribution:
    feature: str
    kind: Literal["numeric", "categorical"]
    bins: list[str]
    edges: list[float]
    baseline_counts: list[int]
    comparator_counts: list[int]
    baseline_missing: int = 0
    comparator_missing: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BinnedDistribution:
        return cls(**_known_fields(cls, data))


@dataclass
class GroupDisparity:
    attribute: str
    group: str
    is_reference: bool
    rows: int
    predicted_positive: int
    ppr: float | None
    actual_positive: int
    true_positive: int
    tpr: float | None
    ppr_disparity: float | None
    tpr_disparity: float | None
    note: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GroupDisparity:
        return cls(**_known_fields(cls, data))


@dataclass
class ChampionComparison:
    """The champion's performance (and bias) on the challenger's comparator rows; see the module docstring."""

    score_column: str
    rows: int
    rows_compared: int
    results: list[TestResult]
    group_disparities: list[GroupDisparity] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Who the champion is (``package_arn``, ``version``), filled by the caller.
    model: dict[str, Any] = field(default_factory=dict)
    #: The shared comparator data (``source``, ``sha256``, ``version_id``, ``rows``), filled by the caller.
    dataset: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "score_column": self.score_column,
            "model": dict(self.model),
            "dataset": dict(self.dataset),
            "rows": self.rows,
            "rows_compared": self.rows_compared,
            "results": [r.to_dict() for r in self.results],
            "group_disparities": [asdict(g) for g in self.group_disparities],
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChampionComparison:
        return cls(
            score_column=str(data["score_column"]),
            rows=int(data.get("rows") or 0),
            rows_compared=int(data.get("rows_compared") or 0),
            results=[TestResult.from_dict(r) for r in data.get("results", [])],
            group_disparities=[GroupDisparity.from_dict(g) for g in data.get("group_disparities", [])],
            warnings=list(data.get("warnings", [])),
            model=dict(data.get("model") or {}),
            dataset=dict(data.get("dataset") or {}),
        )

    def as_report(self, challenger: RiskTestReport) -> RiskTestReport:
        """The champion's side as a report of its own (the challenger's thresholds and data), to show."""
        return RiskTestReport(
            problem_type=challenger.problem_type,
            risk_level=challenger.risk_level,
            thresholds=challenger.thresholds,
            inputs={"comparator": {**self.dataset, "rows": self.dataset.get("rows", self.rows)}},
            results=list(self.results),
            distributions=[],
            score_distribution=None,
            group_disparities=list(self.group_disparities),
            warnings=list(self.warnings),
            schema_version=challenger.schema_version,
            engine_version=challenger.engine_version,
        )


@dataclass
class RiskTestReport:
    problem_type: str
    risk_level: str
    thresholds: Thresholds
    inputs: dict[str, Any]
    results: list[TestResult]
    distributions: list[BinnedDistribution]
    score_distribution: BinnedDistribution | None
    group_disparities: list[GroupDisparity]
    warnings: list[str] = field(default_factory=list)
    schema_version: str = REPORT_SCHEMA_VERSION
    engine_version: str = ENGINE_VERSION
    #: A model change's challenger: the champion's results on the same comparator rows (not judged here).
    champion: ChampionComparison | None = None

    @property
    def not_judged(self) -> list[str]:
        """Gated metric ids that have results, none of which could be judged."""
        gated: dict[str, bool] = {}
        for result in self.results:
            if result.threshold is None or result.status == "info":
                continue
            judged = result.status in ("passed", "failed")
            gated[result.test] = gated.get(result.test, False) or judged
        return sorted(metric for metric, judged in gated.items() if not judged)

    @property
    def passed(self) -> bool | None:
        if any(r.status == "failed" for r in self.results):
            return False
        if any(r.status == "error" for r in self.results) or self.not_judged:
            return None
        return True

    def summary(self) -> dict[str, Any]:
        counts: dict[str, Any] = {s: 0 for s in STATUSES}
        for result in self.results:
            counts[result.status] += 1
        counts["not_judged"] = self.not_judged
        return counts

    def failed(self) -> list[TestResult]:
        return [r for r in self.results if r.status == "failed"]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema_version": self.schema_version,
            "engine_version": self.engine_version,
            "problem_type": self.problem_type,
            "risk_level": self.risk_level,
            "passed": self.passed,
            "summary": self.summary(),
            "thresholds": self.thresholds.to_dict(),
            "inputs": self.inputs,
            "results": [r.to_dict() for r in self.results],
            "distributions": [asdict(d) for d in self.distributions],
            "score_distribution": asdict(self.score_distribution) if self.score_distribution else None,
            "group_disparities": [asdict(g) for g in self.group_disparities],
            "warnings": list(self.warnings),
        }
        if self.champion is not None:
            data["champion"] = self.champion.to_dict()
        return data

    def to_json(self, indent: int | None = 2) -> str:
        # allow_nan=False: a NaN that slipped through is a bug to surface, not JSON to emit.
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False, sort_keys=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RiskTestReport:
        version = str(data.get("schema_version", ""))
        if version.split(".")[0] != REPORT_SCHEMA_VERSION.split(".")[0]:
            raise RiskTestInputError(
                f"risk test report schema_version {version!r} is not readable by this engine "
                f"(reads {REPORT_SCHEMA_VERSION.split('.')[0]}.x); re-run the tests with this version"
            )
        score = data.get("score_distribution")
        champion = data.get("champion")
        return cls(
            schema_version=version,
            engine_version=data.get("engine_version", ENGINE_VERSION),
            problem_type=data["problem_type"],
            risk_level=data["risk_level"],
            thresholds=Thresholds.from_dict(data["thresholds"]),
            inputs=dict(data.get("inputs") or {}),
            results=[TestResult.from_dict(r) for r in data.get("results", [])],
            distributions=[BinnedDistribution.from_dict(d) for d in data.get("distributions", [])],
            score_distribution=BinnedDistribution.from_dict(score) if score else None,
            group_disparities=[GroupDisparity.from_dict(g) for g in data.get("group_disparities", [])],
            warnings=list(data.get("warnings", [])),
            champion=ChampionComparison.from_dict(champion) if champion else None,
        )

    @classmethod
    def from_json(cls, text: str) -> RiskTestReport:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RiskTestInputError(f"risk test report is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise RiskTestInputError("risk test report JSON must be an object")
        return cls.from_dict(data)


def _known_fields(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    # A later 1.x report may add keys; a 1.0 reader keeps what it knows.
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def finite_or_none(value: float | None) -> float | None:
    """A float for the report: NaN and infinities become None (the caller gives the reason)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
