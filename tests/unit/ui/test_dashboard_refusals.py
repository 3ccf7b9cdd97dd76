"""A move refused by separation of duties is urgent on the dashboard, with who tried and why."""

from __future__ import annotations

from tests.unit.ui.conftest import Dashboard


def test_a_refused_approval_move_is_an_urgent_issue(dashboard: Dashboard) -> None:
    key = dashboard.seeded.overdue_keys[0]
    before = dashboard.get("/").text
    assert 'class="urgent-approval_refused"' not in before
    recorded = dashboard.inventory.record_approval_refusal(
        key,
        {
            "at": "2026-11-30T09:00:00+00:00",
            "by": "owner@example.com",
            "account": "712020:owner",
            "status": "Done",
            "reason": "the use case owner may not decide their own model's approval",
        },
    )
    assert recorded
    html = dashboard.get("/").text
    assert 'class="urgent-approval_refused"' in html
    assert "Approval move refused (separation of duties): <strong>1</strong>" in html
    assert "the use case owner may not decide" in html
    assert f'href="https://jira.example.com/browse/{key}"' in html
