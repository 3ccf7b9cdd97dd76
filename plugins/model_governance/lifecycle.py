"""Governance statuses, their SageMaker ``ModelLifeCycle`` mapping, sync directions and allowed transitions.

The mapping is the fixed table ``shared/reference/lifecycle-mapping.csv`` (from the watsonx.governance /
SageMaker integration in ``reference/seeds/watsonx-governance-sagemaker-status-mapping.txt``): each
governance status has exactly one SageMaker (Stage, StageStatus) pair and a direction saying which side
may originate it. The transition graph below is ours: it strings the table's statuses along the ModelOp
SageMaker implementation MLC (``reference/seeds/modelop-sagemaker-model-implementation-mlc.txt``) plus the
hold/resume, change, reject and decommission paths the table's statuses imply.

```mermaid
stateDiagram-v2
    [*] --> Proposed
    Proposed --> ModelDefinition
    Proposed --> UnderDevelopment
    Proposed --> OnHoldProposal
    OnHoldProposal --> Proposed: resume
    ModelDefinition --> UnderDevelopment
    ModelDefinition --> DataAcquisition
    UnderDevelopment --> DataAcquisition
    DataAcquisition --> DataAcquisitionComplete
    DataAcquisitionComplete --> FeatureEngineering
    UnderDevelopment --> FeatureEngineering
    FeatureEngineering --> FeatureEngineeringComplete
    FeatureEngineeringComplete --> UnderDevelopment
    UnderDevelopment --> DevelopmentComplete
    DataAcquisitionComplete --> DevelopmentComplete
    FeatureEngineeringComplete --> DevelopmentComplete
    DevelopmentComplete --> UnderDevelopment: rework
    state "development phase (any of the above from Model Definition on)" as Dev
    Dev --> OnHoldDevelopment
    OnHoldDevelopment --> Dev: resume (back to where it was)
    state "an MLC gate waiting (Pre Implementation Review, Validation Complete, Awaiting Approval)" as Gate
    Gate --> OnHoldDevelopment: hold (the gate's wait stays parked)
    OnHoldDevelopment --> Gate: resume (back to where it was)
    Dev --> PreImplementationReview: MLC step 2 (PIA)
    PreImplementationReview --> ValidationComplete: steps 3-5 (snapshot, risk tests, review document)
    ValidationComplete --> AwaitingApproval: step 6 (production approval ticket)
    AwaitingApproval --> ApprovedForDeployment: ticket Done
    ApprovedForDeployment --> Deployed: step 7 (marked as deployed) or SageMaker reports it
    PreImplementationReview --> Rejected
    ValidationComplete --> Rejected
    AwaitingApproval --> Rejected
    ApprovedForDeployment --> Rejected
    Rejected --> ModelChangeInProgress
    Deployed --> ModelChangeInProgress
    ApprovedForDeployment --> ModelChangeInProgress
    PreImplementationReview --> ModelChangeInProgress
    ModelChangeInProgress --> UnderDevelopment
    ModelChangeInProgress --> DevelopmentComplete
    ModelChangeInProgress --> PreImplementationReview
    note right of Decommissioning: reachable from every status but Decommissioned
    Decommissioning --> Decommissioned
    Decommissioned --> [*]
```

A model's first status (onboarding a version found in SageMaker) is not reached by a transition. It is
taken from the package's lifecycle only where the table lets SageMaker originate it with no status before it
(the ``bidirectional`` rows: Under Development, Development Complete); Deployed comes from SageMaker only
after Approved for Deployment, so never at onboarding. A version registered at any other stage is onboarded
at ``ONBOARDING_DEFAULT`` (its implementation run starts normally) and the attempt is drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple

from model_governance.exceptions import IllegalTransitionError, UnknownStatusError


class GovernanceStatus(StrEnum):
    """A model's governance status; the values are the table's ``governance_status`` column verbatim."""

    PROPOSED = "Proposed"
    MODEL_DEFINITION = "Model Definition"
    UNDER_DEVELOPMENT = "Under Development"
    DATA_ACQUISITION = "Data Acquisition"
    DATA_ACQUISITION_COMPLETE = "Data Acquisition Complete"
    FEATURE_ENGINEERING = "Feature Engineering"
    FEATURE_ENGINEERING_COMPLETE = "Feature Engineering Complete"
    DEVELOPMENT_COMPLETE = "Development Complete"
    PRE_IMPLEMENTATION_REVIEW = "Pre Implementation Review"
    VALIDATION_COMPLETE = "Validation Complete"
    AWAITING_APPROVAL = "Awaiting Approval"
    APPROVED_FOR_DEPLOYMENT = "Approved for Deployment"
    DEPLOYED = "Deployed"
    MODEL_CHANGE_IN_PROGRESS = "Model Change in Progress"
    REJECTED = "Rejected"
    ON_HOLD_PROPOSAL = "On Hold - Proposal"
    ON_HOLD_DEVELOPMENT = "On Hold - Development"
    DECOMMISSIONING = "Decommissioning"
    DECOMMISSIONED = "Decommissioned"


class Direction(StrEnum):
    """Which side may originate a status: the table's ``direction`` column."""

    GOVERNANCE_TO_SAGEMAKER = "governance->sagemaker"
    SAGEMAKER_TO_GOVERNANCE = "sagemaker->governance"
    BIDIRECTIONAL = "bidirectional"


class SageMakerLifecycle(NamedTuple):
    """A SageMaker ``ModelLifeCycle`` (Stage, StageStatus) pair."""

    stage: str
    stage_status: str


class _Mapping(NamedTuple):
    lifecycle: SageMakerLifecycle
    direction: Direction


S = GovernanceStatus
_G2S, _S2G, _BOTH = (
    Direction.GOVERNANCE_TO_SAGEMAKER,
    Direction.SAGEMAKER_TO_GOVERNANCE,
    Direction.BIDIRECTIONAL,
)

_TABLE: Mapping[GovernanceStatus, _Mapping] = MappingProxyType(
    {
        S.PROPOSED: _Mapping(SageMakerLifecycle("Proposal", "Approved"), _G2S),
        S.MODEL_DEFINITION: _Mapping(SageMakerLifecycle("Development", "Review"), _G2S),
        S.UNDER_DEVELOPMENT: _Mapping(SageMakerLifecycle("Development", "InProgress"), _BOTH),
        S.DATA_ACQUISITION: _Mapping(SageMakerLifecycle("DataPrep-DataCollection", "InProgress"), _G2S),
        S.DATA_ACQUISITION_COMPLETE: _Mapping(
            SageMakerLifecycle("DataPrep-DataCollection", "Complete"), _G2S
        ),
        S.FEATURE_ENGINEERING: _Mapping(
            SageMakerLifecycle("DataPrep-FeatureEngineering", "InProgress"), _G2S
        ),
        S.FEATURE_ENGINEERING_COMPLETE: _Mapping(
            SageMakerLifecycle("DataPrep-FeatureEngineering", "Complete"), _G2S
        ),
        S.DEVELOPMENT_COMPLETE: _Mapping(SageMakerLifecycle("Development", "Complete"), _BOTH),
        S.PRE_IMPLEMENTATION_REVIEW: _Mapping(SageMakerLifecycle("Testing", "Review"), _G2S),
        S.VALIDATION_COMPLETE: _Mapping(SageMakerLifecycle("QA-Validation", "Complete"), _G2S),
        S.AWAITING_APPROVAL: _Mapping(SageMakerLifecycle("Deployment", "PendingApproval"), _G2S),
        S.APPROVED_FOR_DEPLOYMENT: _Mapping(SageMakerLifecycle("Deployment", "Approved"), _G2S),
        S.DEPLOYED: _Mapping(SageMakerLifecycle("Deployment", "Complete"), _S2G),
        S.MODEL_CHANGE_IN_PROGRESS: _Mapping(SageMakerLifecycle("BackinDevelopment", "InProgress"), _G2S),
        S.REJECTED: _Mapping(SageMakerLifecycle("QA-Validation", "Rejected"), _G2S),
        S.ON_HOLD_PROPOSAL: _Mapping(SageMakerLifecycle("Proposal", "OnHold"), _G2S),
        S.ON_HOLD_DEVELOPMENT: _Mapping(SageMakerLifecycle("Development", "OnHold"), _G2S),
        S.DECOMMISSIONING: _Mapping(SageMakerLifecycle("Archived", "InProgress"), _G2S),
        S.DECOMMISSIONED: _Mapping(SageMakerLifecycle("Archived", "Complete"), _G2S),
    }
)

_BY_LIFECYCLE: Mapping[SageMakerLifecycle, GovernanceStatus] = MappingProxyType(
    {row.lifecycle: status for status, row in _TABLE.items()}
)

#: Statuses of a model still being built; a hold from any of them resumes to any of them.
DEVELOPMENT_PHASE: frozenset[GovernanceStatus] = frozenset(
    {
        S.MODEL_DEFINITION,
        S.UNDER_DEVELOPMENT,
        S.DATA_ACQUISITION,
        S.DATA_ACQUISITION_COMPLETE,
        S.FEATURE_ENGINEERING,
        S.FEATURE_ENGINEERING_COMPLETE,
        S.DEVELOPMENT_COMPLETE,
        S.MODEL_CHANGE_IN_PROGRESS,
    }
)

#: Statuses of the implementation MLC in which a run waits on a Jira gate (PIA and test results review at
#: Pre Implementation Review, production approval at Validation Complete / Awaiting Approval): a hold
#: (actions "hold"/"resume", services/actions.py) parks the wait and resumes to the same status.
MLC_GATE_PHASE: frozenset[GovernanceStatus] = frozenset(
    {S.PRE_IMPLEMENTATION_REVIEW, S.VALIDATION_COMPLETE, S.AWAITING_APPROVAL}
)
#: The two hold statuses of the table.
ON_HOLD: frozenset[GovernanceStatus] = frozenset({S.ON_HOLD_PROPOSAL, S.ON_HOLD_DEVELOPMENT})

#: Statuses from which a model enters the implementation MLC (PIA approval, step 2).
_READY_FOR_REVIEW = DEVELOPMENT_PHASE - {S.DATA_ACQUISITION, S.FEATURE_ENGINEERING}

_TRANSITIONS: dict[GovernanceStatus, set[GovernanceStatus]] = {
    S.PROPOSED: {S.MODEL_DEFINITION, S.UNDER_DEVELOPMENT, S.ON_HOLD_PROPOSAL, S.REJECTED},
    S.ON_HOLD_PROPOSAL: {S.PROPOSED, S.REJECTED},
    S.MODEL_DEFINITION: {S.UNDER_DEVELOPMENT, S.DATA_ACQUISITION},
    S.UNDER_DEVELOPMENT: {S.DATA_ACQUISITION, S.FEATURE_ENGINEERING, S.DEVELOPMENT_COMPLETE},
    S.DATA_ACQUISITION: {S.DATA_ACQUISITION_COMPLETE},
    S.DATA_ACQUISITION_COMPLETE: {S.FEATURE_ENGINEERING, S.UNDER_DEVELOPMENT, S.DEVELOPMENT_COMPLETE},
    S.FEATURE_ENGINEERING: {S.FEATURE_ENGINEERING_COMPLETE},
    S.FEATURE_ENGINEERING_COMPLETE: {S.UNDER_DEVELOPMENT, S.DEVELOPMENT_COMPLETE},
    S.DEVELOPMENT_COMPLETE: {S.UNDER_DEVELOPMENT},
    S.MODEL_CHANGE_IN_PROGRESS: {S.UNDER_DEVELOPMENT, S.DEVELOPMENT_COMPLETE},
    S.ON_HOLD_DEVELOPMENT: set(DEVELOPMENT_PHASE | MLC_GATE_PHASE),
    S.PRE_IMPLEMENTATION_REVIEW: {S.VALIDATION_COMPLETE, S.REJECTED, S.MODEL_CHANGE_IN_PROGRESS},
    S.VALIDATION_COMPLETE: {S.AWAITING_APPROVAL, S.REJECTED},
    S.AWAITING_APPROVAL: {S.APPROVED_FOR_DEPLOYMENT, S.REJECTED},
    S.APPROVED_FOR_DEPLOYMENT: {S.DEPLOYED, S.REJECTED, S.MODEL_CHANGE_IN_PROGRESS},
    S.DEPLOYED: {S.MODEL_CHANGE_IN_PROGRESS},
    S.REJECTED: {S.MODEL_CHANGE_IN_PROGRESS},
    S.DECOMMISSIONING: {S.DECOMMISSIONED},
    S.DECOMMISSIONED: set(),
}
for _status in DEVELOPMENT_PHASE | MLC_GATE_PHASE:
    _TRANSITIONS[_status].add(S.ON_HOLD_DEVELOPMENT)
for _status in _READY_FOR_REVIEW:
    _TRANSITIONS[_status].add(S.PRE_IMPLEMENTATION_REVIEW)
for _status in S:
    # A model deleted or archived in SageMaker is decommissioned whatever its status.
    if _status not in (S.DECOMMISSIONING, S.DECOMMISSIONED):
        _TRANSITIONS[_status].add(S.DECOMMISSIONING)

#: The allowed status changes, as data: ``ALLOWED_TRANSITIONS[from]`` is the set of statuses it may move to.
ALLOWED_TRANSITIONS: Mapping[GovernanceStatus, frozenset[GovernanceStatus]] = MappingProxyType(
    {status: frozenset(targets) for status, targets in _TRANSITIONS.items()}
)
del _TRANSITIONS


def parse_status(value: str | GovernanceStatus) -> GovernanceStatus:
    """Return the ``GovernanceStatus`` named by ``value`` (its exact table spelling), or raise."""
    if isinstance(value, GovernanceStatus):
        return value
    try:
        return GovernanceStatus(value)
    except ValueError:
        known = ", ".join(repr(s.value) for s in GovernanceStatus)
        raise UnknownStatusError(
            f"Unknown governance status {value!r}: use one of the mapping table's statuses ({known})."
        ) from None


def to_sagemaker(status: str | GovernanceStatus) -> SageMakerLifecycle:
    """The SageMaker (Stage, StageStatus) that represents ``status``."""
    return _TABLE[parse_status(status)].lifecycle


def from_sagemaker(stage: str, stage_status: str) -> GovernanceStatus | None:
    """The governance status for a SageMaker (Stage, StageStatus) pair, or None if the table lacks it.

    SageMaker stage names are case-sensitive free-form strings, so the match is exact.
    """
    return _BY_LIFECYCLE.get(SageMakerLifecycle(stage, stage_status))


def direction(status: str | GovernanceStatus) -> Direction:
    """Which side may originate ``status``."""
    return _TABLE[parse_status(status)].direction


def may_come_from_sagemaker(status: str | GovernanceStatus) -> bool:
    """True when a SageMaker-side change to this status is applied rather than treated as drift."""
    return direction(status) in (Direction.SAGEMAKER_TO_GOVERNANCE, Direction.BIDIRECTIONAL)


def may_go_to_sagemaker(status: str | GovernanceStatus) -> bool:
    """True when governance writes this status to the package's ``ModelLifeCycle``."""
    return direction(status) in (Direction.GOVERNANCE_TO_SAGEMAKER, Direction.BIDIRECTIONAL)


#: Statuses a new version may be onboarded at straight from its SageMaker lifecycle (see the docstring).
ONBOARDING_FROM_SAGEMAKER: frozenset[GovernanceStatus] = frozenset(
    status for status, row in _TABLE.items() if row.direction is Direction.BIDIRECTIONAL
)
#: Where a version registered without a usable lifecycle, or at a governance-owned stage, starts.
ONBOARDING_DEFAULT = S.DEVELOPMENT_COMPLETE


def onboarding_status(observed: GovernanceStatus | None) -> GovernanceStatus:
    """The first governance status of a new version whose lifecycle maps to ``observed`` (None: none)."""
    return observed if observed in ONBOARDING_FROM_SAGEMAKER else ONBOARDING_DEFAULT


def can_transition(from_status: str | GovernanceStatus, to_status: str | GovernanceStatus) -> bool:
    """True when the life cycle allows a model to move from ``from_status`` to ``to_status``."""
    return parse_status(to_status) in ALLOWED_TRANSITIONS[parse_status(from_status)]


def check_transition(from_status: str | GovernanceStatus, to_status: str | GovernanceStatus) -> None:
    """Raise ``IllegalTransitionError`` naming both statuses and the allowed targets when not allowed."""
    source, target = parse_status(from_status), parse_status(to_status)
    if target not in ALLOWED_TRANSITIONS[source]:
        allowed = ", ".join(sorted(repr(s.value) for s in ALLOWED_TRANSITIONS[source])) or "none (final)"
        raise IllegalTransitionError(
            f"A model in status {source.value!r} cannot move to {target.value!r}; allowed next statuses: "
            f"{allowed}."
        )


def approval_status_for(status: str | GovernanceStatus) -> str:
    """The SageMaker ``ModelApprovalStatus`` that goes with a governance status (governance owns it).

    Only an approved (or deployed) model is ``Approved`` in the registry, so SageMaker CI/CD pipelines that
    deploy on approval cannot run ahead of governance; a rejected model is ``Rejected``; every other status
    is ``PendingManualApproval`` (the manual approval seed's registration value). Any other value seen in
    SageMaker was not set by governance and is reverted by the lifecycle sync.
    """
    target = parse_status(status)
    if target in (S.APPROVED_FOR_DEPLOYMENT, S.DEPLOYED):
        return "Approved"
    if target is S.REJECTED:
        return "Rejected"
    return "PendingManualApproval"
