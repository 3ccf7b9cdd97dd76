"""Waiting for Jira approvals in the triggerer, at the cost of one search per poll interval.

Every ``JiraApprovalTrigger`` on the same connection and project shares ONE poll loop per triggerer
(Airflow 3.3 shared streams, ``BaseEventTrigger.shared_stream_key``): each interval the loop runs one
incremental search, ``project = P AND updated >= -Nm`` (all pages), and broadcasts the ticket statuses it
saw; each trigger picks out its own ticket. Relative JQL times are evaluated by Jira in its own clock and
zone, so no time zone can shift the window. Search lags writes, so the window overlaps the previous one by
``search_lag_margin`` and each trigger also reads its own ticket directly at start and every
``direct_check_interval``.

The trigger only observes: verifying who moved the ticket, refusing and moving it back, reminding and
recording all happen in the task after the event (triggers may run more than once).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Hashable
from datetime import UTC, datetime
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from model_governance.exceptions import JiraError
from model_governance.hooks.jira import JiraHook, jql_string

DECIDED = "decided"
DELETED = "deleted"
REMINDER_DUE = "reminder_due"
ERROR = "error"

log = logging.getLogger(__name__)


def _status_name(issue: dict[str, Any]) -> str | None:
    """The status name of a search result, or None when it came without one (a field not returned)."""
    fields = issue.get("fields")
    status = fields.get("status") if isinstance(fields, dict) else None
    name = status.get("name") if isinstance(status, dict) else None
    return str(name) if name is not None else None


def poll_jql(project_key: str, minutes: int) -> str:
    """The shared poll's search: the project's tickets updated in the last ``minutes`` (Jira's own clock)."""
    return f'project = {jql_string(project_key)} AND updated >= "-{int(minutes)}m" ORDER BY updated ASC'


def poll_window_minutes(seconds_since_last_poll: float | None, poll_interval: float, margin: float) -> int:
    """Minutes the next search must look back: the gap since the last good poll plus the lag margin."""
    gap = poll_interval if seconds_since_last_poll is None else seconds_since_last_poll
    return max(1, math.ceil((gap + margin) / 60.0))


class JiraApprovalTrigger(BaseEventTrigger):
    """Fire when an approval ticket reaches the Done or Rejected status, is deleted, or a reminder is due.

    :param jira_conn_id: Airflow connection of type ``jira``.
    :param project_key: the ticket's project: the unit of sharing.
    :param issue_key: the approval ticket.
    :param done_status: / :param rejected_status: the deciding status names.
    :param poll_interval: seconds between the shared searches.
    :param direct_check_interval: seconds between this trigger's own reads of its ticket.
    :param search_lag_margin: seconds of overlap between search windows (search is eventually consistent).
    :param remind_at: ISO time at which to fire a ``reminder_due`` event, if still undecided.
    :param start_delay: seconds before the first own read. An event fired within moments of the deferral
        can meet Airflow's stale defer-exit race (apache/airflow#66374, #72716: the scheduler fails the
        resumed task); the task itself checks the ticket before deferring, so nothing is lost by waiting.
    """

    def __init__(
        self,
        *,
        jira_conn_id: str,
        project_key: str,
        issue_key: str,
        done_status: str = "Done",
        rejected_status: str = "Rejected",
        poll_interval: float = 60.0,
        direct_check_interval: float = 1800.0,
        search_lag_margin: float = 120.0,
        remind_at: str | None = None,
        start_delay: float = 5.0,
    ) -> None:
        super().__init__()
        self.jira_conn_id = jira_conn_id
        self.project_key = project_key
        self.issue_key = issue_key
        self.done_status = done_status
        self.rejected_status = rejected_status
        self.poll_interval = float(poll_interval)
        self.direct_check_interval = float(direct_check_interval)
        self.search_lag_margin = float(search_lag_margin)
        self.remind_at = remind_at
        self.start_delay = float(start_delay)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "jira_conn_id": self.jira_conn_id,
                "project_key": self.project_key,
                "issue_key": self.issue_key,
                "done_status": self.done_status,
                "rejected_status": self.rejected_status,
                "poll_interval": self.poll_interval,
                "direct_check_interval": self.direct_check_interval,
                "search_lag_margin": self.search_lag_margin,
                "remind_at": self.remind_at,
                "start_delay": self.start_delay,
            },
        )

    def shared_stream_key(self) -> Hashable | None:
        # Everything open_shared_stream reads from kwargs must be in the key (siblings may differ otherwise).
        return (
            "jira-approvals",
            self.jira_conn_id,
            self.project_key,
            self.poll_interval,
            self.search_lag_margin,
        )

    # -- the shared poll ------------------------------------------------------------------------------

    @classmethod
    async def open_shared_stream(cls, kwargs: dict[str, Any]) -> AsyncIterator[Any]:
        """One incremental project search per interval; yields ``{"kind": "poll", "statuses": {...}}``.

        A failed search yields ``{"kind": "poll_error"}`` and the loop goes on: a Jira hiccup, a gateway's
        HTML login page instead of JSON, or an answer of an unexpected shape must not fail thousands of
        waiting approvals. The next good poll looks back over the whole gap.
        """
        client = await JiraHook.async_client(kwargs["jira_conn_id"])
        interval, margin = float(kwargs["poll_interval"]), float(kwargs["search_lag_margin"])
        project = str(kwargs["project_key"])
        loop = asyncio.get_running_loop()
        last_good: float | None = None
        try:
            while True:
                started = loop.time()
                minutes = poll_window_minutes(
                    None if last_good is None else started - last_good, interval, margin
                )
                jql = poll_jql(project, minutes)
                try:
                    issues = await client.search(jql, fields=("status", "updated"))
                    statuses = {str(i["key"]): _status_name(i) for i in issues}
                except Exception as exc:  # any failure of one poll is that poll's error
                    log.warning(
                        "Jira approvals poll of project %s failed; every waiting approval keeps waiting and "
                        "the next poll in %gs covers the gap: %s",
                        project,
                        interval,
                        exc if isinstance(exc, JiraError) else f"{type(exc).__name__}: {exc}",
                    )
                    yield {"kind": "poll_error", "error": str(exc)}
                else:
                    last_good = started
                    known = {k: v for k, v in statuses.items() if v is not None}
                    yield {"kind": "poll", "statuses": known, "requests": client.requests}
                await asyncio.sleep(max(0.0, interval - (loop.time() - started)))
        finally:
            await client.aclose()

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        await asyncio.sleep(self.start_delay)
        event = await self._direct_check()
        if event is not None:
            yield event
            return
        loop = asyncio.get_running_loop()
        next_direct = loop.time() + self.direct_check_interval
        async for raw in shared_stream:
            if raw.get("kind") == "poll":
                status = raw["statuses"].get(self.issue_key)
                if status is not None and self._deciding(status):
                    yield self._decided(status)
                    return
            if loop.time() >= next_direct:
                next_direct = loop.time() + self.direct_check_interval
                event = await self._direct_check()
                if event is not None:
                    yield event
                    return
            if self._reminder_due():
                yield TriggerEvent({"status": REMINDER_DUE, "issue_key": self.issue_key})
                return

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Standalone loop, used only when the triggerer does not share streams: own reads each interval."""
        await asyncio.sleep(self.start_delay)
        while True:
            event = await self._direct_check()
            if event is None and self._reminder_due():
                event = TriggerEvent({"status": REMINDER_DUE, "issue_key": self.issue_key})
            if event is not None:
                yield event
                return
            await asyncio.sleep(self.poll_interval)

    # -- helpers --------------------------------------------------------------------------------------

    def _deciding(self, status: str) -> bool:
        return status.lower() in (self.done_status.lower(), self.rejected_status.lower())

    def _decided(self, status: str) -> TriggerEvent:
        return TriggerEvent({"status": DECIDED, "issue_key": self.issue_key, "jira_status": status})

    def _reminder_due(self) -> bool:
        return self.remind_at is not None and datetime.now(UTC) >= datetime.fromisoformat(self.remind_at)

    async def _direct_check(self) -> TriggerEvent | None:
        client = await JiraHook.shared_async_client(self.jira_conn_id)
        try:
            status = await client.issue_status(self.issue_key)
        except Exception as exc:  # a failed read must not end the wait
            # A failed read is retried at the next direct check; the shared search keeps watching.
            self.log.warning("Reading %s directly failed: %s", self.issue_key, exc)
            return None
        if status is None:
            return TriggerEvent({"status": DELETED, "issue_key": self.issue_key})
        if self._deciding(status):
            return self._decided(status)
        return None
