"""SQLAlchemy 2 models of the governance inventory, the system of record (see DESIGN.md, Domain model).

Statuses and kinds are stored as their string values (not database enums) so a new status is a code
change, not a type migration, and the table reads the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so Alembic migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone; this puts it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# BigInteger primary keys autoincrement on SQLite only as INTEGER.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UseCaseStatus(StrEnum):
    PROPOSED = "Proposed"
    APPROVED = "Approved"
    REJECTED = "Rejected"


class EventSource(StrEnum):
    """Who originated a status change."""

    GOVERNANCE = "governance"
    SAGEMAKER = "sagemaker"


class ApprovalState(StrEnum):
    OPEN = "OPEN"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class RiskTestRunState(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class BusinessEntity(Base):
    """One central SageMaker model registry (AWS account + region) and the connection that reaches it."""

    __tablename__ = "mg_business_entity"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[str] = mapped_column(String(12))
    region: Mapped[str] = mapped_column(String(32))
    aws_conn_id: Mapped[str] = mapped_column(String(250))
    role_arn: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UseCase(Base):
    """A proposed AI use case; approved, it owns one SageMaker model package group."""

    __tablename__ = "mg_use_case"
    __table_args__ = (UniqueConstraint("business_entity_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    business_entity_id: Mapped[int] = mapped_column(ForeignKey("mg_business_entity.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    risk_level: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(320))
    data_science_email: Mapped[str | None] = mapped_column(String(320))
    model_type: Mapped[str] = mapped_column(String(32), default="SAGEMAKER")
    status: Mapped[str] = mapped_column(String(32), default=UseCaseStatus.PROPOSED.value, index=True)
    requested_by: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    business_entity: Mapped[BusinessEntity] = relationship(lazy="joined")


class ModelGroup(Base):
    """A SageMaker model package group linked to a use case."""

    __tablename__ = "mg_model_group"
    __table_args__ = (UniqueConstraint("business_entity_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    use_case_id: Mapped[int] = mapped_column(ForeignKey("mg_use_case.id"), index=True)
    business_entity_id: Mapped[int] = mapped_column(ForeignKey("mg_business_entity.id"), index=True)
    name: Mapped[str] = mapped_column(String(63))
    arn: Mapped[str] = mapped_column(String(2048), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Model(Base):
    """One model package version (ModelType SAGEMAKER) and its current governance status.

    ``status_version`` counts status changes: it is the sequence number of the latest StatusEvent and
    the compare-and-swap guard that makes concurrent changes safe.
    """

    __tablename__ = "mg_model"
    __table_args__ = (
        UniqueConstraint("model_group_id", "version"),
        Index("ix_mg_model_status_group", "status", "model_group_id"),
        # The dashboard's count of models per SageMaker stage (migration 0004).
        Index("ix_mg_model_stage", "sagemaker_stage"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    model_group_id: Mapped[int] = mapped_column(ForeignKey("mg_model_group.id"), index=True)
    package_arn: Mapped[str] = mapped_column(String(2048), unique=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(64))
    status_version: Mapped[int] = mapped_column(Integer, default=0)
    sagemaker_stage: Mapped[str | None] = mapped_column(String(63))
    sagemaker_stage_status: Mapped[str | None] = mapped_column(String(63))
    approval_status: Mapped[str | None] = mapped_column(String(32))
    sagemaker_last_modified: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The implementation run the lifecycle sync chose for this version (deterministic), and when it was
    #: started: a model onboarded but not yet started is picked up again by the next sync.
    mlc_run_id: Mapped[str | None] = mapped_column(String(250))
    mlc_run_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    model_group: Mapped[ModelGroup] = relationship(lazy="joined")


class StatusEvent(Base):
    """An append-only, hash-chained record of one status change of a model."""

    __tablename__ = "mg_status_event"
    __table_args__ = (UniqueConstraint("model_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("mg_model.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    from_status: Mapped[str | None] = mapped_column(String(64))
    to_status: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditLink(Base):
    """One link of the keyed audit chain (see inventory/audit.py): a governance fact as it was written,
    MACed with the previous link under a key the database does not hold. Append-only (migration 0006)."""

    __tablename__ = "mg_audit_link"
    __table_args__ = (
        UniqueConstraint("chain", "seq"),
        Index("ix_mg_audit_link_record", "kind", "record_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: ``model/<id>`` or ``use-case/<id>``: one chain per model (and per use case for its own approvals).
    chain: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(32))
    record: Mapped[str] = mapped_column(Text)
    prev_mac: Mapped[str | None] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Approval(Base):
    """A Jira approval gate and its verified decision."""

    __tablename__ = "mg_approval"
    __table_args__ = (
        Index("ix_mg_approval_state_kind", "state", "kind"),
        # The dashboard's approvals open past their SLA (migration 0004).
        Index("ix_mg_approval_state_created", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    use_case_id: Mapped[int | None] = mapped_column(ForeignKey("mg_use_case.id"), index=True)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("mg_model.id"), index=True)
    jira_key: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=ApprovalState.OPEN.value)
    requested_by: Mapped[str | None] = mapped_column(String(320))
    decided_by: Mapped[str | None] = mapped_column(String(320))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_status: Mapped[str | None] = mapped_column(String(64))
    dag_id: Mapped[str | None] = mapped_column(String(250))
    run_id: Mapped[str | None] = mapped_column(String(250))
    task_id: Mapped[str | None] = mapped_column(String(250))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Separation of duties (migration 0005): the people who may not decide, resolved to Jira accounts
    #: when the ticket was opened (``approvals.Exclusion.to_dict`` each), the Jira account of the verified
    #: decider, the justification a failed-tests policy asked for, and the moves refused (who, when, why).
    excluded: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    decided_by_account: Mapped[str | None] = mapped_column(String(128), index=True)
    justification: Mapped[str | None] = mapped_column(Text)
    refusals: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


class Snapshot(Base):
    """An immutable manifest of a model version, stored in S3 under its content hash."""

    __tablename__ = "mg_snapshot"
    __table_args__ = (UniqueConstraint("model_id", "content_hash"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("mg_model.id"), index=True)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    uri: Mapped[str] = mapped_column(String(2048))
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deployed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RiskTestRun(Base):
    """One run of the standard risk tests on a snapshot; ``run_key`` makes its recording idempotent."""

    __tablename__ = "mg_risk_test_run"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("mg_model.id"), index=True)
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("mg_snapshot.id"))
    run_key: Mapped[str] = mapped_column(String(512), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=RiskTestRunState.RUNNING.value)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    report_uri: Mapped[str | None] = mapped_column(String(2048))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Document(Base):
    """A rendered document (e.g. the model review document), identified by its SHA-256."""

    __tablename__ = "mg_document"
    __table_args__ = (UniqueConstraint("model_id", "kind", "media_type", "sha256"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("mg_model.id"), index=True)
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("mg_snapshot.id"))
    kind: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(128))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    uri: Mapped[str] = mapped_column(String(2048))
    approved: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Metric(Base):
    """A monitoring value pushed for a model from outside (the dashboard's monitoring API)."""

    __tablename__ = "mg_metric"
    __table_args__ = (Index("ix_mg_metric_model_name_time", "model_id", "name", "recorded_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("mg_model.id"))
    name: Mapped[str] = mapped_column(String(128))
    value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ActionKind(StrEnum):
    """A governance action an operator asks for (services/actions.py; the ``model_governance_action`` DAG)."""

    HOLD = "hold"
    RESUME = "resume"
    START_CHANGE = "start_change"
    DECOMMISSION = "decommission"
    PROPOSE = "propose"
    ADVANCE = "advance"
    HAND_OVER = "hand_over"


class ActionState(StrEnum):
    REQUESTED = "REQUESTED"
    DONE = "DONE"
    FAILED = "FAILED"


class GovernanceAction(Base):
    """One governance action: who asked, why, about which model or use case, and what it did
    (migration 0009). ``request_key`` (DAG id, run id, target) makes recording it idempotent; it is
    chained in the model's audit chain (the use case's for an action about a use case).

    A ``start_change`` action links the change's challenger (``challenger_model_id``: the group's next
    version, whose implementation run is the change) to its champion (``model_id``, the Deployed version)."""

    __tablename__ = "mg_governance_action"
    __table_args__ = (Index("ix_mg_governance_action_use_case", "use_case_id", "action"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_key: Mapped[str] = mapped_column(String(600), unique=True)
    action: Mapped[str] = mapped_column(String(32))
    model_id: Mapped[int | None] = mapped_column(ForeignKey("mg_model.id"), index=True)
    use_case_id: Mapped[int | None] = mapped_column(ForeignKey("mg_use_case.id"))
    requested_by: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=ActionState.REQUESTED.value)
    from_status: Mapped[str | None] = mapped_column(String(64))
    to_status: Mapped[str | None] = mapped_column(String(64))
    dag_id: Mapped[str | None] = mapped_column(String(250))
    run_id: Mapped[str | None] = mapped_column(String(250))
    challenger_model_id: Mapped[int | None] = mapped_column(ForeignKey("mg_model.id"))
    #: What it did (statuses written to SageMaker, endpoints, card) or why it failed.
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SyncIssueKind(StrEnum):
    """What the lifecycle sync found that a person should know about (the dashboard's urgent issues)."""

    DRIFT = "drift"  # SageMaker showed a governance-owned status; governance's value was written back
    UNKNOWN_LIFECYCLE = "unknown_lifecycle"  # a Stage/StageStatus pair the mapping table does not know
    DEAD_LETTER = "dead_letter"  # an event that kept failing, moved to the dead-letter queue
    REGISTRY_ERROR = "registry_error"  # a registry that could not be read (down, throttled, denied)
    UNGOVERNED_ENDPOINT = "ungoverned_endpoint"  # an endpoint serves a version that is not approved
    PACKAGE_ERROR = "package_error"  # one package could not be applied or written back; the rest went on


class SyncWatermark(Base):
    """Per registry: the newest package ``LastModifiedTime`` the incremental reconcile has seen."""

    __tablename__ = "mg_sync_watermark"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    business_entity_id: Mapped[int] = mapped_column(ForeignKey("mg_business_entity.id"), unique=True)
    last_modified: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_incremental_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_full_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SyncIssue(Base):
    """One finding of the sync, recorded once (``dedup_key``) and open until resolved."""

    __tablename__ = "mg_sync_issue"
    __table_args__ = (Index("ix_mg_sync_issue_open", "resolved_at", "business_entity_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(512), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    business_entity_id: Mapped[int | None] = mapped_column(ForeignKey("mg_business_entity.id"))
    model_id: Mapped[int | None] = mapped_column(ForeignKey("mg_model.id"), index=True)
    package_arn: Mapped[str | None] = mapped_column(String(2048))
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SyncFailure(Base):
    """How often one queue message failed to apply; at the limit it goes to the dead-letter queue."""

    __tablename__ = "mg_sync_failure"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(128), unique=True)
    business_entity_id: Mapped[int | None] = mapped_column(ForeignKey("mg_business_entity.id"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    dead_lettered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class FindingState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class MonitoringFinding(Base):
    """One monitoring finding: a model's metric (the breach kind) past its threshold, from the first
    breaching value until a passing one clears it (migration 0010).

    ``open_key`` (``<model id>/<kind>``) is set while the finding is open and cleared when it closes: the
    unique constraint keeps at most one open finding per model and breach kind, however many pushes race.
    The ``jira_*`` columns say how far the ``model_monitoring`` DAG has carried it into Jira.
    """

    __tablename__ = "mg_monitoring_finding"
    __table_args__ = (Index("ix_mg_monitoring_finding_state", "state", "first_seen"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("mg_model.id"), index=True)
    kind: Mapped[str] = mapped_column(String(128))
    open_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=FindingState.OPEN.value)
    value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    direction: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(128), default="")
    #: Breaching values seen so far (the ticket is updated while it grows).
    breaches: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cleared_value: Mapped[float | None] = mapped_column(Float)
    jira_key: Mapped[str | None] = mapped_column(String(64))
    #: How many breaches the ticket has been told about; the DAG comments when ``breaches`` is ahead.
    jira_breaches: Mapped[int] = mapped_column(Integer, default=0)
    jira_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_notified: Mapped[bool] = mapped_column(Boolean, default=False)
    #: What the risk level's ``monitoring.on_breach`` policy did (``finding``, ``model_change``, or why not).
    action: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class RevalidationState(StrEnum):
    RUNNING = "RUNNING"  # tests and document under way, or the approval ticket open
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"  # the tests could not run (e.g. the production data changed under them); not running


class RevalidationSchedule(Base):
    """When a Deployed model is next due for revalidation (migration 0010); kept by the revalidation DAG."""

    __tablename__ = "mg_revalidation_schedule"
    __table_args__ = (Index("ix_mg_revalidation_schedule_due", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("mg_model.id"), unique=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    interval_days: Mapped[int] = mapped_column(Integer)
    last_revalidated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The approval that made the last revalidation count (valid until ``due_at``).
    approval_jira_key: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Revalidation(Base):
    """One revalidation of a model by one task of one DAG run (``run_key``): tests, document, approval."""

    __tablename__ = "mg_revalidation"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("mg_model.id"), index=True)
    run_key: Mapped[str] = mapped_column(String(512), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=RevalidationState.RUNNING.value)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    risk_test_run_key: Mapped[str | None] = mapped_column(String(512))
    passed: Mapped[bool | None] = mapped_column(Boolean)
    document_uri: Mapped[str | None] = mapped_column(String(2048))
    jira_key: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
