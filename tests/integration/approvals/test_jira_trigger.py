"""JiraApprovalTrigger through Airflow's own SharedStreamManager against the Jira sandbox: many waiting
approvals, one search per interval, each trigger firing for its own ticket only."""

from __future__ import annotations

import asyncio
import uuid

from airflow.triggers.shared_stream import SharedStreamManager

from model_governance.approvals import approval_marker
from model_governance.hooks.jira import JiraHook
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
        await asyncio.sleep(1.0)  # every trigger has done its start-up read and is on the shared stream
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
