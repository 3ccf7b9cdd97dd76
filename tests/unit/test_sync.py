"""The lifecycle sync's decision rules, one per row of the issue: onboard, apply, drift, unknown,
decommission, stale."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from model_governance.exceptions import InvalidInputError
from model_governance.lifecycle import ONBOARDING_FROM_SAGEMAKER, approval_status_for, to_sagemaker
from model_governance.lifecycle import GovernanceStatus as S
from model_governance.sync import (
    GovernanceLinks,
    ModelRecord,
    PackageObservation,
    SyncAction,
    cloudtrail_identity,
    decide,
    identity,
    mlc_run_id,
    observe,
    parse_event,
)

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1"
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def _seen(
    stage: str | None,
    status: str | None,
    *,
    at: datetime = T0,
    deleted: bool = False,
    approval: str | None = None,
) -> PackageObservation:
    return PackageObservation(ARN, stage, status, at, deleted=deleted, approval_status=approval)


@pytest.mark.parametrize(
    ("stage", "status", "expected"),
    [
        ("Development", "InProgress", S.UNDER_DEVELOPMENT),
        ("Development", "Complete", S.DEVELOPMENT_COMPLETE),
        (None, None, S.DEVELOPMENT_COMPLETE),
        ("Sandbox", "Whatever", S.DEVELOPMENT_COMPLETE),
    ],
)
def test_a_new_version_is_onboarded_from_its_lifecycle_where_sagemaker_may_originate_it(
    stage: str | None, status: str | None, expected: S
) -> None:
    decision = decide(None, _seen(stage, status, approval="PendingManualApproval"))
    assert (decision.action, decision.status, decision.drift) == (SyncAction.ONBOARD, expected, None)


GOVERNANCE_OWNED_AT_ONBOARDING = [
    s for s in S if s not in ONBOARDING_FROM_SAGEMAKER and to_sagemaker(s).stage != "Archived"
]


@pytest.mark.parametrize("registered", GOVERNANCE_OWNED_AT_ONBOARDING, ids=lambda s: s.value)
def test_a_version_registered_at_a_governance_owned_stage_is_onboarded_where_the_table_allows(
    registered: S,
) -> None:
    lifecycle = to_sagemaker(registered)
    decision = decide(None, _seen(lifecycle.stage, lifecycle.stage_status, approval="PendingManualApproval"))
    assert (decision.action, decision.status) == (SyncAction.ONBOARD, S.DEVELOPMENT_COMPLETE)
    assert decision.drift is not None
    assert f"registered as {lifecycle.stage}/{lifecycle.stage_status} ({registered.value})" in decision.drift
    assert "without governance approvals" in decision.drift and "Development Complete" in decision.drift


def test_deployed_with_approved_at_registration_names_both_attempts() -> None:
    decision = decide(None, _seen("Deployment", "Complete", approval="Approved"))
    assert (decision.action, decision.status) == (SyncAction.ONBOARD, S.DEVELOPMENT_COMPLETE)
    assert decision.drift is not None
    assert decision.drift.startswith(
        "registered as Deployment/Complete (Deployed) and registered with ModelApprovalStatus Approved "
        "(governance: PendingManualApproval for Development Complete) without governance approvals"
    )
    approved_only = decide(None, _seen("Development", "Complete", approval="Approved"))
    assert approved_only.status is S.DEVELOPMENT_COMPLETE
    assert approved_only.drift is not None and "ModelApprovalStatus Approved" in approved_only.drift


@pytest.mark.parametrize(
    ("current", "stage", "status", "applied"),
    [
        (S.MODEL_DEFINITION, "Development", "InProgress", S.UNDER_DEVELOPMENT),
        (S.UNDER_DEVELOPMENT, "Development", "Complete", S.DEVELOPMENT_COMPLETE),
        (S.APPROVED_FOR_DEPLOYMENT, "Deployment", "Complete", S.DEPLOYED),
    ],
)
def test_statuses_sagemaker_may_originate_are_applied(
    current: S, stage: str, status: str, applied: S
) -> None:
    decision = decide(ModelRecord(current, T0 - timedelta(minutes=1)), _seen(stage, status))
    assert (decision.action, decision.status) == (SyncAction.APPLY, applied)


@pytest.mark.parametrize(
    ("current", "stage", "status"),
    [
        (S.PRE_IMPLEMENTATION_REVIEW, "Deployment", "Approved"),  # governance-owned status set in SageMaker
        (S.AWAITING_APPROVAL, "Deployment", "Complete"),  # Deployed, but never approved: not a legal move
        (S.DEPLOYED, "QA-Validation", "Rejected"),
    ],
)
def test_anything_else_is_drift_and_governance_wins(current: S, stage: str, status: str) -> None:
    decision = decide(ModelRecord(current), _seen(stage, status))
    assert (decision.action, decision.status) == (SyncAction.REVERT_DRIFT, current)
    assert current.value in decision.reason and f"{stage}/{status}" in decision.reason


@pytest.mark.parametrize(
    "current", [s for s in S if s not in (S.APPROVED_FOR_DEPLOYMENT, S.DEPLOYED)], ids=lambda s: s.value
)
def test_deployed_is_accepted_from_sagemaker_only_from_approved_for_deployment(current: S) -> None:
    decision = decide(ModelRecord(current), _seen("Deployment", "Complete"))
    assert (decision.action, decision.status) == (SyncAction.REVERT_DRIFT, current)
    assert decision.drift is not None and "Deployment/Complete" in decision.drift
    allowed = decide(
        ModelRecord(S.APPROVED_FOR_DEPLOYMENT), _seen("Deployment", "Complete", approval="Approved")
    )
    assert (allowed.action, allowed.status, allowed.drift) == (SyncAction.APPLY, S.DEPLOYED, None)


@pytest.mark.parametrize(
    "current",
    [s for s in S if to_sagemaker(s).stage != "Archived"],  # archived: decommissioned whatever its approval
    ids=lambda s: s.value,
)
def test_an_approval_status_governance_did_not_set_is_drift(current: S) -> None:
    lifecycle = to_sagemaker(current)
    expected = approval_status_for(current)
    for approval in {"Approved", "Rejected", "PendingManualApproval"} - {expected}:
        decision = decide(
            ModelRecord(current), _seen(lifecycle.stage, lifecycle.stage_status, approval=approval)
        )
        assert (decision.action, decision.status) == (SyncAction.REVERT_DRIFT, current)
        assert decision.drift is not None
        assert f"ModelApprovalStatus {approval} (governance: {expected}" in decision.drift
    same = decide(ModelRecord(current), _seen(lifecycle.stage, lifecycle.stage_status, approval=expected))
    assert (same.action, same.drift) == (SyncAction.NOTHING, None)


def test_an_applied_sagemaker_move_still_reverts_a_wrong_approval() -> None:
    decision = decide(ModelRecord(S.UNDER_DEVELOPMENT), _seen("Development", "Complete", approval="Approved"))
    assert (decision.action, decision.status) == (SyncAction.APPLY, S.DEVELOPMENT_COMPLETE)
    assert decision.drift is not None and "ModelApprovalStatus Approved" in decision.drift
    unknown = decide(ModelRecord(S.AWAITING_APPROVAL), _seen("Staging", "Smoke", approval="Approved"))
    assert unknown.action is SyncAction.REPORT_UNKNOWN
    assert unknown.drift is not None and "ModelApprovalStatus Approved" in unknown.drift


def test_who_made_a_change_is_read_from_the_user_context() -> None:
    studio = {
        "UserProfileName": "alice",
        "DomainId": "d-1",
        "IamIdentity": {"Arn": "arn:aws:sts::123456789012:assumed-role/Studio/alice"},
    }
    assert identity(studio) == (
        "Studio user profile alice in domain d-1 (arn:aws:sts::123456789012:assumed-role/Studio/alice)"
    )
    assert identity({"IamIdentity": {"Arn": "arn:aws:iam::123456789012:user/bob"}}) == (
        "arn:aws:iam::123456789012:user/bob"
    )
    assert identity({}) is None and identity(None) is None
    seen = observe(
        {
            "ModelPackageArn": ARN,
            "LastModifiedTime": T0,
            "ModelApprovalStatus": "Approved",
            "CreatedBy": {"IamIdentity": {"Arn": "arn:aws:iam::123456789012:user/ci"}},
            "LastModifiedBy": studio,
        }
    )
    assert (seen.approval_status, seen.created_by) == ("Approved", "arn:aws:iam::123456789012:user/ci")
    assert seen.modified_by is not None and seen.modified_by.startswith("Studio user profile alice")
    assert cloudtrail_identity(
        {"arn": "arn:aws:sts::1:assumed-role/DS/carol", "sessionContext": {"sourceIdentity": "carol"}}
    ) == ("arn:aws:sts::1:assumed-role/DS/carol (source identity carol)")


def test_unknown_pair_changes_nothing_and_is_reported() -> None:
    decision = decide(ModelRecord(S.DEPLOYED), _seen("Deployment", "Exploded"))
    assert (decision.action, decision.status) == (SyncAction.REPORT_UNKNOWN, None)
    assert "Deployment/Exploded" in decision.reason


@pytest.mark.parametrize("seen", [_seen(None, None, deleted=True), _seen("Archived", "InProgress")])
def test_deleted_or_archived_is_decommissioned(seen: PackageObservation) -> None:
    decision = decide(ModelRecord(S.DEPLOYED), seen)
    assert (decision.action, decision.status) == (SyncAction.DECOMMISSION, S.DECOMMISSIONING)
    assert decide(ModelRecord(S.DECOMMISSIONED), seen).action is SyncAction.NOTHING
    assert decide(None, seen).action is SyncAction.NOTHING


def test_late_and_duplicate_observations_are_stale() -> None:
    model = ModelRecord(S.UNDER_DEVELOPMENT, sagemaker_last_modified=T0)
    assert decide(model, _seen("Development", "Complete", at=T0)).action is SyncAction.IGNORE_STALE
    assert (
        decide(model, _seen("Development", "Complete", at=T0 - timedelta(seconds=1))).action
        is SyncAction.IGNORE_STALE
    )
    assert (
        decide(model, _seen("Development", "Complete", at=T0 + timedelta(seconds=1))).action
        is SyncAction.APPLY
    )


def test_an_observation_read_before_governances_latest_move_is_no_drift() -> None:
    """The MLC records Pre Implementation Review, then writes SageMaker; a sync that read the package in
    between sees Development/Complete: not a change made in SageMaker (it was a false drift finding)."""
    moved = T0 + timedelta(seconds=5)
    model = ModelRecord(S.PRE_IMPLEMENTATION_REVIEW, sagemaker_last_modified=T0, status_changed_at=moved)
    before = decide(model, _seen("Development", "Complete", at=T0 + timedelta(seconds=2)))
    assert (before.action, before.status, before.drift) == (SyncAction.NOTHING, None, None)
    # A change made in SageMaker after governance's move is judged as ever.
    after = decide(model, _seen("Deployment", "Complete", at=moved + timedelta(seconds=1)))
    assert after.action is SyncAction.REVERT_DRIFT and after.drift


def test_the_same_status_again_is_nothing() -> None:
    decision = decide(ModelRecord(S.DEPLOYED), _seen("Deployment", "Complete"))
    assert (decision.action, decision.status) == (SyncAction.NOTHING, None)


# -- reading queue messages -------------------------------------------------------------------------------


def _state_change(**detail: object) -> str:
    return json.dumps(
        {
            "detail-type": "SageMaker Model Package State Change",
            "source": "aws.sagemaker",
            "time": "2026-11-22T09:00:00Z",
            "resources": [ARN],
            "detail": detail,
        }
    )


def _cloudtrail(name: str, user_identity: dict[str, str] | None = None, **request: object) -> str:
    return json.dumps(
        {
            "detail-type": "AWS API Call via CloudTrail",
            "time": "2026-11-22T09:05:00Z",
            "detail": {
                "eventSource": "sagemaker.amazonaws.com",
                "eventName": name,
                "requestParameters": request,
                **({"userIdentity": user_identity} if user_identity else {}),
            },
        }
    )


def test_a_state_change_names_its_package_and_says_when_it_is_deleted() -> None:
    event = parse_event(_state_change(ModelPackageArn=ARN, ModelPackageStatus="Completed"))
    assert event is not None and (event.package_arn, event.deleted, event.time) == (ARN, False, T0)
    gone = parse_event(_state_change(ModelPackageArn=ARN, ModelPackageStatus="Deleting"))
    assert gone is not None and gone.deleted
    assert parse_event(_state_change()) is not None, "the ARN is also in resources"


def test_cloudtrail_registry_calls_are_read_or_passed_over() -> None:
    deleted = parse_event(_cloudtrail("DeleteModelPackage", modelPackageName=ARN))
    assert deleted is not None and deleted.deleted and deleted.package_arn == ARN
    assert parse_event(_cloudtrail("CreateModelPackageGroup", modelPackageGroupName="g")) is None
    assert parse_event(_cloudtrail("DeleteModelPackageGroup", modelPackageGroupName="g")) is None
    assert parse_event(_cloudtrail("DeleteModelPackage", modelPackageName="unversioned")) is None
    updated = parse_event(
        _cloudtrail(
            "UpdateModelPackage",
            user_identity={"arn": "arn:aws:iam::123456789012:user/dana"},
            modelPackageArn=ARN,
            modelApprovalStatus="Approved",
        )
    )
    assert updated is not None and (updated.package_arn, updated.deleted) == (ARN, False)
    assert updated.actor == "arn:aws:iam::123456789012:user/dana"
    with pytest.raises(InvalidInputError, match=r"CreateEndpoint.*rule should match only"):
        parse_event(_cloudtrail("CreateEndpoint", endpointName="x"))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "not JSON"),
        (json.dumps({"detail-type": "EC2 Instance State-change Notification"}), "fix the EventBridge rule"),
        (json.dumps(["a list"]), r"a 'list', not a 'SageMaker Model Package State Change'"),
        (
            json.dumps({"detail-type": "SageMaker Model Package State Change", "detail": {}}),
            "no ModelPackageArn",
        ),
        (
            json.dumps(
                {
                    "detail-type": "SageMaker Model Package State Change",
                    "detail": {"ModelPackageArn": "arn:x"},
                }
            ),
            "arn:x",
        ),
    ],
)
def test_anything_else_is_refused_with_what_to_fix(body: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_event(body)


def test_run_ids_are_deterministic_per_version() -> None:
    assert mlc_run_id("retail", ARN) == "mlc__retail__g__v1"
    assert mlc_run_id("retail", ARN.replace("/1", "/2")) != mlc_run_id("retail", ARN)


def test_governance_links_fit_sagemaker_metadata_limits() -> None:
    keys = tuple(f"MLC-{n}" for n in range(1, 200))
    links = GovernanceLinks(
        7, 42, "Awaiting Approval", "ab" * 32, keys, "https://airflow.example.com/mg/models/42"
    )
    metadata = links.metadata()
    assert all(len(v) <= 256 for v in metadata.values())
    assert metadata["governance:jira"].endswith("MLC-199"), "the newest tickets are kept"
    assert metadata["governance:model_id"] == "42" and metadata["governance:use_case_id"] == "7"
    assert links.card_details()["status"] == "Awaiting Approval"
    assert "governance:snapshot" not in GovernanceLinks(7, 42, "Proposed", None, (), None).metadata()
