"""Approval decisions taken from Jira, and the separation-of-duties rules that decide whether they count.

Pure domain code (no Airflow, no HTTP): the Jira hook turns REST answers into these values, the approval
service (``services/approvals.py``) acts on the verdict. A decision is who moved the ticket to which
status, and when, read from the issue changelog; it counts only if ``GateRules`` accept its mover, compared
by Jira account (Cloud ``accountId``, Data Center username), never by email.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
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
    """A Jira user as the changelog names them: Cloud gives an accountId, Data Center a name/key.

    People are compared by Jira account only (``account``): Cloud leaves ``emailAddress`` out for users who
    hide it, so an email comparison silently fails to recognise them.
    """

    account_id: str | None = None
    name: str | None = None
    email: str | None = None
    display_name: str | None = None

    @classmethod
    def from_jira(cls, raw: Mapping[str, Any] | None) -> Person:
        # A user Jira did not send, or sent in another shape, is nobody: such a mover never decides.
        raw = raw if isinstance(raw, Mapping) else {}

        def text(key: str) -> str | None:
            value = raw.get(key)
            return value if isinstance(value, str) and value else None

        return cls(
            account_id=text("accountId"),
            name=text("name") or text("key"),
            email=text("emailAddress"),
            display_name=text("displayName"),
        )

    @property
    def account(self) -> str | None:
        """The Jira account: Cloud ``accountId``, Data Center username; None when Jira did not say."""
        return self.account_id or self.name or None

    @property
    def identity(self) -> str:
        """For messages: the account, else the email, else "unknown"."""
        return self.account or self.email or "unknown"

    @property
    def label(self) -> str:
        """A person's name for ticket comments and logs."""
        if self.display_name and self.account:
            return f"{self.display_name} ({self.account})"
        return self.display_name or self.identity

    def matches(self, account: str | None) -> bool:
        """True when ``account`` (a Cloud accountId or Data Center username) is this person's account."""
        return same_account(self.account, account)


def same_account(first: str | None, second: str | None) -> bool:
    """Jira accounts are equal (Data Center usernames are case-insensitive; accountIds never collide so)."""
    if not first or not second:
        return False
    return first.strip().casefold() == second.strip().casefold()


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
        items = history.get("items") if isinstance(history, Mapping) else None
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, Mapping) or item.get("field") != "status":
                continue
            created = parse_jira_time(history.get("created"))
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


def parse_jira_time(value: Any) -> datetime:
    """Jira writes ``2026-11-22T10:00:00.000+0000``; Python wants a colon in the offset before 3.11 only."""
    if not value:
        raise InvalidInputError("A Jira changelog entry has no 'created' time; the changelog is malformed.")
    text = str(value)
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(
            f"A Jira time {text[:60]!r} is not a time Jira writes (e.g. 2026-11-22T10:00:00.000+0000); the "
            "changelog or comment is malformed."
        ) from None
    # Jira always sends an offset; a time without one is taken as UTC, so times stay comparable.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


#: Roles of the people who may not decide an approval.
OWNER = "owner"
REQUESTER = "requester"
REGISTRANT = "registrant"
#: The Jira account the governance connection acts as: whoever holds its token must not approve with it.
AUTOMATION = "governance automation"

#: A justification comment starts with this (case-insensitive); the rest is the justification.
JUSTIFICATION_PREFIX = "justification:"
#: The fewest characters a justification may have: "ok" is not one.
JUSTIFICATION_MIN_LENGTH = 20

BLOCK, JUSTIFY, ALLOW = "block", "justify", "allow"


@dataclass(frozen=True)
class Exclusion:
    """One person who may not decide an approval, as our records name them and as Jira accounts.

    ``resolved`` False means the identity could not be matched to a Jira account: then no move counts
    (we cannot tell whether the mover is this person) until ``approvals.identity_map`` maps it. Resolved
    with no ``accounts`` means the identity is mapped to no person (a pipeline role, or someone without a
    Jira account), so there is nobody to exclude.
    """

    role: str
    who: str
    accounts: tuple[str, ...] = ()
    resolved: bool = True
    note: str = ""
    #: Other names of the same identity (a registrant's profile ARN and IAM ARN), for the identity_map.
    aliases: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "who": self.who,
            "accounts": list(self.accounts),
            "resolved": self.resolved,
            "note": self.note,
            "aliases": list(self.aliases),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Exclusion:
        return cls(
            role=str(data["role"]),
            who=str(data["who"]),
            accounts=tuple(str(a) for a in data.get("accounts") or ()),
            resolved=bool(data.get("resolved", True)),
            note=str(data.get("note") or ""),
            aliases=tuple(str(a) for a in data.get("aliases") or ()),
        )

    def excludes(self, account: str | None) -> bool:
        return any(same_account(account, excluded) for excluded in self.accounts)


def failed_gated_tests(report: Mapping[str, Any] | None) -> list[str]:
    """Ids of a risk test report's failed results (only gated results can fail): the metric id, plus
    ``/feature`` and ``/group`` where it has them."""
    ids = set()
    for result in (report or {}).get("results", []):
        if result.get("status") == "failed":
            parts = [str(result.get("test"))]
            parts += [str(result[k]) for k in ("feature", "group") if result.get(k) is not None]
            ids.add("/".join(parts))
    return sorted(ids)


@dataclass(frozen=True)
class Comment:
    """A ticket comment: who wrote it (by account), when, and its text."""

    author: Person
    created: datetime
    body: str


def justification_of(comments: Iterable[Comment], mover: Person, decided_at: datetime) -> str | None:
    """The mover's latest justification written before the move, or None.

    A justification is a comment by the same Jira account, written no later than the move, starting with
    ``Justification:`` and saying at least ``JUSTIFICATION_MIN_LENGTH`` characters after it.
    """
    found: tuple[datetime, str] | None = None
    for comment in comments:
        if not mover.account or not same_account(comment.author.account, mover.account):
            continue
        if comment.created > decided_at:
            continue
        text = comment.body.strip()
        if not text.lower().startswith(JUSTIFICATION_PREFIX):
            continue
        reason = text[len(JUSTIFICATION_PREFIX) :].strip()
        if len(reason) < JUSTIFICATION_MIN_LENGTH:
            continue
        if found is None or comment.created >= found[0]:
            found = (comment.created, reason)
    return found[1] if found else None


@dataclass(frozen=True)
class GateRules:
    """What makes a move of one approval ticket count: separation of duties and the risk-level policy.

    :param kind: the approval kind (an ``ApprovalKind`` value).
    :param exclusions: the people who may not decide (owner, requester, registrant), by Jira account.
    :param approver_groups: Jira groups one of which the mover must be in; empty: no group needed.
    :param one_person_many_gates: False: a person who approved another gate of the same model version
        (``other_gates``) may not approve this one.
    :param other_gates: Jira account -> the kind of another gate of this version they approved.
    :param failed_tests: the failed gated risk tests of this version (test results review only).
    :param failed_tests_action: ``block``, ``justify`` or ``allow``: what those failures do to Done.
    :param risk_level: for messages.
    """

    kind: str
    exclusions: tuple[Exclusion, ...] = ()
    approver_groups: tuple[str, ...] = ()
    one_person_many_gates: bool = True
    other_gates: Mapping[str, str] = field(default_factory=dict)
    failed_tests: tuple[str, ...] = ()
    failed_tests_action: str = ALLOW
    risk_level: str | None = None

    @property
    def needs_justification(self) -> bool:
        return bool(self.failed_tests) and self.failed_tests_action == JUSTIFY

    def refusal(
        self, decision: Decision, mover_groups: Iterable[str] = (), justification: str | None = None
    ) -> str | None:
        """Why the decision does not count, or None when it does."""
        mover = decision.decided_by
        if not mover.account:
            return (
                "the changelog does not name the Jira account that moved the ticket, so it cannot be "
                "checked against the people who may not decide"
            )
        for exclusion in self.exclusions:
            if not exclusion.resolved:
                return (
                    f"the {exclusion.role} {exclusion.who} could not be matched to a Jira account"
                    f"{f' ({exclusion.note})' if exclusion.note else ''}, so no move can be checked against "
                    f"them; an operator must map {exclusion.who!r} in the approvals.identity_map setting "
                    "(to a Jira account, or to null for no person), then the ticket can be moved again"
                )
        for exclusion in self.exclusions:
            if exclusion.excludes(mover.account):
                return (
                    f"{mover.label} is the {exclusion.role} ({exclusion.who}) and may not decide this "
                    "approval (separation of duties)"
                )
        if self.approver_groups:
            groups = {g.casefold() for g in mover_groups}
            if not groups.intersection(g.casefold() for g in self.approver_groups):
                return (
                    f"{mover.label} is not a member of an approver group of this gate "
                    f"({', '.join(self.approver_groups)})"
                )
        if decision.outcome is not Outcome.APPROVED:
            return None
        if not self.one_person_many_gates:
            for account, other in self.other_gates.items():
                if same_account(account, mover.account):
                    return (
                        f"{mover.label} already approved the {other} gate of this model version, and at "
                        f"risk level {self.risk_level or 'of this use case'} one person may approve only "
                        "one of its gates"
                    )
        if self.failed_tests and self.failed_tests_action == BLOCK:
            return (
                f"gated risk tests failed ({', '.join(self.failed_tests)}), and at risk level "
                f"{self.risk_level or 'of this use case'} a version with failed tests cannot pass this "
                "review until it is re-tested: reject the ticket, or fix the data or the model and test it "
                "again"
            )
        if self.needs_justification and justification is None:
            return (
                f"gated risk tests failed ({', '.join(self.failed_tests)}), and at risk level "
                f"{self.risk_level or 'of this use case'} approving them needs a justification: as "
                f"{mover.label}, add a comment starting with 'Justification:' that says why the failures "
                f"are acceptable (at least {JUSTIFICATION_MIN_LENGTH} characters), then move the ticket to "
                "Done again"
            )
        return None
