"""The reviewer page: plain server-rendered HTML to list tickets, open one, download its attachments and
move it to Done or Rejected as a chosen sandbox user. Every value is HTML-escaped.

It stands in for a reviewer clicking in Jira, so it needs no login; it acts as the user picked in the form,
with that user's permissions, and the changelog records that user.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

from sandbox.jira import ops
from sandbox.jira.api import Response
from sandbox.jira.render import adf_to_text, jira_time
from sandbox.jira.store import ApiError, Doc

if TYPE_CHECKING:
    from sandbox.jira.server import JiraSandbox

HTML = "text/html;charset=UTF-8"
STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}.err{color:#b00}"
)


def e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _page(title: str, body: str, status: int = 200) -> Response:
    text = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title><style>{STYLE}</style>"
        f"</head><body><p><a href='/reviewer/'>All tickets</a></p><h1>{e(title)}</h1>{body}</body></html>"
    )
    return Response(status, text.encode("utf-8"), content_type=HTML)


def handle(
    sandbox: JiraSandbox, method: str, path: str, query: dict[str, list[str]], body: bytes, base: str
) -> Response:
    store = sandbox.store
    if path in ("/", "/reviewer"):
        return Response(302, b"", {"Location": "/reviewer/"}, content_type=HTML)
    if path.startswith("/browse/"):
        return Response(
            302, b"", {"Location": f"/reviewer/issue/{quote(path[len('/browse/') :])}"}, content_type=HTML
        )
    if path == "/reviewer/" and method == "GET":
        return ticket_list(sandbox, query)
    parts = path.strip("/").split("/")
    if len(parts) == 3 and parts[1] == "issue" and method == "GET":
        return ticket(sandbox, parts[2], message=(query.get("message") or [""])[0])
    if len(parts) == 4 and parts[1] == "issue" and parts[3] == "transition" and method == "POST":
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
        from sandbox.jira.server import transition_as

        try:
            result = transition_as(store, parts[2], {"to": form.get("to"), "as": form.get("as")})
        except ApiError as error:
            return ticket(
                sandbox, parts[2], message="; ".join(error.messages) or str(error.errors), status=400
            )
        note = f"Moved to {result['status']} as {result['as']}"
        return Response(
            303,
            b"",
            {"Location": f"/reviewer/issue/{quote(parts[2])}?message={quote(note)}"},
            content_type=HTML,
        )
    if len(parts) == 3 and parts[1] == "attachment" and method == "GET":
        with store.lock:
            for issue in store.issues.values():
                for attachment in issue.get("attachments", []):
                    if attachment["id"] == parts[2]:
                        data = store.blob(attachment["id"]) or b""
                        disposition = f"attachment; filename*=UTF-8''{quote(attachment['filename'])}"
                        return Response(
                            200,
                            data,
                            {"Content-Disposition": disposition},
                            content_type=attachment["mimeType"],
                        )
        return _page("Not found", f"<p class='err'>No attachment {e(parts[2])}.</p>", 404)
    return _page("Not found", f"<p class='err'>Nothing at {e(path)}.</p>", 404)


def ticket_list(sandbox: JiraSandbox, query: dict[str, list[str]]) -> Response:
    store = sandbox.store
    wanted = (query.get("project") or [""])[0]
    rows = []
    with store.lock:
        issues = sorted(store.issues.values(), key=lambda i: int(i["id"]), reverse=True)
        for issue in issues:
            if wanted and issue["project"] != wanted:
                continue
            rows.append(
                "<tr>"
                f"<td><a href='/reviewer/issue/{e(quote(issue['key']))}'>{e(issue['key'])}</a></td>"
                f"<td>{e(issue['summary'])}</td><td>{e(store.status(issue['status'])['name'])}</td>"
                f"<td>{e(', '.join(issue.get('labels', [])))}</td><td>{e(jira_time(issue['updated']))}</td>"
                "</tr>"
            )
    table = (
        "<table><tr><th>Key</th><th>Summary</th><th>Status</th><th>Labels</th><th>Updated</th></tr>"
        + "".join(rows)
        + "</table>"
        if rows
        else "<p>No tickets yet.</p>"
    )
    return _page(f"Jira sandbox tickets ({sandbox.config.flavor})", table)


def ticket(sandbox: JiraSandbox, key: str, *, message: str = "", status: int = 200) -> Response:
    store = sandbox.store
    with store.lock:
        issue = store.issue(key)
        if issue is None:
            return _page("Not found", f"<p class='err'>No ticket {e(key)}.</p>", 404)
        project = store.projects[issue["project"]]
        description = issue.get("description")
        text = adf_to_text(description) if isinstance(description, dict) else (description or "")
        attachments = "".join(
            f"<li><a href='/reviewer/attachment/{e(a['id'])}'>{e(a['filename'])}</a>"
            f" ({e(a['size'])} bytes)</li>"
            for a in issue.get("attachments", [])
        )
        comments = "".join(
            f"<li><b>{e(_name(store, c['author']))}</b> {e(jira_time(c['created']))}<pre>"
            f"{e(adf_to_text(c['body']) if isinstance(c['body'], dict) else c['body'])}</pre></li>"
            for c in issue.get("comments", [])
        )
        history = "".join(
            f"<li>{e(jira_time(h['created']))} {e(_name(store, h['author']))}: "
            + "; ".join(f"{e(i['field'])} {e(i['fromString'])} &rarr; {e(i['toString'])}" for i in h["items"])
            + "</li>"
            for h in issue.get("histories", [])
        )
        links = "".join(
            f"<li><a href='{e(_safe_url(x['object'].get('url')))}'>{e(x['object'].get('title'))}</a></li>"
            for x in issue.get("remotelinks", [])
        )
        targets = [store.status(s)["name"] for s in project["statuses"] if s != issue["status"]]
        reviewers = [u for u in store.users.values() if store.can_edit(u, project)]
        options = "".join(
            f"<option value='{e(u['email'])}'>{e(u['displayName'])} &lt;{e(u['email'])}&gt;</option>"
            for u in reviewers
        )
        buttons = "".join(
            f"<button type='submit' name='to' value='{e(name)}'>Move to {e(name)}</button> "
            for name in targets
        )
        body = (
            (
                f"<p class='err'>{e(message)}</p>"
                if status >= 400
                else f"<p>{e(message)}</p>"
                if message
                else ""
            )
            + f"<p><b>{e(issue['summary'])}</b></p>"
            + f"<p>Status: <b>{e(store.status(issue['status'])['name'])}</b>"
            + f" &middot; Project: {e(project['key'])}"
            + f" &middot; Labels: {e(', '.join(issue.get('labels', [])))}</p>"
            + f"<pre>{e(text)}</pre>"
            + f"<h2>Attachments</h2><ul>{attachments or '<li>none</li>'}</ul>"
            + f"<h2>Links</h2><ul>{links or '<li>none</li>'}</ul>"
            + f"<h2>Comments</h2><ul>{comments or '<li>none</li>'}</ul>"
            + f"<h2>History</h2><ul>{history or '<li>none</li>'}</ul>"
            + "<h2>Decide</h2>"
            + f"<form method='post' action='/reviewer/issue/{e(quote(issue['key']))}/transition'>"
            + f"<label>Act as <select name='as'>{options}</select></label> {buttons}</form>"
        )
    return _page(f"{issue['key']}: {issue['summary']}", body, status)


def _name(store: Any, uid: str) -> str:
    user: Doc | None = store.user(uid)
    return str(user["displayName"]) if user else uid


def _safe_url(url: Any) -> str:
    """Only http(s) links become hrefs: a javascript: URL in a remote link must not run in the page."""
    text = str(url or "")
    return text if text.lower().startswith(("http://", "https://")) else "#"


__all__ = ["handle", "ops"]
