"""What the lifecycle sync keeps between runs: watermarks, issues found, failed queue messages, the
implementation run chosen per model, and the governance links written back to SageMaker."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from model_governance.exceptions import (
    NotFoundError,
)
from model_governance.inventory.base import InventoryBase, in_registry, require
from model_governance.inventory.models import (
    Approval,
    Model,
    ModelGroup,
    Snapshot,
    SyncFailure,
    SyncIssue,
    SyncIssueKind,
    SyncWatermark,
    utcnow,
)
from model_governance.lifecycle import GovernanceStatus


class SyncState(InventoryBase):
    """Sync watermarks, sync issues and failures, MLC run ids, governance links."""

    def sync_watermark(self, business_entity: str) -> SyncWatermark:
        """The registry's sync watermark (created empty on first use)."""
        with self._transaction() as session:
            entity = self._entity(session, business_entity)
            mark = session.scalar(select(SyncWatermark).where(SyncWatermark.business_entity_id == entity.id))
            if mark is None:
                mark = SyncWatermark(business_entity_id=entity.id)
                try:
                    with session.begin_nested():
                        session.add(mark)
                except IntegrityError:  # another reconcile created it first: read theirs
                    mark = session.scalars(
                        select(SyncWatermark).where(SyncWatermark.business_entity_id == entity.id)
                    ).one()
            return mark

    def advance_sync_watermark(
        self, business_entity: str, *, last_modified: datetime | None, full: bool = False
    ) -> SyncWatermark:
        """Record a finished reconcile; the watermark only moves forward (a late writer cannot undo it)."""
        self.sync_watermark(business_entity)
        with self._transaction() as session:
            entity = self._entity(session, business_entity)
            mark = session.scalars(
                select(SyncWatermark).where(SyncWatermark.business_entity_id == entity.id).with_for_update()
            ).one()
            if last_modified is not None and (
                mark.last_modified is None or last_modified > mark.last_modified
            ):
                mark.last_modified = last_modified
            now = utcnow()
            mark.last_incremental_at = now
            if full:
                mark.last_full_at = now
            return mark

    def record_sync_issue(
        self,
        *,
        kind: SyncIssueKind | str,
        dedup_key: str,
        detail: str,
        business_entity: str | None = None,
        model: int | str | Model | None = None,
        package_arn: str | None = None,
    ) -> tuple[SyncIssue, bool]:
        """Record a sync finding once per ``dedup_key``; returns ``(issue, created)``."""
        kind = SyncIssueKind(kind)
        key = require(dedup_key, "sync issue key")[:512]
        with self._transaction() as session:
            found = session.scalar(select(SyncIssue).where(SyncIssue.dedup_key == key))
            if found is not None:
                return found, False
            entity_id = self._entity(session, business_entity).id if business_entity else None
            model_row = None
            if model is not None:
                try:
                    model_row = self._model(session, model)
                except NotFoundError:
                    model_row = None
            issue = SyncIssue(
                dedup_key=key,
                kind=kind.value,
                business_entity_id=entity_id,
                model_id=model_row.id if model_row is not None else None,
                package_arn=package_arn or (model_row.package_arn if model_row is not None else None),
                detail=detail,
            )
            try:
                with session.begin_nested():
                    session.add(issue)
            except IntegrityError:  # recorded concurrently by a duplicate event: that one stands
                return session.scalars(select(SyncIssue).where(SyncIssue.dedup_key == key)).one(), False
            return issue, True

    def open_sync_issues(
        self,
        *,
        business_entity: str | None = None,
        kinds: Sequence[SyncIssueKind | str] | None = None,
        limit: int = 100,
    ) -> Sequence[SyncIssue]:
        """Unresolved sync issues, newest first."""
        query = select(SyncIssue).where(SyncIssue.resolved_at.is_(None))
        if kinds:
            query = query.where(SyncIssue.kind.in_([SyncIssueKind(k).value for k in kinds]))
        with self._transaction() as session:
            if business_entity is not None:
                query = query.where(SyncIssue.business_entity_id == self._entity(session, business_entity).id)
            return session.scalars(query.order_by(SyncIssue.id.desc()).limit(limit)).all()

    def resolve_sync_issues(
        self,
        *,
        business_entity: str | None = None,
        model: int | str | Model | None = None,
        kinds: Sequence[SyncIssueKind | str],
    ) -> int:
        """Close open issues of ``kinds`` for a model or registry (the condition has cleared)."""
        query = update(SyncIssue).where(
            SyncIssue.resolved_at.is_(None), SyncIssue.kind.in_([SyncIssueKind(k).value for k in kinds])
        )
        with self._transaction() as session:
            if model is not None:
                query = query.where(SyncIssue.model_id == self._model(session, model).id)
            if business_entity is not None:
                query = query.where(SyncIssue.business_entity_id == self._entity(session, business_entity).id)
            result = session.execute(
                query.values(resolved_at=utcnow()).execution_options(synchronize_session=False)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def resolve_sync_issue_ids(self, ids: Sequence[int]) -> int:
        """Close these open sync issues (their condition has cleared); returns how many were open."""
        if not ids:
            return 0
        with self._transaction() as session:
            result = session.execute(
                update(SyncIssue)
                .where(SyncIssue.id.in_(list(ids)), SyncIssue.resolved_at.is_(None))
                .values(resolved_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def linked_group_arns(self, business_entity: str) -> set[str]:
        """ARNs (lower case) of the registry's model package groups that are linked to a use case."""
        with self._transaction() as session:
            entity = self._entity(session, business_entity)
            rows = session.scalars(select(ModelGroup.arn).where(ModelGroup.business_entity_id == entity.id))
            return {arn.lower() for arn in rows}

    def governed_models(
        self, business_entity: str, *, exclude: Sequence[GovernanceStatus] = ()
    ) -> Sequence[Model]:
        """The registry's models (all groups), except those in ``exclude`` statuses."""
        query = in_registry(select(Model), business_entity).order_by(Model.id)
        if exclude:
            query = query.where(Model.status.not_in([s.value for s in exclude]))
        with self._transaction() as session:
            return session.scalars(query).all()

    def assign_mlc_run(self, model: int | str | Model, run_id: str) -> Model:
        """Choose the model's implementation run id, once: an id already chosen stands."""
        with self._transaction() as session:
            current = self._model(session, model)
            if current.mlc_run_id is None:
                current.mlc_run_id = require(run_id, "implementation run id")
            return current

    def claim_mlc_run(self, model: int | str | Model, run_id: str) -> Model:
        """A running implementation run says it is the model's: unless another one was already started,
        it becomes the model's run, started, so the lifecycle sync starts none."""
        with self._transaction() as session:
            current = self._model(session, model)
            if current.mlc_run_started_at is None:
                current.mlc_run_id = require(run_id, "implementation run id")
                current.mlc_run_started_at = utcnow()
            return current

    def pending_mlc_runs(self, business_entity: str, *, limit: int = 500) -> Sequence[Model]:
        """Models whose implementation run was chosen but not yet started (oldest first)."""
        query = (
            in_registry(select(Model), business_entity)
            .where(Model.mlc_run_id.is_not(None), Model.mlc_run_started_at.is_(None))
            .order_by(Model.id)
            .limit(limit)
        )
        with self._transaction() as session:
            return session.scalars(query).all()

    def mark_mlc_runs_started(self, run_ids: Sequence[str]) -> int:
        if not run_ids:
            return 0
        with self._transaction() as session:
            result = session.execute(
                update(Model)
                .where(Model.mlc_run_id.in_(list(run_ids)), Model.mlc_run_started_at.is_(None))
                .values(mlc_run_started_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def record_sync_failure(self, message_id: str, *, business_entity: str | None, error: str) -> int:
        """Count one more failed attempt at applying a queue message; returns the attempts so far."""
        key = require(message_id, "queue message id")[:128]
        with self._transaction() as session:
            failure = session.scalar(select(SyncFailure).where(SyncFailure.message_id == key))
            if failure is None:
                entity_id = self._entity(session, business_entity).id if business_entity else None
                failure = SyncFailure(message_id=key, business_entity_id=entity_id, attempts=0)
                session.add(failure)
            failure.attempts = (failure.attempts or 0) + 1
            failure.last_error = error[:4000]
            session.flush()
            return failure.attempts

    def sync_failure(self, message_id: str) -> SyncFailure | None:
        with self._transaction() as session:
            return session.scalar(select(SyncFailure).where(SyncFailure.message_id == message_id[:128]))

    def mark_dead_lettered(self, message_id: str) -> None:
        with self._transaction() as session:
            session.execute(
                update(SyncFailure)
                .where(SyncFailure.message_id == message_id[:128])
                .values(dead_lettered_at=utcnow())
                .execution_options(synchronize_session=False)
            )

    def governance_links(
        self, business_entity: str, *, model_ids: Sequence[int] | None = None
    ) -> dict[str, dict[str, Any]]:
        """Per package ARN, what governance writes back to SageMaker: use case and model ids, status, the
        latest snapshot's hash and the approval tickets' Jira keys (oldest first). Three queries."""
        query = in_registry(
            select(Model.id, Model.package_arn, Model.status, ModelGroup.use_case_id), business_entity
        )
        if model_ids is not None:
            query = query.where(Model.id.in_(list(model_ids)))
        with self._transaction() as session:
            rows = session.execute(query).all()
            ids = [row.id for row in rows]
            snapshots: dict[int, str] = {}
            keys: dict[int, list[str]] = {}
            for start in range(0, len(ids), 500):  # bound the IN lists
                chunk = ids[start : start + 500]
                for snap in session.execute(
                    select(Snapshot.model_id, Snapshot.content_hash)
                    .where(Snapshot.model_id.in_(chunk))
                    .order_by(Snapshot.id)
                ):
                    snapshots[snap.model_id] = snap.content_hash
                for approval in session.execute(
                    select(Approval.model_id, Approval.jira_key)
                    .where(Approval.model_id.in_(chunk))
                    .order_by(Approval.id)
                ):
                    if approval.model_id is not None:
                        keys.setdefault(approval.model_id, []).append(approval.jira_key)
            return {
                row.package_arn: {
                    "model_id": row.id,
                    "use_case_id": row.use_case_id,
                    "status": row.status,
                    "snapshot": snapshots.get(row.id),
                    "jira_keys": keys.get(row.id, []),
                }
                for row in rows
            }
