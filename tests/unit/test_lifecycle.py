from __future__ import annotations

import csv
import itertools
from pathlib import Path

import pytest

from model_governance import lifecycle
from model_governance.exceptions import IllegalTransitionError, UnknownStatusError
from model_governance.lifecycle import (
    ALLOWED_TRANSITIONS,
    Direction,
    GovernanceStatus,
    can_transition,
    check_transition,
    direction,
    from_sagemaker,
    to_sagemaker,
)

TABLE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "lifecycle-mapping.csv"
# Inside a clone the table may sit beside the repo (shared/) or not at all; a copy lives in the tests.
LOCAL_COPY = Path(__file__).resolve().parent / "data" / "lifecycle-mapping.csv"


def _rows() -> list[dict[str, str]]:
    source = TABLE if TABLE.is_file() else LOCAL_COPY
    with source.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


ROWS = _rows()


def test_local_copy_matches_shared_table() -> None:
    if not TABLE.is_file():
        pytest.skip(f"{TABLE} is not beside this checkout; the copy in tests/unit/data is used alone")
    assert LOCAL_COPY.read_text(encoding="utf-8") == TABLE.read_text(encoding="utf-8")


def test_statuses_are_exactly_the_tables() -> None:
    assert len(ROWS) == 19
    assert [status.value for status in GovernanceStatus] == [row["governance_status"] for row in ROWS]


@pytest.mark.parametrize("row", ROWS, ids=[row["governance_status"] for row in ROWS])
def test_every_row(row: dict[str, str]) -> None:
    status = GovernanceStatus(row["governance_status"])
    stage, stage_status = row["sagemaker_stage"], row["sagemaker_stage_status"]
    assert to_sagemaker(status) == (stage, stage_status)
    assert to_sagemaker(row["governance_status"]) == (stage, stage_status)
    assert from_sagemaker(stage, stage_status) is status
    assert direction(status) is Direction(row["direction"])
    assert direction(status).value == row["direction"]


def test_direction_values() -> None:
    assert {d.value for d in Direction} == {"governance->sagemaker", "sagemaker->governance", "bidirectional"}


def test_from_sagemaker_unknown_pair_is_none() -> None:
    assert from_sagemaker("Deployment", "Exploded") is None
    assert from_sagemaker("deployment", "complete") is None  # stage names are case-sensitive
    assert from_sagemaker("", "") is None


def test_stage_names_fit_sagemakers_pattern() -> None:
    import re

    pattern = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
    for status in GovernanceStatus:
        stage, stage_status = to_sagemaker(status)
        assert pattern.match(stage) and pattern.match(stage_status), status


def test_unknown_status_is_named() -> None:
    with pytest.raises(UnknownStatusError, match="'Shipped'"):
        to_sagemaker("Shipped")
    with pytest.raises(UnknownStatusError, match="approved for deployment"):
        direction("approved for deployment")


def test_sagemaker_directions() -> None:
    assert lifecycle.may_come_from_sagemaker(GovernanceStatus.DEPLOYED)
    assert lifecycle.may_come_from_sagemaker(GovernanceStatus.UNDER_DEVELOPMENT)
    assert not lifecycle.may_come_from_sagemaker(GovernanceStatus.APPROVED_FOR_DEPLOYMENT)
    assert not lifecycle.may_go_to_sagemaker(GovernanceStatus.DEPLOYED)
    assert lifecycle.may_go_to_sagemaker(GovernanceStatus.DEVELOPMENT_COMPLETE)


S = GovernanceStatus
MLC_HAPPY_PATH = [
    S.DEVELOPMENT_COMPLETE,
    S.PRE_IMPLEMENTATION_REVIEW,
    S.VALIDATION_COMPLETE,
    S.AWAITING_APPROVAL,
    S.APPROVED_FOR_DEPLOYMENT,
    S.DEPLOYED,
]


def test_mlc_happy_path_is_allowed() -> None:
    for source, target in itertools.pairwise(MLC_HAPPY_PATH):
        assert can_transition(source, target), (source, target)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (S.PROPOSED, S.ON_HOLD_PROPOSAL),
        (S.ON_HOLD_PROPOSAL, S.PROPOSED),
        (S.UNDER_DEVELOPMENT, S.ON_HOLD_DEVELOPMENT),
        (S.ON_HOLD_DEVELOPMENT, S.UNDER_DEVELOPMENT),
        (S.DEPLOYED, S.MODEL_CHANGE_IN_PROGRESS),
        (S.MODEL_CHANGE_IN_PROGRESS, S.PRE_IMPLEMENTATION_REVIEW),
        (S.PRE_IMPLEMENTATION_REVIEW, S.REJECTED),
        (S.AWAITING_APPROVAL, S.REJECTED),
        (S.REJECTED, S.MODEL_CHANGE_IN_PROGRESS),
        (S.DEPLOYED, S.DECOMMISSIONING),
        (S.ON_HOLD_PROPOSAL, S.DECOMMISSIONING),
        (S.DECOMMISSIONING, S.DECOMMISSIONED),
    ],
)
def test_hold_change_reject_decommission_paths(source: GovernanceStatus, target: GovernanceStatus) -> None:
    assert can_transition(source, target)


@pytest.mark.parametrize("gate", [S.PRE_IMPLEMENTATION_REVIEW, S.VALIDATION_COMPLETE, S.AWAITING_APPROVAL])
def test_a_model_waiting_on_an_mlc_gate_can_be_held_and_resumed_to_the_same_status(
    gate: GovernanceStatus,
) -> None:
    assert gate in lifecycle.MLC_GATE_PHASE
    assert can_transition(gate, S.ON_HOLD_DEVELOPMENT)
    assert can_transition(S.ON_HOLD_DEVELOPMENT, gate)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (S.APPROVED_FOR_DEPLOYMENT, S.ON_HOLD_DEVELOPMENT),  # approved: change or decommission instead
        (S.DEPLOYED, S.ON_HOLD_DEVELOPMENT),
        (S.ON_HOLD_DEVELOPMENT, S.APPROVED_FOR_DEPLOYMENT),  # a resume never skips a gate
        (S.ON_HOLD_DEVELOPMENT, S.DEPLOYED),
        (S.ON_HOLD_PROPOSAL, S.PRE_IMPLEMENTATION_REVIEW),
    ],
)
def test_holds_do_not_open_a_way_around_the_gates(source: GovernanceStatus, target: GovernanceStatus) -> None:
    assert not can_transition(source, target)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (S.DEVELOPMENT_COMPLETE, S.DEPLOYED),  # skipping every review
        (S.PRE_IMPLEMENTATION_REVIEW, S.APPROVED_FOR_DEPLOYMENT),
        (S.REJECTED, S.DEPLOYED),
        (S.DECOMMISSIONED, S.UNDER_DEVELOPMENT),
        (S.DECOMMISSIONED, S.DECOMMISSIONING),
        (S.DEPLOYED, S.DEPLOYED),
        (S.ON_HOLD_PROPOSAL, S.UNDER_DEVELOPMENT),
    ],
)
def test_illegal_transitions(source: GovernanceStatus, target: GovernanceStatus) -> None:
    assert not can_transition(source, target)
    with pytest.raises(IllegalTransitionError) as raised:
        check_transition(source, target)
    assert source.value in str(raised.value) and target.value in str(raised.value)


def test_graph_is_complete_and_every_status_reachable() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(GovernanceStatus)
    assert ALLOWED_TRANSITIONS[S.DECOMMISSIONED] == frozenset()
    reached = {S.PROPOSED}
    frontier = [S.PROPOSED]
    while frontier:
        for target in ALLOWED_TRANSITIONS[frontier.pop()]:
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(GovernanceStatus)
    # every non-final status can still end in Decommissioned
    for status in GovernanceStatus:
        if status is not S.DECOMMISSIONED:
            assert S.DECOMMISSIONING in ALLOWED_TRANSITIONS[status] or status is S.DECOMMISSIONING


def test_approval_status_for() -> None:
    assert lifecycle.approval_status_for(S.APPROVED_FOR_DEPLOYMENT) == "Approved"
    assert lifecycle.approval_status_for(S.DEPLOYED) == "Approved"
    assert lifecycle.approval_status_for(S.REJECTED) == "Rejected"
    assert lifecycle.approval_status_for(S.AWAITING_APPROVAL) == "PendingManualApproval"


def test_approval_status_matches_the_mapping_table_for_every_status() -> None:
    # Approved only once production approval was granted (the Deployment/Approved row and what follows it).
    approved = {s for s in S if lifecycle.approval_status_for(s) == "Approved"}
    assert approved == {S.APPROVED_FOR_DEPLOYMENT, S.DEPLOYED}
    assert {s for s in S if lifecycle.approval_status_for(s) == "Rejected"} == {S.REJECTED}


def test_onboarding_takes_only_what_sagemaker_may_originate_with_no_status_before() -> None:
    assert {S.UNDER_DEVELOPMENT, S.DEVELOPMENT_COMPLETE} == lifecycle.ONBOARDING_FROM_SAGEMAKER
    assert lifecycle.ONBOARDING_DEFAULT is S.DEVELOPMENT_COMPLETE
    assert lifecycle.onboarding_status(S.UNDER_DEVELOPMENT) is S.UNDER_DEVELOPMENT
    assert lifecycle.onboarding_status(None) is S.DEVELOPMENT_COMPLETE
    for status in set(S) - lifecycle.ONBOARDING_FROM_SAGEMAKER:
        assert lifecycle.onboarding_status(status) is S.DEVELOPMENT_COMPLETE, status
    # Deployed may come from SageMaker, but only after Approved for Deployment: never at onboarding.
    assert lifecycle.may_come_from_sagemaker(S.DEPLOYED)
    assert lifecycle.onboarding_status(S.DEPLOYED) is S.DEVELOPMENT_COMPLETE


def test_lifecycle_imports_nothing_from_airflow() -> None:
    import subprocess
    import sys

    code = (
        "import sys, model_governance.lifecycle, model_governance.inventory, model_governance.exceptions; "
        "print(sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
