"""What a review document, ticket or email is rendered from: typed, validated, free of secrets.

The Airflow side fills these from the inventory, SageMaker and the risk test run; this module only checks
them. Every value is checked when the object is made, so a bad value is an ``InvalidInputError`` naming
the field, not a half-rendered document.

Secrets never reach a template: free-form mappings (model card content, training metrics, extra facts)
pass through ``model_governance.redaction.redact`` (the one redaction used everywhere a value reaches a
person).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from model_governance.config import ApprovalKind
from model_governance.documents.escaping import safe_url
from model_governance.exceptions import InvalidInputError
from model_governance.redaction import redact, redact_text
from model_governance.risk_tests.report import RiskTestReport

__all__ = [
    "ApprovalRecord",
    "Asset",
    "ChampionInfo",
    "DecisionRequest",
    "Links",
    "MetricReport",
    "ModelInfo",
    "PolicyInfo",
    "ReviewContext",
    "SnapshotInfo",
    "TicketContext",
    "UseCaseInfo",
    "approval_kind",
    "redact",
    "redact_text",
]

_HEX64 = re.compile(r"[0-9a-f]{64}")


def _text(value: Any, name: str, *, required: bool = True, limit: int = 20_000) -> str:
    if value is None:
        if required:
            raise InvalidInputError(f"{name} is required; give a non-empty string.")
        return ""
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be a string, got {type(value).__name__}.")
    if required and not value.strip():
        raise InvalidInputError(f"{name} must not be empty.")
    if len(value) > limit:
        raise InvalidInputError(f"{name} is {len(value)} characters; shorten it to at most {limit}.")
    return redact_text(value)


def approval_kind(value: Any, name: str) -> ApprovalKind:
    """``value`` as an ``ApprovalKind``; anything else is refused naming ``name`` and the known kinds."""
    try:
        return ApprovalKind(value)
    except ValueError:
        known = ", ".join(kind.value for kind in ApprovalKind)
        raise InvalidInputError(f"{name} {value!r} is not one of {known}.") from None


def _when(value: datetime | None, name: str, *, required: bool = False) -> datetime | None:
    if value is None:
        if required:
            raise InvalidInputError(f"{name} is required; give a timezone-aware datetime.")
        return None
    if not isinstance(value, datetime):
        raise InvalidInputError(f"{name} must be a datetime, got {type(value).__name__}.")
    if value.tzinfo is None:
        raise InvalidInputError(f"{name} ({value.isoformat()}) has no timezone; pass an aware UTC datetime.")
    return value.astimezone(UTC)


def _digest(value: str | None, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 256 or any(ch.isspace() for ch in value):
        raise InvalidInputError(f"{name} {value!r} is not a digest; give e.g. 'sha256:<hex>' or an ETag.")
    return value


@dataclass(frozen=True)
class UseCaseInfo:
    """The AI use case the model serves, as recorded in the inventory."""

    name: str
    description: str
    risk_level: str
    owner: str
    business_entity: str
    status: str = ""
    data_science_email: str | None = None
    requested_by: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _text(self.name, "use_case.name", limit=200))
        object.__setattr__(
            self, "description", _text(self.description, "use_case.description", required=False)
        )
        if self.risk_level not in ("High", "Medium", "Low"):
            raise InvalidInputError(
                f"use_case.risk_level {self.risk_level!r} is not one of High, Medium, Low."
            )
        object.__setattr__(self, "owner", _text(self.owner, "use_case.owner", limit=320))
        object.__setattr__(self, "business_entity", _text(self.business_entity, "use_case.business_entity"))


@dataclass(frozen=True)
class Asset:
    """A file the model or its snapshot is made of: role (e.g. MODEL_DATA, BASELINE_DATA), URI, digest
    (the ETag), and for pinned data the S3 VersionId (None on an unversioned bucket) and SHA-256."""

    role: str
    uri: str
    digest: str | None = None
    version_id: str | None = None
    sha256: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", _text(self.role, "asset.role", limit=64))
        object.__setattr__(self, "uri", _text(self.uri, f"asset {self.role} uri", limit=2048))
        object.__setattr__(self, "digest", _digest(self.digest, f"asset {self.role} digest"))
        object.__setattr__(self, "version_id", _digest(self.version_id, f"asset {self.role} version id"))
        if self.sha256 is not None and not _HEX64.fullmatch(str(self.sha256)):
            raise InvalidInputError(
                f"asset {self.role} sha256 {self.sha256!r} is not a lower-case hex SHA-256 (64 characters)."
            )


@dataclass(frozen=True)
class MetricReport:
    """One report of the package's ``ModelMetrics`` (e.g. ``ModelQuality.Statistics``): where it is, its
    registered content type and ``ContentDigest``, and what reading it gave: the number of metrics taken
    from it, whether its digest was checked, or why it could not be read or parsed (``problem``)."""

    report: str
    uri: str
    content_type: str | None = None
    content_digest: str | None = None
    read: bool = False
    digest_verified: bool = False
    metrics: int = 0
    problem: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "report", _text(self.report, "metric report name", limit=64))
        object.__setattr__(self, "uri", _text(self.uri, f"metric report {self.report} uri", limit=2048))
        object.__setattr__(
            self,
            "content_type",
            _text(self.content_type, f"metric report {self.report} content type", required=False, limit=256)
            or None,
        )
        object.__setattr__(
            self, "content_digest", _digest(self.content_digest, f"metric report {self.report} digest")
        )
        if isinstance(self.metrics, bool) or not isinstance(self.metrics, int) or self.metrics < 0:
            raise InvalidInputError(
                f"metric report {self.report} metrics must be a count, got {self.metrics!r}."
            )
        if self.problem is not None:
            object.__setattr__(
                self, "problem", _text(self.problem, f"metric report {self.report} problem", limit=2000)
            )


@dataclass(frozen=True)
class ModelInfo:
    """One SageMaker model package version and what its registry entry says about it."""

    group_name: str
    group_arn: str
    version: int
    package_arn: str
    governance_status: str = ""
    approval_status: str | None = None
    description: str = ""
    artifacts: Sequence[Asset] = ()
    #: Training / evaluation metrics reported with the package, by name.
    training_metrics: Mapping[str, float] = field(default_factory=dict)
    #: The package's model card content (the parsed ``ModelCardContent`` JSON); rendered key by key.
    model_card: Mapping[str, Any] = field(default_factory=dict)
    model_card_status: str | None = None
    created_at: datetime | None = None
    #: The ``ModelMetrics`` reports the training metrics were read from (and any that could not be).
    metric_reports: Sequence[MetricReport] = ()
    #: What the document cannot show about the package and why (e.g. an older snapshot did not record it).
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "group_name", _text(self.group_name, "model.group_name", limit=63))
        for name in ("group_arn", "package_arn"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.startswith("arn:"):
                raise InvalidInputError(f"model.{name} {value!r} is not an ARN (arn:aws:sagemaker:...).")
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise InvalidInputError(f"model.version {self.version!r} must be a positive integer.")
        object.__setattr__(self, "description", _text(self.description, "model.description", required=False))
        object.__setattr__(self, "artifacts", tuple(self.artifacts))
        for name, value in self.training_metrics.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInputError(f"model.training_metrics[{name!r}] must be a number, got {value!r}.")
        object.__setattr__(self, "training_metrics", redact(dict(self.training_metrics)))
        if not isinstance(self.model_card, Mapping):
            raise InvalidInputError("model.model_card must be the parsed ModelCardContent (a JSON object).")
        object.__setattr__(self, "model_card", redact(dict(self.model_card)))
        object.__setattr__(self, "created_at", _when(self.created_at, "model.created_at"))
        reports = tuple(self.metric_reports)
        for report in reports:
            if not isinstance(report, MetricReport):
                raise InvalidInputError(
                    f"model.metric_reports holds a {type(report).__name__}; give MetricReport values."
                )
        object.__setattr__(self, "metric_reports", reports)
        object.__setattr__(self, "note", _text(self.note, "model.note", required=False, limit=2000))


@dataclass(frozen=True)
class SnapshotInfo:
    """The immutable snapshot the tests ran on: its id, content hash, assets and endpoint configuration."""

    snapshot_id: str
    content_hash: str
    uri: str
    assets: Sequence[Asset] = ()
    endpoint_config_name: str | None = None
    suite_version: str | None = None
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "snapshot_id", _text(str(self.snapshot_id), "snapshot.snapshot_id", limit=128)
        )
        if not isinstance(self.content_hash, str) or not _HEX64.fullmatch(self.content_hash):
            raise InvalidInputError(
                f"snapshot.content_hash {self.content_hash!r} is not a lower-case hex SHA-256 "
                "(64 characters)."
            )
        object.__setattr__(self, "uri", _text(self.uri, "snapshot.uri", limit=2048))
        object.__setattr__(self, "assets", tuple(self.assets))
        object.__setattr__(self, "created_at", _when(self.created_at, "snapshot.created_at"))


@dataclass(frozen=True)
class ApprovalRecord:
    """One approval gate so far: its ticket, state and who decided it when."""

    kind: ApprovalKind
    jira_key: str
    state: str
    requested_at: datetime | None = None
    requested_by: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    url: str | None = None
    #: The approver's justification a failed-tests policy asked for (``approvals.justification_of``).
    justification: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", approval_kind(self.kind, "approval kind"))
        if self.state not in ("OPEN", "APPROVED", "REJECTED"):
            raise InvalidInputError(
                f"approval {self.jira_key!r} state {self.state!r} is not one of OPEN, APPROVED, REJECTED."
            )
        object.__setattr__(self, "jira_key", _text(self.jira_key, "approval.jira_key", limit=64))
        object.__setattr__(
            self, "requested_at", _when(self.requested_at, f"approval {self.jira_key} requested_at")
        )
        object.__setattr__(self, "decided_at", _when(self.decided_at, f"approval {self.jira_key} decided_at"))
        object.__setattr__(self, "url", _url(self.url, f"approval {self.jira_key} url"))
        object.__setattr__(
            self,
            "justification",
            _text(self.justification, f"approval {self.jira_key} justification", required=False, limit=4000)
            or None,
        )


#: What a failed gated risk test does at the test results review (``config.ApprovalPolicy.failed_tests``).
FAILED_TESTS_ACTIONS = ("block", "justify", "allow")


@dataclass(frozen=True)
class PolicyInfo:
    """The approval policy of the use case's risk level (``approvals.policies`` in the settings): who may
    decide each gate, whether one person may approve several gates of a version, what failed gated risk
    tests do to the test results review, and which gated tests of this version failed."""

    risk_level: str
    one_person_many_gates: bool = True
    failed_tests_action: str = "allow"
    #: Approval kind -> the Jira groups whose members may decide it (empty: any reviewer not excluded).
    approver_groups: Mapping[ApprovalKind, Sequence[str]] = field(default_factory=dict)
    #: The version's failed gated risk tests (``approvals.failed_gated_tests``).
    failed_tests: Sequence[str] = ()

    def __post_init__(self) -> None:
        if self.risk_level not in ("High", "Medium", "Low"):
            raise InvalidInputError(f"policy.risk_level {self.risk_level!r} is not one of High, Medium, Low.")
        if self.failed_tests_action not in FAILED_TESTS_ACTIONS:
            raise InvalidInputError(
                f"policy.failed_tests_action {self.failed_tests_action!r} is not one of "
                f"{', '.join(FAILED_TESTS_ACTIONS)}."
            )
        groups: dict[ApprovalKind, tuple[str, ...]] = {}
        for kind, names in self.approver_groups.items():
            try:
                groups[ApprovalKind(kind)] = tuple(sorted(str(n) for n in names))
            except ValueError:
                known = ", ".join(k.value for k in ApprovalKind)
                raise InvalidInputError(f"policy approver kind {kind!r} is not one of {known}.") from None
        object.__setattr__(self, "approver_groups", groups)
        object.__setattr__(
            self,
            "failed_tests",
            tuple(sorted(_text(t, "policy.failed_tests", limit=500) for t in self.failed_tests)),
        )


def as_report(value: Any, name: str) -> RiskTestReport:
    """The risk test engine's report, from the object or its versioned JSON form (a dict)."""
    if isinstance(value, RiskTestReport):
        return value
    if isinstance(value, Mapping):
        return RiskTestReport.from_dict(dict(value))
    raise InvalidInputError(
        f"{name} must be a RiskTestReport or its JSON form (a dict), got {type(value).__name__}."
    )


def _url(value: str | None, name: str) -> str | None:
    if value is None or value == "":
        return None
    url = safe_url(redact_text(value))
    if url is None:
        raise InvalidInputError(
            f"{name} {value!r} is not an http(s) URL; give an https:// link or leave it out."
        )
    return url


@dataclass(frozen=True)
class Links:
    """Where a reviewer goes next. Each is optional; only http(s) URLs are accepted."""

    airflow_run: str | None = None
    model_package: str | None = None
    dashboard: str | None = None
    document: str | None = None
    jira_ticket: str | None = None

    def __post_init__(self) -> None:
        for name, url in self.as_dict().items():
            object.__setattr__(self, name, _url(url, f"links.{name}"))

    def as_dict(self) -> dict[str, str | None]:
        """The links by name, in field order: what review documents, tickets and emails print."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class DecisionRequest:
    """The decision the document or ticket asks for, and of whom."""

    kind: ApprovalKind
    #: Jira groups whose members may decide (from the Jira settings); empty means any reviewer but the
    #: owner and the requester.
    approvers: Sequence[str] = ()
    jira_key: str | None = None
    requested_by: str | None = None
    due_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", approval_kind(self.kind, "decision.kind"))
        object.__setattr__(self, "approvers", tuple(sorted(str(a) for a in self.approvers)))
        object.__setattr__(self, "due_at", _when(self.due_at, "decision.due_at"))


@dataclass(frozen=True)
class ChampionInfo:
    """The version in production a challenger is compared with (a model change, ``start_change``): its
    identity, its risk test report (None: it has none) and where that report comes from. ``same_data``:
    the report was computed on the challenger's comparator data (else on the champion's own data, as it was
    validated); ``note`` says which, in words the document prints. ``shared_data`` (with ``same_data``): the
    one comparator data both sides were computed on: ``source``, ``sha256``, ``version_id``, ``rows``,
    ``rows_compared`` (rows with a label and the challenger's score, used by both) and ``score_column``
    (where the champion's scores come from)."""

    group_name: str
    version: int
    package_arn: str
    governance_status: str = ""
    risk_report: RiskTestReport | None = None
    report_source: str = ""
    same_data: bool = False
    note: str = ""
    shared_data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "group_name", _text(self.group_name, "champion.group_name", limit=63))
        if not isinstance(self.package_arn, str) or not self.package_arn.startswith("arn:"):
            raise InvalidInputError(f"champion.package_arn {self.package_arn!r} is not an ARN.")
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise InvalidInputError(f"champion.version {self.version!r} must be a positive integer.")
        if self.risk_report is not None:
            object.__setattr__(self, "risk_report", as_report(self.risk_report, "champion.risk_report"))
        for name in ("report_source", "note"):
            object.__setattr__(
                self, name, _text(getattr(self, name), f"champion.{name}", required=False, limit=2000)
            )
        if not isinstance(self.shared_data, Mapping):
            raise InvalidInputError(
                f"champion.shared_data must be a mapping, got {type(self.shared_data).__name__}."
            )
        if self.same_data and not self.shared_data:
            raise InvalidInputError(
                "champion.same_data needs champion.shared_data: the comparator data both sides were "
                "computed on (source, sha256, rows)."
            )
        object.__setattr__(self, "shared_data", redact(dict(self.shared_data)))


@dataclass(frozen=True)
class ReviewContext:
    """Everything the model review document shows. ``generated_at`` is the only time it prints."""

    use_case: UseCaseInfo
    model: ModelInfo
    snapshot: SnapshotInfo
    risk_report: RiskTestReport
    generated_at: datetime
    decision: DecisionRequest = field(
        default_factory=lambda: DecisionRequest(kind=ApprovalKind.TEST_RESULTS_REVIEW)
    )
    approvals: Sequence[ApprovalRecord] = ()
    links: Links = field(default_factory=Links)
    #: Extra facts an organisation's template wants (JSON values); redacted like the model card.
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: The approval policy that applies to the use case's risk level (None: the document does not show one).
    policy: PolicyInfo | None = None
    #: The champion when this version is a model change's challenger (None: no comparison is shown).
    champion: ChampionInfo | None = None

    def __post_init__(self) -> None:
        if self.champion is not None and not isinstance(self.champion, ChampionInfo):
            raise InvalidInputError(
                f"ReviewContext.champion must be a ChampionInfo, got {type(self.champion).__name__}."
            )
        if self.policy is not None and not isinstance(self.policy, PolicyInfo):
            raise InvalidInputError(
                f"ReviewContext.policy must be a PolicyInfo, got {type(self.policy).__name__}."
            )
        for name, kind in (
            ("use_case", UseCaseInfo),
            ("model", ModelInfo),
            ("snapshot", SnapshotInfo),
            ("decision", DecisionRequest),
            ("links", Links),
        ):
            if not isinstance(getattr(self, name), kind):
                raise InvalidInputError(
                    f"ReviewContext.{name} must be a {kind.__name__}, "
                    f"got {type(getattr(self, name)).__name__}."
                )
        object.__setattr__(self, "generated_at", _when(self.generated_at, "generated_at", required=True))
        object.__setattr__(self, "risk_report", as_report(self.risk_report, "ReviewContext.risk_report"))
        approvals = tuple(self.approvals)
        for approval in approvals:
            if not isinstance(approval, ApprovalRecord):
                raise InvalidInputError(
                    f"ReviewContext.approvals holds a {type(approval).__name__}; give ApprovalRecord values."
                )
        # Oldest first, ties by key: the history reads in order and never depends on the caller's order.
        approvals = tuple(
            sorted(approvals, key=lambda a: (a.requested_at or a.decided_at or self.generated_at, a.jira_key))
        )
        object.__setattr__(self, "approvals", approvals)
        object.__setattr__(self, "extra", redact(dict(self.extra)))


@dataclass(frozen=True)
class TicketContext:
    """What an approval ticket or notification email is rendered from.

    ``model``/``snapshot`` are absent for a use case approval; ``failed_results`` lists the risk tests that
    failed (for RISK_TEST_FAILURE and TEST_RESULTS_REVIEW), ``error`` the message of a test job that
    failed to run, ``attempt`` / ``max_attempts`` which run of that job this was and how many the DAG
    allows (the first run plus its re-runs).
    """

    decision: DecisionRequest
    use_case: UseCaseInfo
    model: ModelInfo | None = None
    snapshot: SnapshotInfo | None = None
    links: Links = field(default_factory=Links)
    risk_report: RiskTestReport | None = None
    error: str | None = None
    attempt: int | None = None
    max_attempts: int | None = None
    document_sha256: str | None = None
    model_group_name: str | None = None
    model_group_arn: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.decision, DecisionRequest):
            raise InvalidInputError("TicketContext.decision must be a DecisionRequest.")
        if not isinstance(self.use_case, UseCaseInfo):
            raise InvalidInputError("TicketContext.use_case must be a UseCaseInfo.")
        if self.risk_report is not None:
            object.__setattr__(self, "risk_report", as_report(self.risk_report, "TicketContext.risk_report"))
        if self.error is not None:
            object.__setattr__(self, "error", _text(self.error, "error", limit=4000))
        for name in ("attempt", "max_attempts"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise InvalidInputError(f"TicketContext.{name} must be a whole number >= 1, got {value!r}.")
        if self.attempt is not None and self.max_attempts is not None and self.attempt > self.max_attempts:
            raise InvalidInputError(
                f"TicketContext.attempt {self.attempt} is more than max_attempts {self.max_attempts}."
            )
        if self.document_sha256 is not None and not _HEX64.fullmatch(self.document_sha256):
            raise InvalidInputError(f"document_sha256 {self.document_sha256!r} is not a hex SHA-256.")
        object.__setattr__(self, "extra", redact(dict(self.extra)))
