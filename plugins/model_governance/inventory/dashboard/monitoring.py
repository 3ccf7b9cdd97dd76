"""The overview's monitoring rows: open monitoring findings with their age, and Deployed models overdue for
revalidation (their due date, kept by the revalidation DAG, is past). Bounded like every urgent list."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from model_governance.inventory.dashboard.read_models import UrgentIssue
from model_governance.inventory.models import FindingState, Model, MonitoringFinding, RevalidationSchedule
from model_governance.lifecycle import GovernanceStatus


def _age(now: datetime, since: datetime) -> str:
    hours = max(0.0, (now - since).total_seconds() / 3600)
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} days"


def monitoring_issues(
    session: Session,
    scoped: Callable[[Select], Select],
    count: Callable[[Session, Select], int],
    *,
    now: datetime,
    per_kind: int,
) -> tuple[list[UrgentIssue], dict[str, int]]:
    """Open findings (oldest first, with their age and Jira key) and overdue revalidations."""
    items: list[UrgentIssue] = []
    counts: dict[str, int] = {}
    findings_q = scoped(
        select(MonitoringFinding)
        .join(Model, Model.id == MonitoringFinding.model_id)
        .where(MonitoringFinding.state == FindingState.OPEN.value)
    )
    counts["monitoring_finding"] = count(session, findings_q)
    for finding in session.scalars(findings_q.order_by(MonitoringFinding.first_seen).limit(per_kind)):
        items.append(
            UrgentIssue(
                kind="monitoring_finding",
                title=finding.kind,
                detail=(
                    f"open for {_age(now, finding.first_seen)}: {finding.breaches} breaching value(s), "
                    f"latest "
                    f"{finding.value:g}" + ("" if finding.jira_key else "; ticket not opened yet")
                ),
                at=finding.first_seen,
                model_id=finding.model_id,
                jira_key=finding.jira_key,
            )
        )
    overdue_q = scoped(
        select(RevalidationSchedule)
        .join(Model, Model.id == RevalidationSchedule.model_id)
        .where(RevalidationSchedule.due_at < now, Model.status == GovernanceStatus.DEPLOYED.value)
    )
    counts["revalidation_overdue"] = count(session, overdue_q)
    for row in session.scalars(overdue_q.order_by(RevalidationSchedule.due_at).limit(per_kind)):
        last = row.last_revalidated_at.strftime("%Y-%m-%d") if row.last_revalidated_at else "never"
        items.append(
            UrgentIssue(
                kind="revalidation_overdue",
                title="revalidation",
                detail=(
                    f"due {row.due_at.strftime('%Y-%m-%d')}, overdue by {_age(now, row.due_at)} "
                    f"(every {row.interval_days} days; last revalidated {last})"
                ),
                at=row.due_at,
                model_id=row.model_id,
                jira_key=row.approval_jira_key,
            )
        )
    return items, counts
