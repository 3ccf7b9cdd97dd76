"""The sync's write-backs on a thread pool: the same packages end the same way as written one by one, under
throttling too, and a write SageMaker refuses is that package's failure only."""

from __future__ import annotations

from typing import Any

import pytest

from model_governance.lifecycle import GovernanceStatus
from model_governance.sync import LifecycleSync

from .conftest import Registry

pytestmark = pytest.mark.integration


def _state(registry: Registry, arns: list[str]) -> list[tuple[Any, ...]]:
    out = []
    for arn in arns:
        package = registry.sagemaker.describe_model_package(ModelPackageName=arn)
        out.append(
            (
                package["ModelLifeCycle"]["Stage"],
                package["ModelLifeCycle"]["StageStatus"],
                package["ModelApprovalStatus"],
                sorted(
                    k for k in package.get("CustomerMetadataProperties", {}) if k.startswith("governance")
                ),
            )
        )
    return out


def test_concurrent_write_backs_under_throttling_end_as_sequential_ones(registry: Registry) -> None:
    # Registered at Deployment/Complete and Approved: onboarding reverts both (a write per package).
    concurrent_arns = [registry.register(GovernanceStatus.DEPLOYED, approval="Approved") for _ in range(12)]
    registry.sandbox.set_faults(throttle_rate=0.3, actions=["sagemaker:UpdateModelPackage"], seed=3)
    try:
        report = registry.sync(write_concurrency=8).reconcile(full=True)
    finally:
        registry.sandbox.set_faults(throttle_rate=0.0, actions=None)
    assert report.actions.get("onboard") == 12 and report.writes == 12, report.as_dict()
    assert not [f for f in report.findings if f.kind == "package_error"], report.findings
    sequential_arns = [registry.register(GovernanceStatus.DEPLOYED, approval="Approved") for _ in range(12)]
    report = registry.sync(write_concurrency=1).reconcile(full=True)
    assert report.actions.get("onboard") == 12 and report.writes == 12, report.as_dict()
    assert _state(registry, concurrent_arns) == _state(registry, sequential_arns)
    assert {s[:3] for s in _state(registry, concurrent_arns)} == {
        ("Development", "Complete", "PendingManualApproval")
    }
    # In step now: another pass writes nothing.
    assert registry.sync().reconcile(full=True).writes == 0


@pytest.mark.parametrize("threads", [1, 4])
def test_a_refused_write_fails_its_package_only(
    registry: Registry, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    arns = [registry.register(GovernanceStatus.DEPLOYED, approval="Approved") for _ in range(6)]
    sync: LifecycleSync = registry.sync(write_concurrency=threads)
    hook = sync.registry
    real = hook.update_model_package
    refused = arns[2]

    def update(arn: str, body: Any, *, token_parts: Any) -> Any:
        if arn == refused:
            raise RuntimeError("SageMaker refused this one")
        return real(arn, body, token_parts=token_parts)

    monkeypatch.setattr(hook, "update_model_package", update)
    report = sync.reconcile(full=True)
    assert report.writes == 5, report.as_dict()
    errors = [f for f in report.findings if f.kind == "package_error"]
    assert [f.package_arn for f in errors] == [refused] and "refused this one" in errors[0].detail
    # The next pass sees what it would after an in-line failure (threads=1): the five written packages are
    # in step, the refused one's observation was already recorded at onboarding (stale now).
    again = registry.sync().reconcile(full=True)
    assert again.actions == {"nothing": 5, "ignore_stale": 1} and again.writes == 0, again.as_dict()
