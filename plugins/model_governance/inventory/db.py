"""Engines and schema migrations for the inventory: SQLite by default, PostgreSQL in production.

One engine per URL per process (``shared_engine``): a task, a sensor resuming many times, the dashboard's
requests all reuse its pool. The schema is only migrated by ``model-governance db upgrade`` (airflow-init,
``AirflowCluster.start``); everything else checks the revision (``check_schema``) and refuses a database
that is behind, naming the command.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

from model_governance.exceptions import ConfigurationError
from model_governance.redaction import redact_text

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: Not Alembic's default name: the inventory may share a database with Airflow's own metadata.
VERSION_TABLE = "mg_alembic_version"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for the inventory at ``url`` (a SQLAlchemy URL), tuned per backend."""
    if "://" not in url:
        raise ConfigurationError(
            f"Inventory database URL {redact_text(repr(url))} is not a SQLAlchemy URL; use e.g. "
            "sqlite:////path/inventory.db or postgresql+psycopg2://user@host:5432/db."
        )
    if url.startswith("sqlite"):
        # A pooled connection stays open between transactions: closing SQLite's last connection checkpoints
        # the WAL (an fsync), which made every small write cost ~20 ms. Idle WAL connections hold no lock.
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


#: A process opens one or two inventories; the bound only matters to test runs opening hundreds.
MAX_SHARED_ENGINES = 16
_engines: OrderedDict[str, Engine] = OrderedDict()
_engines_lock = threading.Lock()
#: Engines whose database was found at the head revision (a schema never moves back under a process).
_at_head: weakref.WeakSet[Engine] = weakref.WeakSet()


def shared_engine(url: str) -> Engine:
    """The process's engine for ``url``, created on first use (thread-safe)."""
    with _engines_lock:
        engine = _engines.get(url)
        if engine is not None:
            _engines.move_to_end(url)
            return engine
        engine = _engines[url] = make_engine(url)
        evicted = [_engines.popitem(last=False)[1] for _ in range(len(_engines) - MAX_SHARED_ENGINES)]
    for old in evicted:
        old.dispose()  # connections still checked out are closed when returned, not under their user
    return engine


def _forget_parent_connections() -> None:
    """In a forked child, the parent's pooled connections are the parent's: start fresh pools (the
    connections themselves stay open for the parent), and a new lock (a thread may have held it)."""
    global _engines_lock
    _engines_lock = threading.Lock()
    for engine in list(_engines.values()):
        engine.dispose(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_parent_connections)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # WAL makes NORMAL durable against application crashes; only an OS crash can lose the last commits.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _alembic_config(engine: Engine, audit_keyring: Any = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("version_table", VERSION_TABLE)
    config.attributes["engine"] = engine
    # Migration 0006 chains the rows already there with the audit key (inventory/audit.py AuditKeyring).
    config.attributes["audit_keyring"] = audit_keyring
    return config


def migrate(engine: Engine, revision: str = "head", *, audit_keyring: Any = None) -> None:
    """Bring the inventory schema to ``revision`` (idempotent: an up-to-date database is left alone)."""
    from alembic import command

    _at_head.discard(engine)
    command.upgrade(_alembic_config(engine, audit_keyring), revision)


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The revision this package's migrations end at."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None, "the package ships its migrations"
    return head


@lru_cache(maxsize=1)
def known_revisions() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    return frozenset(script.revision for script in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions())


def schema_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for a database without the inventory's schema."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def check_schema(engine: Engine) -> None:
    """Raise ConfigurationError unless the database is at this package's head revision (read once per
    engine: a schema found current stays current)."""
    if engine in _at_head:
        return
    current, head = schema_revision(engine), head_revision()
    if current == head:
        _at_head.add(engine)
        return
    where = f"The governance inventory at {redact_text(engine.url.render_as_string(hide_password=True))}"
    upgrade = "run `model-governance db upgrade` (airflow-init does it)"
    if current is None:
        raise ConfigurationError(
            f"{where} has no schema (an empty database), this package needs revision {head}: {upgrade}."
        )
    if current not in known_revisions():
        raise ConfigurationError(
            f"{where} is at revision {current}, which this package does not know (a newer release migrated "
            f"it; this one needs {head}): install the release that migrated it on every Airflow component."
        )
    raise ConfigurationError(f"{where} is at revision {current}, this package needs {head}: {upgrade}.")


def upgrade(url: str, *, audit_keyring: Any = None) -> tuple[str | None, str]:
    """Migrate the inventory at ``url`` to the head revision; returns (revision before, after)."""
    engine = shared_engine(url)
    before = schema_revision(engine)
    migrate(engine, audit_keyring=audit_keyring)
    return before, head_revision()


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Take the inventory schema back to ``revision``."""
    from alembic import command

    _at_head.discard(engine)
    command.downgrade(_alembic_config(engine), revision)


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """Autogenerate looks only at the inventory's own tables: the database may also hold Airflow's."""
    if type_ == "table":
        return bool(name) and str(name).startswith("mg_") and name != VERSION_TABLE
    return True
