"""One bad message never stops the batch: messages of every wrong shape are each refused as their own
failure (retried, then dead-lettered), and the good message beside them is applied and deleted."""

from __future__ import annotations

import json

import pytest

from model_governance.lifecycle import GovernanceStatus as S
from model_governance.sync import EVENT_DETAIL_TYPE, QueueMessage
from tests.integration.sync.conftest import Registry

pytestmark = pytest.mark.integration


def _event(arn: str, **changes: object) -> str:
    event: dict[str, object] = {
        "detail-type": EVENT_DETAIL_TYPE,
        "source": "aws.sagemaker",
        "time": "2026-11-30T09:00:00Z",
        "resources": [arn],
        "detail": {"ModelPackageArn": arn, "ModelPackageStatus": "Completed"},
    }
    event.update(changes)
    return json.dumps(event)


def test_bad_shapes_fail_alone_and_the_good_event_is_applied(registry: Registry) -> None:
    arn = registry.register(S.DEVELOPMENT_COMPLETE)
    bodies = {
        "detail-list": _event(arn, detail=[1]),
        "time-not-iso": _event(arn, time="noon"),
        "time-out-of-range": _event(arn, time="99999-01-01T00:00:00Z"),
        "resources-string": _event(arn, resources=arn, detail={}),
        "cloudtrail-params-string": json.dumps(
            {
                "detail-type": "AWS API Call via CloudTrail",
                "time": "2026-11-30T09:00:00Z",
                "detail": {"eventName": "UpdateModelPackage", "requestParameters": "x"},
            }
        ),
    }
    messages = [QueueMessage(f"bad-{name}", f"r-{name}", body) for name, body in bodies.items()]
    good = QueueMessage("good", "r-good", _event(arn))
    report = registry.sync().apply_messages([*messages[:2], good, *messages[2:]])
    assert [m.message_id for m in report.done_messages] == ["good"]
    failed = {m.message_id: reason for m, reason in report.failed_messages}
    assert set(failed) == {m.message_id for m in messages}
    assert all(reason and "Traceback" not in reason for reason in failed.values())
    assert registry.inventory.get_model(arn).status == S.DEVELOPMENT_COMPLETE.value


def test_a_refused_write_back_is_that_packages_finding_and_the_reconcile_goes_on(registry: Registry) -> None:
    crowded = registry.register(S.DEVELOPMENT_COMPLETE)
    # 48 keys of the data scientist's own: the governance links cannot fit under SageMaker's 50-key limit.
    registry.sagemaker.update_model_package(
        ModelPackageArn=crowded,
        CustomerMetadataProperties={f"team_key_{i:02d}": "x" for i in range(48)},
    )
    fine = registry.register(S.DEVELOPMENT_COMPLETE)
    report = registry.sync().reconcile(full=True)
    kinds = {(f.kind, f.package_arn) for f in report.findings}
    assert ("package_error", crowded) in kinds
    assert registry.inventory.get_model(fine).status == S.DEVELOPMENT_COMPLETE.value
    metadata = registry.sagemaker.describe_model_package(ModelPackageName=fine)["CustomerMetadataProperties"]
    assert any(key.startswith("governance:") for key in metadata)  # the other package's links were written
    detail = next(f.detail for f in report.findings if f.package_arn == crowded)
    assert "50" in detail and "next reconcile" in detail
