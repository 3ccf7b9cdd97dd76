"""Deployed means serving what was approved, against the AWS sandbox through boto3: the lifecycle sync's
endpoint reconcile (services/endpoints.py) finds an endpoint serving an unapproved version, accepts
Deployment/Complete only once an endpoint serves the approved version, moves a version replaced on its
endpoint out of Deployed, and either deletes or keeps flagging an endpoint that serves a decommissioned
version."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from model_governance.hooks.sagemaker_jobs import SageMakerJobsHook
from model_governance.inventory import EventSource, SyncIssueKind
from model_governance.lifecycle import GovernanceStatus as S
from model_governance.services.endpoints import EndpointReconciler
from model_governance.sync import LifecycleSync
from tests.integration.sync.conftest import Registry

pytestmark = pytest.mark.integration

UNGOVERNED = SyncIssueKind.UNGOVERNED_ENDPOINT
#: The path the implementation run takes a version to production approval.
TO_APPROVED = (
    S.PRE_IMPLEMENTATION_REVIEW,
    S.VALIDATION_COMPLETE,
    S.AWAITING_APPROVAL,
    S.APPROVED_FOR_DEPLOYMENT,
)


@pytest.fixture(autouse=True)
def quick_endpoints(registry: Registry) -> Iterator[None]:
    registry.sandbox.set_workloads(endpoint_delay_s=0.5)
    yield
    registry.sandbox.set_workloads(endpoint_delay_s=3.0)


def _sync(registry: Registry, on_decommission: str = "report") -> LifecycleSync:
    reconciler = EndpointReconciler(
        inventory=registry.inventory,
        client=SageMakerJobsHook(aws_conn_id=registry.conn_id, region_name=registry.region),
        registry=registry.hook(),
        business_entity=registry.entity,
        on_decommission=on_decommission,
    )
    return registry.sync(endpoints=reconciler)


def _onboard(registry: Registry) -> str:
    arn = registry.register(S.DEVELOPMENT_COMPLETE)
    _sync(registry).reconcile(full=True)
    assert registry.inventory.get_model(arn).status == S.DEVELOPMENT_COMPLETE.value
    return arn


def _approve(registry: Registry, arn: str) -> None:
    """What the implementation run does up to the production approval (inventory, then SageMaker)."""
    for status in TO_APPROVED:
        registry.inventory.transition(
            registry.inventory.get_model(arn),
            status,
            source=EventSource.GOVERNANCE,
            actor="mlc",
            reason="test",
        )
    registry.hook().write_status(arn, S.APPROVED_FOR_DEPLOYMENT, token_parts=("test", arn), description="ok")


def _serving_config(registry: Registry, arn: str) -> str:
    """A model built from the package (ModelPackageName) and an endpoint configuration running it."""
    name = f"m-{uuid.uuid4().hex[:10]}"
    registry.sagemaker.create_model(
        ModelName=name,
        Containers=[{"ModelPackageName": arn}],
        ExecutionRoleArn=f"arn:aws:iam::{registry.sandbox.account_id}:role/sagemaker",
    )
    registry.sagemaker.create_endpoint_config(
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
    return name


def _in_service(registry: Registry, endpoint: str, config: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        described = registry.sagemaker.describe_endpoint(EndpointName=endpoint)
        if (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", config):
            return
        time.sleep(0.2)
    raise AssertionError(f"endpoint {endpoint} never served {config}")


def _deploy(registry: Registry, arn: str, endpoint: str | None = None) -> str:
    """The deployer: an endpoint (new, or updated) serving the version."""
    config = _serving_config(registry, arn)
    if endpoint is None:
        endpoint = f"ep-{uuid.uuid4().hex[:10]}"
        registry.sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    else:
        registry.sagemaker.update_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    _in_service(registry, endpoint, config)
    return endpoint


def _open(registry: Registry) -> list[Any]:
    return list(registry.inventory.open_sync_issues(business_entity=registry.entity, kinds=[UNGOVERNED]))


def _deployed(registry: Registry, arn: str) -> str:
    """A version through approval to Deployed, its endpoint serving it; returns the endpoint."""
    _approve(registry, arn)
    endpoint = _deploy(registry, arn)
    registry.set_lifecycle(arn, "Deployment", "Complete")
    _sync(registry).reconcile()
    assert registry.inventory.get_model(arn).status == S.DEPLOYED.value
    return endpoint


def test_an_endpoint_serving_an_unapproved_version_is_an_urgent_finding_until_it_stops(
    registry: Registry,
) -> None:
    arn = _onboard(registry)
    endpoint = _deploy(registry, arn)

    report = _sync(registry).reconcile()
    found = [f for f in report.findings if f.kind == UNGOVERNED.value]
    assert len(found) == 1 and found[0].package_arn == arn
    assert endpoint in found[0].detail and "Development Complete" in found[0].detail
    (issue,) = _open(registry)
    assert issue.model_id == registry.inventory.get_model(arn).id

    again = _sync(registry).reconcile()
    assert not [f for f in again.findings if f.kind == UNGOVERNED.value], "reported once"
    assert [i.id for i in _open(registry)] == [issue.id]
    assert registry.inventory.get_model(arn).status == S.DEVELOPMENT_COMPLETE.value

    registry.sagemaker.delete_endpoint(EndpointName=endpoint)
    _sync(registry).reconcile()
    assert _open(registry) == [], "resolved once the endpoint stops serving it"


def test_a_version_of_a_linked_group_not_onboarded_yet_is_flagged_too(registry: Registry) -> None:
    arn = registry.register(S.DEVELOPMENT_COMPLETE)  # not synced: governance does not know it yet
    endpoint = _deploy(registry, arn)
    reconciler = EndpointReconciler(
        inventory=registry.inventory,
        client=SageMakerJobsHook(aws_conn_id=registry.conn_id, region_name=registry.region),
        registry=registry.hook(),
        business_entity=registry.entity,
    )
    report = reconciler.reconcile()
    assert [f.package_arn for f in report.findings] == [arn.lower()]
    assert "has not onboarded" in report.findings[0].detail and endpoint in report.findings[0].detail
    registry.sagemaker.delete_endpoint(EndpointName=endpoint)


def test_deployment_complete_is_recorded_only_once_an_endpoint_serves_the_approved_version(
    registry: Registry,
) -> None:
    arn = _onboard(registry)
    _approve(registry, arn)

    # Set by hand with no endpoint serving the version: refused, governance's value written back.
    registry.set_lifecycle(arn, "Deployment", "Complete")
    report = _sync(registry).reconcile()
    assert registry.inventory.get_model(arn).status == S.APPROVED_FOR_DEPLOYMENT.value
    assert registry.lifecycle(arn) == ("Deployment", "Approved")
    drift = [f for f in report.findings if f.kind == SyncIssueKind.DRIFT.value]
    assert len(drift) == 1 and "no endpoint serves it" in drift[0].detail

    # An endpoint serving another version does not count.
    other = _onboard(registry)
    decoy = _deploy(registry, other)
    registry.set_lifecycle(arn, "Deployment", "Complete")
    _sync(registry).reconcile()
    assert registry.inventory.get_model(arn).status == S.APPROVED_FOR_DEPLOYMENT.value

    endpoint = _deploy(registry, arn)
    registry.set_lifecycle(arn, "Deployment", "Complete")
    _sync(registry).reconcile()
    model = registry.inventory.get_model(arn)
    assert model.status == S.DEPLOYED.value
    last = registry.inventory.status_history(model)[-1]
    assert last.to_status == S.DEPLOYED.value and f"endpoint {endpoint} serves it" in last.reason
    for name in (decoy, endpoint):
        registry.sagemaker.delete_endpoint(EndpointName=name)


def test_a_version_replaced_on_its_endpoint_leaves_deployed(registry: Registry) -> None:
    first = _onboard(registry)
    endpoint = _deployed(registry, first)
    second = _onboard(registry)
    _approve(registry, second)

    _deploy(registry, second, endpoint)  # the endpoint now serves the second version
    report = _sync(registry).reconcile()

    model = registry.inventory.get_model(first)
    assert model.status == S.MODEL_CHANGE_IN_PROGRESS.value
    last = registry.inventory.status_history(model)[-1]
    assert (last.from_status, last.source) == (S.DEPLOYED.value, EventSource.GOVERNANCE.value)
    assert f"no endpoint serves {first}" in last.reason and second in last.reason
    assert registry.lifecycle(first) == ("BackinDevelopment", "InProgress")
    assert [f.package_arn for f in report.findings if f.kind == "deployment_ended"] == [first]
    assert _open(registry) == [], "the second version is approved: its endpoint is governed"
    # The step is in the keyed audit chain and valid there (this test skips the Jira approvals, which the
    # chain reports separately).
    audit = registry.inventory.verify_audit_trail(model)
    assert audit.links_checked == len(registry.inventory.status_history(model))
    assert not [p for p in audit.problems if "Model Change in Progress" in p], audit.problems
    registry.sagemaker.delete_endpoint(EndpointName=endpoint)


def test_decommissioning_a_served_version_reports_the_endpoint_until_it_stops(registry: Registry) -> None:
    arn = _onboard(registry)
    endpoint = _deployed(registry, arn)

    registry.set_lifecycle(arn, "Archived", "InProgress")
    _sync(registry).reconcile()
    assert registry.inventory.get_model(arn).status == S.DECOMMISSIONED.value
    (issue,) = _open(registry)
    assert endpoint in issue.detail and "until the endpoint stops serving it" in issue.detail
    _sync(registry).reconcile()
    assert [i.id for i in _open(registry)] == [issue.id], "kept while it serves"
    assert registry.sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "InService"

    registry.sagemaker.delete_endpoint(EndpointName=endpoint)
    _sync(registry).reconcile()
    assert _open(registry) == []


def test_decommissioning_a_served_version_deletes_its_endpoint_when_configured(registry: Registry) -> None:
    arn = _onboard(registry)
    endpoint = _deployed(registry, arn)

    registry.set_lifecycle(arn, "Archived", "InProgress")
    report = _sync(registry, on_decommission="delete_endpoint").reconcile()
    assert registry.inventory.get_model(arn).status == S.DECOMMISSIONED.value
    with pytest.raises(registry.sagemaker.exceptions.ClientError, match="Could not find endpoint"):
        registry.sagemaker.describe_endpoint(EndpointName=endpoint)
    deleted = [f for f in report.findings if f.kind == UNGOVERNED.value]
    assert len(deleted) == 1 and "deleted it" in deleted[0].detail
    assert registry.sandbox.request_count("sagemaker:DeleteEndpoint") >= 1

    _sync(registry, on_decommission="delete_endpoint").reconcile()
    assert _open(registry) == [], "the record of the deletion closes once nothing serves it"
