"""Governance actions against the AWS sandbox: the sync tests' registry (an inventory with a use case linked
to a fresh group, the data scientist's helpers) and the action service over the real hooks."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from model_governance.hooks.sagemaker_jobs import SageMakerJobsHook
from model_governance.services.actions import ActionRequest, GovernanceActionService
from tests.integration.sync.conftest import Registry, inventory, registry

__all__ = ["Actions", "inventory", "registry"]


class SpyRegistry:
    """The real registry hook, remembering every ModelLifeCycle written and its ClientToken parts."""

    def __init__(self, hook: Any) -> None:
        self.hook = hook
        self.lifecycles: list[tuple[str, str, str]] = []  # (arn, Stage, StageStatus)
        self.created: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.hook, name)

    def update_model_package(self, arn: str, body: Any, *, token_parts: Any) -> dict[str, Any]:
        lifecycle = body.get("ModelLifeCycle")
        if lifecycle:
            self.lifecycles.append((arn, lifecycle["Stage"], lifecycle["StageStatus"]))
        return dict(self.hook.update_model_package(arn, body, token_parts=token_parts))


class Actions:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.spy = SpyRegistry(registry.hook())
        self.jobs = SageMakerJobsHook(aws_conn_id=registry.conn_id, region_name=registry.region)
        entity = SimpleNamespace(name=registry.entity, registry=self.spy, jobs=self.jobs)
        self.connections = SimpleNamespace(of_model=lambda model: entity, of_group=lambda group_id: entity)
        self.mail: list[tuple[str, str, tuple[str, ...]]] = []
        self.runs = 0

    def perform(self, action: str, *, on_decommission: str = "report", **target: Any) -> dict[str, Any]:
        self.runs += 1
        request = ActionRequest.parse(
            {"action": action, "reason": "integration test", "requested_by": "ops@example.com", **target},
            dag_id="model_governance_action",
            run_id=f"manual__{self.runs}",
        )
        service = GovernanceActionService(
            inventory=self.registry.inventory,
            connections=self.connections,
            notify=lambda subject, body, to: self.mail.append((subject, body, tuple(to))),
            on_decommission=on_decommission,
        )
        return service.perform(request).to_dict()


@pytest.fixture
def actions(registry: Registry) -> Actions:
    return Actions(registry)
