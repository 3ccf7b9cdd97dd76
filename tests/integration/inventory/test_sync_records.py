"""Sync watermarks and sync issues in the inventory, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from model_governance.inventory import Inventory, SyncIssueKind
from tests.integration.inventory.conftest import PACKAGE_ARN

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


def test_watermark_starts_empty_and_only_moves_forward(inventory: Inventory) -> None:
    assert inventory.sync_watermark("retail").last_modified is None
    mark = inventory.advance_sync_watermark("retail", last_modified=T0)
    assert mark.last_modified == T0 and mark.last_incremental_at is not None and mark.last_full_at is None
    late = inventory.advance_sync_watermark("retail", last_modified=T0 - timedelta(hours=1), full=True)
    assert late.last_modified == T0, "a late, older reconcile must not move the watermark back"
    assert late.last_full_at is not None
    assert inventory.advance_sync_watermark("retail", last_modified=None).last_modified == T0
    assert inventory.sync_watermark("retail").id == mark.id


def test_sync_issue_recorded_once_per_key_and_resolved_per_model(inventory: Inventory, model_id: int) -> None:
    first, created = inventory.record_sync_issue(
        kind=SyncIssueKind.DRIFT,
        dedup_key="drift:x:1",
        detail="SageMaker shows Deployment/Complete",
        business_entity="retail",
        model=model_id,
    )
    again, created_again = inventory.record_sync_issue(
        kind="drift",
        dedup_key="drift:x:1",
        detail="duplicate event",
        business_entity="retail",
        model=model_id,
    )
    assert created and not created_again and again.id == first.id
    assert first.package_arn == PACKAGE_ARN
    inventory.record_sync_issue(
        kind=SyncIssueKind.REGISTRY_ERROR,
        dedup_key="down:retail",
        detail="throttled",
        business_entity="retail",
    )
    open_issues = inventory.open_sync_issues(business_entity="retail")
    assert [i.kind for i in open_issues] == ["registry_error", "drift"]
    assert [i.kind for i in inventory.open_sync_issues(kinds=[SyncIssueKind.DRIFT])] == ["drift"]
    assert inventory.resolve_sync_issues(model=model_id, kinds=[SyncIssueKind.DRIFT]) == 1
    assert [i.kind for i in inventory.open_sync_issues()] == ["registry_error"]
    assert inventory.resolve_sync_issues(business_entity="retail", kinds=["registry_error"]) == 1
    assert inventory.open_sync_issues() == []
