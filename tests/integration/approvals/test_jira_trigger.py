"""JiraApprovalTrigger through Airflow's own SharedStreamManager against the Jira sandbox: many waiting
approvals, one search per interval, each trigger firing for its own ticket only; answers that are not
Jira's JSON (a gateway's login page) are poll errors, never a decision or a failure."""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from typing import Any

import pytest
from airflow.sdk import BaseHook
from airflow.triggers.shared_stream import SharedStreamManager

from model_governance.approvals import approval_marker
from model_governance.hooks import jira as hooks_jira
from model_governance.hooks.jira import JiraAsyncClient, JiraHook, JiraSettings
from model_governance.triggers.jira import JiraApprovalTrigger
from tests.integration.approvals.conftest import JiraTarget


def _tickets(jira: JiraTarget, count: int) -> list[str]:
    hook = JiraHook(jira.conn_id)
    run = uuid.uuid4().hex
    return [
        hook.create_ticket(
            marker=approval_marker(dag_id="d", run_id=run, task_id=f"t{i}", kind="PIA"),
            project_key="MLC",
            summary=f"approval {i}",
            description="d",
        ).key
        for i in range(count)
    ]


def test_shared_stream_serves_every_waiting_approval(jira: JiraTarget) -> None:
    keys = _tickets(jira, 6)
    approved, rejected, deleted, *waiting = keys
    search = "POST /rest/api/3/search/jql" if jira.flavor == "cloud" else "GET /rest/api/2/search"

    async def scenario() -> tuple[dict[str, dict], int, int]:
        manager = SharedStreamManager()
        fired: dict[str, dict] = {}

        async def wait(trigger_id: int, key: str) -> None:
            trigger = JiraApprovalTrigger(
                jira_conn_id=jira.conn_id,
                project_key="MLC",
                issue_key=key,
                poll_interval=0.5,
                direct_check_interval=3600,
                start_delay=0,
                search_lag_margin=60,
            )
            stream = manager.subscribe(
                trigger_id=trigger_id, trigger=trigger, key=trigger.shared_stream_key()
            )
            async for event in trigger.filter_shared_stream(stream):
                fired[key] = event.payload
                return

        tasks = [asyncio.create_task(wait(i, key)) for i, key in enumerate(keys)]
        # Every trigger has done its start-up read and is on the shared stream: the read count has settled
        # (a fixed one second was not always enough on a loaded machine).
        settled, last = 0, -1
        for _ in range(150):
            await asyncio.sleep(0.1)
            now = jira.sandbox.count("GET /rest/api/2/issue/{key}")
            settled = settled + 1 if now == last else 0
            last = now
            if now >= len(keys) and settled >= 10:
                break
        searches_before = jira.sandbox.count(search)
        reads_before = jira.sandbox.count("GET /rest/api/2/issue/{key}")
        await asyncio.to_thread(jira.sandbox.transition_as, approved, "Done", "reviewer@example.com")
        await asyncio.to_thread(jira.sandbox.transition_as, rejected, "Rejected", "reviewer@example.com")
        for _ in range(100):
            if approved in fired and rejected in fired:
                break
            await asyncio.sleep(0.1)
        searches = jira.sandbox.count(search) - searches_before
        reads = jira.sandbox.count("GET /rest/api/2/issue/{key}") - reads_before
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await manager.stop_all()
        return fired, searches, reads

    JiraHook(jira.conn_id)._rest("delete", f"2/issue/{deleted}", idempotent=True)
    fired, searches, reads = asyncio.run(scenario())
    assert fired[approved] == {"status": "decided", "issue_key": approved, "jira_status": "Done"}
    assert fired[rejected] == {"status": "decided", "issue_key": rejected, "jira_status": "Rejected"}
    assert fired[deleted] == {"status": "deleted", "issue_key": deleted}
    assert not set(waiting) & set(fired), "undecided tickets did not fire"
    assert reads == 0, "after start-up, only the shared search reads Jira"
    assert 1 <= searches <= 12, searches  # one search per 0.5 s interval for the whole group


def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The triggerer's client without its real backoff waits (each attempt still goes to the sandbox)."""

    async def no_wait(_seconds: float) -> None:
        await asyncio.sleep(0)

    async def client(cls: type[JiraHook], jira_conn_id: str) -> JiraAsyncClient:
        conn = await BaseHook.aget_connection(jira_conn_id)
        return JiraAsyncClient(JiraSettings.from_connection(conn), sleep=no_wait)

    monkeypatch.setattr(JiraHook, "async_client", classmethod(client))
    monkeypatch.setattr(hooks_jira, "_SHARED_CLIENTS", weakref.WeakKeyDictionary())


def test_login_page_in_the_shared_poll_is_a_poll_error_not_a_failure(
    jira: JiraTarget, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An SSO gateway answers the shared search with its HTML login page: every waiting approval keeps
    waiting (a poll error with a log line naming the URL and content type), and fires once Jira answers."""
    _fast_retries(monkeypatch)
    (key,) = _tickets(jira, 1)
    search = "POST /rest/api/3/search/jql" if jira.flavor == "cloud" else "GET /rest/api/2/search"

    async def scenario() -> tuple[dict | None, list[str]]:
        manager = SharedStreamManager()
        trigger = JiraApprovalTrigger(
            jira_conn_id=jira.conn_id,
            project_key="MLC",
            issue_key=key,
            poll_interval=0.3,
            direct_check_interval=3600,
            start_delay=0,
        )
        kinds: list[str] = []
        fired: dict | None = None
        stream = manager.subscribe(trigger_id=1, trigger=trigger, key=trigger.shared_stream_key())

        async def watch() -> None:
            nonlocal fired
            async for event in trigger.filter_shared_stream(_recording(stream, kinds)):
                fired = event.payload
                return

        await asyncio.to_thread(jira.sandbox.set_faults, html_login_page={"rate": 1.0, "endpoints": [search]})
        task = asyncio.create_task(watch())
        for _ in range(100):  # the trigger's own start-up read is done; it is on the shared stream
            if kinds:
                break
            await asyncio.sleep(0.1)
        await asyncio.to_thread(jira.sandbox.transition_as, key, "Done", "reviewer@example.com")
        for _ in range(100):
            if kinds.count("poll_error") >= 3:
                break
            await asyncio.sleep(0.1)
        assert fired is None, "a login page decided nothing"
        await asyncio.to_thread(jira.sandbox.clear_faults)
        await asyncio.wait_for(task, timeout=20)
        await manager.stop_all()
        return fired, kinds

    with caplog.at_level(logging.WARNING):
        fired, kinds = asyncio.run(scenario())
    assert fired == {"status": "decided", "issue_key": key, "jira_status": "Done"}
    assert kinds.count("poll_error") >= 2 and kinds[-1] == "poll"
    messages = [r.getMessage() for r in caplog.records]
    assert any("text/html" in m and "/search" in m and jira.sandbox.url in m for m in messages), messages
    assert any("poll of project MLC failed" in m for m in messages), messages
    secret = jira.sandbox.credentials()[1]
    assert not any(secret in m for m in messages)


async def _recording(stream: Any, kinds: list[str]) -> Any:
    async for raw in stream:
        kinds.append(raw.get("kind"))
        yield raw


def test_a_proxy_404_page_is_not_a_deleted_ticket(jira: JiraTarget, monkeypatch: pytest.MonkeyPatch) -> None:
    """Jira's own 404 (JSON) means the ticket is gone; a gateway's HTML 404 page says nothing about it."""
    _fast_retries(monkeypatch)
    (key,) = _tickets(jira, 1)
    trigger = JiraApprovalTrigger(jira_conn_id=jira.conn_id, project_key="MLC", issue_key=key, start_delay=0)

    async def check() -> Any:
        return await trigger._direct_check()

    with jira.sandbox.faults(
        html_login_page={"rate": 1.0, "status": 404, "endpoints": ["GET /rest/api/2/issue/{key}"]}
    ):
        assert asyncio.run(check()) is None  # still waiting, not "deleted"
    jira.sandbox.transition_as(key, "Done", "reviewer@example.com")
    event = asyncio.run(check())
    assert event is not None and event.payload["status"] == "decided"


def test_an_unexpected_json_shape_is_a_poll_error(jira: JiraTarget, monkeypatch: pytest.MonkeyPatch) -> None:
    """JSON that is not a search page (a proxy's own JSON) fails that poll only."""
    from model_governance.hooks.jira import JiraAsyncClient as Client

    async def odd(self: Client, method: str, path: str, **kwargs: Any) -> Any:
        return {"message": "service window", "issues": "later"}

    monkeypatch.setattr(Client, "_get_or_post", odd)

    async def first_event() -> Any:
        stream = JiraApprovalTrigger.open_shared_stream(
            {"jira_conn_id": jira.conn_id, "project_key": "MLC", "poll_interval": 60, "search_lag_margin": 60}
        )
        try:
            return await anext(stream)
        finally:
            await stream.aclose()

    event = asyncio.run(first_event())
    assert event["kind"] == "poll_error" and "not a search page" in event["error"]
