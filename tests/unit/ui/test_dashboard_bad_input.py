"""Every bad input to the dashboard and the push API is a 4xx naming the field and the fix, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from model_governance.inventory.models import Metric
from model_governance.ui.app import MAX_BODY_BYTES
from tests.unit.ui.conftest import Dashboard

GOOD = {
    "model_id": 1,
    "metric": "auc",
    "value": 0.81,
    "recorded_at": "2026-11-30T09:00:00Z",
    "source": "model-monitor",
}


def _metrics(dashboard: Dashboard) -> int:
    with dashboard.inventory.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Metric)) or 0)


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/models/99999999999999999999999", "model id"),
        ("/models/9223372036854775808", "model id"),
        ("/models/%C2%B2", "model id"),  # superscript two: str.isdigit() says yes, int() says no
        ("/models/-1", "model id"),
        ("/models/0", "model id"),
        ("/documents/%D9%A1", "document id"),  # Arabic-Indic digit one
        ("/documents/1e3", "document id"),
        ("/?use_case=%C2%B2", "use_case"),
        ("/?before=99999999999999999999", "before"),
        ("/?limit=%D9%A1", "limit"),
        ("/?business_entity=retail%00bank", "business_entity"),
        ("/?status=Deployed%00", "status"),
        ("/?business_entity=" + "x" * 500, "business_entity"),
    ],
)
def test_bad_ids_and_filters_are_400_pages_naming_the_input(
    dashboard: Dashboard, path: str, named: str
) -> None:
    response = dashboard.get(path)
    assert response.status_code == 400, response.text
    assert named in response.text


def test_the_largest_id_is_a_404_not_a_database_error(dashboard: Dashboard) -> None:
    assert dashboard.get("/models/9223372036854775807").status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"value": "0.81"}, "value"),  # a number in a string is refused, not coerced
        ({"value": True}, "value"),
        ({"model_id": "1"}, "model_id"),
        ({"model_id": 2**63}, "model_id"),
        ({"metric": "auc\x00"}, "metric"),
        ({"source": "mon\x07itor"}, "source"),
        ({"threshold": "0.7", "direction": "higher_is_better"}, "threshold"),
        ({"recorded_at": 1700000000}, "recorded_at"),
    ],
)
def test_push_refuses_wrong_types_instead_of_coercing(
    dashboard: Dashboard, change: dict[str, Any], field: str
) -> None:
    before = _metrics(dashboard)
    response = dashboard.post_metric({**GOOD, **change})
    assert response.status_code == 422, response.text
    fields = [entry["field"] for entry in response.json()["detail"]]
    assert field in fields
    assert all(entry["fix"] for entry in response.json()["detail"])
    assert _metrics(dashboard) == before


@pytest.mark.parametrize(
    "raw",
    [
        b'{"model_id": 1, "metric": "auc", "value": NaN}',
        b"[" * 5000 + b"]" * 5000,
        b'{"a":' * 3000 + b"1" + b"}" * 3000,
        b"[1, 2, 3]",
        b'"just a string"',
        b"\xff\xfe not utf-8",
        b"",
    ],
)
def test_pathological_json_is_422(dashboard: Dashboard, raw: bytes) -> None:
    before = _metrics(dashboard)
    response = dashboard.client.post(
        "/model-governance/api/v1/metrics",
        content=raw,
        headers={"x-test-user": "monitor-bot", "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["fix"]
    assert _metrics(dashboard) == before


def test_a_body_over_the_limit_is_refused_before_it_is_read(dashboard: Dashboard) -> None:
    headers = {"x-test-user": "monitor-bot", "content-type": "application/json"}
    big = json.dumps({**GOOD, "source": "x" * MAX_BODY_BYTES}).encode()
    response = dashboard.client.post("/model-governance/api/v1/metrics", content=big, headers=headers)
    assert response.status_code == 413
    assert str(MAX_BODY_BYTES) in response.json()["detail"][0]["problem"]

    # Chunked (no Content-Length): counted as it arrives, refused once past the limit.
    def chunks() -> Any:
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b" " * 1024

    response = dashboard.client.post("/model-governance/api/v1/metrics", content=chunks(), headers=headers)
    assert response.status_code == 413
    declared = {**headers, "content-length": "99999999999999999999"}
    response = dashboard.client.post("/model-governance/api/v1/metrics", content=b"{}", headers=declared)
    assert response.status_code in (400, 413)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.sampled_from(["use_case", "before", "limit", "status", "business_entity"]),
    value=st.text(max_size=30),
)
def test_property_no_query_parameter_makes_a_500(dashboard: Dashboard, name: str, value: str) -> None:
    response = dashboard.client.get(
        "/model-governance/", params={name: value}, headers={"x-test-user": "alice"}
    )
    assert response.status_code < 500, response.text


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.recursive(
        st.none()
        | st.booleans()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.integers()
        | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
        ),
        max_leaves=12,
    )
)
def test_property_no_json_body_makes_a_500(dashboard: Dashboard, body: Any) -> None:
    response = dashboard.post_metric(body)
    assert response.status_code < 500, response.text


def test_an_empty_or_blank_unknown_key_is_named(dashboard: Dashboard) -> None:
    for key in ("", "   "):
        response = dashboard.post_metric({**GOOD, key: 1})
        assert response.status_code == 422
        (entry,) = response.json()["detail"]
        assert entry["field"] == repr(key) and "remove it" in entry["fix"]
