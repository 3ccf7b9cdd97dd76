"""Fixtures of the dashboard tests: a seeded SQLite inventory and the app under FastAPI's test client,
with fake login (a header names the user) and a fake document store. No server, no network."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from model_governance.inventory import Inventory
from model_governance.inventory.models import BusinessEntity, Document
from model_governance.ui.app import URL_PREFIX, DashboardSettings, DocumentStream, create_app
from sandbox.dashboard_seed import Seeded, seed_inventory

NOW = datetime.now(UTC)


def _result(test: str, value: float, status: str, text: str | None = ">= 0.7") -> dict[str, Any]:
    return {
        "test": test,
        "dataset": "comparator",
        "feature": None,
        "group": None,
        "value": value,
        "threshold": {"text": text} if text else None,
        "passed": {"passed": True, "failed": False}.get(status),
        "status": status,
        "reason": None,
        "details": {},
    }


PASSING = {
    "schema_version": "1.0",
    "engine_version": "1.0.0",
    "problem_type": "classification",
    "risk_level": "High",
    "passed": True,
    "summary": {"passed": 2, "failed": 0, "info": 1, "not_applicable": 0, "error": 0, "not_judged": []},
    "results": [
        _result("performance.auc", 0.81, "passed"),
        _result("stability.csi", 0.05, "passed", "<= 0.2"),
        _result("performance.accuracy", 0.9, "info", None),
    ],
}
FAILING = {
    **PASSING,
    "passed": False,
    "summary": {"passed": 1, "failed": 1, "info": 1, "not_applicable": 0, "error": 0, "not_judged": []},
    "results": [
        _result("performance.auc", 0.81, "passed"),
        _result("data_drift.ks_pvalue", 0.001, "failed", ">= 0.05"),
        _result("performance.accuracy", 0.9, "info", None),
    ],
}


@dataclass
class FakeServices:
    inventory_: Inventory
    settings_: DashboardSettings = field(
        default_factory=lambda: DashboardSettings(
            approval_sla_hours=72.0, jira_base_url="https://jira.example.com"
        )
    )
    allowed: set[str] = field(default_factory=lambda: {"GET", "POST"})
    stored: dict[str, bytes] = field(default_factory=dict)
    #: Users the fake auth manager lets trigger the DAGs below; None: everyone.
    triggerers: set[str] | None = None
    #: The fake Airflow API's triggered runs: (token, dag_id, body).
    triggered: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    #: What the fake Airflow API answers instead of a run: (HTTP status, detail).
    api_refusal: tuple[int, str] | None = None

    async def authenticate(self, request: Request) -> Any | None:
        return request.headers.get("x-test-user") or None

    def login_url(self, next_url: str) -> str:
        return f"/auth/login?next={next_url}"

    def authorize(self, user: Any, method: str) -> bool:
        return method in self.allowed

    def settings(self) -> DashboardSettings:
        return self.settings_

    def inventory(self) -> Inventory:
        return self.inventory_

    def open_document(self, document: Document, entity: BusinessEntity) -> DocumentStream:
        content = self.stored[document.uri]
        return DocumentStream(chunks=iter([content[:10], content[10:]]), content_length=len(content))

    def session_token(self, request: Request) -> str | None:
        user = request.headers.get("x-test-user")
        return request.headers.get("x-test-token") or (f"token-of-{user}" if user else None)

    def may_trigger(self, user: Any, dag_id: str) -> bool:
        return self.triggerers is None or user in self.triggerers

    async def trigger_dag_run(
        self, token: str, dag_id: str, *, run_id: str, conf: dict[str, Any], note: str
    ) -> dict[str, Any]:
        from model_governance.ui.actions import AirflowApiError

        if self.api_refusal is not None:
            raise AirflowApiError(*self.api_refusal)
        body = {"dag_run_id": run_id, "logical_date": None, "conf": conf, "note": note}
        if any(t[1] == dag_id and t[2]["dag_run_id"] == run_id for t in self.triggered):
            raise AirflowApiError(409, f"DAG run {run_id} already exists")
        self.triggered.append((token, dag_id, body))
        return {"dag_run_id": run_id, "dag_id": dag_id, "state": "queued", "conf": conf}


@dataclass
class Dashboard:
    client: TestClient
    services: FakeServices
    inventory: Inventory
    seeded: Seeded

    def get(self, path: str, **kwargs: Any) -> Any:
        kwargs.setdefault("headers", {"x-test-user": "alice"})
        return self.client.get(f"{URL_PREFIX}{path}", **kwargs)

    def post_metric(self, body: Any, **kwargs: Any) -> Any:
        headers = {"x-test-user": "monitor-bot", **kwargs.pop("headers", {})}
        return self.client.post(f"{URL_PREFIX}/api/v1/metrics", json=body, headers=headers, **kwargs)


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Seeded]:
    """One seeded inventory file per session; each test gets a copy (tests may write to it)."""
    path = tmp_path_factory.mktemp("dashboard") / "inventory.db"
    inventory = Inventory.from_url(f"sqlite:///{path}", upgrade_schema=True)
    stored: dict[str, bytes] = {}

    def store(key: str, content: bytes) -> str:
        stored[f"s3://model-governance/{key}"] = content
        return f"s3://model-governance/{key}"

    seeded = seed_inventory(inventory, now=NOW, reports=(PASSING, FAILING), store_document=store)
    inventory.engine.dispose()
    seeded.documents = {k: v for k, v in seeded.documents.items()}
    _STORED.update(stored)
    return path, seeded


_STORED: dict[str, bytes] = {}


@pytest.fixture
def dashboard(seeded_db: tuple[Path, Seeded], tmp_path: Path) -> Iterator[Dashboard]:
    source, seeded = seeded_db
    copy = tmp_path / "inventory.db"
    copy.write_bytes(source.read_bytes())
    inventory = Inventory.from_url(f"sqlite:///{copy}")
    services = FakeServices(inventory, stored=dict(_STORED))
    root = FastAPI()
    root.mount(URL_PREFIX, create_app(services))
    with TestClient(root, follow_redirects=False) as client:
        yield Dashboard(client, services, inventory, seeded)
    inventory.engine.dispose()
