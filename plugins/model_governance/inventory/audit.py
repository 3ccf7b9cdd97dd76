"""The hash chain over a model's StatusEvents, and its verification.

Each event's hash covers its own fields and the previous event's hash, so editing or deleting any event
(or the model's current status) breaks the chain from that point on. The database refuses updates and
deletes of events as well (triggers in the initial migration); the chain catches whoever gets past that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


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
