"""hooks/connections.py: the base URL of an HTTP connection (Jira, the Airflow REST API), written once; the
AWS hook factories the tasks and the api-server share, without Airflow's BaseOperator in the api-server."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import pytest

from model_governance.exceptions import ConfigurationError
from model_governance.hooks.connections import aws_hook_factories, connection_base_url


def _conn(host: str | None, schema: str | None = None, port: int | None = None) -> Any:
    return SimpleNamespace(conn_id="c1", host=host, schema=schema, port=port)


@pytest.mark.parametrize(
    ("conn", "url"),
    [
        (_conn("jira.example.com/"), "https://jira.example.com"),
        (_conn("jira.example.com", schema="http", port=8090), "http://jira.example.com:8090"),
        (_conn("http://127.0.0.1", port=8090), "http://127.0.0.1:8090"),
        (_conn("http://127.0.0.1:9000", port=8090), "http://127.0.0.1:9000"),
    ],
)
def test_the_base_url_is_the_host_with_a_scheme_and_a_port(conn: Any, url: str) -> None:
    assert connection_base_url(conn, label="Jira connection", wanted="x", default_scheme="https") == url


def test_a_connection_without_a_host_is_named_with_what_it_should_hold() -> None:
    with pytest.raises(
        ConfigurationError, match=r"^Jira connection 'c1' has no host; set it to the Jira base URL\.$"
    ):
        connection_base_url(
            _conn(""), label="Jira connection", wanted="the Jira base URL", default_scheme="https"
        )


def test_the_hook_factories_and_the_api_servers_services_import_no_operator() -> None:
    assert set(aws_hook_factories()) == {"registry", "s3", "jobs", "sqs"}
    code = (
        "import sys, model_governance.hooks.connections, model_governance.ui.airflow_services\n"
        "print(','.join(m for m in ('airflow.sdk.bases.operator', 'model_governance.operators.base', 'boto3')"
        " if m in sys.modules))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == ""
