"""The governance part of docker-compose's airflow-init service, run after ``airflow db migrate``.

1. Validates the model governance settings from the environment (``MODEL_GOVERNANCE_CONFIG`` and
   ``MODEL_GOVERNANCE__*``); the Airflow Variable, when one is set later, is merged at task run time.
2. Checks that every Airflow connection the settings name resolves and has the expected type.
3. Creates the governance inventory's PostgreSQL role and database when they are on the same server as
   Airflow's metadata database (``--admin-url``).
4. Writes the simple auth manager's passwords file for the admin user (``AIRFLOW_ADMIN_PASSWORD``).

airflow-init then runs ``model-governance db upgrade``, which migrates the inventory schema: the one place
it is migrated (tasks only check it).

Safe to run again. Any problem names the setting or connection at fault and exits 1, so the long-running
services (which wait for airflow-init to complete successfully) never start half configured.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from model_governance.config import GovernanceConfig

#: Connection type each setting's connection must have (Airflow's conn_type names).
#: Jira: this package's own type, or the official Atlassian provider's ``jira``, which reads the same way.
EXPECTED_CONN_TYPES = {
    "aws": {"aws"},
    "jira": {"model_governance_jira", "jira"},
    "smtp": {"smtp", "email"},
    "inventory": {"postgres"},
}


def required_connections(config: GovernanceConfig) -> dict[str, tuple[str, str]]:
    """conn_id -> (kind, setting path) for every connection the settings name."""
    needed: dict[str, tuple[str, str]] = {}
    for index, entity in enumerate(config.business_entities):
        needed[entity.aws_conn_id] = ("aws", f"business_entities.{index}.aws_conn_id ({entity.name})")
    needed[config.jira.conn_id] = ("jira", "jira.conn_id")
    needed[config.notifications.smtp_conn_id] = ("smtp", "notifications.smtp_conn_id")
    if config.inventory.conn_id:
        needed[config.inventory.conn_id] = ("inventory", "inventory.conn_id")
    return needed


def check_connections(config: GovernanceConfig) -> list[str]:
    """Problems with the connections the settings name; empty when every one resolves."""
    from airflow.sdk import BaseHook

    problems = []
    for conn_id, (kind, setting) in sorted(required_connections(config).items()):
        try:
            conn = BaseHook.get_connection(conn_id)
        except Exception as exc:  # AirflowNotFoundException, or a malformed AIRFLOW_CONN_* value
            problems.append(
                f"connection {conn_id!r} ({setting}) cannot be read: {exc}. Define it, e.g. "
                f"AIRFLOW_CONN_{conn_id.upper()} in .env (see .env.example)."
            )
            continue
        if conn.conn_type not in EXPECTED_CONN_TYPES[kind]:
            problems.append(
                f"connection {conn_id!r} ({setting}) has conn_type {conn.conn_type!r}; expected "
                f"{' or '.join(sorted(EXPECTED_CONN_TYPES[kind]))}."
            )
    return problems


def ensure_postgres_database(admin_url: str, target_url: str) -> str:
    """Create the target's role and database with the admin URL when both are on one PostgreSQL server.

    Returns what was done, for the log. The role's password is set to the target URL's each time, so a
    changed GOVERNANCE_DB_PASSWORD takes effect on the next airflow-init.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin, target = make_url(admin_url), make_url(target_url)
    if admin.get_backend_name() != "postgresql" or target.get_backend_name() != "postgresql":
        return "not PostgreSQL: database creation skipped"
    if (admin.host, admin.port or 5432) != (target.host, target.port or 5432):
        return f"inventory is on another server ({target.host}): create its database there yourself"
    if not target.database or not target.username:
        raise SystemExit(f"init_governance: the inventory URL {target!r} names no database or user")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    done = []
    try:
        with engine.connect() as conn:
            quote = conn.dialect.identifier_preparer.quote
            role, database = quote(target.username), quote(target.database)
            if target.username != admin.username:
                exists = conn.execute(
                    text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": target.username}
                ).scalar()
                verb = "ALTER" if exists else "CREATE"
                # Identifiers are quoted by the dialect; the password is a bound parameter.
                conn.exec_driver_sql(
                    f"{verb} ROLE {role} WITH LOGIN PASSWORD %(password)s",
                    {"password": target.password or ""},
                )
                done.append(f"role {target.username} {'updated' if exists else 'created'}")
            found = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
            ).scalar()
            if not found:
                conn.exec_driver_sql(f"CREATE DATABASE {database} OWNER {role}")
                done.append(f"database {target.database} created")
            else:
                done.append(f"database {target.database} exists")
    finally:
        engine.dispose()
    return ", ".join(done)


def write_passwords_file(path: Path, users: Mapping[str, str]) -> None:
    """Merge ``users`` (name -> password) into the simple auth manager's JSON passwords file."""
    current: dict[str, str] = {}
    if path.exists() and path.read_text(encoding="utf-8").strip():
        current = json.loads(path.read_text(encoding="utf-8"))
    current.update(users)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.tmp")
    partial.write_text(json.dumps(current) + "\n", encoding="utf-8")
    partial.chmod(0o600)
    os.replace(partial, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="init_governance.py", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"),
        help="a PostgreSQL URL allowed to create roles and databases (default: Airflow's metadata DB)",
    )
    parser.add_argument(
        "--passwords-file", default=os.environ.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE")
    )
    parser.add_argument("--admin-user", default=os.environ.get("AIRFLOW_ADMIN_USER", "admin"))
    args = parser.parse_args(argv)

    from model_governance.config import inventory_url, load_config
    from model_governance.exceptions import ConfigurationError

    try:
        config = load_config(variable_text="")
    except ConfigurationError as exc:
        print(f"init_governance: {exc}", file=sys.stderr)
        return 1
    print(
        f"init_governance: settings valid ({len(config.business_entities)} business entities, Jira project "
        f"{config.jira.project_key}, governance bucket {config.governance_bucket})"
    )
    problems = check_connections(config)
    if problems:
        print("init_governance: connections:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"init_governance: connections resolve: {', '.join(sorted(required_connections(config)))}")

    url = inventory_url(config)
    if args.admin_url:
        print(f"init_governance: inventory database: {ensure_postgres_database(args.admin_url, url)}")

    password = os.environ.get("AIRFLOW_ADMIN_PASSWORD")
    if args.passwords_file and password:
        write_passwords_file(Path(args.passwords_file), {args.admin_user: password})
        print(f"init_governance: password of Airflow user {args.admin_user!r} written")
    elif args.passwords_file:
        print("init_governance: AIRFLOW_ADMIN_PASSWORD is not set; set it in .env", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
