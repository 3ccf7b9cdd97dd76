"""sagemaker_model_implementation through real Airflow processes and the sandboxes, in the SageMaker modes
(risk tests as a Processing job, the DAG deploying the endpoint): a model version from registration to
Deployed on its endpoint, a full clear-and-rerun that creates nothing twice, a risk test job that fails,
whose ticket is moved to Done and whose re-run passes, and a rejection at the test results review."""

from __future__ import annotations

import json
import time
import uuid

from model_governance.inventory.audit import model_chain
from model_governance.operators.risk_tests import run_key_prefix
from model_governance.workloads import risk_test_job_name
from sandbox.demo import (
    ENTITY,
    JUSTIFICATION,
    OWNER,
    REVIEWER,
    REVIEWERS,
    Demo,
    _register_model_version,
    deployer_step,
)
from tests.e2e.conftest import Stack

DAG_ID = "sagemaker_model_implementation"


def _use_case_with_group(stack: Stack) -> str:
    """What use_case_registration leaves behind (tested on its own): an approved use case and its group."""
    name = f"credit-{uuid.uuid4().hex[:6]}"
    stack.inventory.ensure_business_entity(
        name=ENTITY, account_id=stack.aws.account_id, region=stack.aws.region, aws_conn_id="aws_retail_bank"
    )
    use_case = stack.inventory.create_use_case(
        # Medium: the demo data fails drift and bias on purpose (High would block the review).
        business_entity=ENTITY,
        name=name,
        risk_level="Medium",
        owner=OWNER,
        data_science_email="ds@example.com",
    )
    group = f"uc-{use_case.id}-{name}"
    arn = stack.aws.client("sagemaker").create_model_package_group(
        ModelPackageGroupName=group, ModelPackageGroupDescription=name
    )["ModelPackageGroupArn"]
    stack.inventory.link_model_group(use_case_id=use_case.id, name=group, arn=arn)
    stack.inventory.set_use_case_status(use_case.id, "Approved")
    return group


def _stored_keys(stack: Stack) -> set[str]:
    """Every object in the sandbox's buckets (bucket/key)."""
    s3 = stack.aws.client("s3")
    keys: set[str] = set()
    for bucket in (b["Name"] for b in s3.list_buckets()["Buckets"]):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys.update(f"{bucket}/{item['Key']}" for item in page.get("Contents", []))
    return keys


def _explain(stack: Stack, run_id: str) -> str:
    """The run's task states, and the end of each failed task's log: what a failed assertion needs."""
    states = stack.airflow.task_states(DAG_ID, run_id)
    lines = [f"{task}: {state}" for task, state in sorted(states.items())]
    for task, state in sorted(states.items()):
        if state == "failed":
            lines += [f"--- {task} log (end) ---", stack.airflow.task_log(DAG_ID, run_id, task)[-3000:]]
    return "\n".join(lines)


def _drive(
    stack: Stack,
    run_id: str,
    arn: str,
    *,
    reject: str | None = None,
    deployer: bool = False,
    timeout: float = 600,
    card_at_gates: dict[str, str] | None = None,
) -> str:
    """Play the reviewers (approve, or reject the ``reject`` kind) until the run ends, and the deployer
    (who deploys an endpoint serving the version, then reports Deployment/Complete) when the DAG does not
    deploy itself. ``card_at_gates`` collects the package's ModelCardStatus as each gate's ticket opens
    (gate label -> status)."""
    client = stack.jira.client()
    handled: set[str] = set()
    sagemaker = stack.aws.client("sagemaker")
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for issue in client.enhanced_search_issues(
                'project = MLC AND status = "To Do" AND labels = "model-governance"'
            ):
                if issue.key in handled:
                    continue
                labels = set(issue.fields.labels)
                if "monitoring-finding" in labels:
                    continue  # a finding is no approval: another test on the shared stack owns it
                if card_at_gates is not None:
                    card = sagemaker.describe_model_package(ModelPackageName=arn).get("ModelCard") or {}
                    for label in labels - {"model-governance"}:
                        card_at_gates[label] = card.get("ModelCardStatus", "Draft")
                target = "Rejected" if reject and f"approval-{reject}" in labels else "Done"
                # A different reviewer per gate, as separation of duties requires (the demo's reviewers).
                reviewer = next((who for label, who in REVIEWERS.items() if label in labels), REVIEWER)
                if target == "Done" and "approval-test-results-review" in labels:
                    as_reviewer = stack.jira.client(reviewer.split("@", 1)[0])
                    try:
                        as_reviewer.add_comment(issue.key, JUSTIFICATION)
                    finally:
                        as_reviewer.close()
                stack.jira.transition_as(issue.key, target, reviewer)
                handled.add(issue.key)
            try:
                model = stack.inventory.get_model(arn)
            except Exception:
                model = None
            if deployer and model is not None and model.status == "Approved for Deployment":
                deployer_step(sagemaker, arn)  # an endpoint serving it, then Deployment/Complete
            state = stack.airflow.run_state(DAG_ID, run_id)
            if state in ("success", "failed"):
                return str(state)
            time.sleep(2)
    finally:
        client.close()
    raise TimeoutError(f"{run_id}: {stack.airflow.task_states(DAG_ID, run_id)}")


def test_model_version_goes_to_deployed_and_a_rerun_creates_nothing_twice(stack: Stack) -> None:
    group = _use_case_with_group(stack)
    arn = _register_model_version(Demo(stack.home, approve_after=0, timeout=600), stack.aws, group)
    run_id = f"mlc-{uuid.uuid4().hex[:8]}"
    stack.airflow.trigger(DAG_ID, run_id, conf={"package_arn": arn})
    card_at_gates: dict[str, str] = {}
    assert _drive(stack, run_id, arn, card_at_gates=card_at_gates) == "success", _explain(stack, run_id)
    # The card moves through the gates: Draft until the review accepts the document, PendingReview while
    # production approval is asked, Approved with it (checked at the end).
    assert card_at_gates.get("approval-pia") == "Draft", card_at_gates
    assert card_at_gates.get("approval-test-results-review") == "Draft", card_at_gates
    assert card_at_gates.get("approval-production") == "PendingReview", card_at_gates

    model = stack.inventory.get_model(arn)
    assert model.status == "Deployed"
    path = [e.to_status for e in stack.inventory.status_history(model)]
    assert path == [
        "Development Complete",
        "Pre Implementation Review",
        "Validation Complete",
        "Awaiting Approval",
        "Approved for Deployment",
        "Deployed",
    ]
    assert stack.inventory.verify_audit_trail(model).ok
    approvals = stack.inventory.approvals(model_id=model.id)
    assert [(a.kind, a.state) for a in approvals] == [
        ("PIA", "APPROVED"),
        ("TEST_RESULTS_REVIEW", "APPROVED"),
        ("PRODUCTION", "APPROVED"),
    ]
    reviewers = set(REVIEWERS.values())
    assert all(a.decided_by in reviewers or (a.decided_by or "").startswith("712020:") for a in approvals)
    documents = stack.inventory.documents(model)
    assert {d.media_type.split(";")[0] for d in documents} == {
        "text/html",
        "text/markdown",
        "application/pdf",
    }
    assert all(d.approved for d in documents)
    snapshot = stack.inventory.latest_snapshot(model)
    assert snapshot is not None and snapshot.deployed_at is not None

    sagemaker = stack.aws.client("sagemaker")
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["CustomerMetadataProperties"]["governance:snapshot"] == snapshot.content_hash
    # The DAG deployed the snapshot's endpoint configuration (deployment.endpoint_name: "{group_name}").
    assert described["CustomerMetadataProperties"]["governance:endpoint"] == group
    endpoint = sagemaker.describe_endpoint(EndpointName=group)
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == snapshot.manifest["endpoint_config_name"] == f"{group}-v1"
    assert described["ModelLifeCycle"]["StageDescription"].startswith(f"endpoint {group} InService")
    # The risk tests ran as this run's Processing job (attempt 1).
    job = risk_test_job_name(DAG_ID, run_id, "run_risk_tests", 1)
    assert sagemaker.describe_processing_job(ProcessingJobName=job)["ProcessingJobStatus"] == "Completed"
    # The card was filled from governance at the review (PendingReview) and approved with production.
    card = json.loads(described["ModelCard"]["ModelCardContent"])
    assert card["additional_information"]["custom_details"]["snapshot"] == snapshot.content_hash
    assert card["intended_uses"]["risk_rating"] in ("High", "Medium", "Low")
    assert described["ModelCard"]["ModelCardStatus"] == "Approved"

    tickets = len(stack.jira.client().enhanced_search_issues('project = MLC AND labels = "model-governance"'))
    puts = stack.aws.request_count("s3:PutObject")
    stored = _stored_keys(stack)
    links = len(stack.inventory.audit_links(model_chain(model.id)))
    writes = {
        action: stack.aws.request_count(f"sagemaker:{action}")
        for action in ("CreateProcessingJob", "CreateEndpoint", "UpdateEndpoint")
    }
    stack.airflow.clear_run(DAG_ID, run_id)  # this run only: the stack is shared
    assert _drive(stack, run_id, arn) == "success", _explain(stack, run_id)
    assert (
        len(stack.jira.client().enhanced_search_issues('project = MLC AND labels = "model-governance"'))
        == tickets
    )
    new = _stored_keys(stack) - stored
    # A re-run may anchor a chain head not anchored before (a new anchor object), nothing else.
    assert {key for key in new if "/audit-anchors/" not in key} == set(), f"stored again: {new}"
    assert stack.aws.request_count("s3:PutObject") - puts == len(new), "nothing overwritten"
    assert len(stack.inventory.audit_links(model_chain(model.id))) == links, "no governance fact twice"
    assert {a: stack.aws.request_count(f"sagemaker:{a}") for a in writes} == writes, (
        "no job or endpoint twice"
    )
    assert len(stack.inventory.documents(model)) == len(documents)
    assert len(stack.inventory.approvals(model_id=model.id)) == 3
    assert stack.inventory.get_model(arn).status == "Deployed"


def test_rejection_at_the_test_results_review(stack: Stack) -> None:
    group = _use_case_with_group(stack)
    arn = _register_model_version(Demo(stack.home, approve_after=0, timeout=600), stack.aws, group)
    run_id = f"mlc-{uuid.uuid4().hex[:8]}"
    stack.airflow.trigger(DAG_ID, run_id, conf={"package_arn": arn})
    assert _drive(stack, run_id, arn, reject="test-results-review") == "success"
    states = stack.airflow.task_states(DAG_ID, run_id)
    assert states["reject_after_review"] == "success" and states["accept_review_document"] == "skipped"
    model = stack.inventory.get_model(arn)
    assert model.status == "Rejected"
    described = stack.aws.client("sagemaker").describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Rejected"
    assert (
        described["ModelLifeCycle"]["Stage"] == "QA-Validation"
        and described["ModelLifeCycle"]["StageStatus"] == "Rejected"
    )


def test_a_risk_test_job_fails_its_ticket_is_done_and_the_rerun_takes_the_model_to_deployed(
    stack: Stack,
) -> None:
    group = _use_case_with_group(stack)
    arn = _register_model_version(Demo(stack.home, approve_after=0, timeout=600), stack.aws, group)
    run_id = f"mlc-{uuid.uuid4().hex[:8]}"
    # SageMaker cannot get an instance for the next job: the first attempt fails before it runs.
    reason = "CapacityError: Unable to provision requested ML compute capacity. Please retry."
    stack.aws.set_workloads(fail_processing_jobs=1, processing_failure_reason=reason)
    try:
        stack.airflow.trigger(DAG_ID, run_id, conf={"package_arn": arn})
        assert _drive(stack, run_id, arn) == "success", _explain(stack, run_id)
    finally:
        stack.aws.set_workloads(fail_processing_jobs=0)

    model = stack.inventory.get_model(arn)
    assert model.status == "Deployed"
    prefix = run_key_prefix(DAG_ID, run_id, "run_risk_tests")
    runs = stack.inventory.risk_test_runs(model, run_key_prefix=prefix)
    # The demo's comparator data has drifted: the re-run's tests ran and found that (a result for the
    # review, not a job failure).
    assert [(r.run_key[len(prefix) + 1 :], r.state, r.passed is None) for r in runs] == [
        ("attempt-1", "FAILED", True),
        ("attempt-2", "SUCCEEDED", False),
    ]
    assert reason in str(runs[0].error)
    sagemaker = stack.aws.client("sagemaker")
    first, second = (
        sagemaker.describe_processing_job(
            ProcessingJobName=risk_test_job_name(DAG_ID, run_id, "run_risk_tests", n)
        )
        for n in (1, 2)
    )
    assert (first["ProcessingJobStatus"], first["FailureReason"]) == ("Failed", reason)
    assert second["ProcessingJobStatus"] == "Completed"

    approvals = stack.inventory.approvals(model_id=model.id)
    assert [(a.kind, a.state) for a in approvals] == [
        ("PIA", "APPROVED"),
        ("RISK_TEST_FAILURE", "APPROVED"),
        ("TEST_RESULTS_REVIEW", "APPROVED"),
        ("PRODUCTION", "APPROVED"),
    ]
    client = stack.jira.client()
    try:
        ticket = client.issue(approvals[1].jira_key)
    finally:
        client.close()
    assert str(ticket.fields.status) == "Done"
    assert "(attempt 1 of 3)" in ticket.fields.summary
    description = json.dumps(ticket.raw["fields"]["description"])
    assert "Attempt 1 of 3" in description and reason in description
    assert sagemaker.describe_endpoint(EndpointName=group)["EndpointStatus"] == "InService"
