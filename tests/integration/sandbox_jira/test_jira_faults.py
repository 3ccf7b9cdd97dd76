"""Fault switches (429, 5xx, commit-then-drop, latency), request counters and seeded randomness."""

from __future__ import annotations

import pytest
import requests
from jira import JIRA, JIRAError

from sandbox.jira.pytest_fixtures import JiraSandboxProcess, start_jira_sandbox

pytestmark = pytest.mark.integration


def test_throttle_answers_429_with_retry_after(jira_sandbox: JiraSandboxProcess, jira_client: JIRA) -> None:
    jira_sandbox.reset_counters()
    with jira_sandbox.faults(throttle={"rate": 1.0, "limit": 1, "retry_after": 7}):
        with pytest.raises(JIRAError) as info:
            jira_client.myself()
        assert info.value.status_code == 429
        assert info.value.response is not None
        assert info.value.response.headers["Retry-After"] == "7"
        assert info.value.response.headers["RateLimit-Reason"] == "jira-burst-based"
        assert jira_client.myself()["displayName"] == "MLC Bot"  # the limit of one fault is used up
    counters = jira_sandbox.counters()
    assert counters["faults"]["throttle"] == 1
    assert counters["endpoints"]["GET /rest/api/2/myself"] == 2
    assert counters["statuses"]["429"] == 1


def test_library_retry_honours_retry_after(
    jira_sandbox: JiraSandboxProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    monkeypatch.setattr("jira.resilientsession.time.sleep", waits.append)
    client = jira_sandbox.client("mlc-bot", max_retries=2)
    with jira_sandbox.faults(throttle={"rate": 1.0, "limit": 2, "retry_after": 3}):
        assert client.myself()["displayName"] == "MLC Bot"
    # The library waits 2 x Retry-After with jitter in [0.5, 1].
    assert len(waits) == 2
    assert all(3.0 <= w <= 6.0 for w in waits)


def test_server_errors_at_a_status(jira_sandbox: JiraSandboxProcess, jira_client: JIRA) -> None:
    with jira_sandbox.faults(error={"rate": 1.0, "limit": 2, "status": 502}):
        for _ in range(2):
            with pytest.raises(JIRAError) as info:
                jira_client.server_info()
            assert info.value.status_code == 502
        assert jira_client.server_info()["deploymentType"] == "Cloud"
    assert jira_sandbox.counters()["faults"]["error"] >= 2
    with jira_sandbox.faults(error={"rate": 1.0, "limit": 1}):  # the default status
        assert requests.get(f"{jira_sandbox.url}/rest/api/2/serverInfo", timeout=10).status_code == 503


def test_unknown_resources_are_404(jira_sandbox: JiraSandboxProcess) -> None:
    auth = jira_sandbox.credentials("mlc-bot")
    for path in ("/rest/api/2/no/such/thing", "/rest/agile/1.0/board", "/nothing"):
        response = requests.get(f"{jira_sandbox.url}{path}", auth=auth, timeout=10)
        assert response.status_code == 404, path
        assert response.json()["errorMessages"]


def test_faults_can_target_endpoints(jira_sandbox: JiraSandboxProcess, jira_client: JIRA, label: str) -> None:
    with jira_sandbox.faults(throttle={"rate": 1.0, "endpoints": ["POST /rest/api/*/issue"]}):
        assert jira_client.myself()["accountId"]
        with pytest.raises(JIRAError) as info:
            jira_client.create_issue(project="MLC", summary="x", issuetype={"name": "Task"}, labels=[label])
        assert info.value.status_code == 429
    assert jira_client.enhanced_search_issues(f"labels = {label}") == []  # refused, so nothing was created


def test_create_commits_then_drops_the_response(
    jira_sandbox: JiraSandboxProcess, jira_client: JIRA, label: str
) -> None:
    jira_sandbox.reset_counters()
    dropped = pytest.raises(requests.exceptions.ConnectionError)
    with jira_sandbox.faults(drop={"rate": 1.0, "limit": 1}), dropped:
        jira_client.create_issue(project="MLC", summary="dropped", issuetype={"name": "Task"}, labels=[label])
    found = jira_client.enhanced_search_issues(f"project = MLC AND labels = {label}")
    assert [i.fields.summary for i in found] == [
        "dropped"
    ]  # the issue exists although the client saw no reply
    assert jira_sandbox.counters()["faults"]["drop"] == 1


def test_library_retry_after_a_dropped_create_makes_a_duplicate(
    jira_sandbox: JiraSandboxProcess, label: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("jira.resilientsession.time.sleep", lambda _: None)
    client = jira_sandbox.client("mlc-bot", max_retries=1)
    with jira_sandbox.faults(drop={"rate": 1.0, "limit": 1}):
        client.create_issue(project="MLC", summary="twice", issuetype={"name": "Task"}, labels=[label])
    # Why the hook turns the library's retries off: Jira has no idempotency key for creates.
    assert len(client.enhanced_search_issues(f"project = MLC AND labels = {label}")) == 2


def test_drop_only_hits_creates_by_default(
    jira_sandbox: JiraSandboxProcess, jira_client: JIRA, label: str
) -> None:
    issue = jira_client.create_issue(project="MLC", summary="x", issuetype={"name": "Task"}, labels=[label])
    with jira_sandbox.faults(drop={"rate": 1.0}):
        jira_client.add_comment(issue.key, "not dropped")
        assert [c.body for c in jira_client.comments(issue.key)] == ["not dropped"]


def test_latency(jira_sandbox: JiraSandboxProcess) -> None:
    url = f"{jira_sandbox.url}/rest/api/2/serverInfo"
    with jira_sandbox.faults(latency={"seconds": 3.0}), pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(url, timeout=0.5)
    assert requests.get(url, timeout=10).status_code == 200


def test_faults_are_seeded(jira_sandbox: JiraSandboxProcess) -> None:
    url = f"{jira_sandbox.url}/rest/api/2/serverInfo"

    def pattern() -> list[int]:
        with jira_sandbox.faults(seed=42, throttle={"rate": 0.5}):
            return [requests.get(url, timeout=10).status_code for _ in range(16)]

    first = pattern()
    assert set(first) == {200, 429}
    assert pattern() == first


def test_counters_per_endpoint_and_reset(
    jira_sandbox: JiraSandboxProcess, jira_client: JIRA, label: str
) -> None:
    issue = jira_client.create_issue(project="MLC", summary="x", issuetype={"name": "Task"}, labels=[label])
    jira_sandbox.reset_counters()
    jira_client.issue(issue.key)
    jira_client.issue(issue.key)
    jira_client.add_comment(issue.key, "c")
    jira_client.enhanced_search_issues(f"labels = {label}", maxResults=1)
    endpoints = jira_sandbox.counters()["endpoints"]
    assert endpoints["GET /rest/api/2/issue/{key}"] == 2
    assert endpoints["POST /rest/api/2/issue/{key}/comment"] == 1
    assert endpoints["GET /rest/api/2/search/jql"] == 1
    jira_sandbox.reset_counters()
    assert jira_sandbox.counters()["endpoints"] == {"GET /_sandbox/counters": 1}


def test_faults_from_start_flags() -> None:
    with start_jira_sandbox(
        "datacenter", args=["--throttle-rate", "1", "--retry-after", "4", "--seed", "3"]
    ) as sandbox:
        response = requests.get(f"{sandbox.url}/rest/api/2/serverInfo", timeout=10)
        assert response.status_code == 429 and response.headers["Retry-After"] == "4"
        assert sandbox.admin("GET", "/_sandbox/faults")["seed"] == 3
        sandbox.clear_faults()
        assert requests.get(f"{sandbox.url}/rest/api/2/serverInfo", timeout=10).status_code == 200


def test_bad_fault_settings_are_refused(jira_sandbox: JiraSandboxProcess) -> None:
    for body in ({"thrttle": {"rate": 1}}, {"throttle": {"rate": 2}}, {"error": {"colour": 1}}):
        response = requests.post(f"{jira_sandbox.url}/_sandbox/faults", json=body, timeout=10)
        assert response.status_code == 400
        assert response.json()["errorMessages"]
    jira_sandbox.clear_faults()


def test_login_page_answers_html_and_commits_nothing(jira_sandbox: JiraSandboxProcess, label: str) -> None:
    """An SSO gateway's expired session: 200 with an HTML sign-in page; the request never reached Jira."""
    auth = jira_sandbox.credentials("mlc-bot")
    jira_sandbox.reset_counters()
    body = {
        "fields": {
            "project": {"key": "MLC"},
            "summary": "s",
            "issuetype": {"name": "Task"},
            "labels": [label],
        }
    }
    with jira_sandbox.faults(html_login_page={"rate": 1.0, "limit": 1}):
        response = requests.post(f"{jira_sandbox.url}/rest/api/2/issue", json=body, auth=auth, timeout=10)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/html")
        assert "Sign in" in response.text
        with pytest.raises(ValueError):
            response.json()
        search = requests.get(
            f"{jira_sandbox.url}/rest/api/2/search/jql",
            params={"jql": f"labels = {label}"},
            auth=auth,
            timeout=10,
        )
        assert search.json()["issues"] == []  # nothing was created
    counters = jira_sandbox.counters()
    assert counters["faults"]["html_login_page"] == 1
    with jira_sandbox.faults(html_login_page={"rate": 1.0, "limit": 1, "status": 404}):
        assert requests.get(f"{jira_sandbox.url}/rest/api/2/myself", auth=auth, timeout=10).status_code == 404


def test_login_page_from_a_start_flag() -> None:
    with start_jira_sandbox("cloud", args=["--login-page-rate", "1"]) as sandbox:
        response = requests.get(f"{sandbox.url}/rest/api/2/serverInfo", timeout=10)
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
        assert sandbox.admin("GET", "/_sandbox/faults")["html_login_page"]["rate"] == 1.0
