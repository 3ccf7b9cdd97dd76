"""QueueSettler with a fake SQS client and inventory: applied messages deleted in batches of ten, a failed
one made visible again after a growing delay, dead-lettered after the last attempt (FIFO or not, or dropped
without a dead-letter queue) with a sync issue and a finding; the implementation runs left to start."""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

import pytest

from model_governance.config import SyncConfig
from model_governance.inventory import SyncIssueKind
from model_governance.services.sync_queue import (
    QueueSettler,
    implementation_runs,
    record_runs_started,
)
from model_governance.sync import QueueMessage, SyncReport

QUEUE = "https://sqs.eu-west-1.amazonaws.com/1/events.fifo"


class FakeSqs:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        return lambda **kwargs: self.calls.append((name, kwargs))


def _message(n: int) -> QueueMessage:
    return QueueMessage(message_id=f"m{n}", receipt_handle=f"r{n}", body=f'{{"n": {n}}}')


def _settler(
    sqs: FakeSqs, attempts: int, dead_letters: str | None = "https://sqs/dlq.fifo"
) -> tuple[QueueSettler, MagicMock]:
    inventory = MagicMock(name="inventory")
    inventory.record_sync_failure.return_value = attempts
    settler = QueueSettler(
        client=sqs,
        queue_url=QUEUE,
        dead_letter_queue_url=dead_letters,
        business_entity="retail",
        inventory=inventory,
        settings=SyncConfig(max_message_attempts=3, message_retry_seconds=60),
    )
    return settler, inventory


def test_applied_messages_are_deleted_in_batches_of_ten() -> None:
    sqs = FakeSqs()
    report = SyncReport(business_entity="retail", mode="events")
    report.done_messages = [_message(n) for n in range(12)]
    _settler(sqs, attempts=1)[0].settle(report)
    batches = [kwargs["Entries"] for name, kwargs in sqs.calls if name == "delete_message_batch"]
    assert [len(b) for b in batches] == [10, 2]
    assert batches[1] == [{"Id": "0", "ReceiptHandle": "r10"}, {"Id": "1", "ReceiptHandle": "r11"}]
    assert all(kwargs["QueueUrl"] == QUEUE for _, kwargs in sqs.calls)


def test_a_failed_message_comes_back_later_the_more_it_failed() -> None:
    sqs = FakeSqs()
    report = SyncReport(business_entity="retail", mode="events")
    report.failed_messages = [(_message(1), "boom")]
    settler, inventory = _settler(sqs, attempts=2)
    settler.settle(report)
    assert sqs.calls == [
        ("change_message_visibility", {"QueueUrl": QUEUE, "ReceiptHandle": "r1", "VisibilityTimeout": 120})
    ]
    inventory.record_sync_failure.assert_called_once_with("m1", business_entity="retail", error="boom")
    assert report.findings == [] and not inventory.mark_dead_lettered.called


@pytest.mark.parametrize(
    ("dead_letters", "where"),
    [
        ("https://sqs/dlq.fifo", "moved to https://sqs/dlq.fifo"),
        ("https://sqs/dlq", "moved to https://sqs/dlq"),
        (None, "moved to nowhere (no dead_letter_queue_url configured: dropped)"),
    ],
)
def test_after_the_last_attempt_a_message_is_dead_lettered_recorded_and_reported(
    dead_letters: str | None, where: str
) -> None:
    sqs = FakeSqs()
    report = SyncReport(business_entity="retail", mode="events")
    report.failed_messages = [(_message(1), "boom")]
    settler, inventory = _settler(sqs, attempts=3, dead_letters=dead_letters)
    settler.settle(report)
    sent = [kwargs for name, kwargs in sqs.calls if name == "send_message"]
    if dead_letters is None:
        assert sent == []
    else:
        (message,) = sent
        assert message["QueueUrl"] == dead_letters and message["MessageBody"] == '{"n": 1}'
        assert message["MessageAttributes"]["governance-attempts"]["StringValue"] == "3"
        fifo = dead_letters.endswith(".fifo")
        assert ("MessageGroupId" in message) is fifo
    assert sqs.calls[-1] == (
        "delete_message_batch",
        {"QueueUrl": QUEUE, "Entries": [{"Id": "0", "ReceiptHandle": "r1"}]},
    )
    issue = inventory.record_sync_issue.call_args.kwargs
    assert issue["kind"] == SyncIssueKind.DEAD_LETTER and issue["dedup_key"] == "dead_letter:retail:m1"
    inventory.mark_dead_lettered.assert_called_once_with("m1")
    (finding,) = report.findings
    assert (
        finding.kind == SyncIssueKind.DEAD_LETTER.value and f"failed 3 times, {where}: boom" in finding.detail
    )


def test_the_implementation_runs_left_to_start_and_recorded_started() -> None:
    inventory = MagicMock(name="inventory")
    inventory.pending_mlc_runs.return_value = [MagicMock(mlc_run_id="run-1", package_arn="arn:p")]
    runs = implementation_runs(inventory, "retail", limit=5)
    assert runs == [{"trigger_run_id": "run-1", "conf": {"package_arn": "arn:p"}}]
    inventory.pending_mlc_runs.assert_called_once_with("retail", limit=5)
    inventory.mark_mlc_runs_started.return_value = 1
    assert record_runs_started(inventory, runs) == 1
    inventory.mark_mlc_runs_started.assert_called_once_with(["run-1"])
