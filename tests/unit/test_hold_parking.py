"""An approval wait stays parked while its model (or its use case) is on hold: the decided ticket is not
taken, the ticket says so once, and the decision counts after the resume."""

from __future__ import annotations

from datetime import UTC, datetime

from model_governance.inventory import Inventory
from model_governance.lifecycle import GovernanceStatus as S
from tests.unit.test_approvals import FakeJira, _model, _request, _service, _text, inventory

__all__ = ["inventory"]  # the fixture


def _act(
    inventory: Inventory, action: str, *, model_id: int | None = None, use_case_id: int | None = None
) -> None:
    record, _ = inventory.record_action_requested(
        request_key=f"t/{action}/{model_id}/{use_case_id}/{datetime.now(UTC).timestamp()}",
        action=action,
        requested_by="ops@example.com",
        reason="board review",
        model_id=model_id,
        use_case_id=use_case_id,
    )
    inventory.complete_action(record.id)


def test_a_decided_ticket_waits_while_the_model_is_on_hold_and_counts_after_the_resume(
    inventory: Inventory,
) -> None:
    jira, model_id = FakeJira(), _model(inventory, "Low")
    service = _service(jira, inventory)
    request = _request("PIA", model_id)
    ticket = service.open(request, _text())
    inventory.transition(model_id, S.ON_HOLD_DEVELOPMENT, source="governance", actor="ops", reason="hold")
    _act(inventory, "hold", model_id=model_id)
    jira.move(ticket.key, "Done", "acc-rev", datetime(2026, 1, 3, tzinfo=UTC))

    for _ in range(3):  # the wait looks again and again: still parked, said once on the ticket
        assert service.verified_decision(request, ticket.key) is None
    assert service.parked is not None and "ops@example.com" in service.parked
    parked = [c for c in jira.comment_log[ticket.key] if "parked" in c.body]
    assert len(parked) == 1 and "board review" in parked[0].body
    assert jira.status[ticket.key] == "Done", "the decision is kept, not moved back"
    assert inventory.approval(ticket.key).state == "OPEN"  # type: ignore[union-attr]

    inventory.transition(model_id, S.DEVELOPMENT_COMPLETE, source="governance", actor="ops", reason="resume")
    _act(inventory, "resume", model_id=model_id)
    decision = service.verified_decision(request, ticket.key)
    assert decision is not None and service.parked is None
    assert inventory.approval(ticket.key).state == "APPROVED"  # type: ignore[union-attr]


def test_a_use_case_hold_parks_its_use_case_approval(inventory: Inventory) -> None:
    jira, model_id = FakeJira(), _model(inventory, "Low")
    use_case_id = inventory.use_case_of_group(inventory.get_model(model_id).model_group_id)
    service = _service(jira, inventory)
    from model_governance.services.approvals import ApprovalRequest

    request = ApprovalRequest(kind="USE_CASE", dag_id="ucr", run_id="r", task_id="t", use_case_id=use_case_id)
    ticket = service.open(request, _text())
    _act(inventory, "hold", use_case_id=use_case_id)
    jira.move(ticket.key, "Done", "acc-rev", datetime(2026, 1, 3, tzinfo=UTC))
    assert service.verified_decision(request, ticket.key) is None
    _act(inventory, "resume", use_case_id=use_case_id)
    assert service.verified_decision(request, ticket.key) is not None
