"""The model review document: rendered from ``ReviewContext`` as HTML (primary), Markdown and PDF.

Same inputs, same bytes: nothing in it depends on the clock, the locale, dict order or the machine, and
its charts are generated here as SVG with fixed ids. Every format ends in a footer that prints the
SHA-256 of everything above it; ``RenderedDocument`` carries that hash (``body_sha256``) and the hash of
the whole file (``sha256``, the one the document is stored and recorded under). ``verify_footer_hash``
re-checks a file's footer.

Templates (``templates/review_document/``, overridable, see ``environment``): ``review.html.j2``,
``review.md.j2`` and the stylesheet ``style.css`` they include. Each must contain the footer marker
``<!-- mg:footer -->`` exactly once and print ``{{ document.sha256 }}`` after it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any

from model_governance.config import ApprovalKind
from model_governance.documents.charts import (
    DisparityBar,
    Distribution,
    data_uri,
    disparity_chart,
    distribution_chart,
)
from model_governance.documents.context import (
    ChampionInfo,
    DecisionRequest,
    MetricReport,
    ModelInfo,
    PolicyInfo,
    ReviewContext,
    redact,
    redact_text,
)
from model_governance.documents.environment import Flavor, TemplateSet, format_datetime, format_number
from model_governance.documents.escaping import MarkdownSafe, escape_markdown
from model_governance.exceptions import ConfigurationError, InvalidInputError
from model_governance.risk_tests.report import BinnedDistribution, RiskTestReport, TestResult
from model_governance.risk_tests.thresholds import METRICS

__all__ = [
    "FOOTER_MARKER",
    "MEDIA_TYPES",
    "RenderedDocument",
    "build_review_variables",
    "render_review_document",
    "verify_footer_hash",
]

DOCUMENT_KIND = "model_review"
FOOTER_MARKER = "<!-- mg:footer -->"
# Letters and digits only, so no format's escaping changes it; replaced by the real hash after rendering.
_HASH_PLACEHOLDER = "MGDOCUMENTSHA256PLACEHOLDER0000000000000000000000000000000000000"
MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "markdown": "text/markdown; charset=utf-8",
    "pdf": "application/pdf",
}
_EXTENSIONS = {"html": "html", "markdown": "md", "pdf": "pdf"}
TEMPLATE_NAMES = {"html": "review_document/review.html.j2", "markdown": "review_document/review.md.j2"}

KIND_LABELS = {
    ApprovalKind.USE_CASE.value: "Use case approval",
    ApprovalKind.PIA.value: "Privacy impact assessment (PIA) approval",
    ApprovalKind.RISK_TEST_FAILURE.value: "Risk test failure review",
    ApprovalKind.TEST_RESULTS_REVIEW.value: "Test results review",
    ApprovalKind.PRODUCTION.value: "Production approval",
    ApprovalKind.REVALIDATION.value: "Revalidation approval",
}
CATEGORY_LABELS = {
    "performance": "Performance",
    "data_drift": "Data drift",
    "concept_drift": "Concept drift",
    "stability": "Stability",
    "bias": "Bias",
    "regression": "Regression diagnostics",
}
# Failures first, then what a reviewer must still judge, then the rest.
_STATUS_ORDER = {"failed": 0, "error": 1, "not_applicable": 2, "passed": 3, "info": 4}
STATUS_LABELS = {
    "failed": "FAIL",
    "error": "ERROR",
    "not_applicable": "N/A",
    "passed": "PASS",
    "info": "INFO",
}
#: How many of the most drifted features get a distribution chart.
DRIFT_CHARTS = 4
_DRIFT_RANKING = ("stability.csi", "data_drift.ks_statistic", "data_drift.js_distance")


@dataclass(frozen=True)
class RenderedDocument:
    """One rendered file: its bytes, media type, file name and hashes."""

    kind: str
    format: str
    media_type: str
    filename: str
    content: bytes
    #: SHA-256 of ``content``: the key the file is stored and recorded under.
    sha256: str
    #: SHA-256 printed in the footer: of the bytes above the footer marker (for PDF: of its HTML source).
    body_sha256: str

    @property
    def size(self) -> int:
        return len(self.content)


# -- the template variables -----------------------------------------------------------------------------


def result_row(result: TestResult) -> dict[str, Any]:
    spec = METRICS.get(result.test)
    subject = " / ".join(part for part in (result.feature, result.group) if part)
    return {
        "test": result.test,
        "category": result.test.split(".", 1)[0],
        "description": spec.description if spec else "",
        "subject": subject,
        "feature": result.feature,
        "group": result.group,
        "dataset": result.dataset,
        "value": format_number(result.value),
        "threshold": result.threshold.describe() if result.threshold else "info only",
        "status": result.status,
        "status_label": STATUS_LABELS.get(result.status, result.status.upper()),
        "reason": redact_text(result.reason or ""),
    }


def result_sort_key(result: TestResult) -> tuple[Any, ...]:
    return (_STATUS_ORDER.get(result.status, 9), result.test, result.feature or "", result.group or "")


def decision_view(decision: DecisionRequest) -> dict[str, Any]:
    """Who is asked to decide, on which ticket, by whom and by when (documents and tickets)."""
    return {
        "approvers": list(decision.approvers),
        "jira_key": decision.jira_key,
        "requested_by": decision.requested_by,
        "due_at": format_datetime(decision.due_at) if decision.due_at else None,
    }


def model_identity_view(model: ModelInfo) -> dict[str, Any]:
    """The model version as documents and tickets name it: group, version, package and statuses."""
    return {
        "group_name": model.group_name,
        "group_arn": model.group_arn,
        "version": model.version,
        "package_arn": model.package_arn,
        "governance_status": model.governance_status,
        "approval_status": model.approval_status,
        "description": model.description,
    }


def training_metrics_view(model: ModelInfo) -> list[dict[str, str]]:
    """The model's training metrics by name, numbers formatted."""
    return [
        {"name": name, "value": format_number(value)}
        for name, value in sorted(model.training_metrics.items())
    ]


def _shares(counts: Sequence[int]) -> list[float]:
    total = sum(counts)
    return [count / total if total else 0.0 for count in counts]


def _bin_labels(dist: BinnedDistribution) -> list[str]:
    """Short bin labels: numeric bins from their edges at 3 significant digits, categories as they are."""
    if dist.kind != "numeric" or len(dist.edges) != len(dist.bins) - 1 or not dist.edges:
        return list(dist.bins)
    edges = [format_number(edge, 3) for edge in dist.edges]
    middle = [f"{low}\u2013{high}" for low, high in pairwise(edges)]
    return [f"\u2264 {edges[0]}", *middle, f"> {edges[-1]}"]


def _distribution(dist: BinnedDistribution) -> Distribution:
    return Distribution(
        labels=_bin_labels(dist),
        baseline=_shares(dist.baseline_counts),
        comparator=_shares(dist.comparator_counts),
    )


def _missing_note(dist: BinnedDistribution) -> str:
    if not (dist.baseline_missing or dist.comparator_missing):
        return ""
    return f"missing values: baseline {dist.baseline_missing}, comparator {dist.comparator_missing}"


def _drifted_features(report: RiskTestReport) -> list[dict[str, Any]]:
    """The features with distributions, most drifted first: failing ones, then by CSI / KS / JS value."""
    by_feature: dict[str, list[TestResult]] = {}
    for result in report.results:
        if result.feature and result.test.split(".", 1)[0] in ("data_drift", "stability"):
            by_feature.setdefault(result.feature, []).append(result)
    ranked: list[dict[str, Any]] = []
    for dist in report.distributions:
        results = by_feature.get(dist.feature, [])
        failed = any(r.status == "failed" for r in results)
        score, measure = 0.0, ""
        for metric in _DRIFT_RANKING:
            values = [r.value for r in results if r.test == metric and r.value is not None]
            if values:
                score, measure = max(values), metric
                break
        facts = ", ".join(
            f"{r.test.split('.', 1)[1]} {format_number(r.value)}"
            + (f" ({STATUS_LABELS.get(r.status, r.status)})" if r.status in ("failed", "passed") else "")
            for r in sorted(results, key=lambda r: r.test)
            if r.value is not None
        )
        ranked.append(
            {
                "feature": dist.feature,
                "kind": dist.kind,
                "failed": failed,
                "score": score,
                "measure": measure,
                "facts": facts,
                "dist": dist,
            }
        )
    ranked.sort(key=lambda item: (not item["failed"], -float(item["score"]), item["feature"]))
    return ranked


def _disparity_band(report: RiskTestReport) -> tuple[float, float]:
    bound = report.thresholds.bounds.get("bias.ppr_disparity")
    if bound is not None and bound.low is not None and bound.high is not None:
        return (bound.low, bound.high)
    return (0.8, 1.2)


def _charts(report: RiskTestReport, drifted: list[dict[str, Any]]) -> list[dict[str, Any]]:
    charts: list[dict[str, Any]] = []
    for index, item in enumerate(drifted[:DRIFT_CHARTS], start=1):
        dist: BinnedDistribution = item["dist"]
        subtitle = "; ".join(part for part in (item["facts"], _missing_note(dist)) if part)
        title = f"Baseline vs comparator: {dist.feature}"
        svg = distribution_chart(f"chart-drift-{index}", title, _distribution(dist), subtitle=subtitle)
        caption = (
            "Share of rows in each bin of the baseline's deciles"
            if dist.kind == "numeric"
            else "Share of rows in each category"
        ) + ("; the feature fails a drift or stability test" if item["failed"] else "")
        charts.append(
            {"id": f"chart-drift-{index}", "group": "drift", "title": title, "caption": caption, "svg": svg}
        )
    if report.score_distribution is not None:
        dist = report.score_distribution
        concept = [r for r in report.results if r.test.startswith(("concept_drift.", "stability.psi"))]
        facts = ", ".join(
            f"{r.test} {format_number(r.value)}"
            for r in sorted(concept, key=result_sort_key)
            if r.value is not None
        )
        subtitle = "; ".join(part for part in (facts, _missing_note(dist)) if part)
        title = f"Score distribution: {dist.feature}"
        charts.append(
            {
                "id": "chart-score",
                "group": "score",
                "title": title,
                "caption": "Share of rows in each bin of the baseline's score deciles (concept drift, PSI)",
                "svg": distribution_chart("chart-score", title, _distribution(dist), subtitle=subtitle),
            }
        )
    band = _disparity_band(report)
    verdicts = {
        (r.feature, r.group): (r.status == "passed" if r.status in ("passed", "failed") else None)
        for r in report.results
        if r.test == "bias.ppr_disparity"
    }
    attributes = sorted({g.attribute for g in report.group_disparities})
    for index, attribute in enumerate(attributes, start=1):
        groups = sorted(
            (g for g in report.group_disparities if g.attribute == attribute),
            key=lambda g: (not g.is_reference, g.group),
        )
        bars = [
            DisparityBar(
                label=f"{g.group} (reference)" if g.is_reference else g.group,
                # The reference group is the denominator: its ratio is 1 by definition.
                value=1.0 if g.is_reference and g.ppr_disparity is None else g.ppr_disparity,
                passed=None if g.is_reference else verdicts.get((attribute, g.group)),
            )
            for g in groups
        ]
        title = f"Positive-prediction rate disparity: {attribute}"
        charts.append(
            {
                "id": f"chart-bias-{index}",
                "group": "bias",
                "title": title,
                "caption": f"ratio to the reference group; passes inside [{band[0]:g}, {band[1]:g}]",
                "svg": disparity_chart(f"chart-bias-{index}", title, bars, band=band),
            }
        )
    for chart in charts:
        chart["data_uri"] = data_uri(str(chart["svg"]))
    return charts


def _risk_view(report: RiskTestReport) -> dict[str, Any]:
    results = sorted(report.results, key=result_sort_key)
    rows = [result_row(r) for r in results]
    categories = []
    for category in sorted(
        {row["category"] for row in rows},
        key=lambda c: (list(CATEGORY_LABELS).index(c) if c in CATEGORY_LABELS else 99, c),
    ):
        cat_rows = [row for row in rows if row["category"] == category]
        categories.append(
            {
                "id": category.replace("_", "-"),
                "name": category,
                "label": CATEGORY_LABELS.get(category, category.replace("_", " ").capitalize()),
                "rows": cat_rows,
                "failed": sum(1 for row in cat_rows if row["status"] == "failed"),
            }
        )
    drifted = _drifted_features(report)
    verdict = {True: "passed", False: "failed", None: "needs judgement"}[report.passed]
    summary = report.summary()
    inputs = redact(report.inputs)
    datasets = []
    for role in ("baseline", "comparator"):
        info = inputs.get(role) if isinstance(inputs.get(role), Mapping) else {}
        datasets.append(
            {"role": role, "source": str(info.get("source", "n/a")), "rows": format_number(info.get("rows"))}
        )
    disparities = [
        {
            "attribute": g.attribute,
            "group": g.group,
            "is_reference": g.is_reference,
            "rows": format_number(g.rows),
            "ppr": format_number(g.ppr),
            "tpr": format_number(g.tpr),
            "ppr_disparity": "reference" if g.is_reference else format_number(g.ppr_disparity),
            "tpr_disparity": "reference" if g.is_reference else format_number(g.tpr_disparity),
            "note": redact_text(g.note or ""),
        }
        for g in sorted(report.group_disparities, key=lambda g: (g.attribute, not g.is_reference, g.group))
    ]
    return {
        "passed": report.passed,
        "verdict": verdict,
        "problem_type": report.problem_type,
        "risk_level": report.risk_level,
        "schema_version": report.schema_version,
        "engine_version": report.engine_version,
        "summary": {key: summary[key] for key in ("passed", "failed", "error", "not_applicable", "info")},
        "not_judged": list(summary["not_judged"]),
        "failures": [row for row in rows if row["status"] in ("failed", "error")],
        "categories": categories,
        "drifted_features": [
            {k: item[k] for k in ("feature", "kind", "failed", "measure", "facts")}
            | {"score": format_number(item["score"])}
            for item in drifted
        ],
        "disparities": disparities,
        "datasets": datasets,
        "thresholds": _thresholds_view(report),
        "warnings": [redact_text(w) for w in report.warnings],
        "charts": _charts(report, drifted),
    }


def _thresholds_view(report: RiskTestReport) -> list[dict[str, str]]:
    """The pass thresholds that applied (the snapshot's, for its risk level), and where each came from:
    the suite's default or the risk level's setting (``risk_tests.thresholds``)."""
    rows = []
    for metric_id, spec in sorted(METRICS.items()):
        bound = report.thresholds.bounds.get(metric_id)
        if bound is None and spec.default is None:
            continue  # reported for information only, by default and as configured
        source = "default" if bound == spec.default else f"{report.risk_level} setting"
        rows.append(
            {
                "metric": metric_id,
                "passes_when": bound.describe() if bound is not None else "not gated (info only)",
                "source": source,
            }
        )
    return rows


def _flatten(value: Any, prefix: str = "") -> Iterable[tuple[str, str]]:
    """Model card content as (dotted path, text) rows; lists of plain values joined by commas."""
    if isinstance(value, Mapping):
        for key in sorted(value, key=str):
            yield from _flatten(value[key], f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        if all(not isinstance(item, Mapping | list) for item in value):
            yield (
                prefix,
                ", ".join(format_number(item) if isinstance(item, float) else str(item) for item in value),
            )
        else:
            for index, item in enumerate(value):
                yield from _flatten(item, f"{prefix}[{index}]")
    elif value is None:
        yield prefix, "n/a"
    else:
        yield prefix, format_number(value) if isinstance(value, float | bool) else str(value)


def _metric_report_view(report: MetricReport) -> dict[str, Any]:
    """One ModelMetrics report as the templates show it: what reading it gave, in words."""
    if report.problem:
        outcome = f"not used: {report.problem}"
    elif report.metrics:
        outcome = f"{report.metrics} metric{'s' if report.metrics != 1 else ''} read"
    elif report.read:
        outcome = "read; it holds no model quality metrics"
    else:
        outcome = "listed, not read"
    if report.digest_verified:
        outcome += "; digest verified"
    elif report.read and not report.content_digest:
        outcome += "; no digest registered"
    return {
        "report": report.report,
        "uri": report.uri,
        "content_type": report.content_type or "n/a",
        "digest": report.content_digest or "none registered",
        "outcome": outcome,
        "problem": bool(report.problem),
    }


_GATE_ORDER = (
    ApprovalKind.PIA,
    ApprovalKind.RISK_TEST_FAILURE,
    ApprovalKind.TEST_RESULTS_REVIEW,
    ApprovalKind.PRODUCTION,
)
_FAILED_TESTS_RULES = {
    "block": "A failed gated risk test blocks the test results review: a move to Done is refused until the "
    "version is re-tested.",
    "justify": "A failed gated risk test may be approved only with a justification: a comment by the "
    "approver starting with 'Justification:', written before the ticket is moved to Done.",
    "allow": "Failed gated risk tests do not block the test results review; the reviewer decides.",
}
_FAILED_TESTS_CONSEQUENCES = {
    "block": "so this review cannot be approved: reject it, or fix the data or the model and test it again.",
    "justify": "so approving this review needs the approver's justification, recorded with the decision.",
    "allow": "and the policy lets the reviewer approve them.",
}


def _policy_view(policy: PolicyInfo) -> dict[str, Any]:
    """The approval policy of the risk level as rows of text (``approvals.policies`` in the settings)."""
    gates = []
    for kind in _GATE_ORDER:
        groups = list(policy.approver_groups.get(kind, ()))
        gates.append(
            {
                "label": KIND_LABELS[kind.value],
                "approvers": f"members of {', '.join(groups)}"
                if groups
                else "any reviewer other than the people excluded from it",
            }
        )
    failed = list(policy.failed_tests)
    if failed:
        count = f"{len(failed)} gated risk test{'s' if len(failed) != 1 else ''} failed"
        consequence = (
            f"{count} ({', '.join(failed)}), {_FAILED_TESTS_CONSEQUENCES[policy.failed_tests_action]}"
        )
    else:
        consequence = "no gated risk test failed."
    return {
        "risk_level": policy.risk_level,
        "gates": gates,
        "one_person_many_gates": (
            "One person may approve more than one of the PIA, test results review and production gates of a "
            "model version."
            if policy.one_person_many_gates
            else "One person may approve only one of the PIA, test results review and production gates of a "
            "model version."
        ),
        "failed_tests_action": policy.failed_tests_action,
        "failed_tests_rule": _FAILED_TESTS_RULES[policy.failed_tests_action],
        "failed_tests": failed,
        "consequence": consequence,
    }


def _datasets(report: RiskTestReport) -> str:
    """Which data a report was computed on, in words: its baseline and comparator sources and rows."""
    inputs = redact(report.inputs)
    parts = []
    for role in ("baseline", "comparator"):
        info = inputs.get(role) if isinstance(inputs.get(role), Mapping) else {}
        parts.append(f"{role} {info.get('source', 'n/a')} ({format_number(info.get('rows'))} rows)")
    return ", ".join(parts)


def _result_key(result: TestResult) -> tuple[str, str, str, str]:
    return (result.test, result.feature or "", result.group or "", result.dataset)


def _difference(new: TestResult | None, before: TestResult | None) -> str:
    """Challenger minus champion, signed; a dash when either side has no value."""
    if new is None or before is None or new.value is None or before.value is None:
        return "—"
    delta = new.value - before.value
    return ("+" if delta > 0 else "") + format_number(delta)


def _shared_data(shared: Mapping[str, Any]) -> str:
    """The one comparator data both sides were computed on, in words: URI, digest, version, rows."""
    parts = [str(shared.get("source") or "n/a")]
    if shared.get("sha256"):
        parts.append(f"SHA-256 {shared['sha256']}")
    if shared.get("version_id"):
        parts.append(f"S3 version {shared['version_id']}")
    rows = f"{format_number(shared.get('rows'))} rows"
    if shared.get("rows_compared") is not None:
        rows += (
            f" ({format_number(shared.get('rows_compared'))} with a label and a challenger score, "
            "the rows both sides' results use)"
        )
    parts.append(rows)
    if shared.get("score_column"):
        parts.append(f"champion's scores from column {shared['score_column']}")
    return ", ".join(parts)


def _verdict_changes(pairs: Iterable[tuple[str, TestResult | None, TestResult | None]]) -> list[str]:
    """What differs in the verdicts: gated tests one side passes and the other fails."""
    worse = [
        name for name, new, before in pairs if new and before and (before.passed, new.passed) == (True, False)
    ]
    better = [
        name for name, new, before in pairs if new and before and (before.passed, new.passed) == (False, True)
    ]
    lines = []
    if worse:
        lines.append(
            f"The challenger fails {len(worse)} gated test(s) the champion passes: {', '.join(worse)}."
        )
    if better:
        lines.append(
            f"The challenger passes {len(better)} gated test(s) the champion fails: {', '.join(better)}."
        )
    if not lines:
        lines.append("No gated test has a different verdict for the two.")
    return lines


def _champion_view(champion: ChampionInfo, challenger: RiskTestReport) -> dict[str, Any]:
    """Champion vs challenger: identity, which data each report was computed on, and the gated results
    side by side (metric, champion value, challenger value, difference, threshold, verdicts). On the same
    data (``same_data``), the rows are the champion's recomputed tests (performance, bias) and the data is
    stated once; otherwise every gated test of either report."""
    theirs = champion.risk_report
    mine = {_result_key(r): r for r in challenger.results}
    old = {_result_key(r): r for r in theirs.results} if theirs is not None else {}
    union = old if champion.same_data else {**mine, **old}
    keys = [k for k in union if (mine.get(k) or old[k]).threshold is not None]
    rows = []
    pairs: list[tuple[str, TestResult | None, TestResult | None]] = []
    for key in sorted(keys, key=lambda k: (_STATUS_ORDER.get(mine[k].status if k in mine else "", 9), k)):
        new, before = mine.get(key), old.get(key)
        bound = (new or before).threshold  # type: ignore[union-attr]
        label = " / ".join(part for part in (key[1], key[2]) if part)
        pairs.append((f"{key[0]} ({label})" if label else key[0], new, before))
        rows.append(
            {
                "metric": key[0],
                "subject": label,
                "champion": format_number(before.value) if before is not None else "not run",
                "challenger": format_number(new.value) if new is not None else "not run",
                "difference": _difference(new, before),
                "threshold": bound.describe() if bound is not None else "info only",
                "champion_verdict": STATUS_LABELS.get(before.status, before.status) if before else "-",
                "challenger_verdict": STATUS_LABELS.get(new.status, new.status) if new else "-",
            }
        )
    return {
        "group_name": champion.group_name,
        "version": champion.version,
        "package_arn": champion.package_arn,
        "governance_status": champion.governance_status or "n/a",
        "report_source": champion.report_source,
        "has_report": theirs is not None,
        "verdict": {True: "passed", False: "failed", None: "needs judgement"}[theirs.passed]
        if theirs
        else "n/a",
        "champion_data": _datasets(theirs) if theirs is not None else "n/a",
        "challenger_data": _datasets(challenger),
        "same_data": champion.same_data,
        "shared_data": _shared_data(champion.shared_data) if champion.same_data else "",
        "note": champion.note,
        "changes": _verdict_changes(pairs) if theirs is not None else [],
        "rows": rows,
    }


def build_review_variables(ctx: ReviewContext) -> dict[str, Any]:
    """The variables the review templates see (documented in ``templates/README.md``)."""
    if not isinstance(ctx, ReviewContext):
        raise InvalidInputError(f"render_review_document needs a ReviewContext, got {type(ctx).__name__}.")
    report = ctx.risk_report
    model = ctx.model
    snapshot = ctx.snapshot
    title = f"Model review: {model.group_name} version {model.version}"
    return {
        "document": {
            "title": title,
            "kind": DOCUMENT_KIND,
            "generated_at": format_datetime(ctx.generated_at),
            "generated_at_iso": ctx.generated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sha256": _HASH_PLACEHOLDER,
            "footer_marker": FOOTER_MARKER,
        },
        "decision": {
            "kind": ctx.decision.kind.value,
            "label": KIND_LABELS[ctx.decision.kind.value],
            **decision_view(ctx.decision),
        },
        "use_case": asdict(ctx.use_case),
        "model": {
            **model_identity_view(model),
            "created_at": format_datetime(model.created_at) if model.created_at else None,
            "artifacts": [
                {
                    "role": a.role,
                    "uri": a.uri,
                    "digest": a.digest or "n/a",
                    "version_id": a.version_id or "n/a",
                }
                for a in model.artifacts
            ],
            "training_metrics": training_metrics_view(model),
            "metric_reports": [_metric_report_view(r) for r in model.metric_reports],
            "note": model.note,
            "model_card_status": model.model_card_status,
            "model_card": [{"key": key, "value": text} for key, text in _flatten(model.model_card)],
        },
        "snapshot": {
            "id": snapshot.snapshot_id,
            "content_hash": snapshot.content_hash,
            "uri": snapshot.uri,
            "assets": [
                {
                    "role": a.role,
                    "uri": a.uri,
                    "digest": a.digest or "n/a",
                    "version_id": a.version_id or "unversioned",
                    "sha256": a.sha256 or "n/a",
                }
                for a in snapshot.assets
            ],
            "endpoint_config_name": snapshot.endpoint_config_name,
            "suite_version": snapshot.suite_version or report.engine_version,
            "created_at": format_datetime(snapshot.created_at) if snapshot.created_at else None,
        },
        "risk": _risk_view(report),
        "approvals": [
            {
                "kind": a.kind.value,
                "label": KIND_LABELS[a.kind.value],
                "jira_key": a.jira_key,
                "url": a.url,
                "state": a.state,
                "requested_at": format_datetime(a.requested_at) if a.requested_at else "n/a",
                "requested_by": a.requested_by or "n/a",
                "decided_at": format_datetime(a.decided_at) if a.decided_at else "",
                "decided_by": a.decided_by or "",
                "justification": a.justification or "",
            }
            for a in ctx.approvals
        ],
        "policy": _policy_view(ctx.policy) if ctx.policy is not None else None,
        "champion": _champion_view(ctx.champion, report) if ctx.champion is not None else None,
        "links": ctx.links.as_dict(),
        "extra": ctx.extra,
    }


# -- rendering ------------------------------------------------------------------------------------------


def _seal(text: str, template: str) -> tuple[bytes, str]:
    """Hash everything above the footer marker and print that hash in the footer."""
    if text.count(FOOTER_MARKER) != 1:
        raise ConfigurationError(
            f"Template {template!r} must contain the footer marker {FOOTER_MARKER!r} exactly once (found "
            f"{text.count(FOOTER_MARKER)}); put it just before the footer that prints document.sha256."
        )
    head, _, footer = text.partition(FOOTER_MARKER)
    if _HASH_PLACEHOLDER in head:
        raise ConfigurationError(
            f"Template {template!r} prints document.sha256 above the footer marker; print it only after it."
        )
    if _HASH_PLACEHOLDER not in footer:
        raise ConfigurationError(
            f"Template {template!r} does not print {{{{ document.sha256 }}}} after the footer marker; add it."
        )
    body = head.encode("utf-8")
    digest = hashlib.sha256(body).hexdigest()
    return body + (FOOTER_MARKER + footer.replace(_HASH_PLACEHOLDER, digest)).encode("utf-8"), digest


def verify_footer_hash(content: bytes) -> bool:
    """True when the SHA-256 printed in the footer of an HTML or Markdown document matches its body."""
    marker = FOOTER_MARKER.encode("utf-8")
    if content.count(marker) != 1:
        return False
    head, _, footer = content.partition(marker)
    return hashlib.sha256(head).hexdigest().encode("ascii") in footer


def document_filename(group_name: str, version: int, fmt: str) -> str:
    """The review document's file name in format ``fmt`` (what the ticket's attachment is called)."""
    return f"model-review-{_slug(group_name)}-v{version}.{_EXTENSIONS[fmt]}"


def _document(fmt: str, content: bytes, body_sha256: str, ctx: ReviewContext) -> RenderedDocument:
    return RenderedDocument(
        kind=DOCUMENT_KIND,
        format=fmt,
        media_type=MEDIA_TYPES[fmt],
        filename=document_filename(ctx.model.group_name, ctx.model.version, fmt),
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        body_sha256=body_sha256,
    )


def _slug(text: str) -> str:
    slug = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text).strip("-.")
    return slug[:63] or "model"


def render_review_document(
    ctx: ReviewContext,
    *,
    formats: Sequence[str] = ("html", "markdown", "pdf"),
    templates: TemplateSet | None = None,
    templates_dir: str | os.PathLike[str] | None = None,
) -> dict[str, RenderedDocument]:
    """Render the review document in ``formats`` (``html``, ``markdown``, ``pdf``), keyed by format.

    ``templates_dir`` is the organisation's templates folder (overrides ours file by file); or pass a
    ready ``TemplateSet``. The PDF is made from the HTML, so asking for it renders the HTML too.
    """
    unknown = sorted(set(formats) - set(MEDIA_TYPES))
    if unknown or not formats:
        raise InvalidInputError(
            f"Document formats {unknown or list(formats)} are not among {sorted(MEDIA_TYPES)}."
        )
    templates = templates or TemplateSet(templates_dir)
    variables = build_review_variables(ctx)
    # Charts: inline SVG for HTML; data-URI images for Markdown (viewers strip inline SVG there).
    out: dict[str, RenderedDocument] = {}
    needed = [fmt for fmt in ("html", "markdown") if fmt in formats or (fmt == "html" and "pdf" in formats)]
    for fmt in needed:
        flavor: Flavor = "html" if fmt == "html" else "markdown"
        view = dict(variables)
        if fmt == "markdown":
            view["risk"] = _markdown_risk(variables["risk"])
        text = templates.render(TEMPLATE_NAMES[fmt], flavor, view)
        content, body_sha = _seal(text, TEMPLATE_NAMES[fmt])
        out[fmt] = _document(fmt, content, body_sha, ctx)
    if "pdf" in formats:
        from model_governance.documents.pdf import html_to_pdf

        html_doc = out["html"]
        pdf = html_to_pdf(html_doc.content.decode("utf-8"), created=ctx.generated_at)
        out["pdf"] = _document("pdf", pdf, html_doc.body_sha256, ctx)
    return {fmt: out[fmt] for fmt in formats}


def _markdown_risk(risk: dict[str, Any]) -> dict[str, Any]:
    charts = []
    for chart in risk["charts"]:
        # The URI is base64 (letters, digits, '+', '/', '='), so it cannot break out of the image syntax.
        charts.append({**chart, "image": MarkdownSafe(f"![{_md_alt(chart['title'])}]({chart['data_uri']})")})
    return {**risk, "charts": charts}


def _md_alt(text: str) -> str:
    return escape_markdown(text)
