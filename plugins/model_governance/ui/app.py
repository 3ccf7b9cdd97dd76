"""The dashboard's FastAPI app: overview, model page, document download, monitoring push API.

The app is built from a ``DashboardServices`` object (login, authorization, settings, inventory, S3), so
it runs under FastAPI's test client with fakes; ``airflow_services.AirflowDashboardServices`` is the real
one, used when the Airflow api-server mounts the app (``model_governance_plugin.py``).

Every route needs a logged-in user. Pages redirect an anonymous browser to the login page (back here
after it); the API answers 401 with how to authenticate. Pages render server-side from Jinja2 templates
with autoescaping; charts are inline SVG; there is no JavaScript.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import ValidationError
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from model_governance.exceptions import (
    ConfigurationError,
    ExternalServiceError,
    InvalidInputError,
    ModelGovernanceError,
    NotFoundError,
)
from model_governance.inventory import Inventory
from model_governance.inventory.arns import parse_model_package_arn
from model_governance.inventory.dashboard import (
    REQUIRED_APPROVALS,
    URGENT_KINDS,
    URGENT_LABELS,
    DashboardQueries,
    Filters,
    ModelDetail,
)
from model_governance.inventory.models import BusinessEntity, Document
from model_governance.lifecycle import GovernanceStatus
from model_governance.redaction import get_logger, redact, redact_text
from model_governance.ui import charts
from model_governance.ui.actions import (
    ACTION_DAG,
    REASON_MAX,
    REASON_MIN,
    AirflowApiError,
    action_conf,
    available_actions,
    csrf_ok,
    csrf_token,
    new_nonce,
    run_id_for,
    same_origin,
    valid_nonce,
)
from model_governance.ui.monitoring import MetricPush, describe_errors, parse_metric_push, record_push

log = get_logger(__name__)

URL_PREFIX = "/model-governance"
IMPLEMENTATION_DAG = "sagemaker_model_implementation"
#: The resource name passed to the auth manager's ``is_authorized_custom_view``.
RESOURCE_NAME = "Model Governance"
TEMPLATES = Path(__file__).parent / "templates"
PAGE_SIZES = (25, 50, 100, 200)


@dataclass(frozen=True)
class DashboardSettings:
    approval_sla_hours: float = 72.0
    #: Jira base URL for ticket links (``https://example.atlassian.net``), None when unknown.
    jira_base_url: str | None = None


@dataclass(frozen=True)
class DocumentStream:
    chunks: Iterator[bytes]
    content_length: int | None


class DashboardServices(Protocol):
    """What the app needs from its host (Airflow in production, fakes in tests)."""

    async def authenticate(self, request: Request) -> Any | None:
        """The logged-in user, or None for an anonymous request."""

    def login_url(self, next_url: str) -> str:
        """Where to send an anonymous browser; it comes back to ``next_url`` after logging in."""

    def authorize(self, user: Any, method: str) -> bool:
        """Whether ``user`` may read (GET) or push metrics (POST)."""

    def settings(self) -> DashboardSettings: ...

    def inventory(self) -> Inventory: ...

    def open_document(self, document: Document, entity: BusinessEntity) -> DocumentStream:
        """Stream the document's stored bytes (raises ``ExternalServiceError`` when S3 refuses)."""

    def session_token(self, request: Request) -> str | None:
        """The Airflow token the request was authenticated with (Bearer header or ``_token`` cookie)."""

    def may_trigger(self, user: Any, dag_id: str) -> bool:
        """Whether the auth manager lets ``user`` trigger runs of ``dag_id`` (what the REST API checks)."""

    async def trigger_dag_run(
        self, token: str, dag_id: str, *, run_id: str, conf: dict[str, Any], note: str
    ) -> dict[str, Any]:
        """``POST /api/v2/dags/{dag_id}/dagRuns`` with the user's ``token``: Airflow's answer (the run), with
        ``dag_is_paused`` (True: the run stays queued until the DAG is unpaused; None: not known); raises
        ``ui.actions.AirflowApiError`` with Airflow's status when it refuses or cannot be reached."""


@dataclass(frozen=True)
class _Confirmed:
    model_id: int
    package_arn: str
    action: str
    reason: str
    nonce: str


def _airflow_refusal(exc: AirflowApiError) -> tuple[str, int, str]:
    """Title, status and the fix for an error of Airflow's trigger API."""
    if exc.status == 401:
        return (
            "Session expired",
            401,
            "Airflow did not accept your session: log in to Airflow again and retry.",
        )
    if exc.status == 403:
        return (
            "Not allowed by Airflow",
            403,
            f"Airflow refused (403): your role may not trigger the DAG {ACTION_DAG}; ask an Airflow admin "
            "for permission to create its DAG runs.",
        )
    if exc.status == 404:
        return (
            "DAG not found",
            404,
            f"Airflow has no DAG {ACTION_DAG}: check the DAG processor parses the model governance DAGs.",
        )
    if exc.status in (400, 422):
        return "Refused by Airflow", 400, "Airflow refused the run's parameters"
    if exc.status == 0:
        return (
            "Airflow API unreachable",
            502,
            "The dashboard could not reach Airflow's REST API: check [api] base_url of the api-server",
        )
    return "Airflow API error", 502, f"Airflow answered HTTP {exc.status}; retry, or see the api-server's log"


def _user_name(user: Any) -> str:
    getter = getattr(user, "get_name", None)
    return str(getter() if callable(getter) else getattr(user, "username", user))


def _fmt_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["time"] = _fmt_time
    env.filters["urlquote"] = lambda value: quote(str(value), safe="")
    env.globals["URGENT_LABELS"] = URGENT_LABELS
    return env


def _console_url(package_arn: str, group_name: str) -> str | None:
    """The model package version in the SageMaker console (Model Registry). The group's own spelling is
    used: package ARNs carry it lower-cased."""
    try:
        parts = parse_model_package_arn(package_arn)
    except InvalidInputError:
        return None
    region = parts.region
    return (
        f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}"
        f"#/model-registry/{quote(group_name)}/{parts.version}"
    )


def _risk_view(run: Any) -> dict[str, Any] | None:
    """Summary, failed/gated results and a per-category chart of a risk test run's JSON report."""
    if run is None or not isinstance(run.report, dict):
        return None
    report = run.report
    results = [r for r in report.get("results") or [] if isinstance(r, dict)]
    per_category: dict[str, dict[str, int]] = {}
    for result in results:
        category = str(result.get("test", "?")).split(".", 1)[0]
        status = str(result.get("status", "info"))
        per_category.setdefault(category, {})
        per_category[category][status] = per_category[category].get(status, 0) + 1
    order = {"failed": 0, "error": 1, "passed": 2, "not_applicable": 3, "info": 4}
    gated = sorted(
        (r for r in results if r.get("threshold") is not None or r.get("status") in ("failed", "error")),
        key=lambda r: (order.get(str(r.get("status")), 9), str(r.get("test")), str(r.get("feature") or "")),
    )
    return {
        "passed": report.get("passed"),
        "summary": report.get("summary") or {},
        "risk_level": report.get("risk_level"),
        "problem_type": report.get("problem_type"),
        "engine_version": report.get("engine_version"),
        "chart": charts.outcome_bars(
            "chart-risk-outcomes", "Risk test results per category", sorted(per_category.items())
        )
        if per_category
        else None,
        "gated": gated[:200],
        "gated_total": len(gated),
        "warnings": [str(w) for w in report.get("warnings") or []][:20],
    }


#: The push API's body limit; a larger body is refused (413) before it is read.
MAX_BODY_BYTES = 64 * 1024
#: Ids are BIGINT in the inventory: a larger number is bad input, not a database error.
MAX_ID = 2**63 - 1
_WHOLE_NUMBER = re.compile(r"[0-9]{1,19}")
#: Control characters (NUL among them, which PostgreSQL refuses in text) have no place in a filter.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def whole_number(name: str, text: str, *, low: int = 1, high: int = MAX_ID) -> int:
    """``text`` as an int in [low, high]; ASCII digits only (``str.isdigit`` also takes superscripts)."""
    if not _WHOLE_NUMBER.fullmatch(text) or not low <= int(text) <= high:
        raise InvalidInputError(
            f"{name}={redact_text(text)[:40]!r} must be a whole number from {low} to {high}; fix the link."
        )
    return int(text)


def filter_text(name: str, text: str | None, *, limit: int = 200) -> str | None:
    """A free-text filter, or None; refuses control characters and overlong values naming the filter."""
    if not text:
        return None
    if len(text) > limit or _CONTROL.search(text):
        raise InvalidInputError(
            f"Filter {name} must be at most {limit} printable characters; pick a value from the page's menus."
        )
    return text


def _problem(status: int, field: str, problem: str, fix: str) -> JSONResponse:
    return JSONResponse({"detail": [{"field": field, "problem": problem, "fix": fix}]}, status_code=status)


def _finite_numbers(schema: Any) -> Any:
    """The JSON schema with every ``number`` bounded to finite floats: JSON has no infinity or NaN."""
    if isinstance(schema, dict):
        bounded = {key: _finite_numbers(value) for key, value in schema.items()}
        if bounded.get("type") == "number":
            bounded.setdefault("minimum", -sys.float_info.max)
            bounded.setdefault("maximum", sys.float_info.max)
        return bounded
    if isinstance(schema, list):
        return [_finite_numbers(item) for item in schema]
    return schema


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is (or announces to be) larger than ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isascii() or not declared.isdigit() or int(declared) > limit):
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # chunked bodies have no Content-Length: count as they come
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _export_evidence_pack(services: DashboardServices, model_id: int) -> tuple[Path, Path, str]:
    """Write the model's audit pack and its zip into a new temporary folder (the caller removes it);
    returns the folder, the zip and the zip's download name. Review documents are read through the
    dashboard's document store, so the pack holds what the document links serve."""
    from model_governance.services.evidence import export_pack

    inventory = services.inventory()
    model = inventory.get_model(model_id)
    queries = inventory.dashboard
    documents = {
        str(row["uri"]): int(row["id"]) for row in inventory.chained_records(model.id).get("document", [])
    }

    def fetch(uri: str) -> bytes:
        document, entity = queries.document(documents[uri])
        return b"".join(services.open_document(document, entity).chunks)

    folder = Path(tempfile.mkdtemp(prefix="mg-evidence-"))
    try:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{model.model_group.name}-v{model.version}").strip("-.")
        pack = export_pack(inventory, model.id, folder / f"evidence-{slug or model.id}", fetch=fetch)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    archive = pack.with_name(pack.name + ".zip")
    return folder, archive, archive.name


def _file_sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest(), path.stat().st_size


def _read_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 16):
            yield chunk


def create_app(services: DashboardServices, *, url_prefix: str = URL_PREFIX) -> FastAPI:
    """The dashboard app; mount it at ``url_prefix`` (links to Airflow pages are made relative to it)."""
    app = FastAPI(
        title="Model governance dashboard",
        docs_url=None,
        redoc_url=None,
        # The schema of the pages and the push API, for clients and for the schemathesis tests.
        openapi_url="/api/v1/openapi.json",
    )
    env = _environment()

    def links(request: Request) -> dict[str, str]:
        base = str(request.scope.get("root_path", "")).rstrip("/")
        airflow_root = base.removesuffix(url_prefix.rstrip("/"))
        return {"base": base, "airflow_root": airflow_root}

    def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        user = getattr(request.state, "mg_user", None)
        html = env.get_template(template).render(
            user=_user_name(user) if user is not None else None, **links(request), **context
        )
        return HTMLResponse(
            html,
            status_code=status_code,
            headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        )

    def error_page(request: Request, status_code: int, title: str, message: str) -> HTMLResponse:
        # Any viewer sees this page: a settings error may quote a URL with its password.
        return render(
            request, "error.html.j2", status_code=status_code, title=title, message=redact_text(message)
        )

    async def page_user(request: Request) -> Response | None:
        """None when the request may go on; else the redirect to login or the refusal."""
        user = await services.authenticate(request)
        if user is None:
            return RedirectResponse(services.login_url(str(request.url)), status_code=302)
        request.state.mg_user = user
        if not services.authorize(user, "GET"):
            return error_page(
                request, 403, "Not allowed", "Your Airflow role may not view the model governance dashboard."
            )
        return None

    @app.exception_handler(ModelGovernanceError)
    async def _governance_error(request: Request, exc: ModelGovernanceError) -> Response:
        status_code = 500
        if isinstance(exc, NotFoundError):
            status_code = 404
        elif isinstance(exc, InvalidInputError):
            status_code = 400
        elif isinstance(exc, ExternalServiceError):
            status_code = 502
        elif isinstance(exc, ConfigurationError):
            status_code = 503
        log.warning("dashboard %s %s: %s", request.method, request.url.path, exc)
        if request.url.path.startswith(f"{links(request)['base']}/api/"):
            return _problem(status_code, "request", redact_text(str(exc)), "see the problem above")
        return error_page(request, status_code, type(exc).__name__, str(exc))

    def queries() -> DashboardQueries:
        return services.inventory().dashboard

    @app.get("/", response_class=HTMLResponse)
    async def overview(request: Request) -> Response:
        refused = await page_user(request)
        if refused is not None:
            return refused
        # The queries block: run them off the event loop the api-server shares with Airflow's own API.
        return await run_in_threadpool(overview_page, request)

    def overview_page(request: Request) -> Response:
        params = request.query_params
        use_case = params.get("use_case") or None
        before = params.get("before") or None
        limit_text = params.get("limit") or "50"
        use_case_id = whole_number("use_case", use_case) if use_case else None
        before_id = whole_number("before", before) if before else None
        limit = whole_number("limit", limit_text)  # the page-size range is checked by the query
        filters = Filters(
            business_entity=filter_text("business_entity", params.get("business_entity")),
            use_case_id=use_case_id,
            status=filter_text("status", params.get("status")),
        )
        settings = services.settings()
        q = queries()
        counts = q.counts(filters)
        urgent = q.urgent_issues(filters, approval_sla_hours=settings.approval_sla_hours)
        page = q.models(filters, before_id=before_id, limit=limit)
        base = links(request)["base"]

        def filter_link(**changes: str | None) -> str:
            query = {**filters.as_query(), "limit": limit_text}
            for key, value in changes.items():
                if value is None:
                    query.pop(key, None)
                else:
                    query[key] = value
            return f"{base}/?{urlencode(query)}"

        status_chart = charts.count_bars(
            "chart-status",
            "Models by governance status",
            [(status, count, filter_link(status=status)) for status, count in counts.by_status],
        )
        stage_chart = charts.count_bars(
            "chart-stage",
            "Models by SageMaker stage",
            [(s, n, None) for s, n in counts.by_stage],
            color="#76b7b2",
        )
        return render(
            request,
            "overview.html.j2",
            counts=counts,
            status_chart=status_chart,
            stage_chart=stage_chart,
            urgent=urgent,
            urgent_kinds=URGENT_KINDS,
            page=page,
            filters=filters,
            entities=q.business_entities(),
            use_cases=q.use_case_options(),
            statuses=[s.value for s in GovernanceStatus],
            sla_hours=settings.approval_sla_hours,
            jira_base_url=settings.jira_base_url,
            next_link=filter_link(before=str(page.next_before_id)) if page.next_before_id else None,
            first_link=filter_link(before=None) if before else None,
            clear_link=f"{base}/",
            limit=limit,
            page_sizes=PAGE_SIZES,
            required_approvals=REQUIRED_APPROVALS,
        )

    @app.get("/models/{model_id}", response_class=HTMLResponse)
    async def model_page(request: Request, model_id: str) -> Response:
        refused = await page_user(request)
        if refused is not None:
            return refused
        return await run_in_threadpool(model_page_sync, request, whole_number("model id", model_id))

    def action_panel(request: Request, model_id: int, status: str) -> dict[str, Any]:
        """The model page's actions card: the buttons this user may use, or why there are none."""
        user = request.state.mg_user
        choices = available_actions(status)
        token = services.session_token(request)
        allowed = bool(choices) and services.may_trigger(user, ACTION_DAG)
        return {
            "dag_id": ACTION_DAG,
            "choices": choices if allowed and token else [],
            "applicable": [c.label for c in choices],
            "not_allowed": bool(choices) and not allowed,
            "csrf": csrf_token(token, model_id) if token else "",
            "reason_min": REASON_MIN,
            "reason_max": REASON_MAX,
        }

    def model_page_sync(request: Request, model_id: int) -> Response:
        detail: ModelDetail = queries().model_detail(model_id)
        settings = services.settings()
        risk = _risk_view(detail.latest_risk_test_run)
        metric_charts = [
            {
                "name": series.name,
                "latest": series.latest,
                "count": len(series.points),
                "svg": charts.metric_series(
                    f"chart-metric-{index}",
                    f"{series.name} over time",
                    [(t, v, th, ok) for t, v, th, ok, _ in series.points],
                ),
            }
            for index, series in enumerate(detail.metrics, start=1)
        ]
        manifest = detail.latest_snapshot.manifest if detail.latest_snapshot is not None else None
        return render(
            request,
            "model.html.j2",
            d=detail,
            risk=risk,
            metric_charts=metric_charts,
            manifest_json=(
                json.dumps(redact(manifest), indent=2, sort_keys=True, default=str) if manifest else None
            ),
            console_url=_console_url(detail.model.package_arn, detail.group.name),
            jira_base_url=settings.jira_base_url,
            dag_id=IMPLEMENTATION_DAG,
            required_approvals=REQUIRED_APPROVALS,
            actions=action_panel(request, detail.model.id, detail.model.status),
        )

    def action_refused(
        request: Request, status_code: int, title: str, message: str, model_id: int | None = None
    ) -> HTMLResponse:
        back = f"{links(request)['base']}/models/{model_id}" if model_id is not None else None
        return render(
            request,
            "action_result.html.j2",
            status_code=status_code,
            ok=False,
            title=title,
            message=redact_text(message),
            back=back,
            run=None,
        )

    @app.post("/models/{model_id}/actions", response_class=HTMLResponse)
    async def model_action(request: Request, model_id: str) -> Response:
        """A governance action from the model page: the confirmation step, then the DAG run, triggered
        through Airflow's REST API with the user's own token (docs/dashboard.md)."""
        refused = await page_user(request)
        if refused is not None:
            return refused
        number = whole_number("model id", model_id)
        # The public address (``[api] base_url``) when the host offers it: the fakes of the tests do not.
        public_url = getattr(services, "public_url", None)
        public = public_url() if callable(public_url) else None
        if not same_origin(request.headers, request.headers.get("host", ""), public):
            return action_refused(
                request,
                403,
                "Cross-site request refused",
                "This form was posted from another site. Open the model page in the dashboard and use its "
                "buttons.",
                number,
            )
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        body = await _read_limited(request, 16 * 1024)
        if content_type != "application/x-www-form-urlencoded" or body is None:
            return action_refused(
                request, 400, "Not a form", "Send the model page's form (urlencoded, under 16 KB).", number
            )
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        token = services.session_token(request)
        if not csrf_ok(token, number, form.get("csrf")):
            return action_refused(
                request,
                403,
                "Form expired",
                "The form's token does not match your session (you logged in again, or the form came from "
                "elsewhere). Reload the model page and submit again.",
                number,
            )
        checked = await run_in_threadpool(check_action, request, number, form)
        if isinstance(checked, Response):
            return checked
        return await trigger_action(request, checked, token or "")

    def check_action(request: Request, model_id: int, form: dict[str, str]) -> Response | _Confirmed:
        """The confirmation page, a refusal, or the confirmed request to trigger."""
        user = request.state.mg_user
        model = services.inventory().get_model(model_id)
        action = form.get("action", "")
        choices = {c.action: c for c in available_actions(model.status)}
        if action not in choices:
            return action_refused(
                request,
                409,
                "Action does not apply",
                f"{action or 'No action'!r} does not apply to this model version in status "
                f"{model.status!r} (it applies: {', '.join(choices) or 'none'}). Reload the model page.",
                model_id,
            )
        reason = " ".join(form.get("reason", "").split())
        if not REASON_MIN <= len(reason) <= REASON_MAX:
            return action_refused(
                request,
                400,
                "Reason required",
                f"Say why ({REASON_MIN} to {REASON_MAX} characters): the reason is recorded in the audit "
                "trail with your name. Go back and fill in the reason.",
                model_id,
            )
        if not services.may_trigger(user, ACTION_DAG):
            return action_refused(
                request,
                403,
                "Not allowed",
                f"Your Airflow role may not trigger the DAG {ACTION_DAG}; ask an Airflow admin for "
                "permission to create its DAG runs.",
                model_id,
            )
        choice = choices[action]
        if form.get("confirm") != "yes" or not valid_nonce(form.get("nonce")):
            return render(
                request,
                "action_confirm.html.j2",
                model=model,
                choice=choice,
                reason=reason,
                requested_by=_user_name(user),
                csrf=form.get("csrf", ""),
                nonce=new_nonce(),
                dag_id=ACTION_DAG,
            )
        return _Confirmed(model.id, model.package_arn, choice.action, reason, form["nonce"])

    async def trigger_action(request: Request, confirmed: _Confirmed, token: str) -> Response:
        user = _user_name(request.state.mg_user)
        run_id = run_id_for(confirmed.model_id, confirmed.action, confirmed.nonce)
        conf = action_conf(confirmed.action, confirmed.package_arn, confirmed.reason, user)
        note = f"{confirmed.action} from the governance dashboard by {user}: {confirmed.reason}"[:1000]
        airflow_root = links(request)["airflow_root"]
        run_link = f"{airflow_root}/dags/{quote(ACTION_DAG, safe='')}/runs/{quote(run_id, safe='')}"
        try:
            answer = await services.trigger_dag_run(token, ACTION_DAG, run_id=run_id, conf=conf, note=note)
        except AirflowApiError as exc:
            log.warning(
                "dashboard: %s of model %s by %s refused by Airflow: HTTP %s",
                confirmed.action,
                confirmed.model_id,
                user,
                exc.status,
            )
            if exc.status == 409:
                return render(
                    request,
                    "action_result.html.j2",
                    ok=True,
                    title="Already requested",
                    message="This confirmation was sent before: the run below is the one it started.",
                    back=f"{links(request)['base']}/models/{confirmed.model_id}",
                    run={"run_id": run_id, "url": run_link, "state": None, "dag_id": ACTION_DAG},
                )
            title, status_code, fix = _airflow_refusal(exc)
            return action_refused(
                request, status_code, title, f"{fix} (Airflow said: {exc.detail})", confirmed.model_id
            )
        run_id = str(answer.get("dag_run_id") or run_id)
        log.info(
            "dashboard: %s of model %s by %s: run %s", confirmed.action, confirmed.model_id, user, run_id
        )
        return render(
            request,
            "action_result.html.j2",
            ok=True,
            title="Action requested",
            message=(
                f"{confirmed.action} of {confirmed.package_arn} runs as DAG run {run_id} of {ACTION_DAG}, "
                f"triggered as {user}. The model's status changes when the run has done it."
            ),
            back=f"{links(request)['base']}/models/{confirmed.model_id}",
            run={
                "run_id": run_id,
                "url": f"{airflow_root}/dags/{quote(ACTION_DAG, safe='')}/runs/{quote(run_id, safe='')}",
                "state": answer.get("state"),
                "dag_id": ACTION_DAG,
            },
            warning=(
                f"The DAG {ACTION_DAG} is paused in Airflow: this run stays queued, and the model's status "
                "does not change, until an Airflow admin unpauses the DAG."
                if answer.get("dag_is_paused") is True
                else None
            ),
        )

    @app.get("/documents/{document_id}")
    async def download(request: Request, document_id: str) -> Response:
        refused = await page_user(request)
        if refused is not None:
            return refused
        number = whole_number("document id", document_id)
        document, entity = await run_in_threadpool(queries().document, number)
        stream = await run_in_threadpool(services.open_document, document, entity)
        extension = {"application/pdf": "pdf", "text/html": "html", "text/markdown": "md"}.get(
            document.media_type.split(";", 1)[0].strip(), "bin"
        )
        headers = {
            # attachment: a stored HTML document is never rendered in the dashboard's origin
            "Content-Disposition": (
                f'attachment; filename="{document.kind}-{document.sha256[:12]}.{extension}"'
            ),
            "X-Content-SHA256": document.sha256,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        }
        if stream.content_length is not None:
            headers["Content-Length"] = str(stream.content_length)
        return StreamingResponse(stream.chunks, media_type=document.media_type, headers=headers)

    @app.get("/models/{model_id}/evidence.zip")
    async def evidence_pack(request: Request, model_id: str) -> Response:
        """The model's audit pack (``services.evidence.export_pack``) as a zip, behind the page's login."""
        refused = await page_user(request)
        if refused is not None:
            return refused
        number = whole_number("model id", model_id)
        folder, archive, name = await run_in_threadpool(_export_evidence_pack, services, number)
        sha256, size = await run_in_threadpool(_file_sha256, archive)
        headers = {
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(size),
            "X-Content-SHA256": sha256,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        }
        user = _user_name(request.state.mg_user)
        log.info("dashboard: evidence pack of model %s (%s bytes) for %s", number, size, user)
        return StreamingResponse(
            _read_chunks(archive),
            media_type="application/zip",
            headers=headers,
            background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
        )

    @app.post(
        "/api/v1/metrics",
        status_code=201,
        # The body is read (size-limited) and validated by hand; this tells clients and tests its shape.
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _finite_numbers(MetricPush.model_json_schema())}},
            },
            "responses": {
                "401": {"description": "not authenticated"},
                "403": {"description": "role may not push metrics"},
                "404": {"description": "model not in the inventory"},
                "413": {"description": f"body larger than {MAX_BODY_BYTES} bytes"},
                "415": {"description": "body is not application/json"},
                "422": {"description": "a field is invalid: each problem with its field and fix"},
            },
        },
    )
    async def push_metric(request: Request) -> Response:
        user = await services.authenticate(request)
        if user is None:
            return _problem(
                401,
                "Authorization",
                "not authenticated",
                "send an Airflow JWT as 'Authorization: Bearer <token>' (POST /auth/token) "
                "or log in to the Airflow UI first",
            )
        if not services.authorize(user, "POST"):
            return _problem(403, "Authorization", "your Airflow role may not push metrics", "ask an admin")
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type != "application/json":
            return _problem(
                415, "Content-Type", f"{content_type or 'none'} is not JSON", "send application/json"
            )
        body = await _read_limited(request, MAX_BODY_BYTES)
        if body is None:
            return _problem(
                413,
                "body",
                f"body is larger than {MAX_BODY_BYTES} bytes",
                "send one metric value per request (a JSON object of a few hundred bytes)",
            )
        try:
            # pydantic's JSON parser, strict: no coercion of "0.8" to 0.8, no NaN, bounded depth.
            push = parse_metric_push(body)
        except ValidationError as exc:
            return JSONResponse({"detail": describe_errors(exc.errors())}, status_code=422)
        inventory = await run_in_threadpool(services.inventory)
        try:
            # The value, and the finding it opens, updates or clears (Jira is the monitoring DAG's job).
            metric, evaluation = await run_in_threadpool(lambda: record_push(inventory, push))
        except NotFoundError:
            field = "model_id" if push.model_id is not None else "model_package_arn"
            return _problem(
                404,
                field,
                f"model {push.model_ref!r} is not in the governance inventory",
                "check the ARN or id; models are onboarded by the lifecycle sync",
            )
        log.info(
            "metric %s=%s for model %s pushed by %s from %s",
            push.metric,
            push.value,
            metric.model_id,
            _user_name(user),
            push.source,
        )
        base = links(request)["base"]
        return JSONResponse(
            {
                "id": metric.id,
                "model_id": metric.model_id,
                "metric": metric.name,
                "value": metric.value,
                "threshold": metric.threshold,
                "passed": metric.passed,
                "recorded_at": metric.recorded_at.isoformat(),
                "model_url": f"{base}/models/{metric.model_id}",
                "finding": evaluation.to_dict(),
            },
            status_code=201,
        )

    app.state.services = services
    return app
