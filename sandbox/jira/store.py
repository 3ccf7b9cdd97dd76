"""The Jira sandbox's state: users, groups, projects with workflows, and issues, persisted in SQLite.

State lives in memory (plain dicts, so the HTTP layer can render them) and every write is committed to the
state file in one SQLite transaction before the response is sent: a restart, or a kill after the commit,
loses nothing, and a crash mid-write leaves the previous state intact (SQLite's journal makes the commit
atomic, which a rewrite of one JSON file per change could not do cheaply at thousands of issues).

Search reads a per-issue index of snapshots, each visible from ``time + search_lag``: Jira's search index
is eventually consistent, while GET issue reads the live issue.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sandbox.jira import seed

Doc = dict[str, Any]


class ApiError(Exception):
    """An error answered in Jira's shape: ``{"errorMessages": [...], "errors": {...}}``."""

    def __init__(
        self,
        status: int,
        messages: list[str] | str | None = None,
        errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if isinstance(messages, str):
            messages = [messages]
        self.status = status
        self.messages = list(messages or [])
        self.errors = dict(errors or {})
        self.headers = dict(headers or {})
        super().__init__(f"{status}: {self.messages or self.errors}")

    def body(self) -> Doc:
        return {"errorMessages": self.messages, "errors": self.errors}


class Store:
    """All sandbox state behind one lock; ``write()`` commits what a request changed."""

    def __init__(self, path: str | Path | None, *, search_lag: float = 0.0) -> None:
        self.lock = threading.RLock()
        self.search_lag = float(search_lag)
        self.clock_offset = 0.0  # tests shift the clock to make "old" issues without waiting
        self.path = str(path) if path else ":memory:"
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        if self.path != ":memory:":
            # WAL + NORMAL: a commit survives a killed process; only a power loss can lose the last one.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS docs (kind TEXT, id TEXT, body TEXT, PRIMARY KEY (kind, id))"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS blobs (id TEXT PRIMARY KEY, data BLOB)")
        self.meta: Doc = {}
        self.users: dict[str, Doc] = {}
        self.groups: dict[str, Doc] = {}
        self.projects: dict[str, Doc] = {}
        self.issues: dict[str, Doc] = {}  # by id
        self.keys: dict[str, str] = {}  # issue key -> id, including keys of moved issues
        self._touched: dict[tuple[str, str], Doc | None] | None = None
        self._begun: set[tuple[str, str]] = set()  # issues changed in place by the current write
        self._blobs: dict[str, bytes | None] = {}
        self._load()
        if not self.meta:
            self.reset_data()

    # -- persistence ---------------------------------------------------------------------------------

    def _load(self) -> None:
        tables = {"meta": None, "user": self.users, "group": self.groups, "project": self.projects}
        for kind, ident, body in self._db.execute("SELECT kind, id, body FROM docs"):
            doc = json.loads(body)
            if kind == "meta":
                self.meta = doc
            elif kind == "issue":
                self.issues[ident] = doc
                self.keys[doc["key"]] = ident
            else:
                target = tables.get(kind)
                if target is not None:
                    target[ident] = doc

    def reset_data(self) -> None:
        """Drop every issue and restore the seeded users, groups and projects."""
        with self.lock:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM docs")
            self._db.execute("DELETE FROM blobs")
            self._db.execute("COMMIT")
            data = seed.initial_state()
            self.meta = data["meta"]
            self.users = {u["id"]: u for u in data["users"]}
            self.groups = {g["name"]: g for g in data["groups"]}
            self.projects = {p["key"]: p for p in data["projects"]}
            self.issues = {}
            self.keys = {}
            with self.write():
                self.put("meta", "meta", self.meta)
                for user in self.users.values():
                    self.put("user", user["id"], user)
                for group in self.groups.values():
                    self.put("group", group["name"], group)
                for project in self.projects.values():
                    self.put("project", project["key"], project)

    @contextmanager
    def write(self) -> Iterator[None]:
        """Hold the lock for a mutation; on success commit every ``put``/``delete`` in one transaction."""
        with self.lock:
            outer = self._touched is None
            if outer:
                self._touched = {}
                self._blobs = {}
            try:
                yield
            except BaseException:
                if outer:
                    # Nothing was committed; restore what the failed request changed in memory.
                    touched, self._touched = self._touched or {}, None
                    self._restore(set(touched) | self._begun)
                    self._begun = set()
                    self._blobs = {}
                raise
            if outer:
                done, self._touched = self._touched or {}, None
                self._begun = set()
                self._commit(done, self._blobs)

    def _restore(self, keys: set[tuple[str, str]]) -> None:
        tables: dict[str, dict[str, Doc]] = {
            "user": self.users,
            "group": self.groups,
            "project": self.projects,
            "issue": self.issues,
        }
        for kind, ident in keys:
            row = self._db.execute(
                "SELECT body FROM docs WHERE kind = ? AND id = ?", (kind, ident)
            ).fetchone()
            doc = json.loads(row[0]) if row else None
            if kind == "meta":
                self.meta = doc or {}
                continue
            if doc is None:
                tables[kind].pop(ident, None)
            else:
                tables[kind][ident] = doc
            if kind == "issue":
                self.keys = {k: v for k, v in self.keys.items() if v != ident}
                if doc is not None:
                    self.keys[doc["key"]] = ident

    def _commit(self, touched: dict[tuple[str, str], Doc | None], blobs: dict[str, bytes | None]) -> None:
        db = self._db
        db.execute("BEGIN")
        try:
            for (kind, ident), doc in touched.items():
                if doc is None:
                    db.execute("DELETE FROM docs WHERE kind = ? AND id = ?", (kind, ident))
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO docs (kind, id, body) VALUES (?, ?, ?)",
                        (kind, ident, json.dumps(doc, separators=(",", ":"))),
                    )
            for ident, data in blobs.items():
                if data is None:
                    db.execute("DELETE FROM blobs WHERE id = ?", (ident,))
                else:
                    db.execute("INSERT OR REPLACE INTO blobs (id, data) VALUES (?, ?)", (ident, data))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def put(self, kind: str, ident: str, doc: Doc) -> None:
        if self._touched is None:
            raise RuntimeError("Store.put outside Store.write(): wrap the mutation in `with store.write():`")
        self._touched[(kind, ident)] = doc

    def delete(self, kind: str, ident: str) -> None:
        if self._touched is None:
            raise RuntimeError(
                "Store.delete outside Store.write(): wrap the mutation in `with store.write():`"
            )
        self._touched[(kind, ident)] = None

    def put_blob(self, ident: str, data: bytes) -> None:
        self._blobs[ident] = data

    def blob(self, ident: str) -> bytes | None:
        with self.lock:
            if ident in self._blobs and self._blobs[ident] is not None:
                return self._blobs[ident]
            row = self._db.execute("SELECT data FROM blobs WHERE id = ?", (ident,)).fetchone()
            return bytes(row[0]) if row else None

    def close(self) -> None:
        with self.lock:
            self._db.close()

    # -- ids and time --------------------------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self.clock_offset

    def next_id(self) -> str:
        """Ids for issues, comments, attachments, histories and links, from one counter as in a fresh Jira."""
        self.meta["seq"] = int(self.meta.get("seq", 10000)) + 1
        self.put("meta", "meta", self.meta)
        return str(self.meta["seq"])

    # -- lookups -------------------------------------------------------------------------------------

    def user(self, ident: str | None) -> Doc | None:
        return self.users.get(ident) if ident else None

    def find_user(self, value: str) -> Doc | None:
        """A user by internal id, accountId, username, key or email (case-insensitive for names/emails)."""
        if not value:
            return None
        low = value.lower()
        for user in self.users.values():
            if value in (user["id"], user["accountId"], user["key"]) or low in (
                user["name"].lower(),
                user["email"].lower(),
            ):
                return user
        return None

    def user_groups(self, user: Doc) -> list[str]:
        return sorted(name for name, group in self.groups.items() if user["id"] in group["members"])

    def in_any_group(self, user: Doc | None, groups: list[str]) -> bool:
        if user is None:
            return False
        return any(user["id"] in self.groups.get(g, {}).get("members", []) for g in groups)

    def project(self, ident: str | None) -> Doc | None:
        if not ident:
            return None
        if ident in self.projects:
            return self.projects[ident]
        low = str(ident).lower()
        for project in self.projects.values():
            if project["id"] == str(ident) or project["key"].lower() == low or project["name"].lower() == low:
                return project
        return None

    def status(self, ident: str) -> Doc:
        return self.meta["statuses"][ident]

    def status_by_name(self, name: str) -> Doc | None:
        low = name.lower()
        for status in self.meta["statuses"].values():
            if status["name"].lower() == low or status["id"] == name:
                return status
        return None

    def issue_type(self, ident: str) -> Doc:
        return self.meta["issuetypes"][ident]

    def issue(self, id_or_key: str) -> Doc | None:
        ident = self.keys.get(id_or_key.upper(), id_or_key)
        return self.issues.get(ident)

    def can_browse(self, user: Doc | None, project: Doc) -> bool:
        return self.in_any_group(user, project["browse_groups"]) or self.is_admin(user)

    def can_edit(self, user: Doc | None, project: Doc) -> bool:
        return self.in_any_group(user, project["edit_groups"]) or self.is_admin(user)

    def is_admin(self, user: Doc | None) -> bool:
        return self.in_any_group(user, [seed.ADMIN_GROUP])

    # -- issue writes --------------------------------------------------------------------------------

    def begin_issue_change(self, issue: Doc) -> None:
        """Call before changing an issue: keeps what search saw, while the change is not yet indexed."""
        self._begun.add(("issue", issue["id"]))
        index = issue.setdefault("_index", [])
        if not index:
            index.append([0.0, _snapshot(issue)])

    def save_issue(self, issue: Doc, *, touch: bool = True) -> None:
        """Persist ``issue`` and queue its new version for the search index (visible after the lag)."""
        now = self.now()
        if touch:
            issue["updated"] = now
        index = issue.setdefault("_index", [])
        index.append([time.time() + self.search_lag, _snapshot(issue)])
        # Keep only the newest already-visible snapshot and the pending ones.
        visible = [i for i, (at, _) in enumerate(index) if at <= time.time()]
        if visible:
            del index[: visible[-1]]
        self.issues[issue["id"]] = issue
        self.keys[issue["key"]] = issue["id"]
        self.put("issue", issue["id"], issue)

    def remove_issue(self, issue: Doc) -> None:
        self.issues.pop(issue["id"], None)
        self.keys = {k: v for k, v in self.keys.items() if v != issue["id"]}
        for attachment in issue.get("attachments", []):
            self._blobs[attachment["id"]] = None
        self.delete("issue", issue["id"])

    def searchable(self) -> list[Doc]:
        """The version of each issue the search index holds now (none for issues not yet indexed)."""
        wall = time.time()
        result = []
        with self.lock:
            for issue in self.issues.values():
                chosen = None
                for at, snap in issue.get("_index", []):
                    if at <= wall:
                        chosen = snap
                if chosen is not None:
                    result.append(chosen)
        return result


def _snapshot(issue: Doc) -> Doc:
    return copy.deepcopy({k: v for k, v in issue.items() if k != "_index"})
