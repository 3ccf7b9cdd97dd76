"""Separation of duties against the Jira sandbox (through the real ``jira`` client and the approval tasks)
and the AWS sandbox (who registered the version): each way around a gate is refused, the ticket moved
back with a comment saying why, and the refusal recorded; the legitimate reviewer's move then counts."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from model_governance.exceptions import ApprovalRejectedError
from model_governance.hooks.jira import JiraHook
from model_governance.operators.jira import JiraApprovalOperator
from model_governance.operators.risk_tests import RunRiskTestsOperator
from model_governance.operators.snapshot import CreateSnapshotOperator
from tests.integration.approvals.conftest import FakeTI, Governed, JiraTarget
from tests.integration.mlc.conftest import JIRA_CONN_ID, GovernedModel, make_model  # noqa: F401 - fixture

pytestmark = pytest.mark.integration


def _gate(jira: JiraTarget, governed: Governed, kind: str, **kwargs: Any) -> JiraApprovalOperator:
    return JiraApprovalOperator(
        task_id=f"{kind.lower()}_approval",
        approval_kind=kind,
        jira_conn_id=jira.conn_id,
        model_id=governed.model_id,
        summary=f"{kind} approval",
        description="Decide.",
        **kwargs,
    )


def _open(operator: JiraApprovalOperator, run_id: str | None = None) -> tuple[str, dict[str, Any], Any]:
    context = {"ti": FakeTI(run_id, task_id=operator.task_id)}
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)  # type: ignore[arg-type]
    return context["ti"].xcom["issue_key"], context, deferred.value


def _decide(operator: JiraApprovalOperator, context: dict[str, Any], key: str, deferred: Any) -> Any:
    """The task resumed by the trigger: the verified decision, or ``TaskDeferred`` when refused."""
    event = {"status": "decided", "issue_key": key}
    return operator.execute_complete(context, event, **deferred.kwargs)  # type: ignore[arg-type]


def _refused(jira: JiraTarget, key: str, why: str) -> None:
    hook = JiraHook(jira.conn_id)
    assert hook.status_of(key) == "To Do", "the refused move was undone"
    bodies = [
        json.dumps(c["body"])
        for c in hook._rest("get", f"2/issue/{key}/comment", idempotent=True)["comments"]
    ]
    assert any("does not count" in b and why in b for b in bodies), bodies


def _account(jira: JiraTarget, name: str) -> str:
    user = jira.sandbox.users[name]
    return user.account_id if jira.flavor == "cloud" else user.name


def test_the_owner_who_hides_their_email_cannot_approve(
    jira: JiraTarget, make_governed: Callable[..., Governed]
) -> None:
    """On Cloud the changelog leaves the owner's email out; they are still recognised by accountId."""
    governed = make_governed(risk_level="Low", owner="owner@example.com")
    operator = _gate(jira, governed, "PIA")
    key, context, deferred = _open(operator)
    approval = governed.inventory.approval(key)
    assert approval is not None
    (owner,) = [e for e in approval.excluded or [] if e["role"] == "owner"]
    assert owner["accounts"] == [_account(jira, "owner")]

    jira.sandbox.transition_as(key, "Done", "owner@example.com")
    if jira.flavor == "cloud":
        author = JiraHook(jira.conn_id).decision(key)
        assert author is not None and author.decided_by.email is None, "Cloud hides this owner's email"
    with pytest.raises(TaskDeferred):
        _decide(operator, context, key, deferred)
    _refused(jira, key, "is the owner")

    jira.sandbox.transition_as(key, "Done", "reviewer@example.com")
    assert _decide(operator, context, key, deferred)["outcome"] == "approved"
    approval = governed.inventory.approval(key)
    assert approval is not None and approval.state == "APPROVED"
    assert [r["account"] for r in approval.refusals or []] == [_account(jira, "owner")]
    assert approval.decided_by_account == _account(jira, "reviewer")


def test_the_registrant_of_the_version_cannot_approve(
    jira: JiraTarget, make_governed: Callable[..., Governed]
) -> None:
    """Registered from SageMaker Studio as user profile "ravi", mapped to the Jira account of Ravi Risk."""
    governed = make_governed(
        risk_level="Low", registered_by="studio-ravi", identity_map={"ravi": "risk-officer@example.com"}
    )
    package = governed.aws.client("sagemaker").describe_model_package(ModelPackageName=governed.package_arn)
    assert package["CreatedBy"]["UserProfileName"] == "ravi"
    operator = _gate(jira, governed, "PIA")
    key, context, deferred = _open(operator)

    jira.sandbox.transition_as(key, "Done", "risk-officer@example.com")
    with pytest.raises(TaskDeferred):
        _decide(operator, context, key, deferred)
    _refused(jira, key, "is the registrant (ravi)")
    jira.sandbox.transition_as(key, "Done", "reviewer@example.com")
    assert _decide(operator, context, key, deferred)["outcome"] == "approved"


def test_an_unmapped_registrant_blocks_every_move_until_mapped(
    jira: JiraTarget, make_governed: Callable[..., Governed]
) -> None:
    governed = make_governed(risk_level="Low", registered_by="studio-nobody")
    operator = _gate(jira, governed, "PIA")
    key, context, deferred = _open(operator)
    jira.sandbox.transition_as(key, "Done", "reviewer@example.com")
    with pytest.raises(TaskDeferred):
        _decide(operator, context, key, deferred)
    _refused(jira, key, "could not be matched to a Jira account")

    governed.configure(approvals={"identity_map": {"nobody": None}})  # an operator maps the profile
    jira.sandbox.transition_as(key, "Done", "reviewer@example.com")
    assert (
        _gate(jira, governed, "PIA").execute_complete(  # a fresh task reads the new settings
            context, {"status": "decided", "issue_key": key}, **deferred.kwargs
        )["outcome"]
        == "approved"
    )


@pytest.mark.parametrize(("risk_level", "allowed"), [("High", False), ("Low", True)])
def test_one_person_approving_two_gates_of_a_version(
    jira: JiraTarget, make_governed: Callable[..., Governed], risk_level: str, allowed: bool
) -> None:
    governed = make_governed(risk_level=risk_level)
    pia = _gate(jira, governed, "PIA")
    pia_key, pia_context, pia_deferred = _open(pia)
    jira.sandbox.transition_as(pia_key, "Done", "reviewer@example.com")
    assert _decide(pia, pia_context, pia_key, pia_deferred)["outcome"] == "approved"

    production = _gate(jira, governed, "PRODUCTION")
    key, context, deferred = _open(production, pia_context["ti"].run_id)
    jira.sandbox.transition_as(key, "Done", "reviewer@example.com")
    if allowed:
        assert _decide(production, context, key, deferred)["outcome"] == "approved"
        return
    with pytest.raises(TaskDeferred):
        _decide(production, context, key, deferred)
    _refused(jira, key, "already approved the PIA")
    jira.sandbox.transition_as(key, "Done", "risk-officer@example.com")
    assert _decide(production, context, key, deferred)["outcome"] == "approved"


def test_a_non_member_of_the_approver_group_cannot_approve(
    jira: JiraTarget, make_governed: Callable[..., Governed]
) -> None:
    governed = make_governed(
        risk_level="Medium",
        approvals={"policies": {"Medium": {"approver_groups": {"PIA": ["model-reviewers"]}}}},
    )
    operator = _gate(jira, governed, "PIA")
    key, context, deferred = _open(operator)
    jira.sandbox.transition_as(key, "Done", "admin@example.com")  # an editor of the project, not a reviewer
    with pytest.raises(TaskDeferred):
        _decide(operator, context, key, deferred)
    _refused(jira, key, "not a member of an approver group of this gate (model-reviewers)")
    jira.sandbox.transition_as(key, "Done", "private-reviewer@example.com")
    assert _decide(operator, context, key, deferred)["outcome"] == "approved"


def _failed_review(governed: Governed, run_id: str) -> None:
    """The version's risk tests of this DAG run ran, and a gated test failed."""
    run_key = f"mlc/{run_id}/run_risk_tests/attempt-1"
    governed.inventory.start_risk_test_run(governed.model_id, run_key=run_key)
    governed.inventory.finish_risk_test_run(
        run_key,
        passed=False,
        report={"passed": False, "results": [{"test": "performance.auc", "status": "failed", "value": 0.61}]},
        report_uri="s3://governance/report.json",
    )


@pytest.mark.parametrize("risk_level", ["High", "Medium", "Low"])
def test_failed_tests_at_the_review_block_justify_allow(
    jira: JiraTarget, make_governed: Callable[..., Governed], risk_level: str
) -> None:
    governed = make_governed(risk_level=risk_level)
    run_id = f"run-{risk_level.lower()}-{governed.model_id}"
    _failed_review(governed, run_id)
    operator = JiraApprovalOperator(
        task_id="test_results_review",
        approval_kind="TEST_RESULTS_REVIEW",
        jira_conn_id=jira.conn_id,
        model_id=governed.model_id,
        raise_on_reject=False,
    )
    context = {"ti": FakeTI(run_id, task_id="test_results_review")}
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)  # type: ignore[arg-type]
    key = context["ti"].xcom["issue_key"]
    description = json.dumps(JiraHook(jira.conn_id).issue(key)["fields"]["description"])
    word = {"High": "block", "Medium": "Justification:", "Low": "do not stop this review"}[risk_level]
    assert word in description, "the ticket says which policy applies"
    jira.sandbox.transition_as(key, "Done", "reviewer@example.com")
    if risk_level == "Low":
        assert _decide(operator, context, key, deferred.value)["outcome"] == "approved"
        return
    with pytest.raises(TaskDeferred):
        _decide(operator, context, key, deferred.value)
    if risk_level == "High":
        _refused(jira, key, "until it is re-tested")
        jira.sandbox.transition_as(key, "Rejected", "reviewer@example.com")  # the way out: reject
        assert _decide(operator, context, key, deferred.value)["outcome"] == "rejected"
        return
    _refused(jira, key, "needs a justification")
    reviewer = jira.sandbox.client("reviewer")
    try:
        reviewer.add_comment(key, "Justification: AUC 0.61 on a 2,000-row comparator; retraining is planned.")
    finally:
        reviewer.close()
    jira.sandbox.transition_as(key, "Done", "reviewer@example.com")
    assert _decide(operator, context, key, deferred.value)["outcome"] == "approved"
    approval = governed.inventory.approval(key)
    assert approval is not None and approval.justification is not None
    assert approval.justification.startswith("AUC 0.61")


def test_the_risk_test_failure_ticket_moved_by_its_owner_is_refused(
    make_model: Callable[..., GovernedModel],  # noqa: F811 - the fixture imported above
) -> None:
    model = make_model()
    model.put("churn/baseline.parquet", b"this is not parquet")
    snapshot_id = int(
        CreateSnapshotOperator(task_id="create_snapshot", model_id=model.model_id).execute(  # type: ignore[arg-type]
            model.context("create_snapshot")
        )["snapshot_id"]
    )

    def operator() -> RunRiskTestsOperator:
        return RunRiskTestsOperator(
            task_id="run_risk_tests",
            model_id=str(model.model_id),
            snapshot_id=str(snapshot_id),
            poll_interval=5,
        )

    context = model.context("run_risk_tests")
    with pytest.raises(TaskDeferred) as deferred:
        operator().execute(context)  # type: ignore[arg-type]
    kwargs = deferred.value.kwargs or {}
    key = kwargs["issue_key"]
    model.jira.transition_as(key, "Done", "owner@example.com")  # the use case's owner asks for a re-run
    with pytest.raises(TaskDeferred) as again:
        operator().execute_complete(context, {"status": "decided", "issue_key": key}, **kwargs)  # type: ignore[arg-type]
    assert (again.value.kwargs or {})["issue_key"] == key, "still waiting on the same ticket"
    hook = JiraHook(JIRA_CONN_ID)
    assert hook.status_of(key) == "To Do"
    comments = [
        json.dumps(c["body"])
        for c in hook._rest("get", f"2/issue/{key}/comment", idempotent=True)["comments"]
    ]
    assert any("is the owner" in c for c in comments)
    assert [r.state for r in _risk_runs(model)] == ["FAILED"], "the owner's move ran nothing again"

    model.jira.transition_as(key, "Rejected", "risk-officer@example.com")
    with pytest.raises(ApprovalRejectedError):
        operator().execute_complete(context, {"status": "decided", "issue_key": key}, **kwargs)  # type: ignore[arg-type]
    (approval,) = model.inventory.approvals(model_id=model.model_id)
    assert approval.state == "REJECTED" and [r["status"] for r in approval.refusals or []] == ["Done"]


def _risk_runs(model: GovernedModel) -> list[Any]:
    return list(model.inventory.risk_test_runs(model.model_id, run_key_prefix=""))


def test_the_governance_connections_own_account_cannot_approve(
    jira: JiraTarget, make_governed: Callable[..., Governed]
) -> None:
    """Whoever holds the connection's token could otherwise approve anything with it."""
    governed = make_governed(risk_level="Low")
    operator = _gate(jira, governed, "PIA")
    key, context, deferred = _open(operator)
    jira.sandbox.transition_as(key, "Done", "mlc-bot@example.com")
    with pytest.raises(TaskDeferred):
        _decide(operator, context, key, deferred)
    _refused(jira, key, "is the governance automation")
