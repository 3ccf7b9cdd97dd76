"""JiraApprovalSensor / JiraApprovalOperator as adapters of the approval service (a fake here): the wait
written once (ApprovalWaitMixin): defer on the ticket, check the resumed event, take the verified decision
or wait again; reminders; the operator opens the ticket and attaches files through the entity's S3."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import MagicMock

import pytest
from airflow.sdk.exceptions import TaskDeferred

from model_governance.approvals import Decision, Outcome, Person
from model_governance.exceptions import ApprovalRejectedError, JiraError, NotFoundError
from model_governance.operators.jira import JiraApprovalOperator
from model_governance.sensors.jira import JiraApprovalSensor
from model_governance.services.approvals import ApprovalWait, OpenedTicket
from model_governance.triggers.jira import JiraApprovalTrigger
from tests.unit.operators.fakes import BUCKET, Hooks, context, inventory, wire


def _decision(outcome: Outcome = Outcome.APPROVED) -> Decision:
    who = Person(account_id="acc-1", display_name="Rita")
    return Decision("MLC-1", outcome, "Done", who, datetime(2026, 3, 1, tzinfo=UTC))


def _wire(task: Any) -> tuple[Any, MagicMock, MagicMock]:
    wire(task, inventory=inventory(), hooks=Hooks())
    hook = MagicMock(jira_conn_id="jira_mlc")
    hook.settings.done_status, hook.settings.rejected_status = "Done", "Rejected"
    hook.settings.project_key = None  # the settings' project
    approvals = MagicMock()
    approvals.settled_decision.return_value = None
    approvals.remind.side_effect = lambda wait, **_: replace(wait, reminders_sent=wait.reminders_sent + 1)
    task.__dict__.update(hook=hook, approvals=approvals)
    return task, hook, approvals


def _sensor(**kwargs: Any) -> tuple[JiraApprovalSensor, MagicMock, MagicMock]:
    return _wire(
        JiraApprovalSensor(task_id="pia", approval_kind="PIA", issue_key="MLC-1", model_id=7, **kwargs)
    )


def test_the_sensor_records_the_request_and_defers_on_the_shared_trigger() -> None:
    sensor, _, approvals = _sensor(poll_interval=30)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context("pia"))
    trigger = deferred.value.trigger
    assert isinstance(trigger, JiraApprovalTrigger)
    assert (trigger.issue_key, trigger.project_key, trigger.poll_interval) == ("MLC-1", "MLC", 30.0)
    assert deferred.value.kwargs["issue_key"] == "MLC-1" and deferred.value.kwargs["reminders_sent"] == 0
    request = approvals.record_request.call_args.args[0]
    assert (request.kind, request.model_id, request.task_id) == ("PIA", 7, "pia")


def test_a_ticket_decided_already_is_settled_without_waiting() -> None:
    sensor, _, approvals = _sensor()
    approvals.settled_decision.return_value = _decision()
    assert sensor.execute(context("pia"))["outcome"] == "approved"
    assert approvals.settled_decision.call_args.args[1] == "MLC-1"


def test_the_resumed_event_is_checked_and_a_refused_move_waits_again() -> None:
    sensor, _, approvals = _sensor()
    kwargs = {"issue_key": "MLC-1", "waiting_since": datetime.now(UTC).isoformat()}
    with pytest.raises(JiraError, match="Unexpected resume of task 'pia'"):
        sensor.execute_complete(context("pia"), None, **kwargs)
    with pytest.raises(NotFoundError, match="Approval ticket MLC-1 was deleted"):
        sensor.execute_complete(context("pia"), {"status": "deleted"}, **kwargs)
    with pytest.raises(JiraError, match="reported 'error'"):
        sensor.execute_complete(context("pia"), {"status": "error"}, **kwargs)
    approvals.verified_decision.return_value = None
    with pytest.raises(TaskDeferred):
        sensor.execute_complete(context("pia"), {"status": "decided"}, **kwargs)
    approvals.verified_decision.return_value = _decision(Outcome.REJECTED)
    with pytest.raises(ApprovalRejectedError, match="MLC-1 was rejected by Rita"):
        sensor.execute_complete(context("pia"), {"status": "decided"}, **kwargs)


def test_a_due_reminder_is_the_services_and_the_wait_goes_on_with_it_counted() -> None:
    sensor, _, approvals = _sensor(remind_every=timedelta(days=1), escalate_after=timedelta(days=3))
    since = datetime.now(UTC) - timedelta(days=1)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute_complete(
            context("pia"), {"status": "reminder_due"}, issue_key="MLC-1", waiting_since=since.isoformat()
        )
    wait = approvals.remind.call_args.args[0]
    assert wait == ApprovalWait("MLC-1", since, 0, False)
    assert approvals.remind.call_args.kwargs == {"escalate_after": timedelta(days=3)}
    assert deferred.value.kwargs == {
        "issue_key": "MLC-1",
        "reminders_sent": 1,
        "waiting_since": since.isoformat(),
        "escalated": False,
    }
    assert deferred.value.trigger.remind_at == (since + timedelta(days=2)).isoformat()


def test_the_wait_keeps_what_is_left_of_the_tasks_timeout() -> None:
    sensor, _, approvals = _sensor(timeout=timedelta(days=10))
    approvals.verified_decision.return_value = None  # refused: the wait goes on
    since = datetime.now(UTC) - timedelta(days=4)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute_complete(
            context("pia"), {"status": "decided"}, issue_key="MLC-1", waiting_since=since.isoformat()
        )
    assert timedelta(days=5, hours=23) < deferred.value.timeout <= timedelta(days=6)


def test_poke_mode_takes_a_settled_decision() -> None:
    sensor, _, approvals = _sensor(deferrable=False)
    assert sensor.poke(context("pia")) is False
    approvals.settled_decision.return_value = _decision()
    done = sensor.poke(context("pia"))
    assert done and done.xcom_value["outcome"] == "approved"


def test_the_operator_opens_the_ticket_attaches_from_s3_and_waits() -> None:
    operator = JiraApprovalOperator(
        task_id="review",
        approval_kind="TEST_RESULTS_REVIEW",
        model_id=7,
        summary="Review",
        description="Please review",
        links={"Airflow run": "http://airflow/run"},
        attachment_uris={"review.html": f"s3://{BUCKET}/docs/review.html"},
    )
    operator, hook, approvals = _wire(operator)
    hooks_s3 = operator.connections.of_model(7).s3_client
    hooks_s3.objects[(BUCKET, "docs/review.html")] = {"Body": b"<html/>"}
    approvals.open.return_value = OpenedTicket("MLC-1", "http://jira/MLC-1", True, ())
    ctx = context("review")
    with pytest.raises(TaskDeferred):
        operator.execute(ctx)
    text = approvals.open.call_args.args[1]
    assert (text.summary, text.project_key, text.labels[1]) == (
        "Review",
        "MLC",
        "approval-test-results-review",
    )
    hook.add_remote_link.assert_called_once_with("MLC-1", url="http://airflow/run", title="Airflow run")
    hook.attach.assert_called_once_with("MLC-1", filename="review.html", content=b"<html/>")
    assert ctx["ti"].xcom == {"issue_key": "MLC-1", "issue_url": "http://jira/MLC-1"}
