"""Jira operations on the store, shared by the REST API, the reviewer page and the transition CLI.

Every function takes the acting user and checks permissions the way Jira does: an issue in a project the
user cannot browse does not exist for them (404); writes need the project's edit group.
"""

from __future__ import annotations

import hashlib
from collections import deque
from typing import Any

from sandbox.jira.render import SETTABLE, adf_to_text
from sandbox.jira.store import ApiError, Doc, Store

NOT_FOUND = "Issue does not exist or you do not have permission to see it."
CANNOT_SET = "Field '{0}' cannot be set. It is not on the appropriate screen, or unknown."


def visible_issue(store: Store, user: Doc | None, key: str) -> Doc:
    issue = store.issue(key)
    if issue is None or not store.can_browse(user, store.projects[issue["project"]]):
        raise ApiError(404, NOT_FOUND)
    return issue


def require_edit(store: Store, user: Doc | None, issue: Doc, status: int, message: str) -> None:
    if not store.can_edit(user, store.projects[issue["project"]]):
        raise ApiError(status, message)


def user_ref(store: Store, value: Any, flavor: str, field: str) -> str | None:
    """The internal id of the user a create/edit names, by accountId (Cloud) or name/key (Data Center)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ApiError(400, errors={field: f"Specify the {field} as an object, e.g. {{'accountId': '...'}}."})
    if flavor == "cloud":
        if "accountId" not in value and "id" not in value:
            raise ApiError(
                400, errors={field: "Specify the user by accountId; 'name' and 'key' are not supported."}
            )
        wanted = value.get("accountId") or value.get("id")
        user = next((u for u in store.users.values() if u["accountId"] == wanted), None)
    else:
        wanted = value.get("name") or value.get("key")
        user = next((u for u in store.users.values() if wanted in (u["name"], u["key"])), None)
    if wanted in (None, "", "-1") and field == "assignee":
        return None
    if user is None:
        raise ApiError(400, errors={field: f"User '{wanted}' does not exist."})
    return str(user["id"])


def check_text(value: Any, api: str, field: str) -> Any:
    """A rich-text value as the REST version requires it: v2 a string, v3 an Atlassian Document."""
    if value is None:
        return None
    if api == "3":
        if not (
            isinstance(value, dict) and value.get("type") == "doc" and isinstance(value.get("content"), list)
        ):
            raise ApiError(
                400,
                errors={
                    field: "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
                },
            )
        return value
    if not isinstance(value, str):
        raise ApiError(400, errors={field: "Operation value must be a string"})
    return value


def check_labels(labels: Any) -> list[str]:
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise ApiError(400, errors={"labels": "Specify the labels as a list of strings."})
    for label in labels:
        if not label or any(c.isspace() for c in label):
            raise ApiError(400, errors={"labels": f"The label '{label}' contains spaces which is invalid."})
        if len(label) > 255:
            raise ApiError(400, errors={"labels": f"The label '{label}' exceeds the 255 character limit."})
    return list(dict.fromkeys(labels))


def check_summary(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, errors={"summary": "You must specify a summary of the issue."})
    if "\n" in value or "\r" in value:
        raise ApiError(
            400, errors={"summary": "The summary is invalid because it contains newline characters."}
        )
    if len(value) > 255:
        raise ApiError(400, errors={"summary": "Summary must be less than 255 characters."})
    return value


def history_item(field: str, before: Any, after: Any, before_s: Any, after_s: Any) -> Doc:
    return {
        "field": field,
        "fieldtype": "jira",
        "fieldId": field,
        "from": before,
        "fromString": before_s,
        "to": after,
        "toString": after_s,
    }


def add_history(store: Store, issue: Doc, user: Doc, items: list[Doc]) -> None:
    if items:
        issue.setdefault("histories", []).append(
            {"id": store.next_id(), "author": user["id"], "created": store.now(), "items": items}
        )


def _user_item(store: Store, field: str, before: str | None, after: str | None, flavor: str) -> Doc:
    def ident(uid: str | None) -> str | None:
        user = store.user(uid)
        if user is None:
            return None
        return str(user["accountId"] if flavor == "cloud" else user["name"])

    def name(uid: str | None) -> str | None:
        user = store.user(uid)
        return str(user["displayName"]) if user else None

    return history_item(field, ident(before), ident(after), name(before), name(after))


def create_issue(store: Store, user: Doc, body: Any, *, flavor: str, api: str) -> Doc:
    if not isinstance(body, dict) or not isinstance(body.get("fields"), dict):
        raise ApiError(
            400, "Specify the issue as {'fields': {...}}: the request body has no 'fields' object."
        )
    fields: Doc = body["fields"]
    errors: dict[str, str] = {}
    for name in fields:
        if name not in SETTABLE:
            errors[name] = CANNOT_SET.format(name)
    ref = fields.get("project")
    project = None
    if isinstance(ref, dict):
        project = store.project(str(ref.get("key") or ref.get("id") or ""))
    if project is None or not store.can_browse(user, project):
        errors["project"] = "Specify a valid project ID or key"
    elif not store.can_edit(user, project):
        errors["project"] = "You do not have permission to create issues in this project."
    type_ref = fields.get("issuetype")
    type_id = None
    if project is not None and isinstance(type_ref, dict):
        for tid in project["issuetypes"]:
            it = store.issue_type(tid)
            if str(type_ref.get("id", "")) == tid or type_ref.get("name") == it["name"]:
                type_id = tid
    if type_id is None:
        errors["issuetype"] = (
            "Specify an issue type" if not type_ref else "The issue type selected is invalid."
        )
    if errors:
        raise ApiError(400, errors=errors)
    assert project is not None and type_id is not None
    summary = check_summary(fields.get("summary"))
    description = check_text(fields.get("description"), api, "description")
    labels = check_labels(fields.get("labels", []))
    assignee = user_ref(store, fields.get("assignee"), flavor, "assignee")
    if assignee and not store.can_edit(store.user(assignee), project):
        raise ApiError(400, errors={"assignee": f"User '{assignee}' cannot be assigned issues."})
    reporter = user_ref(store, fields.get("reporter"), flavor, "reporter") or user["id"]
    now = store.now()
    number = project["next_number"]
    project["next_number"] = number + 1
    store.put("project", project["key"], project)
    issue: Doc = {
        "id": store.next_id(),
        "key": f"{project['key']}-{number}",
        "project": project["key"],
        "issuetype": type_id,
        "summary": summary,
        "description": description,
        "labels": labels,
        "assignee": assignee,
        "reporter": reporter,
        "creator": user["id"],
        "status": project["statuses"][0],
        "resolution": None,
        "resolutiondate": None,
        "created": now,
        "updated": now,
        "statuscategorychangedate": now,
        "comments": [],
        "attachments": [],
        "remotelinks": [],
        "properties": {},
        "histories": [],
    }
    store.save_issue(issue)
    return issue


def edit_issue(store: Store, user: Doc, issue: Doc, body: Any, *, flavor: str, api: str) -> None:
    if not isinstance(body, dict):
        raise ApiError(400, "Specify the edit as {'fields': {...}, 'update': {...}}.")
    fields: Doc = body.get("fields") or {}
    update: Doc = body.get("update") or {}
    project = store.projects[issue["project"]]
    may_edit = store.can_edit(user, project)
    errors = {
        name: CANNOT_SET.format(name)
        for name in [*fields, *update]
        if (name not in SETTABLE and name != "comment") or name == "project" or not may_edit
    }
    if errors:
        raise ApiError(400, errors=errors)
    store.begin_issue_change(issue)
    items: list[Doc] = []
    if "summary" in fields or "summary" in update:
        new = fields["summary"] if "summary" in fields else _set_op(update["summary"], "summary")
        new = check_summary(new)
        if new != issue["summary"]:
            items.append(history_item("summary", None, None, issue["summary"], new))
            issue["summary"] = new
    if "description" in fields or "description" in update:
        new = (
            fields["description"]
            if "description" in fields
            else _set_op(update["description"], "description")
        )
        new = check_text(new, api, "description")
        if new != issue.get("description"):
            old_text = (
                adf_to_text(issue["description"]) if isinstance(issue.get("description"), dict) else None
            )
            items.append(
                history_item(
                    "description",
                    None,
                    None,
                    old_text if old_text is not None else issue.get("description"),
                    adf_to_text(new) if isinstance(new, dict) else new,
                )
            )
            issue["description"] = new
    if "labels" in fields or "labels" in update:
        labels = list(issue.get("labels", []))
        if "labels" in fields:
            labels = check_labels(fields["labels"])
        for op in update.get("labels", []):
            if not isinstance(op, dict):
                raise ApiError(
                    400, errors={"labels": "Each labels operation is an object: add, remove or set."}
                )
            if "set" in op:
                labels = check_labels(op["set"])
            if "add" in op:
                labels = check_labels([*labels, op["add"]])
            if "remove" in op:
                labels = [x for x in labels if x != op["remove"]]
        if labels != issue.get("labels", []):
            items.append(history_item("labels", None, None, " ".join(issue["labels"]), " ".join(labels)))
            issue["labels"] = labels
    for field in ("assignee", "reporter"):
        if field in fields:
            new_user = user_ref(store, fields[field], flavor, field)
            if field == "assignee" and new_user and not store.can_edit(store.user(new_user), project):
                raise ApiError(400, errors={"assignee": f"User '{new_user}' cannot be assigned issues."})
            if new_user != issue.get(field):
                items.append(_user_item(store, field, issue.get(field), new_user, flavor))
                issue[field] = new_user
    if "issuetype" in fields:
        ref = fields["issuetype"] or {}
        match = [
            t
            for t in project["issuetypes"]
            if str(ref.get("id")) == t or ref.get("name") == store.issue_type(t)["name"]
        ]
        if not match:
            raise ApiError(400, errors={"issuetype": "The issue type selected is invalid."})
        if match[0] != issue["issuetype"]:
            items.append(
                history_item(
                    "issuetype",
                    issue["issuetype"],
                    match[0],
                    store.issue_type(issue["issuetype"])["name"],
                    store.issue_type(match[0])["name"],
                )
            )
            issue["issuetype"] = match[0]
    for op in update.get("comment", []):
        if isinstance(op, dict) and "add" in op:
            add_comment(store, user, issue, op["add"], api=api, save=False)
            items = items or []
    add_history(store, issue, user, items)
    if items or update.get("comment"):
        store.save_issue(issue)


def _set_op(ops: Any, field: str) -> Any:
    for op in ops if isinstance(ops, list) else []:
        if isinstance(op, dict) and "set" in op:
            return op["set"]
    raise ApiError(400, errors={field: f"Only the 'set' operation is supported for {field}."})


def assign(store: Store, user: Doc, issue: Doc, body: Any, *, flavor: str) -> None:
    project = store.projects[issue["project"]]
    if not store.can_edit(user, project):
        raise ApiError(403, "You do not have permission to assign issues.")
    new_user = user_ref(store, body if isinstance(body, dict) else None, flavor, "assignee")
    if new_user and not store.can_edit(store.user(new_user), project):
        raise ApiError(400, errors={"assignee": f"User '{new_user}' cannot be assigned issues."})
    if new_user != issue.get("assignee"):
        store.begin_issue_change(issue)
        add_history(
            store, issue, user, [_user_item(store, "assignee", issue.get("assignee"), new_user, flavor)]
        )
        issue["assignee"] = new_user
        store.save_issue(issue)


# -- workflow ------------------------------------------------------------------------------------------


def available_transitions(store: Store, user: Doc | None, issue: Doc) -> list[Doc]:
    """The transitions the user may take from the issue's status (none without edit permission)."""
    project = store.projects[issue["project"]]
    if not store.can_edit(user, project):
        return []
    return [t for t in project["workflow"] if issue["status"] in t["from"]]


def do_transition(
    store: Store,
    user: Doc,
    issue: Doc,
    transition_id: Any,
    *,
    fields: Any = None,
    comment: Any = None,
    api: str = "2",
) -> None:
    if transition_id in (None, ""):
        raise ApiError(400, "Missing 'transition' identifier")
    chosen = next(
        (t for t in available_transitions(store, user, issue) if t["id"] == str(transition_id)), None
    )
    if chosen is None:
        raise ApiError(400, f"Transition id '{transition_id}' is not valid for this issue.")
    if fields:
        raise ApiError(400, errors={name: CANNOT_SET.format(name) for name in fields})
    store.begin_issue_change(issue)
    old, new = issue["status"], chosen["to"]
    items = [history_item("status", old, new, store.status(old)["name"], store.status(new)["name"])]
    old_res = issue.get("resolution")
    new_res = store.meta["resolution_for"].get(new) if store.status(new)["category"] == "done" else None
    if new_res != old_res:
        names = store.meta["resolutions"]
        items.insert(
            0,
            history_item(
                "resolution",
                old_res,
                new_res,
                names[old_res]["name"] if old_res else None,
                names[new_res]["name"] if new_res else None,
            ),
        )
        issue["resolution"] = new_res
        issue["resolutiondate"] = store.now() if new_res else None
    if store.status(old)["category"] != store.status(new)["category"]:
        issue["statuscategorychangedate"] = store.now()
    issue["status"] = new
    add_history(store, issue, user, items)
    if comment:
        add_comment(store, user, issue, comment, api=api, save=False)
    store.save_issue(issue)


def transition_to(store: Store, user: Doc, issue: Doc, status_name: str) -> list[str]:
    """Walk the shortest workflow path to ``status_name`` as ``user`` (reviewer page and CLI).

    Returns the status names passed through; one changelog entry per step, as clicking through Jira makes.
    """
    project = store.projects[issue["project"]]
    target = store.status_by_name(status_name)
    if target is None or target["id"] not in project["statuses"]:
        names = ", ".join(store.status(s)["name"] for s in project["statuses"])
        raise ApiError(
            400, f"Project {project['key']} has no status '{status_name}'; its statuses are: {names}."
        )
    if not store.can_edit(user, project):
        raise ApiError(
            400,
            f"{user['email']} may not transition issues in {project['key']} (not in "
            f"{', '.join(project['edit_groups'])}); choose a reviewer who is.",
        )
    # Breadth-first search over the workflow from the current status.
    paths: dict[str, list[Doc]] = {issue["status"]: []}
    queue = deque([issue["status"]])
    while queue:
        here = queue.popleft()
        for transition in project["workflow"]:
            if here in transition["from"] and transition["to"] not in paths:
                paths[transition["to"]] = [*paths[here], transition]
                queue.append(transition["to"])
    if target["id"] not in paths:
        raise ApiError(
            400, f"No workflow path leads from {store.status(issue['status'])['name']} to {target['name']}."
        )
    passed = []
    for transition in paths[target["id"]]:
        do_transition(store, user, issue, transition["id"])
        passed.append(store.status(transition["to"])["name"])
    return passed


# -- comments, links, attachments, properties -----------------------------------------------------------


def add_comment(store: Store, user: Doc, issue: Doc, body: Any, *, api: str, save: bool = True) -> Doc:
    if not store.can_edit(user, store.projects[issue["project"]]):
        raise ApiError(403, "You do not have the permission to comment on this issue.")
    text = body.get("body") if isinstance(body, dict) else None
    text = check_text(text, api, "comment")
    if text is None or (isinstance(text, str) and not text.strip()):
        raise ApiError(400, errors={"comment": "Comment body can not be empty!"})
    now = store.now()
    comment = {"id": store.next_id(), "author": user["id"], "body": text, "created": now, "updated": now}
    if save:
        store.begin_issue_change(issue)
    issue.setdefault("comments", []).append(comment)
    if save:
        store.save_issue(issue)
    return comment


def find_comment(issue: Doc, comment_id: str) -> Doc:
    for comment in issue.get("comments", []):
        if comment["id"] == comment_id:
            return comment
    raise ApiError(404, f"Can not find a comment for the id: {comment_id}.")


def upsert_remote_link(
    store: Store, user: Doc, issue: Doc, body: Any, link_id: str | None = None
) -> tuple[Doc, bool]:
    """Create a remote link, or update the one with the same globalId (or ``link_id``); True if created."""
    if not store.can_edit(user, store.projects[issue["project"]]):
        raise ApiError(403, "You do not have permission to link issues.")
    obj = body.get("object") if isinstance(body, dict) else None
    if not isinstance(obj, dict) or not obj.get("url") or not obj.get("title"):
        raise ApiError(400, errors={"object": "Specify the link as {'object': {'url': ..., 'title': ...}}."})
    links = issue.setdefault("remotelinks", [])
    existing = None
    if link_id is not None:
        existing = next((x for x in links if x["id"] == link_id), None)
        if existing is None:
            raise ApiError(404, f"No remote link with id {link_id} on {issue['key']}.")
    elif body.get("globalId"):
        existing = next((x for x in links if x.get("globalId") == body["globalId"]), None)
    store.begin_issue_change(issue)
    values = {k: body.get(k) for k in ("globalId", "application", "relationship")}
    if existing is None:
        existing = {"id": store.next_id(), "object": obj, **values}
        links.append(existing)
        created = True
    else:
        existing.update({"object": obj, **{k: v for k, v in values.items() if v is not None}})
        created = False
    store.save_issue(issue)
    return existing, created


def add_attachments(
    store: Store, user: Doc, issue: Doc, files: list[tuple[str, str, bytes]], *, limit: int
) -> list[Doc]:
    project = store.projects[issue["project"]]
    if not store.meta.get("attachments_enabled", True):
        raise ApiError(403, "Attachments are disabled.")
    if not project.get("attachments", True) or not store.can_edit(user, project):
        raise ApiError(403, "You do not have permission to create attachments for this issue.")
    for name, _, data in files:
        if len(data) > limit:
            raise ApiError(
                413,
                f"The file '{name}' is {len(data)} bytes, over the attachment size limit of {limit} bytes.",
            )
    store.begin_issue_change(issue)
    created = []
    items = []
    for name, mime, data in files:
        attachment = {
            "id": store.next_id(),
            "filename": name,
            "mimeType": mime,
            "size": len(data),
            "author": user["id"],
            "created": store.now(),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        store.put_blob(attachment["id"], data)
        issue.setdefault("attachments", []).append(attachment)
        created.append(attachment)
        items.append(history_item("Attachment", None, attachment["id"], None, name))
    add_history(store, issue, user, items)
    store.save_issue(issue)
    return created


def find_attachment(store: Store, user: Doc | None, attachment_id: str) -> tuple[Doc, Doc]:
    for issue in store.issues.values():
        for attachment in issue.get("attachments", []):
            if attachment["id"] == attachment_id:
                if not store.can_browse(user, store.projects[issue["project"]]):
                    break
                return issue, attachment
    raise ApiError(404, f"The attachment with id '{attachment_id}' does not exist")
