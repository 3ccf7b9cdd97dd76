"""JSON shapes of Jira resources, per flavour (Cloud / Data Center) and REST version (2: text, 3: ADF)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sandbox.jira.seed import CATEGORIES
from sandbox.jira.store import Doc, Store

CLOUD = "cloud"
DATACENTER = "datacenter"

# The fields of an issue as GET /field lists them: (id, name, navigable, orderable, schema, clause names).
FIELD_DEFS: list[tuple[str, str, bool, bool, dict[str, Any], list[str]]] = [
    ("summary", "Summary", True, True, {"type": "string", "system": "summary"}, ["summary"]),
    ("description", "Description", True, True, {"type": "string", "system": "description"}, ["description"]),
    (
        "labels",
        "Labels",
        True,
        True,
        {"type": "array", "items": "string", "system": "labels"},
        ["labels"],
    ),
    (
        "issuetype",
        "Issue Type",
        True,
        True,
        {"type": "issuetype", "system": "issuetype"},
        ["issuetype", "type"],
    ),
    ("project", "Project", True, False, {"type": "project", "system": "project"}, ["project"]),
    ("status", "Status", True, False, {"type": "status", "system": "status"}, ["status"]),
    ("assignee", "Assignee", True, True, {"type": "user", "system": "assignee"}, ["assignee"]),
    ("reporter", "Reporter", True, True, {"type": "user", "system": "reporter"}, ["reporter"]),
    ("creator", "Creator", True, False, {"type": "user", "system": "creator"}, ["creator"]),
    (
        "created",
        "Created",
        True,
        False,
        {"type": "datetime", "system": "created"},
        ["created", "createdDate"],
    ),
    (
        "updated",
        "Updated",
        True,
        False,
        {"type": "datetime", "system": "updated"},
        ["updated", "updatedDate"],
    ),
    ("resolution", "Resolution", True, False, {"type": "resolution", "system": "resolution"}, ["resolution"]),
    (
        "resolutiondate",
        "Resolved",
        True,
        False,
        {"type": "datetime", "system": "resolutiondate"},
        ["resolutiondate", "resolved"],
    ),
    (
        "attachment",
        "Attachment",
        True,
        True,
        {"type": "array", "items": "attachment", "system": "attachment"},
        ["attachments"],
    ),
    (
        "comment",
        "Comment",
        False,
        True,
        {"type": "comments-page", "system": "comment"},
        ["comment"],
    ),
    ("issuekey", "Key", True, False, {}, ["id", "issue", "issuekey", "key"]),
]
ISSUE_FIELD_IDS = [f[0] for f in FIELD_DEFS if f[0] != "issuekey"]
NAVIGABLE = [f[0] for f in FIELD_DEFS if f[2] and f[0] != "issuekey"]
# Fields a create or edit may set (the "create/edit screen").
SETTABLE = {"summary", "description", "labels", "issuetype", "project", "assignee", "reporter"}


def jira_time(ts: float | None) -> str | None:
    """Jira's timestamp format, e.g. 2026-11-22T10:00:00.000+0000."""
    if ts is None:
        return None
    dt = datetime.fromtimestamp(ts, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def text_to_adf(text: str | None) -> Doc | None:
    if text is None:
        return None
    content = []
    for para in str(text).split("\n\n"):
        lines = para.split("\n")
        nodes: list[Doc] = []
        for n, line in enumerate(lines):
            if n:
                nodes.append({"type": "hardBreak"})
            if line:
                nodes.append({"type": "text", "text": line})
        content.append({"type": "paragraph", "content": nodes} if nodes else {"type": "paragraph"})
    return {"type": "doc", "version": 1, "content": content}


def adf_to_text(doc: Any) -> str:
    """Plain text of an Atlassian Document (block nodes end with a newline; marks are dropped)."""
    blocks: list[str] = []

    def inline(node: Any) -> str:
        if not isinstance(node, dict):
            return ""
        kind = node.get("type")
        if kind == "text":
            return str(node.get("text", ""))
        if kind == "hardBreak":
            return "\n"
        if kind in ("mention", "emoji"):
            return str((node.get("attrs") or {}).get("text", ""))
        if kind == "inlineCard":
            return str((node.get("attrs") or {}).get("url", ""))
        return "".join(inline(c) for c in node.get("content", []) or [])

    def block(node: Any) -> None:
        if not isinstance(node, dict):
            return
        kind = node.get("type")
        children = node.get("content", []) or []
        if kind in (
            "doc",
            "bulletList",
            "orderedList",
            "listItem",
            "blockquote",
            "table",
            "tableRow",
            "panel",
        ) or kind in ("tableCell", "tableHeader"):
            for child in children:
                block(child)
        elif kind == "rule":
            blocks.append("----")
        else:
            blocks.append("".join(inline(c) for c in children))

    block(doc)
    return "\n".join(blocks)


class Renderer:
    """Turns store documents into Jira JSON for one request (base URL, flavour, REST version)."""

    def __init__(self, store: Store, base: str, flavor: str, api: str) -> None:
        self.store = store
        self.base = base
        self.flavor = flavor
        self.api = api  # "2" or "3"

    @property
    def rest(self) -> str:
        return f"{self.base}/rest/api/{self.api}"

    def avatar_urls(self, name: str) -> Doc:
        return {
            f"{s}x{s}": f"{self.base}/secure/useravatar?size={s}&ownerId={quote(name)}"
            for s in (16, 24, 32, 48)
        }

    def user(self, user: Doc | None, *, groups: bool = False) -> Doc | None:
        if user is None:
            return None
        if self.flavor == CLOUD:
            doc: Doc = {
                "self": f"{self.rest}/user?accountId={quote(user['accountId'])}",
                "accountId": user["accountId"],
                "accountType": "atlassian",
            }
            if user.get("email_visible", True):
                doc["emailAddress"] = user["email"]
        else:
            doc = {
                "self": f"{self.rest}/user?username={quote(user['name'])}",
                "key": user["key"],
                "name": user["name"],
                "emailAddress": user["email"],
            }
        doc.update(
            {
                "avatarUrls": self.avatar_urls(user["name"]),
                "displayName": user["displayName"],
                "active": user["active"],
                "timeZone": "Etc/UTC",
            }
        )
        if self.flavor == CLOUD:
            doc["locale"] = "en_US"
        if groups:
            names = self.store.user_groups(user)
            doc["groups"] = {"size": len(names), "items": [self.group_ref(n) for n in names]}
            doc["applicationRoles"] = {"size": 1, "items": []}
            doc["expand"] = "groups,applicationRoles"
        return doc

    def group_ref(self, name: str) -> Doc:
        group = self.store.groups[name]
        doc: Doc = {"name": name, "self": f"{self.rest}/group?groupname={quote(name)}"}
        if self.flavor == CLOUD:
            doc["groupId"] = group["groupId"]
        return doc

    def status(self, status_id: str) -> Doc:
        status = self.store.status(status_id)
        cat = CATEGORIES[status["category"]]
        return {
            "self": f"{self.rest}/status/{status['id']}",
            "description": "",
            "iconUrl": f"{self.base}/images/icons/statuses/generic.png",
            "name": status["name"],
            "id": status["id"],
            "statusCategory": {
                "self": f"{self.rest}/statuscategory/{cat['id']}",
                "id": cat["id"],
                "key": cat["key"],
                "colorName": cat["colorName"],
                "name": cat["name"],
            },
        }

    def issue_type(self, type_id: str) -> Doc:
        it = self.store.issue_type(type_id)
        doc: Doc = {
            "self": f"{self.rest}/issuetype/{it['id']}",
            "id": it["id"],
            "description": it["description"],
            "iconUrl": f"{self.base}/images/icons/issuetypes/{it['name'].lower()}.png",
            "name": it["name"],
            "subtask": False,
        }
        if self.flavor == CLOUD:
            doc["hierarchyLevel"] = 0
        return doc

    def resolution(self, res_id: str | None) -> Doc | None:
        if not res_id:
            return None
        res = self.store.meta["resolutions"][res_id]
        return {"self": f"{self.rest}/resolution/{res['id']}", **res}

    def project_ref(self, project: Doc) -> Doc:
        doc: Doc = {
            "self": f"{self.rest}/project/{project['id']}",
            "id": project["id"],
            "key": project["key"],
            "name": project["name"],
            "projectTypeKey": "software",
            "avatarUrls": {
                f"{s}x{s}": f"{self.base}/secure/projectavatar?size={s}" for s in (16, 24, 32, 48)
            },
        }
        if self.flavor == CLOUD:
            doc["simplified"] = False
        return doc

    def project(self, project: Doc, *, issue_types: bool = True) -> Doc:
        doc = {
            "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
            **self.project_ref(project),
        }
        doc["description"] = ""
        doc["lead"] = self.user(self.store.user(project["lead"]))
        doc["components"] = []
        doc["versions"] = []
        doc["assigneeType"] = "UNASSIGNED"
        doc["roles"] = {}
        if self.flavor == CLOUD:
            doc["style"] = "classic"
            doc["isPrivate"] = False
        if issue_types:
            doc["issueTypes"] = [self.issue_type(t) for t in project["issuetypes"]]
        return doc

    def text_value(self, value: Any) -> Any:
        """A rich-text field as this REST version shows it (v2: wiki text; v3: ADF)."""
        if value is None:
            return None
        if self.api == "3":
            return value if isinstance(value, dict) else text_to_adf(value)
        return adf_to_text(value) if isinstance(value, dict) else value

    def comment(self, issue: Doc, comment: Doc) -> Doc:
        return {
            "self": f"{self.rest}/issue/{issue['id']}/comment/{comment['id']}",
            "id": comment["id"],
            "author": self.user(self.store.user(comment["author"])),
            "body": self.text_value(comment["body"]),
            "updateAuthor": self.user(self.store.user(comment.get("update_author") or comment["author"])),
            "created": jira_time(comment["created"]),
            "updated": jira_time(comment.get("updated", comment["created"])),
        }

    def attachment(self, attachment: Doc) -> Doc:
        if self.flavor == CLOUD:
            content = f"{self.rest}/attachment/content/{attachment['id']}"
        else:
            content = f"{self.base}/secure/attachment/{attachment['id']}/{quote(attachment['filename'])}"
        return {
            "self": f"{self.rest}/attachment/{attachment['id']}",
            "id": attachment["id"],
            "filename": attachment["filename"],
            "author": self.user(self.store.user(attachment["author"])),
            "created": jira_time(attachment["created"]),
            "size": attachment["size"],
            "mimeType": attachment["mimeType"],
            "content": content,
        }

    def remote_link(self, issue: Doc, link: Doc) -> Doc:
        doc: Doc = {
            "id": int(link["id"]),
            "self": f"{self.rest}/issue/{issue['key']}/remotelink/{link['id']}",
            "object": link["object"],
        }
        for key in ("globalId", "application", "relationship"):
            if link.get(key) is not None:
                doc[key] = link[key]
        return doc

    def history(self, history: Doc) -> Doc:
        return {
            "id": history["id"],
            "author": self.user(self.store.user(history["author"])),
            "created": jira_time(history["created"]),
            "items": history["items"],
        }

    def field_value(self, issue: Doc, name: str) -> Any:
        project = self.store.projects[issue["project"]]
        if name == "summary":
            return issue["summary"]
        if name == "description":
            return self.text_value(issue.get("description"))
        if name == "labels":
            return list(issue.get("labels", []))
        if name == "issuetype":
            return self.issue_type(issue["issuetype"])
        if name == "project":
            return self.project_ref(project)
        if name == "status":
            return self.status(issue["status"])
        if name in ("assignee", "reporter", "creator"):
            return self.user(self.store.user(issue.get(name)))
        if name in ("created", "updated", "resolutiondate"):
            return jira_time(issue.get(name))
        if name == "resolution":
            return self.resolution(issue.get("resolution"))
        if name == "attachment":
            return [self.attachment(a) for a in issue.get("attachments", [])]
        if name == "comment":
            comments = issue.get("comments", [])
            return {
                "comments": [self.comment(issue, c) for c in comments],
                "self": f"{self.rest}/issue/{issue['id']}/comment",
                "maxResults": len(comments),
                "total": len(comments),
                "startAt": 0,
            }
        raise KeyError(name)

    def issue(
        self,
        issue: Doc,
        *,
        fields: list[str] | None = None,
        expand: set[str] | None = None,
        changelog_cap: int | None = None,
        transitions: list[Doc] | None = None,
        properties: list[str] | None = None,
    ) -> Doc:
        expand = expand or set()
        doc: Doc = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": issue["id"],
            "self": f"{self.rest}/issue/{issue['id']}",
            "key": issue["key"],
        }
        chosen = ISSUE_FIELD_IDS if fields is None else fields
        if fields is None or chosen:
            doc["fields"] = {name: self.field_value(issue, name) for name in chosen}
            if self.flavor == CLOUD and fields is None:
                doc["fields"]["statuscategorychangedate"] = jira_time(issue.get("statuscategorychangedate"))
        if properties:
            props = issue.get("properties", {})
            doc["properties"] = {k: props[k] for k in properties if k in props}
        if "names" in expand:
            doc["names"] = {f[0]: f[1] for f in FIELD_DEFS if f[0] in doc.get("fields", {})}
        if "changelog" in expand:
            histories = issue.get("histories", [])
            shown = histories if changelog_cap is None else histories[:changelog_cap]
            doc["changelog"] = {
                "startAt": 0,
                "maxResults": len(shown),
                "total": len(histories),
                "histories": [self.history(h) for h in shown],
            }
        if "transitions" in expand and transitions is not None:
            doc["transitions"] = transitions
        return doc


def select_fields(spec: list[str] | None, default: str) -> list[str] | None:
    """Jira's ``fields`` parameter: ``*all``, ``*navigable``, names, and ``-name`` exclusions.

    Returns None for "all fields" and a list otherwise; unknown names are ignored, as Jira ignores them.
    """
    items = [p.strip() for part in (spec or []) for p in str(part).split(",") if p.strip()]
    if not items:
        items = [default]
    chosen: list[str] = []
    excluded = set()
    for item in items:
        if item == "*all":
            chosen.extend(ISSUE_FIELD_IDS)
        elif item == "*navigable":
            chosen.extend(NAVIGABLE)
        elif item.startswith("-"):
            excluded.add(item[1:])
        elif item in ISSUE_FIELD_IDS:
            chosen.append(item)
        elif item in ("key", "id", "issuekey", "*none"):
            continue
    result = [f for f in dict.fromkeys(chosen) if f not in excluded]
    if items == ["*all"]:
        return None
    return result
