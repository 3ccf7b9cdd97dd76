"""Gates that cannot be bypassed from SageMaker (issue 13, items 1 and 2), against the AWS sandbox: each
bypass is reverted through the one write-back and reported as drift naming what was tried and who."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from model_governance.inventory import EventSource, SyncIssueKind
from model_governance.lifecycle import GovernanceStatus as S
from model_governance.lifecycle import to_sagemaker
from model_governance.services.writeback import GovernanceWriteBack
from model_governance.sync import QueueMessage, mlc_run_id
from model_governance.ui.queries import DashboardQueries
from tests.integration.sync.conftest import Registry

pytestmark = pytest.mark.integration

#: The sandbox records the test's own calls (the governance connection's login) as this IAM user.
GOVERNANCE_IDENTITY = "arn:aws:iam::123456789012:user/testing"


def _mlc_moves(registry: Registry, arn: str, *statuses: S) -> None:
    """What the implementation run's steps do: inventory first, then the one write-back to SageMaker."""
    writeback = GovernanceWriteBack(registry.hook())
    for status in statuses:
        registry.inventory.transition(
            arn, status, source=EventSource.GOVERNANCE, actor="airflow:mlc", reason="MLC step"
        )
        writeback.write(status, arn=arn, token_parts=("mlc", "run-1", status.value))


def _package(registry: Registry, arn: str) -> dict:
    return registry.sagemaker.describe_model_package(ModelPackageName=arn)


def _drift(registry: Registry, arn: str) -> list:
    issues = registry.inventory.open_sync_issues(business_entity=registry.entity, kinds=[SyncIssueKind.DRIFT])
    return [i for i in issues if i.package_arn == arn]


def test_registered_as_deployed_and_approved_is_onboarded_at_development_complete_and_reverted(
    registry: Registry,
) -> None:
    arn = registry.register(S.DEPLOYED, approval="Approved", as_user="studio-alice")
    report = registry.sync().reconcile()

    model = registry.inventory.get_model(arn)
    assert model.status == S.DEVELOPMENT_COMPLETE.value, "never Deployed without the approvals"
    assert model.mlc_run_id == mlc_run_id(registry.entity, arn), "its implementation run starts normally"
    package = _package(registry, arn)
    assert registry.lifecycle(arn) == ("Development", "Complete")
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert package["CustomerMetadataProperties"]["governance:status"] == "Development Complete"
    assert package["LastModifiedBy"]["IamIdentity"]["Arn"] == GOVERNANCE_IDENTITY
    assert package["CreatedBy"]["UserProfileName"] == "alice", "who registered it is kept"
    assert report.writes == 1, "lifecycle, approval and links in one UpdateModelPackage"

    [issue] = _drift(registry, arn)
    assert "registered as Deployment/Complete (Deployed)" in issue.detail
    assert "ModelApprovalStatus Approved" in issue.detail and "without governance approvals" in issue.detail
    assert "registered by Studio user profile alice in domain d-sandbox" in issue.detail
    assert issue.model_id == model.id
    assert [f.kind for f in report.findings] == ["drift"], "operators are told (sync findings email)"
    [event] = registry.inventory.status_history(arn)
    assert (event.to_status, event.source) == ("Development Complete", "sagemaker")
    assert "registered as Deployment/Complete" in event.reason

    quiet = registry.sync().reconcile()
    assert quiet.findings == [] and quiet.writes == 0, "our own write-back is in step: nothing more"

    urgent = DashboardQueries(registry.inventory.engine).urgent_issues(approval_sla_hours=72)
    assert urgent.counts["drift"] >= 1
    assert any(i.kind == "drift" and i.model_id == model.id for i in urgent.items)


@pytest.mark.parametrize(
    "registered", [S.AWAITING_APPROVAL, S.APPROVED_FOR_DEPLOYMENT, S.VALIDATION_COMPLETE], ids=str
)
def test_every_governance_owned_stage_at_registration_is_reverted(registry: Registry, registered: S) -> None:
    arn = registry.register(registered, as_user="eve")
    registry.sync().reconcile()
    assert registry.inventory.get_model(arn).status == S.DEVELOPMENT_COMPLETE.value
    assert registry.lifecycle(arn) == ("Development", "Complete")
    wanted = to_sagemaker(registered)
    [issue] = _drift(registry, arn)
    assert f"registered as {wanted.stage}/{wanted.stage_status}" in issue.detail
    assert "registered by arn:aws:iam::123456789012:user/eve" in issue.detail


def test_approval_set_in_sagemaker_on_a_model_in_review_is_reverted_with_who_did_it(
    registry: Registry,
) -> None:
    arn = registry.register(S.DEVELOPMENT_COMPLETE)
    registry.sync().reconcile()
    _mlc_moves(registry, arn, S.PRE_IMPLEMENTATION_REVIEW)
    assert registry.sync().reconcile().findings == [], "the MLC's own writes are not drift"

    registry.sagemaker_as("studio-bob").update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved"
    )
    report = registry.sync().reconcile()
    package = _package(registry, arn)
    assert package["ModelApprovalStatus"] == "PendingManualApproval", "governance's value written back"
    assert registry.lifecycle(arn) == ("Testing", "Review")
    assert registry.inventory.get_model(arn).status == S.PRE_IMPLEMENTATION_REVIEW.value
    assert report.actions.get("revert_drift") == 1 and report.writes == 1
    [issue] = _drift(registry, arn)
    assert (
        "ModelApprovalStatus Approved (governance: PendingManualApproval for Pre Implementation Review)"
        in (issue.detail)
    )
    assert "changed by Studio user profile bob" in issue.detail
    assert registry.sync().reconcile().findings == []


def test_approval_reported_by_a_cloudtrail_event_names_the_cloudtrail_identity(registry: Registry) -> None:
    arn = registry.register(S.DEVELOPMENT_COMPLETE)
    registry.sync().reconcile()
    _mlc_moves(registry, arn, S.PRE_IMPLEMENTATION_REVIEW, S.VALIDATION_COMPLETE, S.AWAITING_APPROVAL)
    registry.sagemaker_as("ci-pipeline").update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved"
    )
    body = json.dumps(
        {
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.sagemaker",
            "time": "2026-12-01T10:00:00Z",
            "detail": {
                "eventSource": "sagemaker.amazonaws.com",
                "eventName": "UpdateModelPackage",
                "userIdentity": {
                    "type": "AssumedRole",
                    "arn": "arn:aws:sts::123456789012:assumed-role/DataScience/frank",
                    "sessionContext": {"sourceIdentity": "frank"},
                },
                "requestParameters": {"modelPackageArn": arn, "modelApprovalStatus": "Approved"},
            },
        }
    )
    report = registry.sync().apply_messages([QueueMessage("m-1", "receipt-1", body)])
    assert len(report.done_messages) == 1
    assert _package(registry, arn)["ModelApprovalStatus"] == "PendingManualApproval"
    assert registry.lifecycle(arn) == ("Deployment", "PendingApproval")
    [issue] = _drift(registry, arn)
    assert "changed by arn:aws:sts::123456789012:assumed-role/DataScience/frank (source identity frank)" in (
        issue.detail
    )


def test_deployed_from_sagemaker_before_approval_is_reverted(registry: Registry) -> None:
    arn = registry.register(S.DEVELOPMENT_COMPLETE)
    registry.sync().reconcile()
    _mlc_moves(registry, arn, S.PRE_IMPLEMENTATION_REVIEW, S.VALIDATION_COMPLETE, S.AWAITING_APPROVAL)
    registry.sagemaker_as("studio-carol").update_model_package(
        ModelPackageArn=arn,
        ModelLifeCycle={"Stage": "Deployment", "StageStatus": "Complete"},
        ModelApprovalStatus="Approved",
    )
    report = registry.sync().reconcile()
    assert registry.inventory.get_model(arn).status == S.AWAITING_APPROVAL.value
    assert registry.lifecycle(arn) == ("Deployment", "PendingApproval")
    assert _package(registry, arn)["ModelApprovalStatus"] == "PendingManualApproval"
    assert report.writes == 1
    [issue] = _drift(registry, arn)
    assert "SageMaker shows Deployment/Complete but governance holds Awaiting Approval" in issue.detail
    assert (
        "ModelApprovalStatus Approved" in issue.detail
        and "changed by Studio user profile carol" in issue.detail
    )

    # Once production approval is granted, the deployer's Deployment/Complete is accepted.
    _mlc_moves(registry, arn, S.APPROVED_FOR_DEPLOYMENT)
    registry.sagemaker_as("deployer").update_model_package(
        ModelPackageArn=arn, ModelLifeCycle={"Stage": "Deployment", "StageStatus": "Complete"}
    )
    applied = registry.sync().reconcile()
    assert registry.inventory.get_model(arn).status == S.DEPLOYED.value
    assert applied.findings == [] and _package(registry, arn)["ModelApprovalStatus"] == "Approved"
    assert registry.inventory.status_history(arn)[-1].actor == "sagemaker"


def test_the_mlc_writes_through_the_same_write_back_once_per_step(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from model_governance.operators.model_lifecycle import SetModelStatusOperator
    from tests.integration.sync.test_events import _settings

    monkeypatch.setenv(
        "MODEL_GOVERNANCE_CONFIG", _settings([registry], f"sqlite:///{tmp_path / 'inventory.db'}")
    )
    arn = registry.register(S.DEVELOPMENT_COMPLETE)
    registry.sync().reconcile()
    model = registry.inventory.get_model(arn)
    ti = SimpleNamespace(dag_id="sagemaker_model_implementation", run_id="mlc__retail__v1", task_id="pia")
    updates = registry.sandbox.request_count("sagemaker:UpdateModelPackage")
    step = SetModelStatusOperator(
        task_id="pia",
        model_id=model.id,
        status=S.PRE_IMPLEMENTATION_REVIEW.value,
        reason="PIA approved in MLC-7",
    )
    step.execute({"ti": ti})  # type: ignore[arg-type]
    package = _package(registry, arn)
    assert package["ModelLifeCycle"] == {
        "Stage": "Testing",
        "StageStatus": "Review",
        "StageDescription": "PIA approved in MLC-7",
    }
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    metadata = package["CustomerMetadataProperties"]
    assert (metadata["governance:status"], metadata["governance:model_id"]) == (
        "Pre Implementation Review",
        str(model.id),
    )
    assert registry.sandbox.request_count("sagemaker:UpdateModelPackage") == updates + 1, "one call"
    # A retried task: the inventory already holds the status (no-op) and SageMaker is in step.
    SetModelStatusOperator(
        task_id="pia",
        model_id=model.id,
        status=S.PRE_IMPLEMENTATION_REVIEW.value,
        reason="PIA approved in MLC-7",
    ).execute({"ti": ti})  # type: ignore[arg-type]
    assert registry.sandbox.request_count("sagemaker:UpdateModelPackage") == updates + 1, "nothing differs"
    assert registry.sync().reconcile().findings == [], "the sync sees the MLC's write as governance's"
