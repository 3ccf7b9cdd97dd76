"""An Airflow connection to the Jira sandbox, per flavour, for the hook, sensor and trigger tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from sandbox.jira.pytest_fixtures import JiraSandboxProcess


@dataclass
class JiraTarget:
    sandbox: JiraSandboxProcess
    conn_id: str

    @property
    def flavor(self) -> str:
        return self.sandbox.flavor


def connect(
    sandbox: JiraSandboxProcess, monkeypatch: pytest.MonkeyPatch, conn_id: str, user: str = "mlc-bot"
) -> str:
    login, secret = sandbox.credentials(user)
    connection = {
        "conn_type": "model_governance_jira",
        "host": sandbox.url,
        "login": login,
        "password": secret,
        "extra": {"flavor": sandbox.flavor, "project_key": "MLC"},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
    return conn_id


@pytest.fixture(params=["cloud", "datacenter"])
def jira(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[JiraTarget]:
    """The Jira sandbox of each flavour, with an Airflow connection ``jira_test`` to it as the bot."""
    fixture = "jira_sandbox" if request.param == "cloud" else "jira_sandbox_datacenter"
    sandbox: JiraSandboxProcess = request.getfixturevalue(fixture)
    sandbox.clear_faults()
    yield JiraTarget(sandbox, connect(sandbox, monkeypatch, "jira_test"))
    sandbox.clear_faults()
