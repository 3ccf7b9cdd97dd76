"""The dashboard's read queries over the governance inventory (repository style, no Airflow import).

Every list is bounded: the model list pages by keyset on ``mg_model.id`` (newest first, ``before_id``),
compliance is computed for the models of one page only (three ``IN (...)`` queries, each on an indexed
``model_id``), and the urgent-issue lists are limited per kind with an exact count beside them. Counts are
``GROUP BY`` queries on indexed columns (``ix_mg_model_status_group``, ``ix_mg_model_stage``). So the
overview costs the same number of queries for ten models as for ten thousand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Select, and_, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from model_governance.config import ApprovalKind
from model_governance.exceptions import InvalidInputError, NotFoundError
from model_governance.inventory.audit import AuditTrailReport, verify_chain
from model_governance.inventory.models import (
    Approval,
    ApprovalState,
    BusinessEntity,
    Document,
    Metric,
    Model,
    ModelGroup,
    RiskTestRun,
    RiskTestRunState,
    Snapshot,
    StatusEvent,
    SyncIssue,
    UseCase,
    utcnow,
)
from model_governance.lifecycle import GovernanceStatus, parse_status

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


def _risk_state(run: RiskTestRun | None) -> str:
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


def _check_limit(limit: int, what: str) -> int:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInputError(f"{what} {limit} is out of range; use 1 to {MAX_PAGE_SIZE}.")
    return limit


class DashboardQueries:
    """Read-only queries for the dashboard pages, over the inventory's engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def _session(self) -> Session:
        return self._sessions()

    # -- filters ---------------------------------------------------------------------------------------

    def business_entities(self) -> list[str]:
        with self._session() as session:
            return list(session.scalars(select(BusinessEntity.name).order_by(BusinessEntity.name)))

    def use_case_options(self, *, limit: int = 500) -> list[UseCaseOption]:
        query = (
            select(UseCase.id, UseCase.name, BusinessEntity.name)
            .join(BusinessEntity, BusinessEntity.id == UseCase.business_entity_id)
            .order_by(UseCase.name, UseCase.id)
            .limit(limit)
        )
        with self._session() as session:
            return [UseCaseOption(id=i, name=n, business_entity=e) for i, n, e in session.execute(query)]

    def _entity_id(self, session: Session, filters: Filters) -> int | None:
        """The filtered business entity's id; -1 (matches nothing) for an unknown name."""
        if not filters.business_entity:
            return None
        found = session.scalar(
            select(BusinessEntity.id).where(BusinessEntity.name == filters.business_entity)
        )
        return -1 if found is None else int(found)

    @staticmethod
    def _filter_models(
        query: Select, filters: Filters, entity_id: int | None, *, status: bool = True
    ) -> Select:
        """Restrict a query that already selects from ``Model`` joined to ``ModelGroup``."""
        if entity_id is not None:
            query = query.where(ModelGroup.business_entity_id == entity_id)
        if filters.use_case_id is not None:
            query = query.where(ModelGroup.use_case_id == filters.use_case_id)
        if status and filters.status:
            query = query.where(Model.status == filters.status)
        return query

    # -- overview --------------------------------------------------------------------------------------

    def counts(self, filters: Filters = Filters()) -> Counts:
        """Models by governance status and by SageMaker stage, use cases by status (the status filter is
        not applied to the counts, so the chart still shows every status)."""
        with self._session() as session:
            entity_id = self._entity_id(session, filters)
            by_status_q = self._filter_models(
                select(Model.status, func.count()).join(ModelGroup, ModelGroup.id == Model.model_group_id),
                filters,
                entity_id,
                status=False,
            ).group_by(Model.status)
            by_stage_q = self._filter_models(
                select(Model.sagemaker_stage, func.count()).join(
                    ModelGroup, ModelGroup.id == Model.model_group_id
                ),
                filters,
                entity_id,
                status=False,
            ).group_by(Model.sagemaker_stage)
            use_cases_q = select(UseCase.status, func.count()).group_by(UseCase.status)
            if entity_id is not None:
                use_cases_q = use_cases_q.where(UseCase.business_entity_id == entity_id)
            if filters.use_case_id is not None:
                use_cases_q = use_cases_q.where(UseCase.id == filters.use_case_id)
            by_status = {str(s): int(n) for s, n in session.execute(by_status_q)}
            by_stage = {str(s or "(none)"): int(n) for s, n in session.execute(by_stage_q)}
            use_cases = {str(s): int(n) for s, n in session.execute(use_cases_q)}
        order = {status.value: index for index, status in enumerate(GovernanceStatus)}
        return Counts(
            total_models=sum(by_status.values()),
            total_use_cases=sum(use_cases.values()),
            by_status=sorted(by_status.items(), key=lambda item: (order.get(item[0], 99), item[0])),
            by_stage=sorted(by_stage.items(), key=lambda item: (-item[1], item[0])),
            use_cases_by_status=sorted(use_cases.items()),
        )

    def models(
        self, filters: Filters = Filters(), *, before_id: int | None = None, limit: int = 50
    ) -> ModelPage:
        """One page of models, newest first, with their compliance."""
        limit = _check_limit(limit, "Page size")
        base = (
            select(Model, ModelGroup.name, UseCase.id, UseCase.name, BusinessEntity.name)
            .join(ModelGroup, ModelGroup.id == Model.model_group_id)
            .join(UseCase, UseCase.id == ModelGroup.use_case_id)
            .join(BusinessEntity, BusinessEntity.id == ModelGroup.business_entity_id)
        )
        with self._session() as session:
            entity_id = self._entity_id(session, filters)
            total_q = self._filter_models(
                select(func.count())
                .select_from(Model)
                .join(ModelGroup, ModelGroup.id == Model.model_group_id),
                filters,
                entity_id,
            )
            total = int(session.scalar(total_q) or 0)
            query = self._filter_models(base, filters, entity_id)
            if before_id is not None:
                query = query.where(Model.id < before_id)
            rows = session.execute(query.order_by(Model.id.desc()).limit(limit + 1)).all()
            more = len(rows) > limit
            rows = rows[:limit]
            compliance = self._compliance(session, [row[0].id for row in rows])
        return ModelPage(
            rows=[
                ModelRow(
                    id=model.id,
                    package_arn=model.package_arn,
                    group_name=group_name,
                    version=model.version,
                    use_case_id=use_case_id,
                    use_case_name=use_case_name,
                    business_entity=entity_name,
                    status=model.status,
                    sagemaker_stage=model.sagemaker_stage,
                    sagemaker_stage_status=model.sagemaker_stage_status,
                    updated_at=model.updated_at,
                    compliance=compliance[model.id],
                )
                for model, group_name, use_case_id, use_case_name, entity_name in rows
            ],
            total=total,
            next_before_id=rows[-1][0].id if more and rows else None,
        )

    def _compliance(self, session: Session, model_ids: Sequence[int]) -> dict[int, Compliance]:
        if not model_ids:
            return {}
        ids = list(model_ids)
        states: dict[int, dict[str, set[str]]] = {i: {} for i in ids}
        for model_id, kind, state in session.execute(
            select(Approval.model_id, Approval.kind, Approval.state)
            .where(Approval.model_id.in_(ids), Approval.kind.in_(REQUIRED_APPROVALS))
            .distinct()
        ):
            states[int(model_id or 0)].setdefault(str(kind), set()).add(str(state))
        latest_run_ids = (
            select(func.max(RiskTestRun.id))
            .where(RiskTestRun.model_id.in_(ids))
            .group_by(RiskTestRun.model_id)
        )
        runs = {
            run.model_id: run
            for run in session.scalars(select(RiskTestRun).where(RiskTestRun.id.in_(latest_run_ids)))
        }
        approved_docs = set(
            session.scalars(
                select(Document.model_id)
                .where(Document.model_id.in_(ids), Document.approved.is_(True))
                .distinct()
            )
        )
        result: dict[int, Compliance] = {}
        for model_id in ids:
            kinds = states[model_id]
            approved = tuple(
                k for k in REQUIRED_APPROVALS if ApprovalState.APPROVED.value in kinds.get(k, ())
            )
            rejected = tuple(
                k
                for k in REQUIRED_APPROVALS
                if k not in approved and ApprovalState.REJECTED.value in kinds.get(k, ())
            )
            missing = tuple(k for k in REQUIRED_APPROVALS if k not in approved and k not in rejected)
            result[model_id] = Compliance(
                approved=approved,
                missing=missing,
                rejected=rejected,
                risk_tests=_risk_state(runs.get(model_id)),
                document_approved=model_id in approved_docs,
            )
        return result

    def urgent_issues(
        self,
        filters: Filters = Filters(),
        *,
        approval_sla_hours: float,
        now: datetime | None = None,
        per_kind: int = 10,
    ) -> UrgentIssues:
        """Rejected models, failed risk tests, approvals open past their SLA, open sync issues: up to
        ``per_kind`` of each (newest first) and the exact count of each."""
        per_kind = _check_limit(per_kind, "Issues per kind")
        now = now or utcnow()
        items: list[UrgentIssue] = []
        counts: dict[str, int] = {}
        with self._session() as session:
            entity_id = self._entity_id(session, filters)

            def scoped(query: Select) -> Select:
                return self._filter_models(
                    query.join(ModelGroup, ModelGroup.id == Model.model_group_id), filters, entity_id
                )

            # Rejected models.
            rejected_q = scoped(select(Model).where(Model.status == GovernanceStatus.REJECTED.value))
            counts["rejected"] = self._count(session, rejected_q)
            for model in session.scalars(rejected_q.order_by(Model.updated_at.desc()).limit(per_kind)):
                items.append(
                    UrgentIssue(
                        kind="rejected",
                        title="",
                        detail="Rejected; a model change starts a new review.",
                        at=model.updated_at,
                        model_id=model.id,
                    )
                )

            # Failed risk tests: the latest run of the model failed (or could not run).
            latest = (
                select(RiskTestRun.model_id, func.max(RiskTestRun.id).label("run_id"))
                .group_by(RiskTestRun.model_id)
                .subquery()
            )
            failed_q = scoped(
                select(RiskTestRun, Model)
                .join(latest, latest.c.run_id == RiskTestRun.id)
                .join(Model, Model.id == RiskTestRun.model_id)
                .where(
                    or_(
                        RiskTestRun.passed.is_(False),
                        RiskTestRun.state == RiskTestRunState.FAILED.value,
                    )
                )
            )
            counts["risk_test_failed"] = self._count(session, failed_q)
            for run, model in session.execute(failed_q.order_by(RiskTestRun.id.desc()).limit(per_kind)):
                summary = (run.report or {}).get("summary") or {}
                detail = (
                    f"The tests could not run: {run.error}"
                    if run.state == RiskTestRunState.FAILED.value
                    else f"{summary.get('failed', '?')} failed, {summary.get('passed', '?')} passed"
                )
                items.append(
                    UrgentIssue(
                        kind="risk_test_failed",
                        title="",
                        detail=detail,
                        at=run.finished_at or run.started_at,
                        model_id=model.id,
                    )
                )

            # Approvals open past their SLA (model approvals and use case approvals).
            cutoff = now - timedelta(hours=approval_sla_hours)
            overdue = select(Approval).where(
                Approval.state == ApprovalState.OPEN.value, Approval.created_at < cutoff
            )
            if entity_id is not None or filters.use_case_id is not None or filters.status:
                model_scope = scoped(select(Model.id))
                use_case_scope = select(UseCase.id)
                if entity_id is not None:
                    use_case_scope = use_case_scope.where(UseCase.business_entity_id == entity_id)
                if filters.use_case_id is not None:
                    use_case_scope = use_case_scope.where(UseCase.id == filters.use_case_id)
                # A status filter is about models: use case approvals do not match it.
                overdue = overdue.where(
                    Approval.model_id.in_(model_scope)
                    if filters.status
                    else or_(Approval.model_id.in_(model_scope), Approval.use_case_id.in_(use_case_scope))
                )
            counts["approval_overdue"] = self._count(session, overdue)
            for approval in session.scalars(overdue.order_by(Approval.created_at).limit(per_kind)):
                hours = (now - approval.created_at).total_seconds() / 3600
                items.append(
                    UrgentIssue(
                        kind="approval_overdue",
                        title=f"{approval.kind} approval",
                        detail=f"open for {hours:.0f} h (SLA {approval_sla_hours:g} h)",
                        at=approval.created_at,
                        model_id=approval.model_id,
                        jira_key=approval.jira_key,
                    )
                )

            # Open approvals where someone who may not decide moved the ticket (refused, moved back).
            refused = select(Approval).where(
                Approval.state == ApprovalState.OPEN.value, Approval.refusals.is_not(None)
            )
            if entity_id is not None or filters.use_case_id is not None or filters.status:
                refused = refused.where(Approval.model_id.in_(scoped(select(Model.id))))
            counts["approval_refused"] = self._count(session, refused)
            for approval in session.scalars(refused.order_by(Approval.created_at).limit(per_kind)):
                last = (approval.refusals or [{}])[-1]
                items.append(
                    UrgentIssue(
                        kind="approval_refused",
                        title=f"{approval.kind} approval",
                        detail=(
                            f"{len(approval.refusals or [])} move(s) refused; last: "
                            f"{last.get('by') or last.get('account') or 'someone'}: {last.get('reason', '')}"
                        )[:500],
                        at=approval.created_at,
                        model_id=approval.model_id,
                        jira_key=approval.jira_key,
                    )
                )

            # Open sync issues, by kind.
            entities = {i: n for i, n in session.execute(select(BusinessEntity.id, BusinessEntity.name))}
            for kind in URGENT_KINDS[URGENT_KINDS.index("ungoverned_endpoint") :]:
                issues_q = select(SyncIssue).where(SyncIssue.resolved_at.is_(None), SyncIssue.kind == kind)
                if filters.use_case_id is not None or filters.status:
                    issues_q = issues_q.where(SyncIssue.model_id.in_(scoped(select(Model.id))))
                elif entity_id is not None:
                    issues_q = issues_q.where(
                        or_(
                            SyncIssue.business_entity_id == entity_id,
                            SyncIssue.model_id.in_(scoped(select(Model.id))),
                        )
                    )
                counts[kind] = self._count(session, issues_q)
                for issue in session.scalars(issues_q.order_by(SyncIssue.id.desc()).limit(per_kind)):
                    items.append(
                        UrgentIssue(
                            kind=kind,
                            title=""
                            if issue.model_id is not None
                            else issue.package_arn
                            or f"registry {entities.get(issue.business_entity_id or 0, '')}",
                            detail=issue.detail,
                            at=issue.created_at,
                            model_id=issue.model_id,
                        )
                    )
            names = self._model_names(session, {i.model_id for i in items if i.model_id is not None})
            use_cases = {
                key: name
                for key, name in session.execute(
                    select(Approval.jira_key, UseCase.name)
                    .join(UseCase, UseCase.id == Approval.use_case_id)
                    .where(Approval.jira_key.in_([i.jira_key for i in items if i.jira_key]))
                )
            }
        named = []
        for item in items:
            subject = names.get(item.model_id) if item.model_id is not None else None
            if subject is None and item.jira_key:
                subject = f"use case {use_cases.get(item.jira_key, '?')}"
            title = " \u00b7 ".join(part for part in (subject, item.title) if part) or item.title
            named.append(replace(item, title=title))
        return UrgentIssues(items=named, counts=counts)

    @staticmethod
    def _model_names(session: Session, model_ids: set[int]) -> dict[int, str]:
        """``"<group name> v<version>"`` per model id, in one query."""
        if not model_ids:
            return {}
        rows = session.execute(
            select(Model.id, ModelGroup.name, Model.version)
            .join(ModelGroup, ModelGroup.id == Model.model_group_id)
            .where(Model.id.in_(model_ids))
        )
        return {int(i): f"{name} v{version}" for i, name, version in rows}

    @staticmethod
    def _count(session: Session, query: Select) -> int:
        return int(session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)

    # -- one model -------------------------------------------------------------------------------------

    def model_detail(self, model_id: int, *, metric_points: int = 50, metric_names: int = 20) -> ModelDetail:
        """Everything the model page shows, or ``NotFoundError`` naming the id."""
        with self._session() as session:
            model = session.get(Model, model_id)
            if model is None:
                raise NotFoundError(
                    f"Model id {model_id} is not in the inventory; pick one from the overview."
                )
            group = session.get_one(ModelGroup, model.model_group_id)
            use_case = session.get_one(UseCase, group.use_case_id)
            entity = session.get_one(BusinessEntity, group.business_entity_id)
            events = list(
                session.scalars(
                    select(StatusEvent).where(StatusEvent.model_id == model.id).order_by(StatusEvent.seq)
                )
            )
            audit = verify_chain(model.id, events, model.status, model.status_version)
            approvals = list(
                session.scalars(
                    select(Approval)
                    .where(
                        or_(
                            Approval.model_id == model.id,
                            and_(Approval.use_case_id == use_case.id, Approval.model_id.is_(None)),
                        )
                    )
                    .order_by(Approval.created_at, Approval.id)
                )
            )
            snapshots = list(
                session.scalars(
                    select(Snapshot)
                    .where(Snapshot.model_id == model.id)
                    .order_by(Snapshot.id.desc())
                    .limit(20)
                )
            )
            documents = list(
                session.scalars(
                    select(Document)
                    .where(Document.model_id == model.id)
                    .order_by(Document.id.desc())
                    .limit(100)
                )
            )
            runs = list(
                session.scalars(
                    select(RiskTestRun)
                    .where(RiskTestRun.model_id == model.id)
                    .order_by(RiskTestRun.id.desc())
                    .limit(20)
                )
            )
            names = list(
                session.scalars(
                    select(Metric.name)
                    .where(Metric.model_id == model.id)
                    .distinct()
                    .order_by(Metric.name)
                    .limit(metric_names)
                )
            )
            metrics = []
            for name in names:
                points = session.execute(
                    select(Metric.recorded_at, Metric.value, Metric.threshold, Metric.passed, Metric.source)
                    .where(Metric.model_id == model.id, Metric.name == name)
                    .order_by(Metric.recorded_at.desc(), Metric.id.desc())
                    .limit(metric_points)
                ).all()
                metrics.append(MetricSeries(name=name, points=[tuple(p) for p in reversed(points)]))  # type: ignore[misc]
            sync_issues = list(
                session.scalars(
                    select(SyncIssue)
                    .where(SyncIssue.model_id == model.id)
                    .order_by(SyncIssue.resolved_at.is_not(None), SyncIssue.id.desc())
                    .limit(50)
                )
            )
            compliance = self._compliance(session, [model.id])[model.id]
        return ModelDetail(
            model=model,
            group=group,
            use_case=use_case,
            business_entity=entity,
            events=events,
            audit=audit,
            approvals=approvals,
            snapshots=snapshots,
            documents=documents,
            risk_test_runs=runs,
            metrics=metrics,
            sync_issues=sync_issues,
            compliance=compliance,
        )

    def document(self, document_id: int) -> tuple[Document, BusinessEntity]:
        """A document and the business entity whose AWS connection reads it."""
        with self._session() as session:
            document = session.get(Document, document_id)
            if document is None:
                raise NotFoundError(f"Document id {document_id} is not in the inventory.")
            entity = session.scalars(
                select(BusinessEntity)
                .join(ModelGroup, ModelGroup.business_entity_id == BusinessEntity.id)
                .join(Model, Model.model_group_id == ModelGroup.id)
                .where(Model.id == document.model_id)
            ).one()
            return document, entity
