"""EndpointDeployment with a fake SageMaker (endpoints, configurations, models) and a fake registry: created
once, updated when it serves another configuration, waited on while busy, refused after its rounds, and
reported Deployed only when the endpoint serves this version."""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

import pytest

from model_governance.config import DeploymentConfig
from model_governance.exceptions import InvalidInputError, RegistryError
from model_governance.lifecycle import GovernanceStatus
from model_governance.registry import MetadataKey
from model_governance.services.deployment import EndpointDeployment, EndpointTarget, WaitOnEndpoint
from tests.unit.operators.fakes import ARN, FakeRegistry, model

TOKEN = ("mlc", "manual__1", "deploy_endpoint")


class FakeSageMaker:
    """Endpoints by name; a created or updated endpoint is busy until ``settle``."""

    def __init__(self, serves: str = ARN) -> None:
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, ...]] = []
        self.serves = serves

    def describe_endpoint(self, name: str) -> dict[str, Any] | None:
        found = self.endpoints.get(name)
        return dict(found) if found else None

    def create_endpoint(self, name: str, config_name: str, *, tags: dict[str, str]) -> None:
        self.calls.append(("create", name, config_name))
        self.tags = tags
        self.endpoints[name] = {
            "EndpointName": name,
            "EndpointArn": f"arn:aws:sagemaker:eu-west-1:1:endpoint/{name}",
            "EndpointConfigName": config_name,
            "EndpointStatus": "Creating",
        }

    def update_endpoint(self, name: str, config_name: str) -> None:
        self.calls.append(("update", name, config_name))
        self.endpoints[name].update(EndpointConfigName=config_name, EndpointStatus="Updating")

    def settle(self, name: str) -> None:
        self.endpoints[name]["EndpointStatus"] = "InService"

    def describe_endpoint_config(self, name: str) -> dict[str, Any]:
        return {"ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": f"model-{name}"}]}

    def describe_model(self, name: str) -> dict[str, Any]:
        return {"PrimaryContainer": {"ModelPackageName": self.serves, "Image": "img"}}

    def object_etag(self, uri: str) -> str | None:
        return None


def _deployment(
    sagemaker: FakeSageMaker, *, snapshot_model: int = 7, config_name: str | None = "churn-prod"
) -> tuple[EndpointDeployment, MagicMock, FakeRegistry]:
    found = model(7)
    found.model_group.name, found.version, found.model_group.use_case_id = "churn", 3, 1
    inventory = MagicMock(name="inventory")
    snapshot = inventory.get_snapshot.return_value
    snapshot.id, snapshot.model_id, snapshot.content_hash = 5, snapshot_model, "h"
    snapshot.manifest = {"endpoint_config_name": config_name} if config_name else {}
    inventory.mark_snapshot_deployed.return_value.content_hash = "h"
    registry = FakeRegistry()
    settings = DeploymentConfig(deploy_endpoint=True, endpoint_name="{group_name}-v{version}")
    service = EndpointDeployment(
        inventory=inventory,
        jobs=sagemaker,
        registry=registry,
        model=found,
        snapshot_id=5,
        settings=settings,
        max_rounds=2,
    )
    return service, inventory, registry


def test_the_target_is_the_snapshots_configuration_on_the_templated_endpoint() -> None:
    service, inventory, _ = _deployment(FakeSageMaker())
    assert service.target() == EndpointTarget("churn-v3", "churn-prod", "h")
    inventory.get_snapshot.assert_called_with(5)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"snapshot_model": 8}, "Snapshot 5 belongs to model 8, not to model 7"),
        ({"config_name": None}, "records no endpoint configuration; set ENDPOINT_CONFIG"),
    ],
)
def test_a_snapshot_that_cannot_be_deployed_is_refused(changes: dict[str, Any], message: str) -> None:
    sagemaker = FakeSageMaker()
    service, _, _ = _deployment(sagemaker, **changes)
    with pytest.raises(InvalidInputError, match=message):
        service.advance(1, TOKEN)
    assert sagemaker.calls == []


def test_a_missing_endpoint_is_created_once_waited_on_then_reported_deployed() -> None:
    sagemaker = FakeSageMaker()
    service, inventory, registry = _deployment(sagemaker)
    assert service.advance(1, TOKEN) == WaitOnEndpoint("churn-v3")
    assert sagemaker.tags[MetadataKey.MODEL_ID] == "7" and sagemaker.tags[MetadataKey.SNAPSHOT] == "h"
    assert service.advance(2, TOKEN) == WaitOnEndpoint("churn-v3"), "still Creating: waited on, not created"
    assert sagemaker.calls == [("create", "churn-v3", "churn-prod")]
    sagemaker.settle("churn-v3")
    result = service.advance(3, TOKEN)
    assert result == {
        "deployed_by": "governance",
        "endpoint": "churn-v3",
        "endpoint_arn": "arn:aws:sagemaker:eu-west-1:1:endpoint/churn-v3",
        "endpoint_config": "churn-prod",
        "snapshot": "h",
        "served_by": "model model-churn-prod names the package",
    }
    (status, status_call), (metadata, metadata_call) = registry.calls
    assert status == "write_status" and status_call[0] == (ARN, GovernanceStatus.DEPLOYED)
    assert status_call[1]["token_parts"] == TOKEN
    assert metadata == "put_metadata" and metadata_call[0] == (ARN, {MetadataKey.ENDPOINT: "churn-v3"})
    inventory.mark_snapshot_deployed.assert_called_once_with(5)


def test_an_endpoint_serving_another_configuration_is_updated_and_refused_after_its_rounds() -> None:
    sagemaker = FakeSageMaker()
    service, _, registry = _deployment(sagemaker)
    sagemaker.create_endpoint("churn-v3", "churn-old", tags={})
    sagemaker.settle("churn-v3")
    assert service.advance(1, TOKEN) == WaitOnEndpoint("churn-v3")
    assert sagemaker.calls[-1] == ("update", "churn-v3", "churn-prod")
    sagemaker.endpoints["churn-v3"].update(EndpointConfigName="someone-elses", EndpointStatus="InService")
    with pytest.raises(RegistryError, match="still does not serve 'churn-prod' after 2 round"):
        service.advance(3, TOKEN)
    assert registry.calls == []


def test_an_endpoint_that_serves_another_version_is_never_reported_deployed() -> None:
    sagemaker = FakeSageMaker(serves="arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/2")
    service, inventory, registry = _deployment(sagemaker)
    sagemaker.create_endpoint("churn-v3", "churn-prod", tags={})
    sagemaker.settle("churn-v3")
    with pytest.raises(InvalidInputError, match=f"none of its models serves {ARN}"):
        service.advance(1, TOKEN)
    assert registry.calls == [] and not inventory.mark_snapshot_deployed.called
