"""Onboarding in batches (``Inventory.onboard_models``, one transaction per batch) ends exactly as onboarding
one version at a time: the same models, statuses, runs, status events, audit links, drift findings and
write-backs, with the write-backs in line or on the pool, and a failed batch still fails only its version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from model_governance.inventory import Inventory
from model_governance.inventory.models import SyncIssue
from model_governance.lifecycle import GovernanceStatus as S
from model_governance.sync import SyncReport, mlc_run_id
from sandbox.aws.pytest_fixtures import AwsSandbox
from tests.integration.onboarding_fixtures import stable_record

from .conftest import Registry, make_registry

pytestmark = pytest.mark.integration

#: (lifecycle registered, approval): ready for the MLC, still in development, none, and registered at a
#: governance-owned stage with Approved (drift: onboarded at Development Complete, values written back).
SHAPES: list[tuple[S | None, str]] = [
    (S.DEVELOPMENT_COMPLETE, "PendingManualApproval"),
    (S.UNDER_DEVELOPMENT, "PendingManualApproval"),
    (None, "PendingManualApproval"),
    (S.DEPLOYED, "Approved"),
    (S.DEVELOPMENT_COMPLETE, "Approved"),
]


def _two_registries(
    sandbox: AwsSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Registry, Registry]:
    inventory = Inventory.from_url(f"sqlite:///{tmp_path / 'inventory.db'}", upgrade_schema=True)
    one = make_registry(sandbox, inventory, monkeypatch, entity="one-at-a-time", region="eu-west-1")
    batched = make_registry(sandbox, inventory, monkeypatch, entity="batched", region="eu-central-1")
    return one, batched


def _register(registry: Registry, count: int) -> list[str]:
    return [
        registry.register(SHAPES[i % len(SHAPES)][0], approval=SHAPES[i % len(SHAPES)][1])
        for i in range(count)
    ]


def _governed(registry: Registry, arns: list[str]) -> list[dict[str, Any]]:
    """Per version, in registration order: all governance recorded and wrote back, minus ids and times."""
    inventory = registry.inventory
    out = []
    for arn in arns:
        model = inventory.get_model(arn)
        trail = inventory.verify_audit_trail(model.id)
        assert trail.ok, trail.problems
        with inventory._transaction() as session:
            issues = sorted(
                (issue.kind, issue.detail.replace(arn, "<arn>"))
                for issue in session.query(SyncIssue).filter(SyncIssue.model_id == model.id)
            )
        package = registry.sagemaker.describe_model_package(ModelPackageName=arn)
        out.append(
            {
                "version": model.version,
                "status": (
                    model.status,
                    model.status_version,
                    model.sagemaker_stage,
                    model.sagemaker_stage_status,
                ),
                "sagemaker": (model.approval_status, model.sagemaker_last_modified is not None),
                "run": model.mlc_run_id == mlc_run_id(registry.entity, arn) if model.mlc_run_id else None,
                "events": [
                    (e.seq, e.from_status, e.to_status, e.source, e.actor, e.reason)
                    for e in inventory.status_history(model.id)
                ],
                "links": [
                    (link.seq, link.kind, link.action, link.key_id, stable_record(link.record))
                    for link in inventory.audit_links(f"model/{model.id}")
                ],
                "issues": issues,
                "written back": (
                    package.get("ModelLifeCycle"),
                    package["ModelApprovalStatus"],
                    sorted(
                        k for k in package.get("CustomerMetadataProperties", {}) if k.startswith("governance")
                    ),
                ),
            }
        )
    return out


def _summary(report: SyncReport) -> tuple[Any, ...]:
    return (report.seen, report.actions, report.writes, sorted(f.kind for f in report.findings))


@pytest.mark.parametrize("threads", [1, 8])
def test_batched_onboarding_ends_as_one_version_at_a_time(
    aws_sandbox: AwsSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    one, batched = _two_registries(aws_sandbox, tmp_path, monkeypatch)
    one_arns, batched_arns = _register(one, 23), _register(batched, 23)
    # onboard_batch=1 is the per-version path (upsert_model, assign_mlc_run); 5 makes four full batches
    # and a remainder flushed at the end of the pass
    one_report = one.sync(write_concurrency=threads, onboard_batch=1).reconcile(full=True)
    batched_report = batched.sync(write_concurrency=threads, onboard_batch=5).reconcile(full=True)
    assert batched_report.actions == {"onboard": 23}
    assert _summary(batched_report) == _summary(one_report)
    assert _governed(batched, batched_arns) == _governed(one, one_arns)
    # and the next pass finds both in step alike
    assert _summary(batched.sync().reconcile(full=True)) == _summary(one.sync().reconcile(full=True))


def test_events_onboard_in_a_batch_too(
    aws_sandbox: AwsSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from model_governance.sync import QueueMessage

    one, batched = _two_registries(aws_sandbox, tmp_path, monkeypatch)
    arns = {"one": _register(one, 7), "batched": _register(batched, 7)}

    def messages(registry: Registry, names: list[str]) -> list[QueueMessage]:
        return [
            QueueMessage(
                f"m{i}-{registry.entity}",
                f"r{i}",
                json.dumps(
                    {
                        "detail-type": "SageMaker Model Package State Change",
                        "time": "2026-01-01T00:00:00Z",
                        "detail": {"ModelPackageArn": arn},
                    }
                ),
            )
            for i, arn in enumerate(names)
        ]

    one_report = one.sync(onboard_batch=1).apply_messages(messages(one, arns["one"]))
    batched_report = batched.sync(onboard_batch=3).apply_messages(messages(batched, arns["batched"]))
    assert batched_report.actions == {"onboard": 7} and len(batched_report.done_messages) == 7
    assert _summary(batched_report) == _summary(one_report)
    assert _governed(batched, arns["batched"]) == _governed(one, arns["one"])


@pytest.mark.parametrize("threads", [1, 4])
def test_a_failed_batch_goes_one_version_at_a_time_and_fails_only_its_version(
    registry: Registry, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    arns = _register(registry, 6)
    inventory = registry.inventory
    refused = arns[3]
    real = inventory.upsert_model

    def upsert(**kwargs: Any) -> Any:
        if kwargs["package_arn"] == refused:
            raise RuntimeError("the inventory refused this one")
        return real(**kwargs)

    def batch(onboardings: Any) -> Any:
        raise RuntimeError("the batch failed")

    monkeypatch.setattr(inventory, "upsert_model", upsert)
    monkeypatch.setattr(inventory, "onboard_models", batch)
    report = registry.sync(write_concurrency=threads, onboard_batch=4).reconcile(full=True)
    errors = [f for f in report.findings if f.kind == "package_error"]
    assert [f.package_arn for f in errors] == [refused] and "refused this one" in errors[0].detail
    assert report.actions == {"onboard": 6}
    for arn in arns:
        if arn != refused:
            assert inventory.verify_audit_trail(arn).ok
    with pytest.raises(Exception, match="not in the inventory"):
        inventory.get_model(refused)
    # the next pass onboards it (the real inventory again)
    monkeypatch.delattr(inventory, "upsert_model")
    monkeypatch.delattr(inventory, "onboard_models")
    again = registry.sync().reconcile(full=True)
    assert again.actions.get("onboard") == 1 and inventory.get_model(refused).status
