"""JiraHook against the Jira sandbox, Cloud and Data Center: idempotent tickets under faults, decisions,
attachments, the project prerequisites."""

from __future__ import annotations

import uuid

import pytest

from model_governance.approvals import Outcome, approval_marker
from model_governance.exceptions import ConfigurationError, JiraError
from model_governance.hooks.jira import JiraHook
from tests.integration.approvals.conftest import JiraTarget

CREATE = "POST /rest/api/{v}/issue"


def _marker() -> str:
    return approval_marker(dag_id="mlc", run_id=f"run-{uuid.uuid4().hex}", task_id="pia_approval", kind="PIA")


def _hook(jira: JiraTarget, sleeps: list[float] | None = None) -> JiraHook:
    record = sleeps if sleeps is not None else []
    return JiraHook(jira.conn_id, consistency_wait=10, sleep=record.append)


def _open(hook: JiraHook, marker: str) -> str:
    ticket = hook.create_ticket(
        marker=marker, project_key="MLC", summary="PIA approval: churn v1", description="Please review."
    )
    return ticket.key


def _tickets_with(jira: JiraTarget, marker: str) -> list[str]:
    client = jira.sandbox.client()
    try:
        jql = f'project = MLC AND labels = "{marker}"'
        if jira.flavor == "cloud":
            return [i.key for i in client.enhanced_search_issues(jql)]
        return [i.key for i in client.search_issues(jql)]
    finally:
        client.close()


def test_create_is_idempotent(jira: JiraTarget) -> None:
    hook, marker = _hook(jira), _marker()
    first = hook.create_ticket(marker=marker, project_key="MLC", summary="s", description="d")
    again = hook.create_ticket(marker=marker, project_key="MLC", summary="s", description="d")
    assert (first.created, again.created, again.key) == (True, False, first.key)
    assert first.url.endswith(f"/browse/{first.key}")
    assert _tickets_with(jira, marker) == [first.key]


def test_dropped_create_response_leaves_exactly_one_ticket(jira: JiraTarget) -> None:
    hook, marker = _hook(jira), _marker()
    with jira.sandbox.faults(drop={"rate": 1.0, "limit": 1}):
        key = _open(hook, marker)
    assert _tickets_with(jira, marker) == [key]


def test_5xx_on_create_leaves_exactly_one_ticket(jira: JiraTarget) -> None:
    hook, marker = _hook(jira), _marker()
    with jira.sandbox.faults(error={"rate": 1.0, "limit": 2, "endpoints": ["POST /rest/api/*/issue"]}):
        key = _open(hook, marker)
    assert _tickets_with(jira, marker) == [key]


def test_429_is_retried_after_retry_after(jira: JiraTarget) -> None:
    sleeps: list[float] = []
    hook, marker = _hook(jira, sleeps), _marker()
    with jira.sandbox.faults(throttle={"rate": 1.0, "limit": 2, "retry_after": 3}):
        key = _open(hook, marker)
    assert 3.0 in sleeps, sleeps  # the server's Retry-After, not our own backoff
    assert _tickets_with(jira, marker) == [key]


def test_persistent_failure_is_a_clear_error(jira: JiraTarget) -> None:
    hook = JiraHook(jira.conn_id, max_attempts=2, sleep=lambda _s: None)
    with (
        jira.sandbox.faults(error={"rate": 1.0, "endpoints": ["GET /rest/api/*/issue/*"]}),
        pytest.raises(JiraError, match="HTTP 503"),
    ):
        hook.issue("MLC-1")


def test_decision_from_the_changelog(jira: JiraTarget) -> None:
    hook = _hook(jira)
    key = _open(hook, _marker())
    assert hook.decision(key) is None
    jira.sandbox.transition_as(key, "Done", "reviewer@example.com")
    decision = hook.decision(key)
    assert decision is not None and decision.outcome is Outcome.APPROVED
    reviewer = jira.sandbox.users["reviewer"]
    assert decision.decided_by.matches(reviewer.account_id if jira.flavor == "cloud" else reviewer.name)
    hook.transition(key, "To Do")  # reopened: undecided again
    assert hook.decision(key) is None and hook.status_of(key) == "To Do"
    jira.sandbox.transition_as(key, "Rejected", "risk-officer@example.com")
    rejected = hook.decision(key)
    assert rejected is not None and rejected.outcome is Outcome.REJECTED


def test_groups_of_the_mover(jira: JiraTarget) -> None:
    hook = _hook(jira)
    key = _open(hook, _marker())
    jira.sandbox.transition_as(key, "Done", "reviewer@example.com")
    decision = hook.decision(key)
    assert decision is not None
    assert "mlc-editors" in hook.user_groups(decision.decided_by)


def test_attachment_is_uploaded_once(jira: JiraTarget) -> None:
    hook = _hook(jira)
    key = _open(hook, _marker())
    assert hook.attach(key, filename="review.html", content=b"<html>v1</html>") is True
    assert hook.attach(key, filename="review.html", content=b"<html>v1</html>") is False
    assert hook.attach(key, filename="review.html", content=b"<html>v2</html>") is True
    names = [a["filename"] for a in hook.issue(key)["fields"]["attachment"]]
    assert names == ["review.html", "review.html"]


def test_comment_with_marker_and_remote_link_are_not_repeated(jira: JiraTarget) -> None:
    hook = _hook(jira)
    key = _open(hook, _marker())
    for _ in range(2):
        hook.comment(key, "Reminder: waiting", marker="mg-reminder-1")
        hook.add_remote_link(key, url="http://airflow.local/dags/mlc/runs/r1", title="Airflow run")
    comments = hook._rest("get", f"2/issue/{key}/comment", idempotent=True)["comments"]
    assert len(comments) == 1
    links = hook._rest("get", f"2/issue/{key}/remotelink", idempotent=True)
    assert len(links) == 1


def test_project_prerequisites(jira: JiraTarget) -> None:
    hook = _hook(jira)
    hook.check_project("MLC")
    with pytest.raises(ConfigurationError, match="'Rejected'"):
        hook.check_project("BROKEN")
    with (
        jira.sandbox.setting(attachments_enabled=False),
        pytest.raises(ConfigurationError, match="attachments"),
    ):
        hook.check_project("MLC")


def test_bad_credentials_say_what_to_fix(jira: JiraTarget, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    monkeypatch.setenv(
        "AIRFLOW_CONN_JIRA_BAD",
        json.dumps(
            {
                "conn_type": "model_governance_jira",
                "host": jira.sandbox.url,
                "login": "mlc-bot@example.com",
                "password": "wrong-token",
                "extra": {"flavor": jira.flavor},
            }
        ),
    )
    with pytest.raises(JiraError, match="login and API token"):
        JiraHook("jira_bad", max_attempts=1).issue("MLC-1")


def test_dropped_create_while_search_lags_still_one_ticket(jira: JiraTarget) -> None:
    """Search is eventually consistent: the ticket a dropped create made is not searchable at once; the
    hook keeps looking (real waits here) instead of creating a second one."""
    hook, marker = JiraHook(jira.conn_id, consistency_wait=10), _marker()
    with jira.sandbox.setting(search_lag=1.5), jira.sandbox.faults(drop={"rate": 1.0, "limit": 1}):
        key = _open(hook, marker)
    assert _tickets_with(jira, marker) == [key]


# -- answers that are not Jira's JSON (an SSO gateway's login page) -------------------------------------


def test_login_page_on_a_read_is_retried_as_transient(
    jira: JiraTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    sleeps: list[float] = []
    hook = _hook(jira, sleeps)
    key = _open(hook, _marker())
    with jira.sandbox.faults(html_login_page={"rate": 1.0, "limit": 2}):
        assert hook.status_of(key) == "To Do"
    assert len(sleeps) == 2  # two login pages, each a transient failure with backoff
    # The task log (Airflow's structured logger) names the URL and the content type.
    warning = next(line for line in capsys.readouterr().out.splitlines() if "text/html" in line)
    assert f"/rest/api/2/issue/{key}" in warning and "login page" in warning


def test_persistent_login_page_is_a_clear_error_without_secrets(jira: JiraTarget) -> None:
    hook = JiraHook(jira.conn_id, max_attempts=2, sleep=lambda _s: None)
    key = _open(_hook(jira), _marker())
    with (
        jira.sandbox.faults(html_login_page={"rate": 1.0}),
        pytest.raises(JiraError) as info,
    ):
        hook.issue(key)
    message = str(info.value)
    assert "text/html" in message and f"{jira.sandbox.url}/rest/api/2/issue/{key}" in message
    assert "HTTP 200" in message
    assert hook.settings.secret and hook.settings.secret not in message


def test_login_page_on_create_leaves_exactly_one_ticket(jira: JiraTarget) -> None:
    """A gateway's login page answers the create: nothing reached Jira, the hook looks, then creates once."""
    hook, marker = _hook(jira), _marker()
    with jira.sandbox.faults(
        html_login_page={"rate": 1.0, "limit": 1, "endpoints": ["POST /rest/api/*/issue"]}
    ):
        key = _open(hook, marker)
    assert _tickets_with(jira, marker) == [key]


# -- writes whose answer was lost (committed, then the connection dropped) ------------------------------


def _drop(jira: JiraTarget, endpoint: str, limit: int = 1) -> object:
    return jira.sandbox.faults(drop={"rate": 1.0, "limit": limit, "endpoints": [endpoint]})


def _history(hook: JiraHook, key: str) -> list[str]:
    """The status moves of the ticket, as "from->to"."""
    return [
        f"{item['fromString']}->{item['toString']}"
        for history in hook._changelog(key)
        for item in history["items"]
        if item["field"] == "status"
    ]


def test_transition_whose_answer_was_lost_is_read_back_not_resent(jira: JiraTarget) -> None:
    hook = _hook(jira)
    key = _open(hook, _marker())
    jira.sandbox.reset_counters()
    with _drop(jira, "POST /rest/api/*/issue/{key}/transitions"):
        hook.transition(key, "In Progress")
    assert hook.status_of(key) == "In Progress"
    assert jira.sandbox.count("POST /rest/api/2/issue/{key}/transitions") == 1  # read back, not re-sent
    assert _history(hook, key) == ["To Do->In Progress"]


def test_move_back_after_a_refused_approval_whose_answer_was_lost(jira: JiraTarget) -> None:
    """The refusal path: a marked comment, then the ticket moved back to To Do; both answers lost."""
    hook = _hook(jira)
    key = _open(hook, _marker())
    jira.sandbox.transition_as(key, "Done", "reviewer@example.com")
    with _drop(jira, "POST /rest/api/*/issue/{key}/comment"):
        hook.comment(key, "This move does not count.", marker="mg-refused-1")
    with _drop(jira, "POST /rest/api/*/issue/{key}/transitions"):
        hook.transition(key, hook.settings.reopen_status)
    assert hook.status_of(key) == "To Do"
    assert _history(hook, key)[-1] == "Done->To Do"
    assert [c.body for c in hook.comments(key)] == ["This move does not count.\n\n[mg-refused-1]"]


def test_transition_400_after_someone_else_moved_it_there_is_success(jira: JiraTarget) -> None:
    """The ticket reached the status between our read and our move (Jira answers 400): read back, done."""
    hook = _hook(jira)
    key = _open(hook, _marker())
    original = hook.status_of
    calls = {"n": 0}

    def stale_first_read(issue_key: str) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            jira.sandbox.transition_as(issue_key, "In Progress", "reviewer@example.com")
            return "To Do"  # what we read just before the reviewer moved it
        return original(issue_key)

    hook.status_of = stale_first_read  # type: ignore[method-assign]
    hook.transition(key, "In Progress")
    assert original(key) == "In Progress"


def test_comment_whose_answer_was_lost_is_added_once(jira: JiraTarget) -> None:
    hook = _hook(jira)
    key = _open(hook, _marker())
    with _drop(jira, "POST /rest/api/*/issue/{key}/comment", limit=2):
        hook.comment(key, "Reminder: waiting", marker="mg-reminder-1")
        hook.comment(key, "A plain note")  # no marker: read back by its exact text
    assert [c.body for c in hook.comments(key)] == ["Reminder: waiting\n\n[mg-reminder-1]", "A plain note"]


def test_comment_lost_before_jira_is_sent_again(jira: JiraTarget) -> None:
    """A 503 from the gateway (nothing committed): the read-back finds no comment and it is sent again."""
    sleeps: list[float] = []
    hook = _hook(jira, sleeps)
    key = _open(hook, _marker())
    with jira.sandbox.faults(
        error={"rate": 1.0, "limit": 1, "endpoints": ["POST /rest/api/*/issue/{key}/comment"]}
    ):
        hook.comment(key, "Reminder", marker="mg-reminder-2")
    assert [c.body for c in hook.comments(key)] == ["Reminder\n\n[mg-reminder-2]"]
    assert len(sleeps) == 1


def test_remote_link_whose_answer_was_lost_is_one_link(jira: JiraTarget) -> None:
    hook = _hook(jira)
    key = _open(hook, _marker())
    with _drop(jira, "POST /rest/api/*/issue/{key}/remotelink"):
        hook.add_remote_link(key, url="http://airflow.local/dags/mlc/runs/r1", title="Airflow run")
    links = hook._rest("get", f"2/issue/{key}/remotelink", idempotent=True)
    assert [link["object"]["url"] for link in links] == ["http://airflow.local/dags/mlc/runs/r1"]


def test_attachment_whose_answer_was_lost_is_uploaded_once(jira: JiraTarget) -> None:
    hook = _hook(jira)
    key = _open(hook, _marker())
    jira.sandbox.reset_counters()
    with _drop(jira, "POST /rest/api/*/issue/{key}/attachments"):
        assert hook.attach(key, filename="review.html", content=b"<html>v1</html>") is True
    assert [a["filename"] for a in hook.issue(key)["fields"]["attachment"]] == ["review.html"]
    assert jira.sandbox.count("POST /rest/api/2/issue/{key}/attachments") == 1


def test_login_page_instead_of_an_attachment_is_not_taken_for_its_content(jira: JiraTarget) -> None:
    """The digest check downloads the attachment; a login page there is transient, not "different bytes"."""
    hook = _hook(jira)
    key = _open(hook, _marker())
    hook.attach(key, filename="review.html", content=b"<html>v1</html>")
    download = "GET /rest/api/*/attachment/content/{id}" if jira.flavor == "cloud" else "GET /secure/*"
    with jira.sandbox.faults(html_login_page={"rate": 1.0, "limit": 1, "endpoints": [download]}):
        assert hook.attach(key, filename="review.html", content=b"<html>v1</html>") is False
    assert len(hook.issue(key)["fields"]["attachment"]) == 1
