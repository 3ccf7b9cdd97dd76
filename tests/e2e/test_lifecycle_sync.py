"""The lifecycle sync through real Airflow: a model version registered in the AWS sandbox sends an event to
the business entity's SQS FIFO queue; the triggerer's AssetWatcher (common-messaging MessageQueueTrigger)
receives it, the sync DAG runs, onboards the version and starts its implementation run under the
deterministic run id, once, even when the event is delivered twice; an event sent while the triggerer is
down is picked up after it restarts (messages stay on the queue until the sync settled them)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from model_governance.inventory import Inventory
from model_governance.lifecycle import GovernanceStatus as S
from model_governance.sync import mlc_run_id
from sandbox.airflow_cluster import AirflowCluster
from sandbox.aws.pytest_fixtures import AwsSandbox
from sandbox.demo import ENTITY
from tests.e2e.conftest import Stack

SYNC_DAG = "sagemaker_lifecycle_sync"
MLC_DAG = "sagemaker_model_implementation"


@dataclass
class SyncStack:
    airflow: AirflowCluster
    aws: AwsSandbox
    inventory: Inventory
    queue_url: str
    group: str


@pytest.fixture(scope="module")
def sync_stack(stack: Stack) -> Iterator[SyncStack]:
    """The shared stack's business entity, its event queue and a model group linked to a use case of
    its own; model package events reach the queue only while this module runs."""
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
        name=f"Churn (sync e2e {uuid.uuid4().hex[:6]})",
        risk_level="Medium",
        owner="owner@example.com",
    )
    group = f"churn-sync-{uuid.uuid4().hex[:6]}"
    group_arn = aws.client("sagemaker").create_model_package_group(ModelPackageGroupName=group)[
        "ModelPackageGroupArn"
    ]
    inventory.link_model_group(use_case_id=use_case.id, name=group, arn=group_arn)
    # Messages an earlier module left on the shared queue are applied first, so this module's assertions
    # about the queue see its own events only.
    _wait_until_settled(SyncStack(stack.airflow, aws, inventory, stack.queue_url, group))
    aws.set_events(queue=stack.queue_name)
    try:
        yield SyncStack(stack.airflow, aws, inventory, stack.queue_url, group)
    finally:
        aws.set_events(queue=None, duplicate_rate=0.0)
        if "triggerer" not in stack.airflow.processes:
            stack.airflow.start_component("triggerer")
        # The implementation runs this module started wait at their first approval: fail them, so no
        # later test's reviewer moves them on in the shared stack.
        for run in stack.airflow.dag_runs(MLC_DAG):
            package = str((run.get("conf") or {}).get("package_arn", ""))
            if f"/{group}/" in package and run["state"] not in ("success", "failed"):
                stack.airflow.fail_run(MLC_DAG, run["run_id"], note="lifecycle sync e2e: left over")


def _register(stack: SyncStack) -> str:
    response = stack.aws.client("sagemaker").create_model_package(
        ModelPackageGroupName=stack.group,
        ModelPackageDescription="churn model",
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelLifeCycle={"Stage": "Development", "StageStatus": "Complete"},
    )
    return str(response["ModelPackageArn"])


def _runs(airflow: AirflowCluster, dag_id: str) -> list[dict[str, Any]]:
    return airflow.dag_runs(dag_id)


def _wait_for_run(airflow: AirflowCluster, dag_id: str, run_id: str, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in _runs(airflow, dag_id):
            if run["run_id"] == run_id:
                return run
        time.sleep(3)
    raise TimeoutError(
        f"{dag_id}/{run_id} was never started; sync runs: {_runs(airflow, SYNC_DAG)}\n"
        f"{airflow.log_tail('triggerer')}\n{airflow.log_tail('scheduler')}"
    )


def _queue_depth(stack: SyncStack) -> int:
    attributes = stack.aws.client("sqs").get_queue_attributes(
        QueueUrl=stack.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def _wait_until_settled(stack: SyncStack, timeout: float = 300) -> None:
    # Generous: every write-back (the sync's, the implementation run's) is another event on the queue, and
    # on a loaded machine a few rounds of sync runs can take minutes before nothing is left.
    deadline = time.monotonic() + timeout
    while _queue_depth(stack) and time.monotonic() < deadline:
        time.sleep(2)
    assert _queue_depth(stack) == 0, "the sync deletes the messages it applied"


def test_a_registered_version_starts_its_implementation_run_through_the_queue_once(
    sync_stack: SyncStack,
) -> None:
    stack = sync_stack
    stack.aws.set_events(duplicate_rate=1.0)  # every event delivered twice, as AWS may
    arn = _register(stack)
    run_id = mlc_run_id(ENTITY, arn)
    _wait_for_run(stack.airflow, MLC_DAG, run_id)
    stack.airflow.wait_for_task_state(MLC_DAG, run_id, "onboard_model", {"success"}, timeout=180)
    model = stack.inventory.get_model(arn)
    assert model.status in {S.DEVELOPMENT_COMPLETE.value, S.PRE_IMPLEMENTATION_REVIEW.value}
    assert model.mlc_run_id == run_id and model.mlc_run_started_at is not None
    assert stack.inventory.status_history(arn)[0].source == "sagemaker"
    _wait_until_settled(stack)
    sync_runs = _runs(stack.airflow, SYNC_DAG)
    # The queue started the sync (other tests on the shared stack may start it by hand too).
    assert any(r["run_id"].startswith("asset_triggered__") for r in sync_runs), sync_runs
    time.sleep(10)  # the duplicate delivery has had its chance: still exactly one implementation run
    mine = [r for r in _runs(stack.airflow, MLC_DAG) if stack.group in r["run_id"]]
    assert [r["run_id"] for r in mine] == [run_id]
    stack.aws.set_events(duplicate_rate=0.0)


def test_an_event_sent_while_the_triggerer_is_down_is_not_lost(sync_stack: SyncStack) -> None:
    stack = sync_stack
    stack.airflow.stop_component("triggerer")
    try:
        arn = _register(stack)  # the event waits on the queue
        time.sleep(5)
        assert _queue_depth(stack) >= 1
    finally:
        stack.airflow.start_component("triggerer")  # the shared stack's other tests need it
    run_id = mlc_run_id(ENTITY, arn)
    _wait_for_run(stack.airflow, MLC_DAG, run_id)
    stack.airflow.wait_for_task_state(MLC_DAG, run_id, "onboard_model", {"success"}, timeout=180)
    _wait_until_settled(stack)


def test_deleting_a_package_decommissions_it_and_stops_its_implementation_run(sync_stack: SyncStack) -> None:
    stack = sync_stack
    arn = _register(stack)
    run_id = mlc_run_id(ENTITY, arn)
    _wait_for_run(stack.airflow, MLC_DAG, run_id)
    stack.airflow.wait_for_task_state(MLC_DAG, run_id, "pia_approval", {"deferred"}, timeout=240)
    stack.aws.client("sagemaker").delete_model_package(ModelPackageName=arn)
    assert stack.airflow.wait_for_run(MLC_DAG, run_id, timeout=240) == "failed"
    model = stack.inventory.get_model(arn)
    assert model.status == S.DECOMMISSIONED.value
    assert [e.to_status for e in stack.inventory.status_history(arn)][-2:] == [
        "Decommissioning",
        "Decommissioned",
    ]
    _wait_until_settled(stack)
