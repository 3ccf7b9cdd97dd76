"""Engines and schema migrations for the inventory: SQLite by default, PostgreSQL in production."""

from __future__ import annotations

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

    command.upgrade(_alembic_config(engine, audit_keyring), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Take the inventory schema back to ``revision``."""
    from alembic import command

    command.downgrade(_alembic_config(engine), revision)


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """Autogenerate looks only at the inventory's own tables: the database may also hold Airflow's."""
    if type_ == "table":
        return bool(name) and str(name).startswith("mg_") and name != VERSION_TABLE
    return True
