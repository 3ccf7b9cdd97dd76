from __future__ import annotations

from datetime import UTC, datetime

import pytest

from model_governance.approvals import (
    MARKER_PREFIX,
    ApproverPolicy,
    Decision,
    Outcome,
    Person,
    approval_marker,
    decision_from_changelog,
)
from model_governance.exceptions import InvalidInputError

REVIEWER = {"accountId": "acc-rev", "emailAddress": "reviewer@example.com", "displayName": "Rita Reviewer"}
OWNER = {"accountId": "acc-own", "emailAddress": "owner@example.com", "displayName": "Olga Owner"}


def _move(author: dict, when: str, to: str, frm: str = "To Do") -> dict:
    return {
        "author": author,
        "created": when,
        "items": [{"field": "status", "fromString": frm, "toString": to}],
    }


def test_marker_is_deterministic_and_distinct() -> None:
    a = approval_marker(dag_id="d", run_id="r", task_id="t", kind="PIA")
    assert a == approval_marker(dag_id="d", run_id="r", task_id="t", kind="PIA")
    assert a.startswith(MARKER_PREFIX) and " " not in a and len(a) < 255
    others = {
        approval_marker(dag_id="d2", run_id="r", task_id="t", kind="PIA"),
        approval_marker(dag_id="d", run_id="r2", task_id="t", kind="PIA"),
        approval_marker(dag_id="d", run_id="r", task_id="t2", kind="PIA"),
        approval_marker(dag_id="d", run_id="r", task_id="t", kind="PRODUCTION"),
    }
    assert a not in others and len(others) == 4
    with pytest.raises(InvalidInputError, match="run_id"):
        approval_marker(dag_id="d", run_id="", task_id="t", kind="PIA")


def test_decision_is_the_latest_status_move() -> None:
    histories = [
        _move(OWNER, "2026-11-20T09:00:00.000+0000", "In Progress"),
        {
            "author": OWNER,
            "created": "2026-11-20T09:30:00.000+0000",
            "items": [{"field": "labels", "toString": "x"}],
        },
        _move(REVIEWER, "2026-11-21T10:15:30.000+0100", "Done", "In Progress"),
    ]
    decision = decision_from_changelog("MLC-7", histories, done_status="Done", rejected_status="Rejected")
    assert decision is not None
    assert decision.outcome is Outcome.APPROVED and decision.status == "Done"
    assert decision.decided_by.email == "reviewer@example.com"
    assert decision.decided_at == datetime(2026, 11, 21, 9, 15, 30, tzinfo=UTC)
    assert Decision.from_dict(decision.to_dict()) == decision


def test_reopened_ticket_is_undecided_and_rejection_counts() -> None:
    done_then_reopened = [
        _move(REVIEWER, "2026-11-21T10:00:00.000+0000", "Done"),
        _move(REVIEWER, "2026-11-21T11:00:00.000+0000", "To Do", "Done"),
    ]
    assert (
        decision_from_changelog("K-1", done_then_reopened, done_status="Done", rejected_status="Rejected")
        is None
    )
    rejected = [_move(REVIEWER, "2026-11-21T10:00:00Z", "rejected")]
    decision = decision_from_changelog("K-1", rejected, done_status="Done", rejected_status="Rejected")
    assert decision is not None and decision.outcome is Outcome.REJECTED
    assert decision_from_changelog("K-1", [], done_status="Done", rejected_status="Rejected") is None


def test_malformed_changelog_is_named() -> None:
    with pytest.raises(InvalidInputError, match="created"):
        decision_from_changelog(
            "K-1",
            [{"items": [{"field": "status", "toString": "Done"}]}],
            done_status="Done",
            rejected_status="Rejected",
        )


def _decision(author: dict) -> Decision:
    return Decision(
        "K-1", Outcome.APPROVED, "Done", Person.from_jira(author), datetime(2026, 1, 1, tzinfo=UTC)
    )


def test_four_eyes_refuses_owner_and_requester() -> None:
    policy = ApproverPolicy(owner="OWNER@example.com", requester="acc-rev")
    assert "owns the model" in (policy.refusal(_decision(OWNER)) or "")
    assert "requested this approval" in (policy.refusal(_decision(REVIEWER)) or "")
    assert ApproverPolicy(owner="owner@example.com").refusal(_decision(REVIEWER)) is None


def test_approver_groups_when_configured() -> None:
    policy = ApproverPolicy(owner="owner@example.com", approver_groups=("model-risk",))
    assert "not in an approver group" in (policy.refusal(_decision(REVIEWER), ["jira-users"]) or "")
    assert policy.refusal(_decision(REVIEWER), ["jira-users", "Model-Risk"]) is None


def test_unknown_mover_never_counts() -> None:
    assert "does not say who" in (ApproverPolicy().refusal(_decision({})) or "")


def test_data_center_people_match_by_username() -> None:
    person = Person.from_jira({"name": "rreviewer", "key": "JIRAUSER10100", "displayName": "R"})
    assert person.identity == "rreviewer" and person.matches("RReviewer") and not person.matches(None)
