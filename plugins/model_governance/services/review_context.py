"""The model review document's context, built from the real package (no Airflow import).

``build_review_context`` gathers everything the review document shows about one model version and its
snapshot: the use case, the model version with its artifacts and digests and the data scientist's model
card (as the snapshot recorded them, ``snapshots``), the training and evaluation metrics read from the
package's ``ModelMetrics`` reports in S3, the pinned data assets, the risk test report, the approval
policy of the use case's risk level (``approvals.policies``) with this version's failed gated tests, and
the approvals so far with any justification recorded with them. When the version is a model change's
challenger (``Inventory.champion_of``), the champion in production and its results on the challenger's
comparator data (computed by the challenger's risk test step from the champion's scores in that data),
shown side by side with the challenger's with the one dataset both were computed on (``champion_info``).

Collaborators are passed in: the inventory, an S3 client of the model's business entity (anything with a
boto3-shaped ``get_object``), the settings and the Airflow run's URL. Nothing is written.

Metrics reports: every report pointer the snapshot recorded is read once. A report with a
``ContentDigest`` is checked against the SHA-256 of its bytes, and a mismatch is refused
(``MetricsReportChangedError``, naming the URI): the document must not show numbers that are not the ones
registered. SageMaker's model quality JSON (``binary_classification_metrics``,
``multiclass_classification_metrics``, ``regression_metrics``: ``{"auc": {"value": 0.91,
"standard_deviation": ...}, "confusion_matrix": {"0": {"0": 1180, ...}}, ...}``) is flattened to
``name -> number`` (``auc``, ``confusion_matrix.0.1``; curves and standard deviations left out). A report
that is gone, unreadable or not parseable is named in the document with the reason, not a crash; a
transient S3 failure (throttling, a dropped connection) raises ``RegistryError`` so the task retries
instead of storing a document that says less than it could.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from model_governance.approvals import failed_gated_tests
from model_governance.config import ApprovalKind
from model_governance.documents.context import (
    ApprovalRecord,
    ChampionInfo,
    DecisionRequest,
    Links,
    MetricReport,
    PolicyInfo,
    ReviewContext,
    as_report,
)
from model_governance.exceptions import InvalidInputError, RegistryError
from model_governance.snapshots import S3Location, parse_s3_uri
from model_governance.ticket_context import model_info, snapshot_info, use_case_info

if TYPE_CHECKING:
    from model_governance.config import GovernanceConfig
    from model_governance.inventory import Inventory, Model, Snapshot
    from model_governance.risk_tests.report import ChampionComparison, RiskTestReport

__all__ = [
    "MAX_REPORT_BYTES",
    "MODEL_QUALITY_SECTIONS",
    "MetricsRead",
    "MetricsReportChangedError",
    "S3Reader",
    "approval_policy",
    "approval_records",
    "build_review_context",
    "champion_info",
    "model_quality_metrics",
    "read_model_metrics",
]

#: A metrics report larger than this is hashed (its digest still checked) but not parsed.
MAX_REPORT_BYTES = 16 << 20
_CHUNK = 1 << 20
#: The sections of SageMaker's model quality JSON that hold metrics.
MODEL_QUALITY_SECTIONS = (
    "binary_classification_metrics",
    "multiclass_classification_metrics",
    "regression_metrics",
)
#: The report that carries the model quality metrics (``ModelMetrics.ModelQuality.Statistics``).
QUALITY_REPORT = "ModelQuality.Statistics"
#: S3 error codes that mean the report cannot be read as it stands (named in the document); any other
#: error is treated as transient and raised, so the task retries.
_UNREADABLE = frozenset(
    {
        "404",
        "403",
        "NoSuchKey",
        "NoSuchBucket",
        "NotFound",
        "AccessDenied",
        "Forbidden",
        "InvalidObjectState",
        "NoSuchVersion",
        "InvalidArgument",
        "InvalidBucketName",
    }
)
_DIGEST = re.compile(r"^sha256:([0-9a-f]{64})$", re.IGNORECASE)
# https://bucket.s3.region.amazonaws.com/key, https://bucket.s3.amazonaws.com/key (virtual-hosted) and
# https://s3.region.amazonaws.com/bucket/key (path style): the forms S3Uri may take besides s3://.
_VIRTUAL_HOSTED = re.compile(
    r"^https://(?P<bucket>[a-z0-9][a-z0-9.-]+)\.s3[.-](?:[a-z0-9-]+\.)?amazonaws\.com/(?P<key>.+)$"
)
_PATH_STYLE = re.compile(
    r"^https://s3[.-](?:[a-z0-9-]+\.)?amazonaws\.com/(?P<bucket>[a-z0-9][a-z0-9.-]+)/(?P<key>.+)$"
)


class S3Reader(Protocol):
    """What the service needs of S3: boto3's ``get_object`` (``Body`` with ``read(amt)``)."""

    def get_object(self, **kwargs: Any) -> Mapping[str, Any]: ...


class MetricsReportChangedError(InvalidInputError):
    """A ModelMetrics report's bytes do not match the ``ContentDigest`` registered with the package."""


@dataclass(frozen=True)
class MetricsRead:
    """What the package's ModelMetrics reports gave: the metrics by name and what each report gave."""

    metrics: Mapping[str, float]
    reports: tuple[MetricReport, ...]


# -- metrics reports ------------------------------------------------------------------------------------


def _location(uri: str) -> S3Location | None:
    """The S3 object an ``S3Uri`` names (``s3://`` or an S3 https URL), or None for anything else."""
    if uri.startswith("s3://"):
        try:
            return parse_s3_uri(uri, what="ModelMetrics S3Uri")
        except InvalidInputError:
            return None
    for pattern in (_VIRTUAL_HOSTED, _PATH_STYLE):
        found = pattern.match(uri)
        if found:
            from urllib.parse import unquote

            return S3Location(found["bucket"], unquote(found["key"]))
    return None


def _numbers(name: str, value: Any) -> Iterable[tuple[str, float]]:
    """The numbers of one metric: its ``value``, or the numeric leaves of a nested object (a confusion
    matrix) by dotted path; lists (curves), standard deviations, booleans and non-finite values are left
    out."""
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        if math.isfinite(value):
            yield name, value
        return
    if not isinstance(value, Mapping):
        return
    if "value" in value:
        yield from _numbers(name, value["value"])
        return
    for key in sorted(value, key=str):
        if key != "standard_deviation":
            yield from _numbers(f"{name}.{key}", value[key])


def model_quality_metrics(document: Any) -> dict[str, float]:
    """SageMaker's model quality JSON flattened to ``name -> number`` (see the module docstring). With more
    than one metrics section, names are prefixed by their section (``regression.mae``)."""
    if not isinstance(document, Mapping):
        return {}
    sections = [s for s in MODEL_QUALITY_SECTIONS if isinstance(document.get(s), Mapping)]
    metrics: dict[str, float] = {}
    for section in sections:
        prefix = f"{section.removesuffix('_metrics')}." if len(sections) > 1 else ""
        for name in sorted(document[section], key=str):
            for key, number in _numbers(str(name), document[section][name]):
                metrics[prefix + key] = number
    return metrics


def _content_is_json(content_type: str | None) -> bool:
    return content_type is None or "json" in content_type.lower()


def _read_report(
    s3: S3Reader, pointer: Mapping[str, Any], *, package_arn: str
) -> tuple[MetricReport, dict[str, float]]:
    """Read one report pointer: check its digest, take its metrics, or say why it could not be used."""
    from botocore.exceptions import BotoCoreError, ClientError

    name = str(pointer.get("report") or "ModelMetrics report")
    uri = str(pointer.get("uri") or "")
    content_type = pointer.get("content_type") or None
    registered = pointer.get("content_digest") or None
    base = MetricReport(name, uri, content_type=content_type, content_digest=registered)
    location = _location(uri)
    if location is None:
        problem = "its S3Uri does not name an S3 object this service can read (s3://bucket/key)"
        return replace(base, problem=problem), {}
    expected = None
    if registered:
        match = _DIGEST.match(str(registered))
        if match is None:
            problem = (
                f"its ContentDigest {registered!r} is not sha256:<64 hex digits>, so it cannot be checked"
            )
            return replace(base, problem=problem), {}
        expected = match[1].lower()
    digest = hashlib.sha256()
    kept = bytearray()
    size = 0
    try:
        answer = s3.get_object(Bucket=location.bucket, Key=location.key)
        body = answer["Body"]
        try:
            while chunk := body.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                if size <= MAX_REPORT_BYTES:
                    kept.extend(chunk)
        finally:
            close = getattr(body, "close", None)
            if callable(close):
                close()
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _UNREADABLE:
            return replace(base, problem=f"could not be read ({code})"), {}
        raise RegistryError(
            f"Reading the {name} report {uri} of model package {package_arn} failed ({code or exc}); "
            "the task retries. If it keeps failing, check the business entity's S3 access."
        ) from exc
    except BotoCoreError as exc:
        raise RegistryError(
            f"Reading the {name} report {uri} of model package {package_arn} failed ({exc}); the task "
            "retries."
        ) from exc
    found = digest.hexdigest()
    if expected is not None and found != expected:
        raise MetricsReportChangedError(
            f"The {name} report {uri} of model package {package_arn} does not match its registered "
            f"ContentDigest: the package says sha256:{expected}, the object's bytes are sha256:{found}. The "
            "report was changed after the version was registered, so its metrics cannot be shown as the "
            "registered ones. Restore the registered report, or register a new model version whose "
            "ModelMetrics names the report as it is now (ModelMetrics cannot be updated)."
        )
    verified = expected is not None
    read = replace(base, read=True, digest_verified=verified)
    quality = name == QUALITY_REPORT
    if size > MAX_REPORT_BYTES:
        problem = f"it is {size:,} bytes, more than the {MAX_REPORT_BYTES:,} a metrics report is parsed up to"
        return replace(read, problem=problem), {}
    if not _content_is_json(content_type):
        if quality:
            problem = f"its content type {content_type} is not JSON, so no metrics were taken from it"
            return replace(read, problem=problem), {}
        return read, {}
    try:
        document = json.loads(bytes(kept).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return replace(read, problem=f"it is not valid JSON ({_short(exc)})"), {}
    metrics = model_quality_metrics(document)
    if quality and not metrics:
        problem = f"it holds none of {', '.join(MODEL_QUALITY_SECTIONS)} with a numeric metric"
        return replace(read, problem=problem), {}
    return replace(read, metrics=len(metrics)), metrics


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:199] + "…"


def read_model_metrics(
    s3: S3Reader, pointers: Sequence[Mapping[str, Any]], *, package_arn: str
) -> MetricsRead:
    """Read every ModelMetrics report pointer (``snapshots.metrics_reports``); see the module docstring.

    A metric name given by more than one report is prefixed with its report (``Bias.Report auc``), so no
    report's number silently replaces another's.
    """
    reports: list[MetricReport] = []
    taken: list[tuple[str, dict[str, float]]] = []
    for pointer in pointers:
        report, metrics = _read_report(s3, pointer, package_arn=package_arn)
        reports.append(report)
        if metrics:
            taken.append((report.report, metrics))
    counts: dict[str, int] = {}
    for _, metrics in taken:
        for metric in metrics:
            counts[metric] = counts.get(metric, 0) + 1
    merged: dict[str, float] = {}
    for report_name, metrics in taken:
        for metric, value in metrics.items():
            merged[f"{report_name} {metric}" if counts[metric] > 1 else metric] = value
    return MetricsRead(metrics=merged, reports=tuple(reports))


# -- policy and approvals -------------------------------------------------------------------------------

#: The gates the review document's policy table lists.
POLICY_GATES = (
    ApprovalKind.PIA,
    ApprovalKind.RISK_TEST_FAILURE,
    ApprovalKind.TEST_RESULTS_REVIEW,
    ApprovalKind.PRODUCTION,
)


def approver_groups(settings: GovernanceConfig, risk_level: str, kind: ApprovalKind) -> list[str]:
    """Who may decide ``kind`` at ``risk_level``: the policy's groups for it, else the Jira settings' (the
    resolution ``services.approvals.ApprovalService.rules`` applies)."""
    policy = settings.approvals.policy(risk_level)
    if kind in policy.approver_groups:
        return list(policy.approver_groups[kind])
    return list(settings.jira.approver_groups.get(kind, []))


def approval_policy(
    settings: GovernanceConfig, risk_level: str, report: Mapping[str, Any] | None
) -> PolicyInfo:
    """The approval policy of ``risk_level`` and the failed gated risk tests of ``report`` (its JSON)."""
    policy = settings.approvals.policy(risk_level)
    return PolicyInfo(
        risk_level=risk_level,
        one_person_many_gates=policy.one_person_many_gates,
        failed_tests_action=policy.failed_tests,
        approver_groups={kind: approver_groups(settings, risk_level, kind) for kind in POLICY_GATES},
        failed_tests=failed_gated_tests(report),
    )


def approval_records(inventory: Inventory, model: Model, use_case_id: int) -> list[ApprovalRecord]:
    """The use case's approval and every approval of the model version, with their justifications."""
    found = {a.id: a for a in inventory.approvals(model_id=model.id)}
    for approval in inventory.approvals(use_case_id=use_case_id):
        if approval.model_id is None and approval.kind == ApprovalKind.USE_CASE.value:
            found.setdefault(approval.id, approval)
    return [
        ApprovalRecord(
            kind=ApprovalKind(a.kind),
            jira_key=a.jira_key,
            state=a.state,
            requested_at=a.created_at,
            requested_by=a.requested_by,
            decided_by=a.decided_by,
            decided_at=a.decided_at,
            justification=a.justification,
        )
        for _, a in sorted(found.items())
    ]


# -- champion and challenger ---------------------------------------------------------------------------

#: What the document says about the data of the two reports it compares: the champion's own latest report
#: (a challenger tested before the comparison on the same data was built, or whose report has none).
OWN_DATA_NOTE = (
    "The champion's results are those of its own latest risk test run, computed on its own baseline and "
    "comparator data (listed above), not re-computed on the challenger's comparator data: where the two "
    "comparator data sets differ, the columns below were computed on different data. Judge the differences "
    "with that in mind."
)
#: ... and the champion re-computed on the challenger's comparator data (``{column}`` filled in).
SAME_DATA_NOTE = (
    "Both columns were computed on the same comparator data: the champion's performance and bias from its "
    "scores in column {column} of the challenger's comparator data, on exactly the rows the challenger's "
    "results use, with the same thresholds (the dataset URI, SHA-256 and row count above are the one "
    "dataset both sides were computed on). The differences below are the two models' differences on "
    "identical data."
)


def _shared_data(report: RiskTestReport, comparison: ChampionComparison) -> dict[str, Any] | None:
    """The comparator data both sides were computed on, or None when the comparison's data is not the
    challenger's tested comparator (URI, SHA-256 or row count differ: never shown as the same data)."""
    found = report.inputs.get("comparator")
    tested: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    data = comparison.dataset
    for key in ("source", "sha256"):
        if not data.get(key) or data.get(key) != tested.get(key):
            return None
    if comparison.rows != tested.get("rows"):
        return None
    return {
        "source": data["source"],
        "sha256": data["sha256"],
        "version_id": data.get("version_id"),
        "rows": comparison.rows,
        "rows_compared": comparison.rows_compared,
        "score_column": comparison.score_column,
    }


def champion_info(
    inventory: Inventory,
    model: Model,
    report: Mapping[str, Any] | RiskTestReport | None = None,
    *,
    run_key: str | None = None,
) -> ChampionInfo | None:
    """The champion ``model`` challenges (a model change), or None. With the challenger's ``report`` (of
    its risk test run ``run_key``) holding the champion's results on the same comparator data, those;
    otherwise the champion's own latest risk test report, said so."""
    champion = inventory.champion_of(model)
    if champion is None:
        return None
    identity: dict[str, Any] = {
        "group_name": champion.model_group.name,
        "version": champion.version,
        "package_arn": champion.package_arn,
        "governance_status": champion.status,
    }
    challenger = as_report(report, "the challenger's risk test report") if report is not None else None
    comparison = challenger.champion if challenger is not None else None
    if challenger is not None and comparison is not None:
        shared = _shared_data(challenger, comparison)
        if shared is not None:
            return ChampionInfo(
                **identity,
                risk_report=comparison.as_report(challenger),
                report_source=(
                    f"re-computed by this version's risk test run {run_key or ''}".rstrip()
                    + f" from column {comparison.score_column} of its comparator data"
                ),
                same_data=True,
                note=SAME_DATA_NOTE.format(column=comparison.score_column),
                shared_data=shared,
            )
    run = inventory.latest_risk_test_run(champion)
    own = run.report if run is not None and isinstance(run.report, Mapping) else None
    source = ""
    if run is not None and own is not None:
        when = run.finished_at or run.started_at
        source = f"its latest risk test run {run.run_key}" + (
            f", finished {when.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if when else ""
        )
    return ChampionInfo(
        **identity,
        risk_report=as_report(own, f"risk test run {run.run_key}") if run and own else None,
        report_source=source,
        same_data=False,
        note=OWN_DATA_NOTE if own is not None else "The champion has no risk test report to compare with.",
    )


# -- the context ----------------------------------------------------------------------------------------


def _http(url: str | None) -> str | None:
    return url if url and url.startswith(("http://", "https://")) else None


def build_review_context(
    inventory: Inventory,
    model: Model,
    snapshot: Snapshot,
    *,
    s3: S3Reader,
    settings: GovernanceConfig,
    airflow_run_url: str | None = None,
) -> ReviewContext:
    """Everything the review document of ``model`` at ``snapshot`` shows (see the module docstring).

    Raises ``InvalidInputError`` when the version has no risk test report for the snapshot, and
    ``MetricsReportChangedError`` when a ModelMetrics report does not match its registered digest.
    """
    run = inventory.latest_risk_test_run(model)
    if run is None or run.report is None or run.snapshot_id not in (None, snapshot.id):
        raise InvalidInputError(
            f"Model {model.id} has no risk test report for snapshot {snapshot.id}; run the standard "
            "risk tests first."
        )
    manifest = snapshot.manifest or {}
    package = manifest.get("model_package") or {}
    use_case_id = inventory.use_case_of_group(model.model_group_id)
    use_case = use_case_info(inventory, use_case_id)
    read = read_model_metrics(s3, package.get("model_metrics") or [], package_arn=model.package_arn)
    info = replace(
        model_info(model, manifest), training_metrics=dict(read.metrics), metric_reports=read.reports
    )
    dashboard = settings.dashboard_base_url
    return ReviewContext(
        use_case=use_case,
        model=info,
        snapshot=snapshot_info(snapshot),
        risk_report=as_report(run.report, f"risk test run {run.run_key}"),
        generated_at=run.finished_at or run.started_at or datetime.now(UTC),
        decision=DecisionRequest(
            kind=ApprovalKind.TEST_RESULTS_REVIEW,
            approvers=approver_groups(settings, use_case.risk_level, ApprovalKind.TEST_RESULTS_REVIEW),
        ),
        approvals=approval_records(inventory, model, use_case_id),
        links=Links(
            airflow_run=_http(airflow_run_url),
            dashboard=_http(f"{dashboard.rstrip('/')}/models/{model.id}" if dashboard else None),
        ),
        policy=approval_policy(settings, use_case.risk_level, run.report),
        champion=champion_info(inventory, model, run.report, run_key=run.run_key),
    )
