"""The SageMaker modes of the MLC against the AWS and Jira sandboxes: the risk tests as a Processing job
(submitted once per attempt, reconnected to on retry, waited for in the trigger, its report read from S3;
a failed job opens the failure ticket and Done runs attempt 2), and the deploy step (endpoint created,
waited for while Creating, then updated to a new version's configuration; Deployment/Complete reported
only when the endpoint serves the version, and Deployed recorded by the wait only once an endpoint does)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from model_governance.exceptions import InvalidInputError
from model_governance.hooks.jira import JiraHook
from model_governance.hooks.sagemaker_jobs import SageMakerJobsHook
from model_governance.operators.deployment import DeployEndpointOperator
from model_governance.operators.model_lifecycle import WaitForDeploymentSensor
from model_governance.operators.risk_tests import RunRiskTestsOperator
from model_governance.operators.snapshot import CreateSnapshotOperator
from model_governance.services.endpoints import DeploymentCheck
from model_governance.triggers.jira import JiraApprovalTrigger
from model_governance.triggers.sagemaker import ENDPOINT, PROCESSING_JOB, SUCCESS, SageMakerWaitTrigger
from model_governance.workloads import risk_test_job_name
from tests.integration.mlc.conftest import AWS_CONN_ID, JIRA_CONN_ID, GovernedModel

pytestmark = pytest.mark.integration

TASK = "run_risk_tests"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/model-governance:1"


@pytest.fixture
def processing(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in (
        ("RUNNER", "processing"),
        ("IMAGE_URI", IMAGE),
        ("ROLE_ARN", "arn:aws:iam::123456789012:role/risk-tests"),
        ("POLL_INTERVAL_SECONDS", "1"),
    ):
        monkeypatch.setenv(f"MODEL_GOVERNANCE__RISK_TESTS__{key}", value)


def _snapshot(model: GovernedModel) -> int:
    operator = CreateSnapshotOperator(task_id="create_snapshot", model_id=model.model_id)
    return int(operator.execute(model.context("create_snapshot"))["snapshot_id"])  # type: ignore[arg-type]


def _deferred(call: Callable[[], Any]) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as deferred:
        call()
    return deferred.value


def _fire(trigger: Any, timeout: float = 180) -> dict[str, Any]:
    """Run the trigger as the triggerer would, until its first event."""

    async def first() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(asyncio.wait_for(first(), timeout))


def _risk_tests(model: GovernedModel, snapshot_id: int) -> RunRiskTestsOperator:
    return RunRiskTestsOperator(
        task_id=TASK, model_id=str(model.model_id), snapshot_id=str(snapshot_id), poll_interval=5
    )


@pytest.mark.usefixtures("processing")
def test_risk_tests_run_as_a_processing_job_and_a_retry_reconnects(
    make_model: Callable[..., GovernedModel],
) -> None:
    model = make_model()
    snapshot_id = _snapshot(model)
    context = model.context(TASK)
    ti = context["ti"]
    deferred = _deferred(lambda: _risk_tests(model, snapshot_id).execute(context))  # type: ignore[arg-type]
    name = risk_test_job_name(ti.dag_id, ti.run_id, TASK, 1)
    assert isinstance(deferred.trigger, SageMakerWaitTrigger) and deferred.method_name == "execute_complete"
    assert (deferred.trigger.resource, deferred.trigger.name) == (PROCESSING_JOB, name)
    assert deferred.kwargs == {"attempt": 1, "job_name": name}
    job = model.aws.sagemaker.describe_processing_job(ProcessingJobName=name)
    assert job["AppSpecification"]["ImageUri"] == IMAGE
    assert job["AppSpecification"]["ContainerEntrypoint"] == ["python3", "-m", "model_governance.risk_tests"]

    # A retried try (same run, same task) finds its job instead of submitting another: it waits on it
    # again, or (the job already done: the sandbox runs it in well under a second) takes its result.
    try:
        outcome = _risk_tests(model, snapshot_id).execute(model.context(TASK, ti.run_id))  # type: ignore[arg-type]
    except TaskDeferred as waiting:
        assert waiting.kwargs == deferred.kwargs
    else:
        assert outcome["attempt"] == 1 and outcome["passed"] is True
    assert model.aws.sandbox.request_count("sagemaker:CreateProcessingJob") == 1

    event = _fire(deferred.trigger)
    assert event["status"] == SUCCESS and event["resource_status"] == "Completed"
    result = _risk_tests(model, snapshot_id).execute_complete(context, event, **deferred.kwargs)  # type: ignore[arg-type]
    assert result["passed"] is True and result["attempt"] == 1
    key = result["report_uri"].split("/", 3)[3]
    report = json.loads(model.aws.s3.get_object(Bucket=model.governance_bucket, Key=key)["Body"].read())
    assert report["inputs"]["processing_job"]["name"] == name
    assert report["inputs"]["comparator"]["matches_snapshot"] is True
    assert report["thresholds"]["bounds"]["performance.auc"]["low"] == 0.6, "the snapshot's overrides"
    (run,) = model.inventory.risk_test_runs(model.model_id, run_key_prefix=f"{ti.dag_id}/{ti.run_id}/")
    assert (run.state, run.passed, run.report_uri) == ("SUCCEEDED", True, result["report_uri"])

    again = _risk_tests(model, snapshot_id).execute(model.context(TASK, ti.run_id))  # type: ignore[arg-type]
    assert again == result, "a finished attempt is returned as recorded"
    assert model.aws.sandbox.request_count("sagemaker:CreateProcessingJob") == 1


@pytest.mark.usefixtures("processing")
def test_a_failed_job_opens_its_ticket_with_the_attempt_and_done_runs_attempt_two(
    make_model: Callable[..., GovernedModel],
) -> None:
    model = make_model()
    snapshot_id = _snapshot(model)
    model.aws.sandbox.set_workloads(
        fail_processing_jobs=1, processing_failure_reason="CapacityError: no ml.m5"
    )
    context = model.context(TASK)
    job = _deferred(lambda: _risk_tests(model, snapshot_id).execute(context))  # type: ignore[arg-type]
    event = _fire(job.trigger)
    assert (event["status"], event["failure_reason"]) == ("failed", "CapacityError: no ml.m5")

    ticket = _deferred(
        lambda: _risk_tests(model, snapshot_id).execute_complete(context, event, **job.kwargs)  # type: ignore[arg-type]
    )
    assert isinstance(ticket.trigger, JiraApprovalTrigger)
    issue_key = ticket.kwargs["issue_key"]  # type: ignore[index]
    issue = JiraHook(JIRA_CONN_ID).issue(issue_key)
    description = json.dumps(issue["fields"]["description"])
    assert "CapacityError: no ml.m5" in description and "ended Failed" in description
    assert "Attempt 1 of 3" in description and "2 re-runs left" in description
    (failed,) = model.inventory.risk_test_runs(model.model_id, run_key_prefix=f"{context['ti'].dag_id}/")
    assert failed.state == "FAILED" and "CapacityError" in str(failed.error)

    model.jira.transition_as(issue_key, "Done", "reviewer@example.com")
    decided = {"status": "decided", "issue_key": issue_key}
    second = _deferred(
        lambda: _risk_tests(model, snapshot_id).execute_complete(context, decided, **ticket.kwargs)  # type: ignore[arg-type]
    )
    ti = context["ti"]
    assert second.kwargs == {"attempt": 2, "job_name": risk_test_job_name(ti.dag_id, ti.run_id, TASK, 2)}
    event = _fire(second.trigger)
    result = _risk_tests(model, snapshot_id).execute_complete(context, event, **second.kwargs)  # type: ignore[arg-type]
    assert result["attempt"] == 2 and result["passed"] is True
    assert model.aws.sandbox.request_count("sagemaker:CreateProcessingJob") == 2

    with pytest.raises(Exception, match="Unexpected resume"):
        _risk_tests(model, snapshot_id).execute_complete(
            context, {"status": "success"}, attempt=2, job_name="x"
        )


def test_deploy_creates_the_endpoint_waits_and_a_new_version_updates_it(
    make_model: Callable[..., GovernedModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = f"churn-{uuid.uuid4().hex[:8]}"
    first = make_model()
    snapshot_id = _snapshot(first)

    off = DeployEndpointOperator(task_id="deploy_endpoint", model_id=first.model_id, snapshot_id=snapshot_id)
    assert off.execute(first.context("deploy_endpoint")) == {"deployed_by": "deployer", "endpoint": None}  # type: ignore[arg-type]
    assert first.aws.sandbox.request_count("sagemaker:CreateEndpoint") == 0

    monkeypatch.setenv("MODEL_GOVERNANCE__DEPLOYMENT__DEPLOY_ENDPOINT", "true")
    monkeypatch.setenv("MODEL_GOVERNANCE__DEPLOYMENT__ENDPOINT_NAME", endpoint)
    monkeypatch.setenv("MODEL_GOVERNANCE__DEPLOYMENT__POLL_INTERVAL_SECONDS", "1")
    # Long enough that the retry below still finds the endpoint Creating on a loaded machine (2 s was not).
    first.aws.sandbox.set_workloads(endpoint_delay_s=10)

    def deploy(model: GovernedModel, snapshot: int) -> DeployEndpointOperator:
        return DeployEndpointOperator(
            task_id="deploy_endpoint", model_id=model.model_id, snapshot_id=snapshot
        )

    context = first.context("deploy_endpoint")
    deferred = _deferred(lambda: deploy(first, snapshot_id).execute(context))  # type: ignore[arg-type]
    assert isinstance(deferred.trigger, SageMakerWaitTrigger) and deferred.trigger.resource == ENDPOINT
    described = first.aws.sagemaker.describe_endpoint(EndpointName=endpoint)
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == (
        "Creating",
        first.endpoint_config,
    )
    # A retried task waits on the same endpoint again or, when it came into service meanwhile (a loaded
    # machine can take longer than the sandbox's delay), takes it; either way it is not created twice.
    try:
        taken = deploy(first, snapshot_id).execute(first.context("deploy_endpoint", context["ti"].run_id))  # type: ignore[arg-type]
    except TaskDeferred as retry:
        assert retry.kwargs == deferred.kwargs
    else:
        assert taken["endpoint"] == endpoint and taken["endpoint_config"] == first.endpoint_config
    assert first.aws.sandbox.request_count("sagemaker:CreateEndpoint") == 1, "not created twice"

    event = _fire(deferred.trigger)
    assert event["status"] == SUCCESS and event["resource_status"] == "InService"
    result = deploy(first, snapshot_id).execute_complete(context, event, **deferred.kwargs)  # type: ignore[arg-type]
    assert result["endpoint"] == endpoint and result["endpoint_config"] == first.endpoint_config
    package = first.aws.sagemaker.describe_model_package(ModelPackageName=first.package_arn)
    assert package["ModelLifeCycle"]["Stage"] == "Deployment"
    assert package["ModelLifeCycle"]["StageStatus"] == "Complete"
    assert package["CustomerMetadataProperties"]["governance:endpoint"] == endpoint
    assert first.inventory.get_snapshot(snapshot_id).deployed_at is not None

    # Cleared and run again: the endpoint serves this configuration already; nothing is written.
    assert (
        deploy(first, snapshot_id).execute(first.context("deploy_endpoint", context["ti"].run_id)) == result
    )  # type: ignore[arg-type]
    assert first.aws.sandbox.request_count("sagemaker:UpdateEndpoint") == 0

    second = make_model()
    second_snapshot = _snapshot(second)
    context = second.context("deploy_endpoint")
    deferred = _deferred(lambda: deploy(second, second_snapshot).execute(context))  # type: ignore[arg-type]
    described = second.aws.sagemaker.describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "Updating"
    assert described["PendingDeploymentSummary"]["EndpointConfigName"] == second.endpoint_config
    event = _fire(deferred.trigger)
    result = deploy(second, second_snapshot).execute_complete(context, event, **deferred.kwargs)  # type: ignore[arg-type]
    assert result["endpoint_config"] == second.endpoint_config
    assert (
        second.aws.sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
        == second.endpoint_config
    )
    assert second.aws.sandbox.request_count("sagemaker:UpdateEndpoint") == 1

    with pytest.raises(Exception, match="did not come into service"):
        deploy(second, second_snapshot).execute_complete(
            context,
            {"status": "failed", "name": endpoint, "failure_reason": "bad image"},
            round_number=2,
            endpoint=endpoint,
        )


def _approved(model: GovernedModel, snapshot_id: int) -> None:
    """What the MLC does up to the production approval (the Jira gates are tested elsewhere)."""
    for status in ("Validation Complete", "Awaiting Approval", "Approved for Deployment"):
        model.inventory.transition(model.model_id, status, source="governance", actor="mlc", reason="test")
    model.inventory.mark_snapshot_deployed(snapshot_id)


def _in_service(model: GovernedModel, endpoint: str) -> None:
    deadline = time.monotonic() + 60
    while model.aws.sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] != "InService":
        assert time.monotonic() < deadline, f"endpoint {endpoint} never came into service"
        time.sleep(0.3)


def _decoy_config(model: GovernedModel) -> str:
    """An endpoint configuration whose model runs another image (another version's model)."""
    name = f"decoy-{uuid.uuid4().hex[:8]}"
    model.aws.sagemaker.create_model(
        ModelName=name,
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:2"},
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker",
    )
    model.aws.sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": name,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    return name


def test_deployment_complete_by_hand_is_recorded_only_once_an_endpoint_serves_the_version(
    make_model: Callable[..., GovernedModel],
) -> None:
    model = make_model()
    snapshot_id = _snapshot(model)
    _approved(model, snapshot_id)
    model.aws.sandbox.set_workloads(endpoint_delay_s=0.5)
    sensor = WaitForDeploymentSensor(task_id="wait_for_deployment", model_id=model.model_id)
    context = model.context("wait_for_deployment")

    # The deployer reports it without deploying: not recorded, the sensor keeps waiting.
    model.aws.sagemaker.update_model_package(
        ModelPackageArn=model.package_arn, ModelLifeCycle={"Stage": "Deployment", "StageStatus": "Complete"}
    )
    assert sensor.poke(context) is False  # type: ignore[arg-type]
    assert model.inventory.get_model(model.model_id).status == "Approved for Deployment"

    # An endpoint serving another version does not count either.
    decoy = _decoy_config(model)
    model.aws.sagemaker.create_endpoint(EndpointName=decoy, EndpointConfigName=decoy)
    _in_service(model, decoy)
    assert sensor.poke(context) is False  # type: ignore[arg-type]

    # The deployer really deploys the snapshot's endpoint configuration (its model runs the package's
    # image and model data): now it is Deployed, and the status event says which endpoint serves it.
    endpoint = f"churn-{uuid.uuid4().hex[:8]}"
    model.aws.sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=model.endpoint_config)
    _in_service(model, endpoint)
    assert WaitForDeploymentSensor(task_id="wait_for_deployment", model_id=model.model_id).poke(context)  # type: ignore[arg-type]
    record = model.inventory.get_model(model.model_id)
    assert record.status == "Deployed"
    last = model.inventory.status_history(record)[-1]
    assert f"endpoint {endpoint} serves it with configuration {model.endpoint_config}" in last.reason
    assert "ETag unchanged" in last.reason

    # The model file replaced under the same URL: the artifacts no longer match the snapshot's.
    model.put("churn/model.tar.gz", b"other weights")
    check = DeploymentCheck(
        inventory=model.inventory,
        client=SageMakerJobsHook(aws_conn_id=AWS_CONN_ID, region_name=model.aws.sandbox.region),
    )
    assert check.evidence(record) is None
    for name in (decoy, endpoint):
        model.aws.sagemaker.delete_endpoint(EndpointName=name)


def test_the_deploy_step_refuses_an_endpoint_configuration_that_serves_another_version(
    make_model: Callable[..., GovernedModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_model()  # the test's buckets and connections
    model = make_model(metadata={"ENDPOINT_CONFIG": _decoy_config(first)})
    snapshot_id = _snapshot(model)
    endpoint = f"churn-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("MODEL_GOVERNANCE__DEPLOYMENT__DEPLOY_ENDPOINT", "true")
    monkeypatch.setenv("MODEL_GOVERNANCE__DEPLOYMENT__ENDPOINT_NAME", endpoint)
    model.aws.sandbox.set_workloads(endpoint_delay_s=0.5)
    operator = DeployEndpointOperator(
        task_id="deploy_endpoint", model_id=model.model_id, snapshot_id=snapshot_id
    )
    context = model.context("deploy_endpoint")
    deferred = _deferred(lambda: operator.execute(context))  # type: ignore[arg-type]
    event = _fire(deferred.trigger)
    with pytest.raises(InvalidInputError, match=f"none of its models serves {model.package_arn}"):
        operator.execute_complete(context, event, **deferred.kwargs)  # type: ignore[arg-type]
    package = model.aws.sagemaker.describe_model_package(ModelPackageName=model.package_arn)
    assert (package.get("ModelLifeCycle") or {}).get("StageStatus") != "Complete", "not reported"
    model.aws.sagemaker.delete_endpoint(EndpointName=endpoint)
