"""The lifecycle sync's rules through the real hook against the AWS sandbox: onboarding, SageMaker-side
changes applied, drift reverted, unknown pairs reported, delete and archive decommissioned, write-back."""

from __future__ import annotations

import json

import pytest

from model_governance.inventory import EventSource, Inventory, SyncIssueKind
from model_governance.lifecycle import GovernanceStatus as S
from model_governance.lifecycle import to_sagemaker
from model_governance.sync import SyncAction, mlc_run_id
from tests.integration.sync.conftest import Registry

pytestmark = pytest.mark.integration

PATH_TO_APPROVED = (
    S.PRE_IMPLEMENTATION_REVIEW,
    S.VALIDATION_COMPLETE,
    S.AWAITING_APPROVAL,
    S.APPROVED_FOR_DEPLOYMENT,
)


def _governance_moves(inventory: Inventory, arn: str, *statuses: S) -> None:
    for status in statuses:
        inventory.transition(arn, status, source=EventSource.GOVERNANCE, actor="test", reason="MLC step")


def test_onboarding_takes_the_lifecycle_and_chooses_one_implementation_run(registry: Registry) -> None:
    ready = registry.register(S.DEVELOPMENT_COMPLETE)
    bare = registry.register()  # no lifecycle: ready for governance by default
    developing = registry.register(S.UNDER_DEVELOPMENT)
    report = registry.sync().reconcile()
    assert report.mode == "full"  # no watermark yet: the first reconcile looks at everything
    inventory = registry.inventory
    assert inventory.get_model(ready).status == S.DEVELOPMENT_COMPLETE.value
    assert inventory.get_model(bare).status == S.DEVELOPMENT_COMPLETE.value
    assert inventory.get_model(developing).status == S.UNDER_DEVELOPMENT.value
    history = inventory.status_history(ready)
    assert [(e.to_status, e.source) for e in history] == [("Development Complete", "sagemaker")]
    pending = {m.package_arn: m.mlc_run_id for m in inventory.pending_mlc_runs(registry.entity)}
    assert pending == {
        ready: mlc_run_id(registry.entity, ready),
        bare: mlc_run_id(registry.entity, bare),
    }, "only versions that are Development Complete start the MLC"
    assert mlc_run_id(registry.entity, ready).startswith(f"mlc__{registry.entity}__{registry.group}__v")

    again = registry.sync().reconcile()
    assert again.mode == "incremental"
    assert again.actions.get(SyncAction.ONBOARD.value, 0) == 0
    assert {m.mlc_run_id for m in inventory.pending_mlc_runs(registry.entity)} == set(pending.values())

    # the data scientist finishes development in SageMaker: applied, and now the MLC can start
    registry.set_lifecycle(developing, "Development", "Complete")
    registry.sync().reconcile()
    model = inventory.get_model(developing)
    assert model.status == S.DEVELOPMENT_COMPLETE.value and model.mlc_run_id is not None
    last = inventory.status_history(developing)[-1]
    assert (last.from_status, last.to_status, last.source) == (
        "Under Development",
        "Development Complete",
        "sagemaker",
    )
    assert inventory.verify_audit_trail(developing).ok


def test_versions_of_groups_not_linked_to_a_use_case_are_left_alone(registry: Registry) -> None:
    other = f"{registry.group}-unlinked"
    registry.sagemaker.create_model_package_group(ModelPackageGroupName=other)
    stranger = registry.register(S.DEVELOPMENT_COMPLETE, group=other)
    registry.sync().reconcile()
    with pytest.raises(Exception, match="not in the inventory"):
        registry.inventory.get_model(stranger)


def test_sagemaker_side_statuses_are_applied_back_into_development_and_to_deployed(
    registry: Registry,
) -> None:
    arn = registry.register(S.DEVELOPMENT_COMPLETE)
    registry.sync().reconcile()
    registry.set_lifecycle(arn, "Development", "InProgress")  # Under Development: bidirectional
    registry.sync().reconcile()
    assert registry.inventory.get_model(arn).status == S.UNDER_DEVELOPMENT.value
    registry.set_lifecycle(arn, "Development", "Complete")
    registry.sync().reconcile()
    _governance_moves(registry.inventory, arn, *PATH_TO_APPROVED)
    stage = to_sagemaker(S.APPROVED_FOR_DEPLOYMENT)
    registry.set_lifecycle(arn, stage.stage, stage.stage_status)  # what the MLC wrote
    registry.sync().reconcile()
    assert registry.inventory.get_model(arn).status == S.APPROVED_FOR_DEPLOYMENT.value
    registry.set_lifecycle(arn, "Deployment", "Complete")  # the deployer reports it: sagemaker->governance
    report = registry.sync().reconcile()
    assert report.actions.get("apply") == 1
    model = registry.inventory.get_model(arn)
    assert model.status == S.DEPLOYED.value
    last = registry.inventory.status_history(arn)[-1]
    assert (last.to_status, last.source, last.actor) == ("Deployed", "sagemaker", "sagemaker")
    # The chain is intact; this test skips the Jira approvals, which the audit reports on their own.
    audit = registry.inventory.verify_audit_trail(arn)
    assert not [p for p in audit.problems if "without a verified" not in p], audit.problems


def test_drift_on_a_governance_owned_status_is_reverted_and_reported_once(registry: Registry) -> None:
    arn = registry.register(S.DEVELOPMENT_COMPLETE)
    registry.sync().reconcile()
    _governance_moves(registry.inventory, arn, S.PRE_IMPLEMENTATION_REVIEW)
    registry.set_lifecycle(arn, "Deployment", "Approved")  # someone skips the approvals in the console
    report = registry.sync().reconcile()
    assert report.actions.get("revert_drift") == 1
    assert registry.lifecycle(arn) == ("Testing", "Review"), "governance's value is written back"
    assert registry.inventory.get_model(arn).status == S.PRE_IMPLEMENTATION_REVIEW.value
    issues = registry.inventory.open_sync_issues(business_entity=registry.entity, kinds=[SyncIssueKind.DRIFT])
    assert len(issues) == 1 and issues[0].package_arn == arn and "Deployment/Approved" in issues[0].detail
    assert [f.kind for f in report.findings] == ["drift"]
    quiet = registry.sync().reconcile()  # our own write-back is seen now: in step, nothing to report
    assert quiet.actions.get("revert_drift", 0) == 0 and quiet.findings == []
    assert len(registry.inventory.open_sync_issues(kinds=[SyncIssueKind.DRIFT])) == 1


def test_an_unknown_stage_pair_changes_nothing_and_is_reported(registry: Registry) -> None:
    arn = registry.register(S.DEVELOPMENT_COMPLETE)
    registry.sync().reconcile()
    registry.set_lifecycle(arn, "Staging", "Smoke-Test")
    report = registry.sync().reconcile()
    assert report.actions.get("report_unknown") == 1
    assert registry.inventory.get_model(arn).status == S.DEVELOPMENT_COMPLETE.value
    assert registry.lifecycle(arn) == ("Staging", "Smoke-Test"), (
        "an unknown pair is reported, not overwritten"
    )
    issues = registry.inventory.open_sync_issues(kinds=[SyncIssueKind.UNKNOWN_LIFECYCLE])
    assert len(issues) == 1 and "Staging/Smoke-Test" in issues[0].detail
    assert registry.sync().reconcile().findings == [], "the same observation is not reported twice"


def test_archived_and_deleted_packages_are_decommissioned(registry: Registry) -> None:
    archived = registry.register(S.DEVELOPMENT_COMPLETE)
    deleted = registry.register(S.DEVELOPMENT_COMPLETE)
    kept = registry.register(S.DEVELOPMENT_COMPLETE)
    registry.sync().reconcile()
    registry.set_lifecycle(archived, "Archived", "Requested")
    registry.sagemaker.delete_model_package(ModelPackageName=deleted)
    incremental = registry.sync().reconcile()
    assert registry.inventory.get_model(archived).status == S.DECOMMISSIONED.value
    assert registry.lifecycle(archived) == ("Archived", "Complete")
    assert registry.inventory.get_model(deleted).status == S.DEVELOPMENT_COMPLETE.value, (
        "a delete leaves no trace for an incremental Search; the events or the full reconcile see it"
    )
    full = registry.sync().reconcile(full=True)
    assert full.mode == "full" and full.actions.get("decommission") == 1
    assert registry.inventory.get_model(deleted).status == S.DECOMMISSIONED.value
    assert registry.inventory.get_model(kept).status == S.DEVELOPMENT_COMPLETE.value
    steps = [(e.to_status, e.source) for e in registry.inventory.status_history(deleted)][-2:]
    assert steps == [("Decommissioning", "sagemaker"), ("Decommissioned", "sagemaker")]
    assert {f.kind for f in incremental.findings} == {"decommissioned"}
    assert registry.sync().reconcile(full=True).actions.get("decommission", 0) == 0


def test_governance_links_are_written_back_to_metadata_and_model_card(registry: Registry) -> None:
    arn = registry.register(S.DEVELOPMENT_COMPLETE)
    sync = registry.sync(dashboard_base_url="http://airflow.example.com/model-governance/")
    report = sync.reconcile()
    model = registry.inventory.get_model(arn)
    described = registry.sagemaker.describe_model_package(ModelPackageName=arn)
    metadata = described["CustomerMetadataProperties"]
    assert metadata["governance:model_id"] == str(model.id)
    assert metadata["governance:use_case_id"] == str(registry.use_case_id)
    assert metadata["governance:status"] == "Development Complete"
    assert (
        metadata["governance:dashboard"] == f"http://airflow.example.com/model-governance/models/{model.id}"
    )
    details = json.loads(described["ModelCard"]["ModelCardContent"])["additional_information"][
        "custom_details"
    ]
    assert details["model_id"] == str(model.id) and details["status"] == "Development Complete"
    assert report.writes == 1, "metadata and model card in one UpdateModelPackage"
    registry.inventory.record_approval_requested(
        kind="PIA", jira_key="MLC-41", model_id=model.id, requested_by="owner@example.com"
    )
    registry.inventory.record_approval_requested(
        kind="PRODUCTION", jira_key="MLC-42", model_id=model.id, requested_by="owner@example.com"
    )
    _governance_moves(registry.inventory, arn, S.PRE_IMPLEMENTATION_REVIEW)
    registry.sync().reconcile(full=True)
    metadata = registry.sagemaker.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"]
    assert metadata["governance:jira"] == "MLC-41 MLC-42"
    assert metadata["governance:status"] == "Pre Implementation Review"
    assert registry.sync().reconcile(full=True).writes == 0, "links already in place: nothing written"


def test_decommission_stops_the_implementation_run_still_going(registry: Registry) -> None:
    going = registry.register(S.DEVELOPMENT_COMPLETE)
    finished = registry.register(S.DEVELOPMENT_COMPLETE)
    registry.sync().reconcile()
    _governance_moves(registry.inventory, finished, *PATH_TO_APPROVED, S.DEPLOYED)
    stopped: list[tuple[str, str]] = []

    def stop_run(run_id: str, reason: str) -> bool:
        stopped.append((run_id, reason))
        return True

    for arn in (going, finished):
        registry.set_lifecycle(arn, "Archived", "Requested")
    report = registry.sync(stop_run=stop_run).reconcile()
    assert [run_id for run_id, _ in stopped] == [mlc_run_id(registry.entity, going)], (
        "a Deployed model's run is over; only the one still going is stopped"
    )
    assert "decommissioned" in stopped[0][1] and "Archived" in stopped[0][1]
    assert [f.kind for f in report.findings].count("implementation_run_stopped") == 1

    unstoppable = registry.register(S.DEVELOPMENT_COMPLETE)
    registry.sync().reconcile()
    registry.sagemaker.delete_model_package(ModelPackageName=unstoppable)
    report = registry.sync().reconcile(full=True)  # no way to stop runs configured: the operators are told
    assert any("may still be running" in f.detail for f in report.findings)
