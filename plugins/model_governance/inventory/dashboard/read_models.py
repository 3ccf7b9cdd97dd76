"""The dashboard's read models: what its pages show, as plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from model_governance.config import ApprovalKind
from model_governance.exceptions import InvalidInputError
from model_governance.inventory.audit import AuditTrailReport
from model_governance.inventory.models import (
    Approval,
    BusinessEntity,
    Document,
    Model,
    ModelGroup,
    RiskTestRun,
    RiskTestRunState,
    Snapshot,
    StatusEvent,
    SyncIssue,
    UseCase,
)
from model_governance.lifecycle import parse_status

#: The approvals a model version needs before it is compliant (a risk-test-failure ticket is an
#: exception path, not a requirement).
REQUIRED_APPROVALS: tuple[str, ...] = (
    ApprovalKind.PIA.value,
    ApprovalKind.TEST_RESULTS_REVIEW.value,
    ApprovalKind.PRODUCTION.value,
)
MAX_PAGE_SIZE = 200

#: Urgent issue kinds, most urgent first (the overview lists them in this order).
URGENT_KINDS: tuple[str, ...] = (
    "rejected",
    "risk_test_failed",
    "approval_overdue",
    "approval_refused",
    "revalidation_overdue",
    "monitoring_finding",
    "ungoverned_endpoint",
    "drift",
    "unknown_lifecycle",
    "dead_letter",
    "registry_error",
    "package_error",
)
URGENT_LABELS = {
    "rejected": "Rejected model",
    "risk_test_failed": "Failed risk tests",
    "approval_overdue": "Approval past its SLA",
    "approval_refused": "Approval move refused (separation of duties)",
    "revalidation_overdue": "Revalidation overdue",
    "monitoring_finding": "Open monitoring finding",
    "ungoverned_endpoint": "Endpoint serving an unapproved version",
    "drift": "Governance / SageMaker drift",
    "unknown_lifecycle": "Unknown SageMaker lifecycle",
    "dead_letter": "Sync event dead-lettered",
    "registry_error": "Registry could not be read",
    "package_error": "Package the sync could not apply",
}


@dataclass(frozen=True)
class Filters:
    """The overview's filters; ``None`` means not filtered."""

    business_entity: str | None = None
    use_case_id: int | None = None
    status: str | None = None

    def __post_init__(self) -> None:
        if self.status is not None:
            # An unknown status is bad input, named with the known ones (UnknownStatusError).
            object.__setattr__(self, "status", parse_status(self.status).value)

    def as_query(self) -> dict[str, str]:
        query: dict[str, str] = {}
        if self.business_entity:
            query["business_entity"] = self.business_entity
        if self.use_case_id is not None:
            query["use_case"] = str(self.use_case_id)
        if self.status:
            query["status"] = self.status
        return query


#: The default: nothing filtered.
NO_FILTERS = Filters()


@dataclass(frozen=True)
class Counts:
    total_models: int
    total_use_cases: int
    by_status: list[tuple[str, int]]
    by_stage: list[tuple[str, int]]
    use_cases_by_status: list[tuple[str, int]]


@dataclass(frozen=True)
class Compliance:
    """A model's compliance: the required approvals, the latest risk test run, an approved document."""

    approved: tuple[str, ...]
    missing: tuple[str, ...]
    rejected: tuple[str, ...]
    #: passed | failed | not_judged | running | error | none
    risk_tests: str
    document_approved: bool

    @property
    def approvals_complete(self) -> bool:
        return not self.missing and not self.rejected

    @property
    def compliant(self) -> bool:
        return self.approvals_complete and self.risk_tests == "passed" and self.document_approved


@dataclass(frozen=True)
class ModelRow:
    id: int
    package_arn: str
    group_name: str
    version: int
    use_case_id: int
    use_case_name: str
    business_entity: str
    status: str
    sagemaker_stage: str | None
    sagemaker_stage_status: str | None
    updated_at: datetime
    compliance: Compliance


@dataclass(frozen=True)
class ModelPage:
    rows: list[ModelRow]
    total: int
    #: Pass as ``before_id`` for the next (older) page; None on the last page.
    next_before_id: int | None


@dataclass(frozen=True)
class UrgentIssue:
    kind: str
    title: str
    detail: str
    at: datetime | None
    model_id: int | None = None
    jira_key: str | None = None

    @property
    def label(self) -> str:
        return URGENT_LABELS.get(self.kind, self.kind)


@dataclass(frozen=True)
class UrgentIssues:
    items: list[UrgentIssue]
    #: Exact count per kind (the items are limited per kind).
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class UseCaseOption:
    id: int
    name: str
    business_entity: str


@dataclass(frozen=True)
class MetricSeries:
    name: str
    #: Oldest first: (recorded_at, value, threshold, passed, source).
    points: list[tuple[datetime, float, float | None, bool | None, str]]

    @property
    def latest(self) -> tuple[datetime, float, float | None, bool | None, str]:
        return self.points[-1]


@dataclass(frozen=True)
class ModelDetail:
    model: Model
    group: ModelGroup
    use_case: UseCase
    business_entity: BusinessEntity
    events: list[StatusEvent]
    audit: AuditTrailReport
    approvals: list[Approval]
    snapshots: list[Snapshot]
    documents: list[Document]
    risk_test_runs: list[RiskTestRun]
    metrics: list[MetricSeries]
    sync_issues: list[SyncIssue]
    compliance: Compliance
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def latest_snapshot(self) -> Snapshot | None:
        return self.snapshots[0] if self.snapshots else None

    @property
    def latest_risk_test_run(self) -> RiskTestRun | None:
        return self.risk_test_runs[0] if self.risk_test_runs else None


def risk_state(run: RiskTestRun | None) -> str:
    if run is None:
        return "none"
    if run.state == RiskTestRunState.RUNNING.value:
        return "running"
    if run.state == RiskTestRunState.FAILED.value:
        return "error"
    if run.passed is True:
        return "passed"
    if run.passed is False:
        return "failed"
    return "not_judged"


def check_limit(limit: int, what: str) -> int:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInputError(f"{what} {limit} is out of range; use 1 to {MAX_PAGE_SIZE}.")
    return limit
