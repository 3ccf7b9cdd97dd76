"""Airflow's own REST API (v2), for what a task cannot do through the Task SDK: stop another DAG run.

The connection (type ``http``): host = the api-server's base URL (``http://airflow-apiserver:8080``), login
and password of a user allowed to edit DAG runs of the implementation DAG. A token is taken from
``POST /auth/token`` (the simple and FAB auth managers both answer it) and used for the calls.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any
from urllib.parse import quote

import requests
from airflow.sdk.bases.hook import BaseHook

from model_governance.exceptions import ConfigurationError, ExternalServiceError
from model_governance.hooks.connections import connection_base_url

_TIMEOUT = 30
_FINISHED = {"success", "failed"}
# task instance states that end a try for good (None, scheduled, deferred, up_for_retry... are not)
_TASK_FINISHED = {"success", "failed", "skipped", "upstream_failed", "removed"}
_PAGE = 100


class AirflowApiHook(BaseHook):
    """Stop DAG runs through the Airflow REST API with the user of ``airflow_api_conn_id``."""

    conn_name_attr = "airflow_api_conn_id"
    default_conn_name = "airflow_api"
    conn_type = "http"
    hook_name = "Airflow REST API"

    def __init__(self, airflow_api_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.airflow_api_conn_id = airflow_api_conn_id

    @cached_property
    def _endpoint(self) -> tuple[str, str, str]:
        conn = self.get_connection(self.airflow_api_conn_id)
        host = connection_base_url(
            conn,
            label="Connection",
            wanted="the api-server's base URL, e.g. http://airflow-apiserver:8080",
            default_scheme="http",
        )
        if not conn.login or not conn.password:
            raise ConfigurationError(
                f"Connection {self.airflow_api_conn_id!r} needs the login and password of an Airflow user "
                "who may edit the implementation DAG's runs."
            )
        return host, conn.login, conn.password

    def get_conn(self) -> requests.Session:
        base, login, password = self._endpoint
        session = requests.Session()
        answer = session.post(
            f"{base}/auth/token", json={"username": login, "password": password}, timeout=_TIMEOUT
        )
        if answer.status_code not in (200, 201):
            raise ExternalServiceError(
                f"Airflow refused a token for the user of {self.airflow_api_conn_id!r} "
                f"(HTTP {answer.status_code}); check its login and password."
            )
        session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        return session

    @cached_property
    def session(self) -> requests.Session:
        return self.get_conn()

    def dag_run_state(self, dag_id: str, run_id: str) -> str | None:
        """The run's state, or None when there is no such run."""
        answer = self.session.get(self._run_url(dag_id, run_id), timeout=_TIMEOUT)
        if answer.status_code == 404:
            return None
        self._check(answer, f"reading run {run_id} of {dag_id}")
        return str(answer.json().get("state"))

    def stop_dag_run(self, dag_id: str, run_id: str, reason: str) -> bool:
        """Stop a run that is still going, with ``reason`` as its note: every task instance not finished
        yet is marked failed, so the scheduler fails the run. False when there was nothing to stop (no
        such run, or finished already): safe to call again.

        Why the task instances and not the run's state: a run-level PATCH races the scheduler, which may
        hold the run in memory and write its own verdict over ours (seen on SQLite: marked failed, put
        back to running, then "success", because every task the PATCH had skipped is a successful leaf).
        Failed task instances leave the verdict to the scheduler's own rules, and it can only be failed.
        """
        state = self.dag_run_state(dag_id, run_id)
        if state is None or state in _FINISHED:
            return False
        url = self._run_url(dag_id, run_id)
        note = reason[:1000]
        self._check(
            self.session.patch(url, params={"update_mask": "note"}, json={"note": note}, timeout=_TIMEOUT),
            f"noting why run {run_id} of {dag_id} stops",
        )
        unfinished = self._unfinished_task_instances(dag_id, run_id)
        for task_id, map_index in unfinished:
            path = f"{url}/taskInstances/{quote(task_id, safe='')}"
            if map_index >= 0:
                path += f"/{map_index}"
            answer = self.session.patch(path, json={"new_state": "failed", "note": note}, timeout=_TIMEOUT)
            if answer.status_code == 404:  # cleared or removed meanwhile: nothing left to stop there
                continue
            self._check(answer, f"failing task {task_id} of run {run_id} of {dag_id}")
        if not unfinished:  # every task finished but the run has no verdict yet: say it
            self._check(
                self.session.patch(
                    url, params={"update_mask": "state"}, json={"state": "failed"}, timeout=_TIMEOUT
                ),
                f"stopping run {run_id} of {dag_id}",
            )
        return True

    def _unfinished_task_instances(self, dag_id: str, run_id: str) -> list[tuple[str, int]]:
        """(task_id, map_index) of the run's task instances that have not finished, all pages."""
        found: list[tuple[str, int]] = []
        offset = 0
        while True:
            answer = self.session.get(
                f"{self._run_url(dag_id, run_id)}/taskInstances",
                params={"limit": _PAGE, "offset": offset},
                timeout=_TIMEOUT,
            )
            self._check(answer, f"listing the tasks of run {run_id} of {dag_id}")
            page = answer.json().get("task_instances") or []
            found += [
                (str(ti["task_id"]), int(ti.get("map_index", -1)))
                for ti in page
                if ti.get("state") not in _TASK_FINISHED
            ]
            offset += len(page)
            if not page or offset >= int(answer.json().get("total_entries") or 0):
                return found

    def _run_url(self, dag_id: str, run_id: str) -> str:
        base, _, _ = self._endpoint
        return f"{base}/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}"

    @staticmethod
    def _check(answer: Any, what: str) -> None:
        if answer.status_code >= 400:
            raise ExternalServiceError(
                f"Airflow API {what} failed: HTTP {answer.status_code} {answer.text[:300]}"
            )
