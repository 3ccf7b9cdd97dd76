"""Waiting approvals at scale: the shared-stream JiraApprovalTrigger against per-ticket polling.

For N waiting approvals (default 10, 100, 1,000, 5,000) against the Jira sandbox, for a fixed window of
poll intervals, it prints:

- Jira requests per poll interval: ours (Airflow's SharedStreamManager driving N real JiraApprovalTrigger
  filters over one shared search loop) beside the baseline that reads each ticket once per interval
  (how Airflow's JiraTicketSensor polls), and their ratio;
- triggerer memory per waiting approval (tracemalloc, Python allocations of the N subscribed triggers);
- the time from a ticket's move to Done until its trigger's event, against one poll interval.

Intervals are scaled down (``--interval``, default 2 s) so a run takes minutes; the request counts per
interval do not depend on the interval's length. Usage:
``python benchmarks/approvals.py [--sizes 10,100] [--interval 2] [--window 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
CONN_ID = "jira_bench"
SEARCH = "POST /rest/api/3/search/jql"
DIRECT_READ = "GET /rest/api/2/issue/{key}"


def _direct_reads(sandbox: Any) -> int:
    return int(sandbox.counters()["endpoints"].get(DIRECT_READ, 0))


def create_tickets(sandbox: Any, count: int, label: str) -> list[str]:
    """Open ``count`` tickets through the REST API, a few threads at a time (setup, not measured)."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    login, secret = sandbox.credentials()
    session = requests.Session()
    session.auth = (login, secret)

    def create(index: int) -> str:
        body = {
            "fields": {
                "project": {"key": "MLC"},
                "summary": f"bench approval {index}",
                "issuetype": {"name": "Task"},
                "labels": [label],
            }
        }
        response = session.post(f"{sandbox.url}/rest/api/2/issue", json=body, timeout=30)
        response.raise_for_status()
        return str(response.json()["key"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = list(pool.map(create, range(count)))
    # Waiting approvals are old tickets: move the sandbox clock an hour on, so the new tickets fall out of
    # the incremental search window as they would after a real wait.
    offset = float(sandbox.settings()["clock_offset"])
    sandbox.settings(clock_offset=offset + 3600)
    return keys


async def run_shared(keys: list[str], interval: float, window: int, sandbox: Any) -> dict[str, Any]:
    """N JiraApprovalTriggers through Airflow's SharedStreamManager, as the triggerer runs them."""
    from airflow.triggers.shared_stream import SharedStreamManager

    from model_governance.triggers.jira import JiraApprovalTrigger

    manager = SharedStreamManager()
    events: dict[str, float] = {}
    tracemalloc.start()
    before = tracemalloc.take_snapshot()

    async def consume(trigger_id: int, key: str) -> None:
        trigger = JiraApprovalTrigger(
            jira_conn_id=CONN_ID,
            project_key="MLC",
            issue_key=key,
            poll_interval=interval,
            direct_check_interval=3600.0,
            search_lag_margin=0.0,
            start_delay=0.0,
        )
        stream = manager.subscribe(trigger_id=trigger_id, trigger=trigger, key=trigger.shared_stream_key())
        async for _event in trigger.filter_shared_stream(stream):
            events[key] = time.monotonic()
            return

    reads_before = _direct_reads(sandbox)
    tasks = [asyncio.create_task(consume(i, key)) for i, key in enumerate(keys)]
    # Let every trigger finish its start-up read before counting steady-state requests.
    while _direct_reads(sandbox) - reads_before < len(keys):
        await asyncio.sleep(0.2)
    await asyncio.sleep(interval)
    memory = tracemalloc.take_snapshot().compare_to(before, "filename")
    allocated = sum(stat.size_diff for stat in memory)
    tracemalloc.stop()
    start_counts = sandbox.counters()["endpoints"]
    await asyncio.sleep(interval * window)
    end_counts = sandbox.counters()["endpoints"]
    steady = sum(end_counts.values()) - sum(start_counts.values())
    searches = end_counts.get(SEARCH, 0) - start_counts.get(SEARCH, 0)

    # Latency: move a few tickets to Done and time until their triggers fire.
    moved = keys[: min(5, len(keys))]
    moved_at: dict[str, float] = {}
    for key in moved:
        await asyncio.to_thread(sandbox.transition_as, key, "Done")
        moved_at[key] = time.monotonic()
    deadline = time.monotonic() + interval * 4 + 10
    while time.monotonic() < deadline and not all(k in events for k in moved):
        await asyncio.sleep(0.05)
    latencies = [events[k] - moved_at[k] for k in moved if k in events]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await manager.stop_all()
    return {
        "requests_per_interval": steady / window,
        "search_pages_per_interval": searches / window,
        "bytes_per_approval": allocated / len(keys),
        "latency_max_s": max(latencies) if latencies else float("nan"),
        "latency_median_s": statistics.median(latencies) if latencies else float("nan"),
        "seen": f"{len(latencies)}/{len(moved)}",
    }


async def run_per_ticket(keys: list[str], rounds: int, sandbox: Any) -> dict[str, Any]:
    """The baseline: each poll interval reads every waiting ticket once (JiraTicketSensor's way).

    It runs ``rounds`` poll rounds back to back (16 reads in flight, like a busy worker pool) and counts
    at the sandbox what one round costs. Its cost per interval is that, whatever the interval; the
    seconds a round takes show whether it even fits in one.
    """
    from model_governance.hooks.jira import JiraHook

    client = await JiraHook.async_client(CONN_ID)
    slots = asyncio.Semaphore(16)

    async def read(key: str) -> None:
        async with slots:
            await client.issue_status(key)

    start = sum(sandbox.counters()["endpoints"].values())
    began = time.monotonic()
    for _ in range(rounds):
        await asyncio.gather(*(read(key) for key in keys))
    seconds = (time.monotonic() - began) / rounds
    spent = sum(sandbox.counters()["endpoints"].values()) - start
    await client.aclose()
    return {"requests_per_interval": spent / rounds, "seconds_per_round": seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,5000")
    parser.add_argument("--interval", type=float, default=2.0, help="poll interval, seconds")
    parser.add_argument("--window", type=int, default=5, help="poll intervals measured")
    args = parser.parse_args()

    from sandbox.jira.pytest_fixtures import start_jira_sandbox

    sandbox = start_jira_sandbox("cloud")
    try:
        login, secret = sandbox.credentials()
        os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(
            {
                "conn_type": "model_governance_jira",
                "host": sandbox.url,
                "login": login,
                "password": secret,
                "extra": {"flavor": "cloud"},
            }
        )
        header = (
            f"{'N':>6} {'ours req/int':>13} {'baseline req/int':>17} {'ratio':>8} "
            f"{'bytes/approval':>15} {'move->event max':>16} {'interval':>9}"
        )
        print(header)
        for size in [int(s) for s in args.sizes.split(",")]:
            keys = create_tickets(sandbox, size, f"bench-{size}-{int(time.time())}")
            shared = asyncio.run(run_shared(keys, args.interval, args.window, sandbox))
            undecided = keys[5:] or keys
            baseline = asyncio.run(run_per_ticket(undecided, 2, sandbox))
            # The five decided tickets no longer wait; scale to N for a like-for-like figure.
            per_ticket = baseline["requests_per_interval"] * size / len(undecided)
            ratio = per_ticket / max(shared["requests_per_interval"], 1e-9)
            capped = (
                f" (a baseline round took {baseline['seconds_per_round']:.1f}s: longer than the interval)"
                if baseline["seconds_per_round"] > args.interval
                else ""
            )
            print(
                f"{size:>6} {shared['requests_per_interval']:>13.2f} {per_ticket:>17.1f} {ratio:>7.0f}x "
                f"{shared['bytes_per_approval']:>15.0f} {shared['latency_max_s']:>15.2f}s "
                f"{args.interval:>8.1f}s  search pages/int {shared['search_pages_per_interval']:.2f}, "
                f"decisions seen {shared['seen']}{capped}",
                flush=True,
            )
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
