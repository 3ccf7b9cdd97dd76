"""Fixtures of the monitoring and revalidation integration tests: the Jira sandbox of each flavour (as the
approval tests connect to it), a governed model version registered in the AWS sandbox, and the dashboard
app over its inventory (FastAPI's test client; login faked by a header)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from model_governance.inventory import Inventory
from model_governance.inventory.models import BusinessEntity, Document
from model_governance.ui.app import URL_PREFIX, DashboardSettings, DocumentStream, create_app
from tests.integration.approvals.conftest import FakeTI, Governed, jira, make_governed

__all__ = ["FakeTI", "Governed", "jira", "make_governed"]


@dataclass
class Services:
    inventory_: Inventory

    async def authenticate(self, request: Request) -> Any | None:
        return request.headers.get("x-test-user") or None

    def login_url(self, next_url: str) -> str:
        return f"/auth/login?next={next_url}"

    def authorize(self, user: Any, method: str) -> bool:
        return True

    def settings(self) -> DashboardSettings:
        return DashboardSettings(approval_sla_hours=72.0, jira_base_url="https://jira.example.com")

    def inventory(self) -> Inventory:
        return self.inventory_

    def open_document(self, document: Document, entity: BusinessEntity) -> DocumentStream:
        raise AssertionError("no documents here")


@dataclass
class Dashboard:
    client: TestClient

    def push(self, body: dict[str, Any]) -> Any:
        return self.client.post(
            f"{URL_PREFIX}/api/v1/metrics", json=body, headers={"x-test-user": "monitor-bot"}
        )

    def get(self, path: str) -> Any:
        return self.client.get(f"{URL_PREFIX}{path}", headers={"x-test-user": "alice"})


@pytest.fixture
def dashboard_over() -> Iterator[Any]:
    clients: list[TestClient] = []

    def build(inventory: Inventory) -> Dashboard:
        root = FastAPI()
        root.mount(URL_PREFIX, create_app(Services(inventory)))
        client = TestClient(root, follow_redirects=False)
        client.__enter__()
        clients.append(client)
        return Dashboard(client)

    yield build
    for client in clients:
        client.__exit__(None, None, None)
