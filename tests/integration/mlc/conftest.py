"""A governed model version in the sandboxes: a use case and its group in the inventory (SQLite), a model
package in the AWS sandbox whose metadata names baseline/comparator data, a risk test schema and an
endpoint configuration in sandbox S3/SageMaker, and Airflow connections to the AWS and Jira sandboxes."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from model_governance.inventory import Inventory
from sandbox.aws.pytest_fixtures import AwsClients
from sandbox.jira.pytest_fixtures import JiraSandboxProcess
from tests.integration.approvals.conftest import connect
from tests.unit.risk_tests.conftest import classification_schema, classification_table

AWS_CONN_ID = "aws_mlc"
JIRA_CONN_ID = "jira_mlc"
ENTITY = "retail"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1"


class FakeTI:
    """The parts of a task instance the operators use."""

    def __init__(self, run_id: str, task_id: str, dag_id: str = "sagemaker_model_implementation") -> None:
        self.dag_id, self.run_id, self.task_id = dag_id, run_id, task_id
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


@dataclass
class GovernedModel:
    """One model version ready for the snapshot step, and handles on everything around it."""

    aws: AwsClients
    jira: JiraSandboxProcess
    inventory: Inventory
    model_id: int
    package_arn: str
    group: str
    data_bucket: str
    governance_bucket: str
    endpoint_config: str
    metadata: dict[str, str] = field(default_factory=dict)

    def context(self, task_id: str, run_id: str | None = None) -> dict[str, Any]:
        return {"ti": FakeTI(run_id or f"manual__{uuid.uuid4().hex[:8]}", task_id)}

    def approve_gates(self, run_id: str, *kinds: str) -> None:
        """Record verified approvals of ``kinds`` for the MLC run ``run_id``, as its approval tasks do once
        the Jira decision is verified (the steps that grant a status read them from the inventory)."""
        for kind in kinds:
            key = f"MLC-{kind}-{run_id}"
            self.inventory.record_approval_requested(
                kind=kind,
                jira_key=key,
                model_id=self.model_id,
                requested_by="owner@example.com",
                dag_id="sagemaker_model_implementation",
                run_id=run_id,
                task_id=kind.lower(),
            )
            self.inventory.record_approval_decision(
                key,
                approved=True,
                decided_by="reviewer@example.com",
                decided_at=datetime.now(UTC),
                decision_status="Done",
            )

    def put(self, key: str, body: bytes) -> str:
        self.aws.s3.put_object(Bucket=self.data_bucket, Key=key, Body=body)
        return f"s3://{self.data_bucket}/{key}"

    def governance_objects(self) -> list[str]:
        listed = self.aws.s3.list_objects_v2(Bucket=self.governance_bucket)
        return sorted(item["Key"] for item in listed.get("Contents", []))


@pytest.fixture
def make_model(
    aws_clients: AwsClients,
    jira_sandbox: JiraSandboxProcess,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Callable[..., GovernedModel]:
    """Build a governed model version; ``metadata`` overrides (None removes a key), ``endpoint_config``
    False leaves the endpoint configuration uncreated."""
    sandbox = aws_clients.sandbox
    connection = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"endpoint_url": sandbox.endpoint_url, "region_name": sandbox.region},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{AWS_CONN_ID.upper()}", json.dumps(connection))
    jira_sandbox.clear_faults()
    connect(jira_sandbox, monkeypatch, JIRA_CONN_ID)
    suffix = uuid.uuid4().hex[:8]
    governance_bucket, data_bucket = f"governance-{suffix}", f"mlc-data-{suffix}"
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    config = {
        "business_entities": [
            {
                "name": ENTITY,
                "account_id": sandbox.account_id,
                "region": sandbox.region,
                "aws_conn_id": AWS_CONN_ID,
            }
        ],
        "governance_bucket": governance_bucket,
        "inventory": {"url": url},
        "jira": {"conn_id": JIRA_CONN_ID, "project_key": "MLC", "poll_interval_seconds": 5},
        # Small generated data: the "other" gender group is noisy, so the bias band is widened.
        "risk_thresholds": {"High": {"performance.auc": 0.6, "bias.ppr_disparity": [0.5, 2.0]}},
        "airflow_base_url": "http://airflow.test:8080",
        # The sandbox records its default credentials as who registered the packages: no person.
        "approvals": {"identity_map": {f"arn:aws:iam::{sandbox.account_id}:user/testing": None}},
    }
    monkeypatch.setenv("MODEL_GOVERNANCE_CONFIG", json.dumps(config))

    def build(
        *,
        metadata: dict[str, str | None] | None = None,
        endpoint_config: bool = True,
        model_data: bool = True,
    ) -> GovernedModel:
        s3, sagemaker = aws_clients.s3, aws_clients.sagemaker
        name = uuid.uuid4().hex[:8]  # per model version; the buckets are per test
        for bucket in (governance_bucket, data_bucket):
            if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
                s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=governance_bucket, VersioningConfiguration={"Status": "Enabled"})
        inventory = Inventory.from_url(url, upgrade_schema=True)
        inventory.ensure_business_entity(
            name=ENTITY, account_id=sandbox.account_id, region=sandbox.region, aws_conn_id=AWS_CONN_ID
        )
        use_case = inventory.create_use_case(
            business_entity=ENTITY,
            name=f"churn {name}",
            risk_level="High",
            owner="owner@example.com",
            exist_ok=True,
        )
        group = f"uc-{use_case.id}-churn-{name}"
        group_arn = sagemaker.create_model_package_group(ModelPackageGroupName=group)["ModelPackageGroupArn"]
        inventory.link_model_group(use_case_id=use_case.id, name=group, arn=group_arn)
        model = GovernedModel(
            aws=aws_clients,
            jira=jira_sandbox,
            inventory=inventory,
            model_id=0,
            package_arn="",
            group=group,
            data_bucket=data_bucket,
            governance_bucket=governance_bucket,
            endpoint_config=f"churn-{name}",
        )
        values = {
            "BASELINE_DATA": model.put(
                "churn/baseline.parquet", parquet_bytes(classification_table(2_000, seed=11))
            ),
            "COMPARATOR_DATA": model.put(
                "churn/comparator.parquet", parquet_bytes(classification_table(2_000, seed=12))
            ),
            "RISK_TEST_SCHEMA": model.put("churn/schema.json", json.dumps(classification_schema()).encode()),
            "ENDPOINT_CONFIG": model.endpoint_config,
            "team": "data-science",
        }
        for key, value in (metadata or {}).items():
            if value is None:
                values.pop(key, None)
            else:
                values[key] = value
        model.metadata = {k: v for k, v in values.items() if v is not None}
        container: dict[str, Any] = {"Image": IMAGE}
        if model_data:
            container["ModelDataUrl"] = model.put("churn/model.tar.gz", b"model weights")
        if endpoint_config:
            sagemaker.create_model(
                ModelName=f"churn-model-{name}",
                PrimaryContainer=dict(container),  # the package's artifacts: the endpoint serves this version
                ExecutionRoleArn=f"arn:aws:iam::{sandbox.account_id}:role/sagemaker",
            )
            sagemaker.create_endpoint_config(
                EndpointConfigName=model.endpoint_config,
                ProductionVariants=[
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": f"churn-model-{name}",
                        "InstanceType": "ml.m5.large",
                        "InitialInstanceCount": 1,
                    }
                ],
            )
        model.package_arn = sagemaker.create_model_package(
            ModelPackageGroupName=group,
            ModelPackageDescription="churn classifier v1",
            InferenceSpecification={
                "Containers": [container],
                "SupportedContentTypes": ["application/x-parquet"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
            CustomerMetadataProperties=model.metadata,
            ModelApprovalStatus="PendingManualApproval",
        )["ModelPackageArn"]
        record, _ = inventory.upsert_model(
            package_arn=model.package_arn,
            status="Pre Implementation Review",
            actor="test",
            reason="onboarded",
        )
        model.model_id = record.id
        return model

    return build
