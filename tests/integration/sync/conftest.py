"""The lifecycle sync against the AWS sandbox: a registry (one region of the sandbox), an inventory with a
use case linked to a fresh model package group, and helpers that play the data scientist in SageMaker."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from model_governance.hooks.sagemaker_registry import SageMakerRegistryHook
from model_governance.inventory import Inventory
from model_governance.lifecycle import GovernanceStatus, to_sagemaker
from model_governance.sync import LifecycleSync
from sandbox.aws.pytest_fixtures import AwsSandbox

ENTITY = "retail"


def aws_connection(sandbox: AwsSandbox, region: str, **extra: Any) -> str:
    return json.dumps(
        {
            "conn_type": "aws",
            "login": "testing",
            "password": "testing",
            "extra": {"endpoint_url": sandbox.endpoint_url, "region_name": region, **extra},
        }
    )


@dataclass
class Registry:
    """One business entity's registry in the sandbox, as the data scientist and as governance see it."""

    sandbox: AwsSandbox
    region: str
    conn_id: str
    inventory: Inventory
    entity: str
    group: str
    group_arn: str
    use_case_id: int

    @property
    def sagemaker(self) -> Any:
        return self.sandbox.client("sagemaker", region=self.region)

    def sagemaker_as(self, access_key: str) -> Any:
        """SageMaker as another person: the sandbox records ``access_key`` as CreatedBy / LastModifiedBy
        (``studio-<name>``: Studio user profile ``<name>``; anything else: IAM user ``<access_key>``)."""
        import boto3

        return boto3.client(
            "sagemaker",
            endpoint_url=self.sandbox.endpoint_url,
            region_name=self.region,
            aws_access_key_id=access_key,
            aws_secret_access_key="testing",
        )

    def hook(self) -> SageMakerRegistryHook:
        return SageMakerRegistryHook(aws_conn_id=self.conn_id, region_name=self.region)

    def sync(self, **kwargs: Any) -> LifecycleSync:
        return LifecycleSync(
            inventory=self.inventory, registry=self.hook(), business_entity=self.entity, **kwargs
        )

    def register(
        self,
        status: GovernanceStatus | None = None,
        *,
        group: str | None = None,
        approval: str = "PendingManualApproval",
        as_user: str | None = None,
    ) -> str:
        """A new version in the group, with the lifecycle of ``status`` (none: no lifecycle) and
        ``approval``, registered by ``as_user`` (an access key, see ``sagemaker_as``) or the test's own."""
        args: dict[str, Any] = {}
        if status is not None:
            stage = to_sagemaker(status)
            args["ModelLifeCycle"] = {"Stage": stage.stage, "StageStatus": stage.stage_status}
        client = self.sagemaker_as(as_user) if as_user else self.sagemaker
        response = client.create_model_package(
            ModelPackageGroupName=group or self.group,
            ModelPackageDescription="churn model",
            InferenceSpecification={
                "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelApprovalStatus=approval,
            **args,
        )
        return str(response["ModelPackageArn"])

    def set_lifecycle(self, arn: str, stage: str, stage_status: str) -> None:
        """The data scientist (or someone in the console) changes the lifecycle in SageMaker."""
        self.sagemaker.update_model_package(
            ModelPackageArn=arn, ModelLifeCycle={"Stage": stage, "StageStatus": stage_status}
        )

    def lifecycle(self, arn: str) -> tuple[str, str]:
        described = self.sagemaker.describe_model_package(ModelPackageName=arn)["ModelLifeCycle"]
        return described["Stage"], described["StageStatus"]


def ensure_governance_bucket(sandbox: AwsSandbox, bucket: str = "model-governance") -> None:
    """The settings' ``governance_bucket`` (evidence, audit anchors), which operator-level tests write to."""
    s3 = sandbox.client("s3")
    if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=bucket)


def make_registry(
    sandbox: AwsSandbox,
    inventory: Inventory,
    monkeypatch: pytest.MonkeyPatch,
    *,
    entity: str = ENTITY,
    region: str | None = None,
    **connection_extra: Any,
) -> Registry:
    region = region or sandbox.region
    ensure_governance_bucket(sandbox)
    conn_id = f"aws_{entity.replace('-', '_')}"
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", aws_connection(sandbox, region, **connection_extra))
    inventory.ensure_business_entity(
        name=entity, account_id=sandbox.account_id, region=region, aws_conn_id=conn_id
    )
    use_case = inventory.create_use_case(
        business_entity=entity,
        name=f"churn-{uuid.uuid4().hex[:6]}",
        risk_level="High",
        owner="owner@example.com",
    )
    group = f"churn-{uuid.uuid4().hex[:10]}"
    sagemaker = sandbox.client("sagemaker", region=region)
    group_arn = sagemaker.create_model_package_group(
        ModelPackageGroupName=group, ModelPackageGroupDescription="churn"
    )["ModelPackageGroupArn"]
    inventory.link_model_group(use_case_id=use_case.id, name=group, arn=group_arn)
    return Registry(sandbox, region, conn_id, inventory, entity, group, group_arn, use_case.id)


@pytest.fixture
def inventory(tmp_path: Path) -> Inventory:
    return Inventory.from_url(f"sqlite:///{tmp_path / 'inventory.db'}", upgrade_schema=True)


@pytest.fixture
def registry(aws_sandbox: AwsSandbox, inventory: Inventory, monkeypatch: pytest.MonkeyPatch) -> Registry:
    return make_registry(aws_sandbox, inventory, monkeypatch)


RegistryFactory = Callable[..., Registry]
