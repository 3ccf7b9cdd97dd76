"""The sandbox's endpoints and models as the endpoint reconcile reads them, through boto3: models built
from a model package (refused when the package does not exist, as SageMaker does), described with their
``ModelPackageName``; ``ListEndpoints`` pages with ``NextToken`` and filters by status."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from sandbox.aws.pytest_fixtures import AwsClients
from tests.integration.sandbox_aws.conftest import unique

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/sagemaker"


def _package(aws_clients: AwsClients, group: str) -> str:
    return str(
        aws_clients.sagemaker.create_model_package(
            ModelPackageGroupName=group,
            InferenceSpecification={
                "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )["ModelPackageArn"]
    )


def test_a_model_built_from_a_package_names_it_and_an_unknown_package_is_refused(
    aws_clients: AwsClients, group: str
) -> None:
    sagemaker = aws_clients.sagemaker
    arn = _package(aws_clients, group)
    name = unique("model")
    sagemaker.create_model(ModelName=name, Containers=[{"ModelPackageName": arn}], ExecutionRoleArn=ROLE)
    assert sagemaker.describe_model(ModelName=name)["Containers"] == [{"ModelPackageName": arn}]

    missing = arn.rsplit("/", 1)[0] + "/99"
    with pytest.raises(ClientError) as refused:
        sagemaker.create_model(
            ModelName=unique("model"), PrimaryContainer={"ModelPackageName": missing}, ExecutionRoleArn=ROLE
        )
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert missing in refused.value.response["Error"]["Message"]


def test_list_endpoints_pages_and_filters_by_status(aws_clients: AwsClients) -> None:
    sagemaker = aws_clients.sagemaker
    aws_clients.sandbox.set_workloads(endpoint_delay_s=60)  # they stay Creating during the test
    model = unique("model")
    sagemaker.create_model(
        ModelName=model,
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1"},
        ExecutionRoleArn=ROLE,
    )
    config = unique("config")
    sagemaker.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    prefix = unique("paged")
    names = {f"{prefix}-{i}" for i in range(5)}
    for name in sorted(names):
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config)
    try:
        pages = list(
            sagemaker.get_paginator("list_endpoints").paginate(
                NameContains=prefix, StatusEquals="Creating", PaginationConfig={"PageSize": 2}
            )
        )
        assert [len(p["Endpoints"]) for p in pages] == [2, 2, 1]
        assert {e["EndpointName"] for p in pages for e in p["Endpoints"]} == names
        assert sagemaker.list_endpoints(NameContains=prefix, StatusEquals="InService")["Endpoints"] == []
        with pytest.raises(ClientError, match="less than or equal to 100"):
            sagemaker.list_endpoints(MaxResults=101)
    finally:
        for name in names:
            sagemaker.delete_endpoint(EndpointName=name)
