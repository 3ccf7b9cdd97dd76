"""Contract: every field the sandbox returns for model packages and groups exists in botocore's output
shape, with the wire type the shape declares.

boto3 silently drops unknown fields while parsing, so the check reads the raw JSON body the server sent
(botocore's ``before-parse`` event) instead of the parsed result.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import botocore.session
import pytest
from botocore.model import Shape

from sandbox.aws.pytest_fixtures import AwsClients

pytestmark = pytest.mark.integration

CARD = json.dumps({"model_overview": {"model_creator": "contract"}})
_WIRE_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "boolean": (bool,),
    "timestamp": (int, float),  # awsJson sends epoch seconds
    "double": (int, float),
    "float": (int, float),
}


def shape_violations(value: Any, shape: Shape, path: str) -> list[str]:
    """Fields in ``value`` that the shape does not declare, or whose JSON type does not match."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected an object for {shape.name}, got {type(value).__name__}"]
        problems = []
        for key, item in value.items():
            if key not in shape.members:
                problems.append(f"{path}.{key}: not a member of {shape.name}")
            else:
                problems += shape_violations(item, shape.members[key], f"{path}.{key}")
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list for {shape.name}"]
        return [
            p for i, item in enumerate(value) for p in shape_violations(item, shape.member, f"{path}[{i}]")
        ]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected a map for {shape.name}"]
        return [p for k, item in value.items() for p in shape_violations(item, shape.value, f"{path}[{k}]")]
    expected = _WIRE_TYPES.get(kind)
    if expected is None:
        return []
    if kind in ("integer", "long", "timestamp", "double", "float") and isinstance(value, bool):
        return [f"{path}: boolean where {kind} expected"]
    if not isinstance(value, expected):
        return [f"{path}: {type(value).__name__} where {kind} expected"]
    if kind == "string" and shape.enum and value not in shape.enum:
        return [f"{path}: {value!r} is not one of {shape.enum}"]
    return []


@pytest.fixture
def raw_bodies(aws_clients: AwsClients) -> dict[str, list[dict[str, Any]]]:
    """Raw JSON response bodies per operation name, captured before botocore parses them."""
    captured: dict[str, list[dict[str, Any]]] = {}

    def capture(response_dict: dict[str, Any], operation_model: Any, **_: Any) -> None:
        if response_dict["status_code"] == 200 and response_dict["body"]:
            captured.setdefault(operation_model.name, []).append(json.loads(response_dict["body"]))

    aws_clients.sagemaker.meta.events.register("before-parse.sagemaker.*", capture)
    return captured


def test_returned_fields_exist_in_botocore_output_shapes(
    aws_clients: AwsClients, group: str, raw_bodies: dict[str, list[dict[str, Any]]]
) -> None:
    sm = aws_clients.sagemaker
    arn = sm.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription="contract",
        InferenceSpecification={
            "Containers": [
                {
                    "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/img:1",
                    "ModelDataUrl": "s3://b/m.tar.gz",
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelMetrics={
            "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": "s3://b/q.json"}}
        },
        DriftCheckBaselines={
            "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": "s3://b/d.json"}}
        },
        MetadataProperties={"GeneratedBy": "contract-test"},
        CustomerMetadataProperties={"k": "v"},
        ModelLifeCycle={"Stage": "Development", "StageStatus": "InProgress", "StageDescription": "d"},
        ModelCard={"ModelCardContent": CARD, "ModelCardStatus": "Draft"},
        SourceUri="s3://b/m.tar.gz",
        SkipModelValidation="All",
        Domain="MACHINE_LEARNING",
        Task="CLASSIFICATION",
        SamplePayloadUrl="s3://b/payload.csv",
    )["ModelPackageArn"]
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="ok")
    calls: list[Callable[[], Any]] = [
        lambda: sm.describe_model_package(ModelPackageName=arn),
        lambda: sm.list_model_packages(ModelPackageGroupName=group),
        lambda: sm.batch_describe_model_package(ModelPackageArnList=[arn]),
        lambda: sm.search(
            Resource="ModelPackage",
            SearchExpression={
                "Filters": [{"Name": "ModelPackageGroupName", "Operator": "Equals", "Value": group}]
            },
        ),
        lambda: sm.describe_model_package_group(ModelPackageGroupName=group),
        lambda: sm.list_model_package_groups(NameContains=group),
        lambda: sm.search(
            Resource="ModelPackageGroup",
            SearchExpression={
                "Filters": [{"Name": "ModelPackageGroupName", "Operator": "Equals", "Value": group}]
            },
        ),
        lambda: sm.list_tags(ResourceArn=arn),
        lambda: sm.create_model_package_group(ModelPackageGroupName=group + "-x"),
        lambda: sm.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"k2": "v2"}),
    ]
    for call in calls:
        call()

    model = botocore.session.get_session().get_service_model("sagemaker")
    problems: list[str] = []
    for operation, bodies in raw_bodies.items():
        output = model.operation_model(operation).output_shape
        for body in bodies:
            problems += shape_violations(body, output, operation)
    assert problems == []
    # the fields this project relies on really were on the wire (not merely allowed)
    describe = raw_bodies["DescribeModelPackage"][0]
    for field in (
        "ModelLifeCycle",
        "ModelCard",
        "CustomerMetadataProperties",
        "LastModifiedTime",
        "SourceUri",
    ):
        assert field in describe
    summary = raw_bodies["ListModelPackages"][0]["ModelPackageSummaryList"][0]
    assert "ModelLifeCycle" in summary
    searched = raw_bodies["Search"][0]["Results"][0]["ModelPackage"]
    assert {"ModelLifeCycle", "CustomerMetadataProperties", "Tags", "ModelCard"} <= set(searched)


def test_shape_check_catches_unknown_fields() -> None:
    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model("DescribeModelPackage").output_shape
    assert shape_violations({"ModelPackageName": "x", "Bogus": 1}, shape, "D") == [
        "D.Bogus: not a member of DescribeModelPackageOutput"
    ]
    assert shape_violations({"ModelPackageVersion": "1"}, shape, "D") == [
        "D.ModelPackageVersion: str where integer expected"
    ]
