"""The governance dashboard in a real headless browser (Debian's chromium driven by Playwright) against a
real Airflow api-server, behind Airflow's own login (simple auth manager), on an inventory seeded with
realistic data (sandbox/dashboard_seed.py) whose documents are in the S3 sandbox.

Screenshots go to build/screenshots/ (their paths are printed); look at them when changing the pages.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from model_governance.inventory import Inventory
from sandbox.airflow_cluster import REPO_ROOT, AirflowCluster
from sandbox.aws.pytest_fixtures import AwsSandbox
from sandbox.dashboard_seed import Seeded, seed_inventory

CHROMIUM = os.environ.get("MG_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = REPO_ROOT / "build" / "screenshots"
BUCKET = "model-governance"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None,
    reason=f"no chromium at {CHROMIUM}: run scripts/install-system-deps.sh (installs Debian's chromium)",
)


@dataclass
class DashboardStack:
    airflow: AirflowCluster
    inventory: Inventory
    seeded: Seeded
    password: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.airflow.port}"

    def token(self) -> str:
        request = urllib.request.Request(
            f"{self.url}/auth/token",
            data=json.dumps({"username": "admin", "password": self.password}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(json.loads(response.read())["access_token"])

    def post_metric(self, body: dict[str, Any], token: str | None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(
            f"{self.url}/model-governance/api/v1/metrics",
            data=json.dumps(body).encode(),
            headers=headers,
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def dashboard_stack(
    aws_sandbox: AwsSandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DashboardStack]:
    home = tmp_path_factory.mktemp("dashboard")
    s3 = aws_sandbox.client("s3")
    if BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=BUCKET)

    def store(key: str, content: bytes) -> str:
        s3.put_object(
            Bucket=BUCKET,
            Key=key,
            Body=content,
            ContentType="application/pdf",
            Metadata={"sha256": hashlib.sha256(content).hexdigest()},
        )
        return f"s3://{BUCKET}/{key}"

    inventory_url = f"sqlite:///{home / 'inventory.db'}"
    inventory = Inventory.from_url(inventory_url, upgrade_schema=True)  # seeded before any cluster starts
    seeded = seed_inventory(inventory, store_document=store, bucket=BUCKET)
    aws_conn = json.dumps(
        {
            "conn_type": "aws",
            "login": "testing",
            "password": "testing",
            "extra": {"endpoint_url": aws_sandbox.endpoint_url, "region_name": aws_sandbox.region},
        }
    )
    settings = {
        "business_entities": [
            {"name": "retail-bank", "account_id": "123456789012", "region": "us-east-1",
             "aws_conn_id": "aws_retail_bank"},
            {"name": "insurance", "account_id": "210987654321", "region": "eu-west-1",
             "aws_conn_id": "aws_insurance"},
        ],
        "jira": {"conn_id": "jira_default", "approval_sla_hours": 72},
        "governance_bucket": BUCKET,
        "inventory": {"url": inventory_url},
    }  # fmt: skip
    airflow = AirflowCluster(
        home=home / "airflow",
        components=("api-server",),
        overrides={
            "MODEL_GOVERNANCE_CONFIG": json.dumps(settings),
            "AIRFLOW_CONN_AWS_RETAIL_BANK": aws_conn,
            "AIRFLOW_CONN_AWS_INSURANCE": aws_conn,
            # Only the host is read (for ticket links); no Jira server is needed.
            "AIRFLOW_CONN_JIRA_DEFAULT": json.dumps(
                {
                    "conn_type": "model_governance_jira",
                    "host": "https://jira.example.com",
                    "login": "bot",
                    "password": "x",
                }
            ),
        },
    ).start()
    try:
        passwords = json.loads((airflow.home / "simple_auth_manager_passwords.json.generated").read_text())
        yield DashboardStack(airflow, inventory, seeded, passwords["admin"])
    finally:
        airflow.stop()
        inventory.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def _shot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def test_anonymous_requests_are_refused_or_sent_to_login(dashboard_stack: DashboardStack) -> None:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as caught:
        opener.open(f"{dashboard_stack.url}/model-governance/", timeout=30)
    assert caught.value.code == 302
    assert "/auth/login?next=" in caught.value.headers["Location"]
    status, body = dashboard_stack.post_metric({"model_id": 1}, token=None)
    assert status == 401
    assert "Bearer" in body["detail"][0]["fix"]
    # a forged token is no better than none
    status, _ = dashboard_stack.post_metric({"model_id": 1}, token="not-a-jwt")
    assert status == 401


def test_log_in_browse_push_a_metric_and_download(dashboard_stack: DashboardStack, browser: Any) -> None:
    stack, seeded = dashboard_stack, dashboard_stack.seeded
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = context.new_page()
    try:
        # Airflow's own login page, then back to the dashboard.
        page.goto(f"{stack.url}/model-governance/")
        page.wait_for_url("**/auth/login**")
        page.locator("input[name='username']").fill("admin")
        page.locator("input[name='password']").fill(stack.password)
        page.locator("button[type='submit']").click()
        page.wait_for_url("**/model-governance/**")
        page.wait_for_selector("#model-table")
        _shot(page, "dashboard-overview")
        assert page.locator("#total-models").inner_text() == str(seeded.total_models)
        assert "Signed in as admin" in page.content()
        urgent = page.locator("#urgent").inner_text()
        for label in ("Rejected model", "Failed risk tests", "Approval past its SLA", "drift"):
            assert label in urgent, urgent
        assert page.locator("#urgent a[href^='https://jira.example.com/browse/MLC-']").count() >= len(
            seeded.overdue_keys
        )

        # Filter by status through the form.
        page.select_option("select[name='status']", "Rejected")
        page.locator("form.filters button[type='submit']").click()
        page.wait_for_url("**status=Rejected**")
        assert f"{len(seeded.rejected_models)} models match" in page.locator("#model-count").inner_text()

        # The model whose latest risk tests failed.
        page.goto(f"{stack.url}/model-governance/models/{seeded.failed_risk_model}")
        assert "Audit trail verified" in page.locator("#audit-result").inner_text()
        assert page.locator("#chart-risk-outcomes").count() == 1
        assert "failed" in page.locator("#risk-results").inner_text()
        assert (
            page.locator("a.dag-run")
            .first.get_attribute("href")
            .startswith("/dags/sagemaker_model_implementation/runs/")
        )
        _shot(page, "dashboard-model-failed-risk-tests")

        # Push a metric through the API (bearer token from Airflow's /auth/token) and see it.
        token = stack.token()
        status, body = stack.post_metric(
            {"model_id": seeded.failed_risk_model, "metric": "psi", "value": "high", "source": "monitor"},
            token,
        )
        assert status == 422
        assert {p["field"] for p in body["detail"]} >= {"value", "recorded_at"}
        status, body = stack.post_metric(
            {
                "model_id": seeded.failed_risk_model,
                "metric": "data_drift.psi",
                "value": 0.27,
                "recorded_at": (datetime.now(UTC) - timedelta(minutes=2)).isoformat(),
                "source": "sagemaker-model-monitor",
                "threshold": 0.2,
                "direction": "lower_is_better",
            },
            token,
        )
        assert status == 201, body
        assert body["passed"] is False
        page.reload()
        row = page.locator("tr.metric-row[data-metric='data_drift.psi']")
        assert "fail" in row.inner_text() and "0.27" in row.inner_text()
        page.locator("#monitoring").scroll_into_view_if_needed()
        _shot(page, "dashboard-model-with-metric")

        # The review document downloads through the plugin, streamed from S3, bytes intact.
        document = seeded.documents[seeded.failed_risk_model]
        with page.expect_download() as download_info:
            page.locator(f"a.doc-link[href$='/documents/{document.id}']").click()
        downloaded = Path(download_info.value.path())
        assert hashlib.sha256(downloaded.read_bytes()).hexdigest() == document.sha256

        # A model with drift between governance and SageMaker.
        page.goto(f"{stack.url}/model-governance/models/{seeded.drift_model}")
        assert "Governance / SageMaker drift" in page.locator("#sync-issues").inner_text()

        # The dashboard inside the Airflow UI (external view in the navigation).
        page.goto(f"{stack.url}/plugin/model-governance")
        frame = page.frame_locator("iframe").first
        frame.locator("#model-table").wait_for(timeout=30_000)
        _shot(page, "dashboard-in-airflow-ui")
    finally:
        context.close()
