"""pytest fixtures for the AWS sandbox.

Import them into a conftest.py (pytest 9 refuses ``pytest_plugins`` outside the root conftest)::

    from sandbox.aws.pytest_fixtures import aws_clients, aws_sandbox  # noqa: F401

``aws_sandbox`` (session) starts ``python -m sandbox.aws --port 0`` in a subprocess, waits for its ready
line and stops it with SIGTERM at the end. ``aws_clients`` (per test) resets counters and fault switches
and hands out boto3 clients bound to it.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_PREFIX = "sandbox.aws ready on "
START_TIMEOUT_S = 60.0
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class SandboxStartError(RuntimeError):
    pass


@dataclass
class AwsSandbox:
    """A running sandbox: where it listens, and its admin API (counters, fault switches, events)."""

    endpoint_url: str
    region: str
    account_id: str
    process: subprocess.Popen[str] | None = field(default=None, repr=False)
    output: list[str] = field(default_factory=list, repr=False)

    # ---- admin API -----------------------------------------------------------------------------------
    def _admin(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(  # noqa: S310 - loopback URL built from our own endpoint
            f"{self.endpoint_url}/_sandbox/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as err:
            raise ValueError(f"sandbox admin {method} /_sandbox/{path}: {err.read().decode()}") from err

    def counters(self) -> dict[str, Any]:
        """{"requests": {"sagemaker:CreateModelPackage": n, ...}, "throttled": {...}, "server_errors": {...},
        "lost_responses": {...}, "injected_latency_ms": x,
        "events": {"emitted": n, "delivered": n, "duplicates": n, ...}}"""
        return dict(self._admin("GET", "counters"))

    def request_count(self, action_key: str) -> int:
        """Requests the sandbox received for one ``service:Action``, retries included."""
        return int(self.counters()["requests"].get(action_key, 0))

    def set_faults(self, **switches: Any) -> dict[str, Any]:
        """throttle_rate, server_error_rate, lost_response_rate (each 0..1, at most 1 together), latency_ms,
        actions (list of 'service:Action' patterns or None), regions, seed."""
        return dict(self._admin("POST", "faults", switches)["faults"])

    def set_events(self, **settings: Any) -> dict[str, Any]:
        """queue (FIFO queue name or None), duplicate_rate (0..1), seed."""
        return dict(self._admin("POST", "events", settings))

    def events(self) -> list[dict[str, Any]]:
        """The most recent model package events the sandbox emitted (whether delivered or not)."""
        return list(self._admin("GET", "events")["events"])

    def set_workloads(self, **settings: Any) -> dict[str, Any]:
        """Processing jobs and endpoints (sandbox/aws/processing.py): endpoint_delay_s,
        fail_processing_jobs (how many of the next jobs fail without running), processing_failure_reason."""
        return dict(self._admin("POST", "workloads", settings))

    def config(self) -> dict[str, Any]:
        return dict(self._admin("GET", "config"))

    def reset(self, counters: bool = True, faults: bool = True, state: bool = False) -> dict[str, Any]:
        return dict(self._admin("POST", "reset", {"counters": counters, "faults": faults, "state": state}))

    # ---- clients -------------------------------------------------------------------------------------
    def client(
        self, service: str, retries: dict[str, Any] | None = None, *, region: str | None = None, **config: Any
    ) -> Any:
        """A boto3 client bound to the sandbox (in ``region``, by default the sandbox's own). ``retries``
        defaults to standard mode, 3 attempts in total."""
        import boto3
        from botocore.config import Config

        cfg = Config(
            retries=retries or {"mode": "standard", "total_max_attempts": 3},
            s3={"addressing_style": "path"},
            **config,
        )
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=region or self.region,
            config=cfg,
            **CREDENTIALS,
        )

    # ---- process -------------------------------------------------------------------------------------
    def stop(self, timeout: float = 15.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=timeout)


def start_sandbox(
    *extra_args: str, region: str = "us-east-1", account_id: str = "123456789012"
) -> AwsSandbox:
    """Start ``python -m sandbox.aws`` on a free port (the server binds port 0 and reports it)."""
    cmd = [
        sys.executable,
        "-m",
        "sandbox.aws",
        "--port",
        "0",
        "--quiet",
        "--region",
        region,
        "--account-id",
        account_id,
        *extra_args,
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        cmd,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []

    def _pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.rstrip("\n"))
            lines.put(line)
        lines.put(None)

    threading.Thread(target=_pump, name="sandbox-aws-output", daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            process.kill()
            raise SandboxStartError(
                f"sandbox.aws printed no ready line within {START_TIMEOUT_S:.0f}s; output so far:\n"
                + "\n".join(output)
            ) from None
        if line is None:
            process.wait(timeout=10)
            raise SandboxStartError(
                f"sandbox.aws exited with {process.returncode} before it was ready:\n" + "\n".join(output)
            )
        if line.startswith(READY_PREFIX):
            endpoint = line[len(READY_PREFIX) :].strip()
            return AwsSandbox(endpoint, region, account_id, process=process, output=output)


@pytest.fixture(scope="session")
def aws_sandbox() -> Iterator[AwsSandbox]:
    """The AWS sandbox server for the whole session (seed 1234), stopped with SIGTERM at the end."""
    sandbox = start_sandbox("--seed", "1234")
    try:
        yield sandbox
    finally:
        sandbox.stop()


@dataclass
class AwsClients:
    sandbox: AwsSandbox
    sagemaker: Any
    s3: Any
    sqs: Any


@pytest.fixture
def aws_clients(aws_sandbox: AwsSandbox) -> Iterator[AwsClients]:
    """boto3 clients (standard retries) on the sandbox, with counters, events log and faults reset first.
    Stored resources are kept: tests use unique names."""
    aws_sandbox.reset(counters=True, faults=True, state=False)
    aws_sandbox.set_events(queue=None)
    yield AwsClients(
        sandbox=aws_sandbox,
        sagemaker=aws_sandbox.client("sagemaker"),
        s3=aws_sandbox.client("s3"),
        sqs=aws_sandbox.client("sqs"),
    )
    aws_sandbox.reset(counters=False, faults=True, state=False)
