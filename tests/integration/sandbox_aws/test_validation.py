"""Server-side validation answered as AWS does: one ValidationException in Coral's wording.

botocore checks only types, required members and minimums before sending; everything here reaches the
server, like it would reach AWS.
"""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from sandbox.aws.pytest_fixtures import AwsClients

pytestmark = pytest.mark.integration

STAGE_PATTERN = "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"


def _message(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    assert excinfo.value.response["Error"]["Code"] == "ValidationException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(excinfo.value.response["Error"]["Message"])


@pytest.mark.parametrize(
    ("lifecycle", "path"),
    [
        ({"Stage": "In Review", "StageStatus": "Open"}, "modelLifeCycle.stage"),
        ({"Stage": "Review", "StageStatus": "double--hyphen-end-"}, "modelLifeCycle.stageStatus"),
        ({"Stage": "a" * 64, "StageStatus": "Open"}, "modelLifeCycle.stage"),
        ({"Stage": "Review", "StageStatus": "Pending_Approval"}, "modelLifeCycle.stageStatus"),
    ],
)
def test_stage_names_follow_the_entity_name_pattern(
    aws_clients: AwsClients, group: str, lifecycle: dict[str, str], path: str
) -> None:
    with pytest.raises(ClientError) as excinfo:
        aws_clients.sagemaker.create_model_package(ModelPackageGroupName=group, ModelLifeCycle=lifecycle)
    message = _message(excinfo)
    # a 64-character name breaks both the length and the pattern: Coral lists each violation
    assert re.match(r"\d validation errors? detected: Value '", message)
    assert f"at '{path}' failed to satisfy constraint" in message


def test_stage_pattern_message_quotes_the_pattern(aws_clients: AwsClients, group: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        aws_clients.sagemaker.create_model_package(
            ModelPackageGroupName=group, ModelLifeCycle={"Stage": "In Review", "StageStatus": "Open"}
        )
    assert _message(excinfo) == (
        "1 validation error detected: Value 'In Review' at 'modelLifeCycle.stage' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {STAGE_PATTERN}"
    )


def test_stage_description_length(aws_clients: AwsClients, group: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        aws_clients.sagemaker.create_model_package(
            ModelPackageGroupName=group,
            ModelLifeCycle={"Stage": "Dev", "StageStatus": "Open", "StageDescription": "x" * 1025},
        )
    assert "Member must have length less than or equal to 1024" in _message(excinfo)


def test_update_validates_too(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    arn = sm.create_model_package(ModelPackageGroupName=group)["ModelPackageArn"]
    with pytest.raises(ClientError) as excinfo:
        sm.update_model_package(ModelPackageArn=arn, ModelLifeCycle={"Stage": "a b", "StageStatus": "c"})
    assert "modelLifeCycle.stage" in _message(excinfo)


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"url": "https://x/y?sig=1&t=2"}, "Map value must satisfy constraint"),
        ({"k#1": "v"}, "Map keys must satisfy constraint"),
        ({"k" * 129: "v"}, "Member must have length less than or equal to 128"),
        ({"k": "v" * 257}, "Member must have length less than or equal to 256"),
        ({f"k{i}": "v" for i in range(51)}, "Member must have length less than or equal to 50"),
    ],
)
def test_customer_metadata_limits(
    aws_clients: AwsClients, group: str, metadata: dict[str, str], expected: str
) -> None:
    with pytest.raises(ClientError) as excinfo:
        aws_clients.sagemaker.create_model_package(
            ModelPackageGroupName=group, CustomerMetadataProperties=metadata
        )
    message = _message(excinfo)
    assert "at 'customerMetadataProperties'" in message
    assert expected in message


def test_customer_metadata_allowed_characters(aws_clients: AwsClients, group: str) -> None:
    allowed = {"governance:model id": "s3://bucket/key_1.json =+-@ Zürich 42"}
    arn = aws_clients.sagemaker.create_model_package(
        ModelPackageGroupName=group, CustomerMetadataProperties=allowed
    )["ModelPackageArn"]
    assert (
        aws_clients.sagemaker.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"]
        == allowed
    )


def test_enum_values(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    with pytest.raises(ClientError) as excinfo:
        sm.create_model_package(ModelPackageGroupName=group, ModelApprovalStatus="approved")
    assert "Member must satisfy enum value set: [Approved, Rejected, PendingManualApproval]" in _message(
        excinfo
    )
    arn = sm.create_model_package(ModelPackageGroupName=group)["ModelPackageArn"]
    with pytest.raises(ClientError) as excinfo:
        sm.update_model_package(ModelPackageArn=arn, ModelCard={"ModelCardStatus": "Final"})
    assert "modelCard.modelCardStatus" in _message(excinfo)


def test_several_errors_are_reported_together(aws_clients: AwsClients, group: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        aws_clients.sagemaker.create_model_package(
            ModelPackageGroupName=group,
            ModelApprovalStatus="Yes",
            ModelLifeCycle={"Stage": "a b", "StageStatus": "ok"},
        )
    message = _message(excinfo)
    assert message.startswith("2 validation errors detected: ")
    assert "; Value " in message


def test_group_name_pattern_and_client_token(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    with pytest.raises(ClientError) as excinfo:
        sm.create_model_package_group(ModelPackageGroupName="bad_name")
    assert "modelPackageGroupName" in _message(excinfo)
    with pytest.raises(ClientError) as excinfo:
        sm.create_model_package(ModelPackageGroupName=group, ClientToken="x" * 37)
    assert "at 'clientToken'" in _message(excinfo)


def test_search_max_results_cap(aws_clients: AwsClients) -> None:
    with pytest.raises(ClientError) as excinfo:
        aws_clients.sagemaker.search(Resource="ModelPackage", MaxResults=101)
    assert "Member must have value less than or equal to 100" in _message(excinfo)


def test_client_side_checks_stay_client_side(aws_clients: AwsClients, group: str) -> None:
    # botocore refuses an empty Stage before sending, as it would against AWS: nothing reaches the server.
    with pytest.raises(ParamValidationError):
        aws_clients.sagemaker.create_model_package(
            ModelPackageGroupName=group, ModelLifeCycle={"Stage": "", "StageStatus": "x"}
        )
    assert aws_clients.sandbox.request_count("sagemaker:CreateModelPackage") == 0
