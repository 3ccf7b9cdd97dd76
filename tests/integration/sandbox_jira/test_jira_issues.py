"""Issues: create/get/edit, workflow and changelog, comments, remote links, attachments and properties."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pytest
import requests
from jira import JIRA, JIRAError
from jira.resources import Issue

from sandbox.jira.pytest_fixtures import JiraSandboxProcess, SandboxAdminError

pytestmark = pytest.mark.integration


def new_issue(client: JIRA, label: str, project: str = "MLC", **fields: Any) -> Issue:
    return client.create_issue(
        project=project, summary=f"Approve {label}", issuetype={"name": "Task"}, labels=[label], **fields
    )


def test_create_get_and_edit(jira_sandbox: JiraSandboxProcess, jira_client: JIRA, label: str) -> None:
    reviewer = jira_sandbox.users["reviewer"]
    issue = jira_client.create_issue(
        project="MLC",
        summary="Review model v3",
        description="Please review.\n\nThanks",
        issuetype={"name": "Story"},
        labels=[label, "mlc"],
        assignee={"accountId": reviewer.account_id},
    )
    assert issue.key.startswith("MLC-")
    got = jira_client.issue(issue.key)
    assert got.fields.summary == "Review model v3"
    assert got.fields.description == "Please review.\n\nThanks"
    assert got.fields.issuetype.name == "Story"
    assert sorted(got.fields.labels) == sorted([label, "mlc"])
    assert got.fields.assignee is not None and got.fields.assignee.accountId == reviewer.account_id
    assert got.fields.reporter.emailAddress == "mlc-bot@example.com"
    assert got.fields.status.name == "To Do"
    assert got.fields.resolution is None
    datetime.strptime(got.fields.created, "%Y-%m-%dT%H:%M:%S.%f%z")

    got.update(
        fields={"summary": "Review model v3 (updated)", "labels": [label], "issuetype": {"name": "Task"}}
    )
    jira_client.assign_issue(issue.key, None)
    got = jira_client.issue(issue.key, expand="changelog")
    assert got.fields.summary == "Review model v3 (updated)"
    assert got.fields.labels == [label]
    assert got.fields.issuetype.name == "Task"
    assert got.fields.assignee is None
    changed = [item.field for history in got.changelog.histories for item in history.items]
    assert changed == ["summary", "labels", "issuetype", "assignee"]
    labels_item = got.changelog.histories[0].items[1]
    assert labels_item.toString == label


def test_a_refused_edit_changes_nothing(jira_client: JIRA, label: str) -> None:
    issue = new_issue(jira_client, label)
    with pytest.raises(JIRAError) as info:
        # The summary is valid, the assignee is not: Jira applies all of the edit or none of it.
        issue.update(fields={"summary": "changed", "assignee": {"accountId": "no-such-account"}})
    assert info.value.status_code == 400
    got = jira_client.issue(issue.key, expand="changelog")
    assert got.fields.summary == f"Approve {label}"
    assert got.changelog.total == 0
    assert [
        i.key for i in jira_client.enhanced_search_issues(f"labels = {label} AND summary ~ changed")
    ] == []


def test_cloud_changelog_expand_is_capped_at_100(jira_client: JIRA, label: str) -> None:
    issue = new_issue(jira_client, label)
    url = jira_client._get_url(f"issue/{issue.key}")
    for n in range(101):
        jira_client._session.put(url, json={"fields": {"summary": f"edit {n}"}})
    expanded = jira_client.issue(issue.key, expand="changelog").raw["changelog"]
    assert expanded["total"] == 101 and len(expanded["histories"]) == 100
    rest = jira_client._get_json(f"issue/{issue.key}/changelog", params={"startAt": 100})
    assert [h["items"][0]["toString"] for h in rest["values"]] == ["edit 100"]


def test_field_selection(jira_client: JIRA, label: str) -> None:
    issue = new_issue(jira_client, label)
    only_status = jira_client.issue(issue.key, fields="status")
    assert set(only_status.raw["fields"]) == {"status"}
    without_comment = jira_client.issue(issue.key, fields="*all,-comment")
    assert "comment" not in without_comment.raw["fields"] and "summary" in without_comment.raw["fields"]


def test_v3_uses_atlassian_document_format(jira_sandbox: JiraSandboxProcess, label: str) -> None:
    auth = jira_sandbox.credentials("mlc-bot")
    adf: dict[str, Any] = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Risk tests passed."}]}],
    }
    fields: dict[str, Any] = {
        "project": {"key": "MLC"},
        "summary": "ADF",
        "issuetype": {"name": "Task"},
        "labels": [label],
    }
    url = f"{jira_sandbox.url}/rest/api/3/issue"
    created = requests.post(url, json={"fields": {**fields, "description": adf}}, auth=auth, timeout=10)
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    v3 = requests.get(f"{url}/{key}", auth=auth, timeout=10).json()
    assert v3["fields"]["description"] == adf
    v2 = requests.get(f"{jira_sandbox.url}/rest/api/2/issue/{key}", auth=auth, timeout=10).json()
    assert v2["fields"]["description"] == "Risk tests passed."
    text_to_v3 = requests.post(
        url, json={"fields": {**fields, "description": "plain"}}, auth=auth, timeout=10
    )
    assert text_to_v3.status_code == 400
    assert "Atlassian Document" in text_to_v3.json()["errors"]["description"]
    adf_to_v2 = requests.post(
        f"{jira_sandbox.url}/rest/api/2/issue",
        json={"fields": {**fields, "description": adf}},
        auth=auth,
        timeout=10,
    )
    assert adf_to_v2.status_code == 400
    assert adf_to_v2.json()["errors"]["description"] == "Operation value must be a string"


@pytest.mark.parametrize(
    ("fields", "field", "text"),
    [
        ({"summary": ""}, "summary", "You must specify a summary"),
        ({"summary": "a\nb"}, "summary", "newline"),
        ({"summary": "x" * 256}, "summary", "less than 255"),
        ({"labels": ["has space"]}, "labels", "contains spaces"),
        ({"project": {"key": "NOPE"}}, "project", "valid project"),
        ({"issuetype": {"name": "Epic"}}, "issuetype", "invalid"),
        ({"customfield_10010": "x"}, "customfield_10010", "not on the appropriate screen"),
        ({"assignee": {"name": "reviewer"}}, "assignee", "accountId"),
    ],
)
def test_create_validation_errors_have_jiras_shape(
    jira_sandbox: JiraSandboxProcess, fields: dict[str, Any], field: str, text: str
) -> None:
    body: dict[str, Any] = {
        "project": {"key": "MLC"},
        "summary": "ok",
        "issuetype": {"name": "Task"},
        **fields,
    }
    response = requests.post(
        f"{jira_sandbox.url}/rest/api/2/issue",
        json={"fields": body},
        auth=jira_sandbox.credentials("mlc-bot"),
        timeout=10,
    )
    assert response.status_code == 400
    payload = response.json()
    assert set(payload) == {"errorMessages", "errors"}
    assert text in payload["errors"][field]


def test_workflow_changelog_records_who_and_when(
    jira_sandbox: JiraSandboxProcess, jira_client: JIRA, label: str
) -> None:
    issue = new_issue(jira_client, label)
    assert [t["name"] for t in jira_client.transitions(issue.key)] == ["In Progress"]
    jira_client.transition_issue(issue.key, "In Progress")
    assert {t["to"]["name"] for t in jira_client.transitions(issue.key)} == {"Done", "Rejected"}
    reviewer = jira_sandbox.client("reviewer")
    reviewer.transition_issue(issue.key, "Rejected", comment="Bias test out of range.")
    got = jira_client.issue(issue.key, expand="changelog")
    assert got.fields.status.name == "Rejected"
    assert got.fields.resolution is not None and got.fields.resolution.name == "Won't Do"
    assert got.fields.resolutiondate is not None
    status_moves = [
        (h.author.accountId, h.created, item.fromString, item.toString)
        for h in got.changelog.histories
        for item in h.items
        if item.field == "status"
    ]
    bot, rita = jira_sandbox.users["mlc-bot"].account_id, jira_sandbox.users["reviewer"].account_id
    assert [(a, f, t) for a, _, f, t in status_moves] == [
        (bot, "To Do", "In Progress"),
        (rita, "In Progress", "Rejected"),
    ]
    assert all(created for _, created, _, _ in status_moves)
    assert [c.body for c in jira_client.comments(issue.key)] == ["Bias test out of range."]

    # Reopen, then approve: the latest move decides.
    reviewer.transition_issue(issue.key, "Reopen")
    assert jira_client.issue(issue.key).fields.resolution is None
    moved = jira_sandbox.transition_as(issue.key, "Done", "risk-officer@example.com")
    assert moved["path"] == ["In Progress", "Done"]
    got = jira_client.issue(issue.key, expand="changelog")
    last = got.changelog.histories[-1]
    assert last.author.emailAddress == "risk-officer@example.com"
    assert [(i.field, i.toString) for i in last.items] == [("resolution", "Done"), ("status", "Done")]


def test_invalid_transition_is_400(jira_client: JIRA, label: str) -> None:
    issue = new_issue(jira_client, label)
    with pytest.raises(JIRAError) as info:
        jira_client.transition_issue(issue.key, "21")  # Done is not reachable from To Do directly
    assert info.value.status_code == 400
    assert "is not valid for this issue" in str(info.value.text)
    with pytest.raises(JIRAError, match="Invalid transition name"):
        jira_client.transition_issue(issue.key, "Approve")


def test_project_without_rejected(jira_sandbox: JiraSandboxProcess, jira_client: JIRA, label: str) -> None:
    issue = new_issue(jira_client, label, project="BROKEN")
    jira_client.transition_issue(issue.key, "In Progress")
    assert {t["to"]["name"] for t in jira_client.transitions(issue.key)} == {"Done"}
    with pytest.raises(SandboxAdminError, match="no status 'Rejected'"):
        jira_sandbox.transition_as(issue.key, "Rejected")


def test_datacenter_changelog_and_assignee_by_name(jira_client_datacenter: JIRA, label: str) -> None:
    issue = jira_client_datacenter.create_issue(
        project="MLC", summary="dc", issuetype={"name": "Task"}, labels=[label], assignee={"name": "reviewer"}
    )
    jira_client_datacenter.transition_issue(issue.key, "In Progress")
    got = jira_client_datacenter.issue(issue.key, expand="changelog")
    assert got.fields.assignee is not None and got.fields.assignee.name == "reviewer"
    assert got.changelog.histories[0].author.name == "mlc-bot"
    with pytest.raises(JIRAError) as info:  # the paged changelog endpoint is Cloud-only
        jira_client_datacenter._get_json(f"issue/{issue.key}/changelog")
    assert info.value.status_code == 404


def test_cloud_changelog_pages(jira_client: JIRA, label: str) -> None:
    issue = new_issue(jira_client, label)
    for n in range(3):
        jira_client.issue(issue.key).update(fields={"summary": f"edit {n}"})
    page = jira_client._get_json(f"issue/{issue.key}/changelog", params={"startAt": 1, "maxResults": 1})
    assert page["total"] == 3 and page["startAt"] == 1 and page["isLast"] is False
    assert page["values"][0]["items"][0]["toString"] == "edit 1"


def test_comments(jira_client: JIRA, label: str) -> None:
    issue = new_issue(jira_client, label)
    first = jira_client.add_comment(issue.key, "first")
    jira_client.add_comment(issue.key, "second")
    assert [c.body for c in jira_client.comments(issue.key)] == ["first", "second"]
    first.update(body="first, edited")
    assert jira_client.comment(issue.key, first.id).body == "first, edited"
    assert jira_client.comment(issue.key, first.id).author.emailAddress == "mlc-bot@example.com"
    with pytest.raises(JIRAError) as info:
        jira_client.add_comment(issue.key, "   ")
    assert info.value.status_code == 400
    first.delete()
    assert [c.body for c in jira_client.comments(issue.key)] == ["second"]


def test_remote_links_upsert_by_global_id(jira_client: JIRA, label: str) -> None:
    issue = new_issue(jira_client, label)
    jira_client.add_remote_link(issue.key, {"url": "https://x/1", "title": "Document v1"}, globalId="mg:doc")
    jira_client.add_remote_link(issue.key, {"url": "https://x/2", "title": "Document v2"}, globalId="mg:doc")
    jira_client.add_simple_link(issue.key, {"url": "https://x/other", "title": "Other"})
    links = jira_client.remote_links(issue.key)
    assert len(links) == 2
    by_global = {link.raw.get("globalId"): link.raw["object"]["title"] for link in links}
    assert by_global["mg:doc"] == "Document v2"
    jira_client.delete_remote_link(issue.key, global_id="mg:doc")
    assert [link.raw["object"]["title"] for link in jira_client.remote_links(issue.key)] == ["Other"]


def test_attachments_upload_and_download(
    jira_sandbox: JiraSandboxProcess, jira_client: JIRA, label: str
) -> None:
    issue = new_issue(jira_client, label)
    content = b"%PDF-1.7 review document"
    attachment = jira_client.add_attachment(issue.key, io.BytesIO(content), filename="review.pdf")
    assert attachment.size == len(content)
    assert attachment.mimeType == "application/pdf"
    assert attachment.content.endswith(f"/rest/api/2/attachment/content/{attachment.id}")
    assert jira_client.attachment(attachment.id).get() == content
    fields = jira_client.issue(issue.key).fields
    assert [a.filename for a in fields.attachment] == ["review.pdf"]
    # The download needs credentials too.
    assert requests.get(attachment.content, timeout=10).status_code == 401
    assert jira_client.attachment_meta()["enabled"] is True


def test_datacenter_attachment_download_url(jira_client_datacenter: JIRA, label: str) -> None:
    issue = jira_client_datacenter.create_issue(project="MLC", summary="dc", issuetype={"name": "Task"})
    attachment = jira_client_datacenter.add_attachment(issue.key, io.BytesIO(b"abc"), filename="a b.txt")
    assert "/secure/attachment/" in attachment.content
    assert attachment.get() == b"abc"


def test_attachment_needs_xsrf_header(
    jira_sandbox: JiraSandboxProcess, jira_client: JIRA, label: str
) -> None:
    issue = new_issue(jira_client, label)
    url = f"{jira_sandbox.url}/rest/api/2/issue/{issue.key}/attachments"
    files = {"file": ("a.txt", b"abc", "text/plain")}
    auth = jira_sandbox.credentials("mlc-bot")
    refused = requests.post(url, files=files, auth=auth, timeout=10)
    assert refused.status_code == 403
    assert refused.text == "XSRF check failed"
    accepted = requests.post(
        url, files=files, auth=auth, headers={"X-Atlassian-Token": "no-check"}, timeout=10
    )
    assert accepted.status_code == 200
    assert accepted.json()[0]["filename"] == "a.txt"


def test_attachment_size_limit_is_413(
    jira_sandbox: JiraSandboxProcess, jira_client: JIRA, label: str
) -> None:
    issue = new_issue(jira_client, label)
    with jira_sandbox.setting(attachment_limit=100):
        assert jira_client.attachment_meta()["uploadLimit"] == 100
        with pytest.raises(JIRAError) as info:
            jira_client.add_attachment(issue.key, io.BytesIO(b"x" * 101), filename="big.bin")
        assert info.value.status_code == 413
        jira_client.add_attachment(issue.key, io.BytesIO(b"x" * 100), filename="fits.bin")
    assert [a.filename for a in jira_client.issue(issue.key).fields.attachment] == ["fits.bin"]


def test_attachments_disabled(jira_sandbox: JiraSandboxProcess, jira_client: JIRA, label: str) -> None:
    issue = new_issue(jira_client, label)
    with jira_sandbox.setting(attachments_enabled=False):
        assert jira_client.attachment_meta()["enabled"] is False
        with pytest.raises(JIRAError) as info:
            jira_client.add_attachment(issue.key, io.BytesIO(b"x"), filename="x.txt")
        assert info.value.status_code == 403
    noatt = new_issue(jira_client, label, project="NOATT")
    with pytest.raises(JIRAError) as info:
        jira_client.add_attachment(noatt.key, io.BytesIO(b"x"), filename="x.txt")
    assert info.value.status_code == 403


def test_issue_properties(jira_client: JIRA, label: str) -> None:
    issue = new_issue(jira_client, label)
    jira_client.add_issue_property(issue.key, "model-governance", {"run_id": "r1", "approval": 7})
    assert jira_client.issue_property(issue.key, "model-governance").value.run_id == "r1"
    assert [p.key for p in jira_client.issue_properties(issue.key)] == ["model-governance"]
    with pytest.raises(JIRAError) as info:
        jira_client.issue_property(issue.key, "missing")
    assert info.value.status_code == 404


def test_delete_issue(jira_client: JIRA, label: str) -> None:
    issue = new_issue(jira_client, label)
    issue.delete()
    with pytest.raises(JIRAError) as info:
        jira_client.issue(issue.key)
    assert info.value.status_code == 404
