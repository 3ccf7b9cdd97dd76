"""hooks/airflow_api.py: stopping another DAG run fails its unfinished task instances and leaves the run's
verdict to the scheduler (a run-level state PATCH races the scheduler, which can write "success" over it)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from model_governance.exceptions import ExternalServiceError
from model_governance.hooks.airflow_api import AirflowApiHook

BASE = "http://airflow.test"
RUN = f"{BASE}/api/v2/dags/mlc/dagRuns/run%201"


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch) -> AirflowApiHook:
    hook = AirflowApiHook()
    monkeypatch.setitem(hook.__dict__, "_endpoint", (BASE, "admin", "secret"))
    return hook


def _task_instances(*states: tuple[str, str | None, int]) -> dict[str, Any]:
    tis = [{"task_id": t, "state": s, "map_index": m} for t, s, m in states]
    return {"task_instances": tis, "total_entries": len(tis)}


def _patches(calls: Any) -> list[tuple[str, dict[str, Any]]]:
    return [
        (c.request.url.split("?")[0], json.loads(c.request.body))
        for c in calls
        if c.request.method == "PATCH"
    ]


@responses.activate
def test_stopping_a_run_fails_each_unfinished_task_instance_and_never_patches_the_runs_state(
    hook: AirflowApiHook,
) -> None:
    responses.post(f"{BASE}/auth/token", json={"access_token": "t"})
    responses.get(RUN, json={"state": "running"})
    responses.patch(RUN, json={})
    responses.get(
        f"{RUN}/taskInstances",
        json=_task_instances(
            ("snapshot", "success", -1),
            ("pia_approval", "deferred", -1),
            ("risk_tests", None, -1),
            ("scores", "up_for_retry", 2),
            ("old", "skipped", -1),
        ),
    )
    for path in ("pia_approval", "risk_tests", "scores/2"):
        responses.patch(f"{RUN}/taskInstances/{path}", json={})

    assert hook.stop_dag_run("mlc", "run 1", "model package decommissioned") is True

    assert _patches(responses.calls) == [
        (RUN, {"note": "model package decommissioned"}),
        (
            f"{RUN}/taskInstances/pia_approval",
            {"new_state": "failed", "note": "model package decommissioned"},
        ),
        (f"{RUN}/taskInstances/risk_tests", {"new_state": "failed", "note": "model package decommissioned"}),
        (f"{RUN}/taskInstances/scores/2", {"new_state": "failed", "note": "model package decommissioned"}),
    ]
    assert responses.calls[0].request.url == f"{BASE}/auth/token"
    assert all(c.request.headers.get("Authorization") == "Bearer t" for c in responses.calls[1:])


@responses.activate
def test_task_instances_are_read_over_every_page(hook: AirflowApiHook) -> None:
    responses.post(f"{BASE}/auth/token", json={"access_token": "t"})
    first = [{"task_id": f"t{i}", "state": "success", "map_index": -1} for i in range(100)]
    responses.get(
        f"{RUN}/taskInstances",
        match=[responses.matchers.query_param_matcher({"limit": "100", "offset": "0"})],
        json={"task_instances": first, "total_entries": 101},
    )
    responses.get(
        f"{RUN}/taskInstances",
        match=[responses.matchers.query_param_matcher({"limit": "100", "offset": "100"})],
        json={
            "task_instances": [{"task_id": "late", "state": "queued", "map_index": -1}],
            "total_entries": 101,
        },
    )
    assert hook._unfinished_task_instances("mlc", "run 1") == [("late", -1)]


@responses.activate
@pytest.mark.parametrize("state", ["success", "failed", None])
def test_a_finished_or_missing_run_is_left_alone(hook: AirflowApiHook, state: str | None) -> None:
    responses.post(f"{BASE}/auth/token", json={"access_token": "t"})
    if state is None:
        responses.get(RUN, status=404)
    else:
        responses.get(RUN, json={"state": state})
    assert hook.stop_dag_run("mlc", "run 1", "why") is False
    assert _patches(responses.calls) == []


@responses.activate
def test_a_run_whose_tasks_all_finished_is_marked_failed_itself(hook: AirflowApiHook) -> None:
    responses.post(f"{BASE}/auth/token", json={"access_token": "t"})
    responses.get(RUN, json={"state": "running"})
    responses.patch(RUN, json={})
    responses.get(f"{RUN}/taskInstances", json=_task_instances(("a", "success", -1)))
    assert hook.stop_dag_run("mlc", "run 1", "why") is True
    assert _patches(responses.calls) == [(RUN, {"note": "why"}), (RUN, {"state": "failed"})]


@responses.activate
def test_a_refused_task_patch_is_an_error_naming_the_task_and_run(hook: AirflowApiHook) -> None:
    responses.post(f"{BASE}/auth/token", json={"access_token": "t"})
    responses.get(RUN, json={"state": "running"})
    responses.patch(RUN, json={})
    responses.get(f"{RUN}/taskInstances", json=_task_instances(("pia_approval", "deferred", -1)))
    responses.patch(f"{RUN}/taskInstances/pia_approval", status=403, body="Forbidden")
    with pytest.raises(
        ExternalServiceError, match="failing task pia_approval of run run 1 of mlc failed: HTTP 403"
    ):
        hook.stop_dag_run("mlc", "run 1", "why")
