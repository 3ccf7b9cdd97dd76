"""End-to-end tier: real Airflow processes (api-server, scheduler, dag-processor, triggerer) running the
project's DAGs against the AWS and Jira sandboxes and the SMTP sink.

One shared stack
----------------
Starting Airflow costs a minute or more of a small machine, so every e2e test that can runs on one cluster
per test process, the ``stack`` fixture (session scope): SQLite metadata DB, LocalExecutor, the AWS and
Jira sandboxes of the session, an SMTP sink, one SQLite governance inventory (``stack.inventory``). Under
pytest-xdist (``make test``) the modules using it are dealt into ``MG_E2E_STACKS`` groups (default 2, see
tests/conftest.py): two workers each start the stack once and run their modules side by side. So a module
may share its stack with any other module, or have one to itself: it must not depend on either.

- DAGs: the repository's ``dags/*.py`` and the test DAGs in ``tests/e2e/dags/*.py`` (linked into one dags
  folder). A new test DAG: put its file in ``tests/e2e/dags/``, then ``stack.airflow.wait_for_dag(id)``.
- Settings (``stack.settings``, the ``MODEL_GOVERNANCE_CONFIG`` of every process): business entity
  ``retail-bank`` (``stack.entity``) with the SageMaker modes (risk tests as a Processing job, the DAG
  deploying the endpoint), its SQS FIFO event queue and dead-letter queue (``stack.queue_url``,
  ``stack.dead_letter_url``) for the lifecycle sync, events only (no reconcile on a clock).
- Connections: ``aws_retail_bank``, ``jira_default``, ``smtp_default`` (demo names), ``jira_e2e`` (the
  Jira sandbox, for test DAGs) and ``airflow_api`` (this api-server, as admin).
- Drive it through ``stack.airflow``: ``trigger``, ``wait_for_run``, ``wait_for_task_state``,
  ``task_states``, ``dag_runs``, ``clear_run``, ``fail_run``, ``task_log`` (REST, not the CLI).

Tests share the cluster, so a test (or its module fixture) must
- use names of its own (uuid suffixes for use cases, groups, run ids) and find its Jira tickets by its
  approval marker, never "the only ticket";
- clear or count only its own runs (``clear_run(dag_id, run_id)``, never ``airflow tasks clear`` over
  dates: that re-runs every test's runs);
- leave nothing running: a module that starts runs it does not finish fails them at teardown
  (``fail_run``), and what it switches on in a sandbox (events, faults, workloads) it switches off.

Write a new e2e test as a plain function taking ``stack`` (see test_use_case_registration.py); put
module-wide setup in a module fixture that takes ``stack`` (see ``sync_stack`` in test_lifecycle_sync.py).
Tests that need another topology start their own ``AirflowCluster`` in a module fixture: the production
shape (test_production_shape.py: PostgreSQL + Celery on Redis) and the dashboard (test_dashboard_browser.py:
an api-server on a seeded inventory of its own). tests/conftest.py puts each such module in an xdist group
of its own, so under ``make test`` it runs on another worker at the same time as the shared stack's tests.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from model_governance.inventory import Inventory
from sandbox.airflow_cluster import REPO_ROOT, AirflowCluster
from sandbox.aws.pytest_fixtures import AwsSandbox, start_sandbox
from sandbox.demo import BUCKET, DATA_BUCKET, ENTITY, governance_env, with_events
from sandbox.jira.pytest_fixtures import JiraSandboxProcess, start_jira_sandbox
from sandbox.smtp.pytest_fixtures import SmtpSink, start_smtp_sink
from tests.conftest import cluster_start_slot

#: The test DAGs the shared stack loads beside the repository's dags/.
TEST_DAGS = Path(__file__).parent / "dags"
#: The shared stack's users (simple auth manager) and their roles: ``operator`` may trigger DAG runs (role
#: user), ``auditor`` may only read (role viewer). Passwords: ``stack_password(stack, user)``.
STACK_USERS = {"admin": "admin", "operator": "user", "auditor": "viewer"}
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"


@dataclass
class Stack:
    airflow: AirflowCluster
    aws: AwsSandbox
    jira: JiraSandboxProcess
    smtp: SmtpSink
    inventory: Inventory
    home: Path
    entity: str = ENTITY
    settings: dict[str, Any] = field(default_factory=dict)
    #: The business entity's event queue (FIFO) and dead-letter queue, and the queue's name in the sandbox.
    queue_url: str = ""
    dead_letter_url: str = ""
    queue_name: str = ""


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


def link_dags(folder: Path) -> Path:
    """One dags folder for the shared stack: links to the repository's DAG files and the test DAGs."""
    folder.mkdir(parents=True, exist_ok=True)
    for source in [*sorted((REPO_ROOT / "dags").glob("*.py")), *sorted(TEST_DAGS.glob("*.py"))]:
        if source.name.startswith("_"):
            continue
        target = folder / source.name
        if target.exists() or target.is_symlink():
            raise RuntimeError(f"two e2e DAG files are called {source.name}; rename the one in {TEST_DAGS}")
        target.symlink_to(source)
    return folder


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The shared Airflow cluster of the e2e tier (see the module docstring)."""
    home = tmp_path_factory.mktemp("governance")
    # Sandboxes of its own, not the worker's session ones: the stack lives until the worker's session ends,
    # and its triggerer's polling would reach the request counts of the tests the worker runs after it.
    aws_sandbox = start_sandbox("--seed", "1234")
    jira_sandbox = start_jira_sandbox("cloud", state_file=home / "jira.db")
    smtp = start_smtp_sink(home / "mail")
    inventory_url = f"sqlite:///{home / 'inventory.db'}"
    ensure_buckets(aws_sandbox)
    # The sync's queues exist before the start: the sync DAG builds its queue watcher at parse time.
    queue = f"governance-e2e-{uuid.uuid4().hex[:8]}.fifo"
    sqs = aws_sandbox.client("sqs")
    queue_url = sqs.create_queue(QueueName=queue, Attributes={"FifoQueue": "true"})["QueueUrl"]
    dead_url = sqs.create_queue(QueueName=f"dead-{queue}", Attributes={"FifoQueue": "true"})["QueueUrl"]

    airflow = AirflowCluster(home=home / "airflow", dags_folder=link_dags(home / "dags"))
    # Events only, as the demo (a reconcile on a clock would start the implementation runs the tests start
    # themselves); the sync stops a decommissioned model's run through this api-server.
    env = with_events(
        governance_env(aws_sandbox, jira_sandbox, smtp, inventory_url, settings=sagemaker_modes(aws_sandbox)),
        queue_url,
        dead_url,
    )
    settings = json.loads(env["MODEL_GOVERNANCE_CONFIG"])
    settings["sync"]["airflow_api_conn_id"] = "airflow_api"
    env["MODEL_GOVERNANCE_CONFIG"] = json.dumps(settings)
    # jira_e2e (for test DAGs): the same Jira sandbox connection as jira_default.
    env["AIRFLOW_CONN_JIRA_E2E"] = env["AIRFLOW_CONN_JIRA_DEFAULT"]
    env["AIRFLOW_CONN_AIRFLOW_API"] = json.dumps(
        {"conn_type": "http", "host": airflow.url, "login": "admin", "password": airflow.password}
    )
    # Users beside admin (STACK_USERS; test_dashboard_actions.py logs in as them), passwords known up front.
    env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = ",".join(f"{u}:{r}" for u, r in STACK_USERS.items())
    airflow.home.mkdir(parents=True, exist_ok=True)
    (airflow.home / PASSWORDS_FILE).write_text(
        json.dumps({u: airflow.password if u == "admin" else secrets.token_urlsafe(16) for u in STACK_USERS})
    )
    airflow.overrides = env
    try:
        with cluster_start_slot(tmp_path_factory, shared=True):
            airflow.start()
            for dag_id in (
                "use_case_registration",
                "sagemaker_model_implementation",
                "sagemaker_lifecycle_sync",
            ):
                airflow.wait_for_dag(dag_id)
        yield Stack(
            airflow,
            aws_sandbox,
            jira_sandbox,
            smtp,
            Inventory.from_url(inventory_url),
            home,
            settings=settings,
            queue_url=str(queue_url),
            dead_letter_url=str(dead_url),
            queue_name=queue,
        )
    finally:
        airflow.stop()
        for process in (smtp, jira_sandbox, aws_sandbox):
            process.stop()


def stack_password(stack: Stack, user: str) -> str:
    """The password of one of ``STACK_USERS`` on the shared stack."""
    return str(json.loads((stack.airflow.home / PASSWORDS_FILE).read_text())[user])
