"""What the lifecycle sync does with one SageMaker-side observation of a model package (pure, no I/O).

The sync DAG (issue 8) feeds this with what an EventBridge event or a reconcile ``Search`` says about a
package, and with what the inventory holds about its model; it answers with one decision. The rules come
from the mapping table's directions:

- a package deleted, or moved to the ``Archived`` stage, is decommissioned;
- a version not yet in the inventory is onboarded, its status taken from its lifecycle by the table;
- an observation older than the last one applied is stale (events arrive late, twice, out of order);
- a (Stage, StageStatus) pair the table does not know changes nothing and is reported;
- a status SageMaker may originate (``bidirectional``, ``sagemaker->governance``) is applied when the life
  cycle allows the move;
- anything else is drift: governance's status is written back to SageMaker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from model_governance.lifecycle import (
    GovernanceStatus,
    can_transition,
    from_sagemaker,
    may_come_from_sagemaker,
    to_sagemaker,
)

#: The SageMaker stage that means "taken out of use" whatever its stage status.
ARCHIVED_STAGE = "Archived"
#: A version registered without a lifecycle (or with one the table lacks) is ready for governance.
ONBOARDING_DEFAULT = GovernanceStatus.DEVELOPMENT_COMPLETE


class SyncAction(StrEnum):
    NOTHING = "nothing"
    ONBOARD = "onboard"
    APPLY = "apply"
    REVERT_DRIFT = "revert_drift"
    REPORT_UNKNOWN = "report_unknown"
    DECOMMISSION = "decommission"
    IGNORE_STALE = "ignore_stale"


@dataclass(frozen=True)
class PackageObservation:
    """What SageMaker said about a package at ``last_modified`` (or that it is gone)."""

    package_arn: str
    stage: str | None
    stage_status: str | None
    last_modified: datetime
    deleted: bool = False


@dataclass(frozen=True)
class ModelRecord:
    """What the inventory holds: the model's status and the newest SageMaker change already applied."""

    status: GovernanceStatus
    sagemaker_last_modified: datetime | None = None


@dataclass(frozen=True)
class SyncDecision:
    action: SyncAction
    #: The governance status to record (apply, onboard) or to write back to SageMaker (drift).
    status: GovernanceStatus | None
    reason: str


def decide(model: ModelRecord | None, seen: PackageObservation) -> SyncDecision:
    """The one thing to do about ``seen``, given the inventory's ``model`` (None: not onboarded)."""
    pair = f"{seen.stage}/{seen.stage_status}"
    if seen.deleted or seen.stage == ARCHIVED_STAGE:
        why = "deleted in SageMaker" if seen.deleted else f"archived in SageMaker ({pair})"
        if model is None or model.status is GovernanceStatus.DECOMMISSIONED:
            return SyncDecision(SyncAction.NOTHING, None, f"{why}; nothing governed to decommission")
        return SyncDecision(SyncAction.DECOMMISSION, GovernanceStatus.DECOMMISSIONING, why)
    observed = from_sagemaker(seen.stage or "", seen.stage_status or "")
    if model is None:
        status = observed or ONBOARDING_DEFAULT
        return SyncDecision(SyncAction.ONBOARD, status, f"new version with lifecycle {pair}")
    if model.sagemaker_last_modified is not None and seen.last_modified <= model.sagemaker_last_modified:
        return SyncDecision(
            SyncAction.IGNORE_STALE,
            None,
            f"observation of {seen.last_modified.isoformat()} is not newer than the last applied "
            f"({model.sagemaker_last_modified.isoformat()})",
        )
    if observed is None:
        return SyncDecision(SyncAction.REPORT_UNKNOWN, None, f"lifecycle {pair} is not in the mapping table")
    if observed is model.status:
        return SyncDecision(SyncAction.NOTHING, None, f"already {model.status.value}")
    if may_come_from_sagemaker(observed) and can_transition(model.status, observed):
        return SyncDecision(SyncAction.APPLY, observed, f"SageMaker moved it to {pair}")
    expected = to_sagemaker(model.status)
    return SyncDecision(
        SyncAction.REVERT_DRIFT,
        model.status,
        f"SageMaker shows {pair} but governance holds {model.status.value} "
        f"({expected.stage}/{expected.stage_status}); {observed.value} cannot come from SageMaker here",
    )
