"""The audit record: a keyed chain over every governance fact, and its verification.

Two layers:

- The legacy hash chain over a model's StatusEvents (``event_hash``, ``verify_chain``): unkeyed, so it
  only shows accidental damage; kept because events still carry it and the dashboard shows it.
- The keyed chain (``mg_audit_link``): every fact compliance rests on (status events, approval requests
  and decisions, snapshots, risk test runs, documents) is appended, in the transaction that writes it, as
  a link whose MAC is HMAC-SHA256(key, previous MAC || link header || canonical record). The key is not in
  the database (an Airflow connection or an environment variable, see ``AuditKeyring`` in audit_key.py),
  so someone who can write to the database can neither forge a link nor re-chain after deleting one. The
  chain head is also anchored outside the database (``Anchor``, written to S3) so a database rolled back
  or restored from an older backup is caught against the newest anchor.

``verify_links`` checks a chain: every MAC, every status step against the life cycle graph, that each
approval-dependent step follows its verified approval, that the database's current rows are what was
chained, and that the chain reaches the newest anchor.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

from model_governance.exceptions import IllegalTransitionError, UnknownStatusError
from model_governance.inventory.audit_key import AUDIT_CONN_ID as AUDIT_CONN_ID
from model_governance.inventory.audit_key import AUDIT_KEYS_ENV as AUDIT_KEYS_ENV
from model_governance.inventory.audit_key import MIN_SECRET_BYTES as MIN_SECRET_BYTES
from model_governance.inventory.audit_key import AuditKeyring as AuditKeyring
from model_governance.inventory.audit_key import missing_key_message as missing_key_message
from model_governance.lifecycle import GovernanceStatus, check_transition


class _EventFields(Protocol):
    model_id: int
    seq: int
    from_status: str | None
    to_status: str
    source: str
    actor: str
    reason: str
    created_at: datetime
    prev_hash: str | None
    hash: str


def event_hash(
    *,
    model_id: int,
    seq: int,
    from_status: str | None,
    to_status: str,
    source: str,
    actor: str,
    reason: str,
    created_at: datetime,
    prev_hash: str | None,
) -> str:
    """SHA-256 of the event's canonical JSON form (sorted keys, UTC microsecond timestamp)."""
    payload = {
        "model_id": model_id,
        "seq": seq,
        "from_status": from_status,
        "to_status": to_status,
        "source": source,
        "actor": actor,
        "reason": reason,
        "created_at": created_at.isoformat(timespec="microseconds"),
        "prev_hash": prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def recompute(event: _EventFields) -> str:
    return event_hash(
        model_id=event.model_id,
        seq=event.seq,
        from_status=event.from_status,
        to_status=event.to_status,
        source=event.source,
        actor=event.actor,
        reason=event.reason,
        created_at=event.created_at,
        prev_hash=event.prev_hash,
    )


@dataclass(frozen=True)
class AuditTrailReport:
    """The outcome of checking one model's audit trail; ``ok`` is False when ``problems`` is not empty."""

    model_id: int
    events_checked: int
    problems: list[str] = field(default_factory=list)
    #: Keyed links checked (0 when only the legacy event chain was checked, as on the dashboard).
    links_checked: int = 0
    #: The sequence number of the newest anchor the chain was compared with, if any.
    anchor_seq: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(
    model_id: int, events: Sequence[_EventFields], current_status: str, status_version: int
) -> AuditTrailReport:
    """Check ``events`` (ordered by seq) against each other and against the model's current status."""
    problems: list[str] = []
    previous: _EventFields | None = None
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            problems.append(
                f"event seq {event.seq} found where seq {expected_seq} belongs: an event is missing"
            )
        expected_prev = previous.hash if previous is not None else None
        if event.prev_hash != expected_prev:
            problems.append(f"event seq {event.seq} does not chain to the event before it")
        if previous is not None and event.from_status != previous.to_status:
            problems.append(
                f"event seq {event.seq} starts from {event.from_status!r} but the previous event ended in "
                f"{previous.to_status!r}"
            )
        if recompute(event) != event.hash:
            problems.append(f"event seq {event.seq} was altered after it was written (hash mismatch)")
        previous = event
    if len(events) != status_version:
        problems.append(
            f"the model records {status_version} status changes but {len(events)} events remain: "
            "events were deleted"
        )
    if previous is not None and previous.to_status != current_status:
        problems.append(
            f"the model's status {current_status!r} is not the last event's status {previous.to_status!r}"
        )
    return AuditTrailReport(model_id=model_id, events_checked=len(events), problems=problems)


# -- canonical records ------------------------------------------------------------------------------------


def _normalise(value: Any) -> Any:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    return value


def record_fields(columns: Mapping[str, Any]) -> dict[str, Any]:
    """A row's columns as chained: JSON values, UTC timestamps; NULL columns are left out so that a
    nullable column added by a later migration does not change the record of rows written before it."""
    return {name: _normalise(value) for name, value in columns.items() if value is not None}


def row_fields(row: Any) -> dict[str, Any]:
    """``record_fields`` of an ORM object (its table's columns by name)."""
    return record_fields({column.name: getattr(row, column.key) for column in row.__table__.columns})


def canonical(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# -- links ------------------------------------------------------------------------------------------------

#: The kinds of record a link can carry, by table.
RECORD_KINDS: Mapping[str, str] = {
    "status_event": "mg_status_event",
    "approval": "mg_approval",
    "snapshot": "mg_snapshot",
    "risk_test_run": "mg_risk_test_run",
    "document": "mg_document",
    "governance_action": "mg_governance_action",
}

#: Status steps that only a verified approval of this kind allows (the MLC's gates, see
#: operators/model_lifecycle.py: the review approval accepts the documents, the production approval
#: marks the model approved for deployment).
APPROVAL_REQUIRED: Mapping[GovernanceStatus, str] = {
    GovernanceStatus.VALIDATION_COMPLETE: "TEST_RESULTS_REVIEW",
    GovernanceStatus.APPROVED_FOR_DEPLOYMENT: "PRODUCTION",
}


def model_chain(model_id: int) -> str:
    return f"model/{model_id}"


def use_case_chain(use_case_id: int) -> str:
    return f"use-case/{use_case_id}"


def link_message(
    *,
    chain: str,
    seq: int,
    kind: str,
    record_id: int,
    action: str,
    created_at: datetime,
    key_id: str,
    prev_mac: str | None,
    record: str,
) -> bytes:
    """What a link's MAC covers: the previous MAC, the link's header and the canonical record."""
    header = canonical(
        {
            "chain": chain,
            "seq": seq,
            "kind": kind,
            "record_id": record_id,
            "action": action,
            "created_at": _normalise(created_at),
            "key_id": key_id,
        }
    )
    return f"{prev_mac or ''}\n{header}\n{record}".encode()


class _LinkFields(Protocol):
    chain: str
    seq: int
    kind: str
    record_id: int
    action: str
    record: str
    prev_mac: str | None
    mac: str
    key_id: str
    created_at: datetime


@dataclass
class ChainLink:
    """A link read back from outside the database (an audit pack, a test): the fields ``AuditLink`` has."""

    chain: str
    seq: int
    kind: str
    record_id: int
    action: str
    record: str
    prev_mac: str | None
    mac: str
    key_id: str
    created_at: datetime


def link_mac(keyring: AuditKeyring, link: _LinkFields) -> str | None:
    """The MAC ``link`` should carry, or None when its key id is not in the keyring."""
    if not keyring.has(link.key_id):
        return None
    return keyring.mac(
        link.key_id,
        link_message(
            chain=link.chain,
            seq=link.seq,
            kind=link.kind,
            record_id=link.record_id,
            action=link.action,
            created_at=link.created_at,
            key_id=link.key_id,
            prev_mac=link.prev_mac,
            record=link.record,
        ),
    )


def describe_link(link: _LinkFields) -> str:
    return f"chain {link.chain} link seq {link.seq} ({link.kind} id {link.record_id}, {link.action})"


# -- anchors ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """A chain head written outside the database; its own MAC shows it was written by a key holder."""

    chain: str
    seq: int
    mac: str
    key_id: str
    anchored_at: datetime
    anchor_mac: str = ""

    def body(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "seq": self.seq,
            "mac": self.mac,
            "key_id": self.key_id,
            "anchored_at": _normalise(self.anchored_at),
        }

    def signed(self, keyring: AuditKeyring) -> Anchor:
        mac = keyring.mac(self.key_id, canonical(self.body()).encode("utf-8"))
        return Anchor(self.chain, self.seq, self.mac, self.key_id, self.anchored_at, mac)

    def authentic(self, keyring: AuditKeyring) -> bool:
        if not keyring.has(self.key_id):
            return False
        expected = keyring.mac(self.key_id, canonical(self.body()).encode("utf-8"))
        return hmac.compare_digest(expected, self.anchor_mac)

    def to_json(self) -> str:
        return canonical({**self.body(), "anchor_mac": self.anchor_mac})

    @classmethod
    def from_json(cls, text: str | bytes) -> Anchor:
        data = json.loads(text)
        return cls(
            chain=str(data["chain"]),
            seq=int(data["seq"]),
            mac=str(data["mac"]),
            key_id=str(data["key_id"]),
            anchored_at=datetime.fromisoformat(data["anchored_at"]),
            anchor_mac=str(data.get("anchor_mac", "")),
        )


class AnchorStore(Protocol):
    """Where chain heads are anchored, outside the database (S3 in production: services/evidence.py)."""

    def put(self, anchor: Anchor) -> None: ...

    def newest(self, chain: str) -> Anchor | None: ...


# -- verification -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CurrentRecord:
    """A row as the database holds it now, to compare with what was chained."""

    kind: str
    record_id: int
    fields: dict[str, Any]
    label: str  # how a message names it, e.g. "approval id 3 (MLC-7)"


def verify_links(
    *,
    chain: str,
    links: Sequence[_LinkFields],
    keyring: AuditKeyring,
    current: Iterable[CurrentRecord] | None = None,
    model_status: str | None = None,
    status_version: int | None = None,
    anchor: Anchor | None = None,
) -> list[str]:
    """Every problem found in ``chain``'s ``links`` (ordered by seq); an empty list means intact.

    ``current``: the rows the database holds now for this chain; each must match its latest link and
    every chained record must still be there (None: the links alone are checked, e.g. offline).
    """
    problems: list[str] = []
    previous: _LinkFields | None = None
    latest: dict[tuple[str, int], _LinkFields] = {}
    approved_kinds: set[str] = set()
    last_status: str | None = None
    held_from: str | None = None  # the status a hold (On Hold - ...) left, which its resume returns to
    status_links = 0
    for expected_seq, link in enumerate(links, start=1):
        where = describe_link(link)
        if link.chain != chain:
            problems.append(f"{where} belongs to another chain than {chain}")
        if link.seq != expected_seq:
            problems.append(f"{where} found where seq {expected_seq} belongs: links are missing")
        expected_prev = previous.mac if previous is not None else None
        if link.prev_mac != expected_prev:
            problems.append(f"{where} does not chain to the link before it (prev MAC mismatch)")
        mac = link_mac(keyring, link)
        if mac is None:
            problems.append(f"{where} is signed with key id {link.key_id!r}, which the keyring lacks")
        elif not hmac.compare_digest(mac, link.mac):
            problems.append(f"{where} fails its MAC: forged or altered after it was written")
        previous = link
        try:
            record = json.loads(link.record)
        except ValueError:
            problems.append(f"{where} holds a record that is not JSON")
            continue
        latest[(link.kind, link.record_id)] = link
        if link.kind == "approval" and record.get("state") == "APPROVED":
            approved_kinds.add(str(record.get("kind")))
        if link.kind == "status_event":
            status_links += 1
            problems.extend(_check_step(where, record, last_status, approved_kinds, held_from))
            held_from = record.get("from_status") if record.get("to_status") in _HOLDS else None
            last_status = record.get("to_status")
    if current is not None:
        problems.extend(_check_rows(chain, latest, current))
    if model_status is not None and last_status is not None and last_status != model_status:
        problems.append(
            f"chain {chain}: the model's status {model_status!r} is not the last chained status "
            f"{last_status!r}"
        )
    if status_version is not None and status_links and status_links != status_version:
        problems.append(
            f"chain {chain}: the model records {status_version} status changes but the chain holds "
            f"{status_links}"
        )
    if anchor is not None:
        problems.extend(check_anchor(chain, links, keyring, anchor))
    return problems


def _check_rows(
    chain: str, latest: Mapping[tuple[str, int], _LinkFields], current: Iterable[CurrentRecord]
) -> list[str]:
    problems: list[str] = []
    seen: set[tuple[str, int]] = set()
    for row in current:
        key = (row.kind, row.record_id)
        seen.add(key)
        chained = latest.get(key)
        if chained is None:
            problems.append(f"{row.label} is not in the audit chain {chain}: written around the audit record")
        elif canonical(row.fields) != chained.record:
            problems.append(
                f"{row.label} differs from its audit record ({describe_link(chained)}): changed afterwards"
            )
    for (kind, record_id), link in latest.items():
        if (kind, record_id) not in seen:
            problems.append(f"{kind} id {record_id} of {describe_link(link)} is missing from the database")
    return problems


#: The hold statuses: a resume goes back to the status the hold left, approved then (no new approval).
_HOLDS = frozenset({GovernanceStatus.ON_HOLD_PROPOSAL.value, GovernanceStatus.ON_HOLD_DEVELOPMENT.value})


def _check_step(
    where: str,
    record: Mapping[str, Any],
    last_status: str | None,
    approved_kinds: set[str],
    held_from: str | None = None,
) -> list[str]:
    problems: list[str] = []
    origin, target = record.get("from_status"), record.get("to_status")
    # A resume goes back where the hold found it: that status's approval was checked then.
    resumed = origin in _HOLDS and target is not None and target == held_from
    if origin != last_status:
        problems.append(f"{where} starts from {origin!r} but the chain's previous status is {last_status!r}")
    if origin is not None and target is not None:
        try:
            check_transition(origin, target)
        except (IllegalTransitionError, UnknownStatusError) as error:
            problems.append(f"{where}: illegal status step: {error}")
    try:
        needed = APPROVAL_REQUIRED.get(GovernanceStatus(target)) if target is not None else None
    except ValueError:
        needed = None
    if needed is not None and not resumed:
        if needed in approved_kinds:
            approved_kinds.discard(needed)  # one approval allows one step: a re-review needs a new ticket
        else:
            problems.append(
                f"{where} moves to {target!r} without a verified {needed} approval earlier in the chain"
            )
    return problems


def check_anchor(
    chain: str, links: Sequence[_LinkFields], keyring: AuditKeyring, anchor: Anchor
) -> list[str]:
    if not anchor.authentic(keyring):
        return [f"chain {chain}: the newest anchor (seq {anchor.seq}) is not signed by a known audit key"]
    if anchor.seq > len(links):
        return [
            f"chain {chain} ends at seq {len(links)} but was anchored at seq {anchor.seq} on "
            f"{_normalise(anchor.anchored_at)}: the database was rolled back or restored from an older "
            "backup (links after it are gone)"
        ]
    at = links[anchor.seq - 1]
    if at.seq != anchor.seq or at.mac != anchor.mac:
        return [f"{describe_link(at)} is not the link anchored at seq {anchor.seq}: the chain was rewritten"]
    return []
