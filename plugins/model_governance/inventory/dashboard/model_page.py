"""One model's page (everything about it, bounded) and a document's download."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, or_, select
from sqlalchemy.orm import Session

from model_governance.exceptions import NotFoundError
from model_governance.inventory.audit import verify_chain
from model_governance.inventory.base import status_events
from model_governance.inventory.dashboard.base import DashboardBase
from model_governance.inventory.dashboard.read_models import (
    MetricSeries,
    ModelDetail,
)
from model_governance.inventory.models import (
    Approval,
    BusinessEntity,
    Document,
    FindingState,
    Metric,
    Model,
    ModelGroup,
    MonitoringFinding,
    RiskTestRun,
    Snapshot,
    SyncIssue,
    UseCase,
)


def _newest(session: Session, kind: Any, model_id: int, limit: int) -> list[Any]:
    """The model's newest ``limit`` rows of ``kind`` (a table with ``id`` and ``model_id``)."""
    return list(
        session.scalars(select(kind).where(kind.model_id == model_id).order_by(kind.id.desc()).limit(limit))
    )


class ModelPageQueries(DashboardBase):
    def model_detail(
        self, model_id: int, *, metric_points: int = 50, metric_names: int = 20, finding_limit: int = 20
    ) -> ModelDetail:
        """Everything the model page shows, or ``NotFoundError`` naming the id. ``extra["findings"]``: the
        model's monitoring findings, open ones first (oldest first), then the newest closed ones."""
        with self._session() as session:
            model = session.get(Model, model_id)
            if model is None:
                raise NotFoundError(
                    f"Model id {model_id} is not in the inventory; pick one from the overview."
                )
            group = session.get_one(ModelGroup, model.model_group_id)
            use_case = session.get_one(UseCase, group.use_case_id)
            entity = session.get_one(BusinessEntity, group.business_entity_id)
            events = status_events(session, model.id)
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
            snapshots: list[Snapshot] = _newest(session, Snapshot, model.id, 20)
            documents: list[Document] = _newest(session, Document, model.id, 100)
            runs: list[RiskTestRun] = _newest(session, RiskTestRun, model.id, 20)
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
            # Monitoring findings: the open ones first (oldest first), then the newest closed ones.
            findings = list(
                session.scalars(
                    select(MonitoringFinding)
                    .where(MonitoringFinding.model_id == model.id)
                    .order_by(
                        (MonitoringFinding.state != FindingState.OPEN.value),
                        case(
                            (MonitoringFinding.state == FindingState.OPEN.value, MonitoringFinding.id),
                            else_=-MonitoringFinding.id,
                        ),
                    )
                    .limit(finding_limit)
                )
            )
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
            extra={"findings": findings},
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
