"""A revalidation with ``risk_tests.runner = processing``, end to end through ``RevalidateModelOperator``
against the AWS sandbox (which really runs the Processing job's container) and the Jira sandbox: one job
per revalidation attempt, named from the revalidation key (a retried task reconnects to it, never a second
one), waited for with ``SageMakerWaitTrigger``; its report is read, checked against the pins and stored once
under its content hash; the revalidation document and the REVALIDATION ticket come out as with the worker
runner, on the same figures. A failed job raises naming the job, SageMaker's reason and what to do, records
the revalidation FAILED with nothing made, and the retry runs the tests as a new job (attempt 2)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from model_governance.approvals import approval_marker
from model_governance.documents.review import verify_footer_hash
from model_governance.exceptions import RiskTestJobError
from model_governance.hooks.jira import JiraHook
from model_governance.services.revalidation import revalidation_job_name, revalidation_key
from model_governance.triggers.jira import JiraApprovalTrigger
from model_governance.triggers.sagemaker import FAILED, PROCESSING_JOB, SUCCESS, SageMakerWaitTrigger
from tests.integration.mlc.conftest import JIRA_CONN_ID, GovernedModel, make_model
from tests.integration.mlc.test_sagemaker_workloads import IMAGE, _fire, processing
from tests.integration.monitoring.test_revalidation_run import (
    DAG,
    PRODUCTION,
    TASK,
    _context,
    _operator,
    _ready,
    _resume,
    _stored,
)

__all__ = ["make_model", "processing"]

pytestmark = pytest.mark.integration


def _deferred(call: Callable[[], Any]) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as deferred:
        call()
    return deferred.value


def _reports(model: GovernedModel) -> list[str]:
    """The risk test reports stored beside snapshots (not the jobs' own outputs under risk-tests/jobs/)."""
    return [k for k in model.governance_objects() if "/risk-tests/" in k and k.endswith(".json")]


def _figures(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (r["test"], r.get("dataset"), r.get("feature"), r.get("group"), r.get("value"), r.get("passed"))
        for r in report["results"]
    )


@pytest.mark.usefixtures("processing")
def test_a_revalidation_runs_its_tests_as_a_processing_job_once_and_ends_as_with_the_worker(
    make_model: Callable[..., GovernedModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = make_model()
    snapshot_id = _ready(model)
    inventory = model.inventory
    run_id = "scheduled__2026-05-01"
    context = _context(run_id)
    run_key = revalidation_key(DAG, run_id, TASK)
    name = revalidation_job_name(run_key, 1)

    job = _deferred(lambda: _operator(model).execute(context))  # type: ignore[arg-type]
    assert isinstance(job.trigger, SageMakerWaitTrigger) and job.method_name == "execute_complete"
    assert (job.trigger.resource, job.trigger.name) == (PROCESSING_JOB, name)
    assert job.kwargs == {"attempt": 1, "job_name": name}
    described = model.aws.sagemaker.describe_processing_job(ProcessingJobName=name)
    assert described["AppSpecification"]["ImageUri"] == IMAGE
    args = described["AppSpecification"]["ContainerArguments"]
    production = model.metadata["PRODUCTION_DATA"]
    assert args[args.index("--comparator") + 1] == production
    assert args[args.index("--comparator-sha256") + 1] == hashlib.sha256(PRODUCTION).hexdigest()
    (revalidation,) = inventory.revalidations(model.model_id)
    assert revalidation.state == "RUNNING" and revalidation.document_uri is None

    # A retried try finds its job instead of submitting another: it waits on it again, or (the sandbox's
    # job already done) goes on to the document and the ticket.
    try:
        _operator(model).execute(_context(run_id))  # type: ignore[arg-type]
    except TaskDeferred as waiting:
        assert waiting.kwargs == job.kwargs or isinstance(waiting.trigger, JiraApprovalTrigger)
    assert model.aws.sandbox.request_count("sagemaker:CreateProcessingJob") == 1

    event = _fire(job.trigger)
    assert event["status"] == SUCCESS and event["resource_status"] == "Completed"
    ticket = _deferred(lambda: _operator(model).execute_complete(context, event, **job.kwargs))  # type: ignore[arg-type]
    assert isinstance(ticket.trigger, JiraApprovalTrigger)
    key = (ticket.kwargs or {})["issue_key"]

    # The job's report: stored once, under its hash, beside the snapshot; it tested the pinned production
    # data.
    (revalidation,) = inventory.revalidations(model.model_id)
    assert revalidation.risk_test_run_key == f"{run_key}/revalidation" and revalidation.passed is True
    (run,) = inventory.risk_test_runs(model.model_id, run_key_prefix=revalidation.risk_test_run_key)
    assert (run.state, run.passed, run.snapshot_id) == ("SUCCEEDED", True, snapshot_id)
    body = _stored(model, run.report_uri)
    assert run.report_uri.endswith(f"/risk-tests/{hashlib.sha256(body).hexdigest()}.json")
    assert _reports(model) == [run.report_uri.split("/", 3)[3]]
    report = json.loads(body)
    assert report["inputs"]["processing_job"]["name"] == name
    comparator = report["inputs"]["comparator"]
    assert comparator["source"] == production and comparator["matches_snapshot"] is True
    assert comparator["sha256"] == hashlib.sha256(PRODUCTION).hexdigest()
    snapshot = inventory.get_snapshot(snapshot_id)
    assert report["inputs"]["snapshot"]["content_hash"] == snapshot.content_hash
    assert report["inputs"]["baseline"]["source"] == model.metadata["BASELINE_DATA"]

    # The document (HTML, Markdown, PDF) and the ticket with the three files, as with the worker runner.
    recorded = {
        d.media_type.split(";")[0]: d for d in inventory.documents(model.model_id) if d.kind == "revalidation"
    }
    assert sorted(recorded) == ["application/pdf", "text/html", "text/markdown"]
    assert recorded["text/html"].uri == revalidation.document_uri
    html = _stored(model, recorded["text/html"].uri)
    assert production in html.decode() and hashlib.sha256(PRODUCTION).hexdigest() in html.decode()
    assert verify_footer_hash(html)
    hook = JiraHook(JIRA_CONN_ID)
    stem = f"model-revalidation-{model.group}-v1"
    attached = sorted(a["filename"] for a in hook.issue(key)["fields"]["attachment"])
    assert attached == [f"{stem}.html", f"{stem}.md", f"{stem}.pdf"]
    marker = approval_marker(dag_id=DAG, run_id=run_id, task_id=TASK, kind="REVALIDATION")
    assert hook.search_keys(f'project = "MLC" AND labels = "{marker}"') == [key]

    # Retried after all that: nothing twice (no job, no report, no document, no ticket).
    puts = model.aws.sandbox.request_count("s3:PutObject")
    again = _deferred(lambda: _operator(model).execute(_context(run_id)))  # type: ignore[arg-type]
    assert (again.kwargs or {})["issue_key"] == key
    assert model.aws.sandbox.request_count("s3:PutObject") == puts
    assert model.aws.sandbox.request_count("sagemaker:CreateProcessingJob") == 1

    # The worker runner on the same data gives the same figures and the same kind of ticket.
    monkeypatch.setenv("MODEL_GOVERNANCE__RISK_TESTS__RUNNER", "worker")
    worker_run = "scheduled__2026-05-02"
    worker = _deferred(lambda: _operator(model).execute(_context(worker_run)))  # type: ignore[arg-type]
    assert isinstance(worker.trigger, JiraApprovalTrigger)
    worker_key = revalidation_key(DAG, worker_run, TASK)
    (worker_tests,) = inventory.risk_test_runs(model.model_id, run_key_prefix=f"{worker_key}/revalidation")
    worker_report = json.loads(_stored(model, worker_tests.report_uri))
    assert worker_report["passed"] == report["passed"] is True
    assert _figures(worker_report) == pytest.approx(_figures(report))
    assert model.aws.sandbox.request_count("sagemaker:CreateProcessingJob") == 1
    worker_ticket = (worker.kwargs or {})["issue_key"]
    assert sorted(a["filename"] for a in hook.issue(worker_ticket)["fields"]["attachment"]) == attached

    # Done: revalidated, as with the worker runner.
    model.jira.transition_as(key, "Done", "reviewer@example.com")
    result = _resume(model, context, ticket)
    assert result["revalidation"]["outcome"] == "APPROVED"
    assert inventory.revalidation_schedule(model.model_id).approval_jira_key == key


@pytest.mark.usefixtures("processing")
def test_a_failed_job_is_a_clear_error_recorded_failed_and_the_retry_runs_a_new_job(
    make_model: Callable[..., GovernedModel],
) -> None:
    model = make_model()
    _ready(model)
    inventory = model.inventory
    model.aws.sandbox.set_workloads(
        fail_processing_jobs=1, processing_failure_reason="CapacityError: no ml.m5"
    )
    run_id = "scheduled__2026-07-01"
    context = _context(run_id)
    run_key = revalidation_key(DAG, run_id, TASK)
    first, second = revalidation_job_name(run_key, 1), revalidation_job_name(run_key, 2)

    job = _deferred(lambda: _operator(model).execute(context))  # type: ignore[arg-type]
    event = _fire(job.trigger)
    assert (event["status"], event["failure_reason"]) == (FAILED, "CapacityError: no ml.m5")
    with pytest.raises(RiskTestJobError) as failed:
        _operator(model).execute_complete(context, event, **job.kwargs)  # type: ignore[arg-type]
    message = str(failed.value)
    assert f"SageMaker Processing job {first} ended Failed: CapacityError: no ml.m5" in message
    assert model.package_arn in message and "risk_tests.image_uri" in message
    assert f"clear the task: its next try runs the tests as a new job, {second}" in message

    # Recorded FAILED, nothing made: no report, document or ticket; not running (the next daily run or a
    # retry picks it up).
    (revalidation,) = inventory.revalidations(model.model_id)
    assert (
        revalidation.state == "FAILED" and revalidation.document_uri is None and revalidation.jira_key is None
    )
    assert model.model_id not in inventory.revalidations_in_flight()
    (run,) = inventory.risk_test_runs(model.model_id, run_key_prefix=f"{run_key}/revalidation")
    assert run.state == "FAILED" and run.report_uri is None
    assert str(run.error).startswith("RiskTestJobError: ") and "CapacityError" in str(run.error)
    assert _reports(model) == []
    marker = approval_marker(dag_id=DAG, run_id=run_id, task_id=TASK, kind="REVALIDATION")
    assert JiraHook(JIRA_CONN_ID).search_keys(f'project = "MLC" AND labels = "{marker}"') == []

    # The retry: the failed job is not waited on again; attempt 2 is a new job, and the revalidation goes on.
    retry = _deferred(lambda: _operator(model).execute(_context(run_id)))  # type: ignore[arg-type]
    assert retry.kwargs == {"attempt": 2, "job_name": second}
    assert model.aws.sandbox.request_count("sagemaker:CreateProcessingJob") == 2
    assert inventory.revalidations(model.model_id)[0].state == "RUNNING"
    event = _fire(retry.trigger)
    ticket = _deferred(lambda: _operator(model).execute_complete(context, event, **retry.kwargs))  # type: ignore[arg-type]
    assert isinstance(ticket.trigger, JiraApprovalTrigger)
    (run,) = inventory.risk_test_runs(model.model_id, run_key_prefix=f"{run_key}/revalidation")
    assert run.state == "SUCCEEDED" and run.passed is True and len(_reports(model)) == 1

    # A resume that does not fit this revalidation's job is refused, not taken.
    with pytest.raises(Exception, match="Unexpected resume"):
        _operator(model).execute_complete(context, {"status": "success"}, attempt=2, job_name=second)  # type: ignore[arg-type]
