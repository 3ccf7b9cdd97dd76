"""Settling a business entity's SQS queue after the lifecycle sync applied its messages, and the
implementation runs the sync leaves to start.

The sync (``model_governance.sync.LifecycleSync``) applies the queued SageMaker events and reports which
messages it applied and which failed. ``QueueSettler`` settles them: applied messages are deleted; a failed
one is made visible again after a delay growing with its attempts, and after ``sync.max_message_attempts``
failures it goes to the dead-letter queue (when one is configured; dropped otherwise), is recorded as a
DEAD_LETTER sync issue and reported as a finding, so operators hear of it.

Plain class, collaborators passed in (the entity's boto3 SQS client, the inventory, the settings): the
Airflow adapter is ``operators.sync.SyncRegistryOperator``; the unit tests give it fakes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from model_governance.config import SyncConfig
    from model_governance.inventory import Inventory
    from model_governance.sync import QueueMessage, SyncReport

log = logging.getLogger(__name__)

#: DeleteMessageBatch takes 10 entries at most.
DELETE_BATCH = 10
#: SQS's longest visibility timeout (12 hours).
MAX_VISIBILITY_SECONDS = 43200


class QueueSettler:
    """Delete, retry later or dead-letter the messages of one sync of one entity's queue.

    :param client: the entity's boto3 SQS client (``SqsHook.get_conn()``).
    :param queue_url: the entity's queue.
    :param dead_letter_queue_url: where messages that keep failing go (None: they are dropped).
    :param business_entity: the entity's name (sync issues are recorded under it).
    :param inventory: the governance inventory (failure counts, sync issues).
    :param settings: the ``sync`` settings (``max_message_attempts``, ``message_retry_seconds``).
    """

    def __init__(
        self,
        *,
        client: Any,
        queue_url: str,
        dead_letter_queue_url: str | None,
        business_entity: str,
        inventory: Inventory,
        settings: SyncConfig,
    ) -> None:
        self.client = client
        self.queue_url = queue_url
        self.dead_letter_queue_url = dead_letter_queue_url
        self.business_entity = business_entity
        self.inventory = inventory
        self.settings = settings

    def settle(self, report: SyncReport) -> None:
        """Delete applied messages; a failed one is retried after a delay, and after
        ``sync.max_message_attempts`` failures it goes to the dead-letter queue (a finding in ``report``)."""
        from model_governance.inventory import SyncIssueKind
        from model_governance.sync import Finding

        self.delete(report.done_messages)
        max_attempts = self.settings.max_message_attempts
        for message, error in report.failed_messages:
            attempts = self.inventory.record_sync_failure(
                message.message_id, business_entity=self.business_entity, error=error
            )
            if attempts < max_attempts:
                self.client.change_message_visibility(
                    QueueUrl=self.queue_url,
                    ReceiptHandle=message.receipt_handle,
                    VisibilityTimeout=min(
                        self.settings.message_retry_seconds * attempts, MAX_VISIBILITY_SECONDS
                    ),
                )
                log.warning(
                    "Message %s failed (attempt %d of %d), retried later: %s",
                    message.message_id,
                    attempts,
                    max_attempts,
                    error,
                )
                continue
            self.dead_letter(message, attempts, error)
            where = self.dead_letter_queue_url or "nowhere (no dead_letter_queue_url configured: dropped)"
            detail = f"message {message.message_id} failed {attempts} times, moved to {where}: {error}"
            report.findings.append(Finding(SyncIssueKind.DEAD_LETTER.value, None, detail))

    def dead_letter(self, message: QueueMessage, attempts: int, error: str) -> None:
        """Move ``message`` to the dead-letter queue (if any) with why, record it, delete it here."""
        from model_governance.inventory import SyncIssueKind

        if self.dead_letter_queue_url:
            fifo = self.dead_letter_queue_url.endswith(".fifo")
            self.client.send_message(
                QueueUrl=self.dead_letter_queue_url,
                MessageBody=message.body,
                MessageAttributes={
                    "governance-error": {"DataType": "String", "StringValue": error[:1000] or "unknown"},
                    "governance-attempts": {"DataType": "Number", "StringValue": str(attempts)},
                    "governance-source-message-id": {
                        "DataType": "String",
                        "StringValue": message.message_id,
                    },
                },
                **(
                    {"MessageGroupId": "dead-letters", "MessageDeduplicationId": message.message_id[:128]}
                    if fifo
                    else {}
                ),
            )
        self.inventory.record_sync_issue(
            kind=SyncIssueKind.DEAD_LETTER,
            dedup_key=f"dead_letter:{self.business_entity}:{message.message_id}",
            detail=f"failed {attempts} times: {error}",
            business_entity=self.business_entity,
        )
        self.inventory.mark_dead_lettered(message.message_id)
        self.delete([message])

    def delete(self, messages: Iterable[QueueMessage]) -> None:
        batch = list(messages)
        for start in range(0, len(batch), DELETE_BATCH):
            chunk = batch[start : start + DELETE_BATCH]
            self.client.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m.receipt_handle} for i, m in enumerate(chunk)],
            )


def implementation_runs(inventory: Inventory, business_entity: str, *, limit: int) -> list[dict[str, Any]]:
    """The implementation MLC runs the sync leaves to start for ``business_entity`` (at most ``limit``),
    as the mapped ``TriggerDagRunOperator`` takes them: its run id and conf."""
    return [
        {"trigger_run_id": m.mlc_run_id, "conf": {"package_arn": m.package_arn}}
        for m in inventory.pending_mlc_runs(business_entity, limit=limit)
    ]


def record_runs_started(inventory: Inventory, runs: Sequence[dict[str, Any]]) -> int:
    """After the implementation runs were started (or found started): they are no longer pending."""
    return inventory.mark_mlc_runs_started([run["trigger_run_id"] for run in runs])
