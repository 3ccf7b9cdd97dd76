"""The demo's path (``make demo``) on the shared stack: a version registered while SageMaker events reach
the business entity's queue gets its implementation run started by the lifecycle sync (the run id is the
sync's deterministic ``mlc_run_id``, no run started by hand), goes to Deployed, and after go-live a metric
breach pushed three times through the monitoring push API opens exactly one finding ticket in Jira once
the ``model_monitoring`` DAG has run (twice: a later run comments, it creates nothing again).

test_lifecycle_sync.py covers the queue itself (duplicates, a triggerer down, deletes); this is the one path
from registration to a finding."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from model_governance.services.monitoring import finding_marker
from model_governance.sync import mlc_run_id
from sandbox.demo import (
    ENTITY,
    MLC_DAG,
    MONITORING_DAG,
    Demo,
    _register_model_version,
    breach_body,
    push_metric,
    wait_started_by_sync,
)
from tests.e2e.conftest import Stack
from tests.e2e.test_model_implementation import _drive, _explain, _use_case_with_group


@pytest.fixture
def events_on(stack: Stack) -> Iterator[str]:
    """A linked group of this test's own, with model package events reaching the stack's queue while the
    test runs; its implementation run, if left unfinished, is failed at the end."""
    group = _use_case_with_group(stack)
    stack.aws.set_events(queue=stack.queue_name)
    try:
        yield group
    finally:
        stack.aws.set_events(queue=None)
        for run in stack.airflow.dag_runs(MLC_DAG):
            if f"__{group.lower()}__" in run["run_id"] and run["state"] not in ("success", "failed"):
                stack.airflow.fail_run(MLC_DAG, run["run_id"], note="demo path e2e: left over")


def test_the_sync_starts_the_run_and_a_breach_pushed_three_times_opens_one_finding_ticket(
    stack: Stack, events_on: str
) -> None:
    arn = _register_model_version(Demo(stack.home, approve_after=0, timeout=600), stack.aws, events_on)
    run_id = mlc_run_id(ENTITY, arn)
    # Started by the sync's TriggerDagRunOperator (triggered_by "operator"), from the queue's event.
    sync_run = wait_started_by_sync(stack.airflow, run_id, timeout=240, tick=lambda: None)
    assert sync_run.startswith("asset_triggered__"), sync_run
    assert _drive(stack, run_id, arn) == "success", _explain(stack, run_id)
    model = stack.inventory.get_model(arn)
    assert model.status == "Deployed" and model.mlc_run_id == run_id

    stack.airflow.wait_for_dag(MONITORING_DAG)
    answers = [push_metric(stack.airflow, breach_body(arn, value))["finding"] for value in (0.7, 0.69)]
    assert [a["opened"] for a in answers] == [True, False] and answers[0]["breached"]
    finding_id = answers[0]["finding_id"]
    monitoring_run = f"demo-path-{uuid.uuid4().hex[:8]}"
    stack.airflow.trigger(MONITORING_DAG, f"{monitoring_run}-1")
    assert stack.airflow.wait_for_run(MONITORING_DAG, f"{monitoring_run}-1") == "success"
    third = push_metric(stack.airflow, breach_body(arn, 0.68))["finding"]
    assert (third["finding_id"], third["opened"]) == (finding_id, False)
    stack.airflow.trigger(MONITORING_DAG, f"{monitoring_run}-2")
    assert stack.airflow.wait_for_run(MONITORING_DAG, f"{monitoring_run}-2") == "success"

    finding = stack.inventory.finding(finding_id)
    assert (finding.breaches, finding.jira_breaches, finding.state) == (3, 3, "open")
    client = stack.jira.client()
    try:
        tickets = client.enhanced_search_issues(
            f'project = MLC AND labels = "{finding_marker(model.id, "auc", finding_id)}"'
        )
        assert [t.key for t in tickets] == [finding.jira_key]
        assert any("Still breaching: 3" in str(c.body) for c in client.comments(finding.jira_key))
    finally:
        client.close()
