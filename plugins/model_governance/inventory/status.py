"""Models (one per SageMaker package version), their governance status and what SageMaker last said.

Status changes go through ``transition``, which validates against the life cycle graph, guards against
concurrent writers with a compare-and-swap on ``Model.status_version`` and appends a hash-chained
StatusEvent.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from model_governance.exceptions import (
    ConflictError,
    NotFoundError,
    StatusConflictError,
)
from model_governance.inventory.arns import parse_model_package_arn
from model_governance.inventory.audit import (
    event_hash,
    model_chain,
)
from model_governance.inventory.base import IN_CHUNK, InventoryBase, require, status_events
from model_governance.inventory.models import (
    EventSource,
    Model,
    ModelGroup,
    StatusEvent,
    utcnow,
)
from model_governance.lifecycle import GovernanceStatus, check_transition, parse_status, to_sagemaker


@dataclass(frozen=True)
class Onboarding:
    """One model version for ``ModelsAndStatus.onboard_models``: ``upsert_model``'s arguments, and the
    implementation run chosen for it (``assign_mlc_run``'s), if any."""

    package_arn: str
    status: GovernanceStatus | str
    actor: str
    reason: str
    source: EventSource = EventSource.SAGEMAKER
    approval_status: str | None = None
    sagemaker_last_modified: datetime | None = None
    mlc_run_id: str | None = None


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[start : start + IN_CHUNK] for start in range(0, len(items), IN_CHUNK)]


class ModelsAndStatus(InventoryBase):
    """Models, status transitions, status history and SageMaker state."""

    def upsert_model(
        self,
        *,
        package_arn: str,
        status: GovernanceStatus | str,
        actor: str,
        reason: str,
        source: EventSource = EventSource.SAGEMAKER,
        approval_status: str | None = None,
        sagemaker_last_modified: datetime | None = None,
    ) -> tuple[Model, bool]:
        """Onboard a model version (first status from its lifecycle) or return the existing one.

        Returns ``(model, created)``. The group must already be linked to a use case. An existing model's
        status is not touched here: status changes go through ``transition``.
        """
        parts = parse_model_package_arn(package_arn)
        first = parse_status(status)
        with self._transaction() as session:
            model = session.scalar(select(Model).where(Model.package_arn == package_arn))
            if model is not None:
                return model, False
            group = self._group_by_arn(session, parts.group_arn)
            if group is None:
                raise NotFoundError(
                    f"Model package {package_arn!r} belongs to group {parts.group_name!r}, "
                    "which is not linked "
                    "to any use case; register the use case first."
                )
            stage = to_sagemaker(first)
            now = utcnow()
            model = Model(
                model_group_id=group.id,
                package_arn=package_arn,
                version=parts.version,
                status=first.value,
                status_version=1,
                sagemaker_stage=stage.stage,
                sagemaker_stage_status=stage.stage_status,
                approval_status=approval_status,
                sagemaker_last_modified=sagemaker_last_modified,
            )
            session.add(model)
            try:
                session.flush()
            except IntegrityError:
                raise ConflictError(
                    f"Model {package_arn!r} was onboarded by another writer at the same time; read it again."
                ) from None
            first_event = StatusEvent(
                **self._event_fields(
                    model_id=model.id,
                    seq=1,
                    from_status=None,
                    to_status=first.value,
                    source=EventSource(source),
                    actor=actor,
                    reason=reason,
                    created_at=now,
                    prev_hash=None,
                )
            )
            session.add(first_event)
            session.flush()
            link = self._chain_link(session, model_chain(model.id), "status_event", "status", first_event)
        self._anchor(link)
        return model, True

    def onboard_models(self, onboardings: Sequence[Onboarding]) -> list[tuple[Model, bool]]:
        """``upsert_model`` (then ``assign_mlc_run``) for many versions in one transaction, for a sync
        onboarding a registry: the same models, first status events and audit links as one at a time, in
        a few statements instead of about ten per version.

        Returns ``(model, created)`` per onboarding, in order; a version already in the inventory (or
        named twice) is returned as it is, untouched. All or nothing: a group not linked to a use case or
        a concurrent writer fails the whole call (``NotFoundError`` / ``ConflictError``) and writes nothing,
        so the caller can go one version at a time to find whose it is.
        """
        if not onboardings:
            return []
        parsed = [
            (item, parse_model_package_arn(item.package_arn), parse_status(item.status))
            for item in onboardings
        ]
        arns = list(dict.fromkeys(item.package_arn for item in onboardings))
        group_arns = list({parts.group_arn.lower() for _, parts, _ in parsed})
        with self._transaction() as session:
            existing: dict[str, Model] = {}
            for chunk in _chunks(arns):
                existing.update(
                    (model.package_arn, model)
                    for model in session.scalars(select(Model).where(Model.package_arn.in_(chunk)))
                )
            groups = {
                group.arn.lower(): group
                for group in session.scalars(
                    select(ModelGroup).where(func.lower(ModelGroup.arn).in_(group_arns))
                )
            }
            new: dict[str, tuple[Onboarding, GovernanceStatus, dict[str, Any]]] = {}
            for item, parts, first in parsed:
                if item.package_arn in existing or item.package_arn in new:
                    continue
                group = groups.get(parts.group_arn.lower())
                if group is None:
                    raise NotFoundError(
                        f"Model package {item.package_arn!r} belongs to group {parts.group_name!r}, "
                        "which is not linked "
                        "to any use case; register the use case first."
                    )
                stage = to_sagemaker(first)
                now = utcnow()
                row = {
                    "model_group_id": group.id,
                    "package_arn": item.package_arn,
                    "version": parts.version,
                    "status": first.value,
                    "status_version": 1,
                    "sagemaker_stage": stage.stage,
                    "sagemaker_stage_status": stage.stage_status,
                    "approval_status": item.approval_status,
                    "sagemaker_last_modified": item.sagemaker_last_modified,
                    "mlc_run_id": require(item.mlc_run_id, "implementation run id")
                    if item.mlc_run_id
                    else None,
                    "created_at": now,
                    "updated_at": now,
                }
                new[item.package_arn] = (item, first, row)
            models: dict[str, Model] = {}
            if new:
                # Plain multi-row INSERTs (executemany), then the rows read back: the ORM's unit of work
                # would insert them one by one to learn each new id.
                try:
                    session.execute(insert(Model), [row for _, _, row in new.values()])
                except IntegrityError:
                    raise ConflictError(
                        "Models of this batch were onboarded by another writer at the same time; read "
                        "them again."
                    ) from None
                for chunk in _chunks(list(new)):
                    models.update(
                        (model.package_arn, model)
                        for model in session.scalars(select(Model).where(Model.package_arn.in_(chunk)))
                    )
                events = [
                    self._event_fields(
                        model_id=models[arn].id,
                        seq=1,
                        from_status=None,
                        to_status=first.value,
                        source=EventSource(item.source),
                        actor=item.actor,
                        reason=item.reason,
                        created_at=utcnow(),
                        prev_hash=None,
                    )
                    for arn, (item, first, _) in new.items()
                ]
                session.execute(insert(StatusEvent), events)
                firsts: dict[int, StatusEvent] = {}
                for chunk in _chunks([models[arn].id for arn in new]):
                    firsts.update(
                        (event.model_id, event)
                        for event in session.scalars(
                            select(StatusEvent).where(StatusEvent.model_id.in_(chunk), StatusEvent.seq == 1)
                        )
                    )
                facts = [
                    (model_chain(models[arn].id), "status_event", "status", firsts[models[arn].id])
                    for arn in new
                ]
                links = self._chain_links(session, facts)
            else:
                links = []
        for link in links:
            self._anchor(link)
        results = []
        for item in onboardings:
            if item.package_arn in models:
                results.append((models.pop(item.package_arn), True))
            else:
                model = existing.get(item.package_arn)
                if model is None:  # named twice: created just now, under its first mention
                    model = next(m for m, created in results if m.package_arn == item.package_arn)
                results.append((model, False))
        return results

    def lowest_versions_in(
        self, status: GovernanceStatus | str, group_ids: Collection[int]
    ) -> dict[int, int]:
        """Per model group among ``group_ids``, its lowest version in ``status`` (groups with none are left
        out): one query for a batch, e.g. which onboarded versions may be a model change's challenger."""
        ids = sorted(set(group_ids))
        found: dict[int, int] = {}
        with self._transaction() as session:
            for start in range(0, len(ids), IN_CHUNK):
                query = (
                    select(Model.model_group_id, func.min(Model.version))
                    .where(Model.status == parse_status(status).value)
                    .where(Model.model_group_id.in_(ids[start : start + IN_CHUNK]))
                    .group_by(Model.model_group_id)
                )
                found.update((group_id, version) for group_id, version in session.execute(query))
        return found

    def get_model(self, model: int | str) -> Model:
        """A model by id or package ARN."""
        with self._transaction() as session:
            return self._model(session, model)

    def list_models(
        self, *, status: GovernanceStatus | str | None = None, limit: int = 100, after_id: int = 0
    ) -> Sequence[Model]:
        """Models ordered by id, paged by ``after_id`` (keyset paging stays fast with many models)."""
        query = select(Model).where(Model.id > after_id).order_by(Model.id).limit(limit)
        if status is not None:
            query = query.where(Model.status == parse_status(status).value)
        with self._transaction() as session:
            return session.scalars(query).all()

    @staticmethod
    def _event_fields(
        *,
        model_id: int,
        seq: int,
        from_status: str | None,
        to_status: str,
        source: EventSource,
        actor: str,
        reason: str,
        created_at: datetime,
        prev_hash: str | None,
    ) -> dict[str, Any]:
        """A StatusEvent's columns, its hash included (``StatusEvent(**fields)`` for the ORM, or rows for a
        multi-row INSERT)."""
        fields: dict[str, Any] = {
            "model_id": model_id,
            "seq": seq,
            "from_status": from_status,
            "to_status": to_status,
            "source": source.value,
            "actor": require(actor, "actor of a status change"),
            "reason": reason or "",
            "created_at": created_at,
            "prev_hash": prev_hash,
        }
        return {**fields, "hash": event_hash(**fields)}

    def transition(
        self,
        model: int | str | Model,
        to: GovernanceStatus | str,
        *,
        source: EventSource | str,
        actor: str,
        reason: str,
        expected_from: GovernanceStatus | str | None = None,
        noop_if_current: bool = True,
    ) -> StatusEvent:
        """Move a model to status ``to`` and append the StatusEvent that records it.

        - ``expected_from``: the status the caller based its decision on; if the model has moved on since,
          ``StatusConflictError`` is raised and nothing is written.
        - A model already in ``to`` is left alone and its latest event returned (a retried task is a no-op),
          unless ``noop_if_current`` is False.
        - Two writers racing on one model: the compare-and-swap on ``status_version`` lets exactly one win;
          the other gets ``StatusConflictError``.
        """
        target = parse_status(to)
        origin = EventSource(source)
        expected = parse_status(expected_from) if expected_from is not None else None
        with self._transaction() as session:
            current = self._model(session, model)
            version, status = current.status_version, current.status
            if expected is not None and status != expected.value:
                raise StatusConflictError(
                    f"Model {current.package_arn!r} is in {status!r}, not {expected.value!r} as expected; "
                    "it changed meanwhile. Re-read it and decide again."
                )
            last = session.scalar(
                select(StatusEvent).where(StatusEvent.model_id == current.id, StatusEvent.seq == version)
            )
            if status == target.value and noop_if_current and last is not None:
                noop: StatusEvent | None = last
            else:
                noop = None
                check_transition(status, target)
                event = StatusEvent(
                    **self._event_fields(
                        model_id=current.id,
                        seq=version + 1,
                        from_status=status,
                        to_status=target.value,
                        source=origin,
                        actor=actor,
                        reason=reason,
                        created_at=utcnow(),
                        prev_hash=last.hash if last is not None else None,
                    )
                )
                lifecycle = to_sagemaker(target)
                swapped = session.execute(
                    update(Model)
                    .where(Model.id == current.id, Model.status_version == version)
                    .values(
                        status=target.value,
                        status_version=version + 1,
                        sagemaker_stage=lifecycle.stage,
                        sagemaker_stage_status=lifecycle.stage_status,
                        updated_at=utcnow(),
                    )
                    .execution_options(synchronize_session=False)
                )
                if swapped.rowcount != 1:  # type: ignore[attr-defined]
                    raise StatusConflictError(
                        f"Model {current.package_arn!r} changed status while moving it to {target.value!r}; "
                        "another writer won. Re-read it and decide again."
                    )
                session.add(event)
                try:
                    session.flush()
                except IntegrityError:
                    raise StatusConflictError(
                        f"Model {current.package_arn!r} got a concurrent status change; re-read it."
                    ) from None
                link = self._chain_link(session, model_chain(current.id), "status_event", "status", event)
        if noop is not None:
            # A retried task: anchor the head again in case the first attempt died before anchoring it.
            self._anchor(self.chain_head(model_chain(noop.model_id)))
            return noop
        self._anchor(link)
        return event

    def record_sagemaker_state(
        self,
        model: int | str | Model,
        *,
        approval_status: str | None,
        last_modified: datetime | None,
    ) -> Model:
        """Remember what SageMaker last said about the package (for ordering events and drift checks)."""
        with self._transaction() as session:
            current = self._model(session, model)
            if approval_status is not None:
                current.approval_status = approval_status
            if last_modified is not None:
                current.sagemaker_last_modified = last_modified
            return current

    def record_sagemaker_states(self, states: Mapping[int, tuple[str | None, datetime]]) -> None:
        """``record_sagemaker_state`` for many models in one transaction: id -> (approval, last modified)."""
        rows = [
            {"id": model_id, "approval_status": approval, "sagemaker_last_modified": last_modified}
            for model_id, (approval, last_modified) in states.items()
        ]
        with self._transaction() as session:
            session.execute(update(Model), rows)

    def status_history(self, model: int | str | Model) -> Sequence[StatusEvent]:
        with self._transaction() as session:
            current = self._model(session, model)
            return status_events(session, current.id)
