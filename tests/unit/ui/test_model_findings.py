"""The model page's "Monitoring findings" card: the model's findings (open first, oldest first; then the
newest cleared), with breach count, latest value, threshold, ticket (or "not opened yet") and policy."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.unit.ui.conftest import Dashboard


def _card(html: str) -> str:
    match = re.search(r'<section class="card" id="findings">(.*?)</section>', html, re.S)
    assert match, "the model page has a Monitoring findings card"
    return match.group(1)


def test_the_model_page_lists_the_models_findings(dashboard: Dashboard) -> None:
    inventory, model_id = dashboard.inventory, dashboard.seeded.failed_risk_model
    other = next(m.id for m in inventory.list_models(limit=50) if m.id != model_id)
    at = datetime.now(UTC) - timedelta(hours=5)
    auc = {"threshold": 0.75, "direction": "higher_is_better", "source": "model-monitor"}
    cleared, _ = inventory.record_breach(model_id, kind="auc", value=0.7, at=at, **auc)
    inventory.record_clear(model_id, kind="auc", value=0.8, at=at + timedelta(hours=1))
    psi = {"threshold": 0.2, "direction": "lower_is_better", "source": "batch-job"}
    drift, _ = inventory.record_breach(model_id, kind="data_drift.psi", value=0.31, at=at, **psi)
    inventory.record_breach(model_id, kind="data_drift.psi", value=0.35, at=at + timedelta(hours=2), **psi)
    inventory.update_finding(drift.id, jira_key="MLC-77", jira_breaches=2, action="model_change")
    inventory.record_breach(other, kind="latency", value=900, at=at, **psi)  # another model's

    card = _card(dashboard.get(f"/models/{model_id}").text)
    rows = re.findall(r'<tr class="finding-row" data-finding="(\d+)">(.*?)</tr>', card, re.S)
    assert [int(i) for i, _ in rows] == [drift.id, cleared.id], "open first, only this model's"
    open_row, cleared_row = rows[0][1], rows[1][1]
    assert "data_drift.psi" in open_row and 'class="badge bad">open' in open_row
    assert ">2<" in open_row.replace(" ", "") and "0.35" in open_row and "&lt;= 0.2" in open_row
    assert 'href="https://jira.example.com/browse/MLC-77"' in open_row and "model_change" in open_row
    assert "auc" in cleared_row and "cleared" in cleared_row and "&gt;= 0.75" in cleared_row
    assert "ticket not opened yet" in cleared_row


def test_a_model_without_findings_says_so(dashboard: Dashboard) -> None:
    card = _card(dashboard.get(f"/models/{dashboard.seeded.failed_risk_model}").text)
    assert "No monitoring findings" in card and "finding-row" not in card


def test_the_read_model_orders_open_findings_first(dashboard: Dashboard) -> None:
    inventory, model_id = dashboard.inventory, dashboard.seeded.failed_risk_model
    at = datetime.now(UTC) - timedelta(days=1)
    bound = {"threshold": 1.0, "direction": "lower_is_better", "source": "m"}
    ids = []
    for n, kind in enumerate(("a", "b", "c", "d")):
        finding, _ = inventory.record_breach(model_id, kind=kind, value=2.0, at=at, **bound)
        ids.append(finding.id)
        if n % 2 == 0:
            inventory.record_clear(model_id, kind=kind, value=0.5, at=at + timedelta(minutes=1))
    detail = inventory.dashboard.model_detail(model_id, finding_limit=3)
    assert [f.id for f in detail.extra["findings"]] == [ids[1], ids[3], ids[2]]
