"""Server info, metadata, users, groups, authentication and permissions, through the real ``jira`` client."""

from __future__ import annotations

import pytest
import requests
from jira import JIRA, JIRAError

from sandbox.jira.pytest_fixtures import JiraSandboxProcess

pytestmark = pytest.mark.integration


def test_cloud_server_info_and_myself(jira_client: JIRA) -> None:
    info = jira_client.server_info()
    assert info["deploymentType"] == "Cloud"
    assert jira_client._is_cloud
    me = jira_client.myself()
    assert me["emailAddress"] == "mlc-bot@example.com"
    assert me["accountId"].startswith("712020:")
    assert "name" not in me  # Cloud has no usernames (GDPR strict mode)


def test_datacenter_server_info_and_myself(jira_client_datacenter: JIRA) -> None:
    info = jira_client_datacenter.server_info()
    assert info["deploymentType"] == "Server"
    assert tuple(info["versionNumbers"]) >= (9, 0, 0)
    me = jira_client_datacenter.myself()
    assert me["name"] == "mlc-bot"
    assert "accountId" not in me


def test_fields_translate_jql_names(jira_client: JIRA) -> None:
    by_id = {f["id"]: f for f in jira_client.fields()}
    assert {"summary", "description", "labels", "status", "issuetype", "attachment", "comment"} <= set(by_id)
    assert "type" in by_id["issuetype"]["clauseNames"]
    assert jira_client._fields_cache["key"] == "issuekey"


def test_projects_and_issue_types(jira_client: JIRA) -> None:
    keys = {p.key for p in jira_client.projects()}
    assert {"MLC", "BROKEN", "NOATT"} <= keys
    project = jira_client.project("MLC")
    assert {t.name for t in project.issueTypes} == {"Task", "Story"}
    assert jira_client.issue_type_by_name("Task", project="MLC").id == "10001"


def test_cloud_createmeta(jira_client: JIRA) -> None:
    meta = jira_client.createmeta(projectKeys="MLC", expand="projects.issuetypes.fields")
    (project,) = meta["projects"]
    task = next(t for t in project["issuetypes"] if t["name"] == "Task")
    assert task["fields"]["summary"]["required"] is True
    assert "labels" in task["fields"]


def test_datacenter_createmeta_issuetypes_and_fields(jira_client_datacenter: JIRA) -> None:
    types = jira_client_datacenter.project_issue_types("MLC")
    assert {t.name for t in types} == {"Task", "Story"}
    fields = jira_client_datacenter.project_issue_fields("MLC", types[0].id)
    assert "summary" in {f.fieldId for f in fields}
    with pytest.raises(JIRAError) as info:  # the old createmeta was removed in Data Center 9
        jira_client_datacenter._get_json("issue/createmeta")
    assert info.value.status_code == 404


def test_project_statuses_show_a_missing_rejected(jira_client: JIRA) -> None:
    def names(key: str) -> set[str]:
        result = jira_client._get_json(f"project/{key}/statuses")
        return {s["name"] for t in result for s in t["statuses"]}

    assert names("MLC") == {"To Do", "In Progress", "Done", "Rejected"}
    assert names("BROKEN") == {"To Do", "In Progress", "Done"}


def test_group_members_and_user_groups_cloud(jira_client: JIRA, jira_sandbox: JiraSandboxProcess) -> None:
    members = jira_client.group_members("model-reviewers")
    reviewer = jira_sandbox.users["reviewer"]
    assert reviewer.account_id in members
    assert members[reviewer.account_id]["email"] == "reviewer@example.com"
    # A user who hides their email on Cloud: the API leaves emailAddress out.
    private = jira_sandbox.users["private-reviewer"]
    assert members[private.account_id]["email"] == "hidden"
    user = jira_client.user(reviewer.account_id, expand="groups")
    assert "model-reviewers" in [g["name"] for g in user.raw["groups"]["items"]]
    page = jira_client._get_json("group/member", params={"groupname": "mlc-editors", "maxResults": 2})
    assert page["total"] == 6 and len(page["values"]) == 2 and page["isLast"] is False
    assert "groupnames" not in page


def test_groups_picker(jira_client: JIRA) -> None:
    assert jira_client.groups(query="mlc") == ["mlc-editors", "mlc-members"]


def test_user_lookup_by_username_is_refused_on_cloud(jira_client: JIRA) -> None:
    with pytest.raises(JIRAError) as info:
        jira_client._get_json("user", params={"username": "reviewer"})
    assert info.value.status_code == 400
    assert "GDPR" in str(info.value.text)


def test_users_and_groups_datacenter(jira_client_datacenter: JIRA) -> None:
    members = jira_client_datacenter.group_members("model-reviewers")
    assert {"reviewer", "risk-officer", "private-reviewer"} == set(members)
    user = jira_client_datacenter.user("reviewer", expand="groups")
    assert user.name == "reviewer" and user.emailAddress == "reviewer@example.com"
    assert [u.name for u in jira_client_datacenter.search_users(user="rita")] == ["reviewer"]


def test_add_user_to_group_needs_admin_cloud(jira_sandbox: JiraSandboxProcess) -> None:
    viewer = jira_sandbox.users["viewer"]
    url = f"{jira_sandbox.url}/rest/api/2/group/user"
    params = {"groupname": "model-reviewers"}
    as_reviewer = requests.post(
        url,
        params=params,
        json={"accountId": viewer.account_id},
        auth=jira_sandbox.credentials("reviewer"),
        timeout=10,
    )
    assert as_reviewer.status_code == 403
    admin = jira_sandbox.client("admin")
    # The library sends {"name": ...}, which Cloud refuses: users are named by accountId there.
    with pytest.raises(JIRAError) as info:
        admin.add_user_to_group(viewer.name, "model-reviewers")
    assert info.value.status_code == 400
    added = requests.post(
        url,
        params=params,
        json={"accountId": viewer.account_id},
        auth=jira_sandbox.credentials("admin"),
        timeout=10,
    )
    assert added.status_code == 201
    try:
        assert viewer.account_id in admin.group_members("model-reviewers")
    finally:
        removed = requests.delete(
            url,
            params={**params, "accountId": viewer.account_id},
            auth=jira_sandbox.credentials("admin"),
            timeout=10,
        )
        assert removed.status_code == 200
    assert viewer.account_id not in admin.group_members("model-reviewers")


def test_add_user_to_group_datacenter(jira_sandbox_datacenter: JiraSandboxProcess) -> None:
    with pytest.raises(JIRAError) as info:
        jira_sandbox_datacenter.client("reviewer").add_user_to_group("viewer", "model-reviewers")
    assert info.value.status_code == 403
    admin = jira_sandbox_datacenter.client("admin")
    assert admin.add_user_to_group("viewer", "model-reviewers")
    try:
        assert "viewer" in admin.group_members("model-reviewers")
    finally:
        admin.remove_user_from_group("viewer", "model-reviewers")
    assert "viewer" not in admin.group_members("model-reviewers")


# -- authentication ----------------------------------------------------------------------------------------


def test_no_credentials_is_401_but_server_info_is_public(jira_sandbox: JiraSandboxProcess) -> None:
    assert requests.get(f"{jira_sandbox.url}/rest/api/2/serverInfo", timeout=10).status_code == 200
    response = requests.get(f"{jira_sandbox.url}/rest/api/2/myself", timeout=10)
    assert response.status_code == 401
    assert response.json()["errorMessages"]
    with pytest.raises(JIRAError) as info:
        JIRA(server=jira_sandbox.url, max_retries=0).myself()
    assert info.value.status_code == 401


@pytest.mark.parametrize(
    "auth",
    [("mlc-bot@example.com", "wrong-token"), ("mlc-bot@example.com", "mlc-bot-password"), ("mlc-bot", "x")],
    ids=["bad-token", "password-instead-of-token", "username-instead-of-email"],
)
def test_cloud_bad_basic_credentials_are_401(jira_sandbox: JiraSandboxProcess, auth: tuple[str, str]) -> None:
    with pytest.raises(JIRAError) as info:
        JIRA(server=jira_sandbox.url, basic_auth=auth, max_retries=0).myself()
    assert info.value.status_code == 401


def test_cloud_refuses_bearer_tokens(jira_sandbox: JiraSandboxProcess) -> None:
    with pytest.raises(JIRAError) as info:
        jira_sandbox.client("mlc-bot", bearer=True).myself()
    assert info.value.status_code == 401
    assert "API token" in str(info.value.text)


def test_datacenter_basic_and_bearer(jira_sandbox_datacenter: JiraSandboxProcess) -> None:
    assert jira_sandbox_datacenter.client("reviewer").myself()["name"] == "reviewer"
    assert jira_sandbox_datacenter.client("reviewer", bearer=True).myself()["name"] == "reviewer"
    response = requests.get(
        f"{jira_sandbox_datacenter.url}/rest/api/2/myself",
        headers={"Authorization": "Bearer nope"},
        timeout=10,
    )
    assert response.status_code == 401
    assert response.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
    with pytest.raises(JIRAError) as info:
        JIRA(server=jira_sandbox_datacenter.url, basic_auth=("reviewer", "wrong"), max_retries=0).myself()
    assert info.value.status_code == 401


def test_data_center_has_no_v3(jira_sandbox_datacenter: JiraSandboxProcess) -> None:
    response = requests.get(
        f"{jira_sandbox_datacenter.url}/rest/api/3/myself",
        auth=jira_sandbox_datacenter.credentials("mlc-bot"),
        timeout=10,
    )
    assert response.status_code == 404


# -- permissions -------------------------------------------------------------------------------------------


def test_outsider_sees_no_project_and_no_issue(jira_sandbox: JiraSandboxProcess, jira_client: JIRA) -> None:
    issue = jira_client.create_issue(project="MLC", summary="private", issuetype={"name": "Task"})
    outsider = jira_sandbox.client("outsider")
    assert "MLC" not in {p.key for p in outsider.projects()}
    with pytest.raises(JIRAError) as info:
        outsider.issue(issue.key)
    assert info.value.status_code == 404
    assert "do not have permission" in str(info.value.text)
    with pytest.raises(JIRAError) as info:
        outsider.project("MLC")
    assert info.value.status_code == 404
    with pytest.raises(JIRAError) as info:
        outsider.enhanced_search_issues("project = MLC")
    assert info.value.status_code == 400  # the project "does not exist" for them


def test_viewer_can_read_but_not_write(jira_sandbox: JiraSandboxProcess, jira_client: JIRA) -> None:
    issue = jira_client.create_issue(
        project="MLC", summary="read only for viewer", issuetype={"name": "Task"}
    )
    viewer = jira_sandbox.client("viewer")
    assert viewer.issue(issue.key).fields.summary == "read only for viewer"
    assert viewer.transitions(issue.key) == []  # Jira lists none without the transition permission
    with pytest.raises(JIRAError) as info:
        viewer.transition_issue(issue.key, "11")
    assert info.value.status_code == 400
    with pytest.raises(JIRAError) as info:
        viewer.add_comment(issue.key, "hello")
    assert info.value.status_code == 403
    with pytest.raises(JIRAError) as info:
        viewer.add_issue_property(issue.key, "k", {"a": 1}).raise_for_status()
    assert info.value.status_code == 403
    with pytest.raises(JIRAError) as info:
        viewer.create_issue(project="MLC", summary="nope", issuetype={"name": "Task"})
    assert info.value.status_code == 400
    assert "permission to create" in str(info.value.text)
