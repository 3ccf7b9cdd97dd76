"""Real Airflow processes on this machine (the demo and the end-to-end tests): api-server, scheduler,
dag-processor, triggerer.

Each process runs in its own session so teardown can stop it and every child it started. Defaults are
the embedded shape (SQLite metadata DB, LocalExecutor); ``overrides`` switch to Postgres + Celery.

Runs are driven and watched through the REST API (one HTTP request each) rather than the CLI: every
``airflow`` command is a new process importing Airflow, seconds of CPU on a small machine, and tests poll.
The admin password is written before the api-server starts, so it is known without reading its logs.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]


#: The audit chain key of the sandboxes (demo, tests): ``key_id:secret``, as MODEL_GOVERNANCE_AUDIT_KEYS
#: takes it. Not a secret: production reads its key from the ``model_governance_audit`` connection.
SANDBOX_AUDIT_KEYS = "sandbox:sandbox-audit-key-not-for-production"


def airflow_env(airflow_home: Path, **overrides: str) -> dict[str, str]:
    """Environment for an Airflow process on this checkout: its dags/ and plugins/, no examples."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        }
    )
    env.update(overrides)
    return env


VENV_BIN = Path(os.environ.get("VIRTUAL_ENV", REPO_ROOT / ".venv")) / "bin"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def airflow_binary() -> str:
    candidate = VENV_BIN / "airflow"
    if candidate.exists():
        return str(candidate)
    import shutil

    found = shutil.which("airflow")
    if not found:
        raise RuntimeError("The airflow command is not installed; run `make setup`.")
    return found


@dataclass
class AirflowCluster:
    home: Path
    dags_folder: Path = REPO_ROOT / "dags"
    overrides: Mapping[str, str] = field(default_factory=dict)
    components: Sequence[str] = COMPONENTS
    port: int = field(default_factory=free_port)
    # The workers' and the triggerer's log servers: ports of their own, as other clusters run beside this one.
    worker_log_port: int = field(default_factory=free_port)
    trigger_log_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # One secret per local cluster, so api-server and workers agree and nothing fixed is in the code.
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    #: The simple auth manager's ``admin`` password (written to its passwords file before the start).
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16), repr=False)
    _token: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = airflow_env(
            self.home,
            AIRFLOW__CORE__DAGS_FOLDER=str(self.dags_folder),
            AIRFLOW__CORE__EXECUTOR="LocalExecutor",
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{self.port}/execution/",
            AIRFLOW__API__PORT=str(self.port),
            AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(self.worker_log_port),
            AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(self.trigger_log_port),
            AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{self.port}",
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
            AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
            # The DAG files do not change while a cluster runs (a new or changed file is still parsed at
            # the next refresh): parsing all of them again every 30 s cost each cluster CPU for nothing.
            AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL="600",
            # The scheduler's heartbeat stays at its default (5 s): its loop does not wait on it, a dead
            # scheduler is noticed after scheduler_health_check_threshold either way, and at 1 s each idle
            # scheduler spent twice the CPU (3.4 against 1.9 CPU-seconds a minute, measured here).
            AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC="1",
            AIRFLOW__CORE__UNIT_TEST_MODE="False",
            AIRFLOW__API_AUTH__JWT_SECRET=self.jwt_secret,
            AIRFLOW__CORE__FERNET_KEY="",
        )
        env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
        env.update(self.overrides)
        return env

    def cli(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(  # noqa: S603 - our own airflow binary with our own arguments
            [airflow_binary(), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise RuntimeError(
                f"airflow {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        return done

    def start(self) -> AirflowCluster:
        self.home.mkdir(parents=True, exist_ok=True)
        passwords = self.home / "simple_auth_manager_passwords.json.generated"
        if not passwords.exists():
            # The simple auth manager keeps passwords it finds in this file and generates the others.
            passwords.write_text(json.dumps({"admin": self.password}) + "\n")
        else:
            self.password = json.loads(passwords.read_text())["admin"]
        self.cli("db", "migrate", timeout=300)
        self.upgrade_inventory()
        for component in self.components:
            self.start_component(component)
        self._wait_for_api()
        return self

    def upgrade_inventory(self) -> None:
        """Migrate the governance inventory this cluster's settings name (MODEL_GOVERNANCE_CONFIG, else
        SQLite under its AIRFLOW_HOME), as airflow-init does: tasks only check the schema's revision."""
        python = VENV_BIN / "python"
        done = subprocess.run(  # noqa: S603 - our own interpreter and module
            [
                str(python) if python.exists() else sys.executable,
                "-m",
                "model_governance.inventory",
                "upgrade",
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"model-governance db upgrade failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )

    def start_component(self, component: str) -> None:
        """Start one component (again, e.g. after ``stop_component``); its log is appended to."""
        # "celery worker" and the like are two words on the command line.
        args = [component, "--port", str(self.port)] if component == "api-server" else component.split()
        with (self.home / f"{component.replace(' ', '-')}.log").open("ab") as log:
            self.processes[component] = subprocess.Popen(  # noqa: S603 - our own airflow binary
                [airflow_binary(), *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop_component(self, component: str, timeout: float = 60) -> None:
        """Stop one component and every child it started (SIGTERM, SIGKILL after ``timeout``)."""
        process = self.processes.pop(component)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def kill_component(self, component: str) -> None:
        """SIGKILL one component and every child it started, as a crash does: no graceful shutdown (with
        LocalExecutor the scheduler's children are its executor workers and their task processes)."""
        process = self.processes.pop(component)
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def restart_component(self, component: str, *, crash: bool = True) -> None:
        """Kill (``crash``, SIGKILL) or stop (SIGTERM) one component, then start it again."""
        if crash:
            self.kill_component(component)
        else:
            self.stop_component(component)
        self.start_component(component)

    def task_processes(self) -> list[int]:
        """Pids of the task processes running now under this cluster's components (the Task SDK titles
        them ``airflow worker -- <task instance id>``; their supervisors and the LocalExecutor's own
        ``airflow worker -- LocalExecutor: ...`` processes are left alone)."""
        import re

        import psutil

        title = re.compile(r"^airflow worker -- [0-9a-fA-F-]{32,36}$")

        found: list[int] = []
        for process in list(self.processes.values()):
            try:
                children = psutil.Process(process.pid).children(recursive=True)
            except psutil.Error:
                continue
            for child in children:
                with contextlib.suppress(psutil.Error):
                    if title.match(" ".join(child.cmdline()).strip()):
                        found.append(child.pid)
        return found

    def kill_task_processes(self) -> list[int]:
        """SIGKILL every running task process (a worker lost mid-task); returns their pids."""
        pids = self.task_processes()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return pids

    def _wait_for_api(self, timeout: float = 300) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/version", timeout=2):  # noqa: S310 - ours
                    return
            except OSError:
                time.sleep(1)
        raise TimeoutError(f"api-server did not answer on port {self.port}:\n{self.log_tail('api-server')}")

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"airflow {name} exited with {process.returncode}:\n{self.log_tail(name)}")

    def log_tail(self, component: str, chars: int = 4000) -> str:
        path = self.home / f"{component.replace(' ', '-')}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    # -- REST API -------------------------------------------------------------------------------------

    def api(self, method: str, path: str, body: Any = None, *, allow: tuple[int, ...] = ()) -> Any:
        """One request to the api-server as admin (``path`` under ``/api/v2``); the JSON answer, or None
        for a status in ``allow`` (e.g. 404 while a DAG is not parsed yet)."""
        # A busy SQLite metadata DB answers 500 "Database error" (locked) now and then: idempotent requests
        # (reads, setting a run's state) are tried again a few times.
        retries = 4 if method in ("GET", "PATCH", "DELETE") else 0
        relogged = False
        for attempt in range(retries + 2):
            request = urllib.request.Request(  # noqa: S310 - our own api-server
                f"{self.url}/api/v2/{path.lstrip('/')}",
                data=None if body is None else json.dumps(body).encode(),
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {self._bearer()}"},
                method=method,
            )
            try:
                with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - our api-server
                    text = response.read()
                    return json.loads(text) if text else None
            except urllib.error.HTTPError as exc:
                if exc.code == 401 and not relogged:
                    self._token, relogged = None, True  # expired: log in again once
                    continue
                if exc.code in allow:
                    return None
                if exc.code in (500, 503) and attempt < retries:
                    time.sleep(2**attempt)
                    continue
                raise RuntimeError(
                    f"{method} /api/v2/{path} answered {exc.code}: {exc.read()[:2000]!r}"
                ) from None
        raise RuntimeError(f"{method} /api/v2/{path}: no answer after {retries + 2} tries")

    def _bearer(self) -> str:
        if self._token is None:
            request = urllib.request.Request(  # noqa: S310 - our own api-server
                f"{self.url}/auth/token",
                data=json.dumps({"username": "admin", "password": self.password}).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - our api-server
                self._token = str(json.loads(response.read())["access_token"])
        return self._token

    # -- DAG runs -------------------------------------------------------------------------------------

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            if self.api("GET", f"dags/{_q(dag_id)}", allow=(404,)) is not None:
                return
            time.sleep(2)
        raise TimeoutError(f"DAG {dag_id} was not parsed:\n{self.log_tail('dag-processor')}")

    def trigger(self, dag_id: str, run_id: str, conf: Mapping[str, Any] | None = None) -> None:
        # As ``airflow dags trigger`` does: no logical date, the run is due now.
        self.api(
            "POST",
            f"dags/{_q(dag_id)}/dagRuns",
            {"dag_run_id": run_id, "logical_date": None, "conf": dict(conf or {})},
        )

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        """Every run of ``dag_id`` (``run_id``, ``state``, ``conf``, ...), oldest first."""
        runs: list[dict[str, Any]] = []
        while True:
            page = self.api(
                "GET", f"dags/{_q(dag_id)}/dagRuns?limit=100&offset={len(runs)}&order_by=id", allow=(404,)
            )
            batch = (page or {}).get("dag_runs", [])
            runs += [{**run, "run_id": run["dag_run_id"]} for run in batch]
            if len(batch) < 100:
                return runs

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        run = self.api("GET", f"dags/{_q(dag_id)}/dagRuns/{_q(run_id)}", allow=(404,))
        return None if run is None else str(run.get("state"))

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        states: dict[str, str] = {}
        offset = 0
        while True:
            page = self.api(
                "GET",
                f"dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances?limit=100&offset={offset}",
                allow=(404,),
            )
            batch = (page or {}).get("task_instances", [])
            for row in sorted(batch, key=lambda r: r.get("map_index", -1)):
                states[row["task_id"]] = str(row.get("state"))
            offset += len(batch)
            if len(batch) < 100:
                return states

    def clear_run(self, dag_id: str, run_id: str) -> None:
        """Clear every task of one run (as the UI's "Clear" on a run does): it runs again from the start."""
        self.api(
            "POST",
            f"dags/{_q(dag_id)}/clearTaskInstances",
            {"dry_run": False, "dag_run_id": run_id, "only_failed": False, "reset_dag_runs": True},
        )

    def fail_run(self, dag_id: str, run_id: str, note: str | None = None) -> None:
        """Mark a run failed (its unfinished tasks stop; deferred ones leave the triggerer)."""
        self.api("PATCH", f"dags/{_q(dag_id)}/dagRuns/{_q(run_id)}", {"state": "failed", "note": note})

    def wait_for_task_state(
        self, dag_id: str, run_id: str, task_id: str, states: set[str], timeout: float = 180
    ) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            state = self.task_states(dag_id, run_id).get(task_id)
            if state in states:
                return state
            time.sleep(2)
        raise TimeoutError(
            f"{dag_id}/{run_id}/{task_id} never reached {states}: {self.task_states(dag_id, run_id)}\n"
            f"{self.log_tail('scheduler')}\n{self.log_tail('triggerer')}"
        )

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            state = self.run_state(dag_id, run_id)
            if state in ("success", "failed"):
                return state
            time.sleep(2)
        raise TimeoutError(
            f"{dag_id}/{run_id} did not finish: {self.task_states(dag_id, run_id)}\n"
            f"{self.log_tail('scheduler')}"
        )

    def task_log(self, dag_id: str, run_id: str, task_id: str) -> str:
        """The task's log files as written by the worker (LocalExecutor writes under AIRFLOW_HOME/logs)."""
        texts = [
            path.read_text(errors="replace")
            for path in sorted((self.home / "logs").rglob("*.log"))
            if f"dag_id={dag_id}" in str(path)
            and f"run_id={run_id}" in str(path)
            and f"task_id={task_id}" in str(path)
        ]
        return "\n".join(texts)


def _q(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def _json(text: str) -> list[dict[str, Any]]:
    """The JSON list a CLI command printed; warnings logged to stdout before it are skipped."""
    for line in reversed(text.splitlines()):
        if line.startswith("["):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, list):
                return value
    return []
