"""Monitoring findings and the revalidation schedule (migration 0010): what the monitoring push API
records, what the ``model_monitoring`` DAG carries into Jira and what ``model_revalidation`` keeps.

A finding is opened by the first breaching value of a model's metric (its breach kind), updated by every
later breaching value and cleared by the first passing one. At most one finding per model and breach kind
is open at a time (the unique ``open_key``): a push racing another updates the same row. Every write is
one transaction (a pushed value and the finding it opens, updates or clears too: ``record_monitoring_value``);
clock values are passed in so tests can move time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from model_governance.exceptions import NotFoundError
from model_governance.inventory.base import InventoryBase, require
from model_governance.inventory.evidence import add_metric, check_metric_value
from model_governance.inventory.models import (
    FindingState,
    Metric,
    Model,
    MonitoringFinding,
    Revalidation,
    RevalidationSchedule,
    RevalidationState,
    utcnow,
)

#: The longest breach kind (a metric name, as the push API limits it).
KIND_LIMIT = 128


@dataclass(frozen=True)
class PushRecord:
    """What one pushed value did in the inventory: the stored value, and the finding it opened, updated
    or cleared (None when it had no threshold, or passed with no finding open)."""

    metric: Metric
    finding: MonitoringFinding | None = None
    opened: bool = False
    cleared: bool = False


def open_key(model_id: int, kind: str) -> str:
    return f"{int(model_id)}/{kind}"[:200]


class Monitoring(InventoryBase):
    """Monitoring findings and revalidations."""

    # -- findings ---------------------------------------------------------------------------------------

    def record_breach(
        self,
        model: int | str | Model,
        *,
        kind: str,
        value: float,
        threshold: float | None,
        direction: str | None,
        source: str,
        at: datetime,
    ) -> tuple[MonitoringFinding, bool]:
        """A breaching value: opens the model's finding of ``kind`` or updates the open one.

        Returns ``(finding, opened)``. Concurrent first breaches open one finding (the unique open key);
        the loser of the race updates the winner's row.
        """
        kind = require(kind, "breach kind")[:KIND_LIMIT]
        with self._transaction() as session:
            current = self._model(session, model)
            return self._breach(session, current.id, kind, value, threshold, direction, source, at)

    def record_clear(
        self, model: int | str | Model, *, kind: str, value: float, at: datetime
    ) -> MonitoringFinding | None:
        """A passing value: closes the model's open finding of ``kind`` (None when there is none open).
        A passing value older than the finding's last breach does not clear it."""
        with self._transaction() as session:
            current = self._model(session, model)
            return self._clear(session, current.id, kind[:KIND_LIMIT], value, at)

    def record_monitoring_value(
        self,
        model: int | str | Model,
        *,
        name: str,
        value: float,
        recorded_at: datetime,
        source: str,
        threshold: float | None,
        direction: str | None,
        breached: bool | None,
    ) -> PushRecord:
        """A pushed monitoring value and what it does to the model's finding of breach kind ``name``, in one
        transaction: a failure anywhere stores neither, so the pusher's retry stores the value once.
        ``breached`` is the caller's verdict (None: no threshold, no finding touched)."""
        check_metric_value(name, value)
        with self._transaction() as session:
            current = self._model(session, model)
            passed = None if breached is None else not breached
            metric = add_metric(
                session, current.id, name, value, threshold, passed, source=source, recorded_at=recorded_at
            )
            kind = name[:KIND_LIMIT]
            if breached is None:
                return PushRecord(metric)
            if breached:
                found, opened = self._breach(
                    session, current.id, kind, value, threshold, direction, source, recorded_at
                )
                return PushRecord(metric, found, opened=opened)
            cleared = self._clear(session, current.id, kind, value, recorded_at)
            return PushRecord(metric, cleared, cleared=cleared is not None)

    @staticmethod
    def _breach(
        session: Session,
        model_id: int,
        kind: str,
        value: float,
        threshold: float | None,
        direction: str | None,
        source: str,
        at: datetime,
    ) -> tuple[MonitoringFinding, bool]:
        key = open_key(model_id, kind)
        for _ in range(3):
            found = session.scalar(
                select(MonitoringFinding).where(MonitoringFinding.open_key == key).with_for_update()
            )
            if found is not None:
                found.breaches += 1
                if at >= found.last_seen:
                    found.last_seen, found.value = at, float(value)
                    found.threshold, found.direction, found.source = threshold, direction, source
                found.updated_at = utcnow()
                return found, False
            finding = MonitoringFinding(
                model_id=model_id,
                kind=kind,
                open_key=key,
                state=FindingState.OPEN.value,
                value=float(value),
                threshold=threshold,
                direction=direction,
                source=source,
                breaches=1,
                first_seen=at,
                last_seen=at,
                jira_breaches=0,
                jira_closed=False,
                owner_notified=False,
                updated_at=utcnow(),
            )
            try:
                with session.begin_nested():
                    session.add(finding)
            except IntegrityError:
                # Opened concurrently (committed by the other push): update that one on the next pass,
                # within this transaction (the savepoint undid only the insert).
                continue
            return finding, True
        raise AssertionError("the open finding could neither be created nor read")  # pragma: no cover

    @staticmethod
    def _clear(
        session: Session, model_id: int, kind: str, value: float, at: datetime
    ) -> MonitoringFinding | None:
        found = session.scalar(
            select(MonitoringFinding)
            .where(MonitoringFinding.open_key == open_key(model_id, kind))
            .with_for_update()
        )
        if found is None or at < found.last_seen:
            return None
        found.state = FindingState.CLOSED.value
        found.open_key = None
        found.cleared_at, found.cleared_value = at, float(value)
        found.updated_at = utcnow()
        return found

    def finding(self, finding_id: int) -> MonitoringFinding:
        with self._transaction() as session:
            return self._get(session, MonitoringFinding, finding_id, "Monitoring finding")

    def findings(
        self, *, model: int | str | Model | None = None, state: FindingState | str | None = None
    ) -> Sequence[MonitoringFinding]:
        """Findings (of a model, in a state), oldest first."""
        query = select(MonitoringFinding)
        if state is not None:
            query = query.where(MonitoringFinding.state == FindingState(state).value)
        with self._transaction() as session:
            if model is not None:
                query = query.where(MonitoringFinding.model_id == self._model(session, model).id)
            return session.scalars(query.order_by(MonitoringFinding.id)).all()

    def findings_to_carry(self, *, limit: int = 500) -> Sequence[MonitoringFinding]:
        """Findings whose Jira ticket is behind: open without a ticket, open with breaches not yet told,
        owner not notified, no policy action recorded, or closed with the ticket still open."""
        query = select(MonitoringFinding).where(
            or_(
                (MonitoringFinding.state == FindingState.OPEN.value)
                & (
                    MonitoringFinding.jira_key.is_(None)
                    | (MonitoringFinding.jira_breaches < MonitoringFinding.breaches)
                    | MonitoringFinding.action.is_(None)
                ),
                (MonitoringFinding.state == FindingState.CLOSED.value)
                & MonitoringFinding.jira_closed.is_(False),
            )
        )
        with self._transaction() as session:
            return session.scalars(query.order_by(MonitoringFinding.id).limit(limit)).all()

    def update_finding(self, finding_id: int, **values: Any) -> MonitoringFinding:
        """Record how far a finding has been carried (jira_key, jira_breaches, jira_closed,
        owner_notified, action); counters only move forward."""
        allowed = {"jira_key", "jira_breaches", "jira_closed", "owner_notified", "action"}
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise ValueError(f"update_finding cannot set {unknown}")
        with self._transaction() as session:
            found = session.get(MonitoringFinding, finding_id, with_for_update=True)
            if found is None:
                raise NotFoundError(f"Monitoring finding id {finding_id} is not in the inventory.")
            for name, value in values.items():
                if name == "jira_breaches":
                    value = max(int(value), found.jira_breaches)
                setattr(found, name, value)
            found.updated_at = utcnow()
            return found

    # -- revalidation -----------------------------------------------------------------------------------

    def revalidation_schedule(self, model: int | str | Model) -> RevalidationSchedule | None:
        with self._transaction() as session:
            model_id = self._model(session, model).id
            return session.scalar(
                select(RevalidationSchedule).where(RevalidationSchedule.model_id == model_id)
            )

    def schedule_revalidation(
        self,
        model: int | str | Model,
        *,
        due_at: datetime,
        interval_days: int,
        last_revalidated_at: datetime | None = None,
        approval_jira_key: str | None = None,
    ) -> RevalidationSchedule:
        """Set when the model is next due (created on first use; a later approval moves it)."""
        with self._transaction() as session:
            model_id = self._model(session, model).id
            row = session.scalar(
                select(RevalidationSchedule)
                .where(RevalidationSchedule.model_id == model_id)
                .with_for_update()
            )
            if row is None:
                row = RevalidationSchedule(model_id=model_id, due_at=due_at, interval_days=interval_days)
                try:
                    with session.begin_nested():
                        session.add(row)
                except IntegrityError:
                    row = session.scalars(
                        select(RevalidationSchedule).where(RevalidationSchedule.model_id == model_id)
                    ).one()
            row.due_at, row.interval_days = due_at, interval_days
            if last_revalidated_at is not None:
                row.last_revalidated_at = last_revalidated_at
            if approval_jira_key is not None:
                row.approval_jira_key = approval_jira_key
            row.updated_at = utcnow()
            session.flush()
            return row

    def start_revalidation(self, model: int | str | Model, *, run_key: str, due_at: datetime) -> Revalidation:
        """This task's revalidation of the model (created once per ``run_key``; a retry gets it back, running
        again if it had failed)."""
        key = require(run_key, "revalidation run key")[:512]
        with self._transaction() as session:
            model_id = self._model(session, model).id
            found = session.scalar(select(Revalidation).where(Revalidation.run_key == key).with_for_update())
            if found is not None:
                if found.state == RevalidationState.FAILED.value:  # the task retried: running again
                    found.state = RevalidationState.RUNNING.value
                return found
            row = Revalidation(
                model_id=model_id,
                run_key=key,
                state=RevalidationState.RUNNING.value,
                due_at=due_at,
                started_at=utcnow(),
            )
            try:
                with session.begin_nested():
                    session.add(row)
            except IntegrityError:
                return session.scalars(select(Revalidation).where(Revalidation.run_key == key)).one()
            return row

    def update_revalidation(self, run_key: str, **values: Any) -> Revalidation:
        allowed = {
            "state",
            "risk_test_run_key",
            "passed",
            "document_uri",
            "jira_key",
            "decided_at",
            "valid_until",
        }
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise ValueError(f"update_revalidation cannot set {unknown}")
        with self._transaction() as session:
            found = session.scalar(
                select(Revalidation).where(Revalidation.run_key == run_key).with_for_update()
            )
            if found is None:
                raise NotFoundError(f"Revalidation {run_key!r} is not in the inventory.")
            for name, value in values.items():
                setattr(found, name, value)
            return found

    def revalidations(self, model: int | str | Model) -> Sequence[Revalidation]:
        """A model's revalidations, oldest first."""
        with self._transaction() as session:
            model_id = self._model(session, model).id
            return session.scalars(
                select(Revalidation).where(Revalidation.model_id == model_id).order_by(Revalidation.id)
            ).all()

    def revalidations_in_flight(self) -> dict[int, Revalidation]:
        """Per model, its revalidation still running (tests, document or approval under way)."""
        with self._transaction() as session:
            rows = session.scalars(
                select(Revalidation)
                .where(Revalidation.state == RevalidationState.RUNNING.value)
                .order_by(Revalidation.id)
            ).all()
        return {row.model_id: row for row in rows}
