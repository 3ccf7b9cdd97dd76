"""Approval decisions taken from Jira, and the four-eyes policy that decides whether they count.

Pure domain code (no Airflow, no HTTP): the Jira hook turns REST answers into these values, the operators
act on the verdict. A decision is who moved the ticket to which status, and when, read from the issue
changelog; it counts only if the mover is allowed to decide.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from model_governance.exceptions import InvalidInputError

#: Label prefix of the deterministic marker that makes ticket creation idempotent.
MARKER_PREFIX = "mg-approval-"


def approval_marker(*, dag_id: str, run_id: str, task_id: str, kind: str) -> str:
    """The label that identifies the one ticket of an approval gate of a DAG run.

    Derived from dag_id, run_id, task_id and approval kind (never the try number), so a retry or a rerun
    finds the ticket it opened before. Jira labels cannot hold spaces and are limited to 255 characters,
    hence a digest rather than the raw ids.
    """
    for name, value in (("dag_id", dag_id), ("run_id", run_id), ("task_id", task_id), ("kind", kind)):
        if not value:
            raise InvalidInputError(f"approval_marker needs a non-empty {name}.")
    digest = hashlib.sha256("\x1f".join((dag_id, run_id, task_id, kind)).encode("utf-8")).hexdigest()
    return f"{MARKER_PREFIX}{digest[:32]}"


class Outcome(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Person:
    """A Jira user as the changelog names them: Cloud gives an accountId, Data Center a name/key."""

    account_id: str | None = None
    name: str | None = None
    email: str | None = None
    display_name: str | None = None

    @classmethod
    def from_jira(cls, raw: Mapping[str, Any] | None) -> Person:
        raw = raw or {}
        return cls(
            account_id=raw.get("accountId"),
            name=raw.get("name") or raw.get("key"),
            email=raw.get("emailAddress"),
            display_name=raw.get("displayName"),
        )

    @property
    def identity(self) -> str:
        """The most stable identifier we have: accountId, then username, then email."""
        return self.account_id or self.name or self.email or "unknown"

    def matches(self, who: str | None) -> bool:
        """True when ``who`` (an email, accountId or username from our records) is this person."""
        if not who:
            return False
        wanted = who.strip().lower()
        return any(
            value is not None and value.strip().lower() == wanted
            for value in (self.account_id, self.name, self.email)
        )


@dataclass(frozen=True)
class Decision:
    """A ticket's move to a deciding status, read from the changelog."""

    issue_key: str
    outcome: Outcome
    status: str
    decided_by: Person
    decided_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (for XCom and trigger events): no secrets, only who/when/what."""
        data = asdict(self)
        data["outcome"] = self.outcome.value
        data["decided_at"] = self.decided_at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        return cls(
            issue_key=data["issue_key"],
            outcome=Outcome(data["outcome"]),
            status=data["status"],
            decided_by=Person(**data["decided_by"]),
            decided_at=datetime.fromisoformat(data["decided_at"]),
        )


def decision_from_changelog(
    issue_key: str,
    histories: Iterable[Mapping[str, Any]],
    *,
    done_status: str,
    rejected_status: str,
) -> Decision | None:
    """The latest move into the Done or Rejected status, or None if the ticket's last move was elsewhere.

    Only the latest status change counts: a ticket moved to Done and then reopened is undecided.
    """
    latest: tuple[datetime, Mapping[str, Any], Mapping[str, Any]] | None = None
    for history in histories:
        for item in history.get("items", []):
            if item.get("field") != "status":
                continue
            created = _parse_jira_time(history.get("created"))
            if latest is None or created >= latest[0]:
                latest = (created, history, item)
    if latest is None:
        return None
    created, history, item = latest
    status = str(item.get("toString") or "")
    if status.lower() == done_status.lower():
        outcome = Outcome.APPROVED
    elif status.lower() == rejected_status.lower():
        outcome = Outcome.REJECTED
    else:
        return None
    return Decision(
        issue_key=issue_key,
        outcome=outcome,
        status=status,
        decided_by=Person.from_jira(history.get("author")),
        decided_at=created,
    )


def _parse_jira_time(value: Any) -> datetime:
    """Jira writes ``2026-11-22T10:00:00.000+0000``; Python wants a colon in the offset before 3.11 only."""
    if not value:
        raise InvalidInputError("A Jira changelog entry has no 'created' time; the changelog is malformed.")
    text = str(value)
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class ApproverPolicy:
    """Four eyes: who may decide an approval.

    Never the model's (or use case's) owner, never whoever requested the approval; and, when approver
    groups are configured for the approval kind, only members of at least one of them.
    """

    owner: str | None = None
    requester: str | None = None
    approver_groups: tuple[str, ...] = field(default_factory=tuple)

    def refusal(self, decision: Decision, mover_groups: Iterable[str] = ()) -> str | None:
        """Why the decision does not count, or None when it does."""
        mover = decision.decided_by
        if mover.identity == "unknown":
            return "the changelog does not say who moved the ticket"
        if mover.matches(self.owner):
            return f"{mover.display_name or mover.identity} owns the model and cannot approve it (four eyes)"
        if mover.matches(self.requester):
            return (
                f"{mover.display_name or mover.identity} requested this approval and cannot decide it "
                "(four eyes)"
            )
        if self.approver_groups:
            groups = {g.lower() for g in mover_groups}
            if not groups.intersection(g.lower() for g in self.approver_groups):
                return (
                    f"{mover.display_name or mover.identity} is not in an approver group "
                    f"({', '.join(self.approver_groups)})"
                )
        return None
