"""The dashboard's services inside the Airflow api-server: Airflow's own login, the deployment settings,
the inventory hook, documents from S3 through the Amazon provider, the Jira base URL.

Authentication is Airflow's: the JWT the UI keeps in the ``_token`` cookie after logging in, or an
``Authorization: Bearer`` token from ``POST /auth/token`` (scripts, monitoring jobs), both checked by
``airflow.api_fastapi.core_api.security.get_user`` and so by whichever auth manager is configured.
Authorization asks the auth manager about the custom view "Model Governance" (GET to read, POST to push
metrics); the simple auth manager lets every logged-in role read it.

Governance actions from the model page are DAG runs triggered through Airflow's REST API
(``POST /api/v2/dags/model_governance_action/dagRuns``) with the logged-in user's own token, so Airflow's
permissions decide; the buttons are shown to those the auth manager lets create runs of that DAG. The API is
reached at ``[api] base_url`` (the api-server serving this dashboard), else ``http://localhost:[api] port``.

Nothing here runs at import: connections are opened on the first request that needs them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from fastapi import HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials

from model_governance.config import GovernanceConfig, load_config
from model_governance.exceptions import RegistryError
from model_governance.inventory import Inventory
from model_governance.inventory.models import BusinessEntity, Document
from model_governance.redaction import get_logger
from model_governance.ui.actions import AirflowApiError
from model_governance.ui.app import RESOURCE_NAME, DashboardSettings, DocumentStream

log = get_logger(__name__)

#: Settings are re-read this often (the Variable may change without an api-server restart).
SETTINGS_TTL_SECONDS = 60.0
CHUNK_SIZE = 256 * 1024


def _without_userinfo(url: str) -> str:
    """A URL safe to show in a page: no user name or password in it."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url.rstrip("/")
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", "")).rstrip("/")


async def _dag_is_paused(client: Any, dag_url: str, token: str) -> bool | None:
    """Whether the DAG at ``dag_url`` (``.../api/v2/dags/{dag_id}``) is paused; None when Airflow does not say
    (the run is triggered already: this only adds a notice)."""
    try:
        answer = await client.get(dag_url, headers={"Authorization": f"Bearer {token}"})
        paused = answer.json().get("is_paused") if answer.status_code == 200 else None
    except Exception:  # a notice, never a failure of the triggered action
        return None
    return paused if isinstance(paused, bool) else None


class AirflowDashboardServices:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config: tuple[float, GovernanceConfig] | None = None
        self._inventories: dict[str, Inventory] = {}
        self._jira_urls: dict[str, tuple[float, str | None]] = {}

    # -- login ---------------------------------------------------------------------------------------

    async def authenticate(self, request: Request) -> Any | None:
        from airflow.api_fastapi.core_api.security import get_user

        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        credentials = (
            HTTPAuthorizationCredentials(scheme=scheme, credentials=token.strip())
            if scheme.lower() == "bearer" and token.strip()
            else None
        )
        try:
            return await get_user(request, None, credentials)
        except HTTPException as exc:
            if exc.status_code in (401, 403):  # no token, expired, or not valid
                return None
            raise

    def login_url(self, next_url: str) -> str:
        from airflow.api_fastapi.app import get_auth_manager

        return str(get_auth_manager().get_url_login(next_url=next_url))

    def authorize(self, user: Any, method: str) -> bool:
        from airflow.api_fastapi.app import get_auth_manager

        return bool(
            get_auth_manager().is_authorized_custom_view(
                method=method,  # type: ignore[arg-type]
                resource_name=RESOURCE_NAME,
                user=user,
            )
        )

    # -- governance actions: Airflow's REST API as the user -------------------------------------------

    def session_token(self, request: Request) -> str | None:
        from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN

        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return request.cookies.get(COOKIE_NAME_JWT_TOKEN) or None

    def may_trigger(self, user: Any, dag_id: str) -> bool:
        from airflow.api_fastapi.app import get_auth_manager
        from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

        # What the REST API's trigger route asks (requires_access_dag POST, DagAccessEntity.RUN).
        return bool(
            get_auth_manager().is_authorized_dag(
                method="POST", access_entity=DagAccessEntity.RUN, details=DagDetails(id=dag_id), user=user
            )
        )

    @staticmethod
    def api_base_url() -> str:
        from airflow.configuration import conf

        base = (conf.get("api", "base_url", fallback="") or "").strip()
        if base.startswith(("http://", "https://")):
            return base.rstrip("/")
        return f"http://localhost:{conf.getint('api', 'port', fallback=8080)}"

    def public_url(self) -> str | None:
        """Airflow's public address (``[api] base_url``), whose origin the action forms are posted from
        behind a reverse proxy that rewrites the Host header; None when not configured as a URL."""
        from airflow.configuration import conf

        base = (conf.get("api", "base_url", fallback="") or "").strip()
        return base if base.startswith(("http://", "https://")) else None

    async def trigger_dag_run(
        self, token: str, dag_id: str, *, run_id: str, conf: dict[str, Any], note: str
    ) -> dict[str, Any]:
        import httpx

        url = f"{self.api_base_url()}/api/v2/dags/{quote(dag_id, safe='')}/dagRuns"
        body = {"dag_run_id": run_id, "logical_date": None, "conf": conf, "note": note}
        paused: bool | None = None
        try:
            async with httpx.AsyncClient(timeout=30.0) as client:
                answer = await client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
                if answer.status_code < 400:
                    # A run of a paused DAG is created but stays queued: the result page says so.
                    paused = await _dag_is_paused(client, url.rsplit("/", 1)[0], token)
        except httpx.HTTPError as exc:
            raise AirflowApiError(0, f"{type(exc).__name__} reaching {url.split('/api/', 1)[0]}") from exc
        if answer.status_code >= 400:
            try:
                detail = answer.json().get("detail", answer.text)
            except ValueError:
                detail = answer.text
            raise AirflowApiError(answer.status_code, str(detail)[:500])
        return {**answer.json(), "dag_is_paused": paused}

    # -- settings and inventory ----------------------------------------------------------------------

    def config(self) -> GovernanceConfig:
        with self._lock:
            cached = self._config
            if cached is not None and time.monotonic() - cached[0] < SETTINGS_TTL_SECONDS:
                return cached[1]
        config = load_config()
        with self._lock:
            self._config = (time.monotonic(), config)
        return config

    def settings(self) -> DashboardSettings:
        config = self.config()
        return DashboardSettings(
            approval_sla_hours=config.jira.approval_sla_hours,
            jira_base_url=self._jira_url(config.jira.conn_id),
        )

    def _jira_url(self, conn_id: str) -> str | None:
        cached = self._jira_urls.get(conn_id)
        if cached is not None and time.monotonic() - cached[0] < SETTINGS_TTL_SECONDS:
            return cached[1]
        from model_governance.hooks.jira import JiraHook

        url: str | None
        try:
            url = _without_userinfo(JiraHook(conn_id).settings.url)
        except Exception as exc:  # no connection, or no host: pages show keys without links
            log.info(
                "No Jira links on the dashboard: connection %r unusable (%s)", conn_id, type(exc).__name__
            )
            url = None
        self._jira_urls[conn_id] = (time.monotonic(), url)
        return url

    def inventory(self) -> Inventory:
        config = self.config()
        from model_governance.hooks.inventory import GovernanceInventoryHook

        key = config.inventory.model_dump_json()
        with self._lock:
            found = self._inventories.get(key)
        if found is not None:
            return found
        inventory = GovernanceInventoryHook(config).get_conn()
        with self._lock:
            return self._inventories.setdefault(key, inventory)

    # -- documents -----------------------------------------------------------------------------------

    def open_document(self, document: Document, entity: BusinessEntity) -> DocumentStream:
        from model_governance.hooks.connections import governance_connections

        if not document.uri.startswith("s3://"):
            raise RegistryError(
                f"Document {document.id} is stored at {document.uri!r}, not in S3; "
                "the dashboard downloads documents from S3 only."
            )
        bucket, _, key = document.uri[len("s3://") :].partition("/")
        # The entity as the inventory records it (the connection the document was stored with).
        client = governance_connections(self.config()).entity(entity).s3_client
        try:
            response = client.get_object(Bucket=bucket, Key=key)
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
            raise RegistryError(
                f"Could not read {document.uri} with connection {entity.aws_conn_id!r} ({code}); check the "
                "api-server's AWS role may s3:GetObject on the governance bucket."
            ) from exc
        stored = (response.get("Metadata") or {}).get("sha256")
        if stored is not None and stored != document.sha256:
            response["Body"].close()
            raise RegistryError(
                f"{document.uri} carries sha256 {stored}, not the recorded {document.sha256}: the object was "
                "changed outside model governance. It is not served; investigate it."
            )
        body = response["Body"]

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(CHUNK_SIZE)
            finally:
                body.close()

        return DocumentStream(chunks=chunks(), content_length=response.get("ContentLength"))
