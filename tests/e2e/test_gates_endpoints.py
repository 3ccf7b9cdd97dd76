"""Deployed means serving what was approved, through real Airflow (the shared stack's lifecycle sync DAG):
an endpoint serving a version that is not approved shows on the dashboard's urgent list as an ungoverned
endpoint until it stops; an approved version set to Deployment/Complete by hand stays Approved for
Deployment (SageMaker's value written back) until an endpoint serves it, then it is Deployed."""

from __future__ import annotations

import time
import uuid
from typing import Any

from model_governance.inventory import EventSource
from model_governance.lifecycle import GovernanceStatus as S
from model_governance.ui.queries import DashboardQueries, Filters
from tests.e2e.conftest import Stack

SYNC_DAG = "sagemaker_lifecycle_sync"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1"


def _group(stack: Stack) -> str:
    entity = stack.settings["business_entities"][0]
    stack.inventory.ensure_business_entity(
        name=stack.entity,
        account_id=entity["account_id"],
        region=entity["region"],
        aws_conn_id=entity["aws_conn_id"],
    )
    use_case = stack.inventory.create_use_case(
        business_entity=stack.entity,
        name=f"Churn (endpoints e2e {uuid.uuid4().hex[:6]})",
        risk_level="Medium",
        owner="owner@example.com",
    )
    group = f"churn-ep-{uuid.uuid4().hex[:6]}"
    arn = stack.aws.client("sagemaker").create_model_package_group(ModelPackageGroupName=group)[
        "ModelPackageGroupArn"
    ]
    stack.inventory.link_model_group(use_case_id=use_case.id, name=group, arn=arn)
    return group


def _register(stack: Stack, group: str) -> str:
    """A version still under development (so the sync starts no implementation run for it)."""
    return str(
        stack.aws.client("sagemaker").create_model_package(
            ModelPackageGroupName=group,
            ModelPackageDescription="churn model",
            InferenceSpecification={
                "Containers": [{"Image": IMAGE}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelApprovalStatus="PendingManualApproval",
            ModelLifeCycle={"Stage": "Development", "StageStatus": "InProgress"},
        )["ModelPackageArn"]
    )


def _sync(stack: Stack) -> None:
    run_id = f"endpoints-{uuid.uuid4().hex[:8]}"
    stack.airflow.trigger(SYNC_DAG, run_id, conf={"full": False})
    state = stack.airflow.wait_for_run(SYNC_DAG, run_id, timeout=300)
    assert state == "success", stack.airflow.task_states(SYNC_DAG, run_id)


def _deploy(stack: Stack, arn: str) -> str:
    """The deployer: a model built from the package, its configuration, an endpoint InService."""
    sagemaker = stack.aws.client("sagemaker")
    name = f"ep-{uuid.uuid4().hex[:8]}"
    sagemaker.create_model(
        ModelName=name,
        Containers=[{"ModelPackageName": arn}],
        ExecutionRoleArn=f"arn:aws:iam::{stack.aws.account_id}:role/sagemaker",
    )
    sagemaker.create_endpoint_config(
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
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    deadline = time.monotonic() + 60
    while sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] != "InService":
        assert time.monotonic() < deadline, f"endpoint {name} never came into service"
        time.sleep(0.5)
    return name


def _urgent(stack: Stack, model_id: int) -> list[Any]:
    issues = DashboardQueries(stack.inventory.engine).urgent_issues(Filters(), approval_sla_hours=48)
    return [i for i in issues.items if i.kind == "ungoverned_endpoint" and i.model_id == model_id]


def _lifecycle(stack: Stack, arn: str) -> tuple[str, str]:
    described = stack.aws.client("sagemaker").describe_model_package(ModelPackageName=arn)["ModelLifeCycle"]
    return described["Stage"], described["StageStatus"]


def test_an_endpoint_serving_an_unapproved_version_is_urgent_on_the_dashboard(stack: Stack) -> None:
    group = _group(stack)
    arn = _register(stack, group)
    _sync(stack)
    model = stack.inventory.get_model(arn)
    assert model.status == S.UNDER_DEVELOPMENT.value

    endpoint = _deploy(stack, arn)
    _sync(stack)
    (issue,) = _urgent(stack, model.id)
    assert issue.label == "Endpoint serving an unapproved version"
    assert endpoint in issue.detail and "Under Development" in issue.detail

    stack.aws.client("sagemaker").delete_endpoint(EndpointName=endpoint)
    _sync(stack)
    assert _urgent(stack, model.id) == [], "resolved once the endpoint stops serving it"


def test_the_approved_version_reaches_deployed_only_once_its_endpoint_serves_it(stack: Stack) -> None:
    group = _group(stack)
    arn = _register(stack, group)
    _sync(stack)
    sagemaker = stack.aws.client("sagemaker")
    # What the implementation run does up to the production approval (its Jira gates have e2e tests of
    # their own): the inventory first, then SageMaker.
    for status in (
        S.PRE_IMPLEMENTATION_REVIEW,
        S.VALIDATION_COMPLETE,
        S.AWAITING_APPROVAL,
        S.APPROVED_FOR_DEPLOYMENT,
    ):
        stack.inventory.transition(
            stack.inventory.get_model(arn), status, source=EventSource.GOVERNANCE, actor="mlc", reason="e2e"
        )
    sagemaker.update_model_package(
        ModelPackageArn=arn,
        ModelApprovalStatus="Approved",
        ModelLifeCycle={"Stage": "Deployment", "StageStatus": "Approved"},
    )
    _sync(stack)

    # Set by hand with no endpoint serving it: not recorded, governance's value written back.
    sagemaker.update_model_package(
        ModelPackageArn=arn, ModelLifeCycle={"Stage": "Deployment", "StageStatus": "Complete"}
    )
    _sync(stack)
    assert stack.inventory.get_model(arn).status == S.APPROVED_FOR_DEPLOYMENT.value
    assert _lifecycle(stack, arn) == ("Deployment", "Approved")

    endpoint = _deploy(stack, arn)
    sagemaker.update_model_package(
        ModelPackageArn=arn, ModelLifeCycle={"Stage": "Deployment", "StageStatus": "Complete"}
    )
    _sync(stack)
    model = stack.inventory.get_model(arn)
    assert model.status == S.DEPLOYED.value
    last = stack.inventory.status_history(model)[-1]
    assert f"endpoint {endpoint} serves it" in last.reason
    assert _urgent(stack, model.id) == []
    sagemaker.delete_endpoint(EndpointName=endpoint)
