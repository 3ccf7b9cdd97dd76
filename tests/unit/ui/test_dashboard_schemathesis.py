"""schemathesis against the dashboard's own OpenAPI schema: every operation, generated inputs, a test login.

No generated request may get a 5xx; the push API must answer what its schema declares. The inventory is
the seeded SQLite copy of ``tests/unit/ui/conftest.py``; login is the fake header those tests use.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from model_governance.ui.app import URL_PREFIX
from tests.unit.ui.conftest import Dashboard


@pytest.fixture
def api_schema(dashboard: Dashboard) -> Iterator[Any]:
    app = dashboard.client.app
    schema = schemathesis.openapi.from_asgi(f"{URL_PREFIX}/api/v1/openapi.json", app)
    yield schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_no_generated_request_is_a_server_error(case: Any) -> None:
    response = case.call(headers={"x-test-user": "alice"})
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:500]}"
    )
    if case.path == "/api/v1/metrics" and case.method == "POST":
        assert response.status_code in (201, 401, 403, 404, 413, 415, 422), response.text[:300]
        if response.status_code >= 400:
            detail = response.json()["detail"]
            assert detail and all(entry["field"] and entry["fix"] for entry in detail)
