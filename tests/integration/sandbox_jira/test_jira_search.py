"""Search: the JQL parser, Cloud's /search/jql, Data Center's /search, and search lagging writes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from jira import JIRA, JIRAError

from sandbox.jira import jql
from sandbox.jira.pytest_fixtures import JiraSandboxProcess
from sandbox.jira.store import ApiError

# -- the parser on its own (no server) ---------------------------------------------------------------------


def test_and_binds_tighter_than_or() -> None:
    query = jql.parse("project = MLC OR labels = a AND status = Done ORDER BY key DESC, created")
    assert isinstance(query.where, jql.BoolOp) and query.where.op == "or"
    right = query.where.parts[1]
    assert isinstance(right, jql.BoolOp) and right.op == "and"
    assert query.order == [("key", "desc"), ("created", "asc")]


def test_parentheses_not_lists_and_strings() -> None:
    query = jql.parse("NOT (key in (MLC-1, 'MLC-2', \"MLC 3\") || labels is EMPTY) && updated >= -5m")
    assert isinstance(query.where, jql.BoolOp) and query.where.op == "and"
    negated = query.where.parts[0]
    assert isinstance(negated, jql.Not)
    in_clause = negated.part.parts[0]
    assert in_clause.op == "in" and [v.text for v in in_clause.values] == ["MLC-1", "MLC-2", "MLC 3"]
    assert negated.part.parts[1].op == "is"
    assert query.where.parts[1].values[0].text == "-5m"


def test_not_in_and_functions() -> None:
    clause = jql.parse("assignee not in (currentUser(), EMPTY)").where
    assert isinstance(clause, jql.Clause)
    assert clause.op == "not in"
    assert [v.function for v in clause.values] == ["currentuser", "empty"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("project MLC", "Expecting operator but got 'MLC'"),
        ("project = ", "Expecting either a value, list or function but got end of query"),
        ("project = MLC labels = a", "Expecting either 'OR' or 'AND' but got 'labels'"),
        ("summary ~ 'open", "The quoted string 'open' has not been completed"),
        ("key in (A-1, A-2", "Expecting ')'"),
        ("(project = MLC", "Expecting ')'"),
        ("project = MLC ORDER key", "Expecting 'BY'"),
    ],
)
def test_syntax_errors_name_the_place(text: str, message: str) -> None:
    with pytest.raises(ApiError) as info:
        jql.parse(text)
    assert info.value.status == 400
    assert message in info.value.messages[0]
    assert "(line 1, character" in info.value.messages[0] or "end of query" in info.value.messages[0]


@pytest.mark.parametrize("value", ["-5m", "-2h", "-1d", "1w", "-1d 2h"])
def test_relative_dates(value: str) -> None:
    now = 1_800_000_000.0
    assert jql.parse_date(value, now, "updated") != now


def test_absolute_dates_are_utc_minutes() -> None:
    expected = datetime(2026, 11, 22, 10, 0, tzinfo=UTC).timestamp()
    for text in ("2026-11-22 10:00", "2026/11/22 10:00"):
        assert jql.parse_date(text, 0, "updated") == expected
    assert jql.parse_date("2026-11-22", 0, "updated") == datetime(2026, 11, 22, tzinfo=UTC).timestamp()
    with pytest.raises(ApiError, match=r"Date value '22\.11\.2026' for field 'updated' is invalid"):
        jql.parse_date("22.11.2026", 0, "updated")


# -- through the client ------------------------------------------------------------------------------------

integration = pytest.mark.integration


def make(client: JIRA, label: str, n: int, **fields: Any) -> list[str]:
    return [
        client.create_issue(
            project="MLC", summary=f"{label} #{i}", issuetype={"name": "Task"}, labels=[label], **fields
        ).key
        for i in range(n)
    ]


@integration
def test_cloud_enhanced_search_pages_with_next_page_token(jira_client: JIRA, label: str) -> None:
    keys = make(jira_client, label, 5)
    jql_text = f"project = MLC AND labels = {label} ORDER BY key ASC"
    first = jira_client.enhanced_search_issues(jql_text, maxResults=2, fields=["key"], json_result=True)
    assert [i["key"] for i in first["issues"]] == keys[:2]
    assert "total" not in first and first["isLast"] is False
    second = jira_client.enhanced_search_issues(
        jql_text, nextPageToken=first["nextPageToken"], maxResults=2, fields=["key"], json_result=True
    )
    assert [i["key"] for i in second["issues"]] == keys[2:4]
    everything = jira_client.enhanced_search_issues(jql_text, maxResults=0)
    assert [i.key for i in everything] == keys
    posted = jira_client.enhanced_search_issues(
        jql_text, maxResults=0, fields="summary,status", use_post=True
    )
    assert [i.fields.summary for i in posted] == [f"{label} #{i}" for i in range(5)]
    # search_issues on Cloud goes to the same endpoint.
    assert [i.key for i in jira_client.search_issues(jql_text)] == keys


@integration
def test_cloud_search_defaults_to_ids_only(
    jira_sandbox: JiraSandboxProcess, jira_client: JIRA, label: str
) -> None:
    (key,) = make(jira_client, label, 1)
    url = f"{jira_sandbox.url}/rest/api/3/search/jql"
    auth = jira_sandbox.credentials("mlc-bot")
    bare = requests.get(url, params={"jql": f"labels = {label}"}, auth=auth, timeout=10).json()
    assert set(bare["issues"][0]) <= {"id", "self", "key", "expand"}
    body: dict[str, Any] = {"jql": f"labels = {label}", "fields": ["status", "updated"], "maxResults": 10}
    posted = requests.post(url, json=body, auth=auth, timeout=10).json()
    assert posted["issues"][0]["key"] == key
    assert set(posted["issues"][0]["fields"]) == {"status", "updated"}
    bad_token = requests.get(
        url, params={"jql": f"labels = {label}", "nextPageToken": "zzz"}, auth=auth, timeout=10
    )
    assert bad_token.status_code == 400


@integration
@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("version", ["2", "3"])
def test_cloud_old_search_is_gone(jira_sandbox: JiraSandboxProcess, method: str, version: str) -> None:
    response = requests.request(
        method,
        f"{jira_sandbox.url}/rest/api/{version}/search",
        params={"jql": "project = MLC"} if method == "GET" else None,
        json={"jql": "project = MLC"} if method == "POST" else None,
        auth=jira_sandbox.credentials("mlc-bot"),
        timeout=10,
    )
    assert response.status_code == 410
    assert "/rest/api/3/search/jql" in response.json()["errorMessages"][0]


@integration
def test_cloud_refuses_unbounded_queries(jira_client: JIRA) -> None:
    with pytest.raises(JIRAError) as info:
        jira_client.enhanced_search_issues("ORDER BY created DESC")
    assert info.value.status_code == 400
    assert "Unbounded JQL" in str(info.value.text)


@integration
def test_datacenter_search_pages_with_start_at_and_total(
    jira_sandbox_datacenter: JiraSandboxProcess, jira_client_datacenter: JIRA, label: str
) -> None:
    keys = make(jira_client_datacenter, label, 5)
    jql_text = f"labels = {label} ORDER BY key DESC"
    page = jira_client_datacenter.search_issues(jql_text, startAt=1, maxResults=2, json_result=True)
    assert page["total"] == 5 and page["startAt"] == 1
    assert [i["key"] for i in page["issues"]] == list(reversed(keys))[1:3]
    assert [i.key for i in jira_client_datacenter.search_issues(jql_text, maxResults=False)] == list(
        reversed(keys)
    )
    posted = jira_client_datacenter.search_issues(jql_text, use_post=True, fields="summary")
    assert len(posted) == 5
    response = requests.get(
        f"{jira_sandbox_datacenter.url}/rest/api/2/search/jql",
        params={"jql": jql_text},
        auth=jira_sandbox_datacenter.credentials("mlc-bot"),
        timeout=10,
    )
    assert response.status_code == 404


@integration
def test_jql_clauses(jira_sandbox: JiraSandboxProcess, jira_client: JIRA, label: str) -> None:
    a, b, c = make(jira_client, label, 3)
    jira_client.create_issue(
        project="MLC", summary=f"{label} story", issuetype={"name": "Story"}, labels=[label]
    )
    jira_sandbox.transition_as(a, "Done")
    jira_sandbox.transition_as(b, "In Progress")
    other = f"{label}-other"
    jira_client.issue(c).update(fields={"labels": [label, other]})

    def keys(query: str) -> list[str]:
        return [i.key for i in jira_client.enhanced_search_issues(query, maxResults=0, fields="key")]

    base = f"project = MLC AND labels = {label}"
    assert keys(f"{base} AND status = Done") == [a]
    assert keys(f"{base} AND status in (Done, 'In Progress') ORDER BY key ASC") == [a, b]
    assert keys(f"{base} AND statusCategory != Done ORDER BY key ASC") == [
        b,
        c,
        keys(f"{base} AND type = Story")[0],
    ]
    assert keys(f"{base} AND issuetype = Task ORDER BY key DESC") == [c, b, a]
    assert keys(f"key in ({a}, {c}) ORDER BY key ASC") == [a, c]
    assert keys(f"key = {b}") == [b]
    assert keys(f"labels in ({other}, no-such-label)") == [c]
    assert keys(f"{base} AND (status = Done OR labels = {other}) ORDER BY key ASC") == [a, c]
    assert keys(f"{base} AND NOT status = 'To Do' ORDER BY key ASC") == [a, b]
    assert keys(f"{base} AND resolution = Unresolved AND issuetype = Task ORDER BY key ASC") == [b, c]
    assert keys(f'{base} AND summary ~ "#1"') == [b]
    assert keys(f"labels = {label} AND assignee is EMPTY AND key = {a}") == [a]
    # Jira's != never matches an empty field.
    assert keys(f"key = {a} AND assignee != reviewer@example.com") == []


@integration
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("project = MLC AND colour = red", "Field 'colour' does not exist"),
        ("status = Approved", "The value 'Approved' does not exist for the field 'status'"),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'"),
        ("key = MLC-999999", "An issue with key 'MLC-999999' does not exist"),
        ("labels > a", "The operator '>' is not supported by the 'labels' field"),
        ("project = MLC AND updated >= yesterday", "Date value 'yesterday' for field 'updated' is invalid"),
        ("project = MLC ORDER BY colour", "Not able to sort using field 'colour'"),
        ("project = MLC AND", "Expecting a field name but got end of query"),
    ],
)
def test_jql_errors_are_400_in_jiras_shape(
    jira_sandbox: JiraSandboxProcess, query: str, message: str
) -> None:
    response = requests.post(
        f"{jira_sandbox.url}/rest/api/3/search/jql",
        json={"jql": query},
        auth=jira_sandbox.credentials("mlc-bot"),
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {}
    assert message in response.json()["errorMessages"][0]


@integration
def test_updated_relative_and_absolute(
    jira_sandbox: JiraSandboxProcess, jira_client: JIRA, label: str
) -> None:
    with jira_sandbox.setting(clock_offset=-3 * 3600):  # this issue was last updated three hours ago
        (old,) = make(jira_client, label, 1)
    (new,) = make(jira_client, label, 1)

    def keys(query: str) -> list[str]:
        return [
            i.key for i in jira_client.enhanced_search_issues(f"labels = {label} AND {query}", maxResults=0)
        ]

    assert keys("updated >= -1h") == [new]
    assert keys("updated > -4h ORDER BY updated ASC") == [old, new]
    assert keys("updated < -2h") == [old]
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    assert keys(f'updated >= "{an_hour_ago}"') == [new]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y/%m/%d")
    assert keys(f'updated >= "{tomorrow}"') == []


@integration
def test_search_lags_writes_but_get_does_not(
    jira_sandbox: JiraSandboxProcess, jira_client: JIRA, label: str
) -> None:
    query = f"project = MLC AND labels = {label}"
    moved = f"{label}-moved"
    with jira_sandbox.setting(search_lag=1.5):
        (key,) = make(jira_client, label, 1)
        assert jira_client.issue(key).fields.labels == [label]
        assert jira_client.enhanced_search_issues(query) == []  # not indexed yet
        wait_for(lambda: [i.key for i in jira_client.enhanced_search_issues(query)] == [key])
        jira_client.issue(key).update(fields={"labels": [moved]})
        # Search still sees the old version for a while: the old label matches, the new one does not.
        assert [i.key for i in jira_client.enhanced_search_issues(query)] == [key]
        assert jira_client.enhanced_search_issues(f"labels = {moved}") == []
        wait_for(lambda: [i.key for i in jira_client.enhanced_search_issues(f"labels = {moved}")] == [key])
        assert jira_client.enhanced_search_issues(query) == []


def wait_for(condition: object, timeout: float = 15.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.2)


@integration
def test_current_user_empty_and_approximate_count(
    jira_sandbox: JiraSandboxProcess, jira_client: JIRA, label: str
) -> None:
    bot = jira_sandbox.users["mlc-bot"]
    (mine,) = make(jira_client, label, 1, assignee={"accountId": bot.account_id})
    (unassigned,) = make(jira_client, label, 1)
    jira_client.create_issue(project="MLC", summary="no labels", issuetype={"name": "Task"})

    def keys(query: str) -> list[str]:
        return [i.key for i in jira_client.enhanced_search_issues(query, maxResults=0)]

    assert keys(f"labels = {label} AND assignee = currentUser()") == [mine]
    assert keys(f"labels = {label} AND assignee is EMPTY") == [unassigned]
    assert keys(f"labels = {label} AND assignee = '{bot.email}'") == [mine]
    response = requests.post(
        f"{jira_sandbox.url}/rest/api/3/search/approximate-count",
        json={"jql": f"labels = {label}"},
        auth=jira_sandbox.credentials("mlc-bot"),
        timeout=10,
    )
    assert response.json() == {"count": 2}


@integration
def test_datacenter_allows_unbounded_queries(jira_client_datacenter: JIRA, label: str) -> None:
    make(jira_client_datacenter, label, 1)
    page = jira_client_datacenter.search_issues("ORDER BY created DESC", maxResults=1, json_result=True)
    assert page["total"] >= 1 and len(page["issues"]) == 1
