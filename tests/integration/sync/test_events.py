"""Queue events: duplicates and reordering are harmless, a delete event decommissions, a poison message
goes to the dead-letter queue after N tries; and ten registries synced side by side with one down."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from model_governance.exceptions import RegistryError
from model_governance.inventory import Inventory, SyncIssueKind
from model_governance.lifecycle import GovernanceStatus as S
from model_governance.operators.sync import SyncRegistryOperator, events_asset_name
from model_governance.sync import QueueMessage
from sandbox.aws.pytest_fixtures import AwsSandbox
from tests.integration.sync.conftest import Registry, make_registry

pytestmark = pytest.mark.integration


def _queue(sandbox: AwsSandbox, name: str, region: str | None = None) -> str:
    sqs = sandbox.client("sqs", region=region)
    attributes = {"FifoQueue": "true"} if name.endswith(".fifo") else {}
    return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


def _receive(
    sandbox: AwsSandbox, url: str, region: str | None = None, delete: bool = False
) -> list[dict[str, Any]]:
    sqs = sandbox.client("sqs", region=region)
    received: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=60
        )
        messages = batch.get("Messages", [])
        if not messages:
            return received
        received.extend(messages)
        for message in messages if delete else []:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if not delete:
            return received  # FIFO: the group's later messages wait until these are deleted


def _as_queue_messages(raw: list[dict[str, Any]]) -> list[QueueMessage]:
    return [QueueMessage(m["MessageId"], m["ReceiptHandle"], m["Body"]) for m in raw]


def test_duplicate_and_reordered_events_apply_the_latest_state_once(registry: Registry) -> None:
    queue = f"events-{uuid.uuid4().hex[:8]}.fifo"
    url = _queue(registry.sandbox, queue)
    registry.sandbox.set_events(queue=queue)
    try:
        arn = registry.register(S.UNDER_DEVELOPMENT)
        registry.set_lifecycle(arn, "Development", "Complete")
        events = _as_queue_messages(_receive(registry.sandbox, url, delete=True))
    finally:
        registry.sandbox.set_events(queue=None)
    assert len(events) == 2
    created, completed = events
    duplicate = QueueMessage("redelivered-" + completed.message_id, completed.receipt_handle, completed.body)
    report = registry.sync().apply_messages([completed, created, duplicate, created])
    assert report.actions == {"onboard": 1} and len(report.done_messages) == 3
    assert registry.inventory.get_model(arn).status == S.DEVELOPMENT_COMPLETE.value
    assert len(registry.inventory.status_history(arn)) == 1
    late = registry.sync().apply_messages([created])  # the oldest event again, much later
    assert late.actions == {"nothing": 1}, (
        "the package's current state is read: the old event says nothing new"
    )
    assert len(registry.inventory.status_history(arn)) == 1

    registry.sandbox.set_events(queue=queue)
    try:
        registry.sagemaker.delete_model_package(ModelPackageName=arn)
        deleted = _as_queue_messages(_receive(registry.sandbox, url, delete=True))
    finally:
        registry.sandbox.set_events(queue=None)
    report = registry.sync().apply_messages(deleted)
    assert report.actions == {"decommission": 1}
    assert registry.inventory.get_model(arn).status == S.DECOMMISSIONED.value


@dataclass(frozen=True)
class FakeAsset:
    name: str


@dataclass
class FakeAssetEvent:
    extra: dict[str, Any] = field(default_factory=dict)
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))


def _context(entity: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    event = FakeAssetEvent(
        {"from_trigger": True, "payload": {"status": "success", "message_batch": messages}}
    )
    return {"triggering_asset_events": {FakeAsset(events_asset_name(entity)): [event]}}


def _settings(registries: list[Registry], inventory_url: str, **sync: Any) -> str:
    return json.dumps(
        {
            "business_entities": [
                {
                    "name": r.entity,
                    "account_id": r.sandbox.account_id,
                    "region": r.region,
                    "aws_conn_id": r.conn_id,
                    **extra,
                }
                for r, extra in ((r, getattr(r, "queues", {})) for r in registries)
            ],
            "inventory": {"url": inventory_url},
            "sync": {"message_retry_seconds": 0, **sync},
        }
    )


def test_a_poison_message_goes_to_the_dead_letter_queue_after_n_tries(
    aws_sandbox: AwsSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    inventory = Inventory.from_url(url, upgrade_schema=True)
    registry = make_registry(aws_sandbox, inventory, monkeypatch)
    source = _queue(aws_sandbox, f"events-{uuid.uuid4().hex[:8]}.fifo")
    dead = _queue(aws_sandbox, f"dead-{uuid.uuid4().hex[:8]}.fifo")
    registry.queues = {"sqs_queue_url": source, "dead_letter_queue_url": dead}  # type: ignore[attr-defined]
    monkeypatch.setenv("MODEL_GOVERNANCE_CONFIG", _settings([registry], url, max_message_attempts=2))
    sqs = aws_sandbox.client("sqs")
    sqs.send_message(
        QueueUrl=source, MessageBody="{not json", MessageGroupId="g1", MessageDeduplicationId="p1"
    )
    arn = registry.register(S.DEVELOPMENT_COMPLETE)
    good = {
        "detail-type": "SageMaker Model Package State Change",
        "time": "2026-11-30T10:00:00Z",
        "detail": {"ModelPackageArn": arn},
        "resources": [arn],
    }
    sqs.send_message(
        QueueUrl=source, MessageBody=json.dumps(good), MessageGroupId="g2", MessageDeduplicationId="e1"
    )

    operator = SyncRegistryOperator(task_id="sync_registry", business_entity=registry.entity)
    batch = _receive(aws_sandbox, source)
    poison_id = next(m["MessageId"] for m in batch if m["Body"] == "{not json")
    first = operator.execute(_context(registry.entity, batch))  # type: ignore[arg-type]
    assert inventory.get_model(arn).status == S.DEVELOPMENT_COMPLETE.value
    assert first["runs"] == [
        {"trigger_run_id": inventory.get_model(arn).mlc_run_id, "conf": {"package_arn": arn}}
    ]
    failure = inventory.sync_failure(poison_id)
    assert failure is not None and failure.attempts == 1 and "not JSON" in failure.last_error
    assert _receive(aws_sandbox, dead) == []

    again = _receive(aws_sandbox, source)  # visible again at once (retry delay 0 in this test)
    assert [m["Body"] for m in again] == ["{not json"], (
        "the applied event was deleted; the poison one is back"
    )
    second = operator.execute(_context(registry.entity, again))  # type: ignore[arg-type]
    dead_letters = aws_sandbox.client("sqs").receive_message(
        QueueUrl=dead, MessageAttributeNames=["All"], MaxNumberOfMessages=10
    )["Messages"]
    assert [m["Body"] for m in dead_letters] == ["{not json"]
    attributes = dead_letters[0]["MessageAttributes"]
    assert attributes["governance-attempts"]["StringValue"] == "2"
    assert "not JSON" in attributes["governance-error"]["StringValue"]
    assert _receive(aws_sandbox, source) == [], "a dead-lettered message leaves the source queue"
    assert [f["kind"] for f in second["findings"]] == ["dead_letter"]
    assert len(inventory.open_sync_issues(kinds=[SyncIssueKind.DEAD_LETTER])) == 1


REGIONS = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-central-1",
    "ap-southeast-1",
    "ap-northeast-1",
    "ca-central-1",
]


def test_ten_registries_sync_side_by_side_and_one_down_stops_no_other(
    aws_sandbox: AwsSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'inventory.db'}"
    inventory = Inventory.from_url(url, upgrade_schema=True)
    registries = []
    for index, region in enumerate(REGIONS):
        registry = make_registry(
            aws_sandbox,
            inventory,
            monkeypatch,
            entity=f"entity-{index}",
            region=region,
            config_kwargs={"retries": {"mode": "standard", "max_attempts": 2}},
        )
        queue = f"events-{index}-{uuid.uuid4().hex[:6]}.fifo"
        registry.queues = {"sqs_queue_url": _queue(aws_sandbox, queue, region)}  # type: ignore[attr-defined]
        aws_sandbox.set_events(queue=queue, region=region)
        registries.append(registry)
    monkeypatch.setenv("MODEL_GOVERNANCE_CONFIG", _settings(registries, url))
    try:
        arns = [registry.register(S.DEVELOPMENT_COMPLETE) for registry in registries]
        for registry, arn in zip(registries, arns, strict=True):
            # each region's EventBridge bus delivers to its own business entity's queue
            events = _receive(
                aws_sandbox, registry.queues["sqs_queue_url"], region=registry.region, delete=True
            )  # type: ignore[attr-defined]
            assert [json.loads(m["Body"])["detail"]["ModelPackageArn"] for m in events] == [arn]
        down = registries[6]
        aws_sandbox.set_faults(throttle_rate=1.0, actions=["sagemaker:*"], regions=[down.region])
        results = {}
        for registry in registries:
            operator = SyncRegistryOperator(task_id="sync_registry", business_entity=registry.entity)
            if registry is down:
                with pytest.raises(RegistryError, match=f"business entity '{down.entity}'.*{down.region}"):
                    operator.execute({})  # type: ignore[arg-type]
                continue
            results[registry.entity] = operator.execute({})  # type: ignore[arg-type]
        assert len(results) == 9
        for registry, arn in zip(registries, arns, strict=True):
            if registry is not down:
                assert inventory.get_model(arn).status == S.DEVELOPMENT_COMPLETE.value
        issues = inventory.open_sync_issues(kinds=[SyncIssueKind.REGISTRY_ERROR])
        assert [i.business_entity_id for i in issues] == [
            e.id
            for e in [
                inventory.ensure_business_entity(
                    name=down.entity,
                    account_id=down.sandbox.account_id,
                    region=down.region,
                    aws_conn_id=down.conn_id,
                )
            ]
        ]
        aws_sandbox.set_faults(throttle_rate=0.0, regions=None)
        SyncRegistryOperator(task_id="sync_registry", business_entity=down.entity).execute({})  # type: ignore[arg-type]
        assert inventory.get_model(arns[6]).status == S.DEVELOPMENT_COMPLETE.value
        assert inventory.open_sync_issues(kinds=[SyncIssueKind.REGISTRY_ERROR]) == []
    finally:
        aws_sandbox.set_faults(throttle_rate=0.0, actions=None, regions=None)
        for region in REGIONS:
            aws_sandbox.set_events(queue=None, region=region)
