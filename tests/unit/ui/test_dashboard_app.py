"""The dashboard app under FastAPI's test client: login, pages, filters, paging, download, monitoring API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from model_governance.inventory.models import Metric
from tests.unit.ui.conftest import Dashboard


def _metric_count(dashboard: Dashboard) -> int:
    with dashboard.inventory.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Metric)) or 0)


def _model_links(html: str) -> list[int]:
    """The model ids listed in the model table (not the urgent issues)."""
    table = html.split('id="model-table"', 1)[1]
    return [int(i) for i in re.findall(r'href="/model-governance/models/(\d+)">', table)]


# -- login ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/models/1", "/documents/1"])
def test_an_anonymous_browser_is_sent_to_login_and_back(dashboard: Dashboard, path: str) -> None:
    response = dashboard.get(path, headers={})
    assert response.status_code == 302
    assert response.headers["location"] == f"/auth/login?next=http://testserver/model-governance{path}"


def test_the_api_refuses_anonymous_requests_and_says_how_to_authenticate(dashboard: Dashboard) -> None:
    before = _metric_count(dashboard)
    response = dashboard.client.post("/model-governance/api/v1/metrics", json={"metric": "auc"})
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["detail"][0]["fix"]
    assert _metric_count(dashboard) == before


def test_a_user_whose_role_may_not_read_is_refused(dashboard: Dashboard) -> None:
    dashboard.services.allowed = set()
    response = dashboard.get("/")
    assert response.status_code == 403
    assert "may not view" in response.text
    assert dashboard.post_metric({}).status_code == 403


# -- overview ------------------------------------------------------------------------------------------


def test_overview_counts_and_urgent_issues_first(dashboard: Dashboard) -> None:
    response = dashboard.get("/")
    assert response.status_code == 200
    html = response.text
    seeded = dashboard.seeded
    assert f'id="total-models">{seeded.total_models}<' in html
    assert 'id="total-use-cases">7<' in html
    assert "Signed in as alice" in html
    # urgent issues come before the charts and the model table, most urgent kind first
    urgent = html.index('id="urgent"')
    assert urgent < html.index('id="chart-status"') < html.index('id="model-table"')
    positions = [
        html.index(f'class="urgent-{kind}"')
        for kind in ("rejected", "risk_test_failed", "approval_overdue", "drift", "registry_error")
    ]
    assert positions == sorted(positions)
    # every overdue approval is listed with its Jira link; the not-yet-overdue ones are not
    for key in seeded.overdue_keys:
        assert f'href="https://jira.example.com/browse/{key}"' in html
    assert f"Approval past its SLA: <strong>{len(seeded.overdue_keys)}</strong>" in html
    assert f"Rejected model: <strong>{len(seeded.rejected_models)}</strong>" in html
    assert f'href="/model-governance/models/{seeded.failed_risk_model}"' in html
    # status bars are filter links
    assert 'href="/model-governance/?limit=50&amp;status=Deployed"' in html


def test_overview_filters(dashboard: Dashboard) -> None:
    html = dashboard.get("/", params={"business_entity": "insurance", "limit": "200"}).text
    insurance = 10 + 9 + 7
    assert f"{insurance} models match" in html
    assert "CardFraud-Model" not in html.split('id="model-table"')[1]
    assert "Registry could not be read: <strong>1</strong>" in html
    assert "Governance / SageMaker drift" not in html  # the drift issue is retail-bank's

    html = dashboard.get("/", params={"status": "Rejected"}).text
    assert f"{len(dashboard.seeded.rejected_models)} models match" in html
    assert sorted(_model_links(html)) == sorted(dashboard.seeded.rejected_models)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"status": "Shipped"}, "Shipped"),
        ({"use_case": "churn"}, "use_case=&#39;churn&#39; must be a whole number"),
        ({"limit": "5000"}, "use 1 to 200"),
    ],
)
def test_bad_filters_are_answered_400_naming_the_fix(
    dashboard: Dashboard, params: dict, message: str
) -> None:
    response = dashboard.get("/", params=params)
    assert response.status_code == 400
    assert message in response.text


def test_paging_walks_every_model_once_newest_first(dashboard: Dashboard) -> None:
    seen: list[int] = []
    html = dashboard.get("/", params={"limit": "25"}).text
    pages = 1
    while True:
        ids = _model_links(html)
        assert len(ids) <= 25
        seen += ids
        found = re.search(r'<a href="([^"]+)" id="next-page">', html)
        if not found:
            break
        html = dashboard.client.get(found.group(1).replace("&amp;", "&"), headers={"x-test-user": "a"}).text
        pages += 1
    assert pages == 3
    assert seen == sorted(seen, reverse=True)
    assert sorted(seen) == sorted(dashboard.seeded.model_ids.values())


# -- model page ----------------------------------------------------------------------------------------


def test_model_page_shows_timeline_audit_approvals_risk_tests_and_links(dashboard: Dashboard) -> None:
    model_id = dashboard.seeded.failed_risk_model
    html = dashboard.get(f"/models/{model_id}").text
    assert "Audit trail verified: 5 hash-chained events" in html
    for status in ("Development Complete", "Pre Implementation Review", "Approved for Deployment"):
        assert f"<strong>{status}</strong>" in html
    assert "reviewer@example.com" in html  # who decided
    assert re.search(r'href="https://jira.example.com/browse/MLC-\d+"', html)
    assert 'href="/dags/sagemaker_model_implementation/runs/mlc__creditrisk-model__5"' in html
    # a plain link: the Airflow UI frames the page without allow-top-navigation, where _top is dead
    assert 'class="dag-run"' in html and 'target="_top"' not in html
    assert "https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1" in html
    assert "#/model-registry/CreditRisk-Model/5" in html
    # the latest run failed: shown first in its table, with the per-category chart
    assert 'id="chart-risk-outcomes"' in html
    risk = html.split('id="risk-results"')[1]
    assert risk.index("data_drift.ks_pvalue") < risk.index("performance.auc")
    assert "Earlier runs" in html
    # documents link to the download route
    document = dashboard.seeded.documents[model_id]
    assert f'href="/model-governance/documents/{document.id}"' in html
    assert document.sha256 in html


def test_a_tampered_history_shows_as_a_failed_audit_check(dashboard: Dashboard) -> None:
    model_id = dashboard.seeded.failed_risk_model
    with dashboard.inventory.engine.begin() as conn:
        conn.execute(text("UPDATE mg_model SET status = 'Rejected' WHERE id = :id"), {"id": model_id})
    html = dashboard.get(f"/models/{model_id}").text
    assert "Audit trail check FAILED" in html
    assert "is not the last event&#39;s status" in html


def test_an_unknown_model_is_a_404_page(dashboard: Dashboard) -> None:
    response = dashboard.get("/models/999999")
    assert response.status_code == 404
    assert "Model id 999999 is not in the inventory" in response.text


def test_page_text_is_escaped(dashboard: Dashboard) -> None:
    model_id = dashboard.seeded.failed_risk_model
    dashboard.inventory.record_metric(
        model_id, name="<script>alert(1)</script>", value=1.0, recorded_at=datetime.now(UTC), source="x"
    )
    html = dashboard.get(f"/models/{model_id}").text
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# -- documents -----------------------------------------------------------------------------------------


def test_a_document_downloads_through_the_plugin(dashboard: Dashboard) -> None:
    model_id = dashboard.seeded.failed_risk_model
    document = dashboard.seeded.documents[model_id]
    response = dashboard.get(f"/documents/{document.id}")
    assert response.status_code == 200
    assert response.content == dashboard.services.stored[document.uri]
    assert response.headers["x-content-sha256"] == document.sha256
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment;")


# -- monitoring push API -------------------------------------------------------------------------------


def _push(dashboard: Dashboard, **changes: object) -> dict:
    body = {
        "model_id": dashboard.seeded.failed_risk_model,
        "metric": "psi",
        "value": 0.31,
        "recorded_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        "source": "sagemaker-model-monitor",
        "threshold": 0.2,
        "direction": "lower_is_better",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def test_a_pushed_metric_is_stored_and_shown_with_its_threshold(dashboard: Dashboard) -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/creditrisk-model/5"
    response = dashboard.post_metric(_push(dashboard, model_id=None, model_package_arn=arn))
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["passed"] is False  # 0.31 > 0.2 with lower_is_better
    assert stored["model_id"] == dashboard.seeded.failed_risk_model
    ok = dashboard.post_metric(
        _push(dashboard, metric="auc", value=0.8, threshold=0.75, direction="higher_is_better")
    )
    assert ok.json()["passed"] is True
    html = dashboard.get(f"/models/{dashboard.seeded.failed_risk_model}").text
    psi = html.split('data-metric="psi"')[1].split("</tr>")[0]
    assert "0.31" in psi and "0.2" in psi and "fail" in psi and "sagemaker-model-monitor" in psi
    auc = html.split('data-metric="auc"')[1].split("</tr>")[0]
    assert ">pass<" in auc
    assert 'id="chart-metric-1"' in html


@pytest.mark.parametrize(
    ("changes", "field", "fix"),
    [
        ({"value": "high"}, "value", "finite number"),
        ({"value": None}, "value", "finite number"),
        ({"recorded_at": "2026-11-30T09:00:00"}, "recorded_at", "with a zone"),
        ({"recorded_at": "2999-01-01T00:00:00Z"}, "recorded_at", "not in the future"),
        ({"direction": None}, "direction", "higher_is_better"),
        ({"direction": "up"}, "direction", "higher_is_better"),
        ({"model_package_arn": "arn:aws:sagemaker:x"}, "model_package_arn", "GROUP/N"),
        ({"model_id": None}, "model_package_arn", "GROUP/N"),
        ({"treshold": 0.3}, "treshold", "known fields"),
        ({"metric": ""}, "metric", "1-128 characters"),
        ({"source": None}, "source", "name the system"),
    ],
)
def test_bad_metric_input_gets_422_naming_the_field_and_fix_and_stores_nothing(
    dashboard: Dashboard, changes: dict, field: str, fix: str
) -> None:
    before = _metric_count(dashboard)
    response = dashboard.post_metric(_push(dashboard, **changes))
    assert response.status_code == 422, response.text
    problems = response.json()["detail"]
    assert any(p["field"] == field and fix in p["fix"] for p in problems), problems
    assert _metric_count(dashboard) == before


def test_metric_for_an_unknown_model_or_not_json(dashboard: Dashboard) -> None:
    before = _metric_count(dashboard)
    response = dashboard.post_metric(_push(dashboard, model_id=987654))
    assert response.status_code == 404
    assert response.json()["detail"][0]["field"] == "model_id"
    response = dashboard.client.post(
        "/model-governance/api/v1/metrics",
        content="metric=auc",
        headers={"x-test-user": "bot", "content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    response = dashboard.client.post(
        "/model-governance/api/v1/metrics",
        content="{not json",
        headers={"x-test-user": "bot", "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "body"
    assert _metric_count(dashboard) == before
