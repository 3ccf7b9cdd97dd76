"""Approval records: one per Jira ticket, with the verified decision taken from its changelog."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from model_governance.exceptions import ConflictError, InvalidInputError, NotFoundError
from model_governance.inventory.base import InventoryBase, require
from model_governance.inventory.models import Approval, ApprovalState


class Approvals(InventoryBase):
    """Approvals requested, decided, refused."""

    @staticmethod
    def _recorded_approval(session: Session, jira_key: str) -> Approval:
        approval = session.scalar(select(Approval).where(Approval.jira_key == jira_key))
        if approval is None:
            raise NotFoundError(f"No approval is recorded for Jira ticket {jira_key!r}.")
        return approval

    def record_approval_requested(
        self,
        *,
        kind: str,
        jira_key: str,
        use_case_id: int | None = None,
        model_id: int | None = None,
        requested_by: str | None = None,
        dag_id: str | None = None,
        run_id: str | None = None,
        task_id: str | None = None,
        excluded: Sequence[Mapping[str, Any]] | None = None,
    ) -> Approval:
        """Record an open approval ticket (idempotent by Jira key).

        ``excluded``: the people who may not decide it, resolved to Jira accounts when it was opened
        (``approvals.Exclusion.to_dict`` each); a retry keeps the first record's.
        """
        from model_governance.config import ApprovalKind

        try:
            approval_kind = ApprovalKind(kind)
        except ValueError:
            known = ", ".join(k.value for k in ApprovalKind)
            raise InvalidInputError(f"Approval kind {kind!r} is not one of {known}.") from None
        if (use_case_id is None) == (model_id is None):
            raise InvalidInputError(f"Approval {jira_key!r} must be about exactly one use case or one model.")
        jira_key = require(jira_key, "Jira key")
        with self._transaction() as session:
            existing = session.scalar(select(Approval).where(Approval.jira_key == jira_key))
            if existing is not None:
                return existing
            approval = Approval(
                kind=approval_kind.value,
                jira_key=jira_key,
                use_case_id=use_case_id,
                model_id=model_id,
                requested_by=requested_by,
                dag_id=dag_id,
                run_id=run_id,
                task_id=task_id,
                state=ApprovalState.OPEN.value,
                excluded=None if excluded is None else [dict(item) for item in excluded],
            )
            session.add(approval)
            session.flush()
            self._chain_link(session, self._approval_chain(approval), "approval", "requested", approval)
            return approval

    def record_approval_decision(
        self,
        jira_key: str,
        *,
        approved: bool,
        decided_by: str,
        decided_at: datetime,
        decision_status: str,
        decided_by_account: str | None = None,
        justification: str | None = None,
    ) -> Approval:
        """Record the verified decision taken from the Jira changelog (same decision again is a no-op).

        ``decided_by_account`` is the decider's Jira account (what separation of duties compares);
        ``justification`` the comment a failed-tests policy required.
        """
        state = ApprovalState.APPROVED if approved else ApprovalState.REJECTED
        with self._transaction() as session:
            approval = self._recorded_approval(session, jira_key)
            if approval.state != ApprovalState.OPEN.value:
                if approval.state == state.value and approval.decided_by == decided_by:
                    # A retried task: anchor the head again in case the first attempt died before it.
                    self._anchor(self._head(session, self._approval_chain(approval)))
                    return approval
                raise ConflictError(
                    f"Approval {jira_key!r} was already decided: {approval.state} by {approval.decided_by}."
                )
            approval.state = state.value
            approval.decided_by = require(decided_by, "decided_by")
            approval.decided_at = decided_at
            approval.decision_status = decision_status
            approval.decided_by_account = decided_by_account
            approval.justification = justification
            session.flush()
            link = self._chain_link(session, self._approval_chain(approval), "approval", "decided", approval)
        self._anchor(link)
        return approval

    def approval(self, jira_key: str) -> Approval | None:
        """The approval recorded for a Jira ticket, or None."""
        with self._transaction() as session:
            return session.scalar(select(Approval).where(Approval.jira_key == jira_key))

    def update_approval_exclusions(self, jira_key: str, excluded: Sequence[Mapping[str, Any]]) -> None:
        """Replace the excluded people of an open approval (an identity mapped since it was opened)."""
        with self._transaction() as session:
            approval = self._recorded_approval(session, jira_key)
            if approval.state != ApprovalState.OPEN.value:
                return
            approval.excluded = [dict(item) for item in excluded]
            session.flush()
            self._chain_link(session, self._approval_chain(approval), "approval", "excluded", approval)

    def record_approval_refusal(self, jira_key: str, refusal: Mapping[str, Any]) -> bool:
        """Append a refused move (``at``, ``by``, ``account``, ``status``, ``reason``) once per mover and
        time; False when it was recorded already (a retried task refuses the same move again)."""
        with self._transaction() as session:
            approval = self._recorded_approval(session, jira_key)
            refusals = list(approval.refusals or [])
            key = (refusal.get("at"), refusal.get("account"))
            if any((item.get("at"), item.get("account")) == key for item in refusals):
                return False
            approval.refusals = [*refusals, dict(refusal)]
            session.flush()
            self._chain_link(session, self._approval_chain(approval), "approval", "refused", approval)
            return True

    def approvals(self, *, model_id: int | None = None, use_case_id: int | None = None) -> Sequence[Approval]:
        query = select(Approval).order_by(Approval.id)
        if model_id is not None:
            query = query.where(Approval.model_id == model_id)
        if use_case_id is not None:
            query = query.where(Approval.use_case_id == use_case_id)
        with self._transaction() as session:
            return session.scalars(query).all()
