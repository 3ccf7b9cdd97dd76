"""A JQL subset: tokenizer, recursive-descent parser, validation against the store, evaluation and sorting.

Grammar (keywords case-insensitive)::

    query    := [or_expr] [ORDER BY sort ("," sort)*]
    or_expr  := and_expr ((OR | "||") and_expr)*
    and_expr := not_expr ((AND | "&&") not_expr)*
    not_expr := (NOT | "!") not_expr | "(" or_expr ")" | clause
    clause   := field op operand | field IS [NOT] (EMPTY | NULL)
    op       := = | != | > | >= | < | <= | ~ | !~ | IN | NOT IN
    operand  := value | "(" value ("," value)* ")" | function "(" [value ("," value)*] ")"
    sort     := field [ASC | DESC]

Errors carry Jira's 400 texts so a client's error handling sees what it would see from Jira.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.jira.store import ApiError, Doc, Store

KEYWORDS = {"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"}
OPERATORS = ("!=", ">=", "<=", "!~", "=", ">", "<", "~")
VALID_OPS = "'=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'"
_WORD = re.compile(r"[^\s=!<>~(),\"'&|]+")
_RELATIVE = re.compile(r"^([-+]?)((?:\d+[wdhm]\s*)+)$", re.IGNORECASE)
_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}

# field -> (kind, canonical name); aliases as Jira's clause names.
FIELDS: dict[str, tuple[str, str]] = {
    "project": ("project", "project"),
    "key": ("key", "key"),
    "issuekey": ("key", "key"),
    "issue": ("key", "key"),
    "id": ("key", "key"),
    "labels": ("labels", "labels"),
    "status": ("status", "status"),
    "statuscategory": ("statuscategory", "statusCategory"),
    "issuetype": ("issuetype", "issuetype"),
    "type": ("issuetype", "issuetype"),
    "updated": ("date", "updated"),
    "updateddate": ("date", "updated"),
    "created": ("date", "created"),
    "createddate": ("date", "created"),
    "resolved": ("date", "resolutiondate"),
    "resolutiondate": ("date", "resolutiondate"),
    "assignee": ("user", "assignee"),
    "reporter": ("user", "reporter"),
    "resolution": ("resolution", "resolution"),
    "summary": ("text", "summary"),
    "description": ("text", "description"),
    "text": ("text", "text"),
}
OPS_BY_KIND = {
    "project": {"=", "!=", "in", "not in"},
    "key": {"=", "!=", "in", "not in"},
    "labels": {"=", "!=", "in", "not in", "is", "is not"},
    "status": {"=", "!=", "in", "not in"},
    "statuscategory": {"=", "!=", "in", "not in"},
    "issuetype": {"=", "!=", "in", "not in"},
    "date": {"=", "!=", ">", ">=", "<", "<=", "is", "is not"},
    "user": {"=", "!=", "in", "not in", "is", "is not"},
    "resolution": {"=", "!=", "in", "not in", "is", "is not"},
    "text": {"~", "!~"},
}
SORTABLE = {
    "key": "key",
    "issuekey": "key",
    "id": "key",
    "created": "created",
    "updated": "updated",
    "status": "status",
    "summary": "summary",
    "project": "project",
    "issuetype": "issuetype",
    "type": "issuetype",
    "resolutiondate": "resolutiondate",
    "resolved": "resolutiondate",
    "assignee": "assignee",
}


def jql_error(message: str) -> ApiError:
    return ApiError(400, [message])


# -- tokens -------------------------------------------------------------------------------------------


@dataclass
class Token:
    kind: str  # word, string, op, lparen, rparen, comma, end
    text: str
    pos: int  # 1-based character position, as Jira reports it

    @property
    def keyword(self) -> str | None:
        return self.text.lower() if self.kind == "word" and self.text.lower() in KEYWORDS else None

    def shown(self) -> str:
        return "end of query" if self.kind == "end" else f"'{self.text}'"


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "\"'":
            j, buf = i + 1, []
            while j < len(text) and text[j] != ch:
                if text[j] == "\\" and j + 1 < len(text):
                    j += 1
                buf.append(text[j])
                j += 1
            if j >= len(text):
                raise jql_error(
                    f"Error in the JQL Query: The quoted string '{''.join(buf)}' has not been completed. "
                    f"(line 1, character {i + 1})"
                )
            tokens.append(Token("string", "".join(buf), i + 1))
            i = j + 1
            continue
        if text.startswith("&&", i) or text.startswith("||", i):
            tokens.append(Token("word", "and" if ch == "&" else "or", i + 1))
            i += 2
            continue
        op = next((o for o in OPERATORS if text.startswith(o, i)), None)
        if op:
            tokens.append(Token("op", op, i + 1))
            i += len(op)
            continue
        if ch == "!":
            tokens.append(Token("word", "not", i + 1))
            i += 1
            continue
        simple = {"(": "lparen", ")": "rparen", ",": "comma"}.get(ch)
        if simple:
            tokens.append(Token(simple, ch, i + 1))
            i += 1
            continue
        match = _WORD.match(text, i)
        if not match:
            raise jql_error(
                f"Error in the JQL Query: The character '{ch}' is a reserved JQL character. You must enclose "
                f"it in a string or use the escape '\\u{ord(ch):04x}' instead. (line 1, character {i + 1})"
            )
        tokens.append(Token("word", match.group(), i + 1))
        i = match.end()
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


# -- syntax tree --------------------------------------------------------------------------------------


@dataclass
class Value:
    text: str
    quoted: bool = False
    function: str | None = None  # e.g. "currentUser" for currentUser()
    args: list[str] = field(default_factory=list)


@dataclass
class Clause:
    field: str  # as written
    op: str  # lower-case: =, !=, in, not in, is, is not, >, ...
    values: list[Value]
    pos: int


@dataclass
class BoolOp:
    op: str  # and, or
    parts: list[Any]


@dataclass
class Not:
    part: Any


@dataclass
class Query:
    where: Any | None
    order: list[tuple[str, str]]


class Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def error(self, expecting: str) -> ApiError:
        tok = self.tok
        where = f" (line 1, character {tok.pos})"
        return jql_error(f"Error in the JQL Query: Expecting {expecting} but got {tok.shown()}.{where}")

    def parse(self) -> Query:
        where = None
        if self.tok.kind != "end" and self.tok.keyword != "order":
            where = self.or_expr()
        order: list[tuple[str, str]] = []
        if self.tok.keyword == "order":
            self.take()
            if self.tok.keyword != "by":
                raise self.error("'BY'")
            self.take()
            while True:
                if self.tok.kind not in ("word", "string") or self.tok.keyword:
                    raise self.error("a field name")
                name = self.take().text
                direction = "asc"
                if self.tok.keyword in ("asc", "desc"):
                    direction = self.take().text.lower()
                order.append((name, direction))
                if self.tok.kind != "comma":
                    break
                self.take()
        if self.tok.kind != "end":
            raise self.error("either 'OR' or 'AND'" if where is not None else "a field name")
        return Query(where, order)

    def or_expr(self) -> Any:
        parts = [self.and_expr()]
        while self.tok.keyword == "or":
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else BoolOp("or", parts)

    def and_expr(self) -> Any:
        parts = [self.not_expr()]
        while self.tok.keyword == "and":
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else BoolOp("and", parts)

    def not_expr(self) -> Any:
        if self.tok.keyword == "not":
            self.take()
            return Not(self.not_expr())
        if self.tok.kind == "lparen":
            self.take()
            inner = self.or_expr()
            if self.tok.kind != "rparen":
                raise self.error("')'")
            self.take()
            return inner
        return self.clause()

    def clause(self) -> Clause:
        tok = self.tok
        if tok.kind not in ("word", "string") or tok.keyword:
            raise self.error("a field name")
        self.take()
        op_tok = self.tok
        if op_tok.kind == "op":
            op = self.take().text
        elif op_tok.keyword == "in":
            self.take()
            op = "in"
        elif op_tok.keyword == "not" and self.tokens[self.i + 1].keyword == "in":
            self.i += 2
            op = "not in"
        elif op_tok.keyword == "is":
            self.take()
            op = "is"
            if self.tok.keyword == "not":
                self.take()
                op = "is not"
            if self.tok.keyword not in ("empty", "null"):
                raise self.error("'EMPTY' or 'NULL'")
            self.take()
            return Clause(tok.text, op, [], tok.pos)
        else:
            raise jql_error(
                f"Error in the JQL Query: Expecting operator but got {op_tok.shown()}. The valid operators "
                f"are {VALID_OPS}. (line 1, character {op_tok.pos})"
            )
        if op in ("in", "not in"):
            if self.tok.kind != "lparen":
                raise self.error("'(' after IN")
            self.take()
            values = [self.value()]
            while self.tok.kind == "comma":
                self.take()
                values.append(self.value())
            if self.tok.kind != "rparen":
                raise self.error("')'")
            self.take()
            return Clause(tok.text, op, values, tok.pos)
        return Clause(tok.text, op, [self.value()], tok.pos)

    def value(self) -> Value:
        tok = self.tok
        if tok.kind == "string":
            self.take()
            return Value(tok.text, quoted=True)
        if tok.kind == "word" and tok.keyword not in ("and", "or", "not", "in", "is", "order", "by"):
            self.take()
            if tok.keyword in ("empty", "null"):
                return Value(tok.text, function="empty")
            if self.tok.kind == "lparen":  # a function call
                self.take()
                args: list[str] = []
                while self.tok.kind in ("word", "string"):
                    args.append(self.take().text)
                    if self.tok.kind == "comma":
                        self.take()
                if self.tok.kind != "rparen":
                    raise self.error("')'")
                self.take()
                return Value(tok.text, function=tok.text.lower(), args=args)
            return Value(tok.text)
        raise self.error("either a value, list or function")


def parse(text: str) -> Query:
    return Parser(text or "").parse()


# -- validation and evaluation ------------------------------------------------------------------------


def parse_date(text: str, now: float, field_name: str) -> float:
    """An absolute JQL date (minute precision, UTC) or a relative period like -5m, -2h, -1d, 1w."""
    raw = text.strip()
    match = _RELATIVE.match(raw)
    if match:
        sign = -1 if match.group(1) == "-" else 1
        total = sum(
            int(n) * _UNIT_SECONDS[u.lower()] for n, u in re.findall(r"(\d+)([wdhmWDHM])", match.group(2))
        )
        return now + sign * total
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    raise jql_error(
        f"Date value '{text}' for field '{field_name}' is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. "
        "'-5d', '4w 2d'."
    )


@dataclass
class Compiled:
    """A query checked against the store, ready to filter and sort issue documents."""

    query: Query
    store: Store
    user: Doc | None
    now: float
    bounded: bool  # has a restriction, as Cloud's /search/jql requires

    def matches(self, issue: Doc) -> bool:
        return self.query.where is None or bool(self._eval(self.query.where, issue))

    def _eval(self, node: Any, issue: Doc) -> bool:
        if isinstance(node, BoolOp):
            results = (self._eval(p, issue) for p in node.parts)
            return all(results) if node.op == "and" else any(results)
        if isinstance(node, Not):
            return not self._eval(node.part, issue)
        return self._clause(node, issue)

    def _clause(self, clause: Clause, issue: Doc) -> bool:
        kind, name = FIELDS[clause.field.lower()]
        op = clause.op
        current = self._field_values(kind, name, issue)
        if op in ("is", "is not"):
            empty = not current
            return empty if op == "is" else not empty
        if kind == "date":
            if not current:
                return False
            actual = current[0]
            wanted = [parse_date(v.text, self.now, clause.field) for v in clause.values]
            if op == "=":
                return any(int(actual // 60) == int(w // 60) for w in wanted)
            if op == "!=":
                return all(int(actual // 60) != int(w // 60) for w in wanted)
            target = wanted[0]
            return {
                ">": actual > target,
                ">=": actual >= target,
                "<": actual < target,
                "<=": actual <= target,
            }[op]
        if kind == "text":
            haystack = " ".join(str(v) for v in current).lower()
            words = clause.values[0].text.lower().replace("*", "").split()
            found = all(w in haystack for w in words)
            return found if op == "~" else not found
        wanted_set = {self._canonical(kind, v) for v in clause.values}
        wanted_set.discard(None)
        has = {str(v).lower() for v in current}
        if op in ("=", "in"):
            return bool(has & wanted_set) or (not has and "<empty>" in wanted_set)
        # Jira's != and NOT IN never match an empty field.
        if not has:
            return False
        return not (has & wanted_set)

    def _field_values(self, kind: str, name: str, issue: Doc) -> list[Any]:
        if kind == "project":
            return [issue["project"]]
        if kind == "key":
            return [issue["key"], issue["id"], *issue.get("old_keys", [])]
        if kind == "labels":
            return list(issue.get("labels", []))
        if kind == "status":
            return [issue["status"]]
        if kind == "statuscategory":
            return [self.store.status(issue["status"])["category"]]
        if kind == "issuetype":
            return [issue["issuetype"]]
        if kind == "date":
            value = issue.get(name)
            return [value] if value is not None else []
        if kind == "user":
            return [issue[name]] if issue.get(name) else []
        if kind == "resolution":
            return [issue["resolution"]] if issue.get("resolution") else []
        if kind == "text":
            if name == "text":
                return [issue.get("summary") or "", _plain(issue.get("description"))]
            value = issue.get(name)
            return [_plain(value)] if value else []
        raise AssertionError(kind)

    def _canonical(self, kind: str, value: Value) -> str | None:
        """The stored form of a JQL value, lower-cased; validation has checked it exists."""
        if value.function == "empty":
            return "<empty>"
        if value.function == "currentuser":
            return self.user["id"].lower() if self.user else None
        text = value.text
        if kind == "project":
            project = self.store.project(text)
            return project["key"].lower() if project else None
        if kind == "key":
            issue = self.store.issue(text)
            return issue["key"].lower() if issue else text.lower()
        if kind == "status":
            status = self.store.status_by_name(text)
            return status["id"].lower() if status else None
        if kind == "statuscategory":
            low = text.lower()
            for key, cat in _categories().items():
                if low in (key, cat.lower(), str(_category_ids()[key])):
                    return key
            return None
        if kind == "issuetype":
            for it in self.store.meta["issuetypes"].values():
                if text.lower() in (it["name"].lower(), it["id"]):
                    return it["id"].lower()
            return None
        if kind == "user":
            user = self.store.find_user(text)
            return user["id"].lower() if user else None
        if kind == "resolution":
            if text.lower() == "unresolved":
                return "<empty>"
            for res in self.store.meta["resolutions"].values():
                if text.lower() in (res["name"].lower(), res["id"]):
                    return res["id"].lower()
            return None
        return text.lower()

    def sort(self, issues: list[Doc]) -> list[Doc]:
        order = self.query.order or [("created", "desc")]
        result = list(issues)
        # Stable sorts from the least significant key; id breaks ties the way Jira's index does.
        result.sort(key=lambda i: int(i["id"]), reverse=True)
        for name, direction in reversed(order):
            sort_field = SORTABLE[name.lower()]
            present = [i for i in result if self._sort_key(sort_field, i) is not None]
            missing = [i for i in result if self._sort_key(sort_field, i) is None]
            present.sort(key=functools.partial(self._sort_key, sort_field), reverse=direction == "desc")
            # Jira puts issues without a value last in ascending order and first in descending order.
            result = present + missing if direction == "asc" else missing + present
        return result

    def _sort_key(self, name: str, issue: Doc) -> Any:
        if name == "key":
            project, _, number = issue["key"].rpartition("-")
            return (project, int(number))
        if name == "status":
            return self.store.status(issue["status"])["name"].lower()
        if name == "issuetype":
            return self.store.issue_type(issue["issuetype"])["name"].lower()
        if name == "assignee":
            user = self.store.user(issue.get("assignee"))
            return user["displayName"].lower() if user else None
        if name == "summary":
            return (issue.get("summary") or "").lower()
        if name == "project":
            return issue["project"]
        return issue.get(name)


def _categories() -> dict[str, str]:
    return {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}


def _category_ids() -> dict[str, int]:
    return {"new": 2, "indeterminate": 4, "done": 3}


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        from sandbox.jira.render import adf_to_text

        return adf_to_text(value)
    return "" if value is None else str(value)


def compile_query(text: str, store: Store, user: Doc | None) -> Compiled:
    """Parse ``text`` and check every field, operator and value as Jira does before searching."""
    query = parse(text)
    compiled = Compiled(query, store, user, store.now(), bounded=query.where is not None)
    if query.where is not None:
        _validate(query.where, compiled)
    for name, _ in query.order:
        if name.lower() not in SORTABLE:
            if name.lower() in FIELDS:
                raise jql_error(f"Field '{name}' does not support sorting.")
            raise jql_error(f"Not able to sort using field '{name}'.")
    return compiled


def _validate(node: Any, compiled: Compiled) -> None:
    if isinstance(node, BoolOp):
        for part in node.parts:
            _validate(part, compiled)
        return
    if isinstance(node, Not):
        _validate(node.part, compiled)
        return
    clause: Clause = node
    spec = FIELDS.get(clause.field.lower())
    if spec is None:
        raise jql_error(f"Field '{clause.field}' does not exist or you do not have permission to view it.")
    kind, _ = spec
    if clause.op not in OPS_BY_KIND[kind]:
        raise jql_error(f"The operator '{clause.op.upper()}' is not supported by the '{clause.field}' field.")
    store, user = compiled.store, compiled.user
    for value in clause.values:
        if value.function == "empty":
            if kind in ("project", "key", "status", "issuetype", "statuscategory", "text"):
                raise jql_error(f"The field '{clause.field}' does not support searching for EMPTY values.")
            continue
        if value.function == "currentuser" and kind == "user":
            continue
        if value.function is not None:
            raise jql_error(
                f"Unable to find JQL function '{value.text}({', '.join(value.args)})' or it is not supported "
                f"by the '{clause.field}' field."
            )
        if kind == "date":
            parse_date(value.text, compiled.now, clause.field)
        elif kind == "project":
            project = store.project(value.text)
            if project is None or not store.can_browse(user, project):
                raise jql_error(f"The value '{value.text}' does not exist for the field '{clause.field}'.")
        elif kind == "key":
            issue = store.issue(value.text)
            project = store.projects.get(issue["project"]) if issue else None
            if issue is None or project is None or not store.can_browse(user, project):
                if re.match(r"^[A-Za-z][A-Za-z0-9_]*-\d+$", value.text) or value.text.isdigit():
                    raise jql_error(
                        f"An issue with key '{value.text}' does not exist for field '{clause.field}'."
                    )
                raise jql_error(f"The issue key '{value.text}' for field '{clause.field}' is invalid.")
        elif kind in ("status", "statuscategory", "issuetype", "resolution", "user") and (
            compiled._canonical(kind, value) is None
        ):
            raise jql_error(f"The value '{value.text}' does not exist for the field '{clause.field}'.")
