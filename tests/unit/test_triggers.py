"""Every trigger of the provider: JSON-safe arguments and a serialize() that round-trips."""

from __future__ import annotations

import importlib
import json

import pytest

from model_governance.triggers.jira import JiraApprovalTrigger, poll_window_minutes
from model_governance.triggers.sagemaker import SageMakerWaitTrigger

TRIGGERS = [
    JiraApprovalTrigger(
        jira_conn_id="jira_default",
        project_key="MLC",
        issue_key="MLC-12",
        done_status="Approved",
        rejected_status="Declined",
        poll_interval=30,
        direct_check_interval=600,
        search_lag_margin=90,
        remind_at="2026-12-01T09:00:00+00:00",
        start_delay=0,
    ),
    JiraApprovalTrigger(jira_conn_id="jira_dc", project_key="GOV", issue_key="GOV-1"),
    SageMakerWaitTrigger(
        resource="processing_job", name="mg-risk-tests-1", aws_conn_id="aws", region_name="eu-west-1"
    ),
    SageMakerWaitTrigger(resource="endpoint", name="churn", aws_conn_id="aws", poll_interval=5),
]


@pytest.mark.parametrize("trigger", TRIGGERS, ids=lambda t: type(t).__name__)
def test_serialize_round_trips(trigger: object) -> None:
    classpath, kwargs = trigger.serialize()  # type: ignore[attr-defined]
    assert json.loads(json.dumps(kwargs)) == kwargs, "arguments must be JSON-safe"
    module, name = classpath.rsplit(".", 1)
    rebuilt = getattr(importlib.import_module(module), name)(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    assert type(rebuilt) is type(trigger)


def test_siblings_share_one_stream_key() -> None:
    a = JiraApprovalTrigger(jira_conn_id="j", project_key="MLC", issue_key="MLC-1")
    b = JiraApprovalTrigger(
        jira_conn_id="j", project_key="MLC", issue_key="MLC-2", remind_at="2030-01-01T00:00:00+00:00"
    )
    c = JiraApprovalTrigger(jira_conn_id="j", project_key="GOV", issue_key="GOV-1")
    assert a.shared_stream_key() == b.shared_stream_key() != c.shared_stream_key()
    assert hash(a.shared_stream_key())


@pytest.mark.parametrize(
    ("since", "interval", "margin", "minutes"),
    [(None, 60, 120, 3), (60, 60, 120, 3), (61, 60, 120, 4), (3600, 60, 0, 60), (0, 5, 0, 1)],
)
def test_poll_window_covers_the_gap_and_the_lag(
    since: float | None, interval: float, margin: float, minutes: int
) -> None:
    assert poll_window_minutes(since, interval, margin) == minutes


class FakeClient:
    """Stands in for JiraAsyncClient: answers direct reads from a dict, counts them."""

    def __init__(self, statuses: dict[str, str | None]) -> None:
        self.statuses = statuses
        self.reads = 0

    async def issue_status(self, key: str) -> str | None:
        self.reads += 1
        return self.statuses.get(key)

    async def aclose(self) -> None:
        return None


@pytest.fixture
def fake_jira(monkeypatch: pytest.MonkeyPatch) -> FakeClient:
    from model_governance.hooks.jira import JiraHook

    client = FakeClient({"MLC-1": "To Do"})

    async def async_client(cls: object, conn_id: str) -> FakeClient:
        return client

    monkeypatch.setattr(JiraHook, "shared_async_client", classmethod(async_client))
    return client


async def _stream(*polls: dict) -> object:
    for poll in polls:
        yield poll


def _collect(trigger: JiraApprovalTrigger, *polls: dict) -> list[dict]:
    import asyncio

    async def run() -> list[dict]:
        return [event.payload async for event in trigger.filter_shared_stream(_stream(*polls))]

    return asyncio.run(run())


def _trigger(**kwargs: object) -> JiraApprovalTrigger:
    return JiraApprovalTrigger(
        jira_conn_id="j", project_key="MLC", issue_key="MLC-1", start_delay=0, **kwargs
    )  # type: ignore[arg-type]


def test_filter_picks_its_own_ticket_from_the_broadcast(fake_jira: FakeClient) -> None:
    events = _collect(
        _trigger(),
        {"kind": "poll", "statuses": {"MLC-2": "Done"}},
        {"kind": "poll_error", "error": "HTTP 503"},
        {"kind": "poll", "statuses": {"MLC-1": "In Progress"}},
        {"kind": "poll", "statuses": {"MLC-1": "Done", "MLC-3": "Rejected"}},
        {"kind": "poll", "statuses": {"MLC-1": "Rejected"}},
    )
    assert events == [{"status": "decided", "issue_key": "MLC-1", "jira_status": "Done"}]
    assert fake_jira.reads == 1  # only the start-up read; the shared search did the rest


def test_a_ticket_decided_before_the_wait_is_seen_at_start(fake_jira: FakeClient) -> None:
    fake_jira.statuses["MLC-1"] = "Rejected"
    assert _collect(_trigger(), {"kind": "poll", "statuses": {}}) == [
        {"status": "decided", "issue_key": "MLC-1", "jira_status": "Rejected"}
    ]


def test_direct_reads_catch_what_the_lagging_search_missed(fake_jira: FakeClient) -> None:
    trigger = _trigger(direct_check_interval=0)
    polls = [{"kind": "poll", "statuses": {}} for _ in range(3)]
    fake_jira.statuses["MLC-1"] = "To Do"

    import asyncio

    async def run() -> list[dict]:
        events = []
        async for event in trigger.filter_shared_stream(_stream(*polls)):
            events.append(event.payload)
        return events

    async def flip_after_start() -> list[dict]:
        async def stream() -> object:
            yield polls[0]
            fake_jira.statuses["MLC-1"] = "Done"  # decided, but the search has not caught up
            yield polls[1]

        return [e.payload async for e in trigger.filter_shared_stream(stream())]

    assert asyncio.run(run()) == []
    assert asyncio.run(flip_after_start()) == [
        {"status": "decided", "issue_key": "MLC-1", "jira_status": "Done"}
    ]


def test_deleted_ticket_and_reminder(fake_jira: FakeClient) -> None:
    fake_jira.statuses["MLC-1"] = None
    assert _collect(_trigger(), {"kind": "poll", "statuses": {}}) == [
        {"status": "deleted", "issue_key": "MLC-1"}
    ]
    fake_jira.statuses["MLC-1"] = "To Do"
    due = _trigger(remind_at="2000-01-01T00:00:00+00:00")
    assert _collect(due, {"kind": "poll", "statuses": {}}) == [
        {"status": "reminder_due", "issue_key": "MLC-1"}
    ]
    later = _trigger(remind_at="2999-01-01T00:00:00+00:00")
    assert _collect(later, {"kind": "poll", "statuses": {}}) == []
