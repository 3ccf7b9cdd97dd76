"""The approval sensor's decision handling against the Jira sandbox: approve, reject, four-eyes refusal
(comment + moved back + wait goes on), deleted ticket, and the inventory record."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from model_governance.approvals import approval_marker
from model_governance.exceptions import ApprovalRejectedError, NotFoundError
from model_governance.hooks.jira import JiraHook
from model_governance.operators.jira import JiraApprovalOperator
from model_governance.sensors.jira import JiraApprovalSensor
from model_governance.triggers.jira import JiraApprovalTrigger
from tests.integration.approvals.conftest import FakeTI, Governed, JiraTarget


@pytest.fixture
def governed(make_governed: Callable[..., Governed]) -> Governed:
    """A Low risk model version: one person may approve several of its gates (High is tested in
    test_separation_of_duties.py)."""
    return make_governed(risk_level="Low")


def _operator(jira: JiraTarget, **kwargs: Any) -> JiraApprovalOperator:
    kwargs = {
        "task_id": "pia_approval",
        "approval_kind": "PIA",
        "summary": "PIA approval: churn v1",
        "description": "Review the privacy impact assessment.",
        **kwargs,
    }
    return JiraApprovalOperator(
        jira_conn_id=jira.conn_id,
        model_owner="owner@example.com" if jira.flavor == "cloud" else "owner",
        requester="mlc-bot@example.com",
        links={"Airflow run": "http://airflow.local/dags/mlc/runs/r1"},
        **kwargs,
    )


def _open(jira: JiraTarget, operator: JiraApprovalOperator) -> tuple[str, dict[str, Any], TaskDeferred]:
    ti = FakeTI()
    context = {"ti": ti}
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)  # type: ignore[arg-type]
    return ti.xcom["issue_key"], context, deferred.value


def test_open_defer_and_approve(jira: JiraTarget, governed: Governed) -> None:
    operator = _operator(jira, model_id=governed.model_id)
    key, context, deferred = _open(jira, operator)
    trigger = deferred.trigger
    assert isinstance(trigger, JiraApprovalTrigger) and trigger.issue_key == key
    assert deferred.method_name == "execute_complete" and deferred.kwargs["issue_key"] == key
    assert deferred.timeout is not None and deferred.timeout.days >= 364  # not Airflow's 7-day default

    # A retried task finds the same ticket.
    ti2 = FakeTI(context["ti"].run_id)
    with pytest.raises(TaskDeferred):
        operator.execute({"ti": ti2})  # type: ignore[arg-type]
    assert ti2.xcom["issue_key"] == key

    jira.sandbox.transition_as(key, "Done", "reviewer@example.com")
    result = operator.execute_complete(context, {"status": "decided", "issue_key": key}, **deferred.kwargs)  # type: ignore[arg-type]
    assert result["outcome"] == "approved" and result["issue_key"] == key
    approval = governed.inventory.approvals(model_id=governed.model_id)[0]
    assert (approval.jira_key, approval.kind, approval.state) == (key, "PIA", "APPROVED")
    assert approval.decided_by in ("reviewer@example.com", "reviewer")
    reviewer = jira.sandbox.users["reviewer"]
    assert approval.decided_by_account == (reviewer.account_id if jira.flavor == "cloud" else "reviewer")
    roles = {e["role"]: e for e in approval.excluded or []}
    assert set(roles) == {"owner", "requester", "registrant", "governance automation"}
    assert all(e["resolved"] for e in roles.values())


def test_rejection_raises_with_the_decision_or_branches(jira: JiraTarget, governed: Governed) -> None:
    operator = _operator(jira, model_id=governed.model_id)
    key, context, deferred = _open(jira, operator)
    jira.sandbox.transition_as(key, "Rejected", "risk-officer@example.com")
    with pytest.raises(ApprovalRejectedError) as rejected:
        operator.execute_complete(context, {"status": "decided", "issue_key": key}, **deferred.kwargs)  # type: ignore[arg-type]
    assert rejected.value.decision["outcome"] == "rejected"
    assert governed.inventory.approvals(model_id=governed.model_id)[0].state == "REJECTED"

    branching = _operator(jira, raise_on_reject=False)
    key2, context2, deferred2 = _open(jira, branching)
    jira.sandbox.transition_as(key2, "Rejected", "risk-officer@example.com")
    outcome = branching.execute_complete(
        context2, {"status": "decided", "issue_key": key2}, **deferred2.kwargs
    )  # type: ignore[arg-type]
    assert outcome["outcome"] == "rejected"


def test_owner_approval_is_refused_and_the_wait_goes_on(jira: JiraTarget) -> None:
    operator = _operator(jira)
    operator.model_owner = "reviewer@example.com" if jira.flavor == "cloud" else "reviewer"
    key, context, deferred = _open(jira, operator)
    jira.sandbox.transition_as(key, "Done", "reviewer@example.com")
    with pytest.raises(TaskDeferred) as again:
        operator.execute_complete(context, {"status": "decided", "issue_key": key}, **deferred.kwargs)  # type: ignore[arg-type]
    hook = JiraHook(jira.conn_id)
    assert hook.status_of(key) == "To Do", "the refused move was undone"
    comments = hook._rest("get", f"2/issue/{key}/comment", idempotent=True)["comments"]
    assert any("does not count" in c["body"] and "is the owner" in c["body"] for c in comments)
    assert again.value.kwargs["waiting_since"] == deferred.kwargs["waiting_since"]

    jira.sandbox.transition_as(key, "Done", "risk-officer@example.com")
    result = operator.execute_complete(context, {"status": "decided", "issue_key": key}, **again.value.kwargs)  # type: ignore[arg-type]
    assert result["outcome"] == "approved"


def test_approver_groups_are_enforced(jira: JiraTarget) -> None:
    operator = _operator(jira, approver_groups=["jira-administrators"])
    key, context, deferred = _open(jira, operator)
    jira.sandbox.transition_as(key, "Done", "reviewer@example.com")
    with pytest.raises(TaskDeferred):
        operator.execute_complete(context, {"status": "decided", "issue_key": key}, **deferred.kwargs)  # type: ignore[arg-type]
    jira.sandbox.transition_as(key, "Done", "admin@example.com")
    result = operator.execute_complete(context, {"status": "decided", "issue_key": key}, **deferred.kwargs)  # type: ignore[arg-type]
    assert result["outcome"] == "approved"


def test_deleted_ticket_and_bad_event(jira: JiraTarget) -> None:
    operator = _operator(jira)
    key, context, deferred = _open(jira, operator)
    with pytest.raises(NotFoundError, match=f"{key} was deleted"):
        operator.execute_complete(context, {"status": "deleted", "issue_key": key}, **deferred.kwargs)  # type: ignore[arg-type]
    with pytest.raises(Exception, match="Unexpected resume"):
        operator.execute_complete(context, None, **deferred.kwargs)  # type: ignore[arg-type]


def test_reminder_comments_once_and_redefers(jira: JiraTarget) -> None:
    from datetime import timedelta

    operator = _operator(jira, remind_every=timedelta(days=2))
    key, context, deferred = _open(jira, operator)
    assert deferred.trigger.remind_at is not None
    for _ in range(2):  # the same reminder event twice (a trigger may fire again): one comment
        with pytest.raises(TaskDeferred) as again:
            operator.execute_complete(
                context, {"status": "reminder_due", "issue_key": key}, **deferred.kwargs
            )  # type: ignore[arg-type]
    assert again.value.kwargs["reminders_sent"] == 1
    comments = JiraHook(jira.conn_id)._rest("get", f"2/issue/{key}/comment", idempotent=True)["comments"]
    assert sum("Reminder" in c["body"] for c in comments) == 1


def test_sensor_poke_mode(jira: JiraTarget) -> None:
    hook = JiraHook(jira.conn_id)
    marker = approval_marker(dag_id="d", run_id=uuid.uuid4().hex, task_id="t", kind="PIA")
    key = hook.create_ticket(marker=marker, project_key="MLC", summary="s", description="d").key
    sensor = JiraApprovalSensor(
        task_id="wait", approval_kind="PIA", issue_key=key, jira_conn_id=jira.conn_id, deferrable=False
    )
    context = {"ti": FakeTI()}
    assert sensor.poke(context) is False  # type: ignore[arg-type]
    jira.sandbox.transition_as(key, "Done", "reviewer@example.com")
    done = sensor.poke(context)  # type: ignore[arg-type]
    assert done and done.xcom_value["outcome"] == "approved"  # type: ignore[union-attr]


def test_a_ticket_decided_before_the_wait_is_settled_without_deferring(jira: JiraTarget) -> None:
    """A retried or cleared approval task whose ticket is already Done concludes at once (no trigger)."""
    operator = _operator(jira)
    key, context, _ = _open(jira, operator)
    jira.sandbox.transition_as(key, "Done", "reviewer@example.com")
    result = operator.execute({"ti": FakeTI(context["ti"].run_id)})  # type: ignore[arg-type]
    assert result["outcome"] == "approved" and result["issue_key"] == key


def test_an_approval_counts_only_while_the_governed_document_is_on_the_ticket_unchanged(
    jira: JiraTarget, governed: Governed
) -> None:
    """The owner swaps the review document for another file of the same name (or deletes it); an approval
    given then is refused, since the reviewer may have read the forgery; with the real one back, it counts."""
    import io

    document = b"# Model review\nAUC 0.71 (threshold 0.75): failed\n"
    operator = _operator(jira, model_id=governed.model_id, attachments={"review.md": document})
    key, context, deferred = _open(jira, operator)
    owner = jira.sandbox.client("owner")
    forged = owner.add_attachment(
        issue=key, attachment=io.BytesIO(b"# Model review\nAUC 0.91: passed\n"), filename="review.md"
    )
    hook = JiraHook(jira.conn_id)

    def decide(resume_kwargs: dict[str, Any]) -> Any:
        jira.sandbox.transition_as(key, "Done", "reviewer@example.com")
        return operator.execute_complete(context, {"status": "decided", "issue_key": key}, **resume_kwargs)  # type: ignore[arg-type]

    with pytest.raises(TaskDeferred) as again:
        decide(deferred.kwargs)
    assert hook.status_of(key) == "To Do"
    comments = [c["body"] for c in hook._rest("get", f"2/issue/{key}/comment", idempotent=True)["comments"]]
    assert any("another file was attached under the name review.md" in c for c in comments)

    # The forgery removed, and the real document deleted too: still refused, with the way out.
    owner.delete_attachment(forged.id)
    real = next(a for a in hook.issue(key)["fields"]["attachment"] if a["filename"] == "review.md")
    owner.delete_attachment(real["id"])
    with pytest.raises(TaskDeferred) as third:
        decide(again.value.kwargs)
    comments = [c["body"] for c in hook._rest("get", f"2/issue/{key}/comment", idempotent=True)["comments"]]
    assert any("review.md (SHA-256" in c and "clear the approval task" in c for c in comments)
    approval = governed.inventory.approvals(model_id=governed.model_id)[0]
    assert approval.state != "APPROVED" and len(approval.refusals or []) == 2

    # Clearing the task attaches the document again (by name and SHA-256); now the approval counts.
    ti = FakeTI(context["ti"].run_id)
    with pytest.raises(TaskDeferred):
        operator.execute({"ti": ti})  # type: ignore[arg-type]
    assert [a["filename"] for a in hook.issue(key)["fields"]["attachment"]] == ["review.md"]
    result = decide(third.value.kwargs)
    assert result["outcome"] == "approved"
    assert governed.inventory.approvals(model_id=governed.model_id)[0].state == "APPROVED"


def test_a_production_approval_waits_while_the_runs_pia_approval_is_withdrawn(
    jira: JiraTarget, governed: Governed
) -> None:
    """The PIA's approver (or anyone) reopens or rejects the PIA ticket after the PIA task finished: the
    production approval of that run does not count until the PIA approver moves it back to Done."""
    pia = _operator(jira, model_id=governed.model_id)
    pia_key, pia_context, pia_deferred = _open(jira, pia)
    jira.sandbox.transition_as(pia_key, "Done", "reviewer@example.com")
    resumed = {"status": "decided", "issue_key": pia_key}
    assert pia.execute_complete(pia_context, resumed, **pia_deferred.kwargs)["outcome"] == "approved"  # type: ignore[arg-type]

    production = _operator(
        jira,
        task_id="production_approval",
        approval_kind="PRODUCTION",
        summary="Production approval: churn v1",
        description="Approve for production.",
        model_id=governed.model_id,
    )
    ti = FakeTI(pia_context["ti"].run_id, task_id="production_approval")
    context = {"ti": ti}
    with pytest.raises(TaskDeferred) as deferred:
        production.execute(context)  # type: ignore[arg-type]
    key = ti.xcom["issue_key"]
    jira.sandbox.transition_as(pia_key, "Rejected", "risk-officer@example.com")
    jira.sandbox.transition_as(key, "Done", "risk-officer@example.com")
    with pytest.raises(TaskDeferred) as again:
        production.execute_complete(context, {"status": "decided", "issue_key": key}, **deferred.value.kwargs)  # type: ignore[arg-type]
    hook = JiraHook(jira.conn_id)
    assert hook.status_of(key) == "To Do"
    comments = [c["body"] for c in hook._rest("get", f"2/issue/{key}/comment", idempotent=True)["comments"]]
    assert any(
        f"the PIA approval {pia_key}" in c and "no longer stands in Jira (moved to Rejected" in c
        for c in comments
    )

    jira.sandbox.transition_as(pia_key, "Done", "reviewer@example.com")
    jira.sandbox.transition_as(key, "Done", "risk-officer@example.com")
    result = production.execute_complete(
        context, {"status": "decided", "issue_key": key}, **again.value.kwargs
    )  # type: ignore[arg-type]
    assert result["outcome"] == "approved"
    states = {a.kind: a.state for a in governed.inventory.approvals(model_id=governed.model_id)}
    assert states == {"PIA": "APPROVED", "PRODUCTION": "APPROVED"}
