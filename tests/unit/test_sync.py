"""The lifecycle sync's decision rules, one per row of the issue: onboard, apply, drift, unknown,
decommission, stale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from model_governance.lifecycle import GovernanceStatus as S
from model_governance.sync import ModelRecord, PackageObservation, SyncAction, decide

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
