"""The lifecycle sync's decision rules, one per row of the issue: onboard, apply, drift, unknown,
decommission, stale."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from model_governance.exceptions import InvalidInputError
from model_governance.lifecycle import GovernanceStatus as S
from model_governance.sync import (
    GovernanceLinks,
    ModelRecord,
    PackageObservation,
    SyncAction,
    decide,
    mlc_run_id,
    parse_event,
)

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1"
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def _seen(
    stage: str | None, status: str | None, *, at: datetime = T0, deleted: bool = False
) -> PackageObservation:
    return PackageObservation(ARN, stage, status, at, deleted=deleted)


@pytest.mark.parametrize(
    ("stage", "status", "expected"),
    [
        ("Development", "InProgress", S.UNDER_DEVELOPMENT),
        ("Deployment", "Complete", S.DEPLOYED),
        (None, None, S.DEVELOPMENT_COMPLETE),
        ("Sandbox", "Whatever", S.DEVELOPMENT_COMPLETE),
    ],
)
def test_a_new_version_is_onboarded_from_its_lifecycle(
    stage: str | None, status: str | None, expected: S
) -> None:
    decision = decide(None, _seen(stage, status))
    assert (decision.action, decision.status) == (SyncAction.ONBOARD, expected)


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


def _cloudtrail(name: str, **request: object) -> str:
    return json.dumps(
        {
            "detail-type": "AWS API Call via CloudTrail",
            "time": "2026-11-22T09:05:00Z",
            "detail": {
                "eventSource": "sagemaker.amazonaws.com",
                "eventName": name,
                "requestParameters": request,
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
