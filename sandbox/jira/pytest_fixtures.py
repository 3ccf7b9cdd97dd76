"""pytest fixtures that run the Jira sandbox in a subprocess on a free port.

The root ``tests/conftest.py`` registers this module in ``pytest_plugins``, so every test can ask for them
by name (do not also import them into a conftest: that would start a second server).

``jira_sandbox`` (Cloud) and ``jira_sandbox_datacenter`` are session-scoped and shared: tests isolate
themselves with unique labels/summaries and use ``faults(...)``/``settings(...)`` context managers, which
restore the previous values on exit. ``start_jira_sandbox(...)`` gives a private server (for restart tests
or unusual start flags); stop it with ``.stop()`` or use it as a context manager.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from jira import JIRA

REPO_ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"sandbox\.jira ready on (http://\S+) \((cloud|datacenter)\)")
BOT = "mlc-bot"
REVIEWER = "reviewer"


class SandboxAdminError(Exception):
    """A sandbox admin call was refused; carries the HTTP status and Jira's error messages."""

    def __init__(self, status: int, body: str, what: str) -> None:
        self.status = status
        try:
            payload = json.loads(body)
            detail = "; ".join(payload.get("errorMessages") or []) or json.dumps(payload.get("errors"))
        except (ValueError, AttributeError):
            detail = body
        super().__init__(f"{what} failed (HTTP {status}): {detail}")


@dataclass
class SandboxUser:
    name: str
    email: str
    account_id: str
    key: str
    display_name: str
    api_token: str  # Cloud basic auth secret (with the email)
    password: str  # Data Center basic auth secret (with the name)
    pat: str  # Data Center bearer token
    email_visible: bool


@dataclass
class JiraSandboxProcess:
    """A running sandbox: its URL, flavour, seeded users, and helpers for counters, faults and settings."""

    flavor: str
    state_file: Path
    extra_args: list[str] = field(default_factory=list)
    url: str = ""
    process: subprocess.Popen[str] | None = None
    users: dict[str, SandboxUser] = field(default_factory=dict)
    output: list[str] = field(default_factory=list)

    # -- life cycle ------------------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> JiraSandboxProcess:
        command = [
            sys.executable,
            "-m",
            "sandbox.jira",
            "--port",
            "0",
            "--flavor",
            self.flavor,
            "--state",
            str(self.state_file),
            *self.extra_args,
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            # Keep reading so the child never blocks on a full pipe; keep the lines for error reports.
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line.rstrip())
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        while True:
            try:
                line = lines.get(timeout=timeout)
            except queue.Empty:
                self.stop()
                raise RuntimeError(
                    f"Jira sandbox not ready within {timeout}s; output: {self.output}"
                ) from None
            if line is None:
                raise RuntimeError(f"Jira sandbox exited before it was ready; output: {self.output}")
            found = READY.search(line)
            if found:
                self.url = found.group(1)
                break
        self.users = {u["name"]: _user(u) for u in self.admin("GET", "/_sandbox/users")}
        return self

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM and wait; returns the exit code (SIGKILL only if it does not stop in time)."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout)
        self.process = None
        return process.returncode

    def restart(self) -> JiraSandboxProcess:
        """Stop and start again on the same state file (the port changes)."""
        self.stop()
        self.output = []
        return self.start()

    def __enter__(self) -> JiraSandboxProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- admin API -------------------------------------------------------------------------------------

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - loopback sandbox URL
            f"{self.url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback sandbox URL
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise SandboxAdminError(
                error.code, error.read().decode("utf-8", "replace"), f"{method} {path}"
            ) from None

    def counters(self) -> dict[str, Any]:
        """{"total", "endpoints": {"GET /rest/api/2/issue/{key}": n}, "faults": {...}, "statuses": {...}}."""
        return dict(self.admin("GET", "/_sandbox/counters"))

    def count(self, endpoint: str) -> int:
        return int(self.counters()["endpoints"].get(endpoint, 0))

    def reset_counters(self) -> None:
        self.admin("POST", "/_sandbox/reset", {"counters": True, "faults": False})

    def set_faults(self, **switches: Any) -> dict[str, Any]:
        """e.g. set_faults(throttle={"rate": 1.0, "limit": 2, "retry_after": 1}); see sandbox/README.md."""
        return dict(self.admin("POST", "/_sandbox/faults", switches))

    def clear_faults(self) -> None:
        self.admin("POST", "/_sandbox/reset", {"counters": False, "faults": True})

    @contextmanager
    def faults(self, **switches: Any) -> Iterator[None]:
        self.set_faults(**switches)
        try:
            yield
        finally:
            self.clear_faults()

    def settings(self, **values: Any) -> dict[str, Any]:
        """Change settings (search_lag, attachment_limit, attachments_enabled, clock_offset); returns all."""
        return dict(self.admin("POST", "/_sandbox/settings", values))

    @contextmanager
    def setting(self, **values: Any) -> Iterator[None]:
        before = self.admin("GET", "/_sandbox/settings")
        self.settings(**values)
        try:
            yield
        finally:
            self.settings(**{k: before[k] for k in values})

    def transition_as(self, key: str, status: str, user: str = "reviewer@example.com") -> dict[str, Any]:
        """Move ``key`` to ``status`` as ``user``, through the workflow, like a reviewer in Jira."""
        return dict(self.admin("POST", f"/_sandbox/issues/{key}/transition", {"to": status, "as": user}))

    # -- clients ---------------------------------------------------------------------------------------

    def credentials(self, name: str = BOT) -> tuple[str, str]:
        """Basic-auth (login, secret) for ``name`` as this flavour expects them."""
        user = self.users[name]
        if self.flavor == "cloud":
            return user.email, user.api_token
        return user.name, user.password

    def client(self, name: str = BOT, *, max_retries: int = 0, bearer: bool = False, **kwargs: Any) -> JIRA:
        """A real ``jira.JIRA`` logged in as ``name``; the library's own retries are off unless asked for."""
        from jira import JIRA

        if bearer:
            return JIRA(server=self.url, token_auth=self.users[name].pat, max_retries=max_retries, **kwargs)
        return JIRA(server=self.url, basic_auth=self.credentials(name), max_retries=max_retries, **kwargs)


def _user(raw: dict[str, Any]) -> SandboxUser:
    return SandboxUser(
        name=raw["name"],
        email=raw["email"],
        account_id=raw["accountId"],
        key=raw["key"],
        display_name=raw["displayName"],
        api_token=raw["api_token"],
        password=raw["password"],
        pat=raw["pat"],
        email_visible=raw["email_visible"],
    )


def start_jira_sandbox(
    flavor: str = "cloud", *, state_file: str | Path | None = None, args: list[str] | None = None
) -> JiraSandboxProcess:
    """Start a private sandbox (a temp state file unless one is given); the caller stops it."""
    if state_file is None:
        state_file = Path(tempfile.mkdtemp(prefix="jira-sandbox-")) / "state.db"
    return JiraSandboxProcess(flavor=flavor, state_file=Path(state_file), extra_args=list(args or [])).start()


@pytest.fixture(scope="session")
def jira_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JiraSandboxProcess]:
    """A Jira Cloud-flavour sandbox shared by the session."""
    sandbox = start_jira_sandbox("cloud", state_file=tmp_path_factory.mktemp("jira-cloud") / "state.db")
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture(scope="session")
def jira_sandbox_datacenter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JiraSandboxProcess]:
    """A Jira Data Center-flavour sandbox shared by the session."""
    sandbox = start_jira_sandbox("datacenter", state_file=tmp_path_factory.mktemp("jira-dc") / "state.db")
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def jira_client(jira_sandbox: JiraSandboxProcess) -> Iterator[JIRA]:
    """A real ``jira.JIRA`` client on the Cloud sandbox, logged in as the bot user (mlc-bot@example.com)."""
    client = jira_sandbox.client(BOT)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def jira_client_datacenter(jira_sandbox_datacenter: JiraSandboxProcess) -> Iterator[JIRA]:
    """A real ``jira.JIRA`` client on the Data Center sandbox, logged in as the bot user (mlc-bot)."""
    client = jira_sandbox_datacenter.client(BOT)
    try:
        yield client
    finally:
        client.close()
