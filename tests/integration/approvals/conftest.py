"""An Airflow connection to the Jira sandbox, per flavour, for the hook, sensor and trigger tests; a governed
model version (inventory + a package registered in the AWS sandbox) for the approval tasks."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from model_governance.inventory import Inventory
from sandbox.aws.pytest_fixtures import AwsSandbox
from sandbox.jira.pytest_fixtures import JiraSandboxProcess


@dataclass
class JiraTarget:
    sandbox: JiraSandboxProcess
    conn_id: str

    @property
    def flavor(self) -> str:
        return self.sandbox.flavor


def connect(
    sandbox: JiraSandboxProcess, monkeypatch: pytest.MonkeyPatch, conn_id: str, user: str = "mlc-bot"
) -> str:
    login, secret = sandbox.credentials(user)
    connection = {
        "conn_type": "model_governance_jira",
        "host": sandbox.url,
        "login": login,
        "password": secret,
        "extra": {"flavor": sandbox.flavor, "project_key": "MLC"},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
    return conn_id


@pytest.fixture(params=["cloud", "datacenter"])
def jira(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[JiraTarget]:
    """The Jira sandbox of each flavour, with an Airflow connection ``jira_test`` to it as the bot."""
    fixture = "jira_sandbox" if request.param == "cloud" else "jira_sandbox_datacenter"
    sandbox: JiraSandboxProcess = request.getfixturevalue(fixture)
    sandbox.clear_faults()
    yield JiraTarget(sandbox, connect(sandbox, monkeypatch, "jira_test"))
    sandbox.clear_faults()


AWS_CONN_ID = "aws_approvals"
ENTITY = "retail"


@dataclass
class Governed:
    """An inventory (SQLite) with one use case and one model version registered in the AWS sandbox, and
    the settings (``MODEL_GOVERNANCE_CONFIG``) the approval tasks read."""

    inventory: Inventory
    use_case_id: int
    model_id: int
    package_arn: str
    aws: AwsSandbox
    settings: dict[str, Any]
    monkeypatch: pytest.MonkeyPatch

    def configure(self, **sections: Any) -> None:
        """Replace settings sections (e.g. ``approvals``) for the tasks built after this call."""
        self.settings.update(sections)
        self.monkeypatch.setenv("MODEL_GOVERNANCE_CONFIG", json.dumps(self.settings))


def sandbox_identity(aws: AwsSandbox, access_key: str = "testing") -> str:
    """The IAM identity the AWS sandbox records (CreatedBy) for requests signed with ``access_key``."""
    return f"arn:aws:iam::{aws.account_id}:user/{access_key}"


@pytest.fixture
def make_governed(
    aws_sandbox: AwsSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Governed]:
    """Build a governed model version: ``risk_level`` of its use case, ``owner`` (an email),
    ``registered_by`` the access key that registers the package (``studio-<profile>`` for a Studio user);
    the sandbox's default credentials are mapped to no person unless ``identity_map`` says otherwise."""
    connection = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"endpoint_url": aws_sandbox.endpoint_url, "region_name": aws_sandbox.region},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{AWS_CONN_ID.upper()}", json.dumps(connection))
    url = f"sqlite:///{tmp_path / 'inventory.db'}"

    def build(
        *,
        risk_level: str = "High",
        owner: str = "owner@example.com",
        registered_by: str = "testing",
        identity_map: dict[str, str | None] | None = None,
        approvals: dict[str, Any] | None = None,
    ) -> Governed:
        import boto3

        # Decisions are anchored in the governance bucket (the audit chain).
        bucket = f"governance-{uuid.uuid4().hex[:8]}"
        aws_sandbox.client("s3").create_bucket(Bucket=bucket)
        settings: dict[str, Any] = {
            "business_entities": [
                {
                    "name": ENTITY,
                    "account_id": aws_sandbox.account_id,
                    "region": aws_sandbox.region,
                    "aws_conn_id": AWS_CONN_ID,
                }
            ],
            "inventory": {"url": url},
            "governance_bucket": bucket,
            "jira": {"project_key": "MLC", "poll_interval_seconds": 5},
            "approvals": {
                **(approvals or {}),
                "identity_map": {sandbox_identity(aws_sandbox): None, **(identity_map or {})},
            },
        }
        monkeypatch.setenv("MODEL_GOVERNANCE_CONFIG", json.dumps(settings))
        inventory = Inventory.from_url(url, upgrade_schema=True)
        inventory.ensure_business_entity(
            name=ENTITY, account_id=aws_sandbox.account_id, region=aws_sandbox.region, aws_conn_id=AWS_CONN_ID
        )
        name = f"churn-{uuid.uuid4().hex[:8]}"
        use_case = inventory.create_use_case(
            business_entity=ENTITY, name=name, risk_level=risk_level, owner=owner
        )
        registrar = boto3.client(
            "sagemaker",
            endpoint_url=aws_sandbox.endpoint_url,
            region_name=aws_sandbox.region,
            aws_access_key_id=registered_by,
            aws_secret_access_key="testing",
        )
        group_arn = registrar.create_model_package_group(ModelPackageGroupName=name)["ModelPackageGroupArn"]
        inventory.link_model_group(use_case_id=use_case.id, name=name, arn=group_arn)
        arn = registrar.create_model_package(
            ModelPackageGroupName=name,
            ModelPackageDescription="churn classifier",
            InferenceSpecification={
                "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelApprovalStatus="PendingManualApproval",
        )["ModelPackageArn"]
        model, _ = inventory.upsert_model(
            package_arn=arn, status="Development Complete", actor="sync", reason="onboarded"
        )
        return Governed(inventory, use_case.id, model.id, arn, aws_sandbox, settings, monkeypatch)

    return build


class FakeTI:
    """The parts of a task instance the approval tasks use."""

    def __init__(self, run_id: str | None = None, task_id: str = "pia_approval", dag_id: str = "mlc") -> None:
        self.dag_id, self.task_id = dag_id, task_id
        self.run_id = run_id or f"run-{uuid.uuid4().hex[:8]}"
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value
