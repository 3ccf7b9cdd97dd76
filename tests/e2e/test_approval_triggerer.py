"""A deferred Jira approval through a real scheduler and triggerer, decided in the Jira sandbox."""

from __future__ import annotations

import time

import pytest

from model_governance.approvals import approval_marker
from sandbox.airflow_cluster import AirflowCluster
from sandbox.jira.pytest_fixtures import JiraSandboxProcess
from tests.e2e.conftest import Stack


@pytest.fixture
def cluster(stack: Stack) -> AirflowCluster:
    """The shared stack: it loads tests/e2e/dags/approval_e2e.py and has the ``jira_e2e`` connection."""
    return stack.airflow


def _ticket(sandbox: JiraSandboxProcess, marker: str, timeout: float = 120) -> str:
    client = sandbox.client()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            found = client.enhanced_search_issues(f'labels = "{marker}"')
            if found:
                return str(found[0].key)
            time.sleep(1)
    finally:
        client.close()
    raise TimeoutError(f"no ticket with label {marker}")


def test_deferred_approval_completes_through_the_triggerer(stack: Stack, cluster: AirflowCluster) -> None:
    jira_sandbox = stack.jira
    cluster.wait_for_dag("approval_e2e")
    run_id = f"e2e-{int(time.time())}"
    cluster.trigger("approval_e2e", run_id)
    cluster.wait_for_task_state("approval_e2e", run_id, "pia_approval", {"deferred"})
    key = _ticket(
        jira_sandbox,
        approval_marker(dag_id="approval_e2e", run_id=run_id, task_id="pia_approval", kind="PIA"),
    )

    # The model's owner approving their own model does not count: the task moves the ticket back and
    # waits on in the triggerer.
    jira_sandbox.transition_as(key, "Done", "risk-officer@example.com")
    client = jira_sandbox.client()
    deadline = time.monotonic() + 120
    while str(client.issue(key).fields.status) != "To Do" and time.monotonic() < deadline:
        time.sleep(1)
    assert str(client.issue(key).fields.status) == "To Do", cluster.task_log(
        "approval_e2e", run_id, "pia_approval"
    )
    assert any("does not count" in c.body for c in client.comments(key))
    client.close()
    cluster.wait_for_task_state("approval_e2e", run_id, "pia_approval", {"deferred"})

    searches_before = jira_sandbox.count("POST /rest/api/3/search/jql")
    jira_sandbox.transition_as(key, "Done", "reviewer@example.com")
    assert cluster.wait_for_run("approval_e2e", run_id, timeout=180) == "success", cluster.log_tail(
        "triggerer"
    )
    assert jira_sandbox.count("POST /rest/api/3/search/jql") > searches_before, (
        "the shared search saw the move"
    )
    task_log = cluster.task_log("approval_e2e", run_id, "pia_approval")
    assert "Trigger fired event" in task_log and "'status': 'decided'" in task_log, task_log[-3000:]
