"""The product's AWS writes when AWS fails them: a 500 that did nothing, and a lost answer (the write was
applied, then the client saw a 500 and retried). Each write must end done exactly once: one group, one
package, one endpoint, one processing job, one version of each evidence object."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from model_governance.hooks.connections import aws_hook_factories
from model_governance.hooks.sagemaker_jobs import SageMakerJobsHook
from model_governance.hooks.sagemaker_registry import SageMakerRegistryHook
from model_governance.lifecycle import GovernanceStatus as S
from model_governance.services.evidence_store import EvidenceStore
from sandbox.aws.pytest_fixtures import AwsClients

pytestmark = pytest.mark.integration

CONN_ID = "aws_lost_answers"
ROLE = "arn:aws:iam::123456789012:role/sagemaker"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1"


@pytest.fixture(autouse=True)
def connection(aws_clients: AwsClients, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    sandbox = aws_clients.sandbox
    extra = {"endpoint_url": sandbox.endpoint_url, "region_name": sandbox.region}
    conn = {"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra}
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(conn))
    yield
    sandbox.set_faults(throttle_rate=0.0, server_error_rate=0.0, lost_response_rate=0.0, actions=None)


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _lose(aws_clients: AwsClients, *actions: str, seed: int = 5) -> None:
    aws_clients.sandbox.set_faults(
        lost_response_rate=0.4, server_error_rate=0.2, seed=seed, actions=list(actions)
    )


def _faulted(aws_clients: AwsClients, action: str) -> tuple[int, int]:
    counters = aws_clients.sandbox.counters()
    return counters["lost_responses"].get(action, 0), counters["server_errors"].get(action, 0)


def test_groups_created_through_lost_answers_exist_once_and_are_reported(aws_clients: AwsClients) -> None:
    hook = SageMakerRegistryHook(aws_conn_id=CONN_ID)
    names = [_name("uc-lost") for _ in range(4)]
    _lose(aws_clients, "sagemaker:CreateModelPackageGroup")
    arns = [
        hook.ensure_model_package_group(n, description="g", tags={"governance:use_case_id": "7"})[0]
        for n in names
    ]
    lost, errors = _faulted(aws_clients, "sagemaker:CreateModelPackageGroup")
    assert lost > 0 and errors > 0, "the seed must hit both kinds of fault"
    aws_clients.sandbox.set_faults(lost_response_rate=0.0, server_error_rate=0.0)
    for name, arn in zip(names, arns, strict=True):
        described = aws_clients.sagemaker.describe_model_package_group(ModelPackageGroupName=name)
        assert described["ModelPackageGroupArn"] == arn
        assert {"Key": "governance:use_case_id", "Value": "7"} in aws_clients.sagemaker.list_tags(
            ResourceArn=arn
        )["Tags"]


def test_a_proposed_package_created_through_lost_answers_is_one_package(aws_clients: AwsClients) -> None:
    """The create the ``propose`` action makes: its ClientToken answers the retry with the first package."""
    group = _name("grp-lost")
    aws_clients.sagemaker.create_model_package_group(ModelPackageGroupName=group)
    hook = SageMakerRegistryHook(aws_conn_id=CONN_ID)
    _lose(aws_clients, "sagemaker:CreateModelPackage", seed=3)
    lifecycle = {"Stage": "Proposed", "StageStatus": "InProgress"}
    arns = {
        hook.create_model_package(
            group, description="proposed", lifecycle=lifecycle, token_parts=("action", f"run-{i}", "7")
        )
        for i in range(3)
    }
    assert sum(_faulted(aws_clients, "sagemaker:CreateModelPackage")) > 0
    aws_clients.sandbox.set_faults(lost_response_rate=0.0, server_error_rate=0.0)
    listed = aws_clients.sagemaker.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]
    assert sorted(p["ModelPackageArn"] for p in listed) == sorted(arns)
    assert len(arns) == 3


def test_status_writes_through_lost_answers_are_applied_once(aws_clients: AwsClients) -> None:
    hook = SageMakerRegistryHook(aws_conn_id=CONN_ID)
    group = _name("grp-lost")
    hook.ensure_model_package_group(group, description="g")
    arn = aws_clients.sagemaker.create_model_package(
        ModelPackageGroupName=group, ModelApprovalStatus="PendingManualApproval"
    )["ModelPackageArn"]
    _lose(aws_clients, "sagemaker:UpdateModelPackage", seed=11)
    statuses = [S.PRE_IMPLEMENTATION_REVIEW, S.VALIDATION_COMPLETE, S.APPROVED_FOR_DEPLOYMENT]
    for status in statuses:
        hook.write_status(arn, status, token_parts=("mlc", "run-1", status.value))
    assert sum(_faulted(aws_clients, "sagemaker:UpdateModelPackage")) > 0
    aws_clients.sandbox.set_faults(lost_response_rate=0.0, server_error_rate=0.0)
    changes = [e for e in aws_clients.sandbox.events() if e["resources"] == [arn]]
    assert len(changes) == 1 + len(statuses), "one state-change event for the create and per status write"
    final = aws_clients.sagemaker.describe_model_package(ModelPackageName=arn)
    assert final["ModelApprovalStatus"] == "Approved"


def test_evidence_put_through_lost_answers_stores_one_version_of_each_object(aws_clients: AwsClients) -> None:
    bucket = _name("evidence-lost")
    s3 = aws_clients.s3
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    # The S3 client the tasks use (the Amazon provider's S3Hook, with its default retries).
    s3_hook = aws_hook_factories()["s3"](CONN_ID, aws_clients.sandbox.region)
    store = EvidenceStore(s3_hook.get_conn(), bucket)
    _lose(aws_clients, "s3:PutObject", seed=2)
    bodies = {f"snapshots/{i}.json": json.dumps({"snapshot": i}).encode() for i in range(5)}
    for key, body in bodies.items():
        store.put(key, body, what="the snapshot")
    assert sum(_faulted(aws_clients, "s3:PutObject")) > 0
    aws_clients.sandbox.set_faults(lost_response_rate=0.0, server_error_rate=0.0)
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert sorted(v["Key"] for v in versions) == sorted(bodies), "one version per object, none stacked"
    for key, body in bodies.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
        assert store.put(key, body, what="the snapshot").created is False


def test_an_endpoint_and_a_processing_job_created_through_lost_answers_exist_once(
    aws_clients: AwsClients,
) -> None:
    jobs = SageMakerJobsHook(aws_conn_id=CONN_ID)
    sm = aws_clients.sagemaker
    model, config = _name("m-lost"), _name("cfg-lost")
    sm.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    sm.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    endpoints = [_name("ep-lost") for _ in range(3)]
    job_names = [_name("job-lost") for _ in range(3)]
    _lose(aws_clients, "sagemaker:CreateEndpoint", "sagemaker:CreateProcessingJob", seed=4)
    for name in endpoints:
        jobs.create_endpoint(name, config, tags={"governance:model_id": "7"})
    for name in job_names:
        described, _ = jobs.ensure_processing_job(
            {
                "ProcessingJobName": name,
                "RoleArn": ROLE,
                "AppSpecification": {"ImageUri": IMAGE},
                "ProcessingResources": {
                    "ClusterConfig": {
                        "InstanceCount": 1,
                        "InstanceType": "ml.m5.xlarge",
                        "VolumeSizeInGB": 30,
                    }
                },
            }
        )
        assert described["ProcessingJobName"] == name
    faulted = sum(_faulted(aws_clients, "sagemaker:CreateEndpoint")) + sum(
        _faulted(aws_clients, "sagemaker:CreateProcessingJob")
    )
    assert faulted > 0
    aws_clients.sandbox.set_faults(lost_response_rate=0.0, server_error_rate=0.0)
    listed = {
        e["EndpointName"] for e in sm.list_endpoints(MaxResults=100, NameContains="ep-lost")["Endpoints"]
    }
    assert set(endpoints) <= listed
    for name in endpoints:
        assert sm.describe_endpoint(EndpointName=name)["EndpointConfigName"] == config
    listed_jobs = [
        j["ProcessingJobName"]
        for j in sm.list_processing_jobs(MaxResults=100, NameContains="job-lost")["ProcessingJobSummaries"]
    ]
    assert sorted(n for n in listed_jobs if n in job_names) == sorted(job_names)
