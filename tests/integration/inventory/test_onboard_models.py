"""``Inventory.onboard_models``: many versions in one transaction, the same rows and audit chain as
``upsert_model`` + ``assign_mlc_run`` one at a time; existing versions untouched; all or nothing."""

from __future__ import annotations

from typing import Any

import pytest

from model_governance.exceptions import NotFoundError
from model_governance.inventory import EventSource, Inventory
from model_governance.inventory.status import Onboarding
from model_governance.lifecycle import GovernanceStatus as S
from tests.integration.onboarding_fixtures import stable_record

from .conftest import ACCOUNT


def _group(inventory: Inventory, name: str) -> str:
    arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package-group/{name}"
    use_case = inventory.create_use_case(
        business_entity="retail", name=name, risk_level="High", owner="owner@example.com"
    )
    inventory.link_model_group(use_case_id=use_case.id, name=name, arn=arn)
    return arn


def _onboardings(group: str, count: int) -> list[Onboarding]:
    statuses = [S.DEVELOPMENT_COMPLETE, S.UNDER_DEVELOPMENT]
    return [
        Onboarding(
            package_arn=f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/{group.lower()}/{v}",
            status=statuses[v % 2],
            actor="sagemaker-lifecycle-sync",
            reason=f"new version {v}",
            source=EventSource.SAGEMAKER,
            approval_status="PendingManualApproval" if v % 3 else "Approved",
            sagemaker_last_modified=None,
            mlc_run_id=f"mlc__{group}__v{v}" if statuses[v % 2] is S.DEVELOPMENT_COMPLETE else None,
        )
        for v in range(1, count + 1)
    ]


def _content(inventory: Inventory, arn: str) -> dict[str, Any]:
    model = inventory.get_model(arn)
    assert inventory.verify_audit_trail(model.id).ok
    return {
        "model": (
            model.version,
            model.status,
            model.status_version,
            model.sagemaker_stage,
            model.sagemaker_stage_status,
            model.approval_status,
            model.mlc_run_id.rsplit("__", 1)[1] if model.mlc_run_id else None,
        ),
        "events": [
            (e.seq, e.from_status, e.to_status, e.source, e.actor, e.reason, e.prev_hash)
            for e in inventory.status_history(model.id)
        ],
        "links": [
            (
                link.seq,
                link.kind,
                link.action,
                link.prev_mac,
                stable_record(link.record),
            )
            for link in inventory.audit_links(f"model/{model.id}")
        ],
    }


def test_a_batch_writes_what_one_at_a_time_writes(inventory: Inventory) -> None:
    one_group, batch_group = _group(inventory, "One-At-A-Time"), _group(inventory, "Batched")
    one = _onboardings("One-At-A-Time", 12)
    for item in one:
        model, created = inventory.upsert_model(
            package_arn=item.package_arn,
            status=item.status,
            actor=item.actor,
            reason=item.reason,
            source=item.source,
            approval_status=item.approval_status,
        )
        assert created
        if item.mlc_run_id:
            inventory.assign_mlc_run(model.id, item.mlc_run_id)
    batch = _onboardings("Batched", 12)
    results = inventory.onboard_models(batch)
    assert [created for _, created in results] == [True] * 12
    assert [model.package_arn for model, _ in results] == [item.package_arn for item in batch]
    assert all(model.model_group.arn == batch_group for model, _ in results)  # loaded, as a read gives it
    assert one_group != batch_group
    for item_one, item_batch in zip(one, batch, strict=True):
        assert _content(inventory, item_batch.package_arn) == _content(inventory, item_one.package_arn)


def test_versions_already_onboarded_or_named_twice_are_returned_untouched(inventory: Inventory) -> None:
    _group(inventory, "Churn")
    first, second, third = _onboardings("Churn", 3)
    existing, _ = inventory.upsert_model(
        package_arn=first.package_arn, status=S.UNDER_DEVELOPMENT, actor="mlc", reason="by hand"
    )
    results = inventory.onboard_models([first, second, third, second])
    assert [(model.package_arn, created) for model, created in results] == [
        (first.package_arn, False),
        (second.package_arn, True),
        (third.package_arn, True),
        (second.package_arn, False),
    ]
    assert results[0][0].id == existing.id and results[0][0].status == S.UNDER_DEVELOPMENT.value
    assert results[0][0].mlc_run_id is None  # an existing model keeps its own state
    assert len(inventory.status_history(second.package_arn)) == 1
    assert [link.seq for link in inventory.audit_links(f"model/{results[1][0].id}")] == [1]
    assert inventory.onboard_models([]) == []


def test_all_or_nothing_when_a_group_is_not_linked(inventory: Inventory) -> None:
    _group(inventory, "Linked")
    good = _onboardings("Linked", 2)
    stranger = _onboardings("Unlinked", 1)
    with pytest.raises(NotFoundError, match=r"'unlinked'.*not linked"):
        inventory.onboard_models([*good, *stranger])
    for item in good:
        with pytest.raises(NotFoundError):
            inventory.get_model(item.package_arn)
