"""The dashboard queries' sessions and shared pieces: filters, compliance per model, counting."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, Select, func, select
from sqlalchemy.orm import Session, sessionmaker

from model_governance.inventory.dashboard.read_models import (
    REQUIRED_APPROVALS,
    Compliance,
    Filters,
    UseCaseOption,
    risk_state,
)
from model_governance.inventory.models import (
    Approval,
    ApprovalState,
    BusinessEntity,
    Document,
    Model,
    ModelGroup,
    RiskTestRun,
    UseCase,
)


class DashboardBase:
    """Read-only queries over the inventory's engine (one session per page)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def _session(self) -> Session:
        return self._sessions()

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
                risk_tests=risk_state(runs.get(model_id)),
                document_approved=model_id in approved_docs,
            )
        return result

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
