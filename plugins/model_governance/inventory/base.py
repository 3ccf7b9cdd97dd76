"""What every part of the inventory repository shares: the engine and its transactions, lookups that
raise ``NotFoundError`` naming the record, and appending facts to the keyed audit chain (audit.py).

The parts (use_cases.py, status.py, approvals.py, evidence.py, verification.py, sync_state.py) are mixins
over ``InventoryBase``; repository.py composes them into the one ``Inventory``.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Sequence
from contextlib import contextmanager
from typing import Any, Self, TypeVar

from sqlalchemy import Engine, Select, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from model_governance.exceptions import ExternalServiceError, InvalidInputError, NotFoundError
from model_governance.inventory.audit import (
    Anchor,
    AnchorStore,
    AuditKeyring,
    canonical,
    link_message,
    model_chain,
    row_fields,
    use_case_chain,
)
from model_governance.inventory.db import check_schema, migrate, shared_engine
from model_governance.inventory.models import (
    Approval,
    AuditLink,
    BusinessEntity,
    Model,
    ModelGroup,
    StatusEvent,
    UseCase,
    utcnow,
)

_log = logging.getLogger(__name__)

#: Bound on the ids in one ``IN (...)`` (SQLite allows 32,766 parameters; PostgreSQL plans stay small).
IN_CHUNK = 500

_Query = TypeVar("_Query", bound=Select)  # a select of any row shape
_Row = TypeVar("_Row")


def in_registry(query: _Query, business_entity: str) -> _Query:
    """``query`` over models, narrowed to those of one business entity's registry."""
    return (
        query.join(ModelGroup, Model.model_group_id == ModelGroup.id)
        .join(BusinessEntity, ModelGroup.business_entity_id == BusinessEntity.id)
        .where(BusinessEntity.name == business_entity)
    )


def require(value: str | None, what: str) -> str:
    if value is None or not str(value).strip():
        raise InvalidInputError(f"{what} must not be empty.")
    return str(value).strip()


def status_events(session: Session, model_id: int) -> list[StatusEvent]:
    """A model's status events, oldest first (its status history and the start of its audit record)."""
    return list(
        session.scalars(select(StatusEvent).where(StatusEvent.model_id == model_id).order_by(StatusEvent.seq))
    )


def chain_links(session: Session, chain: str) -> list[AuditLink]:
    return list(session.scalars(select(AuditLink).where(AuditLink.chain == chain).order_by(AuditLink.seq)))


class InventoryBase:
    """The engine, transactions and shared lookups of the inventory's repository."""

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
        upgrade_schema: bool = False,
        audit_keyring: AuditKeyring | None = None,
        anchors: AnchorStore | None = None,
    ) -> Self:
        """Open the inventory at ``url`` on the process's engine for it (db.shared_engine).

        The schema must be at this package's revision (``model-governance db upgrade`` brings it there):
        a database behind it, or empty, is a ConfigurationError naming the command. ``upgrade_schema``
        migrates it instead, for tests and tools that own a fresh database.
        """
        engine = shared_engine(url)
        if upgrade_schema:
            migrate(engine, audit_keyring=audit_keyring)
        check_schema(engine)
        return cls(engine, audit_keyring=audit_keyring, anchors=anchors)

    @property
    def audit_keyring(self) -> AuditKeyring:
        """The audit keyring, or ConfigurationError saying where to set the key."""
        if self._audit_keyring is None:
            self._audit_keyring = AuditKeyring.from_env()
        return self._audit_keyring

    @contextmanager
    def _transaction(self) -> Generator[Session, None, None]:
        with self._sessions.begin() as session:
            yield session

    # -- lookups ---------------------------------------------------------------------------------------

    @staticmethod
    def _get(session: Session, kind: type[_Row], row_id: int, what: str) -> _Row:
        found = session.get(kind, row_id)
        if found is None:
            raise NotFoundError(f"{what} id {row_id} is not in the inventory.")
        return found

    def _entity(self, session: Session, name: str) -> BusinessEntity:
        entity = session.scalar(select(BusinessEntity).where(BusinessEntity.name == name))
        if entity is None:
            raise NotFoundError(
                f"Business entity {name!r} is not in the inventory; configure it, then run "
                "ensure_business_entity."
            )
        return entity

    @staticmethod
    def _group_by_arn(session: Session, arn: str) -> ModelGroup | None:
        return session.scalar(select(ModelGroup).where(func.lower(ModelGroup.arn) == arn.lower()))

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

    def _model_id(self, model: int | str | Model) -> int:
        if isinstance(model, Model):
            return model.id
        if isinstance(model, int):
            return model
        with self._transaction() as session:
            return self._model(session, model).id

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
        link = self._new_link(keyring, chain, seq, prev_mac, kind, action, row)
        session.add(link)
        session.flush()
        return link

    def _chain_links(self, session: Session, facts: Sequence[tuple[str, str, str, Any]]) -> list[AuditLink]:
        """``_chain_link`` for many ``(chain, kind, action, row)`` facts (rows flushed), in order, in the
        caller's transaction: the owner rows locked and the chains' heads read in a few statements, the
        links (the same fields and MACs as one at a time) inserted together."""
        keyring = self.audit_keyring
        owners: dict[str, set[int]] = {}
        for chain, *_ in facts:
            owner, owner_id = chain.split("/")
            owners.setdefault(owner, set()).add(int(owner_id))
        for owner, ids in owners.items():
            column = Model.id if owner == "model" else UseCase.id
            ordered = sorted(ids)  # one lock order for every writer
            for start in range(0, len(ordered), IN_CHUNK):
                session.execute(
                    select(column).where(column.in_(ordered[start : start + IN_CHUNK])).with_for_update()
                )
        chains = list(dict.fromkeys(chain for chain, *_ in facts))
        heads: dict[str, tuple[int, str | None]] = {}
        for start in range(0, len(chains), IN_CHUNK):
            latest = (
                select(AuditLink.chain, func.max(AuditLink.seq).label("seq"))
                .where(AuditLink.chain.in_(chains[start : start + IN_CHUNK]))
                .group_by(AuditLink.chain)
                .subquery()
            )
            for head in session.scalars(
                select(AuditLink).join(
                    latest, (AuditLink.chain == latest.c.chain) & (AuditLink.seq == latest.c.seq)
                )
            ):
                heads[head.chain] = (head.seq, head.mac)
        links = []
        for chain, kind, action, row in facts:
            seq, prev_mac = heads.get(chain, (0, None))
            link = self._new_link(keyring, chain, seq + 1, prev_mac, kind, action, row)
            heads[chain] = (seq + 1, link.mac)
            links.append(link)
        # One multi-row INSERT (the links' ids are not needed); the links returned are not in the session.
        columns = [column.key for column in AuditLink.__table__.columns if column.key != "id"]
        session.execute(insert(AuditLink), [{key: getattr(link, key) for key in columns} for link in links])
        return links

    @staticmethod
    def _new_link(
        keyring: AuditKeyring, chain: str, seq: int, prev_mac: str | None, kind: str, action: str, row: Any
    ) -> AuditLink:
        # The link's fields are what its MAC covers (inventory/audit.py link_message).
        fields: dict[str, Any] = {
            "chain": chain,
            "seq": seq,
            "kind": kind,
            "record_id": int(row.id),
            "action": action,
            "created_at": utcnow(),
            "key_id": keyring.current_id,
            "prev_mac": prev_mac,
            "record": canonical(row_fields(row)),
        }
        return AuditLink(**fields, mac=keyring.mac(keyring.current_id, link_message(**fields)))

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

    @staticmethod
    def _head(session: Session, chain: str) -> AuditLink | None:
        return session.scalar(
            select(AuditLink).where(AuditLink.chain == chain).order_by(AuditLink.seq.desc()).limit(1)
        )

    def chain_head(self, chain: str) -> AuditLink | None:
        with self._transaction() as session:
            return self._head(session, chain)

    def audit_links(self, chain: str) -> Sequence[AuditLink]:
        with self._transaction() as session:
            return chain_links(session, chain)
