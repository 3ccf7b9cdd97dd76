"""End-to-end tier: real Airflow processes (api-server, scheduler, dag-processor, triggerer) running the
project's DAGs against the AWS and Jira sandboxes and the SMTP sink.

The ``stack`` runs the SageMaker modes: the risk tests as a SageMaker Processing job and the deploy step
deploying the endpoint (both on the AWS sandbox, which runs the job and takes a moment over the endpoint).
The production shape (test_production_shape.py) runs the defaults: tests in the worker, an outside deployer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from model_governance.inventory import Inventory
from sandbox.airflow_cluster import AirflowCluster
from sandbox.aws.pytest_fixtures import AwsSandbox
from sandbox.demo import BUCKET, DATA_BUCKET, governance_env
from sandbox.jira.pytest_fixtures import JiraSandboxProcess
from sandbox.smtp.pytest_fixtures import SmtpSink, start_smtp_sink


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@dataclass
class Stack:
    airflow: AirflowCluster
    aws: AwsSandbox
    jira: JiraSandboxProcess
    smtp: SmtpSink
    inventory: Inventory
    home: Path


def sagemaker_modes(aws: AwsSandbox) -> dict[str, Any]:
    """Settings that run the risk tests as a Processing job and let the DAG deploy the endpoint."""
    return {
        "risk_tests": {
            "runner": "processing",
            "image_uri": f"{aws.account_id}.dkr.ecr.{aws.region}.amazonaws.com/model-governance:0.1.0",
            "role_arn": f"arn:aws:iam::{aws.account_id}:role/model-governance-risk-tests",
            "instance_type": "ml.m5.large",
            "poll_interval_seconds": 2,
        },
        "deployment": {"deploy_endpoint": True, "poll_interval_seconds": 2},
    }


def ensure_buckets(aws: AwsSandbox) -> None:
    """The governance and data buckets the DAGs use, in the session's shared AWS sandbox."""
    s3 = aws.client("s3")
    existing = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    for bucket in {BUCKET, DATA_BUCKET} - existing:
        s3.create_bucket(Bucket=bucket)


@pytest.fixture(scope="session")
def stack(
    aws_sandbox: AwsSandbox, jira_sandbox: JiraSandboxProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """Airflow on the repository's dags/, configured like the demo (one business entity, retail-bank)."""
    home = tmp_path_factory.mktemp("governance")
    smtp = start_smtp_sink(home / "mail")
    inventory_url = f"sqlite:///{home / 'inventory.db'}"
    ensure_buckets(aws_sandbox)
    airflow = AirflowCluster(
        home=home / "airflow",
        overrides=governance_env(
            aws_sandbox, jira_sandbox, smtp, inventory_url, settings=sagemaker_modes(aws_sandbox)
        ),
    ).start()
    try:
        for dag_id in ("use_case_registration", "sagemaker_model_implementation"):
            airflow.wait_for_dag(dag_id)
        yield Stack(airflow, aws_sandbox, jira_sandbox, smtp, Inventory.from_url(inventory_url), home)
    finally:
        airflow.stop()
        smtp.stop()
