"""Jira REST endpoints (``/rest/api/{2,3,latest}/...``), as the ``jira`` library and the hook call them."""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import quote

from sandbox.jira import jql, ops
from sandbox.jira.render import CLOUD, FIELD_DEFS, SETTABLE, Renderer, jira_time, select_fields
from sandbox.jira.store import ApiError, Doc, Store


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-able, bytes, or None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json;charset=UTF-8"


@dataclass
class Ctx:
    """One request as the handlers see it."""

    store: Store
    config: Any  # server.Config
    method: str
    path: str
    params: dict[str, str]  # path parameters
    query: dict[str, list[str]]
    headers: Any  # email.message.Message (case-insensitive)
    body: bytes
    base: str
    api: str  # "2" or "3"
    user: Doc | None = None

    @property
    def flavor(self) -> str:
        return str(self.config.flavor)

    @property
    def r(self) -> Renderer:
        return Renderer(self.store, self.base, self.flavor, self.api)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        return [p for v in self.query.get(name, []) for p in v.split(",") if p]

    def int_arg(self, name: str, default: int) -> int:
        value = self.arg(name)
        if value in (None, ""):
            return default
        try:
            return int(value)
        except ValueError:
            raise ApiError(400, f"The '{name}' parameter must be a whole number, not '{value}'.") from None

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except json.JSONDecodeError as exc:
            raise ApiError(
                400, f"Unexpected character in the request body; send JSON ({exc.msg} at char {exc.pos})."
            ) from None
        except UnicodeDecodeError:
            raise ApiError(400, "The request body is not UTF-8 JSON.") from None

    def need_user(self) -> Doc:
        assert self.user is not None  # the server authenticates before any handler that needs a user
        return self.user


Handler = Callable[[Ctx], Response]
ROUTES: list[tuple[str, str, Handler, str]] = []  # (method, pattern, handler, flavours "cloud,datacenter")


def route(method: str, pattern: str, flavors: str = "cloud,datacenter") -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        ROUTES.append((method, pattern, fn, flavors))
        return fn

    return register


def ok(body: Any = None, status: int = 200, **headers: str) -> Response:
    return Response(status, body, dict(headers))


def no_content() -> Response:
    return Response(204, None)


def page(items: list[Any], start: int, size: int) -> list[Any]:
    if start < 0 or size < 0:
        raise ApiError(400, "startAt and maxResults must not be negative.")
    return items[start : start + size]


# -- server, self, metadata -------------------------------------------------------------------------------


@route("GET", "serverInfo")
def server_info(c: Ctx) -> Response:
    common = {"baseUrl": c.base, "serverTime": jira_time(c.store.now()), "serverTitle": "Jira Sandbox"}
    if c.flavor == CLOUD:
        info = {
            "version": "1001.0.0-SNAPSHOT",
            "versionNumbers": [1001, 0, 0],
            "deploymentType": "Cloud",
            "buildNumber": 100289,
            "buildDate": "2026-01-05T00:00:00.000+0000",
            "scmInfo": "sandbox",
        }
    else:
        info = {
            "version": "9.12.15",
            "versionNumbers": [9, 12, 15],
            "deploymentType": "Server",
            "buildNumber": 9120015,
            "buildDate": "2025-10-01T00:00:00.000+0000",
            "scmInfo": "sandbox",
        }
    return ok({**common, **info})


@route("GET", "myself")
def myself(c: Ctx) -> Response:
    return ok(c.r.user(c.need_user(), groups="groups" in (c.arg("expand") or "")))


@route("GET", "field")
def fields(c: Ctx) -> Response:
    result = []
    for fid, name, navigable, orderable, schema, clauses in FIELD_DEFS:
        doc: Doc = {
            "id": fid,
            "name": name,
            "custom": False,
            "orderable": orderable,
            "navigable": navigable,
            "searchable": True,
            "clauseNames": clauses,
        }
        if schema:
            doc["schema"] = schema
        if c.flavor == CLOUD:
            doc["key"] = fid
            doc["untranslatedName"] = name
        result.append(doc)
    return ok(result)


@route("GET", "issuetype")
def issue_types(c: Ctx) -> Response:
    return ok([c.r.issue_type(t) for t in c.store.meta["issuetypes"]])


@route("GET", "status")
def statuses(c: Ctx) -> Response:
    return ok([c.r.status(s) for s in c.store.meta["statuses"]])


@route("GET", "resolution")
def resolutions(c: Ctx) -> Response:
    return ok([c.r.resolution(r) for r in c.store.meta["resolutions"]])


@route("GET", "attachment/meta")
def attachment_meta(c: Ctx) -> Response:
    return ok(
        {
            "enabled": bool(c.store.meta.get("attachments_enabled", True)),
            "uploadLimit": c.config.attachment_limit,
        }
    )


# -- projects ---------------------------------------------------------------------------------------------


def visible_project(c: Ctx, ident: str) -> Doc:
    project = c.store.project(ident)
    if project is None or not c.store.can_browse(c.user, project):
        raise ApiError(404, f"No project could be found with key '{ident}'.")
    return project


@route("GET", "project")
def projects(c: Ctx) -> Response:
    expand = c.arg("expand") or ""
    visible = [p for p in c.store.projects.values() if c.store.can_browse(c.user, p)]
    return ok([c.r.project(p, issue_types="issueTypes" in expand) for p in visible])


@route("GET", "project/{project}")
def project(c: Ctx) -> Response:
    return ok(c.r.project(visible_project(c, c.params["project"])))


@route("GET", "project/{project}/statuses")
def project_statuses(c: Ctx) -> Response:
    proj = visible_project(c, c.params["project"])
    return ok(
        [
            {
                "self": f"{c.r.rest}/issuetype/{t}",
                "id": t,
                "name": c.store.issue_type(t)["name"],
                "subtask": False,
                "statuses": [c.r.status(s) for s in proj["statuses"]],
            }
            for t in proj["issuetypes"]
        ]
    )


def _field_meta(c: Ctx, project: Doc) -> list[Doc]:
    required = {"summary", "issuetype", "project"}
    result = []
    for fid, name, _, _, schema, _ in FIELD_DEFS:
        if fid not in SETTABLE:
            continue
        meta: Doc = {
            "required": fid in required,
            "schema": schema,
            "name": name,
            "key": fid,
            "fieldId": fid,
            "hasDefaultValue": fid == "reporter",
            "operations": ["add", "set", "remove"] if fid == "labels" else ["set"],
        }
        if fid == "issuetype":
            meta["allowedValues"] = [c.r.issue_type(t) for t in project["issuetypes"]]
        if fid == "project":
            meta["allowedValues"] = [c.r.project_ref(project)]
        result.append(meta)
    return result


@route("GET", "issue/createmeta", flavors="cloud")
def createmeta(c: Ctx) -> Response:
    keys = set(c.args("projectKeys"))
    ids = set(c.args("projectIds"))
    type_names = set(c.args("issuetypeNames"))
    type_ids = set(c.args("issuetypeIds"))
    with_fields = "projects.issuetypes.fields" in (c.arg("expand") or "")
    result = []
    for proj in c.store.projects.values():
        if not c.store.can_edit(c.user, proj):
            continue
        if (keys or ids) and proj["key"] not in keys and proj["id"] not in ids:
            continue
        types = []
        for t in proj["issuetypes"]:
            it = c.r.issue_type(t)
            if (type_names or type_ids) and it["name"] not in type_names and t not in type_ids:
                continue
            if with_fields:
                it["fields"] = {m["fieldId"]: m for m in _field_meta(c, proj)}
            types.append(it)
        result.append({**c.r.project_ref(proj), "issuetypes": types})
    return ok({"expand": "projects", "projects": result})


@route("GET", "issue/createmeta/{project}/issuetypes")
def createmeta_issuetypes(c: Ctx) -> Response:
    proj = visible_project(c, c.params["project"])
    start, size = c.int_arg("startAt", 0), c.int_arg("maxResults", 50)
    items = page([c.r.issue_type(t) for t in proj["issuetypes"]], start, size)
    total = len(proj["issuetypes"])
    key = "issueTypes" if c.flavor == CLOUD else "values"
    body: Doc = {"maxResults": size, "startAt": start, "total": total, key: items}
    if c.flavor != CLOUD:
        body["isLast"] = start + len(items) >= total
    return ok(body)


@route("GET", "issue/createmeta/{project}/issuetypes/{type}")
def createmeta_fields(c: Ctx) -> Response:
    proj = visible_project(c, c.params["project"])
    if c.params["type"] not in proj["issuetypes"]:
        raise ApiError(
            404, f"Issue type with id '{c.params['type']}' does not exist in project {proj['key']}."
        )
    start, size = c.int_arg("startAt", 0), c.int_arg("maxResults", 50)
    metas = _field_meta(c, proj)
    items = page(metas, start, size)
    key = "fields" if c.flavor == CLOUD else "values"
    body: Doc = {"maxResults": size, "startAt": start, "total": len(metas), key: items}
    if c.flavor != CLOUD:
        body["isLast"] = start + len(items) >= len(metas)
    return ok(body)


# -- users and groups -------------------------------------------------------------------------------------


@route("GET", "user")
def get_user(c: Ctx) -> Response:
    if c.flavor == CLOUD:
        for legacy in ("username", "key"):
            if c.arg(legacy) is not None:
                raise ApiError(400, f"The query parameter '{legacy}' is not supported in GDPR strict mode.")
        wanted = c.arg("accountId")
        if not wanted:
            raise ApiError(
                400, "The query parameter 'accountId' is required; look users up by their accountId."
            )
        user = next((u for u in c.store.users.values() if u["accountId"] == wanted), None)
    else:
        wanted = c.arg("username") or c.arg("key")
        if not wanted:
            raise ApiError(400, "Either the 'username' or the 'key' query parameter is required.")
        user = next((u for u in c.store.users.values() if wanted in (u["name"], u["key"])), None)
    if user is None:
        raise ApiError(404, "Specified user does not exist or you do not have required permissions")
    return ok(c.r.user(user, groups="groups" in (c.arg("expand") or "")))


@route("GET", "user/search")
def search_users(c: Ctx) -> Response:
    wanted = (c.arg("query") if c.flavor == CLOUD else c.arg("username")) or ""
    if c.flavor == CLOUD and c.arg("accountId"):
        wanted = c.arg("accountId") or ""
    if not wanted:
        name = "query" if c.flavor == CLOUD else "username"
        raise ApiError(400, f"The query parameter '{name}' is required.")
    low = wanted.lower()
    found = [
        u
        for u in sorted(c.store.users.values(), key=lambda u: u["displayName"])
        if low == "."
        or low in u["displayName"].lower()
        or low in u["email"].lower()
        or low in u["name"].lower()
        or low == u["accountId"].lower()
    ]
    return ok([c.r.user(u) for u in page(found, c.int_arg("startAt", 0), c.int_arg("maxResults", 50))])


def _group(c: Ctx) -> Doc:
    name = c.arg("groupname")
    group_id = c.arg("groupId") if c.flavor == CLOUD else None
    group = c.store.groups.get(name or "")
    if group is None and group_id:
        group = next((g for g in c.store.groups.values() if g["groupId"] == group_id), None)
    if group is None:
        if not name and not group_id:
            raise ApiError(400, "The query parameter 'groupname' is required.")
        raise ApiError(404, "Specified group does not exist.")
    return group


@route("GET", "group")
def get_group(c: Ctx) -> Response:
    group = _group(c)
    members = [c.store.users[m] for m in group["members"] if m in c.store.users]
    members.sort(key=lambda u: u["name"])
    expand = c.arg("expand") or ""
    start, end = 0, 49
    if expand.startswith("users[") and expand.endswith("]"):
        try:
            start, end = (int(x) for x in expand[6:-1].split(":"))
        except ValueError:
            raise ApiError(400, f"Cannot parse the expand value '{expand}'; use users[start:end].") from None
    shown = members[start : end + 1] if expand.startswith("users") else []
    return ok(
        {
            **c.r.group_ref(group["name"]),
            "users": {
                "size": len(members),
                "items": [c.r.user(u) for u in shown],
                "max-results": 50,
                "start-index": start,
                "end-index": start + len(shown) - 1 if shown else 0,
            },
            "expand": "users",
        }
    )


@route("GET", "group/member")
def group_members(c: Ctx) -> Response:
    group = _group(c)
    members = sorted(
        (c.store.users[m] for m in group["members"] if m in c.store.users), key=lambda u: u["name"]
    )
    start, size = c.int_arg("startAt", 0), c.int_arg("maxResults", 50)
    items = page(members, start, size)
    last = start + len(items) >= len(members)
    body: Doc = {
        "self": f"{c.r.rest}/group/member?groupname={quote(group['name'])}&startAt={start}&maxResults={size}",
        "maxResults": size,
        "startAt": start,
        "total": len(members),
        "isLast": last,
        "values": [c.r.user(u) for u in items],
    }
    if not last:
        next_start = start + size
        body["nextPage"] = (
            f"{c.r.rest}/group/member?groupname={quote(group['name'])}&startAt={next_start}&maxResults={size}"
        )
    return ok(body)


@route("GET", "groups/picker")
def groups_picker(c: Ctx) -> Response:
    query = (c.arg("query") or "").lower()
    names = sorted(n for n in c.store.groups if query in n.lower())
    shown = names[: c.int_arg("maxResults", 20)]
    groups = []
    for name in shown:
        doc: Doc = {"name": name, "html": name, "labels": []}
        if c.flavor == CLOUD:
            doc["groupId"] = c.store.groups[name]["groupId"]
        groups.append(doc)
    return ok(
        {
            "header": f"Showing {len(shown)} of {len(names)} matching groups",
            "total": len(names),
            "groups": groups,
        }
    )


def _member_from(c: Ctx, data: Any) -> Doc:
    data = data if isinstance(data, dict) else {}
    if c.flavor == CLOUD:
        if "name" in data or c.arg("username"):
            raise ApiError(
                400,
                "Users are named by 'accountId' on Jira Cloud; 'name'/'username' is not supported in GDPR "
                "strict mode.",
            )
        wanted = data.get("accountId") or c.arg("accountId")
        user = next((u for u in c.store.users.values() if u["accountId"] == wanted), None)
    else:
        wanted = data.get("name") or c.arg("username") or c.arg("key")
        user = next((u for u in c.store.users.values() if wanted in (u["name"], u["key"])), None)
    if user is None:
        field = "accountId" if c.flavor == CLOUD else "name"
        raise ApiError(400, f"Specify an existing user by '{field}'; '{wanted}' is not one.")
    return user


@route("POST", "group/user")
def add_to_group(c: Ctx) -> Response:
    if not c.store.is_admin(c.user):
        raise ApiError(
            403, "You are not authorized to perform this action. Administrator privileges are required."
        )
    group = _group(c)
    user = _member_from(c, c.json())
    if user["id"] in group["members"]:
        raise ApiError(400, f"Cannot add user. User is already a member of '{group['name']}'")
    with c.store.write():
        group["members"].append(user["id"])
        c.store.put("group", group["name"], group)
    return ok(c.r.group_ref(group["name"]), 201)


@route("DELETE", "group/user")
def remove_from_group(c: Ctx) -> Response:
    if not c.store.is_admin(c.user):
        raise ApiError(
            403, "You are not authorized to perform this action. Administrator privileges are required."
        )
    group = _group(c)
    user = _member_from(c, None)
    if user["id"] not in group["members"]:
        raise ApiError(400, f"Cannot remove user. User is not a member of '{group['name']}'")
    with c.store.write():
        group["members"].remove(user["id"])
        c.store.put("group", group["name"], group)
    return ok(None)


# -- issues -----------------------------------------------------------------------------------------------


def _expand(c: Ctx) -> set[str]:
    return {e.strip() for e in c.args("expand")}


def render_issue(c: Ctx, issue: Doc, *, fields_default: str = "*all", search: bool = False) -> Doc:
    requested = c.args("fields")
    chosen = select_fields(requested or None, fields_default)
    expand = _expand(c)
    transitions = None
    if "transitions" in expand:
        transitions = [_transition_doc(c, t) for t in ops.available_transitions(c.store, c.user, issue)]
    cap = 100 if c.flavor == CLOUD else None
    return c.r.issue(
        issue,
        fields=chosen,
        expand=expand,
        changelog_cap=cap,
        transitions=transitions,
        properties=c.args("properties"),
    )


@route("POST", "issue")
def create_issue(c: Ctx) -> Response:
    with c.store.write():
        issue = ops.create_issue(c.store, c.need_user(), c.json(), flavor=c.flavor, api=c.api)
    return ok({"id": issue["id"], "key": issue["key"], "self": f"{c.r.rest}/issue/{issue['id']}"}, 201)


@route("GET", "issue/{key}")
def get_issue(c: Ctx) -> Response:
    with c.store.lock:
        issue = ops.visible_issue(c.store, c.user, c.params["key"])
        return ok(render_issue(c, issue))


@route("PUT", "issue/{key}")
def edit_issue(c: Ctx) -> Response:
    with c.store.write():
        issue = ops.visible_issue(c.store, c.user, c.params["key"])
        ops.edit_issue(c.store, c.need_user(), issue, c.json(), flavor=c.flavor, api=c.api)
    return no_content()


@route("DELETE", "issue/{key}")
def delete_issue(c: Ctx) -> Response:
    with c.store.write():
        issue = ops.visible_issue(c.store, c.user, c.params["key"])
        ops.require_edit(
            c.store, c.user, issue, 403, "You do not have permission to delete issues in this project."
        )
        c.store.remove_issue(issue)
    return no_content()


@route("PUT", "issue/{key}/assignee")
def assign_issue(c: Ctx) -> Response:
    with c.store.write():
        issue = ops.visible_issue(c.store, c.user, c.params["key"])
        ops.assign(c.store, c.need_user(), issue, c.json(), flavor=c.flavor)
    return no_content()


@route("GET", "issue/{key}/changelog", flavors="cloud")
def changelog(c: Ctx) -> Response:
    with c.store.lock:
        issue = ops.visible_issue(c.store, c.user, c.params["key"])
        histories = issue.get("histories", [])
        start, size = c.int_arg("startAt", 0), min(c.int_arg("maxResults", 100), 100)
        items = page(histories, start, size)
        last = start + len(items) >= len(histories)
        url = f"{c.r.rest}/issue/{issue['key']}/changelog"
        body: Doc = {
            "self": f"{url}?startAt={start}&maxResults={size}",
            "maxResults": size,
            "startAt": start,
            "total": len(histories),
            "isLast": last,
            "values": [c.r.history(h) for h in items],
        }
        if not last:
            body["nextPage"] = f"{url}?startAt={start + size}&maxResults={size}"
        return ok(body)


def _transition_doc(c: Ctx, transition: Doc) -> Doc:
    doc = {
        "id": transition["id"],
        "name": transition["name"],
        "to": c.r.status(transition["to"]),
        "hasScreen": False,
        "isGlobal": False,
        "isInitial": False,
        "isAvailable": True,
        "isConditional": False,
        "isLooped": False,
    }
    if "transitions.fields" in (c.arg("expand") or ""):
        doc["fields"] = {}
    return doc


@route("GET", "issue/{key}/transitions")
def get_transitions(c: Ctx) -> Response:
    with c.store.lock:
        issue = ops.visible_issue(c.store, c.user, c.params["key"])
        available = ops.available_transitions(c.store, c.user, issue)
        wanted = c.arg("transitionId")
        if wanted:
            available = [t for t in available if t["id"] == wanted]
        return ok({"expand": "transitions", "transitions": [_transition_doc(c, t) for t in available]})


@route("POST", "issue/{key}/transitions")
def post_transition(c: Ctx) -> Response:
    body = c.json()
    if not isinstance(body, dict):
        raise ApiError(400, "Specify the transition as {'transition': {'id': '...'}}.")
    comment = None
    for op in (body.get("update") or {}).get("comment", []):
        if isinstance(op, dict) and "add" in op:
            comment = op["add"]
    with c.store.write():
        issue = ops.visible_issue(c.store, c.user, c.params["key"])
        ops.do_transition(
            c.store,
            c.need_user(),
            issue,
            (body.get("transition") or {}).get("id"),
            fields=body.get("fields"),
            comment=comment,
            api=c.api,
        )
    return no_content()


# -- comments ---------------------------------------------------------------------------------------------


@route("GET", "issue/{key}/comment")
def list_comments(c: Ctx) -> Response:
    with c.store.lock:
        issue = ops.visible_issue(c.store, c.user, c.params["key"])
        comments = list(issue.get("comments", []))
        if (c.arg("orderBy") or "").startswith("-"):
            comments.reverse()
        start, size = c.int_arg("startAt", 0), c.int_arg("maxResults", 5000)
        shown = page(comments, start, size)
        return ok(
            {
                "startAt": start,
                "maxResults": size,
                "total": len(comments),
                "comments": [c.r.comment(issue, x) for x in shown],
            }
        )


@route("POST", "issue/{key}/comment")
def post_comment(c: Ctx) -> Response:
    with c.store.write():
        issue = ops.visible_issue(c.store, c.user, c.params["key"])
        comment = ops.add_comment(c.store, c.need_user(), issue, c.json(), api=c.api)
        return ok(c.r.comment(issue, comment), 201)


@route("GET", "issue/{key}/comment/{id}")
def get_comment(c: Ctx) -> Response:
    with c.store.lock:
        issue = ops.visible_issue(c.store, c.user, c.params["key"])
        return ok(c.r.comment(issue, ops.find_comment(issue, c.params["id"])))


@route("PUT", "issue/{key}/comment/{id}")
def put_comment(c: Ctx) -> Response:
    with c.store.write():
        issue = ops.visible_issue(c.store, c.user, c.params["key"])
        comment = ops.find_comment(issue, c.params["id"])
        if comment["author"] != c.need_user()["id"] and not c.store.is_admin(c.user):
            raise ApiError(403, "You do not have the permission to edit this comment.")
        body = c.json()
        text = ops.check_text(body.get("body") if isinstance(body, dict) else None, c.api, "comment")
        if not text:
            raise ApiError(400, errors={"comment": "Comment body can not be empty!"})
        c.store.begin_issue_change(issue)
        comment.update({"body": text, "updated": c.store.now(), "update_author": c.need_user()["id"]})
        c.store.save_issue(issue)
        return ok(c.r.comment(issue, comment))


@route("DELETE", "issue/{key}/comment/{id}")
def delete_comment(c: Ctx) -> Response:
    with c.store.write():
        issue = ops.visible_issue(c.store, c.user, c.params["key"])
        comment = ops.find_comment(issue, c.params["id"])
        if comment["author"] != c.need_user()["id"] and not c.store.is_admin(c.user):
            raise ApiError(403, "You do not have the permission to delete this comment.")
        c.store.begin_issue_change(issue)
        issue["comments"].remove(comment)
        c.store.save_issue(issue)
    return no_content()


# -- remote links -----------------------------------------------------------------------------------------


@route("GET", "issue/{key}/remotelink")
def list_links(c: Ctx) -> Response:
    with c.store.lock:
        issue = ops.visible_issue(c.store, c.user, c.params["key"])
        links = issue.get("remotelinks", [])
        global_id = c.arg("globalId")
        if global_id is not None:
            found = next((x for x in links if x.get("globalId") == global_id), None)
            if found is None:
                raise ApiError(404, f"No remote link with globalId '{global_id}' on {issue['key']}.")
            return ok(c.r.remote_link(issue, found))
        return ok([c.r.remote_link(issue, x) for x in links])


@route("POST", "issue/{key}/remotelink")
def post_link(c: Ctx) -> Response:
    with c.store.write():
        issue = ops.visible_issue(c.store, c.user, c.params["key"])
        link, created = ops.upsert_remote_link(c.store, c.need_user(), issue, c.json())
    body = {"id": int(link["id"]), "self": f"{c.r.rest}/issue/{issue['key']}/remotelink/{link['id']}"}
    return ok(body, 201 if created else 200)


@route("GET", "issue/{key}/remotelink/{id}")
def get_link(c: Ctx) -> Response:
    with c.store.lock:
        issue = ops.visible_issue(c.store, c.user, c.params["key"])
        link = next((x for x in issue.get("remotelinks", []) if x["id"] == c.params["id"]), None)
        if link is None:
            raise ApiError(404, f"No remote link with id {c.params['id']} on {issue['key']}.")
        return ok(c.r.remote_link(issue, link))


@route("PUT", "issue/{key}/remotelink/{id}")
def put_link(c: Ctx) -> Response:
    with c.store.write():
        issue = ops.visible_issue(c.store, c.user, c.params["key"])
        ops.upsert_remote_link(c.store, c.need_user(), issue, c.json(), link_id=c.params["id"])
    return no_content()


@route("DELETE", "issue/{key}/remotelink/{id}")
@route("DELETE", "issue/{key}/remotelink")
def delete_link(c: Ctx) -> Response:
    with c.store.write():
        issue = ops.visible_issue(c.store, c.user, c.params["key"])
        ops.require_edit(c.store, c.user, issue, 403, "You do not have permission to link issues.")
        links = issue.get("remotelinks", [])
        if "id" in c.params:
            link = next((x for x in links if x["id"] == c.params["id"]), None)
            wanted = f"id {c.params['id']}"
        else:
            global_id = c.arg("globalId")
            if not global_id:
                raise ApiError(400, "Name the link to delete: /remotelink/{id} or /remotelink?globalId=...")
            link = next((x for x in links if x.get("globalId") == global_id), None)
            wanted = f"globalId '{global_id}'"
        if link is None:
            raise ApiError(404, f"No remote link with {wanted} on {issue['key']}.")
        c.store.begin_issue_change(issue)
        links.remove(link)
        c.store.save_issue(issue)
    return no_content()


# -- attachments ------------------------------------------------------------------------------------------


def parse_multipart(content_type: str, body: bytes) -> list[tuple[str, str, bytes]]:
    """The ``file`` parts of a multipart/form-data body as (filename, mime type, bytes)."""
    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\nMIME-Version: 1.0\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise ApiError(400, "Send attachments as multipart/form-data with one part named 'file' per file.")
    files = []
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") != "file":
            continue
        filename = part.get_filename() or "attachment"
        data = part.get_payload(decode=True)
        mime = part.get_content_type()
        if mime in ("application/octet-stream", "text/plain") and "." in filename:
            mime = mimetypes.guess_type(filename)[0] or mime
        files.append((filename, mime, data if isinstance(data, bytes) else b""))
    if not files:
        raise ApiError(400, "No file was attached: the multipart body needs a part named 'file'.")
    return files


@route("POST", "issue/{key}/attachments")
def post_attachments(c: Ctx) -> Response:
    token = (c.headers.get("X-Atlassian-Token") or "").lower()
    if token not in ("no-check", "nocheck"):
        return Response(403, b"XSRF check failed", content_type="text/plain;charset=UTF-8")
    content_type = c.headers.get("Content-Type") or ""
    if not content_type.lower().startswith("multipart/form-data"):
        raise ApiError(415, "Send attachments as multipart/form-data with a part named 'file'.")
    with c.store.write():
        issue = ops.visible_issue(c.store, c.user, c.params["key"])
        files = parse_multipart(content_type, c.body)
        created = ops.add_attachments(c.store, c.need_user(), issue, files, limit=c.config.attachment_limit)
    return ok([c.r.attachment(a) for a in created])


@route("GET", "attachment/{id}")
def get_attachment(c: Ctx) -> Response:
    with c.store.lock:
        _, attachment = ops.find_attachment(c.store, c.user, c.params["id"])
        return ok(c.r.attachment(attachment))


@route("DELETE", "attachment/{id}")
def delete_attachment(c: Ctx) -> Response:
    with c.store.write():
        issue, attachment = ops.find_attachment(c.store, c.user, c.params["id"])
        ops.require_edit(c.store, c.user, issue, 403, "You do not have permission to delete this attachment.")
        c.store.begin_issue_change(issue)
        issue["attachments"].remove(attachment)
        c.store._blobs[attachment["id"]] = None
        c.store.save_issue(issue)
    return no_content()


def attachment_content(c: Ctx, attachment_id: str) -> Response:
    with c.store.lock:
        _, attachment = ops.find_attachment(c.store, c.user, attachment_id)
        data = c.store.blob(attachment["id"]) or b""
    disposition = f"attachment; filename*=UTF-8''{quote(attachment['filename'])}"
    return Response(200, data, {"Content-Disposition": disposition}, content_type=attachment["mimeType"])


@route("GET", "attachment/content/{id}", flavors="cloud")
def get_attachment_content(c: Ctx) -> Response:
    return attachment_content(c, c.params["id"])


# -- issue properties -------------------------------------------------------------------------------------


@route("GET", "issue/{key}/properties")
def list_properties(c: Ctx) -> Response:
    with c.store.lock:
        issue = ops.visible_issue(c.store, c.user, c.params["key"])
        url = f"{c.r.rest}/issue/{issue['key']}/properties"
        return ok({"keys": [{"self": f"{url}/{quote(k)}", "key": k} for k in issue.get("properties", {})]})


@route("GET", "issue/{key}/properties/{prop}")
def get_property(c: Ctx) -> Response:
    with c.store.lock:
        issue = ops.visible_issue(c.store, c.user, c.params["key"])
        props = issue.get("properties", {})
        if c.params["prop"] not in props:
            raise ApiError(404, f"The property with key '{c.params['prop']}' does not exist.")
        return ok({"key": c.params["prop"], "value": props[c.params["prop"]]})


@route("PUT", "issue/{key}/properties/{prop}")
def put_property(c: Ctx) -> Response:
    key = c.params["prop"]
    if len(key) > 255:
        raise ApiError(400, "The property key cannot be longer than 255 characters.")
    if len(c.body) > 32768:
        raise ApiError(
            400, f"The property '{key}' has a value of {len(c.body)} bytes; the limit is 32768 bytes."
        )
    value = c.json()
    with c.store.write():
        issue = ops.visible_issue(c.store, c.user, c.params["key"])
        ops.require_edit(c.store, c.user, issue, 403, "You do not have permission to edit this issue.")
        props = issue.setdefault("properties", {})
        created = key not in props
        c.store.begin_issue_change(issue)
        props[key] = value
        c.store.save_issue(issue, touch=False)
    return ok(None, 201 if created else 200)


@route("DELETE", "issue/{key}/properties/{prop}")
def delete_property(c: Ctx) -> Response:
    with c.store.write():
        issue = ops.visible_issue(c.store, c.user, c.params["key"])
        ops.require_edit(c.store, c.user, issue, 403, "You do not have permission to edit this issue.")
        props = issue.get("properties", {})
        if c.params["prop"] not in props:
            raise ApiError(404, f"The property with key '{c.params['prop']}' does not exist.")
        c.store.begin_issue_change(issue)
        del props[c.params["prop"]]
        c.store.save_issue(issue, touch=False)
    return no_content()


# -- search -----------------------------------------------------------------------------------------------

REMOVED_SEARCH = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration "
    "guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)


def _search_params(c: Ctx) -> Doc:
    """GET query parameters or a POST body, as one dict with list-valued fields/expand/properties."""
    if c.method == "POST":
        body = c.json()
        if not isinstance(body, dict):
            raise ApiError(400, "Send the search as a JSON object with at least 'jql'.")
        result = dict(body)
        for name in ("fields", "properties"):
            value = result.get(name)
            result[name] = [value] if isinstance(value, str) else list(value or [])
        expand = result.get("expand")
        result["expand"] = [expand] if isinstance(expand, str) else list(expand or [])
        return result
    return {
        "jql": c.arg("jql", ""),
        "fields": c.query.get("fields", []),
        "expand": c.query.get("expand", []),
        "properties": c.query.get("properties", []),
        "startAt": c.arg("startAt"),
        "maxResults": c.arg("maxResults"),
        "nextPageToken": c.arg("nextPageToken"),
    }


def _as_int(value: Any, name: str, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"The '{name}' value must be a whole number, not '{value}'.") from None


def _run_search(c: Ctx, jql_text: str) -> tuple[jql.Compiled, list[Doc]]:
    compiled = jql.compile_query(jql_text or "", c.store, c.user)
    with c.store.lock:
        candidates = [
            i
            for i in c.store.searchable()
            if c.store.can_browse(c.user, c.store.projects[i["project"]]) and compiled.matches(i)
        ]
        return compiled, compiled.sort(candidates)


def _render_hits(c: Ctx, hits: list[Doc], params: Doc, default_fields: str) -> list[Doc]:
    c.query = {
        **c.query,
        "fields": [",".join(str(f) for f in params.get("fields") or [])] if params.get("fields") else [],
        "expand": [",".join(params.get("expand") or [])] if params.get("expand") else [],
        "properties": [",".join(params.get("properties") or [])] if params.get("properties") else [],
    }
    return [render_issue(c, issue, fields_default=default_fields, search=True) for issue in hits]


def _token(offset: int, jql_text: str) -> str:
    raw = json.dumps({"o": offset, "q": hashlib.sha256(jql_text.encode()).hexdigest()[:16]})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _offset_from_token(token: str, jql_text: str) -> int:
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if raw["q"] != hashlib.sha256(jql_text.encode()).hexdigest()[:16]:
            raise ValueError("token from another query")
        return int(raw["o"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(
            400, "The provided next page token is invalid or expired; start again without nextPageToken."
        ) from None


@route("GET", "search/jql", flavors="cloud")
@route("POST", "search/jql", flavors="cloud")
def search_jql(c: Ctx) -> Response:
    params = _search_params(c)
    jql_text = str(params.get("jql") or "")
    compiled = jql.compile_query(jql_text, c.store, c.user)
    if not compiled.bounded:
        raise ApiError(
            400, "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
        )
    fields = [p for f in params.get("fields") or [] for p in str(f).split(",") if p]
    ids_only = all(f in ("id", "key") for f in fields)
    cap = 5000 if ids_only else 100
    size = min(max(_as_int(params.get("maxResults"), "maxResults", 50), 0), cap)
    token = params.get("nextPageToken")
    offset = _offset_from_token(str(token), jql_text) if token else 0
    _, hits = _run_search(c, jql_text)
    shown = hits[offset : offset + size]
    body: Doc = {"issues": _render_hits(c, shown, params, default_fields="id")}
    if offset + len(shown) < len(hits):
        body["nextPageToken"] = _token(offset + len(shown), jql_text)
        body["isLast"] = False
    else:
        body["isLast"] = True
    return ok(body)


@route("GET", "search")
@route("POST", "search")
def search(c: Ctx) -> Response:
    if c.flavor == CLOUD:
        raise ApiError(410, REMOVED_SEARCH)
    params = _search_params(c)
    jql_text = str(params.get("jql") or "")
    start = _as_int(params.get("startAt"), "startAt", 0)
    size = min(max(_as_int(params.get("maxResults"), "maxResults", 50), 0), 1000)
    _, hits = _run_search(c, jql_text)
    shown = page(hits, start, size)
    return ok(
        {
            "expand": "schema,names",
            "startAt": start,
            "maxResults": size,
            "total": len(hits),
            "issues": _render_hits(c, shown, params, default_fields="*navigable"),
        }
    )


@route("POST", "search/approximate-count", flavors="cloud")
def approximate_count(c: Ctx) -> Response:
    body = c.json() or {}
    _, hits = _run_search(c, str(body.get("jql") or ""))
    return ok({"count": len(hits)})
