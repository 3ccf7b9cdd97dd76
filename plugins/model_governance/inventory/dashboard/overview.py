"""The overview page: counts, one page of models with their compliance, the urgent issues."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Select, func, or_, select

from model_governance.inventory.dashboard.base import DashboardBase
from model_governance.inventory.dashboard.monitoring import monitoring_issues
from model_governance.inventory.dashboard.read_models import (
    NO_FILTERS,
    URGENT_KINDS,
    Counts,
    Filters,
    ModelPage,
    ModelRow,
    UrgentIssue,
    UrgentIssues,
    check_limit,
)
from model_governance.inventory.models import (
    Approval,
    ApprovalState,
    BusinessEntity,
    Model,
    ModelGroup,
    RiskTestRun,
    RiskTestRunState,
    SyncIssue,
    UseCase,
    utcnow,
)
from model_governance.lifecycle import GovernanceStatus


class OverviewQueries(DashboardBase):
    def counts(self, filters: Filters = NO_FILTERS) -> Counts:
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
        self, filters: Filters = NO_FILTERS, *, before_id: int | None = None, limit: int = 50
    ) -> ModelPage:
        """One page of models, newest first, with their compliance."""
        limit = check_limit(limit, "Page size")
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

    def urgent_issues(
        self,
        filters: Filters = NO_FILTERS,
        *,
        approval_sla_hours: float,
        now: datetime | None = None,
        per_kind: int = 10,
    ) -> UrgentIssues:
        """Rejected models, failed risk tests, approvals open past their SLA, open sync issues: up to
        ``per_kind`` of each (newest first) and the exact count of each."""
        per_kind = check_limit(per_kind, "Issues per kind")
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

            # Overdue revalidations and open monitoring findings with their age (dashboard/monitoring.py).
            found, found_counts = monitoring_issues(session, scoped, self._count, now=now, per_kind=per_kind)
            items.extend(found)
            counts.update(found_counts)

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
