"""A batch of queue events read in bulk against the sandbox: 300 packages' current state in ceil(300 / 100)
Search calls (no Describe), every one applied once, and the same batch again changes nothing."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from model_governance.lifecycle import GovernanceStatus as S
from model_governance.sync import QueueMessage
from tests.integration.sync.conftest import Registry

pytestmark = pytest.mark.integration

PACKAGES = 300  # more than one Search expression holds (about 260 of these ARNs)


def _events(registry: Registry, count: int) -> tuple[list[str], list[QueueMessage]]:
    """``count`` versions registered at Under Development, and the events their registration caused."""
    sandbox = registry.sandbox
    sqs = sandbox.client("sqs")
    queue = f"events-batch-{uuid.uuid4().hex[:8]}.fifo"
    url = sqs.create_queue(QueueName=queue, Attributes={"FifoQueue": "true"})["QueueUrl"]
    sandbox.set_events(queue=queue)
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            arns = list(pool.map(lambda _: registry.register(S.UNDER_DEVELOPMENT), range(count)))
    finally:
        sandbox.set_events(queue=None)
    messages: list[QueueMessage] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        messages += [QueueMessage(m["MessageId"], m["ReceiptHandle"], m["Body"]) for m in batch]
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    return arns, messages


def _reads(registry: Registry) -> tuple[int, int]:
    count = registry.sandbox.request_count
    return count("sagemaker:Search"), count("sagemaker:DescribeModelPackage")


def test_a_batch_of_events_is_read_in_whole_pages_and_applied_once(registry: Registry) -> None:
    arns, messages = _events(registry, PACKAGES)
    assert len(messages) == PACKAGES
    searches, describes = _reads(registry)
    report = registry.sync().apply_messages([*messages, *messages[:20]])  # 20 delivered twice
    after = _reads(registry)
    assert after == (searches + 3, describes), "300 packages: three pages of Search, no Describe"
    assert report.actions == {"onboard": PACKAGES}, report.actions
    assert len(report.done_messages) == PACKAGES and not report.failed_messages
    for arn in (arns[0], arns[len(arns) // 2], arns[-1]):
        assert registry.inventory.get_model(arn).status == S.UNDER_DEVELOPMENT.value

    again = registry.sync().apply_messages(messages)  # redelivered: the current state says nothing new
    assert again.actions == {"nothing": PACKAGES}, again.actions
    assert again.writes == 0 and len(again.done_messages) == PACKAGES
    assert _reads(registry) == (after[0] + 3, after[1])
    assert all(len(registry.inventory.status_history(arn)) == 1 for arn in arns[:10])
