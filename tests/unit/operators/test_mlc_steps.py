"""The snapshot, review document and deployment steps as adapters over the evidence store and the entity's
hooks (fakes): what they store, record and wait for."""

from __future__ import annotations

import hashlib
from typing import Any
from unittest.mock import MagicMock

import pytest
from airflow.sdk.exceptions import TaskDeferred

from model_governance.exceptions import InvalidInputError, RegistryError
from model_governance.operators.deployment import DeployEndpointOperator
from model_governance.operators.review_document import RenderReviewDocumentOperator
from model_governance.operators.snapshot import CreateSnapshotOperator, head_object
from model_governance.snapshots import S3Location
from model_governance.triggers.sagemaker import ENDPOINT, SageMakerWaitTrigger
from tests.unit.documents import builders
from tests.unit.operators.fakes import (
    ARN,
    BUCKET,
    CONN_ID,
    REGION,
    FakeS3Hook,
    Hooks,
    config,
    context,
    inventory,
    wire,
)

DATA = {
    "BASELINE_DATA": "s3://data/base.parquet",
    "COMPARATOR_DATA": "s3://data/comp.parquet",
    "RISK_TEST_SCHEMA": "s3://data/schema.json",
}


class DataHook(FakeS3Hook):
    """The Amazon S3 hook's ``head_object``: None for a missing object."""

    def head_object(self, key: str, bucket: str) -> dict[str, Any] | None:
        found = self.client.objects.get((bucket, key))
        if found is None:
            return None
        return {"ETag": '"e"', "ContentLength": len(found["Body"])}


def _package() -> dict[str, Any]:
    return {
        "ModelPackageArn": ARN,
        "ModelPackageGroupName": "churn",
        "ModelPackageVersion": 3,
        "InferenceSpecification": {"Containers": [{"Image": "img:1"}]},
        "CustomerMetadataProperties": {**DATA, "ENDPOINT_CONFIG": "churn-prod"},
    }


def _snapshot_step(hooks: Hooks, inv: Any) -> CreateSnapshotOperator:
    step = wire(CreateSnapshotOperator(task_id="create_snapshot", model_id=7), inventory=inv, hooks=hooks)
    step.entity.__dict__["s3"] = DataHook(hooks.s3_client)
    hooks.registry.package = _package()
    hooks.registry.answers = {"describe_endpoint_config": {"EndpointConfigName": "churn-prod"}}
    use_case = inv.get_use_case.return_value
    use_case.id, use_case.name, use_case.risk_level = 1, "churn", "Low"
    inv.record_snapshot.return_value.id = 11
    return step


def test_the_snapshot_is_stored_once_under_its_hash_then_recorded_then_linked() -> None:
    hooks, inv = Hooks(), inventory()
    for uri in DATA.values():
        hooks.s3_client.objects[("data", uri.split("/", 3)[3])] = {"Body": uri.encode()}
    step = _snapshot_step(hooks, inv)
    result = step.execute(context("create_snapshot"))
    assert result["snapshot_id"] == 11 and result["uri"].startswith(f"s3://{BUCKET}/snapshots/churn/3/")
    (put,) = [p for p in hooks.s3_client.puts if p["Bucket"] == BUCKET]
    assert hashlib.sha256(put["Body"]).hexdigest() == result["content_hash"]
    assert inv.record_snapshot.call_args.kwargs["uri"] == result["uri"]
    assert [name for name, _ in hooks.registry.calls] == ["describe_endpoint_config", "put_metadata"]
    again = _snapshot_step(hooks, inv).execute(context("create_snapshot"))
    assert again == result and len(hooks.s3_client.puts) == 1, "a retry stores nothing again"


def test_a_missing_data_asset_stops_the_snapshot_before_anything_is_written() -> None:
    hooks, inv = Hooks(), inventory()
    step = _snapshot_step(hooks, inv)
    with pytest.raises(InvalidInputError, match=r"BASELINE_DATA .* which does not exist"):
        step.execute(context("create_snapshot"))
    assert hooks.s3_client.puts == [] and not inv.record_snapshot.called


def test_an_unreadable_object_names_the_connection_and_the_grant() -> None:
    hook = MagicMock()
    from botocore.exceptions import ClientError

    hook.head_object.side_effect = ClientError({"Error": {"Code": "AccessDenied"}}, "HeadObject")
    with pytest.raises(RegistryError, match="connection 'aws_retail' cannot read \\(AccessDenied\\); grant"):
        head_object(hook, S3Location("data", "k"), what="BASELINE_DATA", conn_id=CONN_ID)


def test_the_review_document_is_stored_beside_the_snapshot_and_recorded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hooks, inv = Hooks(), inventory()
    snapshot = inv.get_snapshot.return_value
    snapshot.id, snapshot.uri = 5, f"s3://{BUCKET}/snapshots/churn/3/{'a' * 64}.json"
    step = wire(
        RenderReviewDocumentOperator(
            task_id="render", model_id=7, snapshot_id="5", formats=("html", "markdown")
        ),
        inventory=inv,
        hooks=hooks,
    )
    monkeypatch.setattr(step, "review_context", lambda context, snapshot: builders.review_context())
    result = step.execute(context())
    assert sorted(f["format"] for f in result["files"].values()) == ["html", "markdown"]
    assert all(
        uri.startswith(f"s3://{BUCKET}/snapshots/churn/3/{'a' * 64}/documents/")
        for uri in result["attachment_uris"].values()
    )
    assert len(hooks.s3_client.puts) == 2 and inv.record_document.call_count == 2
    assert list(result["attachment_uris"]) == [n for n, f in result["files"].items() if f["format"] == "html"]


def test_a_rerun_after_the_review_returns_the_accepted_documents_without_rendering() -> None:
    """A cleared DAG run after the test results review: the documents the review accepted are the
    evidence; the step neither renders (it would print the later approvals) nor stores anything."""
    hooks, inv = Hooks(), inventory()
    inv.get_snapshot.return_value.id = 5
    model = inv.get_model.return_value
    model.model_group.name, model.version = "churn", 3
    html = MagicMock(kind="model_review", approved=True, media_type="text/html; charset=utf-8", sha256="h")
    html.uri = "s3://gov/d.html"
    draft = MagicMock(kind="model_review", approved=False, media_type="application/pdf", uri="s3://gov/x.pdf")
    inv.documents.return_value = [html, draft]
    step = wire(
        RenderReviewDocumentOperator(task_id="render", model_id=7, snapshot_id="5"),
        inventory=inv,
        hooks=hooks,
    )
    step.review_context = MagicMock(side_effect=AssertionError("rendered again"))
    assert step.execute(context()) == {
        "files": {"model-review-churn-v3.html": {"format": "html", "uri": "s3://gov/d.html", "sha256": "h"}},
        "attachment_uris": {"model-review-churn-v3.html": "s3://gov/d.html"},
    }
    assert hooks.s3_client.puts == [] and inv.record_document.call_count == 0


def _deploy(hooks: Hooks, inv: Any, **settings: Any) -> DeployEndpointOperator:
    step = DeployEndpointOperator(task_id="deploy_endpoint", model_id=7, snapshot_id="5")
    return wire(step, inventory=inv, hooks=hooks, settings=config(deployment=settings))


def test_deployment_is_the_deployers_unless_configured() -> None:
    hooks, inv = Hooks(), inventory()
    assert _deploy(hooks, inv).execute(context()) == {"deployed_by": "deployer", "endpoint": None}
    assert hooks.made == []


def test_a_missing_endpoint_is_created_and_waited_for_on_the_entitys_connection() -> None:
    hooks, inv = Hooks(), inventory()
    snapshot = inv.get_snapshot.return_value
    snapshot.model_id, snapshot.manifest, snapshot.content_hash = (
        7,
        {"endpoint_config_name": "churn-prod"},
        "h",
    )
    model = inv.get_model.return_value
    model.model_group.name, model.version, model.model_group.use_case_id = "churn", 3, 1
    hooks.jobs.describe_endpoint.return_value = None
    step = _deploy(hooks, inv, deploy_endpoint=True)
    with pytest.raises(TaskDeferred) as deferred:
        step.execute(context())
    trigger = deferred.value.trigger
    assert isinstance(trigger, SageMakerWaitTrigger) and trigger.resource == ENDPOINT
    assert (trigger.aws_conn_id, trigger.region_name) == (CONN_ID, REGION)
    assert deferred.value.kwargs == {"round_number": 2, "endpoint": trigger.name}
    hooks.jobs.create_endpoint.assert_called_once()
    with pytest.raises(RegistryError, match="Unexpected resume"):
        step.execute_complete(context(), {"name": "other"}, round_number=2, endpoint=trigger.name)
