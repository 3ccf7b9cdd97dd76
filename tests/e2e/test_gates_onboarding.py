"""A version registered in SageMaker as Deployment/Complete with ModelApprovalStatus Approved (issue 13)
ends governed through real Airflow: the sync DAG, fed by the queue, onboards it at Development Complete (not
Deployed), writes governance's lifecycle and approval status back to SageMaker, records a drift finding
naming the attempt and the registrant, and its implementation run starts normally (it waits at the PIA)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest

from model_governance.inventory import Inventory, SyncIssueKind
from model_governance.lifecycle import GovernanceStatus as S
from model_governance.lifecycle import to_sagemaker
from model_governance.sync import mlc_run_id
from sandbox.airflow_cluster import AirflowCluster
from sandbox.aws.pytest_fixtures import AwsSandbox
from sandbox.demo import ENTITY
from tests.e2e.conftest import Stack

MLC_DAG = "sagemaker_model_implementation"


@dataclass
class GateStack:
    airflow: AirflowCluster
    aws: AwsSandbox
    inventory: Inventory
    group: str


@pytest.fixture(scope="module")
def gate_stack(stack: Stack) -> Iterator[GateStack]:
    """The shared stack, a use case of this module's own linked to a fresh group, events to the queue."""
    inventory, aws = stack.inventory, stack.aws
    entity = stack.settings["business_entities"][0]
    inventory.ensure_business_entity(
        name=ENTITY,
        account_id=entity["account_id"],
        region=entity["region"],
        aws_conn_id=entity["aws_conn_id"],
    )
    use_case = inventory.create_use_case(
        business_entity=ENTITY,
        name=f"Churn (gates e2e {uuid.uuid4().hex[:6]})",
        risk_level="High",
        owner="owner@example.com",
    )
    group = f"churn-gates-{uuid.uuid4().hex[:6]}"
    group_arn = aws.client("sagemaker").create_model_package_group(ModelPackageGroupName=group)[
        "ModelPackageGroupArn"
    ]
    inventory.link_model_group(use_case_id=use_case.id, name=group, arn=group_arn)
    aws.set_events(queue=stack.queue_name)
    try:
        yield GateStack(stack.airflow, aws, inventory, group)
    finally:
        aws.set_events(queue=None)
        for run in stack.airflow.dag_runs(MLC_DAG):  # leave nothing waiting in the shared stack
            package = str((run.get("conf") or {}).get("package_arn", ""))
            if f"/{group}/" in package and run["state"] not in ("success", "failed"):
                stack.airflow.fail_run(MLC_DAG, run["run_id"], note="gates onboarding e2e: left over")


def _wait_for_run(airflow: AirflowCluster, run_id: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(r["run_id"] == run_id for r in airflow.dag_runs(MLC_DAG)):
            return
        time.sleep(3)
    raise TimeoutError(f"{MLC_DAG}/{run_id} was never started\n{airflow.log_tail('scheduler')}")


def test_registered_as_deployed_and_approved_ends_governed_and_its_mlc_starts(gate_stack: GateStack) -> None:
    stack = gate_stack
    data_scientist = boto3.client(
        "sagemaker",
        endpoint_url=stack.aws.endpoint_url,
        region_name=stack.aws.region,
        aws_access_key_id="studio-mallory",  # the sandbox records Studio user profile "mallory"
        aws_secret_access_key="testing",
    )
    arn = data_scientist.create_model_package(
        ModelPackageGroupName=stack.group,
        ModelPackageDescription="churn model, self-approved",
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelLifeCycle={"Stage": "Deployment", "StageStatus": "Complete"},
        ModelApprovalStatus="Approved",
    )["ModelPackageArn"]

    run_id = mlc_run_id(ENTITY, arn)
    _wait_for_run(stack.airflow, run_id)
    # The implementation run starts as for any new version: onboarded, then waiting at the PIA approval.
    stack.airflow.wait_for_task_state(MLC_DAG, run_id, "pia_approval", {"deferred"}, timeout=240)

    model = stack.inventory.get_model(arn)
    # Development Complete, or Pre Implementation Review if the run's PIA step recorded it already.
    assert model.status in {S.DEVELOPMENT_COMPLETE.value, S.PRE_IMPLEMENTATION_REVIEW.value}, model.status
    first = stack.inventory.status_history(arn)[0]
    assert (first.to_status, first.source) == ("Development Complete", "sagemaker")
    assert "registered as Deployment/Complete" in first.reason
    described = stack.aws.client("sagemaker").describe_model_package(ModelPackageName=arn)
    lifecycle = to_sagemaker(stack.inventory.get_model(arn).status)
    assert (described["ModelLifeCycle"]["Stage"], described["ModelLifeCycle"]["StageStatus"]) == (
        lifecycle.stage,
        lifecycle.stage_status,
    ), "governance's lifecycle, not Deployment/Complete"
    assert described["ModelApprovalStatus"] == "PendingManualApproval", "no deploy-on-approval pipeline fires"
    issues = [
        i
        for i in stack.inventory.open_sync_issues(business_entity=ENTITY, kinds=[SyncIssueKind.DRIFT])
        if i.package_arn == arn
    ]
    assert len(issues) == 1, issues
    assert "registered as Deployment/Complete (Deployed)" in issues[0].detail
    assert "ModelApprovalStatus Approved" in issues[0].detail
    assert "Studio user profile mallory" in issues[0].detail
