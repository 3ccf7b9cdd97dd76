"""The process: persistence across restarts and kills, SIGTERM, the transition CLI and the reviewer page."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from jira import JIRA, JIRAError

from sandbox.jira.pytest_fixtures import REPO_ROOT, JiraSandboxProcess, start_jira_sandbox

pytestmark = pytest.mark.integration


def test_restart_loses_nothing(tmp_path: Path) -> None:
    sandbox = start_jira_sandbox("cloud", state_file=tmp_path / "state.db")
    try:
        client = sandbox.client()
        issue = client.create_issue(
            project="MLC", summary="survives", issuetype={"name": "Task"}, labels=["keep"]
        )
        client.add_comment(issue.key, "note")
        client.add_attachment(issue.key, io.BytesIO(b"bytes that persist"), filename="doc.bin")
        client.add_issue_property(issue.key, "mg", {"v": 1})
        sandbox.transition_as(issue.key, "Done")
        assert sandbox.stop() == 0  # SIGTERM stops it cleanly
        assert sandbox.output[-1] == "sandbox.jira stopped"
        sandbox.start()
        client = sandbox.client()
        got = client.issue(issue.key, expand="changelog")
        assert got.fields.summary == "survives"
        assert got.fields.status.name == "Done"
        assert [c.body for c in client.comments(issue.key)] == ["note"]
        assert got.fields.attachment[0].get() == b"bytes that persist"
        assert client.issue_property(issue.key, "mg").value.v == 1
        moves = [
            (h.author.emailAddress, i.toString)
            for h in got.changelog.histories
            for i in h.items
            if i.field == "status"
        ]
        assert moves == [("reviewer@example.com", "In Progress"), ("reviewer@example.com", "Done")]
        assert [i.key for i in client.enhanced_search_issues("labels = keep")] == [issue.key]
        # Keys keep counting after a restart.
        assert client.create_issue(project="MLC", summary="next", issuetype={"name": "Task"}).key != issue.key
    finally:
        sandbox.stop()


def test_a_killed_server_keeps_every_answered_write(tmp_path: Path) -> None:
    sandbox = start_jira_sandbox("datacenter", state_file=tmp_path / "state.db")
    try:
        key = (
            sandbox.client()
            .create_issue(project="MLC", summary="before kill", issuetype={"name": "Task"})
            .key
        )
        assert sandbox.process is not None
        sandbox.process.kill()  # no chance to flush anything: the commit happened before the response
        sandbox.process.wait()
        sandbox.process = None
        sandbox.start()
        assert sandbox.client().issue(key).fields.summary == "before kill"
        sandbox.admin("POST", "/_sandbox/reset", {"data": True})
        with pytest.raises(JIRAError) as info:
            sandbox.client().issue(key)
        assert info.value.status_code == 404
        assert sandbox.client("reviewer").myself()["name"] == "reviewer"  # seeded users are back
    finally:
        sandbox.stop()


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox.jira", "transition", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_transition_cli(jira_sandbox: JiraSandboxProcess, jira_client: JIRA, label: str) -> None:
    issue = jira_client.create_issue(project="MLC", summary="cli", issuetype={"name": "Task"}, labels=[label])
    done = run_cli(issue.key, "Done", "--as", "reviewer@example.com", "--url", jira_sandbox.url)
    assert done.returncode == 0, done.stderr
    assert f"{issue.key} is now Done" in done.stdout
    histories = jira_client.issue(issue.key, expand="changelog").changelog.histories
    assert {h.author.emailAddress for h in histories} == {"reviewer@example.com"}

    refused = run_cli(issue.key, "Rejected", "--as", "viewer@example.com", "--url", jira_sandbox.url)
    assert refused.returncode == 1
    assert "may not transition" in refused.stderr
    unknown = run_cli(issue.key, "Done", "--as", "nobody@example.com", "--url", jira_sandbox.url)
    assert unknown.returncode == 1
    assert "reviewer@example.com" in unknown.stderr  # the error lists who can be chosen
    unreachable = run_cli(issue.key, "Done", "--as", "reviewer@example.com", "--url", "http://127.0.0.1:9")
    assert unreachable.returncode == 1
    assert "Cannot reach the Jira sandbox" in unreachable.stderr


def test_reviewer_page(jira_sandbox: JiraSandboxProcess, jira_client: JIRA, label: str) -> None:
    hostile = "<script>alert('x')</script>"
    issue = jira_client.create_issue(
        project="MLC",
        summary=f"Review {hostile}",
        description=hostile,
        issuetype={"name": "Task"},
        labels=[label],
    )
    jira_client.add_attachment(issue.key, io.BytesIO(b"document"), filename="review<1>.pdf")
    jira_client.add_remote_link(issue.key, {"url": "javascript:alert(1)", "title": "bad link"})
    listing = requests.get(f"{jira_sandbox.url}/reviewer/", timeout=10)
    assert listing.status_code == 200
    assert issue.key in listing.text
    assert "<script>" not in listing.text and "&lt;script&gt;" in listing.text

    browse = requests.get(f"{jira_sandbox.url}/browse/{issue.key}", timeout=10)
    assert browse.url.endswith(f"/reviewer/issue/{issue.key}")
    page = browse.text
    assert "<script>" not in page
    assert "review&lt;1&gt;.pdf" in page
    assert "javascript:" not in page
    attachment_id = jira_client.issue(issue.key).fields.attachment[0].id
    download = requests.get(f"{jira_sandbox.url}/reviewer/attachment/{attachment_id}", timeout=10)
    assert download.content == b"document"

    form = f"{jira_sandbox.url}/reviewer/issue/{issue.key}/transition"
    refused = requests.post(form, data={"to": "Done", "as": "viewer@example.com"}, timeout=10)
    assert refused.status_code == 400
    assert "may not transition" in refused.text
    moved = requests.post(form, data={"to": "Rejected", "as": "risk-officer@example.com"}, timeout=10)
    assert moved.status_code == 200  # after the redirect back to the ticket
    assert "Moved to Rejected as risk-officer@example.com" in moved.text
    got = jira_client.issue(issue.key, expand="changelog")
    assert got.fields.status.name == "Rejected"
    assert got.changelog.histories[-1].author.emailAddress == "risk-officer@example.com"
