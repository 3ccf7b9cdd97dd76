"""``model-governance db upgrade | check``: the only place the inventory schema is migrated.

airflow-init runs it once per deployment (and ``AirflowCluster.start`` for the embedded SQLite default);
tasks and the dashboard only check the revision. Also ``python -m model_governance.inventory upgrade``.

The database is ``--url``, else the one the settings in the environment name (``MODEL_GOVERNANCE_CONFIG``,
``MODEL_GOVERNANCE__INVENTORY__URL`` or ``__CONN_ID``; the Airflow Variable is not read here, as in
airflow-init), else SQLite under ``AIRFLOW_HOME``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from model_governance.exceptions import ModelGovernanceError
from model_governance.inventory.audit import AuditKeyring
from model_governance.inventory.db import check_schema, head_revision, schema_revision, shared_engine, upgrade
from model_governance.redaction import redact_text

#: The migration that chains the rows already there with the audit key (0006_audit.py).
AUDIT_CHAIN_REVISION = "0006"


def _url(given: str | None) -> str:
    if given:
        return given
    from model_governance.config import inventory_url, load_config

    return inventory_url(load_config(variable_text=""))


def _audit_keyring() -> AuditKeyring | None:
    """The audit key of connection ``model_governance_audit`` when Airflow can read it: migration 0006
    chains rows already there with it. Without it the migration reads MODEL_GOVERNANCE_AUDIT_KEYS, and
    only needs either when there are rows to chain."""
    try:
        from airflow.sdk import BaseHook

        from model_governance.inventory.audit import AUDIT_CONN_ID
        from model_governance.services.evidence import keyring_from_connection

        conn = BaseHook.get_connection(AUDIT_CONN_ID)
    except Exception:  # no Airflow here, or no such connection: the environment variable applies
        return None
    return keyring_from_connection(conn.login, conn.password, conn.extra_dejson)


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return redact_text(make_url(url).render_as_string(hide_password=True))


def run(command: str, url: str | None = None) -> int:
    """Run ``upgrade`` or ``check`` on the inventory; prints one line, returns the exit status."""
    try:
        target = _url(url)
        engine = shared_engine(target)
        if command == "upgrade":
            current = schema_revision(engine)
            # Only a database from before the audit chain has rows to chain (importing Airflow costs seconds).
            keyring = _audit_keyring() if current is not None and current < AUDIT_CHAIN_REVISION else None
            before, after = upgrade(target, audit_keyring=keyring)
            done = "already at" if before == after else f"upgraded from {before or 'an empty database'} to"
            print(f"model-governance: inventory at {_shown(target)} {done} revision {after}")
            return 0
        check_schema(engine)
        print(f"model-governance: inventory at {_shown(target)} is at revision {schema_revision(engine)}")
        return 0
    except ModelGovernanceError as error:
        print(f"model-governance: {redact_text(str(error))}", file=sys.stderr)
        return 1


def _parser(prog: str, *, grouped: bool) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Model governance inventory schema.")
    commands = parser.add_subparsers(dest="group" if grouped else "command", required=True)
    target = (
        commands.add_parser("db", help="the inventory database").add_subparsers(dest="command", required=True)
        if grouped
        else commands
    )
    for name, text in (
        ("upgrade", f"migrate the schema to this package's revision ({head_revision()})"),
        ("check", "exit 1, saying what to run, unless the schema is at this package's revision"),
    ):
        sub = target.add_parser(name, help=text, description=text)
        sub.add_argument("--url", help="SQLAlchemy URL of the inventory (default: from the settings)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The ``model-governance`` console script: ``model-governance db upgrade|check [--url URL]``."""
    args = _parser("model-governance", grouped=True).parse_args(argv)
    return run(args.command, args.url)


def module_main(argv: Sequence[str] | None = None) -> int:
    """``python -m model_governance.inventory upgrade|check [--url URL]``."""
    args = _parser("python -m model_governance.inventory", grouped=False).parse_args(argv)
    return run(args.command, args.url)
