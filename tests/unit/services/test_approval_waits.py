"""The approval service's side of a wait (a fake Jira): reminders commented once each, the operators told
once past the SLA; the wait carried between deferrals; a ticket decided already settled; a conclusion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest.mock import MagicMock

import pytest

from model_governance.approvals import Decision, Outcome, Person
from model_governance.exceptions import ApprovalRejectedError
from model_governance.services.approvals import (
    ApprovalRequest,
    ApprovalService,
    ApprovalWait,
    concluded,
)
from tests.unit.operators.fakes import config
from tests.unit.test_approvals import FakeJira


def _service() -> tuple[ApprovalService, FakeJira, MagicMock]:
    jira, notify = FakeJira(), MagicMock(name="notify")
    return ApprovalService(jira=jira, config=config(), notify=notify), jira, notify


def test_each_reminder_is_commented_once_and_the_sla_escalated_once() -> None:
    service, jira, notify = _service()
    since = datetime.now(UTC) - timedelta(days=2, hours=5)
    wait = ApprovalWait("MLC-1", since)
    first = service.remind(wait, escalate_after=timedelta(days=3))
    assert first == ApprovalWait("MLC-1", since, 1, False)
    service.remind(wait, escalate_after=timedelta(days=3))  # the same reminder again: no second comment
    (comment,) = jira.comments("MLC-1")
    assert "waiting 2 days 5 hours" in comment.body and "[mg-reminder-1]" in comment.body
    assert not notify.called
    late = ApprovalWait("MLC-1", since - timedelta(days=1), 1, False)
    second = service.remind(late, escalate_after=timedelta(days=3))
    assert second.reminders_sent == 2 and second.escalated
    subject, body = notify.call_args.args
    assert subject == "Approval MLC-1 waiting past its SLA" and "https://jira/browse/MLC-1" in body
    assert service.remind(second, escalate_after=timedelta(days=3)).escalated
    assert notify.call_count == 1, "the operators are told once"


def test_the_wait_is_carried_between_deferrals() -> None:
    since = datetime(2026, 3, 1, tzinfo=UTC)
    wait = ApprovalWait("MLC-1", since, 2, True)
    again = ApprovalWait.resumed(
        **{k: v for k, v in wait.kwargs().items() if k != "issue_key"}, issue_key="MLC-1"
    )
    assert again == wait
    assert wait.remind_at(None) is None
    assert wait.remind_at(timedelta(days=1)) == (since + timedelta(days=3)).isoformat()
    assert wait.remaining(None) is None
    assert wait.remaining(60.0) == timedelta(seconds=1), "at least a second, however late"
    fresh = ApprovalWait.resumed(None, 0, None, False)
    assert fresh.issue_key == "" and datetime.now(UTC) - fresh.waiting_since < timedelta(seconds=5)
    assert timedelta(days=9) < fresh.remaining(timedelta(days=10)) <= timedelta(days=10)  # type: ignore[operator]


def test_a_ticket_decided_already_is_settled_and_an_open_one_is_not() -> None:
    service, jira, _ = _service()
    request = ApprovalRequest(kind="PIA", dag_id="d", run_id="r", task_id="t")
    key = jira.create_ticket(marker="mg-abcdef").key
    assert service.settled_decision(request, key) is None
    jira.move(key, "Done", "acc-rev", datetime(2026, 3, 1, tzinfo=UTC))
    decision = service.settled_decision(request, key)
    assert decision is not None and decision.outcome is Outcome.APPROVED


def test_a_rejection_raises_unless_the_gate_branches_on_it() -> None:
    who = Person(account_id="acc-1", display_name="Rita")
    rejected = Decision("MLC-1", Outcome.REJECTED, "Rejected", who, datetime(2026, 3, 1, tzinfo=UTC))
    with pytest.raises(ApprovalRejectedError, match=r"MLC-1 was rejected by Rita \(acc-1\) at 2026-03-01"):
        concluded(rejected)
    assert concluded(rejected, raise_on_reject=False)["outcome"] == "rejected"
