"""Verifying the audit record: a model's status hash chain and keyed chain, a use case's chain."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from model_governance.inventory.audit import (
    Anchor,
    AuditTrailReport,
    CurrentRecord,
    model_chain,
    row_fields,
    use_case_chain,
    verify_chain,
    verify_links,
)
from model_governance.inventory.base import InventoryBase, chain_links, status_events
from model_governance.inventory.models import (
    Approval,
    Document,
    GovernanceAction,
    Model,
    RiskTestRun,
    Snapshot,
    StatusEvent,
)

#: The model's rows, besides its status events, that belong in its audit chain: (record kind, table, how a
#: finding names the row), in the order they are verified.
_CHAINED_TABLES: tuple[tuple[str, Any, Callable[[Any], str]], ...] = (
    ("approval", Approval, lambda r: f"approval id {r.id} ({r.kind} {r.jira_key})"),
    ("snapshot", Snapshot, lambda r: f"snapshot id {r.id}"),
    ("risk_test_run", RiskTestRun, lambda r: f"risk test run id {r.id}"),
    ("document", Document, lambda r: f"document id {r.id} ({r.kind})"),
    ("governance_action", GovernanceAction, lambda r: f"governance action id {r.id} ({r.action})"),
)


class AuditVerification(InventoryBase):
    """The audit chain's verification and the chained rows it compares."""

    def verify_audit_trail(
        self, model: int | str | Model, *, anchor: Anchor | None = None
    ) -> AuditTrailReport:
        """Check the model's audit record: the StatusEvents' hash chain and the keyed chain of every fact
        (MACs, status steps, approvals before the steps that need them, rows unchanged since chained) up
        to the newest anchor (``anchor``, else the anchor store's newest, if one is configured)."""
        chain_name = model_chain(self._model_id(model))
        if anchor is None and self.anchors is not None:
            anchor = self.anchors.newest(chain_name)
        with self._transaction() as session:
            current = self._model(session, model)
            events = status_events(session, current.id)
            legacy = verify_chain(current.id, events, current.status, current.status_version)
            links = chain_links(session, chain_name)
            rows = self._chained_rows(session, current.id, events)
            problems = legacy.problems + verify_links(
                chain=chain_name,
                links=links,
                keyring=self.audit_keyring,
                current=rows,
                model_status=current.status,
                status_version=current.status_version,
                anchor=anchor,
            )
            return AuditTrailReport(
                model_id=current.id,
                events_checked=len(events),
                problems=problems,
                links_checked=len(links),
                anchor_seq=anchor.seq if anchor is not None else None,
            )

    def verify_use_case_audit_trail(self, use_case_id: int, *, anchor: Anchor | None = None) -> list[str]:
        """Check the chain of a use case's own approvals (those about no model); [] when intact."""
        chain_name = use_case_chain(use_case_id)
        if anchor is None and self.anchors is not None:
            anchor = self.anchors.newest(chain_name)
        with self._transaction() as session:
            links = chain_links(session, chain_name)
            approvals = session.scalars(
                select(Approval).where(Approval.use_case_id == use_case_id, Approval.model_id.is_(None))
            )
            rows = [
                CurrentRecord("approval", a.id, row_fields(a), f"approval id {a.id} ({a.kind} {a.jira_key})")
                for a in approvals
            ]
            actions = session.scalars(
                select(GovernanceAction).where(
                    GovernanceAction.use_case_id == use_case_id, GovernanceAction.model_id.is_(None)
                )
            )
            rows += [
                CurrentRecord("governance_action", a.id, row_fields(a), f"governance action id {a.id}")
                for a in actions
            ]
            return verify_links(
                chain=chain_name, links=links, keyring=self.audit_keyring, current=rows, anchor=anchor
            )

    def chained_records(self, model: int | str | Model) -> dict[str, list[dict[str, Any]]]:
        """The model's rows that belong in its audit chain, by record kind, as chained (``row_fields``)."""
        with self._transaction() as session:
            current = self._model(session, model)
            events = status_events(session, current.id)
            found: dict[str, list[dict[str, Any]]] = {}
            for row in self._chained_rows(session, current.id, events):
                found.setdefault(row.kind, []).append(row.fields)
            return found

    @staticmethod
    def _chained_rows(session: Session, model_id: int, events: Sequence[StatusEvent]) -> list[CurrentRecord]:
        """Every row of the model that belongs in its chain, as the database holds it now."""
        rows = [
            CurrentRecord("status_event", e.id, row_fields(e), f"status event seq {e.seq}") for e in events
        ]
        for kind, table, label in _CHAINED_TABLES:
            for row in session.scalars(select(table).where(table.model_id == model_id)):
                rows.append(CurrentRecord(kind, row.id, row_fields(row), label(row)))
        return rows
