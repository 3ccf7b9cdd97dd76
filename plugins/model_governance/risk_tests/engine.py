"""Runs the standard risk tests on a baseline and a comparator table and returns a ``RiskTestReport``.

What each test does and on which data:

- Performance, on the comparator (gated) and the baseline (for comparison, information only). Rows with a
  missing label or a missing / non-finite score are left out and counted in a warning. Classification:
  AUC of the score; accuracy, precision, recall and F1 of the prediction ``score >= decision_threshold``
  against ``label == positive_class`` (a label with more than two values is positive-vs-rest); the
  confusion matrix is in the accuracy result's details. Regression: R2, RMSE, MAE of score vs label.
- Data drift per feature, baseline vs comparator. Numeric: two-sample KS statistic and p-value.
  Categorical: Pearson chi-square test of homogeneity (p-value; no Yates correction) and Jensen-Shannon
  distance (base 2) over the union of the categories, so a category unseen in the baseline counts.
  Missing and non-finite values are left out of drift and stability and counted in the distributions.
- Concept drift: KS statistic and p-value of the score.
- Stability: PSI of the score and CSI of each feature, over right-closed bins at the baseline's deciles
  (``bins`` in the schema; see ``metrics.quantile_edges``); categories are their own bins.
- Bias, classification only, on the comparator: per protected attribute and group, the positive-prediction
  rate and the true-positive rate divided by the reference group's (the schema's, else the largest group).
  A group with fewer than ``min_group_size`` rows (or, for the TPR, actual positives) is not applicable.
  A missing attribute value is its own group, ``(missing)``.
- Regression diagnostics, regression only, on the comparator: Durbin-Watson of the residuals
  ``label - score`` in row order; VIF of each numeric feature against the others.

Features are processed in a thread pool (NumPy sorting and searching release the GIL).
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from model_governance.exceptions import RiskTestInputError
from model_governance.risk_tests import metrics
from model_governance.risk_tests.data import LoadedTable, load_table
from model_governance.risk_tests.report import (
    BinnedDistribution,
    GroupDisparity,
    RiskTestReport,
    Status,
    TestResult,
    finite_or_none,
)
from model_governance.risk_tests.schema import RiskTestSchema, Scalar, category_text
from model_governance.risk_tests.thresholds import Thresholds, resolve_thresholds

MISSING_GROUP = "(missing)"
OTHER_CATEGORIES = "(other)"
# Charts show this many categories of a feature; CSI and the drift tests use all of them.
CHART_MAX_CATEGORIES = 20
# Details list at most this many unseen categories.
MAX_LISTED_CATEGORIES = 20
_VIF_CHUNK_ROWS = 1 << 16
CLASSIFICATION_METRICS = (
    "performance.auc",
    "performance.accuracy",
    "performance.precision",
    "performance.recall",
    "performance.f1",
)
REGRESSION_METRICS = ("performance.r2", "performance.rmse", "performance.mae")

TableSource: TypeAlias = str | Path | pa.Table


def run_risk_tests(
    baseline: TableSource,
    comparator: TableSource,
    schema: RiskTestSchema | Mapping[str, Any] | str | Path,
    *,
    risk_level: str = "High",
    threshold_overrides: Mapping[str, Any] | None = None,
    workers: int | None = None,
) -> RiskTestReport:
    """Run every standard risk test; raises ``RiskTestInputError`` for input that cannot be tested."""
    schema = RiskTestSchema.load(schema)
    thresholds = resolve_thresholds(risk_level, threshold_overrides)
    base = load_table(baseline, "baseline", schema)
    comp = load_table(comparator, "comparator", schema)
    return _Run(schema, thresholds, base, comp, workers or min(4, os.cpu_count() or 1)).run()


class _Run:
    def __init__(
        self,
        schema: RiskTestSchema,
        thresholds: Thresholds,
        base: LoadedTable,
        comp: LoadedTable,
        workers: int,
    ) -> None:
        self.schema = schema
        self.thresholds = thresholds
        self.base = base
        self.comp = comp
        self.workers = workers
        self.warnings: list[str] = []

    # -- result helpers -------------------------------------------------------------------------------

    def judge(
        self,
        test: str,
        dataset: str,
        value: float | None,
        *,
        feature: str | None = None,
        group: str | None = None,
        details: dict[str, Any] | None = None,
        gated: bool = True,
    ) -> TestResult:
        bound = self.thresholds.for_metric(test) if gated else None
        finite = finite_or_none(value)
        if finite is None:
            return self.error(test, dataset, f"the computed value is not a finite number ({value})", feature)
        if bound is None:
            return TestResult(test, dataset, finite, None, None, "info", feature, group, None, details or {})
        passed = bound.check(finite)
        status: Status = "passed" if passed else "failed"
        return TestResult(test, dataset, finite, bound, passed, status, feature, group, None, details or {})

    def not_applicable(
        self,
        test: str,
        dataset: str,
        reason: str,
        *,
        feature: str | None = None,
        group: str | None = None,
        details: dict[str, Any] | None = None,
        gated: bool = True,
    ) -> TestResult:
        bound = self.thresholds.for_metric(test) if gated else None
        return TestResult(
            test, dataset, None, bound, None, "not_applicable", feature, group, reason, details or {}
        )

    def error(self, test: str, dataset: str, reason: str, feature: str | None = None) -> TestResult:
        return TestResult(
            test, dataset, None, self.thresholds.for_metric(test), None, "error", feature, None, reason, {}
        )

    def guarded(
        self, tests: Sequence[str], dataset: str, feature: str | None, compute: Callable[[], list[TestResult]]
    ) -> list[TestResult]:
        # One feature's failure is recorded as an errored result with its reason; the others still run.
        try:
            return compute()
        except RiskTestInputError:
            raise
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            return [self.error(test, dataset, reason, feature) for test in tests]

    # -- the run --------------------------------------------------------------------------------------

    def run(self) -> RiskTestReport:
        schema = self.schema
        results: list[TestResult] = []
        base_score = _floats(self.base.table.column(schema.score))
        comp_score = _floats(self.comp.table.column(schema.score))

        # Everything heavy goes to the pool at once; warnings are made here, in a fixed order.
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            performance: list[Future[list[TestResult]]] = []
            if schema.problem_type == "classification":
                base_y, base_known = self._positive_mask(self.base)
                comp_y, comp_known = self._positive_mask(self.comp)
                if not base_y.any() and not comp_y.any():
                    raise RiskTestInputError(
                        f"positive_class {schema.positive_class!r} occurs in neither table's label column "
                        f"{schema.label!r} (values seen: "
                        f"{_sample_values(self.comp.table.column(schema.label))}); "
                        "set positive_class to the label value of the positive class"
                    )
                for loaded, y, known, score, gated in (
                    (self.comp, comp_y, comp_known, comp_score, True),
                    (self.base, base_y, base_known, base_score, False),
                ):
                    usable = self._usable_rows(loaded, known, score)
                    compute = partial(
                        self._classification_performance, loaded.role, y[usable], score[usable], gated
                    )
                    performance.append(
                        pool.submit(self.guarded, CLASSIFICATION_METRICS, loaded.role, None, compute)
                    )
            else:
                for loaded, score, gated in ((self.comp, comp_score, True), (self.base, base_score, False)):
                    label = _floats(loaded.table.column(schema.label))
                    usable = self._usable_rows(loaded, np.isfinite(label), score)
                    compute = partial(
                        self._regression_performance, loaded.role, label[usable], score[usable], gated
                    )
                    performance.append(
                        pool.submit(self.guarded, REGRESSION_METRICS, loaded.role, None, compute)
                    )
            numeric_parts = [pool.submit(self._numeric_feature, f) for f in schema.numeric_features]
            score_part = pool.submit(self._score_drift, base_score, comp_score)
            categorical_parts = [
                pool.submit(self._categorical_feature, f) for f in schema.categorical_features
            ]
            for part in performance:
                results += part.result()
            numeric = [part.result() for part in numeric_parts]
            categorical = [part.result() for part in categorical_parts]
            score_results, score_distribution = score_part.result()
        distributions: list[BinnedDistribution] = []
        drift_results: list[TestResult] = []
        stability_results: list[TestResult] = []
        for feature_results, distribution in [*numeric, *categorical]:
            drift_results += [r for r in feature_results if r.test.startswith("data_drift.")]
            stability_results += [r for r in feature_results if r.test.startswith("stability.")]
            distributions.append(distribution)
        results += drift_results
        results += [r for r in score_results if r.test.startswith("concept_drift.")]
        results += [r for r in score_results if r.test == "stability.psi"]
        results += stability_results

        disparities: list[GroupDisparity] = []
        if schema.problem_type == "classification":
            bias_results, disparities = self._bias(comp_y, comp_known, comp_score)
            results += bias_results
        else:
            for test in ("bias.ppr_disparity", "bias.tpr_disparity"):
                results.append(
                    self.not_applicable(
                        test,
                        "comparator",
                        "bias tests judge positive predictions; they apply to classification models only",
                        gated=False,
                    )
                )
            results += self._regression_diagnostics(comp_score)

        return RiskTestReport(
            problem_type=schema.problem_type,
            risk_level=self.thresholds.risk_level,
            thresholds=self.thresholds,
            inputs={
                "baseline": {"source": self.base.source, "rows": self.base.num_rows},
                "comparator": {"source": self.comp.source, "rows": self.comp.num_rows},
                "schema": schema.to_dict(),
            },
            results=results,
            distributions=distributions,
            score_distribution=score_distribution,
            group_disparities=disparities,
            warnings=self.warnings,
        )

    # -- performance ----------------------------------------------------------------------------------

    def _positive_mask(self, loaded: LoadedTable) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """(label == positive_class, label present) per row."""
        column = loaded.table.column(self.schema.label)
        if pa.types.is_dictionary(column.type):
            column = _cast(column, column.type.value_type)
        known = _numpy(_arrow("is_valid", column))
        positive = self.schema.positive_class
        assert positive is not None
        if pa.types.is_boolean(column.type):
            target = _as_bool(positive)
            if target is None:
                raise RiskTestInputError(
                    f"{loaded.where(self.schema.label)} is boolean, but positive_class is {positive!r}; "
                    "use true or false"
                )
            values = _numpy(column, fill=not target)
            return (values if target else ~values), known
        if (
            pa.types.is_integer(column.type)
            or pa.types.is_floating(column.type)
            or pa.types.is_decimal(column.type)
        ):
            number = _as_number(positive)
            if number is None:
                raise RiskTestInputError(
                    f"{loaded.where(self.schema.label)} holds numbers, but positive_class is {positive!r}; "
                    "give the positive class as a number"
                )
            values = _floats(column)
            return values == number, known & ~np.isnan(values)
        matches = _arrow("equal", _cast(column, pa.string()), pa.scalar(category_text(positive), pa.string()))
        return _numpy(matches, fill=False), known

    def _usable_rows(
        self, loaded: LoadedTable, known: NDArray[np.bool_], score: NDArray[np.float64]
    ) -> NDArray[np.bool_]:
        usable = known & np.isfinite(score)
        dropped = int(usable.size - usable.sum())
        if dropped:
            self.warnings.append(
                f"{dropped} of {usable.size} rows of the {loaded.role} table have a missing label or a "
                "missing / non-finite score; performance and bias leave them out"
            )
        return usable

    def _classification_performance(
        self, role: str, y_true: NDArray[np.bool_], s: NDArray[np.float64], gated: bool
    ) -> list[TestResult]:
        """The label-based metrics on the usable rows (label and score present) of one table."""
        if y_true.size == 0:
            reason = f"the {role} table has no row with both a label and a score"
            return [self.not_applicable(t, role, reason, gated=gated) for t in CLASSIFICATION_METRICS]
        y_pred = s >= self.schema.decision_threshold
        counts = metrics.confusion_counts(y_true, y_pred)
        base_details: dict[str, Any] = {"rows": int(y_true.size)}
        out: list[TestResult] = []
        positives = counts.tp + counts.fn
        if positives == 0 or positives == y_true.size:
            only = "positive" if positives else "negative"
            out.append(
                self.not_applicable(
                    "performance.auc",
                    role,
                    f"the {role} label has one class (every row is {only} for positive_class "
                    f"{self.schema.positive_class!r}); AUC needs both classes",
                    details=base_details,
                    gated=gated,
                )
            )
        else:
            out.append(
                self.judge(
                    "performance.auc", role, metrics.roc_auc(y_true, s), details=base_details, gated=gated
                )
            )
        threshold_text = f"decision threshold {self.schema.decision_threshold:g}"
        accuracy_details = {
            **base_details,
            "confusion_matrix": counts.as_matrix(),
            "confusion_matrix_layout": "rows: true negative/positive; columns: predicted negative/positive",
            "decision_threshold": self.schema.decision_threshold,
        }
        rates: list[tuple[str, float | None, str, dict[str, Any]]] = [
            ("performance.accuracy", counts.accuracy(), "", accuracy_details),
            (
                "performance.precision",
                counts.precision(),
                f"no row is predicted positive at the {threshold_text}",
                base_details,
            ),
            ("performance.recall", counts.recall(), f"the {role} label has no positive row", base_details),
            (
                "performance.f1",
                counts.f1(),
                f"the {role} table has no positive label and no positive prediction",
                base_details,
            ),
        ]
        for test, value, why_none, details in rates:
            if value is None:
                out.append(self.not_applicable(test, role, why_none, details=details, gated=gated))
            else:
                out.append(self.judge(test, role, value, details=details, gated=gated))
        return out

    def _regression_performance(
        self, role: str, y: NDArray[np.float64], s: NDArray[np.float64], gated: bool
    ) -> list[TestResult]:
        """R2, RMSE and MAE on the usable rows (label and score finite) of one table."""
        if y.size < 2:
            reason = (
                f"the {role} table has {y.size} row(s) with both a label and a score; at least 2 are needed"
            )
            return [self.not_applicable(t, role, reason, gated=gated) for t in REGRESSION_METRICS]
        values = metrics.regression_metrics(y, s)
        details = {"rows": int(y.size)}
        out: list[TestResult] = []
        if np.all(y == y[0]):
            out.append(
                self.not_applicable(
                    "performance.r2",
                    role,
                    f"the {role} label is constant ({y[0]:g}); R2 is undefined",
                    details=details,
                    gated=gated,
                )
            )
        else:
            out.append(
                self.judge("performance.r2", role, values["performance.r2"], details=details, gated=gated)
            )
        for test in ("performance.rmse", "performance.mae"):
            out.append(self.judge(test, role, values[test], details=details, gated=gated))
        return out

    # -- drift and stability --------------------------------------------------------------------------

    def _numeric_feature(self, feature: str) -> tuple[list[TestResult], BinnedDistribution]:
        a_all = _floats(self.base.table.column(feature))
        b_all = _floats(self.comp.table.column(feature))
        return self._numeric_comparison(
            feature,
            a_all,
            b_all,
            ks_tests=("data_drift.ks_statistic", "data_drift.ks_pvalue"),
            stability_test="stability.csi",
        )

    def _score_drift(
        self, base_score: NDArray[np.float64], comp_score: NDArray[np.float64]
    ) -> tuple[list[TestResult], BinnedDistribution]:
        return self._numeric_comparison(
            self.schema.score,
            base_score,
            comp_score,
            ks_tests=("concept_drift.ks_statistic", "concept_drift.ks_pvalue"),
            stability_test="stability.psi",
        )

    def _numeric_comparison(
        self,
        feature: str,
        a_all: NDArray[np.float64],
        b_all: NDArray[np.float64],
        *,
        ks_tests: tuple[str, str],
        stability_test: str,
    ) -> tuple[list[TestResult], BinnedDistribution]:
        a, b = _sorted_finite(a_all), _sorted_finite(b_all)
        a_missing, b_missing = int(a_all.size - a.size), int(b_all.size - b.size)
        edges = metrics.quantile_edges(a, self.schema.bins)
        distribution = BinnedDistribution(
            feature=feature,
            kind="numeric",
            bins=_bin_labels(edges),
            edges=[float(e) for e in edges],
            baseline_counts=metrics.bin_counts_sorted(a, edges).tolist(),
            comparator_counts=metrics.bin_counts_sorted(b, edges).tolist(),
            baseline_missing=a_missing,
            comparator_missing=b_missing,
        )
        tests = [*ks_tests, stability_test]
        empty = [role for role, arr in (("baseline", a), ("comparator", b)) if arr.size == 0]
        if empty:
            reason = (
                f"column {feature!r} has no finite value in the {' and '.join(empty)} table; "
                "it cannot be compared"
            )
            return [self.not_applicable(t, "both", reason, feature=feature) for t in tests], distribution

        def compute() -> list[TestResult]:
            statistic, pvalue = metrics.ks_2samp_sorted(a, b)
            details: dict[str, Any] = {
                "n_baseline": int(a.size),
                "n_comparator": int(b.size),
                "missing_baseline": a_missing,
                "missing_comparator": b_missing,
            }
            if a[0] == a[-1]:
                details["constant_in_baseline"] = float(a[0])
            out = [
                self.judge(
                    ks_tests[0], "both", statistic, feature=feature, details={**details, "pvalue": pvalue}
                ),
                self.judge(
                    ks_tests[1], "both", pvalue, feature=feature, details={**details, "statistic": statistic}
                ),
            ]
            index = metrics.psi(
                np.asarray(distribution.baseline_counts), np.asarray(distribution.comparator_counts)
            )
            out.append(
                self.judge(
                    stability_test, "both", index, feature=feature, details={"bins": len(distribution.bins)}
                )
            )
            return out

        return self.guarded(tests, "both", feature, compute), distribution

    def _categorical_feature(self, feature: str) -> tuple[list[TestResult], BinnedDistribution]:
        base_codes, base_categories = _category_codes(self.base.table.column(feature))
        comp_codes, comp_categories = _category_codes(self.comp.table.column(feature))
        base_counts = _counts_by_category(base_codes, base_categories)
        comp_counts = _counts_by_category(comp_codes, comp_categories)
        # Baseline order (most frequent first), then categories only the comparator has.
        categories = sorted(base_counts, key=lambda c: (-base_counts[c], c))
        categories += sorted(set(comp_counts) - set(base_counts), key=lambda c: (-comp_counts[c], c))
        a = np.array([base_counts.get(c, 0) for c in categories], dtype=np.int64)
        b = np.array([comp_counts.get(c, 0) for c in categories], dtype=np.int64)
        a_missing, b_missing = int((base_codes < 0).sum()), int((comp_codes < 0).sum())
        distribution = _categorical_chart(feature, categories, a, b, a_missing, b_missing)
        tests = ["data_drift.chi2_pvalue", "data_drift.js_distance", "stability.csi"]
        empty = [role for role, counts in (("baseline", a), ("comparator", b)) if counts.sum() == 0]
        if empty:
            reason = f"column {feature!r} has only missing values in the {' and '.join(empty)} table"
            return [self.not_applicable(t, "both", reason, feature=feature) for t in tests], distribution

        def compute() -> list[TestResult]:
            unseen = [c for c in categories if c not in base_counts]
            details: dict[str, Any] = {
                "categories": len(categories),
                "unseen_in_baseline": unseen[:MAX_LISTED_CATEGORIES],
                "unseen_in_baseline_count": len(unseen),
                "missing_baseline": a_missing,
                "missing_comparator": b_missing,
            }
            out: list[TestResult] = []
            if len(categories) < 2:
                out.append(
                    self.not_applicable(
                        "data_drift.chi2_pvalue",
                        "both",
                        f"column {feature!r} holds the single category {categories[0]!r} in both tables; "
                        "the chi-square test needs two",
                        feature=feature,
                        details=details,
                    )
                )
            else:
                statistic, pvalue, dof = metrics.chi2_homogeneity(a, b)
                out.append(
                    self.judge(
                        "data_drift.chi2_pvalue",
                        "both",
                        pvalue,
                        feature=feature,
                        details={**details, "statistic": statistic, "dof": dof},
                    )
                )
            out.append(
                self.judge(
                    "data_drift.js_distance",
                    "both",
                    metrics.js_distance(a, b),
                    feature=feature,
                    details=details,
                )
            )
            out.append(
                self.judge(
                    "stability.csi",
                    "both",
                    metrics.psi(a, b),
                    feature=feature,
                    details={"bins": len(categories)},
                )
            )
            return out

        return self.guarded(tests, "both", feature, compute), distribution

    # -- bias -----------------------------------------------------------------------------------------

    def _bias(
        self, y: NDArray[np.bool_], known: NDArray[np.bool_], score: NDArray[np.float64]
    ) -> tuple[list[TestResult], list[GroupDisparity]]:
        schema = self.schema
        if not schema.protected_attributes:
            reason = "the schema names no protected attribute; add protected_attributes to judge bias"
            return [
                self.not_applicable("bias.ppr_disparity", "comparator", reason),
                self.not_applicable("bias.tpr_disparity", "comparator", reason),
            ], []
        scored = np.isfinite(score)
        predicted = scored & (score >= schema.decision_threshold)
        labelled_positive = scored & known & y
        results: list[TestResult] = []
        disparities: list[GroupDisparity] = []
        for attribute in schema.protected_attributes:
            codes, categories = _category_codes(self.comp.table.column(attribute))
            # A missing attribute value is a group of its own, last.
            codes = np.where(codes < 0, len(categories), codes)
            groups = [*categories, MISSING_GROUP]
            size = len(groups)
            rows = np.bincount(codes[scored], minlength=size)
            predicted_positive = np.bincount(codes[predicted], minlength=size)
            actual_positive = np.bincount(codes[labelled_positive], minlength=size)
            true_positive = np.bincount(codes[labelled_positive & predicted], minlength=size)
            attr_results, attr_disparities = self._bias_attribute(
                attribute, groups, rows, predicted_positive, actual_positive, true_positive
            )
            results += attr_results
            disparities += attr_disparities
        return results, disparities

    def _bias_attribute(
        self,
        attribute: str,
        groups: list[str],
        rows: NDArray[np.int64],
        predicted_positive: NDArray[np.int64],
        actual_positive: NDArray[np.int64],
        true_positive: NDArray[np.int64],
    ) -> tuple[list[TestResult], list[GroupDisparity]]:
        minimum = self.schema.min_group_size
        present = [i for i in range(len(groups)) if rows[i] > 0]
        if not present:
            # No comparator row has a finite score (all null, NaN or infinite): nothing to compare.
            reason = (
                f"no comparator row has a finite {self.schema.score!r} value, so no group of {attribute!r} "
                "has predictions to compare; fix the score column of the comparator data"
            )
            return [
                self.not_applicable(t, "comparator", reason, feature=attribute)
                for t in ("bias.ppr_disparity", "bias.tpr_disparity")
            ], []
        configured = self.schema.reference_groups.get(attribute)
        if configured is not None:
            wanted = category_text(configured)
            matches = [i for i in present if groups[i] == wanted]
            if not matches:
                reason = (
                    f"reference group {configured!r} of {attribute!r} has no scored row in the comparator "
                    f"(groups seen: {[groups[i] for i in present][:MAX_LISTED_CATEGORIES]}); "
                    "fix reference_groups"
                )
                return [
                    self.not_applicable(t, "comparator", reason, feature=attribute)
                    for t in ("bias.ppr_disparity", "bias.tpr_disparity")
                ], []
            ref = matches[0]
            ref_how = "reference_groups in the schema"
        else:
            ref = max(present, key=lambda i: (rows[i], -i))
            ref_how = "the largest group (no reference_groups entry)"

        def rate(num: NDArray[np.int64], den: NDArray[np.int64], i: int) -> float | None:
            return float(num[i] / den[i]) if den[i] else None

        ref_ppr = rate(predicted_positive, rows, ref)
        ref_tpr = rate(true_positive, actual_positive, ref)
        results: list[TestResult] = []
        disparities: list[GroupDisparity] = []
        for i in present:
            ppr = rate(predicted_positive, rows, i)
            tpr = rate(true_positive, actual_positive, i)
            is_ref = i == ref
            details = {
                "reference_group": groups[ref],
                "reference_chosen_by": ref_how,
                "rows": int(rows[i]),
                "actual_positive": int(actual_positive[i]),
                "ppr": ppr,
                "tpr": tpr,
                "reference_ppr": ref_ppr,
                "reference_tpr": ref_tpr,
            }
            ppr_disparity = tpr_disparity = None
            notes: list[str] = []
            if not is_ref:
                ppr_result, ppr_disparity = self._disparity(
                    "bias.ppr_disparity",
                    attribute,
                    groups[i],
                    ppr,
                    ref_ppr,
                    int(rows[i]),
                    int(rows[ref]),
                    "rows",
                    minimum,
                    details,
                )
                tpr_result, tpr_disparity = self._disparity(
                    "bias.tpr_disparity",
                    attribute,
                    groups[i],
                    tpr,
                    ref_tpr,
                    int(actual_positive[i]),
                    int(actual_positive[ref]),
                    "actual positives",
                    minimum,
                    details,
                )
                results += [ppr_result, tpr_result]
                notes = [r.reason for r in (ppr_result, tpr_result) if r.reason]
            disparities.append(
                GroupDisparity(
                    attribute=attribute,
                    group=groups[i],
                    is_reference=is_ref,
                    rows=int(rows[i]),
                    predicted_positive=int(predicted_positive[i]),
                    ppr=ppr,
                    actual_positive=int(actual_positive[i]),
                    true_positive=int(true_positive[i]),
                    tpr=tpr,
                    ppr_disparity=ppr_disparity,
                    tpr_disparity=tpr_disparity,
                    note="; ".join(notes) or None,
                )
            )
        return results, disparities

    def _disparity(
        self,
        test: str,
        attribute: str,
        group: str,
        group_rate: float | None,
        ref_rate: float | None,
        group_n: int,
        ref_n: int,
        unit: str,
        minimum: int,
        details: dict[str, Any],
    ) -> tuple[TestResult, float | None]:
        kind = "positive-prediction" if test == "bias.ppr_disparity" else "true-positive"
        if ref_n < minimum:
            reason = f"the reference group has {ref_n} {unit}, fewer than min_group_size {minimum}, to judge"
        elif group_n < minimum:
            reason = f"group has {group_n} {unit}, fewer than min_group_size {minimum}, to judge"
        elif group_rate is None or ref_rate is None or ref_rate == 0:
            reason = f"the reference group's {kind} rate is 0; the ratio is undefined"
        else:
            value = group_rate / ref_rate
            return self.judge(
                test, "comparator", value, feature=attribute, group=group, details=details
            ), value
        return self.not_applicable(
            test, "comparator", reason, feature=attribute, group=group, details=details
        ), None

    # -- regression diagnostics -----------------------------------------------------------------------

    def _regression_diagnostics(self, score: NDArray[np.float64]) -> list[TestResult]:
        label = _floats(self.comp.table.column(self.schema.label))
        residuals = label - score
        residuals = residuals[np.isfinite(residuals)]
        results: list[TestResult] = []
        if residuals.size < 2 or not np.any(residuals):
            results.append(
                self.not_applicable(
                    "regression.durbin_watson",
                    "comparator",
                    "the comparator has fewer than 2 residuals, or every residual is 0",
                )
            )
        else:
            results += self.guarded(
                ["regression.durbin_watson"],
                "comparator",
                None,
                lambda: [
                    self.judge(
                        "regression.durbin_watson",
                        "comparator",
                        metrics.durbin_watson(residuals),
                        details={"rows": int(residuals.size)},
                    )
                ],
            )
        features = list(self.schema.numeric_features)
        if not features:
            return results
        results += self.guarded(["regression.vif"], "comparator", None, lambda: self._vif(features))
        return results

    def _vif(self, features: list[str]) -> list[TestResult]:
        n, constant, cross = _centered_cross_products(self.comp.table, features)
        out: list[TestResult] = []
        if n <= len(features):
            reason = (
                f"{n} complete rows for {len(features)} numeric features; VIF needs more rows than features"
            )
            return [self.not_applicable("regression.vif", "comparator", reason, feature=f) for f in features]
        usable = [i for i in range(len(features)) if not constant[i]]
        for i, feature in enumerate(features):
            if i not in usable:
                out.append(
                    self.not_applicable(
                        "regression.vif",
                        "comparator",
                        f"feature {feature!r} is constant in the comparator's complete rows; "
                        "VIF is undefined",
                        feature=feature,
                    )
                )
        if not usable:
            return out
        if len(usable) == 1:
            # One regressor: nothing to be collinear with, VIF = 1 by definition.
            out.append(
                self.judge(
                    "regression.vif", "comparator", 1.0, feature=features[usable[0]], details={"rows": n}
                )
            )
            return out
        try:
            values = metrics.vif_from_cross_products(cross[np.ix_(usable, usable)])
        except np.linalg.LinAlgError:
            bound = self.thresholds.for_metric("regression.vif")
            for i in usable:
                out.append(
                    TestResult(
                        "regression.vif",
                        "comparator",
                        None,
                        bound,
                        False if bound else None,
                        "failed" if bound else "info",
                        features[i],
                        None,
                        "perfect multicollinearity: this feature is a linear combination of the others "
                        "(VIF is infinite)",
                        {"rows": n},
                    )
                )
            return out
        for i, value in zip(usable, values, strict=True):
            out.append(
                self.judge(
                    "regression.vif", "comparator", float(value), feature=features[i], details={"rows": n}
                )
            )
        return out


# -- column helpers ---------------------------------------------------------------------------------


def _arrow(kernel: str, *args: Any, options: Any = None) -> Any:
    """An Arrow compute kernel, called through ``pyarrow._compute``: importing ``pyarrow.compute`` (which
    ``cast``, ``is_valid`` and the like on arrays do) builds a documented Python wrapper for each of ~280
    kernels, about 40 ms of a short run's ~350 ms."""
    from pyarrow._compute import call_function

    return call_function(kernel, list(args), options)


def _cast(column: Any, to: pa.DataType) -> Any:
    """``column.cast(to)`` (safe) without importing ``pyarrow.compute``."""
    from pyarrow._compute import CastOptions

    return _arrow("cast", column, options=CastOptions.safe(to))


def _floats(column: pa.ChunkedArray) -> NDArray[np.float64]:
    """A numeric column as float64 with NaN for nulls (zero-copy when it already is null-free float64)."""
    if not pa.types.is_float64(column.type):
        column = _cast(column, pa.float64())
    return np.asarray(_numpy(column, fill=math.nan), dtype=np.float64)


def _numpy(column: pa.ChunkedArray | pa.Array, fill: Any = None) -> NDArray[Any]:
    """A numeric or boolean column as one NumPy array, nulls replaced by ``fill`` (zero-copy for one
    null-free numeric chunk).

    Straight from the Arrow buffers: pyarrow's ``to_numpy`` and ``fill_null`` with a Python value import
    pandas on first use (0.2 s of a short run's start, for nothing).
    """
    chunks = [column] if isinstance(column, pa.Array) else list(column.chunks)
    if len(chunks) == 1:
        return _chunk_numpy(chunks[0], fill)
    if not chunks:
        return np.empty(0, dtype=column.type.to_pandas_dtype())
    return np.concatenate([_chunk_numpy(chunk, fill) for chunk in chunks])


def _bits(buffer: pa.Buffer, offset: int, length: int) -> NDArray[np.bool_]:
    packed = np.frombuffer(buffer, dtype=np.uint8)
    return np.unpackbits(packed, bitorder="little")[offset : offset + length].view(np.bool_)


def _chunk_numpy(chunk: pa.Array, fill: Any = None) -> NDArray[Any]:
    kind = chunk.type
    length = len(chunk)
    fixed = pa.types.is_integer(kind) or pa.types.is_floating(kind)
    if not length or not (fixed or pa.types.is_boolean(kind)) or (chunk.null_count and fill is None):
        return chunk.to_numpy(zero_copy_only=False)
    validity, data = chunk.buffers()[:2]
    if pa.types.is_boolean(kind):
        values = _bits(data, chunk.offset, length)
    else:
        dtype = np.dtype(kind.to_pandas_dtype())
        values = np.frombuffer(data, dtype=dtype, count=length, offset=chunk.offset * dtype.itemsize)
    if chunk.null_count:
        filler = np.asarray(fill).astype(values.dtype)
        values = np.where(_bits(validity, chunk.offset, length), values, filler)
    return values


def _sorted_finite(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """The finite values, sorted: one sort (NaN sorts last, -inf first, +inf just before NaN) and a view.

    Sorted once per column and shared by the KS test, the quantile bins and the bin counts.
    """
    ordered = np.sort(values)
    low = int(np.searchsorted(ordered, -np.inf, side="right"))
    high = int(np.searchsorted(ordered, np.inf, side="left"))
    return ordered[low:high]


def _as_bool(value: Scalar) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _as_number(value: Scalar) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except ValueError:
        return None


def _sample_values(column: pa.ChunkedArray) -> list[Any]:
    return sorted(_arrow("unique", column.slice(0, 100_000)).to_pylist(), key=str)[:10]


def _category_codes(column: pa.ChunkedArray) -> tuple[NDArray[np.int64], list[str]]:
    """Per-row category index (-1 when missing) and the categories as text, each once."""
    if not pa.types.is_dictionary(column.type):
        column = _arrow("dictionary_encode", column)
    column = column.unify_dictionaries()
    if column.num_chunks == 0:
        return np.empty(0, dtype=np.int64), []
    dictionary = column.chunk(0).dictionary
    texts = _cast(dictionary, pa.string()).to_pylist()
    # Different raw values can read as the same text (say 1 and "1" after a cast): merge them.
    first: dict[str | None, int] = {}
    remap = np.empty(len(texts) + 1, dtype=np.int64)
    for i, text in enumerate(texts):
        if text is None:
            remap[i] = -1
            continue
        remap[i] = first.setdefault(text, len(first))
    remap[-1] = -1
    indices = np.concatenate(
        [_chunk_numpy(chunk.indices, fill=-1).astype(np.int64) for chunk in column.chunks]
    )
    return remap[indices], [t for t in first if t is not None]


def _counts_by_category(codes: NDArray[np.int64], categories: list[str]) -> dict[str, int]:
    counts = np.bincount(codes[codes >= 0], minlength=len(categories))
    return {c: int(n) for c, n in zip(categories, counts, strict=True) if n}


def _categorical_chart(
    feature: str,
    categories: list[str],
    a: NDArray[np.int64],
    b: NDArray[np.int64],
    a_missing: int,
    b_missing: int,
) -> BinnedDistribution:
    if len(categories) > CHART_MAX_CATEGORIES:
        keep = CHART_MAX_CATEGORIES - 1
        labels = [*categories[:keep], OTHER_CATEGORIES]
        a_counts = [*a[:keep].tolist(), int(a[keep:].sum())]
        b_counts = [*b[:keep].tolist(), int(b[keep:].sum())]
    else:
        labels, a_counts, b_counts = list(categories), a.tolist(), b.tolist()
    return BinnedDistribution(
        feature=feature,
        kind="categorical",
        bins=labels,
        edges=[],
        baseline_counts=a_counts,
        comparator_counts=b_counts,
        baseline_missing=a_missing,
        comparator_missing=b_missing,
    )


def _bin_labels(edges: NDArray[np.float64]) -> list[str]:
    if edges.size == 0:
        return ["all values"]
    text = [f"{e:.6g}" for e in edges]
    labels = [f"<= {text[0]}"]
    labels += [f"({lo}, {hi}]" for lo, hi in itertools.pairwise(text)]
    labels.append(f"> {text[-1]}")
    return labels


def _centered_cross_products(
    table: pa.Table, features: list[str]
) -> tuple[int, NDArray[np.bool_], NDArray[np.float64]]:
    """Rows with every feature finite: their count, which features are constant, centred cross-products.

    Two passes over row chunks, so the memory is one chunk, not a rows x features copy; centring before
    multiplying keeps the precision a one-pass sum of squares loses when means dwarf spreads.
    """
    k = len(features)
    columns = [table.column(f) for f in features]

    def chunks() -> Any:
        for start in range(0, table.num_rows, _VIF_CHUNK_ROWS):
            block = np.column_stack([_floats(c.slice(start, _VIF_CHUNK_ROWS)) for c in columns])
            yield block[np.all(np.isfinite(block), axis=1)]

    n = 0
    total = np.zeros(k)
    low = np.full(k, np.inf)
    high = np.full(k, -np.inf)
    for block in chunks():
        n += block.shape[0]
        total += block.sum(axis=0)
        if block.shape[0]:
            low = np.minimum(low, block.min(axis=0))
            high = np.maximum(high, block.max(axis=0))
    mean = total / n if n else total
    cross = np.zeros((k, k))
    for block in chunks():
        centred = block - mean
        cross += centred.T @ centred
    return n, low == high, cross
