"""Crashes mid-run: the scheduler, the triggerer and a worker (the task process) are killed (SIGKILL) at
random points of a sagemaker_model_implementation run, and each started again; the run still ends
Deployed, with one Jira ticket per gate, no S3 object written twice and no status event recorded twice.

A cluster of its own (SQLite, LocalExecutor; killing its scheduler also kills the executor's workers and
their task processes, as losing the scheduler's machine would), with private AWS and Jira sandboxes so
every ticket and S3 object in them belongs to these runs. Airflow notices the lost task processes after
``task_instance_heartbeat_timeout`` (shortened here) and retries them (the DAG retries every task). The
seeds choose the order and the moments of the kills; one seed runs by default, ``MG_RESTART_SEEDS=5``
runs five (each a new model version on the same cluster).
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from model_governance.inventory import Inventory
from sandbox.airflow_cluster import AirflowCluster
from sandbox.aws.pytest_fixtures import start_sandbox
from sandbox.demo import (
    BUCKET,
    Demo,
    _approve_open_tickets,
    _register_model_version,
    deployer_step,
    governance_env,
    transient,
)
from sandbox.jira.pytest_fixtures import start_jira_sandbox
from sandbox.smtp.pytest_fixtures import start_smtp_sink
from tests.conftest import cluster_start_slot
from tests.e2e.conftest import Stack, ensure_buckets
from tests.e2e.test_model_implementation import DAG_ID, _use_case_with_group

SEEDS = [int(s) for s in range(1, 1 + max(1, int(os.environ.get("MG_RESTART_SEEDS", "1"))))]
#: Seconds after the trigger within which the three kills fall: an undisturbed run can end in about a
#: minute (seed 2 of the first five-seed run ended at 64 s, before its last two kills), and each kill
#: delays the rest, so kills due by 50 s land while the run is going.
KILL_WINDOW = (5.0, 50.0)
EXPECTED_PATH = [
    "Development Complete",
    "Pre Implementation Review",
    "Validation Complete",
    "Awaiting Approval",
    "Approved for Deployment",
    "Deployed",
]


@pytest.fixture(scope="module")
def crash_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("restarts")
    aws = start_sandbox("--seed", "11")
    jira = start_jira_sandbox("cloud", state_file=home / "jira.db")
    smtp = start_smtp_sink(home / "mail")
    airflow = None
    try:
        ensure_buckets(aws)
        inventory_url = f"sqlite:///{home / 'inventory.db'}"
        env = governance_env(aws, jira, smtp, inventory_url)
        env.update(
            {
                # Notice a lost task process, a dead scheduler or triggerer within seconds, not minutes.
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "10",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "10",
                "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
            }
        )
        airflow = AirflowCluster(home=home / "airflow", overrides=env)
        with cluster_start_slot(tmp_path_factory):
            airflow.start()
        airflow.wait_for_dag(DAG_ID)
        yield Stack(airflow, aws, jira, smtp, Inventory.from_url(inventory_url), home)  # type: ignore[arg-type]
    finally:
        if airflow is not None:
            airflow.stop()
        for process in (smtp, jira, aws):
            process.stop()


@dataclass
class Kills:
    """What was killed when (seconds after the trigger)."""

    plan: list[tuple[float, str]]
    done: list[str] = field(default_factory=list)


def _kill_due(stack: Stack, kills: Kills, elapsed: float) -> None:
    while kills.plan and kills.plan[0][0] <= elapsed:
        at, what = kills.plan[0]
        if what == "worker":
            pids = stack.airflow.kill_task_processes()
            if not pids:
                return  # no task is running at this moment: kill the next one that runs
            kills.done.append(f"{elapsed:.0f}s task process(es) {pids} (due at {at:.0f}s)")
        else:
            stack.airflow.restart_component(what, crash=True)
            kills.done.append(f"{elapsed:.0f}s {what}")
        kills.plan.pop(0)


def _drive_with_kills(
    stack: Stack, run_id: str, arn: str, seed: int, timeout: float = 540
) -> tuple[str, Kills]:
    rng = random.Random(seed)
    order = ["scheduler", "triggerer", "worker"]
    rng.shuffle(order)
    kills = Kills(sorted(zip(sorted(rng.uniform(*KILL_WINDOW) for _ in order), order, strict=True)))
    demo = Demo(stack.home, approve_after=rng.uniform(1.0, 8.0), timeout=timeout)
    sagemaker = stack.aws.client("sagemaker", retries={"mode": "adaptive", "max_attempts": 10})
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        _kill_due(stack, kills, time.monotonic() - started)
        _approve_open_tickets(demo, stack.jira)
        try:
            deployer_step(sagemaker, arn)
        except Exception as exc:
            if not transient(exc):
                raise
        state = stack.airflow.run_state(DAG_ID, run_id)
        if state in ("success", "failed"):
            return str(state), kills
        time.sleep(0.5 if kills.plan else 2)
    raise TimeoutError(f"{run_id}: {stack.airflow.task_states(DAG_ID, run_id)}; kills {kills}")


def _tries(stack: Stack, run_id: str) -> dict[str, int]:
    page = stack.airflow.api("GET", f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances?limit=100")
    return {row["task_id"]: int(row.get("try_number") or 0) for row in page["task_instances"]}


@pytest.mark.parametrize("seed", SEEDS)
def test_run_survives_scheduler_triggerer_and_worker_crashes(crash_stack: Stack, seed: int) -> None:
    stack = crash_stack
    group = _use_case_with_group(stack)
    arn = _register_model_version(Demo(stack.home, approve_after=0, timeout=600), stack.aws, group)
    run_id = f"crash-{seed}-{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    stack.airflow.trigger(DAG_ID, run_id, conf={"package_arn": arn})
    state, kills = _drive_with_kills(stack, run_id, arn, seed)
    report = (
        f"seed {seed}: {state} in {time.monotonic() - started:.0f}s; kills: {kills.done}; "
        f"not done: {kills.plan}; tries: {_tries(stack, run_id)}"
    )
    print(report)
    assert state == "success", (report, stack.airflow.task_states(DAG_ID, run_id))
    assert not kills.plan, f"every kill happened while the run was going: {report}"

    model = stack.inventory.get_model(arn)
    events = [(e.from_status, e.to_status) for e in stack.inventory.status_history(model)]
    assert [to for _, to in events] == EXPECTED_PATH, events  # no status event twice
    assert stack.inventory.verify_audit_trail(model).ok

    # One ticket per gate: every approval marker on one ticket only, in a Jira only these runs use.
    client = stack.jira.client()
    try:
        issues = client.enhanced_search_issues("project = MLC ORDER BY created ASC", maxResults=False)
    finally:
        client.close()
    markers = Counter(label for i in issues for label in i.fields.labels if label.startswith("mg-approval-"))
    assert all(n == 1 for n in markers.values()), markers
    approvals = stack.inventory.approvals(model_id=model.id)
    assert sorted(a.kind for a in approvals) == ["PIA", "PRODUCTION", "TEST_RESULTS_REVIEW"]
    assert {a.jira_key for a in approvals} <= {i.key for i in issues}

    # No S3 object written twice: no two objects of the governance bucket hold the same bytes.
    s3 = stack.aws.client("s3")
    objects = [
        o
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        for o in page.get("Contents", [])
    ]
    same = Counter(o["ETag"] for o in objects)
    twice = {o["Key"]: o["ETag"] for o in objects if same[o["ETag"]] > 1}
    assert not twice, json.dumps(twice, indent=1)
    assert len(stack.inventory.documents(model)) == len(
        {d.media_type for d in stack.inventory.documents(model)}
    )
