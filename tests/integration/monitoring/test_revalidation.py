"""Scheduled revalidation with a clock moved forward, against the Jira sandbox and a real inventory: a High
model deployed 91 days ago is due once, its REVALIDATION ticket is opened once (a retry or a later daily
run opens none), and a model left unrevalidated shows as overdue on the dashboard."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from model_governance.config import load_config
from model_governance.hooks.jira import JiraHook
from model_governance.services.approvals import ApprovalRequest, ApprovalService, TicketText
from model_governance.services.revalidation import RevalidationService, revalidation_key


def _deploy(governed: Any) -> None:
    for status in (
        "Pre Implementation Review",
        "Validation Complete",
        "Awaiting Approval",
        "Approved for Deployment",
        "Deployed",
    ):
        governed.inventory.transition(
            governed.model_id, status, source="governance", actor="test", reason="t"
        )


def test_clock_moved_forward_opens_the_revalidation_ticket_once_and_overdue_shows(
    jira: Any, make_governed: Any, dashboard_over: Any
) -> None:
    governed = make_governed(risk_level="High")
    _deploy(governed)
    inventory = governed.inventory
    config = load_config(variable_text="")
    clock: dict[str, Any] = {}

    def service() -> RevalidationService:
        return RevalidationService(inventory=inventory, config=config, clock=lambda: clock["now"])

    deployed = service().deployed_at(inventory.get_model(governed.model_id))
    clock["now"] = deployed + timedelta(days=1)

    assert service().due() == []  # High: every 90 days, picked up 14 days early
    assert inventory.revalidation_schedule(governed.model_id).due_at == deployed + timedelta(days=90)

    clock["now"] = deployed + timedelta(days=91)
    (due,) = service().due()
    assert due.model_id == governed.model_id and due.overdue

    # The mapped task: its revalidation, and the REVALIDATION ticket through the approval service.
    hook = JiraHook(jira.conn_id)
    approvals = ApprovalService(jira=hook, config=config, inventory=inventory)
    key = revalidation_key("model_revalidation", "scheduled__day91", "revalidate", 0)
    request = ApprovalRequest(
        kind="REVALIDATION",
        dag_id="model_revalidation",
        run_id="scheduled__day91",
        task_id="revalidate",
        model_id=governed.model_id,
    )
    text = TicketText(summary="Revalidation", description="due", project_key="MLC")
    model = inventory.get_model(governed.model_id)
    opened = []
    for _ in range(2):  # the task retried
        service().start(model, key)
        opened.append(approvals.open(request, text))
    assert [t.created for t in opened] == [True, False] and opened[0].key == opened[1].key
    inventory.update_revalidation(key, jira_key=opened[0].key)

    # The next daily run: the model's revalidation is running, so it is not due again.
    clock["now"] = deployed + timedelta(days=92)
    assert service().due() == []
    assert len(inventory.revalidations(governed.model_id)) == 1
    assert hook.search_keys(f'project = MLC AND labels = "{request.marker}"') == [opened[0].key]

    # Left unrevalidated (the ticket undecided), the model is overdue on the dashboard (at the moved clock).
    urgent = inventory.dashboard.urgent_issues(approval_sla_hours=72, now=clock["now"])
    assert urgent.counts["revalidation_overdue"] == 1
    (item,) = [i for i in urgent.items if i.kind == "revalidation_overdue"]
    assert item.model_id == governed.model_id and "overdue by 2 days" in item.detail

    # And on the page, once the due date is past by the real clock.
    inventory.schedule_revalidation(governed.model_id, due_at=deployed - timedelta(days=3), interval_days=90)
    page = dashboard_over(inventory).get("/").text
    assert "Revalidation overdue" in page and 'class="urgent-revalidation_overdue"' in page
