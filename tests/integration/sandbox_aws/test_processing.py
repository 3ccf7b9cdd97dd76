"""Processing jobs that really run and endpoints that take a moment, through boto3 (processing.py).

moto records a Processing job and runs nothing, and reports an endpoint InService at once (FACTS.md); the
sandbox runs the job's entrypoint on the S3 inputs and uploads its outputs, and shows an endpoint Creating
or Updating before it is InService, so waiting on either is real."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import Any

import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from model_governance.snapshots import S3Location
from model_governance.workloads import ProcessingSettings, risk_test_job_request
from sandbox.aws.pytest_fixtures import AwsClients
from tests.integration.sandbox_aws.conftest import unique
from tests.unit.risk_tests.conftest import classification_schema, classification_table

pytestmark = pytest.mark.integration

SETTINGS = ProcessingSettings(
    image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/model-governance:1",
    role_arn="arn:aws:iam::123456789012:role/risk-tests",
    instance_type="ml.m5.large",
    max_runtime_seconds=300,
)


def _statuses(read: Callable[[], dict[str, Any]], key: str, done: set[str], limit: float = 120) -> list[str]:
    """Every status seen, polling every 0.2 s until one in ``done`` (bounded)."""
    seen: list[str] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        status = read()[key]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in done:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"still {seen[-1:]} after {limit}s; seen {seen}")


@pytest.fixture
def data(aws_clients: AwsClients) -> dict[str, S3Location]:
    bucket = unique("proc")
    aws_clients.s3.create_bucket(Bucket=bucket)
    objects = {}
    for name, seed in (("baseline", 11), ("comparator", 12)):
        sink = io.BytesIO()
        pq.write_table(classification_table(1_000, seed=seed), sink)
        aws_clients.s3.put_object(Bucket=bucket, Key=f"in/{name}.parquet", Body=sink.getvalue())
        objects[name] = S3Location(bucket, f"in/{name}.parquet")
    body = json.dumps(classification_schema()).encode()
    aws_clients.s3.put_object(Bucket=bucket, Key="in/schema.json", Body=body)
    objects["schema"] = S3Location(bucket, "in/schema.json")
    overrides = {"High": {"performance.auc": 0.6, "bias.ppr_disparity": [0.5, 2.0]}}
    aws_clients.s3.put_object(Bucket=bucket, Key="in/thresholds.json", Body=json.dumps(overrides).encode())
    objects["thresholds"] = S3Location(bucket, "in/thresholds.json")
    return objects


def _request(name: str, data: dict[str, S3Location], **changes: Any) -> dict[str, Any]:
    request = risk_test_job_request(
        job_name=name,
        settings=SETTINGS,
        baseline=data["baseline"],
        comparator=data["comparator"],
        schema=data["schema"],
        thresholds=data["thresholds"],
        risk_level="High",
        output_bucket=data["baseline"].bucket,
    )
    request.update(changes)
    return request


def test_a_processing_job_runs_its_entrypoint_on_the_s3_inputs(
    aws_clients: AwsClients, data: dict[str, S3Location]
) -> None:
    sagemaker, s3 = aws_clients.sagemaker, aws_clients.s3
    name = unique("risk")
    arn = sagemaker.create_processing_job(**_request(name, data))["ProcessingJobArn"]
    assert arn.endswith(f":processing-job/{name}")

    seen = _statuses(
        lambda: sagemaker.describe_processing_job(ProcessingJobName=name),
        "ProcessingJobStatus",
        {"Completed", "Failed", "Stopped"},
    )
    assert seen == ["InProgress", "Completed"]
    described = sagemaker.describe_processing_job(ProcessingJobName=name)
    assert described["AppSpecification"]["ImageUri"] == SETTINGS.image_uri
    assert described["ProcessingEndTime"] >= described["ProcessingStartTime"]
    assert "FailureReason" not in described

    bucket = data["baseline"].bucket
    report = json.loads(
        s3.get_object(Bucket=bucket, Key=f"risk-tests/jobs/{name}/report.json")["Body"].read()
    )
    assert report["risk_level"] == "High" and report["inputs"]["comparator"]["rows"] == 1_000
    assert report["thresholds"]["bounds"]["performance.auc"]["low"] == 0.6, "the thresholds input was read"
    assert any(r["test"] == "performance.auc" and r["status"] == "passed" for r in report["results"])

    with pytest.raises(ClientError) as again:
        sagemaker.create_processing_job(**_request(name, data))
    assert "must be unique" in again.value.response["Error"]["Message"]
    listed = sagemaker.list_processing_jobs(NameContains=name)["ProcessingJobSummaries"]
    assert [(j["ProcessingJobName"], j["ProcessingJobStatus"]) for j in listed] == [(name, "Completed")]


def test_a_job_whose_entrypoint_fails_is_failed_with_its_error(
    aws_clients: AwsClients, data: dict[str, S3Location]
) -> None:
    sagemaker = aws_clients.sagemaker
    bucket = data["comparator"].bucket
    aws_clients.s3.put_object(Bucket=bucket, Key="in/comparator.parquet", Body=b"this is not parquet")
    name = unique("risk")
    sagemaker.create_processing_job(**_request(name, data))
    seen = _statuses(
        lambda: sagemaker.describe_processing_job(ProcessingJobName=name),
        "ProcessingJobStatus",
        {"Completed", "Failed", "Stopped"},
    )
    assert seen == ["InProgress", "Failed"]
    reason = sagemaker.describe_processing_job(ProcessingJobName=name)["FailureReason"]
    assert reason.startswith("AlgorithmError: risk tests: bad input:") and reason.endswith("exit code: 2")
    assert "Parquet" in reason


def test_missing_inputs_and_the_failure_switch(aws_clients: AwsClients, data: dict[str, S3Location]) -> None:
    sagemaker = aws_clients.sagemaker
    missing = unique("risk")
    gone = S3Location(data["baseline"].bucket, "in/nothing-here.parquet")
    sagemaker.create_processing_job(**_request(missing, {**data, "baseline": gone}))
    _statuses(
        lambda: sagemaker.describe_processing_job(ProcessingJobName=missing),
        "ProcessingJobStatus",
        {"Failed"},
    )
    reason = sagemaker.describe_processing_job(ProcessingJobName=missing)["FailureReason"]
    assert reason.startswith("ClientError: No S3 objects found") and gone.uri in reason

    aws_clients.sandbox.set_workloads(
        fail_processing_jobs=1, processing_failure_reason="CapacityError: none left"
    )
    doomed, fine = unique("risk"), unique("risk")
    sagemaker.create_processing_job(**_request(doomed, data))
    sagemaker.create_processing_job(**_request(fine, data))
    for name, expected in ((doomed, "Failed"), (fine, "Completed")):
        seen = _statuses(
            lambda n=name: sagemaker.describe_processing_job(ProcessingJobName=n),  # type: ignore[misc]
            "ProcessingJobStatus",
            {"Completed", "Failed"},
        )
        assert seen[-1] == expected, (name, seen)
    assert (
        sagemaker.describe_processing_job(ProcessingJobName=doomed)["FailureReason"]
        == "CapacityError: none left"
    )

    with pytest.raises(ClientError) as unknown:
        sagemaker.describe_processing_job(ProcessingJobName=unique("never"))
    assert "Could not find" in unknown.value.response["Error"]["Message"]


def _endpoint_config(aws_clients: AwsClients) -> str:
    name = unique("cfg")
    aws_clients.sagemaker.create_model(
        ModelName=name,
        PrimaryContainer={"Image": SETTINGS.image_uri},
        ExecutionRoleArn=SETTINGS.role_arn,
    )
    aws_clients.sagemaker.create_endpoint_config(
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


def test_an_endpoint_is_creating_then_in_service_and_updates_keep_the_old_config_serving(
    aws_clients: AwsClients,
) -> None:
    sagemaker = aws_clients.sagemaker
    aws_clients.sandbox.set_workloads(endpoint_delay_s=1.0)
    first, second = _endpoint_config(aws_clients), _endpoint_config(aws_clients)
    name = unique("ep")
    arn = sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=first)["EndpointArn"]
    assert arn.endswith(f":endpoint/{name}")
    read = lambda: sagemaker.describe_endpoint(EndpointName=name)  # noqa: E731
    assert _statuses(read, "EndpointStatus", {"InService", "Failed"}) == ["Creating", "InService"]
    assert read()["EndpointConfigName"] == first

    with pytest.raises(ClientError) as twice:
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=first)
    assert "Cannot create already existing endpoint" in twice.value.response["Error"]["Message"]

    sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=second)
    updating = read()
    assert updating["EndpointStatus"] == "Updating" and updating["EndpointConfigName"] == first
    assert updating["PendingDeploymentSummary"]["EndpointConfigName"] == second
    with pytest.raises(ClientError) as busy:
        sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=first)
    assert "Cannot update in-progress endpoint" in busy.value.response["Error"]["Message"]
    assert _statuses(read, "EndpointStatus", {"InService"}) == ["Updating", "InService"]
    assert read()["EndpointConfigName"] == second and "PendingDeploymentSummary" not in read()

    with pytest.raises(ClientError) as no_config:
        sagemaker.create_endpoint(EndpointName=unique("ep"), EndpointConfigName=unique("missing"))
    assert "Could not find endpoint configuration" in no_config.value.response["Error"]["Message"]
    sagemaker.delete_endpoint(EndpointName=name)
    with pytest.raises(ClientError) as deleted:
        read()
    assert "Could not find endpoint" in deleted.value.response["Error"]["Message"]
