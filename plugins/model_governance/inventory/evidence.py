"""The evidence of a model version: snapshots, risk test runs, documents and pushed metrics.

Each is keyed (content hash, run key, document hash), so a retried task gets the record it made before,
and each fact is appended to the model's keyed audit chain in the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from model_governance.exceptions import (
    InvalidInputError,
    NotFoundError,
)
from model_governance.inventory.audit import (
    model_chain,
)
from model_governance.inventory.base import InventoryBase, require
from model_governance.inventory.models import (
    Document,
    Metric,
    Model,
    RiskTestRun,
    RiskTestRunState,
    Snapshot,
    utcnow,
)


class Evidence(InventoryBase):
    """Snapshots, risk test runs, documents, metrics."""

    def record_snapshot(
        self, model: int | str | Model, *, content_hash: str, uri: str, manifest: dict[str, Any]
    ) -> Snapshot:
        """Record a snapshot (idempotent by content hash: the same manifest is the same snapshot)."""
        if not re.fullmatch(r"[0-9a-f]{64}", content_hash or ""):
            raise InvalidInputError(f"Snapshot content hash {content_hash!r} is not a hex SHA-256.")
        with self._transaction() as session:
            current = self._model(session, model)
            existing = session.scalar(
                select(Snapshot).where(Snapshot.model_id == current.id, Snapshot.content_hash == content_hash)
            )
            if existing is not None:
                return existing
            snapshot = Snapshot(model_id=current.id, content_hash=content_hash, uri=uri, manifest=manifest)
            session.add(snapshot)
            session.flush()
            self._chain_link(session, model_chain(current.id), "snapshot", "recorded", snapshot)
            return snapshot

    def latest_snapshot(self, model: int | str | Model) -> Snapshot | None:
        with self._transaction() as session:
            current = self._model(session, model)
            return session.scalar(
                select(Snapshot).where(Snapshot.model_id == current.id).order_by(Snapshot.id.desc()).limit(1)
            )

    def approved_snapshot(self, model: int | str | Model) -> Snapshot | None:
        """The newest snapshot approved for production (``mark_snapshot_deployed``), or None."""
        with self._transaction() as session:
            current = self._model(session, model)
            return session.scalar(
                select(Snapshot)
                .where(Snapshot.model_id == current.id, Snapshot.deployed_at.is_not(None))
                .order_by(Snapshot.id.desc())
                .limit(1)
            )

    def get_snapshot(self, snapshot_id: int) -> Snapshot:
        with self._transaction() as session:
            snapshot = self._get(session, Snapshot, snapshot_id, "Snapshot")
            return snapshot

    def mark_snapshot_deployed(self, snapshot_id: int, *, at: datetime | None = None) -> Snapshot:
        with self._transaction() as session:
            snapshot = self._get(session, Snapshot, snapshot_id, "Snapshot")
            if snapshot.deployed_at is None:
                snapshot.deployed_at = at or utcnow()
                session.flush()
                self._chain_link(session, model_chain(snapshot.model_id), "snapshot", "deployed", snapshot)
            return snapshot

    def start_risk_test_run(
        self, model: int | str | Model, *, run_key: str, snapshot_id: int | None = None
    ) -> RiskTestRun:
        """Record a risk test run as started (idempotent by ``run_key``, e.g. dag_id/run_id/task_id)."""
        run_key = require(run_key, "risk test run key")
        with self._transaction() as session:
            current = self._model(session, model)
            existing = session.scalar(select(RiskTestRun).where(RiskTestRun.run_key == run_key))
            if existing is not None:
                return existing
            run = RiskTestRun(model_id=current.id, snapshot_id=snapshot_id, run_key=run_key)
            session.add(run)
            session.flush()
            self._chain_link(session, model_chain(current.id), "risk_test_run", "started", run)
            return run

    def finish_risk_test_run(
        self,
        run_key: str,
        *,
        passed: bool | None,
        report: dict[str, Any] | None = None,
        report_uri: str | None = None,
        error: str | None = None,
    ) -> RiskTestRun:
        """Record the outcome: a report (tests ran, passed or not) or an error (the job failed to run)."""
        with self._transaction() as session:
            run = session.scalar(select(RiskTestRun).where(RiskTestRun.run_key == run_key))
            if run is None:
                raise NotFoundError(f"No risk test run is recorded under key {run_key!r}.")
            run.state = (RiskTestRunState.FAILED if error else RiskTestRunState.SUCCEEDED).value
            run.passed, run.report, run.report_uri, run.error = passed, report, report_uri, error
            run.finished_at = utcnow()
            session.flush()
            self._chain_link(session, model_chain(run.model_id), "risk_test_run", "finished", run)
            return run

    def risk_test_runs(self, model: int | str | Model, *, run_key_prefix: str) -> Sequence[RiskTestRun]:
        """The model's risk test runs whose key starts with ``run_key_prefix`` (one task's attempts)."""
        with self._transaction() as session:
            current = self._model(session, model)
            return session.scalars(
                select(RiskTestRun)
                .where(
                    RiskTestRun.model_id == current.id,
                    RiskTestRun.run_key.startswith(run_key_prefix, autoescape=True),
                )
                .order_by(RiskTestRun.id)
            ).all()

    def latest_risk_test_run(self, model: int | str | Model) -> RiskTestRun | None:
        with self._transaction() as session:
            current = self._model(session, model)
            return session.scalar(
                select(RiskTestRun)
                .where(RiskTestRun.model_id == current.id)
                .order_by(RiskTestRun.id.desc())
                .limit(1)
            )

    def record_document(
        self,
        model: int | str | Model,
        *,
        kind: str,
        media_type: str,
        sha256: str,
        uri: str,
        snapshot_id: int | None = None,
        size: int | None = None,
    ) -> Document:
        """Record a rendered document (idempotent by its SHA-256)."""
        if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
            raise InvalidInputError(f"Document hash {sha256!r} is not a hex SHA-256.")
        with self._transaction() as session:
            current = self._model(session, model)
            existing = session.scalar(
                select(Document).where(
                    Document.model_id == current.id,
                    Document.kind == kind,
                    Document.media_type == media_type,
                    Document.sha256 == sha256,
                )
            )
            if existing is not None:
                return existing
            document = Document(
                model_id=current.id,
                snapshot_id=snapshot_id,
                kind=kind,
                media_type=media_type,
                sha256=sha256,
                size=size,
                uri=uri,
            )
            session.add(document)
            session.flush()
            self._chain_link(session, model_chain(current.id), "document", "recorded", document)
            return document

    def documents(self, model: int | str | Model, *, snapshot_id: int | None = None) -> Sequence[Document]:
        with self._transaction() as session:
            current = self._model(session, model)
            query = select(Document).where(Document.model_id == current.id).order_by(Document.id)
            if snapshot_id is not None:
                query = query.where(Document.snapshot_id == snapshot_id)
            return session.scalars(query).all()

    def approve_documents(self, document_ids: Sequence[int]) -> None:
        """Mark documents approved (the reviewer moved their ticket to Done); repeating is harmless."""
        with self._transaction() as session:
            documents = session.scalars(
                select(Document).where(Document.id.in_(list(document_ids))).order_by(Document.id)
            ).all()
            for document in documents:
                if not document.approved:
                    document.approved = True
                    session.flush()
                    chain = model_chain(document.model_id)
                    self._chain_link(session, chain, "document", "approved", document)

    def record_metric(
        self,
        model: int | str | Model,
        *,
        name: str,
        value: float,
        recorded_at: datetime,
        source: str,
        threshold: float | None = None,
        passed: bool | None = None,
    ) -> Metric:
        """Store one monitoring value pushed for a model."""
        check_metric_value(name, value)
        with self._transaction() as session:
            current = self._model(session, model)
            return add_metric(
                session, current.id, name, value, threshold, passed, source=source, recorded_at=recorded_at
            )


def check_metric_value(name: str, value: float) -> None:
    """Refuse a pushed monitoring value that is not a finite number (NaN, infinity)."""
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidInputError(f"Metric {name!r} value {value!r} is not a finite number.")


def add_metric(
    session: Session,
    model_id: int,
    name: str,
    value: float,
    threshold: float | None,
    passed: bool | None,
    *,
    source: str,
    recorded_at: datetime,
) -> Metric:
    """Store one monitoring value of a model in the caller's transaction (name and source required)."""
    metric = Metric(
        model_id=model_id,
        name=require(name, "metric name"),
        value=float(value),
        threshold=threshold,
        passed=passed,
        source=require(source, "metric source"),
        recorded_at=recorded_at,
    )
    session.add(metric)
    session.flush()
    return metric
