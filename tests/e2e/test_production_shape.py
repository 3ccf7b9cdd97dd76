"""The production shape (docker-compose's topology without Docker): PostgreSQL for Airflow's metadata and
the governance inventory, CeleryExecutor with Redis as broker and a Celery worker, plus api-server,
scheduler, dag-processor and triggerer. A use case is registered, approved in Jira and gets its group; a
model version goes through sagemaker_model_implementation to Deployed. This stack runs the default modes
(risk tests in the Celery worker, an outside deployer reporting Deployment/Complete)."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from model_governance.approvals import approval_marker
from model_governance.inventory import Inventory
from sandbox.airflow_cluster import COMPONENTS, AirflowCluster
from sandbox.aws.pytest_fixtures import AwsSandbox
from sandbox.demo import Demo, _register_model_version, governance_env
from sandbox.jira.pytest_fixtures import JiraSandboxProcess
from sandbox.smtp.pytest_fixtures import start_smtp_sink
from tests.conftest import cluster_start_slot, postgres_admin_url
from tests.e2e.conftest import Stack
from tests.e2e.test_model_implementation import DAG_ID, _drive, _use_case_with_group

REDIS = ("127.0.0.1", 6379)


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def production(
    postgres_server: str,
    aws_sandbox: AwsSandbox,
    jira_sandbox: JiraSandboxProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    if not _listening(*REDIS):
        pytest.skip(f"Redis is not listening on {REDIS[0]}:{REDIS[1]}; the Celery broker is needed")
    suffix = uuid.uuid4().hex[:8]
    databases = {"airflow": f"mg_e2e_airflow_{suffix}", "inventory": f"mg_e2e_inventory_{suffix}"}
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in databases.values():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    home = tmp_path_factory.mktemp("production")
    smtp = start_smtp_sink(home / "mail")
    queue = f"governance-e2e-{suffix}"  # a queue of our own: other Celery users of this Redis are left alone
    metadata_url = postgres_admin_url(databases["airflow"])
    inventory_url = postgres_admin_url(databases["inventory"])
    overrides = {
        **governance_env(aws_sandbox, jira_sandbox, smtp, inventory_url),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS[0]}:{REDIS[1]}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata_url.replace("postgresql+psycopg2", "postgresql"),
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "4",
    }
    airflow = AirflowCluster(
        home=home / "airflow",
        overrides=overrides,
        components=(*COMPONENTS, f"celery worker --queues {queue}"),
    )
    try:
        with cluster_start_slot(tmp_path_factory):
            airflow.start()
            airflow.wait_for_dag("use_case_registration")
            airflow.wait_for_dag(DAG_ID)
        yield Stack(airflow, aws_sandbox, jira_sandbox, smtp, Inventory.from_url(inventory_url), home)
    finally:
        airflow.stop()
        smtp.stop()
        with admin.connect() as conn:
            for name in databases.values():
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_use_case_registration_on_postgres_and_celery(
    production: Stack, jira_sandbox: JiraSandboxProcess, aws_sandbox: AwsSandbox
) -> None:
    airflow, inventory = production.airflow, production.inventory
    name = f"Fraud scoring {uuid.uuid4().hex[:6]}"
    run_id = f"prod-{uuid.uuid4().hex[:8]}"
    airflow.trigger(
        "use_case_registration",
        run_id,
        conf={
            "name": name,
            "description": "Score card transactions for fraud",
            "business_entity": "retail-bank",
            "risk_level": "Medium",
            "owner": "owner@example.com",
            "data_science_email": "ds-team@example.com",
            "model_type": "SAGEMAKER",
        },
    )
    airflow.wait_for_task_state(
        "use_case_registration", run_id, "use_case_approval", {"deferred"}, timeout=300
    )
    marker = approval_marker(
        dag_id="use_case_registration", run_id=run_id, task_id="use_case_approval", kind="USE_CASE"
    )
    client = jira_sandbox.client()
    try:
        for _ in range(60):
            found = client.enhanced_search_issues(f'labels = "{marker}"')
            if found:
                break
            time.sleep(1)
    finally:
        client.close()
    assert found, "the approval ticket was opened"
    jira_sandbox.transition_as(found[0].key, "Done", "reviewer@example.com")
    assert airflow.wait_for_run("use_case_registration", run_id, timeout=300) == "success", airflow.log_tail(
        "celery worker"
    )
    use_case = inventory.find_use_case(business_entity="retail-bank", name=name)
    assert use_case is not None and use_case.status == "Approved"
    group = inventory.model_group_of_use_case(use_case.id)
    assert group is not None
    sagemaker = aws_sandbox.client("sagemaker")
    assert sagemaker.describe_model_package_group(ModelPackageGroupName=group.name)["ModelPackageGroupStatus"]
    assert inventory.engine.dialect.name == "postgresql"


@pytest.mark.postgres
def test_model_implementation_to_deployed_on_postgres_and_celery(production: Stack) -> None:
    group = _use_case_with_group(production)
    arn = _register_model_version(Demo(production.home, approve_after=0, timeout=600), production.aws, group)
    run_id = f"prod-mlc-{uuid.uuid4().hex[:8]}"
    production.airflow.trigger(DAG_ID, run_id, conf={"package_arn": arn})
    state = _drive(production, run_id, arn, deployer=True)
    assert state == "success", (
        production.airflow.task_states(DAG_ID, run_id),
        production.airflow.log_tail("celery worker"),
    )
    model = production.inventory.get_model(arn)
    assert model.status == "Deployed"
    assert [e.to_status for e in production.inventory.status_history(model)][-2:] == [
        "Approved for Deployment",
        "Deployed",
    ]
    assert production.inventory.verify_audit_trail(model).ok
    run = production.inventory.latest_risk_test_run(model)
    assert run is not None and run.state == "SUCCEEDED" and run.report["inputs"].get("processing_job") is None
    states = production.airflow.task_states(DAG_ID, run_id)
    assert states["deploy_endpoint"] == "success" and states["wait_for_deployment"] == "success"
    assert production.inventory.engine.dialect.name == "postgresql"
