"""Jira: approval tickets, their attachments and comments, and decisions read from the changelog.

Two clients behind one connection:

- ``JiraHook.get_conn()``: the ``jira`` library for tasks (synchronous). Its own retries are off, because
  they also retry POSTs after connection errors and so create duplicate issues; ``_call`` retries instead,
  honouring ``Retry-After`` on 429 for any call (Jira refused it unprocessed) and backing off on 5xx and
  connection errors for idempotent calls only.
- ``JiraHook.async_client()``: a small httpx client for the triggerer (search and read only), so waiting
  never blocks the event loop.

Connection (type ``model_governance_jira``; one of the official provider's type ``jira`` reads the same
way): host (``https://example.atlassian.net``), login (email on Cloud, username on Data Center), password
(API token, password, or personal access token). Extras::

    {"flavor": "cloud" | "datacenter", "auth": "basic" | "bearer", "verify": true | false | "/ca.pem",
     "project_key": "MLC", "done_status": "Done", "rejected_status": "Rejected",
     "reopen_status": "To Do", "timeout": 30}
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.sdk import BaseHook

from model_governance.exceptions import ConfigurationError, JiraError
from model_governance.hooks.connections import connection_base_url
from model_governance.redaction import redact_text

if TYPE_CHECKING:
    import httpx
    from jira import JIRA

    from model_governance.approvals import Comment, Decision, Person

T = TypeVar("T")
log = logging.getLogger(__name__)

CLOUD = "cloud"
DATACENTER = "datacenter"
_RETRYABLE_STATUS = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class JiraSettings:
    """What the hook needs from an Airflow connection, validated once."""

    url: str
    login: str | None
    secret: str | None = field(repr=False)
    flavor: str = CLOUD
    auth: str = "basic"
    verify: bool | str = True
    timeout: float = 30.0
    project_key: str | None = None
    done_status: str = "Done"
    rejected_status: str = "Rejected"
    reopen_status: str = "To Do"

    @classmethod
    def from_connection(cls, conn: Any) -> JiraSettings:
        extra: Mapping[str, Any] = conn.extra_dejson or {}
        host = connection_base_url(
            conn,
            label="Jira connection",
            wanted="the Jira base URL, e.g. https://example.atlassian.net",
            default_scheme="https",
        )
        flavor = str(extra.get("flavor", CLOUD)).lower()
        if flavor not in (CLOUD, DATACENTER):
            raise ConfigurationError(
                f"Jira connection {conn.conn_id!r} extra 'flavor' is {flavor!r}; use 'cloud' or 'datacenter'."
            )
        auth = str(extra.get("auth", "basic")).lower()
        if auth not in ("basic", "bearer"):
            raise ConfigurationError(
                f"Jira connection {conn.conn_id!r} extra 'auth' is {auth!r}; use 'basic' (login + API token) "
                "or 'bearer' (personal access token in the password field)."
            )
        if not conn.password:
            raise ConfigurationError(
                f"Jira connection {conn.conn_id!r} has no password: put the API token (Cloud), password or "
                "personal access token there."
            )
        if auth == "basic" and not conn.login:
            raise ConfigurationError(
                f"Jira connection {conn.conn_id!r} uses basic auth but has no login; set the login to the "
                "account's email (Cloud) or username (Data Center)."
            )
        return cls(
            url=host,
            login=conn.login,
            secret=conn.password,
            flavor=flavor,
            auth=auth,
            verify=extra.get("verify", True),
            timeout=float(extra.get("timeout", 30)),
            project_key=extra.get("project_key"),
            done_status=extra.get("done_status", "Done"),
            rejected_status=extra.get("rejected_status", "Rejected"),
            reopen_status=extra.get("reopen_status", "To Do"),
        )

    @property
    def api(self) -> str:
        """REST API version for reads: Cloud's v3 search is the only one left there; v2 elsewhere."""
        return "3" if self.flavor == CLOUD else "2"


@dataclass(frozen=True)
class Ticket:
    """An approval ticket as created or found."""

    key: str
    url: str
    created: bool


class UnexpectedContent(Exception):
    """Jira, or whatever stands in front of it, answered something that is not Jira's JSON.

    Typically an SSO gateway or proxy whose session expired answering 200 with an HTML sign-in page. The
    request may never have reached Jira: a transient failure, retried like a 5xx, never parsed as data.
    """

    def __init__(self, method: str, url: str, status: int, content_type: str, detail: str = "") -> None:
        self.method, self.url, self.status, self.content_type = method.upper(), url, status, content_type
        what = detail or f"content type {content_type or 'none'!r}, not JSON"
        super().__init__(
            f"Jira {self.method} {redact_text(url)} answered HTTP {status} with {what} (an SSO or proxy "
            "login page? check the gateway in front of Jira); treated as a transient error"
        )


def jql_string(value: str) -> str:
    """``value`` as one JQL string literal: double-quoted, backslashes and double quotes escaped."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def marker_jql(project_key: str, marker: str) -> str:
    """The search for the ticket an approval gate opened: its marker label in its project, oldest first."""
    return f"project = {jql_string(project_key)} AND labels = {jql_string(marker)} ORDER BY created ASC"


def is_json_content_type(content_type: str | None) -> bool:
    """``application/json`` and its ``+json`` relatives, with or without parameters (charset)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def parse_json_answer(method: str, url: str, status: int, content_type: str | None, text: str) -> Any:
    """Jira's JSON answer, or :class:`UnexpectedContent` naming the URL and the content type."""
    if not is_json_content_type(content_type):
        raise UnexpectedContent(method, url, status, content_type or "")
    try:
        import json

        return json.loads(text)
    except ValueError:
        raise UnexpectedContent(
            method, url, status, content_type or "", detail=f"a body that is not valid JSON ({content_type})"
        ) from None


def _status_code(exc: BaseException) -> int | None:
    return getattr(exc, "status_code", None)


def _retry_after(exc: BaseException, default: float) -> float:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default


def _is_connection_error(exc: BaseException) -> bool:
    import requests

    return isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout)


def _is_transient(exc: BaseException) -> bool:
    """5xx, a connection error or timeout, or an answer that is not Jira's JSON (a login page)."""
    return (
        _status_code(exc) in _RETRYABLE_STATUS
        or _is_connection_error(exc)
        or isinstance(exc, UnexpectedContent)
    )


def _is_ambiguous(exc: BaseException) -> bool:
    """Whether a failed write may have been applied: no answer, a 5xx, or an answer that is not Jira's."""
    status = getattr(exc, "status_code", None)
    return status is None or status >= 500


class JiraHook(BaseHook):
    """Interact with Jira through the ``jira`` library, idempotently.

    :param jira_conn_id: the Airflow connection of type ``model_governance_jira`` (or ``jira``).
    :param max_attempts: attempts per call, counting the first.
    :param max_retry_delay: the longest wait between attempts, in seconds (``Retry-After`` is capped to it).
    """

    conn_name_attr = "jira_conn_id"
    default_conn_name = "jira_default"
    conn_type = "model_governance_jira"
    hook_name = "Jira (model governance)"

    def __init__(
        self,
        jira_conn_id: str = default_conn_name,
        *,
        max_attempts: int = 5,
        max_retry_delay: float = 60.0,
        consistency_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        self.jira_conn_id = jira_conn_id
        self.max_attempts = max_attempts
        self.max_retry_delay = max_retry_delay
        self.consistency_wait = consistency_wait
        self._sleep = sleep

    # The connection form (fields, labels) is declared in get_provider_info.py, as Airflow 3.2+ expects.

    @cached_property
    def settings(self) -> JiraSettings:
        return JiraSettings.from_connection(self.get_connection(self.jira_conn_id))

    def get_conn(self) -> JIRA:
        return self._client

    @cached_property
    def _client(self) -> JIRA:
        from jira import JIRA

        settings = self.settings
        options: dict[str, Any] = {"server": settings.url, "verify": settings.verify, "rest_api_version": "2"}
        common: dict[str, Any] = {
            "options": options,
            "max_retries": 0,  # the library's retries re-POST after connection errors: duplicates
            "timeout": settings.timeout,
            "get_server_info": False,
        }
        if settings.auth == "bearer":
            return JIRA(token_auth=settings.secret, **common)
        return JIRA(basic_auth=(settings.login or "", settings.secret or ""), **common)

    # -- retries --------------------------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[], T], *, idempotent: bool) -> T:
        """Run ``fn``; retry 429 always (honouring Retry-After), 5xx/connection errors only if idempotent."""
        delay = 1.0
        for attempt in range(1, self.max_attempts + 1):
            try:
                return fn()
            except Exception as exc:
                status = _status_code(exc)
                last = attempt == self.max_attempts
                if status == 429 and not last:
                    wait = min(self.max_retry_delay, _retry_after(exc, delay))
                elif idempotent and not last and _is_transient(exc):
                    wait = min(self.max_retry_delay, delay * (1 + random.random() / 2))  # noqa: S311 - jitter, not crypto
                else:
                    raise self._as_jira_error(what, exc) from exc
                self.log.warning("Jira %s failed (%s); retry %d in %.1fs", what, status or exc, attempt, wait)
                self._sleep(wait)
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _as_jira_error(what: str, exc: BaseException) -> JiraError:
        if isinstance(exc, UnexpectedContent):
            error = JiraError(f"Jira {what} failed: {exc}.")
            error.status_code = None  # type: ignore[attr-defined]  # no Jira answer: ambiguous
            return error
        status = _status_code(exc)
        text = getattr(exc, "text", None) or str(exc)
        hint = {
            401: "check the connection's login and API token",
            403: "the connection's user lacks permission in the project",
            404: "check the ticket key or project key",
        }.get(status or 0, "see the Jira response above")
        error = JiraError(f"Jira {what} failed (HTTP {status or 'no response'}): {text[:500]}; {hint}.")
        error.status_code = status  # type: ignore[attr-defined]
        return error

    def _rest(self, method: str, path: str, *, idempotent: bool, **kwargs: Any) -> Any:
        """A raw REST call through the library's session (auth and TLS settings included)."""
        conn = self.get_conn()
        url = f"{self.settings.url}/rest/api/{path.lstrip('/')}"

        def send() -> Any:
            response = getattr(conn._session, method)(url, **kwargs)
            if not response.content:
                return None
            return parse_json_answer(
                method,
                response.url or url,
                response.status_code,
                response.headers.get("Content-Type"),
                response.text,
            )

        return self._call(f"{method.upper()} {path}", send, idempotent=idempotent)

    # -- searching ------------------------------------------------------------------------------------

    def search_keys(self, jql: str, *, max_results: int = 100) -> list[str]:
        """Issue keys matching ``jql`` (Cloud: ``/search/jql``; Data Center: ``/search``)."""
        if self.settings.flavor == CLOUD:
            body = {"jql": jql, "maxResults": max_results, "fields": ["key"]}
            result = self._rest("post", "3/search/jql", json=body, idempotent=True)
        else:
            params = {"jql": jql, "maxResults": max_results, "fields": "key"}
            result = self._rest("get", "2/search", params=params, idempotent=True)
        return [issue["key"] for issue in (result or {}).get("issues", [])]

    def find_by_marker(self, marker: str, project_key: str) -> str | None:
        keys = self.search_keys(marker_jql(project_key, marker))
        return keys[0] if keys else None

    # -- tickets --------------------------------------------------------------------------------------

    def browse_url(self, key: str) -> str:
        return f"{self.settings.url}/browse/{key}"

    def create_ticket(
        self,
        *,
        marker: str,
        project_key: str,
        summary: str,
        description: Any,
        issue_type: str = "Task",
        labels: Sequence[str] = (),
        extra_fields: Mapping[str, Any] | None = None,
    ) -> Ticket:
        """Open the ticket identified by ``marker``, or return the one a previous attempt opened.

        Jira has no idempotency key, so the marker label is searched before creating, and after an
        ambiguous failure (timeout, dropped response, 5xx) searched again for up to ``consistency_wait``
        seconds, since search lags writes, before creating once more.
        """
        existing = self.find_by_marker(marker, project_key)
        if existing:
            return Ticket(existing, self.browse_url(existing), created=False)
        fields: dict[str, Any] = {
            "project": {"key": project_key},
            "summary": summary[:255],
            "description": description,
            "issuetype": {"name": issue_type},
            "labels": sorted({marker, *labels}),
            **(extra_fields or {}),
        }
        api = "3" if self.settings.flavor == CLOUD and isinstance(description, dict) else "2"
        for attempt in range(1, self.max_attempts + 1):
            try:
                created = self._rest("post", f"{api}/issue", json={"fields": fields}, idempotent=False)
                return Ticket(created["key"], self.browse_url(created["key"]), created=True)
            except JiraError as exc:
                status = getattr(exc, "status_code", None)
                if status is not None and status < 500:
                    raise
                self.log.warning("Creating the %s ticket may or may not have worked (%s)", marker, exc)
                found = self._await_marker(marker, project_key)
                if found:
                    return Ticket(found, self.browse_url(found), created=True)
                if attempt == self.max_attempts:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _await_marker(self, marker: str, project_key: str) -> str | None:
        """Search for the marker with backoff until found or ``consistency_wait`` seconds were waited."""
        waited, wait = 0.0, 0.5
        while True:
            found = self.find_by_marker(marker, project_key)
            if found or waited >= self.consistency_wait:
                return found
            step = min(wait, self.consistency_wait - waited)
            self._sleep(step)
            waited += step
            wait = min(wait * 2, 5.0)

    def issue(self, key: str, *, changelog: bool = False) -> dict[str, Any]:
        params = {"expand": "changelog"} if changelog else {}
        return self._rest("get", f"2/issue/{key}", params=params, idempotent=True)

    def status_of(self, key: str) -> str:
        return self.issue(key)["fields"]["status"]["name"]

    def decision(self, key: str) -> Decision | None:
        """The ticket's latest move to Done or Rejected (who, when), or None when it is not decided."""
        from model_governance.approvals import decision_from_changelog

        histories = self._changelog(key)
        return decision_from_changelog(
            key,
            histories,
            done_status=self.settings.done_status,
            rejected_status=self.settings.rejected_status,
        )

    def _changelog(self, key: str) -> list[dict[str, Any]]:
        issue = self.issue(key, changelog=True)
        changelog = issue.get("changelog") or {}
        histories = list(changelog.get("histories", []))
        total = changelog.get("total", len(histories))
        # The expand returns at most 100 entries; a long-lived ticket pages through the changelog endpoint.
        start = len(histories)
        while start < total:
            page = self._rest(
                "get",
                f"2/issue/{key}/changelog",
                params={"startAt": start, "maxResults": 100},
                idempotent=True,
            )
            values = page.get("values", []) if page else []
            if not values:
                break
            histories.extend(values)
            start += len(values)
        return histories

    def _write_once(self, what: str, write: Callable[[], T], applied: Callable[[], bool]) -> T | None:
        """Run a write that must not be repeated blindly (Jira has no idempotency key).

        After an ambiguous failure (no answer, a 5xx, an answer that is not Jira's JSON) ``applied()``
        reads back whether the write took effect; only if it did not is it sent again, with backoff.
        Returns the write's answer, or None when the read-back found it applied. 429s are retried inside
        ``write`` (Jira refused them unprocessed); any other 4xx is raised at once.
        """
        delay = 1.0
        for attempt in range(1, self.max_attempts + 1):
            try:
                return write()
            except JiraError as exc:
                if not _is_ambiguous(exc):
                    raise
                self.log.warning("Jira %s may or may not have been applied (%s); reading it back", what, exc)
                if applied():
                    self.log.info("Jira %s was applied (read back); not sending it again", what)
                    return None
                if attempt == self.max_attempts:
                    raise
                self._sleep(min(self.max_retry_delay, delay * (1 + random.random() / 2)))  # noqa: S311 - jitter
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def transition(self, key: str, to_status: str) -> None:
        """Move the ticket to ``to_status`` (no-op when it is there already).

        A move whose answer was lost is not re-sent blindly (the second POST would get 400, "transition
        not valid", although the ticket is where we wanted it): the status is read back first, and a 400
        is answered by reading back too, since the ticket may already be there.
        """
        target = to_status.lower()

        def arrived() -> bool:
            return self.status_of(key).lower() == target

        if arrived():
            return

        def move() -> None:
            available = self._rest("get", f"2/issue/{key}/transitions", idempotent=True).get(
                "transitions", []
            )
            for candidate in available:
                if str(candidate.get("to", {}).get("name", "")).lower() == target:
                    self._rest(
                        "post",
                        f"2/issue/{key}/transitions",
                        json={"transition": {"id": candidate["id"]}},
                        idempotent=False,  # read back instead (see above)
                    )
                    return
            names = ", ".join(sorted(str(c.get("to", {}).get("name")) for c in available)) or "none"
            error = JiraError(
                f"Ticket {key} cannot move to {to_status!r} from where it is; available: {names}. Check the "
                "project's workflow."
            )
            error.status_code = 400  # type: ignore[attr-defined]  # as Jira answers
            raise error

        try:
            self._write_once(f"move of {key} to {to_status}", move, arrived)
        except JiraError as exc:
            if getattr(exc, "status_code", None) == 400 and arrived():
                return  # an earlier attempt whose answer was lost, or someone else, moved it there
            raise

    def comment(self, key: str, body: str, *, marker: str | None = None) -> None:
        """Add a comment; with ``marker``, only if no comment already carries it (retries add none twice).

        A comment whose answer was lost is read back (by its marker, else by its exact text) before it
        is sent again.
        """
        if marker:
            if self._has_comment(key, lambda text: marker in text):
                return
            body = f"{body}\n\n[{marker}]"
        sent = body.strip()

        def present() -> bool:
            return self._has_comment(key, lambda text: marker in text if marker else text.strip() == sent)

        self._write_once(
            f"comment on {key}",
            lambda: self._rest("post", f"2/issue/{key}/comment", json={"body": body}, idempotent=False),
            present,
        )

    def _has_comment(self, key: str, matches: Callable[[str], bool]) -> bool:
        return any(matches(comment.body) for comment in self.comments(key))

    def add_remote_link(self, key: str, *, url: str, title: str, global_id: str | None = None) -> None:
        """Link the ticket to ``url``; the globalId makes a repeat update the same link, not add one.

        So this write may be retried blindly after a lost answer: Jira answers the repeat 200 (updated).
        """
        body = {"globalId": global_id or f"mg:{url}", "object": {"url": url, "title": title[:255]}}
        self._rest("post", f"2/issue/{key}/remotelink", json=body, idempotent=True)

    def attachment_digests(self, key: str) -> list[tuple[str, str, str | None]]:
        """(file name, SHA-256, uploader's account) of every attachment the ticket has now."""
        from model_governance.approvals import Person

        found = []
        for attachment in self.issue(key).get("fields", {}).get("attachment") or []:
            data = self._download(attachment["content"], int(attachment.get("size", -1)))
            author = Person.from_jira(attachment.get("author")).account
            found.append((str(attachment.get("filename")), hashlib.sha256(data).hexdigest(), author))
        return found

    def attach(self, key: str, *, filename: str, content: bytes) -> bool:
        """Attach ``content`` unless an attachment with the same name and SHA-256 is already there.

        Returns True when it uploaded. Jira keeps same-named attachments side by side, so the check
        downloads same-named ones and compares digests; an upload whose answer was lost is checked the
        same way before it is sent again.
        """
        digest = hashlib.sha256(content).hexdigest()

        def present() -> bool:
            fields = self.issue(key).get("fields", {})
            for attachment in fields.get("attachment") or []:
                size = int(attachment.get("size", -1))
                if attachment.get("filename") != filename or size != len(content):
                    continue
                if hashlib.sha256(self._download(attachment["content"], size)).hexdigest() == digest:
                    return True
            return False

        if present():
            return False
        conn = self.get_conn()
        # None drops the session's JSON content type so requests writes the multipart boundary.
        headers: dict[str, Any] = {"X-Atlassian-Token": "no-check", "content-type": None}
        url = f"{self.settings.url}/rest/api/2/issue/{key}/attachments"

        def upload() -> Any:
            response = conn._session.post(
                url, files={"file": (filename, content, "application/octet-stream")}, headers=headers
            )
            return parse_json_answer(
                "POST", url, response.status_code, response.headers.get("Content-Type"), response.text
            )

        what = f"attach {filename} to {key}"
        self._write_once(what, lambda: self._call(what, upload, idempotent=False), present)
        return True

    def _download(self, url: str, size: int | None = None) -> bytes:
        conn = self.get_conn()

        def fetch() -> bytes:
            response = conn._session.get(url)
            data = bytes(response.content)
            if size is not None and len(data) != size:
                # Not the attachment (e.g. a gateway's login page): never compared as its content.
                raise UnexpectedContent(
                    "GET",
                    url,
                    response.status_code,
                    response.headers.get("Content-Type", ""),
                    detail=f"{len(data)} bytes where the attachment has {size}",
                )
            return data

        return self._call("download attachment", fetch, idempotent=True)

    def user_groups(self, person: Mapping[str, Any] | Any) -> list[str]:
        """Names of the groups a user belongs to (by accountId on Cloud, username on Data Center)."""
        account_id = getattr(person, "account_id", None) or (
            person.get("account_id") if isinstance(person, Mapping) else None
        )
        name = getattr(person, "name", None) or (person.get("name") if isinstance(person, Mapping) else None)
        params = {"accountId": account_id} if account_id else {"username": name}
        if not any(params.values()):
            return []
        user = self._rest("get", "2/user", params={**params, "expand": "groups"}, idempotent=True)
        return [g["name"] for g in ((user or {}).get("groups") or {}).get("items", [])]

    def find_users(self, identifier: str) -> list[Person]:
        """The Jira users ``identifier`` may name: an email (user search), else an account.

        An account is a Cloud accountId or a Data Center username, read directly. An email is searched
        (Cloud ``query``, Data Center ``username``, both prefix or substring matches): the caller picks
        among the candidates, since Cloud leaves out the email of users who hide it.
        """
        from model_governance.approvals import Person

        value = identifier.strip()
        if not value:
            return []
        cloud = self.settings.flavor == CLOUD
        if "@" in value:
            params = {"query": value} if cloud else {"username": value}
            found = self._rest(
                "get",
                f"{self.settings.api}/user/search",
                params={**params, "maxResults": 50},
                idempotent=True,
            )
            return [Person.from_jira(raw) for raw in found or [] if isinstance(raw, Mapping)]
        try:
            raw = self._rest(
                "get",
                "2/user",
                params={"accountId": value} if cloud else {"username": value},
                idempotent=True,
            )
        except JiraError as exc:
            if getattr(exc, "status_code", None) in (400, 404):
                return []
            raise
        return [Person.from_jira(raw)] if raw else []

    def myself(self) -> Person:
        """The Jira user this connection acts as (the governance automation)."""
        from model_governance.approvals import Person

        return Person.from_jira(self._rest("get", "2/myself", idempotent=True))

    def comments(self, key: str) -> list[Comment]:
        """Every comment of the ticket, oldest first, with its author's account and time."""
        from model_governance.approvals import Comment, Person, parse_jira_time

        found: list[Comment] = []
        start = 0
        while True:
            page = (
                self._rest(
                    "get",
                    f"2/issue/{key}/comment",
                    params={"startAt": start, "maxResults": 100, "orderBy": "created"},
                    idempotent=True,
                )
                or {}
            )
            batch = page.get("comments", [])
            for raw in batch:
                body = raw.get("body")
                found.append(
                    Comment(
                        author=Person.from_jira(raw.get("author")),
                        created=parse_jira_time(raw.get("created")),
                        body=body if isinstance(body, str) else str(body or ""),
                    )
                )
            start += len(batch)
            if not batch or start >= int(page.get("total", start)):
                return found

    # -- prerequisites --------------------------------------------------------------------------------

    def check_project(self, project_key: str) -> None:
        """Fail early, naming what to configure, if the project lacks Done/Rejected or attachments."""
        statuses: set[str] = set()
        for issue_type in self._rest("get", f"2/project/{project_key}/statuses", idempotent=True) or []:
            statuses.update(str(s.get("name", "")).lower() for s in issue_type.get("statuses", []))
        missing = [
            name
            for name in (self.settings.done_status, self.settings.rejected_status)
            if name.lower() not in statuses
        ]
        if missing:
            raise ConfigurationError(
                f"Jira project {project_key} has no status {', '.join(repr(m) for m in missing)} in its "
                "workflow. Add them (ModelOp's prerequisite too), or set done_status/rejected_status in the "
                f"connection {self.jira_conn_id!r} extras to the names your workflow uses."
            )
        meta = self._rest("get", "2/attachment/meta", idempotent=True) or {}
        if not meta.get("enabled", False):
            raise ConfigurationError(
                "Jira attachments are disabled; enable them (System > Attachments) so the review document "
                "can be attached to approval tickets."
            )

    # -- the triggerer's client -----------------------------------------------------------------------

    @classmethod
    async def async_client(cls, jira_conn_id: str) -> JiraAsyncClient:
        """A new client; the caller closes it."""
        conn = await BaseHook.aget_connection(jira_conn_id)
        return JiraAsyncClient(JiraSettings.from_connection(conn))

    @classmethod
    async def shared_async_client(cls, jira_conn_id: str) -> JiraAsyncClient:
        """One client per connection per event loop, for the triggerer's many waiting approvals.

        A client per trigger would cost each one a connection pool and a TLS context (about a megabyte);
        thousands of waiting approvals share one pool instead. Callers must not close it.
        """
        loop = asyncio.get_running_loop()
        clients, lock = _SHARED_CLIENTS.setdefault(loop, ({}, asyncio.Lock()))
        async with lock:
            if jira_conn_id not in clients:
                clients[jira_conn_id] = await cls.async_client(jira_conn_id)
            return clients[jira_conn_id]


#: Shared async clients, per event loop (weak: a finished loop drops its clients).
_SHARED_CLIENTS: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, tuple[dict[str, JiraAsyncClient], asyncio.Lock]
] = weakref.WeakKeyDictionary()


class JiraAsyncClient:
    """Read-only async Jira access for triggers: incremental search and single-ticket reads."""

    def __init__(
        self, settings: JiraSettings, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        self.requests = 0

    @cached_property
    def _http(self) -> httpx.AsyncClient:
        import httpx

        auth: Any = None
        headers = {"Accept": "application/json"}
        if self.settings.auth == "bearer":
            headers["Authorization"] = f"Bearer {self.settings.secret}"
        else:
            auth = httpx.BasicAuth(self.settings.login or "", self.settings.secret or "")
        return httpx.AsyncClient(
            base_url=self.settings.url,
            auth=auth,
            headers=headers,
            verify=self.settings.verify,
            timeout=self.settings.timeout,
        )

    async def aclose(self) -> None:
        if "_http" in self.__dict__:
            await self._http.aclose()

    async def _get_or_post(self, method: str, path: str, **kwargs: Any) -> Any:
        """One read (searches are POSTs but change nothing), retried on 429, 5xx, connection errors and
        answers that are not Jira's JSON (an SSO or proxy login page); None for Jira's own 404."""
        import httpx

        delay = 1.0
        problem = ""
        for attempt in range(1, 6):
            self.requests += 1
            try:
                response = await self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if attempt == 5:
                    raise JiraError(f"Jira {method} {path} failed: {exc}; is Jira reachable?") from exc
                await self._sleep(delay)
                delay *= 2
                continue
            content_type = response.headers.get("Content-Type", "")
            if response.status_code == 429 or response.status_code in _RETRYABLE_STATUS:
                problem = f"HTTP {response.status_code}"
                if attempt == 5:
                    break
                wait = delay
                if response.status_code == 429:
                    try:
                        wait = float(response.headers.get("Retry-After", delay))
                    except ValueError:
                        wait = delay
                await self._sleep(min(wait, 60.0))
                delay *= 2
                continue
            try:
                # Jira answers JSON, errors included: anything else (a login page, a proxy's 404 page)
                # did not come from Jira and says nothing about the ticket.
                answer = (
                    parse_json_answer(
                        method, str(response.url), response.status_code, content_type, response.text
                    )
                    if response.content
                    else None
                )
            except UnexpectedContent as exc:
                log.warning("%s (attempt %d of 5)", exc, attempt)
                problem = str(exc)
                if attempt == 5:
                    break
                await self._sleep(delay)
                delay *= 2
                continue
            if response.status_code == 404:
                return None
            if response.status_code >= 400:
                raise JiraError(
                    f"Jira {method} {path} failed (HTTP {response.status_code}): {response.text[:300]}"
                )
            return answer
        raise JiraError(f"Jira {method} {path} kept failing ({problem}); retries exhausted.")

    async def search(
        self, jql: str, *, fields: Sequence[str] = ("status", "updated")
    ) -> list[dict[str, Any]]:
        """Every issue matching ``jql``, all pages (Cloud: nextPageToken; Data Center: startAt)."""
        issues: list[dict[str, Any]] = []
        if self.settings.flavor == CLOUD:
            token: str | None = None
            while True:
                body: dict[str, Any] = {"jql": jql, "maxResults": 100, "fields": list(fields)}
                if token:
                    body["nextPageToken"] = token
                page = _page(
                    await self._get_or_post("POST", "/rest/api/3/search/jql", json=body), "search/jql"
                )
                issues.extend(page["issues"])
                token = page.get("nextPageToken")
                if not token or page.get("isLast", False):
                    return issues
        start = 0
        while True:
            params = {"jql": jql, "startAt": start, "maxResults": 100, "fields": ",".join(fields)}
            page = _page(await self._get_or_post("GET", "/rest/api/2/search", params=params), "search")
            batch = page["issues"]
            issues.extend(batch)
            start += len(batch)
            if not batch or start >= int(page.get("total", 0)):
                return issues

    async def issue_status(self, key: str) -> str | None:
        """The ticket's current status name, or None when the ticket does not exist (deleted)."""
        issue = await self._get_or_post("GET", f"/rest/api/2/issue/{key}", params={"fields": "status"})
        if issue is None:
            return None
        try:
            return str(issue["fields"]["status"]["name"])
        except (KeyError, TypeError):
            raise JiraError(
                f"Jira GET /rest/api/2/issue/{key} answered JSON without fields.status.name: "
                f"{redact_text(str(issue))[:200]}"
            ) from None


def _page(answer: Any, what: str) -> dict[str, Any]:
    """A search page as Jira shapes it (``issues``: a list of objects with a key), else a JiraError."""
    page = answer if answer is not None else {}
    issues = page.get("issues", []) if isinstance(page, dict) else None
    if not isinstance(issues, list) or not all(isinstance(i, dict) and "key" in i for i in issues):
        raise JiraError(
            f"Jira {what} answered JSON that is not a search page: {redact_text(str(answer))[:200]}"
        )
    return {**page, "issues": issues}
