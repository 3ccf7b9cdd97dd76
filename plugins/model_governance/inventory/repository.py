"""Repository functions over the governance inventory: what the DAGs need, no raw sessions.

Every write is one transaction. Writes that a retried task may repeat (recording an approval, a snapshot,
a document, a risk test run) are keyed and return the existing record when called again. Status changes
go through ``transition``, which validates against the life cycle graph, guards against concurrent
writers with a compare-and-swap on ``Model.status_version`` and appends a hash-chained StatusEvent.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Generator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Engine, Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from model_governance.config import RiskLevel
from model_governance.exceptions import (
    ConflictError,
    DuplicateUseCaseError,
    ExternalServiceError,
    InvalidArnError,
    InvalidInputError,
    NotFoundError,
    StatusConflictError,
)
from model_governance.inventory.audit import (
    Anchor,
    AnchorStore,
    AuditKeyring,
    AuditTrailReport,
    CurrentRecord,
    canonical,
    event_hash,
    link_message,
    model_chain,
    row_fields,
    use_case_chain,
    verify_chain,
    verify_links,
)
from model_governance.inventory.db import make_engine, migrate
from model_governance.inventory.models import (
    Approval,
    ApprovalState,
    AuditLink,
    BusinessEntity,
    Document,
    EventSource,
    Metric,
    Model,
    ModelGroup,
    RiskTestRun,
    RiskTestRunState,
    Snapshot,
    StatusEvent,
    SyncFailure,
    SyncIssue,
    SyncIssueKind,
    SyncWatermark,
    UseCase,
    UseCaseStatus,
    utcnow,
)
from model_governance.lifecycle import GovernanceStatus, check_transition, parse_status, to_sagemaker

_log = logging.getLogger(__name__)
_PARTITION = r"arn:aws(?:-[a-z]+)*"
_NAME = r"[a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62}"
MODEL_PACKAGE_ARN = re.compile(
    rf"^(?P<prefix>{_PARTITION}:sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{{12}})):"
    rf"model-package/(?P<group>{_NAME})/(?P<version>[1-9]\d*)$"
)
MODEL_PACKAGE_GROUP_ARN = re.compile(
    rf"^{_PARTITION}:sagemaker:[a-z0-9-]+:\d{{12}}:model-package-group/(?P<group>{_NAME})$"
)


@dataclass(frozen=True)
class PackageArn:
    """The parts of a versioned model package ARN."""

    arn: str
    region: str
    account_id: str
    group_name: str
    version: int
    group_arn: str


def parse_model_package_arn(arn: str) -> PackageArn:
    """Split a versioned model package ARN, or raise ``InvalidArnError`` naming it and the expected shape."""
    match = MODEL_PACKAGE_ARN.match(arn or "")
    if not match:
        raise InvalidArnError(
            f"{arn!r} is not a versioned SageMaker model package ARN; expected "
            "arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/VERSION"
        )
    return PackageArn(
        arn=arn,
        region=match["region"],
        account_id=match["account"],
        group_name=match["group"],
        version=int(match["version"]),
        group_arn=f"{match['prefix']}:model-package-group/{match['group']}",
    )


def _check_group_arn(arn: str) -> None:
    if not MODEL_PACKAGE_GROUP_ARN.match(arn or ""):
        raise InvalidArnError(
            f"{arn!r} is not a SageMaker model package group ARN; expected "
            "arn:aws:sagemaker:REGION:ACCOUNT:model-package-group/NAME"
        )


_Query = TypeVar("_Query", bound=Select)  # a select of any row shape


def _in_registry(query: _Query, business_entity: str) -> _Query:
    """``query`` over models, narrowed to those of one business entity's registry."""
    return (
        query.join(ModelGroup, Model.model_group_id == ModelGroup.id)
        .join(BusinessEntity, ModelGroup.business_entity_id == BusinessEntity.id)
        .where(BusinessEntity.name == business_entity)
    )


def _require(value: str | None, what: str) -> str:
    if value is None or not str(value).strip():
        raise InvalidInputError(f"{what} must not be empty.")
    return str(value).strip()


class Inventory:
    """The governance inventory's repository. One per task; cheap to create from an engine."""

    def __init__(
        self,
        engine: Engine,
        *,
        audit_keyring: AuditKeyring | None = None,
        anchors: AnchorStore | None = None,
    ) -> None:
        """``audit_keyring`` signs the audit chain (read from MODEL_GOVERNANCE_AUDIT_KEYS on first use
        when not given); ``anchors`` is where chain heads are anchored outside the database (or none)."""
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._audit_keyring = audit_keyring
        self.anchors = anchors

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        upgrade_schema: bool = True,
        audit_keyring: AuditKeyring | None = None,
        anchors: AnchorStore | None = None,
    ) -> Inventory:
        """Open the inventory at ``url``, migrating its schema to the latest revision first by default."""
        engine = make_engine(url)
        if upgrade_schema:
            migrate(engine, audit_keyring=audit_keyring)
        return cls(engine, audit_keyring=audit_keyring, anchors=anchors)

    @property
    def audit_keyring(self) -> AuditKeyring:
        """The audit keyring, or ConfigurationError saying where to set the key."""
        if self._audit_keyring is None:
            self._audit_keyring = AuditKeyring.from_env()
        return self._audit_keyring

    # -- the keyed audit chain (inventory/audit.py) ------------------------------------------------------

    def _chain_link(self, session: Session, chain: str, kind: str, action: str, row: Any) -> AuditLink:
        """Append ``row`` (flushed) to ``chain`` in the caller's transaction: the fact and its link commit
        together or not at all."""
        keyring = self.audit_keyring
        owner, owner_id = chain.split("/")
        # Serialise appenders on the chain's owner row (PostgreSQL; SQLite serialises writers itself).
        session.execute(
            select((Model if owner == "model" else UseCase).id)
            .where((Model.id if owner == "model" else UseCase.id) == int(owner_id))
            .with_for_update()
        )
        head = self._head(session, chain)
        seq, prev_mac = (head.seq + 1, head.mac) if head is not None else (1, None)
        record = canonical(row_fields(row))
        created_at = utcnow()
        link = AuditLink(
            chain=chain,
            seq=seq,
            kind=kind,
            record_id=int(row.id),
            action=action,
            record=record,
            prev_mac=prev_mac,
            key_id=keyring.current_id,
            created_at=created_at,
            mac=keyring.mac(
                keyring.current_id,
                link_message(
                    chain=chain,
                    seq=seq,
                    kind=kind,
                    record_id=int(row.id),
                    action=action,
                    created_at=created_at,
                    key_id=keyring.current_id,
                    prev_mac=prev_mac,
                    record=record,
                ),
            ),
        )
        session.add(link)
        session.flush()
        return link

    @staticmethod
    def _approval_chain(approval: Approval) -> str:
        if approval.model_id is not None:
            return model_chain(approval.model_id)
        return use_case_chain(int(approval.use_case_id or 0))

    def _anchor(self, link: AuditLink | None) -> None:
        """Write the chain head outside the database (after the commit: an anchor never runs ahead)."""
        if self.anchors is None or link is None:
            return
        anchor = Anchor(link.chain, link.seq, link.mac, link.key_id, utcnow()).signed(self.audit_keyring)
        try:
            self.anchors.put(anchor)
        except ExternalServiceError as error:
            # The fact is committed and MACed; failing the caller now would only make it retry a no-op.
            # The next decision (or a retry of this one) anchors the head; verify uses the newest anchor.
            _log.warning("Chain %s head seq %s was not anchored: %s", link.chain, link.seq, error)

    def chain_head(self, chain: str) -> AuditLink | None:
        with self._transaction() as session:
            return self._head(session, chain)

    @staticmethod
    def _head(session: Session, chain: str) -> AuditLink | None:
        return session.scalar(
            select(AuditLink).where(AuditLink.chain == chain).order_by(AuditLink.seq.desc()).limit(1)
        )

    def audit_links(self, chain: str) -> Sequence[AuditLink]:
        with self._transaction() as session:
            return session.scalars(
                select(AuditLink).where(AuditLink.chain == chain).order_by(AuditLink.seq)
            ).all()

    @contextmanager
    def _transaction(self) -> Generator[Session, None, None]:
        with self._sessions.begin() as session:
            yield session

    # -- business entities and use cases ---------------------------------------------------------------

    def ensure_business_entity(
        self, *, name: str, account_id: str, region: str, aws_conn_id: str, role_arn: str | None = None
    ) -> BusinessEntity:
        """Create the business entity, or bring its registry settings up to date from configuration."""
        name = _require(name, "business entity name")
        with self._transaction() as session:
            entity = session.scalar(select(BusinessEntity).where(BusinessEntity.name == name))
            if entity is None:
                entity = BusinessEntity(name=name)
                session.add(entity)
            entity.account_id, entity.region, entity.aws_conn_id = account_id, region, aws_conn_id
            entity.role_arn = role_arn
            session.flush()
            return entity

    def _entity(self, session: Session, name: str) -> BusinessEntity:
        entity = session.scalar(select(BusinessEntity).where(BusinessEntity.name == name))
        if entity is None:
            raise NotFoundError(
                f"Business entity {name!r} is not in the inventory; configure it, then run "
                "ensure_business_entity."
            )
        return entity

    def create_use_case(
        self,
        *,
        business_entity: str,
        name: str,
        risk_level: str,
        owner: str,
        description: str = "",
        data_science_email: str | None = None,
        model_type: str = "SAGEMAKER",
        requested_by: str | None = None,
        exist_ok: bool = False,
    ) -> UseCase:
        """Record a proposed use case. Names are unique within a business entity.

        With ``exist_ok`` a use case of the same name and owner is returned instead (a retried task);
        one with another owner is still a duplicate.
        """
        name = _require(name, "use case name")
        owner = _require(owner, "use case owner")
        try:
            level = RiskLevel(risk_level)
        except ValueError:
            raise InvalidInputError(
                f"Risk level {risk_level!r} of use case {name!r} is not one of High, Medium, Low."
            ) from None
        with self._transaction() as session:
            entity = self._entity(session, business_entity)
            existing = session.scalar(
                select(UseCase).where(UseCase.business_entity_id == entity.id, UseCase.name == name)
            )
            if existing is not None:
                if exist_ok and existing.owner == owner:
                    return existing
                raise DuplicateUseCaseError(
                    f"Use case {name!r} already exists in business entity {business_entity!r} "
                    f"(id {existing.id}, owner {existing.owner}); choose another name."
                )
            use_case = UseCase(
                business_entity=entity,
                name=name,
                description=description,
                risk_level=level.value,
                owner=owner,
                data_science_email=data_science_email,
                model_type=model_type,
                requested_by=requested_by,
                status=UseCaseStatus.PROPOSED.value,
            )
            session.add(use_case)
            try:
                session.flush()
            except IntegrityError:
                raise DuplicateUseCaseError(
                    f"Use case {name!r} was just created in business entity {business_entity!r} by another "
                    "run; choose another name."
                ) from None
            return use_case

    def find_use_case(self, *, business_entity: str, name: str) -> UseCase | None:
        with self._transaction() as session:
            return session.scalar(
                select(UseCase)
                .join(BusinessEntity, UseCase.business_entity_id == BusinessEntity.id)
                .where(BusinessEntity.name == business_entity, UseCase.name == name)
            )

    def get_use_case(self, use_case_id: int) -> UseCase:
        with self._transaction() as session:
            use_case = session.get(UseCase, use_case_id)
            if use_case is None:
                raise NotFoundError(f"Use case id {use_case_id} is not in the inventory.")
            return use_case

    def set_use_case_status(self, use_case_id: int, status: UseCaseStatus | str) -> UseCase:
        target = UseCaseStatus(status)
        with self._transaction() as session:
            use_case = session.get(UseCase, use_case_id)
            if use_case is None:
                raise NotFoundError(f"Use case id {use_case_id} is not in the inventory.")
            if use_case.status != UseCaseStatus.PROPOSED.value and use_case.status != target.value:
                raise ConflictError(
                    f"Use case {use_case.name!r} was already decided ({use_case.status}); "
                    f"it cannot become {target.value}."
                )
            use_case.status = target.value
            return use_case

    # -- model groups and models -----------------------------------------------------------------------

    def link_model_group(self, *, use_case_id: int, name: str, arn: str) -> ModelGroup:
        """Record the SageMaker model package group of a use case (idempotent for the same use case)."""
        _check_group_arn(arn)
        with self._transaction() as session:
            use_case = session.get(UseCase, use_case_id)
            if use_case is None:
                raise NotFoundError(f"Use case id {use_case_id} is not in the inventory.")
            group = session.scalar(select(ModelGroup).where(func.lower(ModelGroup.arn) == arn.lower()))
            if group is not None:
                if group.use_case_id != use_case_id:
                    raise ConflictError(
                        f"Model package group {name!r} is already linked to use case id {group.use_case_id}."
                    )
                return group
            group = ModelGroup(
                use_case_id=use_case_id, business_entity_id=use_case.business_entity_id, name=name, arn=arn
            )
            session.add(group)
            session.flush()
            return group

    def use_case_of_group(self, model_group_id: int) -> int:
        with self._transaction() as session:
            group = session.get(ModelGroup, model_group_id)
            if group is None:
                raise NotFoundError(f"Model group id {model_group_id} is not in the inventory.")
            return group.use_case_id

    def model_group_of_use_case(self, use_case_id: int) -> ModelGroup | None:
        with self._transaction() as session:
            return session.scalar(select(ModelGroup).where(ModelGroup.use_case_id == use_case_id))

    def business_entity_of_model(self, model: int | str | Model) -> BusinessEntity:
        """The registry (business entity) a model's package lives in."""
        with self._transaction() as session:
            group_id = self._model(session, model).model_group_id
        return self.business_entity_of_group(group_id)

    def business_entity_of_group(self, model_group_id: int) -> BusinessEntity:
        with self._transaction() as session:
            group = session.get(ModelGroup, model_group_id)
            entity = session.get(BusinessEntity, group.business_entity_id) if group is not None else None
            if entity is None:
                raise NotFoundError(
                    f"Model group id {model_group_id} has no business entity in the inventory."
                )
            return entity

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

    def get_snapshot(self, snapshot_id: int) -> Snapshot:
        with self._transaction() as session:
            snapshot = session.get(Snapshot, snapshot_id)
            if snapshot is None:
                raise NotFoundError(f"Snapshot id {snapshot_id} is not in the inventory.")
            return snapshot

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

    def find_model_group(self, arn: str) -> ModelGroup | None:
        with self._transaction() as session:
            return session.scalar(select(ModelGroup).where(func.lower(ModelGroup.arn) == arn.lower()))

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
            group = session.scalar(
                select(ModelGroup).where(func.lower(ModelGroup.arn) == parts.group_arn.lower())
            )
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
            first_event = self._event(
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
            session.add(first_event)
            session.flush()
            link = self._chain_link(session, model_chain(model.id), "status_event", "status", first_event)
        self._anchor(link)
        return model, True

    def get_model(self, model: int | str) -> Model:
        """A model by id or package ARN."""
        with self._transaction() as session:
            return self._model(session, model)

    def _model(self, session: Session, model: int | str | Model) -> Model:
        if isinstance(model, Model):
            model = model.id
        found = (
            session.get(Model, model, populate_existing=True)
            if isinstance(model, int)
            else session.scalar(select(Model).where(Model.package_arn == model))
        )
        if found is None:
            raise NotFoundError(f"Model {model!r} is not in the inventory.")
        return found

    def list_models(
        self, *, status: GovernanceStatus | str | None = None, limit: int = 100, after_id: int = 0
    ) -> Sequence[Model]:
        """Models ordered by id, paged by ``after_id`` (keyset paging stays fast with many models)."""
        query = select(Model).where(Model.id > after_id).order_by(Model.id).limit(limit)
        if status is not None:
            query = query.where(Model.status == parse_status(status).value)
        with self._transaction() as session:
            return session.scalars(query).all()

    # -- status changes and the audit trail --------------------------------------------------------------

    @staticmethod
    def _event(
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
    ) -> StatusEvent:
        fields: dict[str, Any] = {
            "model_id": model_id,
            "seq": seq,
            "from_status": from_status,
            "to_status": to_status,
            "source": source.value,
            "actor": _require(actor, "actor of a status change"),
            "reason": reason or "",
            "created_at": created_at,
            "prev_hash": prev_hash,
        }
        return StatusEvent(**fields, hash=event_hash(**fields))

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
                event = self._event(
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
            return session.scalars(
                select(StatusEvent).where(StatusEvent.model_id == current.id).order_by(StatusEvent.seq)
            ).all()

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
            events = list(
                session.scalars(
                    select(StatusEvent).where(StatusEvent.model_id == current.id).order_by(StatusEvent.seq)
                )
            )
            legacy = verify_chain(current.id, events, current.status, current.status_version)
            links = list(
                session.scalars(
                    select(AuditLink).where(AuditLink.chain == chain_name).order_by(AuditLink.seq)
                )
            )
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
            links = list(
                session.scalars(
                    select(AuditLink).where(AuditLink.chain == chain_name).order_by(AuditLink.seq)
                )
            )
            approvals = session.scalars(
                select(Approval).where(Approval.use_case_id == use_case_id, Approval.model_id.is_(None))
            )
            rows = [
                CurrentRecord("approval", a.id, row_fields(a), f"approval id {a.id} ({a.kind} {a.jira_key})")
                for a in approvals
            ]
            return verify_links(
                chain=chain_name, links=links, keyring=self.audit_keyring, current=rows, anchor=anchor
            )

    def chained_records(self, model: int | str | Model) -> dict[str, list[dict[str, Any]]]:
        """The model's rows that belong in its audit chain, by record kind, as chained (``row_fields``)."""
        with self._transaction() as session:
            current = self._model(session, model)
            events = list(
                session.scalars(
                    select(StatusEvent).where(StatusEvent.model_id == current.id).order_by(StatusEvent.seq)
                )
            )
            found: dict[str, list[dict[str, Any]]] = {}
            for row in self._chained_rows(session, current.id, events):
                found.setdefault(row.kind, []).append(row.fields)
            return found

    def _model_id(self, model: int | str | Model) -> int:
        if isinstance(model, Model):
            return model.id
        if isinstance(model, int):
            return model
        with self._transaction() as session:
            return self._model(session, model).id

    @staticmethod
    def _chained_rows(session: Session, model_id: int, events: Sequence[StatusEvent]) -> list[CurrentRecord]:
        """Every row of the model that belongs in its chain, as the database holds it now."""
        rows = [
            CurrentRecord("status_event", e.id, row_fields(e), f"status event seq {e.seq}") for e in events
        ]
        for approval in session.scalars(select(Approval).where(Approval.model_id == model_id)):
            label = f"approval id {approval.id} ({approval.kind} {approval.jira_key})"
            rows.append(CurrentRecord("approval", approval.id, row_fields(approval), label))
        for snapshot in session.scalars(select(Snapshot).where(Snapshot.model_id == model_id)):
            label = f"snapshot id {snapshot.id}"
            rows.append(CurrentRecord("snapshot", snapshot.id, row_fields(snapshot), label))
        for run in session.scalars(select(RiskTestRun).where(RiskTestRun.model_id == model_id)):
            label = f"risk test run id {run.id}"
            rows.append(CurrentRecord("risk_test_run", run.id, row_fields(run), label))
        for doc in session.scalars(select(Document).where(Document.model_id == model_id)):
            label = f"document id {doc.id} ({doc.kind})"
            rows.append(CurrentRecord("document", doc.id, row_fields(doc), label))
        return rows

    # -- approvals -------------------------------------------------------------------------------------

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
        jira_key = _require(jira_key, "Jira key")
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
            approval = session.scalar(select(Approval).where(Approval.jira_key == jira_key))
            if approval is None:
                raise NotFoundError(f"No approval is recorded for Jira ticket {jira_key!r}.")
            if approval.state != ApprovalState.OPEN.value:
                if approval.state == state.value and approval.decided_by == decided_by:
                    # A retried task: anchor the head again in case the first attempt died before it.
                    self._anchor(self._head(session, self._approval_chain(approval)))
                    return approval
                raise ConflictError(
                    f"Approval {jira_key!r} was already decided: {approval.state} by {approval.decided_by}."
                )
            approval.state = state.value
            approval.decided_by = _require(decided_by, "decided_by")
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
            approval = session.scalar(select(Approval).where(Approval.jira_key == jira_key))
            if approval is None:
                raise NotFoundError(f"No approval is recorded for Jira ticket {jira_key!r}.")
            if approval.state != ApprovalState.OPEN.value:
                return
            approval.excluded = [dict(item) for item in excluded]
            session.flush()
            self._chain_link(session, self._approval_chain(approval), "approval", "excluded", approval)

    def record_approval_refusal(self, jira_key: str, refusal: Mapping[str, Any]) -> bool:
        """Append a refused move (``at``, ``by``, ``account``, ``status``, ``reason``) once per mover and
        time; False when it was recorded already (a retried task refuses the same move again)."""
        with self._transaction() as session:
            approval = session.scalar(select(Approval).where(Approval.jira_key == jira_key))
            if approval is None:
                raise NotFoundError(f"No approval is recorded for Jira ticket {jira_key!r}.")
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

    # -- snapshots, risk tests, documents, metrics -----------------------------------------------------

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

    def mark_snapshot_deployed(self, snapshot_id: int, *, at: datetime | None = None) -> Snapshot:
        with self._transaction() as session:
            snapshot = session.get(Snapshot, snapshot_id)
            if snapshot is None:
                raise NotFoundError(f"Snapshot id {snapshot_id} is not in the inventory.")
            if snapshot.deployed_at is None:
                snapshot.deployed_at = at or utcnow()
                session.flush()
                self._chain_link(session, model_chain(snapshot.model_id), "snapshot", "deployed", snapshot)
            return snapshot

    def start_risk_test_run(
        self, model: int | str | Model, *, run_key: str, snapshot_id: int | None = None
    ) -> RiskTestRun:
        """Record a risk test run as started (idempotent by ``run_key``, e.g. dag_id/run_id/task_id)."""
        run_key = _require(run_key, "risk test run key")
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
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidInputError(f"Metric {name!r} value {value!r} is not a finite number.")
        with self._transaction() as session:
            current = self._model(session, model)
            metric = Metric(
                model_id=current.id,
                name=_require(name, "metric name"),
                value=float(value),
                threshold=threshold,
                passed=passed,
                source=_require(source, "metric source"),
                recorded_at=recorded_at,
            )
            session.add(metric)
            session.flush()
            return metric

    # -- lifecycle sync: watermarks and issues ----------------------------------------------------------

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
        key = _require(dedup_key, "sync issue key")[:512]
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
        query = _in_registry(select(Model), business_entity).order_by(Model.id)
        if exclude:
            query = query.where(Model.status.not_in([s.value for s in exclude]))
        with self._transaction() as session:
            return session.scalars(query).all()

    def assign_mlc_run(self, model: int | str | Model, run_id: str) -> Model:
        """Choose the model's implementation run id, once: an id already chosen stands."""
        with self._transaction() as session:
            current = self._model(session, model)
            if current.mlc_run_id is None:
                current.mlc_run_id = _require(run_id, "implementation run id")
            return current

    def claim_mlc_run(self, model: int | str | Model, run_id: str) -> Model:
        """A running implementation run says it is the model's: unless another one was already started,
        it becomes the model's run, started, so the lifecycle sync starts none."""
        with self._transaction() as session:
            current = self._model(session, model)
            if current.mlc_run_started_at is None:
                current.mlc_run_id = _require(run_id, "implementation run id")
                current.mlc_run_started_at = utcnow()
            return current

    def pending_mlc_runs(self, business_entity: str, *, limit: int = 500) -> Sequence[Model]:
        """Models whose implementation run was chosen but not yet started (oldest first)."""
        query = (
            _in_registry(select(Model), business_entity)
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
        key = _require(message_id, "queue message id")[:128]
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
        query = _in_registry(
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
