"""Model package groups and packages through boto3: the behaviours moto gets wrong, as AWS does them."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from sandbox.aws.pytest_fixtures import AwsClients
from tests.integration.sandbox_aws.conftest import unique

pytestmark = pytest.mark.integration

CARD = json.dumps({"model_overview": {"model_creator": "credit risk team"}})


def _create(sm, group: str, **extra):
    return sm.create_model_package(ModelPackageGroupName=group, **extra)["ModelPackageArn"]


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


# ---- groups ---------------------------------------------------------------------------------------------
def test_group_create_describe_list_delete(aws_clients: AwsClients) -> None:
    sm = aws_clients.sagemaker
    name = unique("Grp")
    arn = sm.create_model_package_group(ModelPackageGroupName=name, ModelPackageGroupDescription="d")[
        "ModelPackageGroupArn"
    ]
    assert arn == f"arn:aws:sagemaker:us-east-1:123456789012:model-package-group/{name.lower()}"
    desc = sm.describe_model_package_group(ModelPackageGroupName=name)
    assert desc["ModelPackageGroupName"] == name
    assert desc["ModelPackageGroupStatus"] == "Completed"
    assert desc["ModelPackageGroupDescription"] == "d"
    # by ARN too
    assert sm.describe_model_package_group(ModelPackageGroupName=arn)["ModelPackageGroupArn"] == arn
    names = [
        g["ModelPackageGroupName"]
        for g in sm.list_model_package_groups(NameContains=name)["ModelPackageGroupSummaryList"]
    ]
    assert names == [name]
    sm.delete_model_package_group(ModelPackageGroupName=name)
    with pytest.raises(ClientError) as excinfo:
        sm.describe_model_package_group(ModelPackageGroupName=name)
    assert _error(excinfo)[0] == "ValidationException"
    assert "does not exist" in _error(excinfo)[1]


def test_group_duplicate_name_refused(aws_clients: AwsClients, group: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        aws_clients.sagemaker.create_model_package_group(ModelPackageGroupName=group)
    assert _error(excinfo)[0] == "ValidationException"
    assert "already exists" in _error(excinfo)[1]


def test_group_with_packages_cannot_be_deleted(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    arn = _create(sm, group)
    with pytest.raises(ClientError) as excinfo:
        sm.delete_model_package_group(ModelPackageGroupName=group)
    assert _error(excinfo)[0] == "ConflictException"
    sm.delete_model_package(ModelPackageName=arn)
    sm.delete_model_package_group(ModelPackageGroupName=group)


def test_group_tags_roundtrip_and_search(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    arn = sm.describe_model_package_group(ModelPackageGroupName=group)["ModelPackageGroupArn"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "use-case", "Value": "uc-1"}]
    sm.add_tags(
        ResourceArn=arn, Tags=[{"Key": "owner", "Value": "risk"}, {"Key": "use-case", "Value": "uc-2"}]
    )
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}
    assert tags == {"use-case": "uc-2", "owner": "risk"}
    sm.delete_tags(ResourceArn=arn, TagKeys=["owner"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "use-case", "Value": "uc-2"}]
    found = sm.search(
        Resource="ModelPackageGroup",
        SearchExpression={"Filters": [{"Name": "Tags.use-case", "Operator": "Equals", "Value": "uc-2"}]},
    )["Results"]
    assert [r["ModelPackageGroup"]["ModelPackageGroupName"] for r in found] == [group]


def test_tags_on_other_resources_still_go_to_moto(aws_clients: AwsClients) -> None:
    sm = aws_clients.sagemaker
    arn = sm.create_model(
        ModelName=unique("model"),
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/img:1"},
    )["ModelArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert {"Key": "k", "Value": "v"} in sm.list_tags(ResourceArn=arn)["Tags"]
    assert aws_clients.sandbox.request_count("sagemaker:AddTags") == 1


# ---- packages -------------------------------------------------------------------------------------------
def test_versioned_package_keeps_lifecycle_card_and_defaults(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    arn = _create(
        sm,
        group,
        ModelPackageDescription="v1",
        ModelLifeCycle={"Stage": "Development", "StageStatus": "In-Progress", "StageDescription": "new"},
        ModelCard={"ModelCardContent": CARD, "ModelCardStatus": "Draft"},
        CustomerMetadataProperties={"governance:model-id": "m-1"},
        SourceUri="s3://bucket/model.tar.gz",
        SkipModelValidation="All",
    )
    assert arn == f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group.lower()}/1"
    desc = sm.describe_model_package(ModelPackageName=arn)
    assert desc["ModelPackageVersion"] == 1
    assert desc["ModelPackageGroupName"] == group
    assert desc["ModelApprovalStatus"] == "PendingManualApproval"
    assert desc["ModelLifeCycle"] == {
        "Stage": "Development",
        "StageStatus": "In-Progress",
        "StageDescription": "new",
    }
    assert desc["ModelCard"] == {"ModelCardContent": CARD, "ModelCardStatus": "Draft"}
    assert desc["SourceUri"] == "s3://bucket/model.tar.gz"
    assert desc["SkipModelValidation"] == "All"
    assert desc["CustomerMetadataProperties"] == {"governance:model-id": "m-1"}
    assert desc["ModelPackageStatus"] == "Completed"
    assert desc["LastModifiedTime"] >= desc["CreationTime"]
    # group/version and MetadataOnly
    assert sm.describe_model_package(ModelPackageName=f"{group}/1")["ModelPackageArn"] == arn
    slim = sm.describe_model_package(ModelPackageName=arn, IncludedData="MetadataOnly")
    assert slim["ModelCard"] == {"ModelCardStatus": "Draft"}


def test_versions_increase_and_are_not_reused(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    first, second = _create(sm, group), _create(sm, group)
    assert (first.rsplit("/", 1)[1], second.rsplit("/", 1)[1]) == ("1", "2")
    sm.delete_model_package(ModelPackageName=second)
    assert _create(sm, group).endswith("/3")


def test_versioned_package_inherits_group_tags_and_refuses_own(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    arn = _create(sm, group)
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "use-case", "Value": "uc-1"}]
    with pytest.raises(ClientError) as excinfo:
        _create(sm, group, Tags=[{"Key": "a", "Value": "b"}])
    assert _error(excinfo)[0] == "ValidationException"
    assert "inherits the tags" in _error(excinfo)[1]


def test_unversioned_package_has_no_approval_status(aws_clients: AwsClients) -> None:
    sm = aws_clients.sagemaker
    name = unique("pkg")
    arn = sm.create_model_package(ModelPackageName=name, Tags=[{"Key": "k", "Value": "v"}])["ModelPackageArn"]
    desc = sm.describe_model_package(ModelPackageName=name)
    assert desc["ModelPackageArn"] == arn
    assert "ModelApprovalStatus" not in desc
    assert "ModelPackageGroupName" not in desc
    with pytest.raises(ClientError):
        sm.create_model_package(ModelPackageName=unique("pkg"), ModelApprovalStatus="Approved")
    sm.delete_model_package(ModelPackageName=name)


def test_missing_package_is_a_validation_error(aws_clients: AwsClients, group: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        aws_clients.sagemaker.describe_model_package(ModelPackageName=f"{group}/99")
    assert _error(excinfo) == ("ValidationException", f"ModelPackage {group}/99 does not exist.")


def test_list_summaries_carry_lifecycle_not_metadata(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    _create(
        sm,
        group,
        ModelLifeCycle={"Stage": "Staging", "StageStatus": "Approved"},
        CustomerMetadataProperties={"k": "v"},
    )
    summaries = sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]
    assert len(summaries) == 1
    assert summaries[0]["ModelLifeCycle"] == {"Stage": "Staging", "StageStatus": "Approved"}
    assert summaries[0]["ModelApprovalStatus"] == "PendingManualApproval"
    assert "CustomerMetadataProperties" not in summaries[0]


def test_list_without_group_lists_unversioned_only(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    _create(sm, group)
    name = unique("loose")
    sm.create_model_package(ModelPackageName=name)
    arns_default = [
        s["ModelPackageArn"] for s in sm.list_model_packages(NameContains=name)["ModelPackageSummaryList"]
    ]
    assert len(arns_default) == 1
    by_group = sm.list_model_packages(NameContains=group)["ModelPackageSummaryList"]
    assert by_group == []
    versioned = sm.list_model_packages(NameContains=group, ModelPackageType="Versioned")[
        "ModelPackageSummaryList"
    ]
    assert [s["ModelPackageGroupName"] for s in versioned] == [group]


def test_list_pages_and_sorts(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    arns = [_create(sm, group) for _ in range(5)]
    page = sm.list_model_packages(ModelPackageGroupName=group, MaxResults=2)
    assert [s["ModelPackageArn"] for s in page["ModelPackageSummaryList"]] == arns[:2]
    paginator = sm.get_paginator("list_model_packages")
    seen = [
        s["ModelPackageArn"]
        for p in paginator.paginate(
            ModelPackageGroupName=group, SortOrder="Descending", PaginationConfig={"PageSize": 2}
        )
        for s in p["ModelPackageSummaryList"]
    ]
    assert seen == arns[::-1]
    with pytest.raises(ClientError) as excinfo:
        sm.list_model_packages(
            ModelPackageGroupName=group, NextToken=page["NextToken"], SortOrder="Descending"
        )
    assert "different request" in _error(excinfo)[1]


# ---- update ---------------------------------------------------------------------------------------------
def test_update_changes_only_given_fields_and_merges_metadata(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    arn = _create(
        sm,
        group,
        ModelPackageDescription="keep me",
        ModelLifeCycle={"Stage": "Development", "StageStatus": "InProgress"},
        CustomerMetadataProperties={"a": "1", "b": "2"},
    )
    before = sm.describe_model_package(ModelPackageName=arn)
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="ok")
    sm.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"b": "20", "c": "3"})
    sm.update_model_package(ModelPackageArn=arn, CustomerMetadataPropertiesToRemove=["a", "not-there"])
    after = sm.describe_model_package(ModelPackageName=arn)
    assert after["ModelApprovalStatus"] == "Approved"
    assert after["ApprovalDescription"] == "ok"
    assert after["ModelPackageDescription"] == "keep me"
    assert after["ModelLifeCycle"] == before["ModelLifeCycle"]
    assert after["CustomerMetadataProperties"] == {"b": "20", "c": "3"}
    assert after["CreationTime"] == before["CreationTime"]
    assert after["LastModifiedTime"] > before["LastModifiedTime"]


def test_update_lifecycle_and_remove_all_metadata(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    arn = _create(sm, group, CustomerMetadataProperties={"a": "1"})
    sm.update_model_package(
        ModelPackageArn=arn,
        ModelLifeCycle={"Stage": "Production", "StageStatus": "Approved"},
        CustomerMetadataPropertiesToRemove=["a"],
    )
    desc = sm.describe_model_package(ModelPackageName=arn)
    assert desc["ModelLifeCycle"] == {"Stage": "Production", "StageStatus": "Approved"}
    assert "CustomerMetadataProperties" not in desc


def test_metadata_cap_counts_after_merge(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    arn = _create(sm, group, CustomerMetadataProperties={f"k{i}": "v" for i in range(40)})
    with pytest.raises(ClientError) as excinfo:
        sm.update_model_package(
            ModelPackageArn=arn, CustomerMetadataProperties={f"n{i}": "v" for i in range(11)}
        )
    assert _error(excinfo)[0] == "ValidationException"
    assert "less than or equal to 50" in _error(excinfo)[1]
    assert len(sm.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"]) == 40


def test_same_key_set_and_removed_is_refused(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    arn = _create(sm, group)
    with pytest.raises(ClientError) as excinfo:
        sm.update_model_package(
            ModelPackageArn=arn,
            CustomerMetadataProperties={"a": "1"},
            CustomerMetadataPropertiesToRemove=["a"],
        )
    assert _error(excinfo)[0] == "ValidationException"


def test_archived_model_card_refuses_changes(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    arn = _create(sm, group, ModelCard={"ModelCardContent": CARD, "ModelCardStatus": "Draft"})
    sm.update_model_package(ModelPackageArn=arn, ModelCard={"ModelCardStatus": "Archived"})
    desc = sm.describe_model_package(ModelPackageName=arn)
    assert desc["ModelCard"] == {"ModelCardContent": CARD, "ModelCardStatus": "Archived"}
    with pytest.raises(ClientError) as excinfo:
        sm.update_model_package(ModelPackageArn=arn, ModelCard={"ModelCardStatus": "Draft"})
    assert _error(excinfo)[0] == "ValidationException"
    assert "Archived" in _error(excinfo)[1]
    # the rest of the package can still change
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")


def test_model_card_content_must_be_json(aws_clients: AwsClients, group: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        _create(
            aws_clients.sagemaker,
            group,
            ModelCard={"ModelCardContent": "not json", "ModelCardStatus": "Draft"},
        )
    assert "not valid JSON" in _error(excinfo)[1]


def test_client_token_makes_create_and_update_idempotent(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    token = "run-1-task-register"
    first = _create(sm, group, ClientToken=token)
    again = _create(sm, group, ClientToken=token)
    assert again == first
    assert len(sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]) == 1

    sm.update_model_package(ModelPackageArn=first, CustomerMetadataProperties={"n": "1"}, ClientToken="u-1")
    stamp = sm.describe_model_package(ModelPackageName=first)["LastModifiedTime"]
    sm.update_model_package(ModelPackageArn=first, CustomerMetadataProperties={"n": "2"}, ClientToken="u-1")
    desc = sm.describe_model_package(ModelPackageName=first)
    assert desc["CustomerMetadataProperties"] == {"n": "1"}
    assert desc["LastModifiedTime"] == stamp


def test_delete_model_package(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    arn = _create(sm, group)
    sm.delete_model_package(ModelPackageName=arn)
    with pytest.raises(ClientError):
        sm.describe_model_package(ModelPackageName=arn)
    with pytest.raises(ClientError) as excinfo:
        sm.delete_model_package(ModelPackageName=arn)
    assert _error(excinfo)[0] == "ValidationException"


def test_batch_describe(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    arn = _create(sm, group)
    missing = arn[:-1] + "9"
    out = sm.batch_describe_model_package(ModelPackageArnList=[arn, missing])
    assert out["ModelPackageSummaries"][arn]["ModelApprovalStatus"] == "PendingManualApproval"
    assert out["BatchDescribeModelPackageErrorMap"][missing]["ErrorCode"] == "ValidationException"


def test_concurrent_creates_get_distinct_versions(aws_clients: AwsClients, group: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    clients = [aws_clients.sandbox.client("sagemaker") for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        arns = list(pool.map(lambda i: _create(clients[i % 4], group), range(12)))
    assert sorted(int(a.rsplit("/", 1)[1]) for a in arns) == list(range(1, 13))


def test_additional_inference_specifications_append(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    spec = {"Name": "cpu", "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/i:1"}]}
    arn = _create(sm, group, AdditionalInferenceSpecifications=[spec])
    sm.update_model_package(
        ModelPackageArn=arn, AdditionalInferenceSpecificationsToAdd=[{**spec, "Name": "gpu"}]
    )
    names = [
        s["Name"]
        for s in sm.describe_model_package(ModelPackageName=arn)["AdditionalInferenceSpecifications"]
    ]
    assert names == ["cpu", "gpu"]
    with pytest.raises(ClientError) as excinfo:
        sm.update_model_package(ModelPackageArn=arn, AdditionalInferenceSpecificationsToAdd=[spec])
    assert "must be unique" in _error(excinfo)[1]


def test_tag_limit_is_fifty(aws_clients: AwsClients, group: str) -> None:
    sm = aws_clients.sagemaker
    arn = sm.describe_model_package_group(ModelPackageGroupName=group)["ModelPackageGroupArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(49)])
    with pytest.raises(ClientError) as excinfo:
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "one-too-many", "Value": "v"}])
    assert "limit is 50" in _error(excinfo)[1]


def test_list_groups_sorts_and_pages(aws_clients: AwsClients) -> None:
    sm = aws_clients.sagemaker
    prefix = unique("pg")
    names = [f"{prefix}-{c}" for c in "cab"]
    for name in names:
        sm.create_model_package_group(ModelPackageGroupName=name)
    by_time = sm.list_model_package_groups(NameContains=prefix)["ModelPackageGroupSummaryList"]
    assert [g["ModelPackageGroupName"] for g in by_time] == names
    paginator = sm.get_paginator("list_model_package_groups")
    by_name = [
        g["ModelPackageGroupName"]
        for page in paginator.paginate(
            NameContains=prefix, SortBy="Name", SortOrder="Descending", PaginationConfig={"PageSize": 2}
        )
        for g in page["ModelPackageGroupSummaryList"]
    ]
    assert by_name == sorted(names, reverse=True)
