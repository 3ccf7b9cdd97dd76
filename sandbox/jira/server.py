"""The HTTP server: routing, authentication, fault injection, request counters and the admin endpoints.

Built on the standard library's ``ThreadingHTTPServer`` rather than an ASGI stack because the "commit then
drop the response" fault needs the raw socket: the handler commits the new issue, then shuts the
connection down without writing a byte, which is what a client sees when a proxy or the network loses a
response. (ASGI servers always finish or reset the response themselves.)
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import fnmatch
import json
import random
import re
import socket
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sandbox.jira import api, ops, pages
from sandbox.jira.api import Ctx, Response
from sandbox.jira.render import CLOUD, DATACENTER
from sandbox.jira.store import ApiError, Doc, Store

DEFAULT_ATTACHMENT_LIMIT = 10 * 1024 * 1024
# A fresh site answers these unauthenticated (Jira lets anyone read serverInfo).
ANONYMOUS_OK = {"serverInfo"}


@dataclass
class Config:
    flavor: str = CLOUD
    attachment_limit: int = DEFAULT_ATTACHMENT_LIMIT


@dataclass
class FaultSwitch:
    """One kind of fault: injected on a ``rate`` share of matching requests, at most ``limit`` times."""

    rate: float = 0.0
    limit: int | None = None  # None: unlimited; counts down as faults are injected
    endpoints: list[str] = field(
        default_factory=list
    )  # glob patterns over "METHOD /path/{template}"; [] = all
    status: int = 503  # for "error" (5xx) and "html_login_page" (200 unless set)
    retry_after: int = 1  # for "throttle", whole seconds as Jira sends them
    seconds: float = 0.0  # for "latency"


FAULT_KINDS = ("throttle", "error", "drop", "latency", "html_login_page")
DEFAULT_DROP_ENDPOINTS = ["POST /rest/api/*/issue"]
#: What an SSO gateway or proxy in front of Jira answers when its session has expired: 200 and a page.
LOGIN_PAGE = b"""<!DOCTYPE html>
<html><head><title>Sign in - Example SSO</title></head>
<body><form method="post" action="/sso/login"><h1>Sign in to continue to Jira</h1>
<input name="username"><input name="password" type="password"><button>Sign in</button></form></body></html>
"""


class Faults:
    """Fault switches and the seeded random generator that decides when they fire."""

    def __init__(self, seed: int = 0) -> None:
        self.lock = threading.Lock()
        self.seed = seed
        self.random = random.Random(seed)  # noqa: S311 - reproducible faults, not security
        self.switches: dict[str, FaultSwitch] = {}
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.random = random.Random(self.seed)  # noqa: S311 - reproducible faults, not security
            self.switches = {k: FaultSwitch() for k in FAULT_KINDS}
            self.switches["drop"].endpoints = list(DEFAULT_DROP_ENDPOINTS)
            self.switches["html_login_page"].status = 200

    def update(self, changes: Any) -> None:
        if not isinstance(changes, dict):
            raise ApiError(400, "Send faults as a JSON object, e.g. {'throttle': {'rate': 1.0, 'limit': 2}}.")
        with self.lock:
            # Validate everything on copies first, so a refused update changes nothing.
            updated = {k: copy.deepcopy(v) for k, v in self.switches.items()}
            for kind, values in changes.items():
                if kind == "seed":
                    continue
                if kind not in updated:
                    raise ApiError(
                        400, f"Unknown fault '{kind}'; use one of {', '.join(FAULT_KINDS)} or 'seed'."
                    )
                if not isinstance(values, dict):
                    raise ApiError(400, f"Fault '{kind}' must be an object such as {{'rate': 0.5}}.")
                switch = updated[kind]
                for name, value in values.items():
                    if not hasattr(switch, name):
                        raise ApiError(
                            400, f"Fault '{kind}' has no setting '{name}'; see GET /_sandbox/faults."
                        )
                    setattr(switch, name, value)
                if not 0.0 <= float(switch.rate) <= 1.0:
                    raise ApiError(400, f"Fault '{kind}' rate must be between 0 and 1, not {switch.rate}.")
            self.switches = updated
            if "seed" in changes:
                self.seed = int(changes["seed"])
                self.random = random.Random(self.seed)  # noqa: S311 - reproducible faults, not security

    def fire(self, kind: str, endpoint: str) -> FaultSwitch | None:
        """The switch if the fault fires for this request (draws from the seeded generator)."""
        with self.lock:
            switch = self.switches[kind]
            if kind == "latency":
                applies = switch.seconds > 0 and _matches(endpoint, switch.endpoints)
                return switch if applies else None
            if switch.rate <= 0 or (switch.limit is not None and switch.limit <= 0):
                return None
            if not _matches(endpoint, switch.endpoints):
                return None
            if switch.rate < 1 and self.random.random() >= switch.rate:
                return None
            if switch.limit is not None:
                switch.limit -= 1
            return switch

    def as_dict(self) -> Doc:
        with self.lock:
            return {"seed": self.seed, **{k: asdict(v) for k, v in self.switches.items()}}


def _matches(endpoint: str, patterns: list[str]) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(endpoint, p) for p in patterns)


class Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.total = 0
        self.endpoints: dict[str, int] = {}
        self.faults: dict[str, int] = dict.fromkeys(("throttle", "error", "drop", "html_login_page"), 0)
        self.statuses: dict[str, int] = {}

    def count(self, endpoint: str) -> None:
        with self.lock:
            self.total += 1
            self.endpoints[endpoint] = self.endpoints.get(endpoint, 0) + 1

    def fault(self, kind: str) -> None:
        with self.lock:
            self.faults[kind] += 1

    def status(self, code: int) -> None:
        with self.lock:
            self.statuses[str(code)] = self.statuses.get(str(code), 0) + 1

    def as_dict(self) -> Doc:
        with self.lock:
            return {
                "total": self.total,
                "endpoints": dict(sorted(self.endpoints.items())),
                "faults": dict(self.faults),
                "statuses": dict(sorted(self.statuses.items())),
            }


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(pattern)) + "$")


REST_ROUTES = [(m, p, _compile(p), fn, flavors.split(",")) for m, p, fn, flavors in api.ROUTES]
_REST_PREFIX = re.compile(r"^/rest/api/(2|3|latest)/(.*)$")


class JiraSandbox:
    """Everything one server process holds: state, configuration, faults and counters."""

    def __init__(self, store: Store, config: Config, faults: Faults) -> None:
        self.store = store
        self.config = config
        self.faults = faults
        self.counters = Counters()
        self.started_faults = faults.as_dict()

    def authenticate(self, header: str | None) -> tuple[Doc | None, str | None]:
        """(user, None) when the credentials are good, (None, reason) otherwise; (None, None) if none sent."""
        if not header:
            return None, None
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            try:
                login, _, secret = base64.b64decode(value.strip()).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None, "The Basic authorization header is not valid base64 of login:secret."
            if self.config.flavor == CLOUD:
                user = next(
                    (u for u in self.store.users.values() if u["email"].lower() == login.lower()), None
                )
                if user and secret == user["api_token"]:
                    return user, None
                return None, "Use the account's email address and an API token for basic authentication."
            user = next((u for u in self.store.users.values() if u["name"] == login), None)
            if user and secret == user["password"]:
                return user, None
            return None, "Wrong username or password."
        if scheme == "bearer":
            if self.config.flavor == CLOUD:
                return None, (
                    "Personal access tokens are a Data Center feature; on Jira Cloud use basic "
                    "authentication with the account's email address and an API token."
                )
            user = next((u for u in self.store.users.values() if u["pat"] == value.strip()), None)
            if user:
                return user, None
            return None, "The personal access token is not valid or has expired."
        return None, f"Unsupported authorization scheme '{scheme}'; use Basic or Bearer."


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes; without TCP_NODELAY each keep-alive response waits
    # for the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    server_version = "JiraSandbox/1.0"
    sandbox: JiraSandbox  # set on the subclass made by make_server

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet by default: tests start many requests and the output is noise.
        return

    def do_GET(self) -> None:
        self.handle_any("GET")

    def do_POST(self) -> None:
        self.handle_any("POST")

    def do_PUT(self) -> None:
        self.handle_any("PUT")

    def do_DELETE(self) -> None:
        self.handle_any("DELETE")

    # -- request plumbing ------------------------------------------------------------------------------

    def read_body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send(self, response: Response) -> None:
        body = response.body
        if body is None:
            data = b""
        elif isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode("utf-8")
        else:
            data = json.dumps(body).encode("utf-8")
        self.sandbox.counters.status(response.status)
        self.send_response(response.status)
        if data or response.status not in (204, 304):
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_error_json(self, error: ApiError) -> None:
        self.send(Response(error.status, error.body(), error.headers))

    def drop(self) -> None:
        """Close the connection without a response (the commit already happened)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()

    # -- dispatch --------------------------------------------------------------------------------------

    def handle_any(self, method: str) -> None:
        sandbox = self.sandbox
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        # Self links follow the Host the client used (as Jira follows its base URL), so Docker names work.
        host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_port}"  # type: ignore[attr-defined]
        base = f"http://{host}"
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.send_error_json(ApiError(400, "The request body could not be read."))
            return
        if (
            path.startswith("/_sandbox/")
            or path in ("/", "/_sandbox")
            or path.startswith(("/reviewer", "/browse/"))
        ):
            sandbox.counters.count(
                f"{method} {path.split('?')[0] if path.startswith('/_sandbox') else '/reviewer'}"
            )
            try:
                if path.startswith("/_sandbox"):
                    self.send(self.admin(method, path, body))
                else:
                    self.send(pages.handle(sandbox, method, path, query, body, base))
            except ApiError as error:
                self.send_error_json(error)
            return
        if path == "/rest/applinks/latest/listApplicationlinks":
            # The library lists application links before adding a remote link; this site has none.
            sandbox.counters.count(f"{method} {path}")
            user, _ = sandbox.authenticate(self.headers.get("Authorization"))
            if user is None:
                self.send_error_json(ApiError(401, "You are not authenticated."))
            else:
                self.send(Response(200, []))
            return
        match = _REST_PREFIX.match(path)
        secure = re.match(r"^/secure/attachment/(\d+)(/.*)?$", path)
        if not match and not secure:
            sandbox.counters.count(f"{method} <unknown>")
            self.send_error_json(ApiError(404, f"No Jira resource at {path}."))
            return
        version = "2"
        target = None
        if match:
            version = "2" if match.group(1) == "latest" else match.group(1)
            target = self.find_route(method, match.group(2))
            endpoint = f"{method} /rest/api/{version}/{target[0] if target else '<unknown>'}"
        else:
            endpoint = f"{method} /secure/attachment/{{id}}/{{filename}}"
        sandbox.counters.count(endpoint)
        # Faults act like the gateway in front of Jira: before authentication and routing.
        latency = sandbox.faults.fire("latency", endpoint)
        if latency:
            time.sleep(float(latency.seconds))
        throttle = sandbox.faults.fire("throttle", endpoint)
        if throttle:
            sandbox.counters.fault("throttle")
            self.send(
                Response(
                    429,
                    {"errorMessages": ["Rate limit exceeded."], "errors": {}},
                    {"Retry-After": str(int(throttle.retry_after)), "RateLimit-Reason": "jira-burst-based"},
                )
            )
            return
        failure = sandbox.faults.fire("error", endpoint)
        if failure:
            sandbox.counters.fault("error")
            self.send(
                Response(int(failure.status), {"errorMessages": ["Internal server error"], "errors": {}})
            )
            return
        login_page = sandbox.faults.fire("html_login_page", endpoint)
        if login_page:
            # A gateway's login page: the request never reached Jira, so nothing was committed.
            sandbox.counters.fault("html_login_page")
            self.send(Response(int(login_page.status), LOGIN_PAGE, content_type="text/html;charset=UTF-8"))
            return
        try:
            response = self.dispatch(method, path, version, target, secure, query, body, base, endpoint)
        except ApiError as exc:
            self.send_error_json(exc)
            return
        except Exception as exc:  # a sandbox bug: answer like Jira's 500 and say what broke
            self.send(
                Response(
                    500, {"errorMessages": [f"Sandbox error: {type(exc).__name__}: {exc}"], "errors": {}}
                )
            )
            raise
        if method == "POST" and 200 <= response.status < 300 and sandbox.faults.fire("drop", endpoint):
            sandbox.counters.fault("drop")
            self.drop()
            return
        self.send(response)

    def find_route(self, method: str, rest: str) -> tuple[str, Any, dict[str, str]] | None:
        flavor = self.sandbox.config.flavor
        for route_method, pattern, regex, fn, flavors in REST_ROUTES:
            if route_method != method or flavor not in flavors:
                continue
            found = regex.match(rest)
            if found:
                return pattern, fn, found.groupdict()
        return None

    def dispatch(
        self,
        method: str,
        path: str,
        version: str,
        target: tuple[str, Any, dict[str, str]] | None,
        secure: re.Match[str] | None,
        query: dict[str, list[str]],
        body: bytes,
        base: str,
        endpoint: str,
    ) -> Response:
        sandbox = self.sandbox
        flavor = sandbox.config.flavor
        if version == "3" and flavor == DATACENTER:
            raise ApiError(404, "Jira Data Center has no REST API version 3; use /rest/api/2.")
        if secure is None and target is None:
            raise ApiError(404, f"No Jira resource for {method} {path}.")
        ctx = Ctx(
            store=sandbox.store,
            config=sandbox.config,
            method=method,
            path=path,
            params={},
            query=query,
            headers=self.headers,
            body=body,
            base=base,
            api=version,
        )
        pattern = target[0] if target else ""
        user, reason = sandbox.authenticate(self.headers.get("Authorization"))
        if user is None and (reason is not None or pattern not in ANONYMOUS_OK):
            headers = {"WWW-Authenticate": 'Basic realm="protected-area"'}
            if flavor == DATACENTER:
                headers["X-Seraph-LoginReason"] = (
                    "AUTHENTICATED_FAILED" if reason else "AUTHENTICATION_DENIED"
                )
            message = (
                reason or "You are not authenticated. Authentication required to perform this operation."
            )
            raise ApiError(401, message, headers=headers)
        ctx.user = user
        if method in ("POST", "PUT") and _xsrf_sensitive(self.headers.get("Content-Type")):
            token = (self.headers.get("X-Atlassian-Token") or "").lower()
            if token not in ("no-check", "nocheck"):
                return Response(403, b"XSRF check failed", content_type="text/plain;charset=UTF-8")
        if secure is not None:
            return api.attachment_content(ctx, secure.group(1))
        assert target is not None
        ctx.params = target[2]
        return target[1](ctx)

    # -- admin endpoints -------------------------------------------------------------------------------

    def admin(self, method: str, path: str, body: bytes) -> Response:
        sandbox = self.sandbox
        data: Any = None
        if body:
            try:
                data = json.loads(body)
            except ValueError:
                raise ApiError(400, "Send a JSON body to the sandbox admin endpoints.") from None
        if path == "/_sandbox/health" and method == "GET":
            return Response(200, {"status": "ok", "flavor": sandbox.config.flavor})
        if path == "/_sandbox/counters" and method == "GET":
            return Response(200, sandbox.counters.as_dict())
        if path == "/_sandbox/faults":
            if method == "POST":
                sandbox.faults.update(data or {})
            return Response(200, sandbox.faults.as_dict())
        if path == "/_sandbox/reset" and method == "POST":
            what = data or {}
            if what.get("counters", True):
                sandbox.counters.reset()
            if what.get("faults", True):
                sandbox.faults.reset()
            if what.get("data", False):
                sandbox.store.reset_data()
            return Response(
                200, {"reset": {k: what.get(k, k != "data") for k in ("counters", "faults", "data")}}
            )
        if path == "/_sandbox/settings":
            if method == "POST":
                self.update_settings(data or {})
            return Response(200, self.settings())
        if path == "/_sandbox/users" and method == "GET":
            return Response(200, [_user_credentials(u) for u in sandbox.store.users.values()])
        found = re.match(r"^/_sandbox/issues/([^/]+)/transition$", path)
        if found and method == "POST":
            return Response(200, transition_as(sandbox.store, found.group(1), data or {}))
        raise ApiError(404, f"No sandbox admin endpoint {method} {path}.")

    def settings(self) -> Doc:
        sandbox = self.sandbox
        return {
            "flavor": sandbox.config.flavor,
            "search_lag": sandbox.store.search_lag,
            "attachment_limit": sandbox.config.attachment_limit,
            "attachments_enabled": bool(sandbox.store.meta.get("attachments_enabled", True)),
            "clock_offset": sandbox.store.clock_offset,
        }

    def update_settings(self, data: Doc) -> None:
        sandbox = self.sandbox
        known = {"search_lag", "attachment_limit", "attachments_enabled", "clock_offset"}
        unknown = set(data) - known
        if unknown:
            raise ApiError(400, f"Unknown setting(s) {sorted(unknown)}; settable: {sorted(known)}.")
        with sandbox.store.write():
            if "search_lag" in data:
                sandbox.store.search_lag = float(data["search_lag"])
            if "attachment_limit" in data:
                sandbox.config.attachment_limit = int(data["attachment_limit"])
            if "clock_offset" in data:
                sandbox.store.clock_offset = float(data["clock_offset"])
            if "attachments_enabled" in data:
                sandbox.store.meta["attachments_enabled"] = bool(data["attachments_enabled"])
                sandbox.store.put("meta", "meta", sandbox.store.meta)


def _xsrf_sensitive(content_type: str | None) -> bool:
    """Form-like bodies a browser could send cross-site; Jira refuses them without the no-check header."""
    low = (content_type or "").lower()
    return low.startswith(("multipart/form-data", "application/x-www-form-urlencoded", "text/plain"))


def _user_credentials(user: Doc) -> Doc:
    keys = (
        "name",
        "email",
        "accountId",
        "key",
        "displayName",
        "api_token",
        "password",
        "pat",
        "email_visible",
    )
    return {k: user[k] for k in keys}


def transition_as(store: Store, key: str, data: Doc) -> Doc:
    """Move ``key`` to ``data['to']`` as the user ``data['as']`` (email, username or accountId)."""
    target = data.get("to")
    actor = data.get("as")
    if not target or not actor:
        raise ApiError(400, "Send {'to': 'Done', 'as': 'reviewer@example.com'}.")
    user = store.find_user(str(actor))
    if user is None:
        known = ", ".join(sorted(u["email"] for u in store.users.values()))
        raise ApiError(400, f"No user '{actor}' in the sandbox; use one of: {known}.")
    with store.write():
        issue = ops.visible_issue(store, user, key)
        passed = ops.transition_to(store, user, issue, str(target))
        status = store.status(issue["status"])["name"]
    return {"key": issue["key"], "status": status, "path": passed, "as": user["email"]}


def make_server(sandbox: JiraSandbox, host: str, port: int) -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"sandbox": sandbox})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
