"""Test tiers (as astronomer-cosmos does it): unit/ needs no server, integration/ starts the sandboxes or
uses PostgreSQL, e2e/ runs real Airflow processes. Shared fixtures live here."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.airflow_cluster import SANDBOX_AUDIT_KEYS, airflow_env

# The audit chain is keyed (inventory/audit.py): every test's inventory signs with the sandbox key.
os.environ.setdefault("MODEL_GOVERNANCE_AUDIT_KEYS", SANDBOX_AUDIT_KEYS)

# The sandboxes' fixtures (aws_sandbox, aws_clients, ...) for every test tier.
pytest_plugins = [
    "sandbox.aws.pytest_fixtures",
    "sandbox.jira.pytest_fixtures",
    "sandbox.smtp.pytest_fixtures",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
__all__ = ["REPO_ROOT", "airflow_env"]
POSTGRES_HOST = os.environ.get("MG_TEST_POSTGRES_HOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("MG_TEST_POSTGRES_PORT", "5432"))
POSTGRES_USER = os.environ.get("MG_TEST_POSTGRES_USER", "postgres")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def postgres_admin_url(database: str = "postgres") -> str:
    return f"postgresql+psycopg2://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{database}"


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin URL of the local PostgreSQL server, or a skip saying why there is none."""
    if not _port_open(POSTGRES_HOST, POSTGRES_PORT):
        pytest.skip(
            f"PostgreSQL is not listening on {POSTGRES_HOST}:{POSTGRES_PORT}; start it (this machine kind "
            "runs it with trust auth for user postgres) or set MG_TEST_POSTGRES_HOST/PORT/USER."
        )
    return postgres_admin_url()


@pytest.fixture
def postgres_database(postgres_server: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards; yields its SQLAlchemy URL."""
    from sqlalchemy import create_engine, text

    name = f"mg_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_admin_url(name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def inventory_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The inventory database URL, once on SQLite and once on PostgreSQL: one suite, both backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'inventory.db'}"
    return str(request.getfixturevalue("postgres_database"))
