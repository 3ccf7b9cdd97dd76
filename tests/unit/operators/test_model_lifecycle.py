"""The life cycle status steps and the use case steps as adapters: what they ask of the inventory and of
the entity's registry, with fakes of both."""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

import pytest

from model_governance.exceptions import InvalidInputError, NotFoundError
from model_governance.operators.model_lifecycle import (
    AcceptReviewDocumentOperator,
    MarkApprovedForDeploymentOperator,
    OnboardModelOperator,
    RejectModelOperator,
    SetModelStatusOperator,
    WaitForDeploymentSensor,
)
from model_governance.operators.use_case import (
    CreateModelGroupOperator,
    EmailModelGroupCreatedOperator,
    RecordUseCaseOperator,
    RecordUseCaseRejectionOperator,
)
from model_governance.registry import MetadataKey
from tests.unit.operators.fakes import (
    ALL_GATES_APPROVED,
    ARN,
    CONN_ID,
    ENTITY,
    REGION,
    Hooks,
    approvals,
    config,
    context,
    inventory,
    model,
    wire,
)

DECISION = {"issue_key": "MLC-9", "decided_by": {"display_name": "Rita Reviewer"}}


def test_a_status_step_records_first_then_writes_sagemaker_once_keyed_by_the_task() -> None:
    hooks, inv = Hooks(), inventory()
    step = wire(
        SetModelStatusOperator(
            task_id="start_review", model_id="7", status="Pre Implementation Review", reason="r"
        ),
        inventory=inv,
        hooks=hooks,
    )
    assert step.execute(context("start_review")) == "Pre Implementation Review"
    (call,) = inv.transition.call_args_list
    assert call.kwargs["actor"] == "airflow:mlc/manual__1/start_review" and call.kwargs["reason"] == "r"
    ((kind, (body, token)),) = hooks.registry.calls
    assert kind == "update" and token[:3] == ("mlc", "manual__1", "start_review")
    assert body["ModelLifeCycle"]["Stage"] and body["ModelApprovalStatus"] == "PendingManualApproval"
    assert ("registry", CONN_ID, REGION) in hooks.made


def test_a_step_this_task_made_in_a_rerun_run_writes_nothing_once_the_model_moved_on() -> None:
    """A cleared DAG run of a model that went on to Deployed: start_review made its step in this run, so it
    neither moves the model back nor writes the old status to SageMaker."""
    hooks, inv = Hooks(), inventory(model(status="Deployed"))
    earlier = MagicMock(actor="airflow:mlc/manual__1/start_review", to_status="Pre Implementation Review")
    inv.status_history.return_value = [earlier]
    step = wire(
        SetModelStatusOperator(
            task_id="start_review", model_id="7", status="Pre Implementation Review", reason="r"
        ),
        inventory=inv,
        hooks=hooks,
    )
    assert step.execute(context("start_review")) == "Pre Implementation Review"
    inv.transition.assert_not_called()
    assert hooks.registry.calls == []
    # Another run's step is no excuse: the move is attempted (and the life cycle graph decides).
    earlier.actor = "airflow:mlc/manual__0/start_review"
    step = wire(
        SetModelStatusOperator(
            task_id="start_review", model_id="7", status="Pre Implementation Review", reason="r"
        ),
        inventory=inv,
        hooks=hooks,
    )
    step.execute(context("start_review"))
    inv.transition.assert_called_once()


def test_a_rejection_is_recorded_even_when_mail_fails() -> None:
    hooks, inv = Hooks(), inventory()
    step = wire(
        RejectModelOperator(task_id="reject", model_id=7, decision=DECISION), inventory=inv, hooks=hooks
    )
    result = step.execute(context())
    assert result["reason"] == "rejected by Rita Reviewer in MLC-9" and result["status"] == "Rejected"
    step.notify.assert_called_once()
    assert inv.transition.call_args.args[1].value == "Rejected"


def test_accepting_the_review_needs_its_documents_and_fills_the_card() -> None:
    hooks, inv = Hooks(), inventory()
    step = wire(
        AcceptReviewDocumentOperator(task_id="accept", model_id=7, snapshot_id="5", decision=DECISION),
        inventory=inv,
        hooks=hooks,
    )
    inv.approvals.return_value = approvals(*ALL_GATES_APPROVED[:2])
    inv.documents.return_value = []
    with pytest.raises(InvalidInputError, match="render_review_document task must run first"):
        step.execute(context())
    document = MagicMock(id=1, kind="model_review", uri="s3://gov-bucket/d.html", media_type="text/html")
    inv.documents.return_value = [document]
    inv.latest_risk_test_run.return_value = None
    snapshot = inv.get_snapshot.return_value
    snapshot.id, snapshot.content_hash, snapshot.manifest = 5, "c" * 64, {}
    use_case = inv.get_use_case.return_value
    use_case.id, use_case.description, use_case.owner = 1, "churn", "owner@example.com"
    use_case.business_entity.name = ENTITY
    result = step.execute(context())
    assert result == {"documents": ["s3://gov-bucket/d.html"], "snapshot": "c" * 64}
    inv.approve_documents.assert_called_once_with([1])
    assert [name for name, _ in hooks.registry.calls][:1] == ["fill_model_card"]


def test_production_approval_marks_the_snapshot_and_approves_the_card() -> None:
    hooks, inv = Hooks(), inventory()
    inv.approvals.return_value = approvals(*ALL_GATES_APPROVED)
    inv.mark_snapshot_deployed.return_value = MagicMock(content_hash="h", deployed_at="now")
    step = wire(
        MarkApprovedForDeploymentOperator(task_id="approve", model_id=7, snapshot_id="5", decision=DECISION),
        inventory=inv,
        hooks=hooks,
    )
    assert step.execute(context()) == {"model_id": 7, "snapshot": "h", "deployed_at": "now"}
    inv.mark_snapshot_deployed.assert_called_once_with(5)
    assert "set_model_card_status" in [name for name, _ in hooks.registry.calls]


def test_onboarding_reads_the_package_through_the_groups_entity() -> None:
    hooks, inv = Hooks(), inventory()
    hooks.registry.package = {
        "ModelPackageArn": ARN,
        "ModelLifeCycle": {"Stage": "Development", "StageStatus": "Complete"},
        "ModelApprovalStatus": "PendingManualApproval",
    }
    inv.upsert_model.return_value = (model(status="Development Complete"), True)
    step = wire(OnboardModelOperator(task_id="onboard_model", package_arn=ARN), inventory=inv, hooks=hooks)
    result = step.execute(context("onboard_model"))
    assert result == {"model_id": 7, "status": "Development Complete", "created": True}
    inv.claim_mlc_run.assert_called_once_with(7, "manual__1")
    inv.business_entity_of_group.assert_called_once()
    inv.find_model_group.return_value = None
    with pytest.raises(NotFoundError, match="which no use case owns"):
        step.execute(context("onboard_model"))


def test_the_deployment_sensor_takes_a_deployed_record_and_otherwise_waits() -> None:
    hooks, inv = Hooks(), inventory(model(status="Deployed"))
    sensor = wire(WaitForDeploymentSensor(task_id="wait", model_id=7), inventory=inv, hooks=hooks)
    assert sensor.poke(context()) is True
    inv.get_model.return_value = model(status="Approved for Deployment")
    sensor = wire(WaitForDeploymentSensor(task_id="wait", model_id=7), inventory=inv, hooks=hooks)
    hooks.registry.package = {
        "ModelPackageArn": ARN,
        "ModelLifeCycle": {"Stage": "Deployment", "StageStatus": "InProgress"},
    }
    assert sensor.poke(context()) is False, "not Deployment/Complete yet"


@pytest.mark.parametrize(("given", "expected"), [({}, 7.0), ({"poke_interval": 3}, 3)])
def test_the_deployment_sensor_pokes_at_the_configured_deployment_interval_unless_given_one(
    monkeypatch: pytest.MonkeyPatch, given: dict[str, Any], expected: float
) -> None:
    from airflow.sdk.bases.sensor import BaseSensorOperator

    seen: list[float] = []
    monkeypatch.setattr(BaseSensorOperator, "execute", lambda self, context: seen.append(self.poke_interval))
    sensor = wire(
        WaitForDeploymentSensor(task_id="wait", model_id=7, **given),
        inventory=inventory(),
        hooks=Hooks(),
        settings=config(deployment={"poll_interval_seconds": 7}),
    )
    sensor.execute(context())
    assert seen == [expected]


FORM = {
    "name": "Churn",
    "description": "d",
    "business_entity": ENTITY,
    "risk_level": "High",
    "owner": "owner@example.com",
    "data_science_email": "ds@example.com",
}


def test_the_use_case_is_recorded_with_its_entity() -> None:
    hooks, inv = Hooks(), inventory()
    inv.create_use_case.return_value = MagicMock(id=4, owner="owner@example.com", status="Proposed")
    inv.create_use_case.return_value.name = "Churn"
    step = wire(RecordUseCaseOperator(task_id="record_use_case", use_case=FORM), inventory=inv, hooks=hooks)
    assert step.execute(context())["use_case_id"] == 4
    assert inv.ensure_business_entity.call_args.kwargs["aws_conn_id"] == CONN_ID
    assert inv.create_use_case.call_args.kwargs["requested_by"] == "owner@example.com"


def _use_case(inv: Any) -> Any:
    use_case = inv.get_use_case.return_value
    use_case.id, use_case.name, use_case.risk_level = 4, "Churn", "High"
    use_case.business_entity.name = ENTITY
    use_case.requested_by, use_case.owner = None, "owner@example.com"
    return use_case


def test_the_model_group_is_made_in_the_use_cases_registry_and_tagged() -> None:
    hooks, inv = Hooks(), inventory()
    _use_case(inv)
    hooks.registry.answers = {"ensure_model_package_group": ("arn:group", True)}
    inv.link_model_group.return_value.name = "uc-4-churn"
    step = wire(CreateModelGroupOperator(task_id="create", use_case_id="4"), inventory=inv, hooks=hooks)
    result = step.execute(context())
    assert result == {
        "use_case_id": 4,
        "model_group": "uc-4-churn",
        "model_group_arn": "arn:group",
        "created": True,
    }
    ((name, (args, kwargs)),) = hooks.registry.calls
    assert name == "ensure_model_package_group" and args == ("uc-4-churn",)
    assert kwargs["tags"][MetadataKey.BUSINESS_ENTITY] == ENTITY


def test_a_rejected_use_case_tells_the_requester(monkeypatch: pytest.MonkeyPatch) -> None:
    import model_governance.operators.use_case as module

    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(module, "_send_mail", lambda *args, **kwargs: sent.append(args))
    hooks, inv = Hooks(), inventory()
    inv.set_use_case_status.return_value = _use_case(inv)
    step = wire(
        RecordUseCaseRejectionOperator(task_id="rejected", use_case_id=4, decision=DECISION),
        inventory=inv,
        hooks=hooks,
    )
    step.execute(context())
    ((_, to, _subject, body),) = sent
    assert to == ["owner@example.com"] and "rejected by Rita Reviewer in MLC-9" in body


def test_the_group_email_needs_the_group() -> None:
    hooks, inv = Hooks(), inventory()
    _use_case(inv)
    inv.model_group_of_use_case.return_value = None
    step = wire(EmailModelGroupCreatedOperator(task_id="email", use_case_id=4), inventory=inv, hooks=hooks)
    with pytest.raises(InvalidInputError, match="has no model group yet"):
        step.execute(context())


@pytest.mark.parametrize(
    ("recorded", "why"),
    [
        pytest.param((), "PIA: no approval was opened in this run", id="approval-tasks-marked-success"),
        pytest.param(
            ALL_GATES_APPROVED[:2], "PRODUCTION: no approval was opened", id="production-task-marked-success"
        ),
        pytest.param(
            (*ALL_GATES_APPROVED[:2], ("PRODUCTION", "OPEN")), "PRODUCTION: MLC-3 is OPEN", id="still-open"
        ),
        pytest.param(
            (*ALL_GATES_APPROVED, ("PRODUCTION", "REJECTED")),
            "PRODUCTION: MLC-4 is REJECTED",
            id="latest-ticket-rejected",
        ),
        pytest.param(
            (("PIA", "REJECTED"), *ALL_GATES_APPROVED[1:]),
            "PIA: MLC-1 is REJECTED",
            id="earlier-gate-skipped",
        ),
    ],
)
def test_approved_for_deployment_needs_every_gate_verified_in_its_own_run(
    recorded: tuple[tuple[str, str], ...], why: str
) -> None:
    """The Airflow UI can mark an approval task (and its branch) success, or a run can carry a forged
    decision: the step that grants the status reads the verified approvals of its run from the inventory
    instead, and refuses without writing anything."""
    from model_governance.exceptions import ApprovalMissingError

    hooks, inv = Hooks(), inventory()
    inv.approvals.return_value = approvals(*recorded) + approvals(*ALL_GATES_APPROVED, run_id="another-run")
    step = wire(
        MarkApprovedForDeploymentOperator(task_id="approve", model_id=7, snapshot_id="5", decision=DECISION),
        inventory=inv,
        hooks=hooks,
    )
    with pytest.raises(ApprovalMissingError, match=why):
        step.execute(context())
    assert not inv.transition.called and not inv.mark_snapshot_deployed.called
    assert hooks.registry.calls == []
