"""The dashboard's queries: compliance rules, filters, and a cost that does not grow with the inventory."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, select

from model_governance.inventory import Inventory
from model_governance.inventory.models import Model, ModelGroup
from model_governance.lifecycle import GovernanceStatus
from model_governance.ui.queries import DashboardQueries, Filters
from tests.unit.ui.conftest import Dashboard


@contextmanager
def _statements(engine: Any) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_compliance_follows_approvals_risk_tests_and_documents(dashboard: Dashboard) -> None:
    queries = DashboardQueries(dashboard.inventory.engine)
    rows = {row.id: row for row in queries.models(limit=200).rows}
    statuses = {row.status for row in rows.values() if row.compliance.compliant}
    # only models past the production approval can be compliant
    assert statuses <= {"Approved for Deployment", "Deployed"}
    assert statuses
    failed = rows[dashboard.seeded.failed_risk_model].compliance
    assert failed.approvals_complete and failed.document_approved
    assert failed.risk_tests == "failed" and not failed.compliant
    for model_id in dashboard.seeded.rejected_models:
        assert rows[model_id].compliance.rejected == ("TEST_RESULTS_REVIEW",)
        assert not rows[model_id].compliance.approvals_complete


def test_urgent_issues_respect_the_sla_and_the_filters(dashboard: Dashboard) -> None:
    queries = DashboardQueries(dashboard.inventory.engine)
    seeded = dashboard.seeded
    issues = queries.urgent_issues(approval_sla_hours=72)
    assert issues.counts["approval_overdue"] == len(seeded.overdue_keys)
    # with a longer SLA the back-dated (200 h old) approvals are no longer overdue
    assert queries.urgent_issues(approval_sla_hours=300).counts["approval_overdue"] == 0
    # the open use case approval becomes overdue an hour from now with a 1-minute SLA
    later = datetime.now(UTC) + timedelta(hours=1)
    assert queries.urgent_issues(approval_sla_hours=1 / 60, now=later).counts["approval_overdue"] > len(
        seeded.overdue_keys
    )
    retail = queries.urgent_issues(Filters(business_entity="retail-bank"), approval_sla_hours=72)
    assert retail.counts["drift"] == 1 and retail.counts["registry_error"] == 0
    insurance = queries.urgent_issues(Filters(business_entity="insurance"), approval_sla_hours=72)
    assert insurance.counts["drift"] == 0 and insurance.counts["registry_error"] == 1
    nowhere = queries.urgent_issues(Filters(business_entity="no-such-entity"), approval_sla_hours=72)
    assert nowhere.total == 0
    titles = [i.title for i in issues.items if i.kind == "approval_overdue"]
    assert all(" v" in t and "PRODUCTION approval" in t for t in titles), titles


def _grow(inventory: Inventory, extra: int) -> None:
    """Add ``extra`` models in bulk (the overview must not care how many there are)."""
    with inventory.engine.begin() as conn:
        group_id = conn.scalar(select(ModelGroup.id).limit(1))
        now = datetime.now(UTC)
        conn.execute(
            insert(Model),
            [
                {
                    "model_group_id": group_id,
                    "package_arn": f"arn:aws:sagemaker:us-east-1:123456789012:model-package/bulk/{n}",
                    "version": 1000 + n,
                    "status": GovernanceStatus.DEPLOYED.value if n % 3 else GovernanceStatus.REJECTED.value,
                    "status_version": 1,
                    "sagemaker_stage": "Deployment",
                    "sagemaker_stage_status": "Complete",
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(extra)
            ],
        )


def _overview(queries: DashboardQueries, filters: Filters) -> None:
    queries.counts(filters)
    queries.urgent_issues(filters, approval_sla_hours=72)
    queries.models(filters, limit=50)
    queries.business_entities()
    queries.use_case_options()


def test_the_overview_costs_the_same_queries_for_thousands_of_models(
    dashboard: Dashboard, tmp_path: Path
) -> None:
    queries = DashboardQueries(dashboard.inventory.engine)
    filters = Filters(business_entity="retail-bank")
    with _statements(dashboard.inventory.engine) as small:
        _overview(queries, filters)
    _grow(dashboard.inventory, 5000)
    with _statements(dashboard.inventory.engine) as large:
        started = time.perf_counter()
        _overview(queries, filters)
        elapsed = time.perf_counter() - started
    assert len(large) == len(small)
    assert elapsed < 3.0, f"the overview took {elapsed:.2f} s over 5,000 more models"
    page = queries.models(filters, limit=50)
    assert page.total >= 5000 and len(page.rows) == 50
    # keyset paging: a later page seeks by id (SQLite always renders a zero OFFSET with LIMIT)
    with _statements(dashboard.inventory.engine) as later:
        queries.models(filters, before_id=page.next_before_id, limit=50)
    assert any("mg_model.id < ?" in s for s in later)


def test_a_bad_page_size_is_refused_with_the_range() -> None:
    from model_governance.exceptions import InvalidInputError
    from model_governance.inventory import make_engine

    queries = DashboardQueries(make_engine("sqlite://"))
    with pytest.raises(InvalidInputError, match="use 1 to 200"):
        queries.models(limit=0)


def test_the_plugin_exposes_the_app_and_a_nav_entry_airflow_accepts() -> None:
    import model_governance_plugin
    from airflow.api_fastapi.app import RESERVED_URL_PREFIXES
    from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse

    plugin = model_governance_plugin.ModelGovernancePlugin
    (app,) = plugin.fastapi_apps
    assert not any(app["url_prefix"].startswith(prefix) for prefix in RESERVED_URL_PREFIXES)
    (view,) = plugin.external_views
    assert ExternalViewResponse.model_validate(view).href == f"{app['url_prefix']}/"


def test_jira_urls_shown_in_pages_carry_no_credentials() -> None:
    from model_governance.ui.airflow_services import _without_userinfo

    assert _without_userinfo("https://bot:s3cret@jira.example.com:8443/") == "https://jira.example.com:8443"
    assert _without_userinfo("https://jira.example.com/") == "https://jira.example.com"
