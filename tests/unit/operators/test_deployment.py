"""DeployEndpointOperator as an adapter of EndpointDeployment (a fake here): a round that waits defers on
the entity's connection with the next round, the resumed event is checked, a done round is the XCom."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from model_governance.exceptions import RegistryError
from model_governance.operators.deployment import DeployEndpointOperator
from model_governance.services.deployment import WaitOnEndpoint
from model_governance.triggers.sagemaker import ENDPOINT, SUCCESS, SageMakerWaitTrigger
from tests.unit.operators.fakes import CONN_ID, REGION, Hooks, config, context, inventory, wire

DONE = {"deployed_by": "governance", "endpoint": "churn"}


class FakeDeployment:
    """Answers each round with the next of ``outcomes``; records the rounds and tokens asked."""

    def __init__(self, *outcomes: dict[str, Any] | WaitOnEndpoint) -> None:
        self.outcomes = list(outcomes)
        self.rounds: list[tuple[int, tuple[str, ...]]] = []

    def advance(self, round_number: int, token_parts: Any) -> dict[str, Any] | WaitOnEndpoint:
        self.rounds.append((round_number, tuple(token_parts)))
        return self.outcomes.pop(0)


def _operator(service: FakeDeployment, **settings: Any) -> DeployEndpointOperator:
    step = DeployEndpointOperator(task_id="deploy_endpoint", model_id=7, snapshot_id="5")
    wire(step, inventory=inventory(), hooks=Hooks(), settings=config(deployment=settings))
    step.__dict__["deployment"] = service
    return step


def test_off_by_default_the_deployer_deploys_and_no_service_is_asked() -> None:
    service = FakeDeployment()
    assert _operator(service).execute(context()) == {"deployed_by": "deployer", "endpoint": None}
    assert service.rounds == []


def test_a_round_that_waits_defers_with_the_next_round_then_the_service_finishes() -> None:
    service = FakeDeployment(WaitOnEndpoint("churn"), DONE)
    step = _operator(service, deploy_endpoint=True, poll_interval_seconds=15, timeout_minutes=30)
    with pytest.raises(TaskDeferred) as deferred:
        step.execute(context("deploy_endpoint"))
    trigger = deferred.value.trigger
    assert isinstance(trigger, SageMakerWaitTrigger)
    assert (trigger.resource, trigger.name, trigger.aws_conn_id, trigger.region_name) == (
        ENDPOINT,
        "churn",
        CONN_ID,
        REGION,
    )
    assert trigger.poll_interval == 15 and deferred.value.timeout.total_seconds() == 1800
    assert deferred.value.kwargs == {"round_number": 2, "endpoint": "churn"}
    event = {"status": SUCCESS, "name": "churn"}
    assert step.execute_complete(context("deploy_endpoint"), event, **deferred.value.kwargs) == DONE
    assert service.rounds == [(r, ("mlc", "manual__1", "deploy_endpoint")) for r in (1, 2)]


def test_a_resume_that_is_not_the_endpoints_or_not_in_service_fails_the_task() -> None:
    service = FakeDeployment()
    step = _operator(service, deploy_endpoint=True)
    with pytest.raises(RegistryError, match="Unexpected resume of task 'deploy_endpoint'"):
        step.execute_complete(context(), {"name": "other", "status": SUCCESS}, round_number=2, endpoint="x")
    failed = {"name": "x", "status": "failed", "resource_status": "Failed", "failure_reason": "no capacity"}
    with pytest.raises(RegistryError, match=r"did not come into service: failed \(Failed: no capacity\)"):
        step.execute_complete(context(), failed, round_number=2, endpoint="x")
    assert service.rounds == []
