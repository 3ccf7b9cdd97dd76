"""RunRiskTestsOperator against the AWS and Jira sandboxes and a SQLite inventory: the report is stored
under its hash beside the snapshot; tests that fail are a result, not a task failure; a job that fails to
run opens one RISK_TEST_FAILURE ticket per attempt and defers; Done re-runs, Rejected and exhaustion stop."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred
from sqlalchemy import select
from sqlalchemy.orm import Session

from model_governance.approvals import approval_marker
from model_governance.exceptions import (
    ApprovalRejectedError,
    JiraError,
    ModelGovernanceError,
    NotFoundError,
    RiskTestJobError,
)
from model_governance.hooks.jira import JiraHook
from model_governance.inventory import RiskTestRun
from model_governance.operators.risk_tests import RunRiskTestsOperator
from model_governance.operators.snapshot import CreateSnapshotOperator
from model_governance.risk_tests import RiskTestReport
from model_governance.triggers.jira import JiraApprovalTrigger
from tests.integration.mlc.conftest import JIRA_CONN_ID, GovernedModel, parquet_bytes
from tests.unit.risk_tests.conftest import classification_table

pytestmark = pytest.mark.integration

TASK = "run_risk_tests"


def _snapshot(model: GovernedModel) -> int:
    operator = CreateSnapshotOperator(task_id="create_snapshot", model_id=model.model_id)
    return int(operator.execute(model.context("create_snapshot"))["snapshot_id"])  # type: ignore[arg-type]


def _operator(model: GovernedModel, snapshot_id: int, **kwargs: Any) -> RunRiskTestsOperator:
    return RunRiskTestsOperator(
        task_id=TASK, model_id=str(model.model_id), snapshot_id=str(snapshot_id), poll_interval=5, **kwargs
    )


def _runs(model: GovernedModel) -> list[RiskTestRun]:
    with Session(model.inventory.engine) as session:
        return list(session.scalars(select(RiskTestRun).order_by(RiskTestRun.id)))


def _stored(model: GovernedModel, uri: str) -> bytes:
    assert uri.startswith(f"s3://{model.governance_bucket}/")
    key = uri.split("/", 3)[3]
    return bytes(model.aws.s3.get_object(Bucket=model.governance_bucket, Key=key)["Body"].read())


def _tickets(context: dict[str, Any], attempt: int) -> list[str]:
    ti = context["ti"]
    marker = approval_marker(
        dag_id=ti.dag_id, run_id=ti.run_id, task_id=ti.task_id, kind=f"RISK_TEST_FAILURE-{attempt}"
    )
    return JiraHook(JIRA_CONN_ID).search_keys(f'project = "MLC" AND labels = "{marker}"')


def _defer(operator: RunRiskTestsOperator, context: dict[str, Any]) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)  # type: ignore[arg-type]
    return deferred.value


def _kwargs(deferred: TaskDeferred) -> dict[str, Any]:
    assert deferred.kwargs is not None
    return deferred.kwargs


def _resume(operator: RunRiskTestsOperator, context: dict[str, Any], deferred: TaskDeferred) -> Any:
    event = {"status": "decided", "issue_key": _kwargs(deferred)["issue_key"]}
    return operator.execute_complete(context, event, **_kwargs(deferred))  # type: ignore[arg-type]


def test_tests_run_and_the_report_is_stored_once(make_model: Callable[..., GovernedModel]) -> None:
    model = make_model()
    snapshot_id = _snapshot(model)
    snapshot = model.inventory.get_snapshot(snapshot_id)
    operator = _operator(model, snapshot_id)
    context = model.context(TASK)
    result = operator.execute(context)  # type: ignore[arg-type]

    ti = context["ti"]
    assert result["run_key"] == f"{ti.dag_id}/{ti.run_id}/{TASK}/attempt-1" and result["attempt"] == 1
    assert result["passed"] is True and result["failed_tests"] == []
    prefix = snapshot.uri[: -len(".json")].replace(f"s3://{model.governance_bucket}/", "")
    body = _stored(model, result["report_uri"])
    assert result["report_uri"] == (
        f"s3://{model.governance_bucket}/{prefix}/risk-tests/{hashlib.sha256(body).hexdigest()}.json"
    )
    report = RiskTestReport.from_json(body.decode())
    assert report.passed is True and report.risk_level == "High"
    auc = report.thresholds.for_metric("performance.auc")
    assert auc is not None and auc.low == 0.6, "the snapshot's thresholds"
    comparator = report.inputs["comparator"]
    assert comparator["source"] == model.metadata["COMPARATOR_DATA"] and comparator["rows"] == 2_000
    assert comparator["matches_snapshot"] is True and len(comparator["sha256"]) == 64
    assert report.inputs["snapshot"]["content_hash"] == snapshot.content_hash

    (run,) = _runs(model)
    assert (run.run_key, run.state, run.passed, run.report_uri) == (
        result["run_key"],
        "SUCCEEDED",
        True,
        result["report_uri"],
    )
    assert run.snapshot_id == snapshot_id and run.report == json.loads(body)

    puts = model.aws.sandbox.request_count("s3:PutObject")
    again = _operator(model, snapshot_id).execute(model.context(TASK, ti.run_id))  # type: ignore[arg-type]
    assert again == result and len(_runs(model)) == 1, "a retried task returns the recorded run"
    assert model.aws.sandbox.request_count("s3:PutObject") == puts


def test_failing_tests_are_a_result_not_a_job_failure(make_model: Callable[..., GovernedModel]) -> None:
    drifted = parquet_bytes(classification_table(2_000, seed=13, shift=1.5))
    model = make_model()
    model.put("churn/comparator.parquet", drifted)
    snapshot_id = _snapshot(model)
    context = model.context(TASK)
    result = _operator(model, snapshot_id).execute(context)  # type: ignore[arg-type]
    assert result["passed"] is False
    assert "data_drift.ks_pvalue/income" in result["failed_tests"]
    assert _runs(model)[0].state == "SUCCEEDED"
    assert _tickets(context, 1) == [], "failed tests go to the review, not to a failure ticket"


def test_job_failure_opens_one_ticket_and_done_reruns(make_model: Callable[..., GovernedModel]) -> None:
    model = make_model()
    snapshot_id = _snapshot(model)
    operator = _operator(model, snapshot_id)
    context = model.context(TASK)
    # S3 refuses every read for now (a transient failure to run, not changed data).
    model.aws.sandbox.set_faults(throttle_rate=1.0, actions=["s3:GetObject"])
    try:
        deferred = _defer(operator, context)
    finally:
        model.aws.sandbox.set_faults(throttle_rate=0.0, actions=None)

    key = _kwargs(deferred)["issue_key"]
    assert deferred.method_name == "execute_complete"
    assert _kwargs(deferred) == {"attempt": 1, "issue_key": key}
    assert isinstance(deferred.trigger, JiraApprovalTrigger) and deferred.trigger.issue_key == key
    assert deferred.timeout is not None and deferred.timeout.days >= 364
    (run,) = _runs(model)
    assert run.state == "FAILED" and run.passed is None
    assert model.metadata["BASELINE_DATA"] in str(run.error) and "SlowDown" in str(run.error)
    assert "/tmp" not in str(run.error), "the error names the S3 URI, not the worker's copy"
    issue = JiraHook(JIRA_CONN_ID).issue(key)
    assert issue["fields"]["summary"].startswith("Risk tests failed to run")
    assert "(attempt 1 of 3)" in issue["fields"]["summary"]
    assert "SlowDown" in json.dumps(issue["fields"]["description"])
    approvals = model.inventory.approvals(model_id=model.model_id)
    assert [(a.kind, a.jira_key, a.state) for a in approvals] == [("RISK_TEST_FAILURE", key, "OPEN")]

    # A retry of the task (or the whole task cleared) goes back to the same ticket.
    retry = _defer(_operator(model, snapshot_id), model.context(TASK, context["ti"].run_id))
    assert retry.kwargs == _kwargs(deferred) and _tickets(context, 1) == [key] and len(_runs(model)) == 1

    model.jira.transition_as(key, "Done", "reviewer@example.com")
    result = _resume(_operator(model, snapshot_id), context, deferred)
    assert result["attempt"] == 2 and result["run_key"].endswith("/attempt-2") and result["passed"] is True
    assert [(r.run_key.rsplit("/", 1)[1], r.state) for r in _runs(model)] == [
        ("attempt-1", "FAILED"),
        ("attempt-2", "SUCCEEDED"),
    ]
    report = json.loads(_stored(model, result["report_uri"]))
    assert report["inputs"]["comparator"]["matches_snapshot"] is True, "the pinned data is what was tested"
    assert model.inventory.approvals(model_id=model.model_id)[0].state == "APPROVED"
    assert _tickets(context, 2) == [], "a run that passes opens no further ticket"


def test_exhausted_reruns_fail_the_task(make_model: Callable[..., GovernedModel]) -> None:
    model = make_model()
    model.put("churn/comparator.parquet", b"still not parquet")
    snapshot_id = _snapshot(model)
    context = model.context(TASK)
    deferred = _defer(_operator(model, snapshot_id, max_reruns=1), context)
    model.jira.transition_as(_kwargs(deferred)["issue_key"], "Done", "reviewer@example.com")
    with pytest.raises(RiskTestJobError, match=r"failed to run 2 time\(s\), which uses up max_reruns=1"):
        _resume(_operator(model, snapshot_id, max_reruns=1), context, deferred)
    (second,) = _tickets(context, 2)
    assert _tickets(context, 1) == [_kwargs(deferred)["issue_key"]]
    comments = JiraHook(JIRA_CONN_ID)._rest("get", f"2/issue/{second}/comment", idempotent=True)["comments"]
    assert any("No re-run is left" in json.dumps(c["body"]) for c in comments)
    assert [r.state for r in _runs(model)] == ["FAILED", "FAILED"]

    # Cleared again, the task does not run a third time: the attempts of this run are used up.
    with pytest.raises(RiskTestJobError, match="max_reruns=1"):
        _operator(model, snapshot_id, max_reruns=1).execute(model.context(TASK, context["ti"].run_id))  # type: ignore[arg-type]
    assert len(_runs(model)) == 2 and _tickets(context, 2) == [second]


def test_rejected_ticket_stops_the_run(make_model: Callable[..., GovernedModel]) -> None:
    model = make_model()
    model.put("churn/baseline.parquet", b"this is not parquet")
    snapshot_id = _snapshot(model)
    context = model.context(TASK)
    deferred = _defer(_operator(model, snapshot_id), context)
    assert "not readable Parquet" in str(_runs(model)[0].error)
    model.jira.transition_as(_kwargs(deferred)["issue_key"], "Rejected", "risk-officer@example.com")
    with pytest.raises(ApprovalRejectedError, match="not run again") as rejected:
        _resume(_operator(model, snapshot_id), context, deferred)
    assert rejected.value.decision["outcome"] == "rejected"
    assert model.inventory.approvals(model_id=model.model_id)[0].state == "REJECTED"
    assert len(_runs(model)) == 1
    assert model.inventory.get_model(model.model_id).status == "Rejected", "as the ticket says it will"


def test_unexpected_resume_is_refused(make_model: Callable[..., GovernedModel]) -> None:
    model = make_model()
    snapshot_id = _snapshot(model)
    operator = _operator(model, snapshot_id)
    context = model.context(TASK)
    with pytest.raises(JiraError, match="Unexpected resume"):
        operator.execute_complete(context, None, attempt=1, issue_key="MLC-1")  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="was deleted"):
        operator.execute_complete(context, {"status": "deleted"}, attempt=1, issue_key="MLC-1")  # type: ignore[arg-type]


def test_snapshot_of_another_model_is_refused(make_model: Callable[..., GovernedModel]) -> None:
    first = make_model()
    snapshot_id = _snapshot(first)
    second = make_model()
    with pytest.raises(ModelGovernanceError, match=f"belongs to model {first.model_id}"):
        _operator(second, snapshot_id).execute(second.context(TASK))  # type: ignore[arg-type]
