"""Search on ModelPackage: LastModifiedTime and ModelLifeCycle.Stage filters, paging, sub-expressions."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from sandbox.aws.pytest_fixtures import AwsClients

pytestmark = pytest.mark.integration


def _in_group(group: str, *filters: dict[str, str]) -> dict[str, object]:
    return {
        "Filters": [{"Name": "ModelPackageGroupName", "Operator": "Equals", "Value": group}, *filters],
    }


def _arns(results: list[dict[str, dict[str, object]]]) -> list[object]:
    return [r["ModelPackage"]["ModelPackageArn"] for r in results]


def test_filter_on_lifecycle_stage(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    dev = sm.create_model_package(
        ModelPackageGroupName=group, ModelLifeCycle={"Stage": "Development", "StageStatus": "InProgress"}
    )["ModelPackageArn"]
    prod = sm.create_model_package(
        ModelPackageGroupName=group, ModelLifeCycle={"Stage": "Production", "StageStatus": "Approved"}
    )["ModelPackageArn"]
    sm.create_model_package(ModelPackageGroupName=group)
    found = sm.search(
        Resource="ModelPackage",
        SearchExpression=_in_group(
            group, {"Name": "ModelLifeCycle.Stage", "Operator": "Equals", "Value": "Production"}
        ),
    )["Results"]
    assert _arns(found) == [prod]
    full = found[0]["ModelPackage"]
    assert full["ModelLifeCycle"] == {"Stage": "Production", "StageStatus": "Approved"}
    assert full["Tags"] == [{"Key": "use-case", "Value": "uc-1"}]
    either = sm.search(
        Resource="ModelPackage",
        SearchExpression=_in_group(
            group, {"Name": "ModelLifeCycle.Stage", "Operator": "In", "Value": "Development,Production"}
        ),
        SortBy="CreationTime",
        SortOrder="Ascending",
    )["Results"]
    assert _arns(either) == [dev, prod]
    missing = sm.search(
        Resource="ModelPackage",
        SearchExpression=_in_group(group, {"Name": "ModelLifeCycle", "Operator": "NotExists"}),
    )["Results"]
    assert len(missing) == 1


def test_filter_on_last_modified_time(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    old = sm.create_model_package(ModelPackageGroupName=group)["ModelPackageArn"]
    touched = sm.create_model_package(ModelPackageGroupName=group)["ModelPackageArn"]
    mark = sm.describe_model_package(ModelPackageName=touched)["LastModifiedTime"]
    sm.update_model_package(ModelPackageArn=touched, ModelApprovalStatus="Approved")
    since = {"Name": "LastModifiedTime", "Operator": "GreaterThan", "Value": mark.isoformat()}
    found = sm.search(Resource="ModelPackage", SearchExpression=_in_group(group, since))["Results"]
    assert _arns(found) == [touched]
    epoch = {"Name": "LastModifiedTime", "Operator": "GreaterThan", "Value": str(mark.timestamp())}
    assert _arns(sm.search(Resource="ModelPackage", SearchExpression=_in_group(group, epoch))["Results"]) == [
        touched
    ]
    # default order: most recently modified first
    everything = sm.search(Resource="ModelPackage", SearchExpression=_in_group(group))["Results"]
    assert _arns(everything) == [touched, old]


def test_paging_with_next_token(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    arns = {sm.create_model_package(ModelPackageGroupName=group)["ModelPackageArn"] for _ in range(7)}
    first = sm.search(Resource="ModelPackage", SearchExpression=_in_group(group), MaxResults=3)
    assert len(first["Results"]) == 3
    assert "NextToken" in first
    paginator = sm.get_paginator("search")
    seen = [
        r["ModelPackage"]["ModelPackageArn"]
        for page in paginator.paginate(
            Resource="ModelPackage", SearchExpression=_in_group(group), PaginationConfig={"PageSize": 3}
        )
        for r in page["Results"]
    ]
    assert sorted(seen) == sorted(arns)
    assert aws_clients.sandbox.request_count("sagemaker:Search") == 1 + 3
    # the page size may change between pages; the filters may not
    rest = sm.search(
        Resource="ModelPackage", SearchExpression=_in_group(group), MaxResults=4, NextToken=first["NextToken"]
    )
    assert len(rest["Results"]) == 4
    assert "NextToken" not in rest
    with pytest.raises(ClientError) as excinfo:
        sm.search(
            Resource="ModelPackage",
            SearchExpression=_in_group(group),
            SortBy="CreationTime",
            NextToken=first["NextToken"],
        )
    assert excinfo.value.response["Error"]["Code"] == "ValidationException"


def test_metadata_filter_sub_expressions_and_or(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    a = sm.create_model_package(
        ModelPackageGroupName=group, CustomerMetadataProperties={"gov.model_id": "m-1"}
    )["ModelPackageArn"]
    b = sm.create_model_package(ModelPackageGroupName=group, ModelApprovalStatus="Approved")[
        "ModelPackageArn"
    ]
    sm.create_model_package(ModelPackageGroupName=group, ModelApprovalStatus="Rejected")
    expression = {
        "Filters": [{"Name": "ModelPackageGroupName", "Operator": "Equals", "Value": group}],
        "SubExpressions": [
            {
                "Operator": "Or",
                "Filters": [
                    {"Name": "CustomerMetadataProperties.gov.model_id", "Operator": "Equals", "Value": "m-1"},
                    {"Name": "ModelApprovalStatus", "Operator": "Equals", "Value": "Approved"},
                ],
            }
        ],
        "Operator": "And",
    }
    found = sm.search(
        Resource="ModelPackage",
        SearchExpression=expression,
        SortBy="ModelPackageVersion",
        SortOrder="Ascending",
    )
    assert _arns(found["Results"]) == [a, b]
    versions = sm.search(
        Resource="ModelPackage",
        SearchExpression=_in_group(
            group, {"Name": "ModelPackageVersion", "Operator": "GreaterThanOrEqualTo", "Value": "2"}
        ),
    )["Results"]
    assert len(versions) == 2


def test_bad_time_value_is_explained(aws_clients: AwsClients, group: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        aws_clients.sagemaker.search(
            Resource="ModelPackage",
            SearchExpression={
                "Filters": [{"Name": "LastModifiedTime", "Operator": "GreaterThan", "Value": "yesterday"}]
            },
        )
    assert excinfo.value.response["Error"]["Code"] == "ValidationException"
    assert "ISO 8601" in excinfo.value.response["Error"]["Message"]


def test_search_on_other_resources_goes_to_moto(aws_clients: AwsClients) -> None:
    result = aws_clients.sagemaker.search(Resource="TrainingJob")
    assert result["Results"] == []


def test_nested_filters_match_within_one_list_element(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/scorer:2"
    wanted = sm.create_model_package(
        ModelPackageGroupName=group,
        InferenceSpecification={
            "Containers": [{"Image": image, "ModelDataUrl": "s3://models/a.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    sm.create_model_package(
        ModelPackageGroupName=group,
        InferenceSpecification={
            "Containers": [
                {"Image": image, "ModelDataUrl": "s3://models/other.tar.gz"},
                {
                    "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/other:1",
                    "ModelDataUrl": "s3://models/a.tar.gz",
                },
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )
    prop = "InferenceSpecification.Containers"
    expression = {
        **_in_group(group),
        "NestedFilters": [
            {
                "NestedPropertyName": prop,
                "Filters": [
                    {"Name": f"{prop}.Image", "Operator": "Equals", "Value": image},
                    {"Name": f"{prop}.ModelDataUrl", "Operator": "Contains", "Value": "/a.tar"},
                ],
            }
        ],
    }
    assert _arns(sm.search(Resource="ModelPackage", SearchExpression=expression)["Results"]) == [wanted]
