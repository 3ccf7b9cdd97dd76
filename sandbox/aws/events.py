"""EventBridge stand-in: model package changes become `SageMaker Model Package State Change` events
delivered to an SQS FIFO queue, the route an EventBridge rule with an SQS FIFO target takes in AWS."""

from __future__ import annotations

import copy
import json
import random
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from typing import Any

from sandbox.aws.errors import AwsError

DETAIL_TYPE = "SageMaker Model Package State Change"
SOURCE = "aws.sagemaker"
_TIME_FIELDS = ("CreationTime", "LastModifiedTime")
_KEEP = 1000  # recent events kept for GET /_sandbox/events
UNSET: Any = object()


def iso_time(epoch: float, millis: bool = True) -> str:
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class EventBus:
    """Builds the events, decides duplicates with a seeded RNG, and sends them through moto's SQS backend
    in-process (so they are neither counted as client requests nor throttled)."""

    def __init__(self, account_id: str, region: str, seed: int) -> None:
        self.account_id = account_id
        self.region = region
        self.queue: str | None = None
        self.duplicate_rate = 0.0
        self._rng = random.Random(f"events-{seed}")  # noqa: S311 - repeatable test faults, not security
        self._lock = threading.Lock()
        self.recent: deque[dict[str, Any]] = deque(maxlen=_KEEP)
        self.stats = {"emitted": 0, "delivered": 0, "duplicates": 0, "undeliverable": 0}

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._rng = random.Random(f"events-{seed}")  # noqa: S311 - repeatable test faults, not security

    def configure(self, queue: Any = UNSET, duplicate_rate: float | None = None) -> None:
        """Set the target queue (a name, or None to stop delivery) and/or the duplicate rate."""
        if duplicate_rate is not None:
            if not 0.0 <= float(duplicate_rate) <= 1.0:
                raise AwsError(
                    "InvalidSandboxConfig", f"duplicate_rate {duplicate_rate} must be between 0.0 and 1.0."
                )
            self.duplicate_rate = float(duplicate_rate)
        if queue is not UNSET:
            if queue is not None:
                if not queue.endswith(".fifo"):
                    raise AwsError(
                        "InvalidSandboxConfig",
                        f"events queue '{queue}' is not a FIFO queue: its name must end in .fifo "
                        "(model package events are ordered per group with MessageGroupId).",
                    )
                self._ensure_queue(queue)
            self.queue = queue

    def _backend(self) -> Any:
        from moto.sqs.models import sqs_backends

        return sqs_backends[self.account_id][self.region]

    def _ensure_queue(self, name: str) -> None:
        backend = self._backend()
        if name not in backend.queues:
            # Created once so the demo works from a fresh start; a test can still make its own queue.
            backend.create_queue(name, FifoQueue="true", ContentBasedDeduplication="false")

    def build(self, kind: str, package: dict[str, Any], updated: list[str]) -> dict[str, Any]:
        detail = copy.deepcopy(package)
        for key in _TIME_FIELDS:
            if key in detail:
                detail[key] = iso_time(detail[key])
        if updated:
            detail["UpdatedModelPackageFields"] = list(updated)
        with self._lock:
            event_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        return {
            "version": "0",
            "id": event_id,
            "detail-type": DETAIL_TYPE,
            "source": SOURCE,
            "account": self.account_id,
            "time": iso_time(time.time(), millis=False),  # when the change happened, deletes included
            "region": self.region,
            "resources": [package["ModelPackageArn"]],
            "detail": detail,
        }

    def emit(self, kind: str, package: dict[str, Any], updated: list[str]) -> None:
        event = self.build(kind, package, updated)
        with self._lock:
            duplicate = self._rng.random() < self.duplicate_rate
            self.stats["emitted"] += 1
            self.recent.append(event)
            queue = self.queue
        deliveries = 2 if duplicate else 1
        for attempt in range(deliveries):
            self._deliver(queue, event, attempt)
        if duplicate:
            with self._lock:
                self.stats["duplicates"] += 1

    def _deliver(self, queue: str | None, event: dict[str, Any], attempt: int) -> None:
        if queue is None:
            return
        group = event["detail"].get("ModelPackageGroupName") or event["detail"]["ModelPackageName"]
        # Each delivery has its own deduplication id: a redelivery AWS makes after the FIFO dedup window
        # reaches the consumer again, which is what consumers must be idempotent against.
        dedup = event["id"] if attempt == 0 else f"{event['id']}-redelivery-{attempt}"
        try:
            self._backend().send_message(queue, json.dumps(event), deduplication_id=dedup, group_id=group)
        except Exception:
            # EventBridge does not fail the API call when its target is gone; it drops the event.
            with self._lock:
                self.stats["undeliverable"] += 1
            return
        with self._lock:
            self.stats["delivered"] += 1

    def reset(self) -> None:
        with self._lock:
            self.recent.clear()
            for key in self.stats:
                self.stats[key] = 0
