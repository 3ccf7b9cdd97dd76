"""Every status of the mapping table reached by a documented action against the AWS sandbox, with its
SageMaker (Stage, StageStatus) written to the package each time.

The implementation MLC's own statuses (Pre Implementation Review, Validation Complete, Awaiting Approval,
Approved for Deployment, Rejected, Deployed) are reached by the ``sagemaker_model_implementation`` DAG; the
e2e tests run it (tests/e2e/test_model_implementation.py). Here they are set up through the inventory and the
one write-back as that DAG does, and held and resumed by the actions."""

from __future__ import annotations

import pytest

from model_governance.inventory import EventSource
from model_governance.lifecycle import GovernanceStatus as S
from model_governance.lifecycle import to_sagemaker
from model_governance.services.writeback import GovernanceWriteBack
from tests.integration.actions.conftest import Actions
from tests.integration.sync.conftest import Registry

EARLY = [S.MODEL_DEFINITION, S.DATA_ACQUISITION, S.DATA_ACQUISITION_COMPLETE, S.FEATURE_ENGINEERING]


def _assert_written(actions: Actions, arn: str, status: S) -> None:
    pair = to_sagemaker(status)
    assert actions.registry.inventory.get_model(arn).status == status.value
    assert (arn, pair.stage, pair.stage_status) in actions.spy.lifecycles or status is S.PROPOSED
    assert actions.registry.lifecycle(arn) == (pair.stage, pair.stage_status)


def _mlc_to(registry: Registry, arn: str, *path: S) -> None:
    """What the implementation DAG's steps do: the inventory's transition, then the one write-back."""
    for status in path:
        registry.inventory.transition(arn, status, source=EventSource.GOVERNANCE, actor="mlc", reason="step")
        GovernanceWriteBack(registry.hook()).write(status, arn=arn, token_parts=("mlc", "run", status.value))


def test_the_early_stages_of_a_use_case_that_starts_from_governance(
    actions: Actions, registry: Registry
) -> None:
    use_case = str(registry.use_case_id)
    arn = actions.perform("propose", use_case_id=use_case)["models"][0]["package_arn"]
    _assert_written(actions, arn, S.PROPOSED)
    assert registry.lifecycle(arn) == ("Proposal", "Approved")
    actions.perform("hold", use_case_id=use_case)
    _assert_written(actions, arn, S.ON_HOLD_PROPOSAL)
    actions.perform("resume", use_case_id=use_case)
    _assert_written(actions, arn, S.PROPOSED)
    for stage in [*EARLY, S.FEATURE_ENGINEERING_COMPLETE]:
        actions.perform("advance", model=arn, to_status=stage.value)
        _assert_written(actions, arn, stage)
    actions.perform("hand_over", use_case_id=use_case)
    _assert_written(actions, arn, S.UNDER_DEVELOPMENT)
    assert actions.mail and "Development/Complete" in actions.mail[-1][1]
    # the data scientist finishes: Development/Complete in SageMaker, which the sync applies (bidirectional)
    registry.set_lifecycle(arn, "Development", "Complete")
    registry.sync().reconcile(full=True)
    assert registry.inventory.get_model(arn).status == S.DEVELOPMENT_COMPLETE.value
    assert registry.inventory.get_model(arn).mlc_run_id, "its implementation run is chosen"
    assert registry.inventory.verify_audit_trail(arn).ok


@pytest.mark.parametrize("gate", [S.PRE_IMPLEMENTATION_REVIEW, S.VALIDATION_COMPLETE, S.AWAITING_APPROVAL])
def test_hold_and_resume_a_model_waiting_on_a_gate(actions: Actions, registry: Registry, gate: S) -> None:
    arn = registry.register(S.DEVELOPMENT_COMPLETE)
    registry.sync().reconcile(full=True)
    path = [S.PRE_IMPLEMENTATION_REVIEW, S.VALIDATION_COMPLETE, S.AWAITING_APPROVAL]
    _mlc_to(registry, arn, *path[: path.index(gate) + 1])
    actions.perform("hold", model=arn)
    _assert_written(actions, arn, S.ON_HOLD_DEVELOPMENT)
    assert registry.inventory.current_hold(model_id=registry.inventory.get_model(arn).id) is not None
    # the sync sees governance's own write and leaves it
    registry.sync().reconcile(full=True)
    assert registry.inventory.get_model(arn).status == S.ON_HOLD_DEVELOPMENT.value
    actions.perform("resume", model=arn)
    _assert_written(actions, arn, gate)


def test_model_change_then_decommission(actions: Actions, registry: Registry) -> None:
    arn = registry.register(S.DEVELOPMENT_COMPLETE)
    registry.sync().reconcile(full=True)
    _mlc_to(
        registry,
        arn,
        S.PRE_IMPLEMENTATION_REVIEW,
        S.VALIDATION_COMPLETE,
        S.AWAITING_APPROVAL,
        S.APPROVED_FOR_DEPLOYMENT,
        S.DEPLOYED,
    )
    actions.perform("start_change", model=arn)
    _assert_written(actions, arn, S.MODEL_CHANGE_IN_PROGRESS)
    challenger = registry.register(S.DEVELOPMENT_COMPLETE)
    registry.sync().reconcile(full=True)
    change = registry.inventory.link_challenger(challenger)
    assert change is not None and registry.inventory.champion_of(challenger).package_arn == arn  # type: ignore[union-attr]

    registry.sagemaker.update_model_package(
        ModelPackageArn=arn, ModelCard={"ModelCardContent": "{}", "ModelCardStatus": "Approved"}
    )
    result = actions.perform("decommission", model=arn)
    assert [m["to_status"] for m in result["models"]] == [S.DECOMMISSIONING.value, S.DECOMMISSIONED.value]
    assert (arn, "Archived", "InProgress") in actions.spy.lifecycles  # Decommissioning, written on the way
    _assert_written(actions, arn, S.DECOMMISSIONED)
    described = registry.sagemaker.describe_model_package(ModelPackageName=arn)
    assert described["ModelCard"]["ModelCardStatus"] == "Archived"
    # the sync agrees: Archived/Complete is governance's own status
    registry.sync().reconcile(full=True)
    assert registry.inventory.get_model(arn).status == S.DECOMMISSIONED.value
    # (the shortcut above through the gates has no approvals, so only the actions' records are checked here)
    chained = registry.inventory.chained_records(arn)["governance_action"]
    assert {(a["action"], a["state"], a["requested_by"]) for a in chained} == {
        ("start_change", "DONE", "ops@example.com"),
        ("decommission", "DONE", "ops@example.com"),
    }
