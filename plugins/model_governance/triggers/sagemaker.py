"""Waiting in the triggerer for a SageMaker Processing job to end or an endpoint to settle.

The Amazon provider's ``SageMakerTrigger`` (9.39) would also do: it reports a Failed or Stopped job as an
event. This one is kept because it reads the state only after a start delay (the task has just read it
before deferring, and an event fired within moments of the deferral meets Airflow's stale defer-exit race,
apache/airflow#66374 and #72716, which failed a resumed ``deploy_endpoint`` in this project's e2e runs),
because the deferral's ``timeout`` rather than a count of waiter attempts bounds the wait, and because it
gives one event shape for both resources, with SageMaker's reason and a ``not_found`` state.

It only observes and reports the end state (success, failed with SageMaker's reason, or gone); the task
decides: a risk test job that failed to run comes back to the task, which records it and opens its Jira
ticket. It has no side effects, so running it more than once is harmless.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from model_governance.workloads import ENDPOINT_BUSY, ENDPOINT_READY, JOB_RUNNING, JOB_SUCCEEDED

PROCESSING_JOB = "processing_job"
ENDPOINT = "endpoint"
SUCCESS = "success"
FAILED = "failed"
NOT_FOUND = "not_found"
ERROR = "error"
#: Consecutive failed reads before the trigger gives up and lets the task decide.
MAX_READ_ERRORS = 10


class SageMakerWaitTrigger(BaseTrigger):
    """Fire when the Processing job ``name`` has ended, or the endpoint ``name`` is no longer busy.

    Events: ``{"status": "success" | "failed" | "not_found" | "error", "resource", "name",
    "resource_status", "failure_reason"}``; ``success`` is a Completed job or an InService endpoint.

    :param resource: ``processing_job`` or ``endpoint``.
    :param name: the job's or endpoint's name.
    :param aws_conn_id: / :param region_name: the business entity's Amazon connection and region.
    :param poll_interval: seconds between reads.
    :param start_delay: seconds before the first read (at least one interval: the task read the state
        just before deferring). An event fired within moments of the deferral can meet Airflow's stale
        defer-exit race (apache/airflow#66374, #72716: the resumed task is failed without running), as
        ``JiraApprovalTrigger`` notes; nothing is lost by waiting.
    """

    def __init__(
        self,
        *,
        resource: str,
        name: str,
        aws_conn_id: str,
        region_name: str | None = None,
        poll_interval: float = 30.0,
        start_delay: float = 5.0,
    ) -> None:
        super().__init__()
        if resource not in (PROCESSING_JOB, ENDPOINT):
            raise ValueError(f"resource must be {PROCESSING_JOB!r} or {ENDPOINT!r}, got {resource!r}")
        self.resource = resource
        self.name = name
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.poll_interval = float(poll_interval)
        self.start_delay = float(start_delay)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "resource": self.resource,
                "name": self.name,
                "aws_conn_id": self.aws_conn_id,
                "region_name": self.region_name,
                "poll_interval": self.poll_interval,
                "start_delay": self.start_delay,
            },
        )

    def _event(self, status: str, described: dict[str, Any] | None, **extra: Any) -> TriggerEvent:
        described = described or {}
        key = "ProcessingJobStatus" if self.resource == PROCESSING_JOB else "EndpointStatus"
        return TriggerEvent(
            {
                "status": status,
                "resource": self.resource,
                "name": self.name,
                "resource_status": described.get(key),
                "failure_reason": described.get("FailureReason") or described.get("ExitMessage"),
                **extra,
            }
        )

    def _read(self) -> dict[str, Any] | None:
        from model_governance.hooks.sagemaker_jobs import SageMakerJobsHook

        hook = SageMakerJobsHook(aws_conn_id=self.aws_conn_id, region_name=self.region_name)
        if self.resource == PROCESSING_JOB:
            return hook.describe_processing_job(self.name)
        return hook.describe_endpoint(self.name)

    def settled(self, described: dict[str, Any] | None) -> TriggerEvent | None:
        """The event for this state, or None while the job runs or the endpoint is busy."""
        if described is None:
            return self._event(NOT_FOUND, None)
        if self.resource == PROCESSING_JOB:
            status = described.get("ProcessingJobStatus")
            if status in JOB_RUNNING:
                return None
            return self._event(SUCCESS if status == JOB_SUCCEEDED else FAILED, described)
        status = described.get("EndpointStatus")
        if status in ENDPOINT_BUSY:
            return None
        return self._event(SUCCESS if status == ENDPOINT_READY else FAILED, described)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        errors = 0
        wait = max(self.poll_interval, self.start_delay)
        while True:
            await asyncio.sleep(wait)
            wait = self.poll_interval
            try:
                # Blocking boto3 (with its adaptive retries) in a thread: the event loop stays free.
                described = await asyncio.to_thread(self._read)
            except Exception as exc:
                errors += 1
                self.log.warning(
                    "Reading %s %s failed (%d in a row): %s", self.resource, self.name, errors, exc
                )
                if errors >= MAX_READ_ERRORS:
                    yield self._event(ERROR, None, message=f"{type(exc).__name__}: {exc}")
                    return
                continue
            errors = 0
            event = self.settled(described)
            if event is not None:
                yield event
                return
