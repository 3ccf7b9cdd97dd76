"""SageMakerRegistryHook through the Amazon provider's connection handling, against the AWS sandbox."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from model_governance.exceptions import ConflictError, InvalidInputError, NotFoundError
from model_governance.hooks.sagemaker_registry import SageMakerRegistryHook
from model_governance.lifecycle import GovernanceStatus as S
from sandbox.aws.pytest_fixtures import AwsClients, AwsSandbox

CONN_ID = "aws_sandbox"


@pytest.fixture
def hook(aws_clients: AwsClients, monkeypatch: pytest.MonkeyPatch) -> SageMakerRegistryHook:
    sandbox: AwsSandbox = aws_clients.sandbox
    connection = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"endpoint_url": sandbox.endpoint_url, "region_name": sandbox.region},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))
    return SageMakerRegistryHook(aws_conn_id=CONN_ID)


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _package(aws_clients: AwsClients, group: str) -> str:
    response = aws_clients.sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription="churn v1",
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        CustomerMetadataProperties={"BASELINE_DATA": "s3://data/baseline.parquet"},
        ModelApprovalStatus="PendingManualApproval",
    )
    return str(response["ModelPackageArn"])


def test_group_creation_is_idempotent(hook: SageMakerRegistryHook, aws_clients: AwsClients) -> None:
    name = _name("uc-7-churn")
    arn, created = hook.ensure_model_package_group(
        name, description="Use case 7", tags={"governance:use_case_id": "7"}
    )
    again, created_again = hook.ensure_model_package_group(name, description="Use case 7")
    assert (created, created_again, again) == (True, False, arn)
    tags = aws_clients.sagemaker.list_tags(ResourceArn=arn)["Tags"]
    assert {"Key": "governance:use_case_id", "Value": "7"} in tags
    assert aws_clients.sandbox.request_count("sagemaker:CreateModelPackageGroup") == 1


def test_status_write_and_retry_with_the_same_token(
    hook: SageMakerRegistryHook, aws_clients: AwsClients
) -> None:
    group = _name("grp")
    hook.ensure_model_package_group(group, description="g")
    arn = _package(aws_clients, group)
    token = ("mlc", "run-1", "approve")
    hook.write_status(arn, S.APPROVED_FOR_DEPLOYMENT, token_parts=token, description="Approved in MLC-4")
    first = hook.describe_model_package(arn)
    hook.write_status(arn, S.APPROVED_FOR_DEPLOYMENT, token_parts=token, description="Approved in MLC-4")
    second = hook.describe_model_package(arn)
    assert first["ModelLifeCycle"] == {
        "Stage": "Deployment",
        "StageStatus": "Approved",
        "StageDescription": "Approved in MLC-4",
    }
    assert first["ModelApprovalStatus"] == "Approved"
    assert second["LastModifiedTime"] == first["LastModifiedTime"], "a retried write is not applied twice"
    assert first["CustomerMetadataProperties"] == {"BASELINE_DATA": "s3://data/baseline.parquet"}


def test_metadata_merges_and_bad_metadata_never_reaches_aws(
    hook: SageMakerRegistryHook, aws_clients: AwsClients
) -> None:
    group = _name("grp")
    hook.ensure_model_package_group(group, description="g")
    arn = _package(aws_clients, group)
    hook.put_metadata(
        arn, {"governance:model_id": "12", "governance:status": "Deployed"}, token_parts=("r", "1")
    )
    hook.put_metadata(
        arn, {"governance:status": "Rejected"}, token_parts=("r", "2"), remove=["governance:model_id"]
    )
    metadata = hook.describe_model_package(arn)["CustomerMetadataProperties"]
    assert metadata == {"BASELINE_DATA": "s3://data/baseline.parquet", "governance:status": "Rejected"}
    updates = aws_clients.sandbox.request_count("sagemaker:UpdateModelPackage")
    with pytest.raises(InvalidInputError, match="presigned"):
        hook.put_metadata(arn, {"doc": "https://x/doc?sig=1&a=2"}, token_parts=("r", "3"))
    assert aws_clients.sandbox.request_count("sagemaker:UpdateModelPackage") == updates
    # nothing changed: no write at all
    hook.put_metadata(arn, {"governance:status": "Rejected"}, token_parts=("r", "4"))
    assert aws_clients.sandbox.request_count("sagemaker:UpdateModelPackage") == updates


def test_model_card_merge_and_archived_refusal(hook: SageMakerRegistryHook, aws_clients: AwsClients) -> None:
    group = _name("grp")
    hook.ensure_model_package_group(group, description="g")
    arn = _package(aws_clients, group)
    hook.update_model_card(arn, {"intended_uses": {"risk_rating": "High"}}, token_parts=("r", "1"))
    custom = {"additional_information": {"custom_details": {"review_document": "ab" * 32}}}
    hook.update_model_card(arn, custom, token_parts=("r", "2"), status="Archived")
    card = hook.describe_model_package(arn)["ModelCard"]
    assert json.loads(card["ModelCardContent"]) == {"intended_uses": {"risk_rating": "High"}, **custom}
    assert card["ModelCardStatus"] == "Archived"
    with pytest.raises(ConflictError, match="Archived"):
        hook.update_model_card(arn, {"intended_uses": {"risk_rating": "Low"}}, token_parts=("r", "3"))


def test_search_pages_and_filters(hook: SageMakerRegistryHook, aws_clients: AwsClients) -> None:
    group = _name("grp")
    hook.ensure_model_package_group(group, description="g")
    since = datetime.now(UTC) - timedelta(seconds=1)
    arns = [_package(aws_clients, group) for _ in range(23)]
    hook.write_status(arns[3], S.DEPLOYED, token_parts=("r", "d"), include_approval=False)
    found = [
        p["ModelPackageArn"]
        for p in hook.iter_modified_since(since)
        if p.get("ModelPackageGroupName") == group
    ]
    assert sorted(found) == sorted(arns)
    assert found[-1] == arns[3], "oldest first: the package just updated comes last"
    deployed = [
        p["ModelPackageArn"]
        for p in hook.iter_modified_since(since, stage="Deployment")
        if p.get("ModelPackageGroupName") == group  # the session's sandbox is shared by other tests
    ]
    assert deployed == [arns[3]]
    assert len(list(hook.iter_group_packages(group))) == 23


def test_missing_package_is_not_found(hook: SageMakerRegistryHook, aws_clients: AwsClients) -> None:
    account = aws_clients.sandbox.account_id
    arn = f"arn:aws:sagemaker:us-east-1:{account}:model-package/nope-{uuid.uuid4().hex[:6]}/1"
    with pytest.raises(NotFoundError, match="does not exist"):
        hook.describe_model_package(arn)
    with pytest.raises(NotFoundError):
        hook.write_status(arn, S.REJECTED, token_parts=("r",))


def test_throttling_is_absorbed(hook: SageMakerRegistryHook, aws_clients: AwsClients) -> None:
    group = _name("grp")
    hook.ensure_model_package_group(group, description="g")
    aws_clients.sandbox.set_faults(throttle_rate=0.5, seed=7, actions=["sagemaker:DescribeModelPackageGroup"])
    for _ in range(5):
        assert hook.describe_model_package_group(group) is not None
    counters = aws_clients.sandbox.counters()
    assert sum(counters["throttled"].values()) > 0, counters


def test_the_sandbox_records_who_registered_and_who_changed_a_package(
    hook: SageMakerRegistryHook, aws_clients: AwsClients
) -> None:
    import boto3

    group = _name("grp")
    hook.ensure_model_package_group(group, description="g")
    studio = boto3.client(
        "sagemaker",
        endpoint_url=aws_clients.sandbox.endpoint_url,
        region_name=aws_clients.sandbox.region,
        aws_access_key_id="studio-alice",
        aws_secret_access_key="testing",
    )
    arn = studio.create_model_package(
        ModelPackageGroupName=group,
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    created = hook.describe_model_package(arn)
    assert created["CreatedBy"]["UserProfileName"] == "alice"
    assert created["CreatedBy"]["DomainId"] == "d-sandbox"
    assert created["LastModifiedBy"] == created["CreatedBy"]

    body = {"ModelApprovalStatus": "Rejected"}
    hook.update_model_package(arn, body, token_parts=("mlc", "run-1", "reject"))
    changed = hook.describe_model_package(arn)
    assert changed["ModelApprovalStatus"] == "Rejected"
    assert changed["CreatedBy"]["UserProfileName"] == "alice", "CreatedBy never changes"
    assert changed["LastModifiedBy"] == {
        "IamIdentity": {"Arn": "arn:aws:iam::123456789012:user/testing", "PrincipalId": "testing"}
    }
    searched = next(hook.search_packages([arn]))
    assert searched["LastModifiedBy"] == changed["LastModifiedBy"], "Search returns them too"
    hook.update_model_package(arn, body, token_parts=("mlc", "run-1", "reject"))
    assert hook.describe_model_package(arn)["LastModifiedTime"] == changed["LastModifiedTime"]
