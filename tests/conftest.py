"""Test tiers (as astronomer-cosmos does it): unit/ needs no server, integration/ starts the sandboxes or
uses PostgreSQL, e2e/ runs real Airflow processes. Shared fixtures live here.

Markers are set by folder here (``unit``, ``integration``, ``e2e``; ``postgres`` for tests on the local
PostgreSQL server), so ``-m "not e2e"`` and the like select tiers. For pytest-xdist (``make test`` runs
``--dist loadgroup``) every test gets an ``xdist_group``: its file, so a module's fixtures start once, and
in e2e/ the modules on the shared ``stack`` go into ``MG_E2E_STACKS`` groups (default 2: each of two workers
has a stack of its own; 1: one worker, one stack) and each module that starts a cluster of its own is a group
(another worker).
Session fixtures (the sandboxes) start once per worker, each on a free port with temporary files of its
own."""

from __future__ import annotations

import fcntl
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from sandbox.airflow_cluster import SANDBOX_AUDIT_KEYS, airflow_env

# Property tests share the machine with Airflow clusters: slow example generation there says nothing about
# the code under test (examples and assertions unchanged; tests that set their own health checks add it).
settings.register_profile("model-governance", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("model-governance")

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


TIERS = ("unit", "integration", "e2e")
#: The e2e modules on the shared Airflow stack (tests/e2e/conftest.py) are dealt into this many xdist
#: groups; each group's worker starts the stack once (a session fixture is per process), so the e2e tier
#: waits on two clusters side by side instead of one after the other (their starts take turns:
#: ``cluster_start_slot``). 1: a single stack.
E2E_STACKS = max(1, int(os.environ.get("MG_E2E_STACKS", "2")))
#: Seconds each shared-stack module's tests take on a 2-core machine (CI, 2026-12-07); one not listed counts
#: 30. Modules go heaviest first to the least loaded stack so the stacks finish together: dealt in name
#: order, one stack got two thirds of the work and set the test command's wall time.
E2E_MODULE_SECONDS = {
    "test_model_implementation": 330,
    "test_demo_path": 150,
    "test_lifecycle_sync": 135,
    "test_gates_endpoints": 90,
    "test_approval_triggerer": 45,
    "test_use_case_registration": 30,
    "test_dashboard_actions": 25,
    "test_gates_onboarding": 25,
}


def shared_stack_of(paths: set[str]) -> dict[str, int]:
    """Each shared-stack module's stack (0-based): heaviest first, to the stack with the least work."""
    load = [0] * E2E_STACKS
    chosen = {}
    for path in sorted(paths, key=lambda p: (-E2E_MODULE_SECONDS.get(Path(p).stem, 30), p)):
        stack = load.index(min(load))
        chosen[path] = stack
        load[stack] += E2E_MODULE_SECONDS.get(Path(path).stem, 30)
    return chosen


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups into the node ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests_dir = Path(__file__).resolve().parent
    on_stack = shared_stack_of(
        {str(item.path) for item in items if "stack" in getattr(item, "fixturenames", ())}
    )
    SHARED_STACKS_IN_RUN[0] = bool(on_stack)
    for item in items:
        fixtures = getattr(item, "fixturenames", ())  # what the test uses, its fixtures' fixtures included
        try:
            relative = item.path.resolve().relative_to(tests_dir)
        except ValueError:
            continue
        tier = relative.parts[0] if len(relative.parts) > 1 else None
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))
        if "postgres_server" in fixtures and item.get_closest_marker("postgres") is None:
            item.add_marker(pytest.mark.postgres)
        if item.get_closest_marker("xdist_group") is not None:
            continue
        if tier == "e2e":
            if "stack" in fixtures:
                group = f"e2e-shared-stack-{on_stack[str(item.path)] + 1}"
            else:
                group = f"e2e-{item.path.stem}"  # a cluster of its own
        else:
            group = relative.as_posix()
        item.add_marker(pytest.mark.xdist_group(group))


#: Whether this run has shared-stack e2e tests (set at collection, in every xdist worker alike).
SHARED_STACKS_IN_RUN: list[bool] = [False]
#: How long a cluster of its own lets the shared stacks, which start when the run starts, queue first.
SHARED_STACKS_HEAD_START = 10.0


@contextmanager
def cluster_start_slot(tmp_path_factory: pytest.TempPathFactory, *, shared: bool = False) -> Iterator[None]:
    """Start Airflow clusters one at a time across the xdist workers of a run: a cluster's start (db
    migrate, first parse of every DAG file) takes both cores of a small machine for a minute, and several at
    once starved each other past their timeouts. Tests on a cluster already up run meanwhile.

    The shared stacks (``shared``) go first: each carries the longest chain of tests of the run, while a
    cluster of its own (restarts, production shape) has a shorter one and can start later without making
    the run longer. Order: a ticket file per waiting start, (shared first, then by time); a ticket whose
    process is gone is dropped, so a killed worker cannot block the others."""
    # The workers' base temp folders share one parent (popen-gw0, popen-gw1, ... under pytest-N).
    folder = tmp_path_factory.getbasetemp().parent / "airflow-cluster-starts"
    folder.mkdir(exist_ok=True)
    if not shared and SHARED_STACKS_IN_RUN[0] and os.environ.get("PYTEST_XDIST_WORKER"):
        time.sleep(SHARED_STACKS_HEAD_START)
    ticket = folder / f"{0 if shared else 1}-{time.time_ns()}-{os.getpid()}.ticket"
    ticket.touch()
    try:
        with (folder / "lock").open("a") as handle:
            while True:
                fcntl.flock(handle, fcntl.LOCK_EX)
                if _first_ticket(folder) == ticket:
                    break
                fcntl.flock(handle, fcntl.LOCK_UN)
                time.sleep(1)
            try:
                yield
            finally:
                ticket.unlink()
                fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        ticket.unlink(missing_ok=True)


def _first_ticket(folder: Path) -> Path | None:
    for ticket in sorted(folder.glob("*.ticket")):
        pid = int(ticket.stem.rsplit("-", 1)[1])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            ticket.unlink(missing_ok=True)  # its worker died waiting
            continue
        return ticket
    return None


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
