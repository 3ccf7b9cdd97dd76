"""audit: keyed audit chain over every governance fact, chain anchors

The table ``mg_audit_link`` (see inventory/audit.py), links for the rows already there, and the database
guards: links and status events are appended only in order (seq = head + 1, chained to the head), never
updated, deleted or truncated; an approval may be decided once and is immutable afterwards.

Rows written before this revision are chained here, in the order they happened, with the audit key
(``migrate(engine, audit_keyring=...)`` or MODEL_GOVERNANCE_AUDIT_KEYS): an existing inventory verifies
from then on, and its old events keep their hash chain inside the chained records. An empty database
needs no key to migrate.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Every chained table is protected from TRUNCATE (PostgreSQL; SQLite has none: its DELETE guards hold).
_TRUNCATE_GUARDED = (
    "mg_audit_link",
    "mg_status_event",
    "mg_approval",
    "mg_snapshot",
    "mg_risk_test_run",
    "mg_document",
)


def upgrade() -> None:
    op.create_table(
        "mg_audit_link",
        sa.Column("id", _ID, nullable=False),
        sa.Column("chain", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("prev_mac", sa.String(length=64), nullable=True),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mg_audit_link")),
        sa.UniqueConstraint("chain", "seq", name=op.f("uq_mg_audit_link_chain_seq")),
    )
    with op.batch_alter_table("mg_audit_link", schema=None) as batch_op:
        batch_op.create_index("ix_mg_audit_link_record", ["kind", "record_id"], unique=False)
    _chain_existing_rows()
    _create_guards()


def downgrade() -> None:
    _drop_guards()
    with op.batch_alter_table("mg_audit_link", schema=None) as batch_op:
        batch_op.drop_index("ix_mg_audit_link_record")
    op.drop_table("mg_audit_link")


# -- links for the rows written before this revision ------------------------------------------------------


def _time(value: Any) -> datetime:
    if value is None:
        return datetime.min.replace(tzinfo=UTC)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _chain_existing_rows() -> None:
    from model_governance.inventory.audit import (
        AuditKeyring,
        canonical,
        link_message,
        model_chain,
        record_fields,
        use_case_chain,
    )

    bind = op.get_bind()
    metadata = sa.MetaData()
    tables = {
        name: sa.Table(name, metadata, autoload_with=bind)
        for name in ("mg_status_event", "mg_approval", "mg_snapshot", "mg_risk_test_run", "mg_document")
    }
    # (chain, when, rank, kind, action, row): rank keeps a model's events in seq order at equal times.
    facts: list[tuple[str, datetime, int, int, str, str, dict[str, Any]]] = []

    def rows(name: str) -> list[dict[str, Any]]:
        table = tables[name]
        return [dict(row._mapping) for row in bind.execute(sa.select(table).order_by(table.c.id))]

    for row in rows("mg_status_event"):
        facts.append(
            (
                model_chain(row["model_id"]),
                _time(row["created_at"]),
                0,
                row["seq"],
                "status_event",
                "status",
                row,
            )
        )
    for row in rows("mg_approval"):
        chain = (
            model_chain(row["model_id"])
            if row["model_id"] is not None
            else use_case_chain(row["use_case_id"])
        )
        decided = row["state"] != "OPEN"
        when = _time(row["decided_at"] if decided and row["decided_at"] is not None else row["created_at"])
        facts.append((chain, when, 1, row["id"], "approval", "decided" if decided else "requested", row))
    for row in rows("mg_snapshot"):
        when = _time(row["deployed_at"] or row["created_at"])
        action = "deployed" if row["deployed_at"] is not None else "recorded"
        facts.append((model_chain(row["model_id"]), when, 1, row["id"], "snapshot", action, row))
    for row in rows("mg_risk_test_run"):
        when = _time(row["finished_at"] or row["started_at"])
        action = "finished" if row["finished_at"] is not None else "started"
        facts.append((model_chain(row["model_id"]), when, 1, row["id"], "risk_test_run", action, row))
    for row in rows("mg_document"):
        action = "approved" if row["approved"] else "recorded"
        facts.append(
            (model_chain(row["model_id"]), _time(row["created_at"]), 1, row["id"], "document", action, row)
        )
    if not facts:
        return
    keyring = context.config.attributes.get("audit_keyring") or AuditKeyring.from_env()
    links = sa.table(
        "mg_audit_link",
        sa.column("chain"),
        sa.column("seq"),
        sa.column("kind"),
        sa.column("record_id"),
        sa.column("action"),
        sa.column("record"),
        sa.column("prev_mac"),
        sa.column("mac"),
        sa.column("key_id"),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    heads: dict[str, tuple[int, str | None]] = {}
    now = datetime.now(UTC)
    for chain, _when, _rank, _order, kind, action, row in sorted(
        facts, key=lambda f: (f[0], f[1], f[2], f[3])
    ):
        seq, prev_mac = heads.get(chain, (0, None))
        seq += 1
        record = canonical(record_fields(row))
        record_id = int(row["id"])
        mac = keyring.mac(
            keyring.current_id,
            link_message(
                chain=chain,
                seq=seq,
                kind=kind,
                record_id=record_id,
                action=action,
                created_at=now,
                key_id=keyring.current_id,
                prev_mac=prev_mac,
                record=record,
            ),
        )
        bind.execute(
            links.insert().values(
                chain=chain,
                seq=seq,
                kind=kind,
                record_id=record_id,
                action=action,
                record=record,
                prev_mac=prev_mac,
                mac=mac,
                key_id=keyring.current_id,
                created_at=now,
            )
        )
        heads[chain] = (seq, mac)


# -- database guards --------------------------------------------------------------------------------------

_SQLITE_TRIGGERS = {
    "mg_audit_link_in_order": (
        "BEFORE INSERT ON mg_audit_link WHEN NEW.seq <> "
        "COALESCE((SELECT MAX(seq) FROM mg_audit_link WHERE chain = NEW.chain), 0) + 1 "
        "OR COALESCE(NEW.prev_mac, '') <> COALESCE((SELECT mac FROM mg_audit_link "
        "WHERE chain = NEW.chain AND seq = NEW.seq - 1), '') "
        "BEGIN SELECT RAISE(ABORT, 'mg_audit_link is append-only in order: seq must follow the chain head "
        "and prev_mac must be its MAC'); END"
    ),
    "mg_audit_link_no_update": (
        "BEFORE UPDATE ON mg_audit_link BEGIN SELECT RAISE(ABORT, 'mg_audit_link is append-only'); END"
    ),
    "mg_audit_link_no_delete": (
        "BEFORE DELETE ON mg_audit_link BEGIN SELECT RAISE(ABORT, 'mg_audit_link is append-only'); END"
    ),
    "mg_status_event_in_order": (
        "BEFORE INSERT ON mg_status_event WHEN NEW.seq <> "
        "COALESCE((SELECT MAX(seq) FROM mg_status_event WHERE model_id = NEW.model_id), 0) + 1 "
        "OR COALESCE(NEW.prev_hash, '') <> COALESCE((SELECT hash FROM mg_status_event "
        "WHERE model_id = NEW.model_id AND seq = NEW.seq - 1), '') "
        "BEGIN SELECT RAISE(ABORT, 'mg_status_event is append-only in order: seq must follow the last event "
        "and prev_hash must be its hash'); END"
    ),
    "mg_approval_decided_once": (
        "BEFORE UPDATE ON mg_approval WHEN OLD.state <> 'OPEN' OR NEW.kind <> OLD.kind "
        "OR NEW.jira_key <> OLD.jira_key OR NEW.model_id IS NOT OLD.model_id "
        "OR NEW.use_case_id IS NOT OLD.use_case_id "
        "BEGIN SELECT RAISE(ABORT, 'mg_approval: a decided approval is immutable and an open one is decided "
        "once, for the same ticket and subject'); END"
    ),
    "mg_approval_no_delete": (
        "BEFORE DELETE ON mg_approval BEGIN SELECT RAISE(ABORT, 'mg_approval rows are never deleted'); END"
    ),
}

_POSTGRES_FUNCTIONS = {
    "mg_audit_link_in_order": """
DECLARE head_seq integer; head_mac text;
BEGIN
  -- one appender per chain at a time, so two writers cannot both extend the same head
  PERFORM pg_advisory_xact_lock(hashtext('mg_audit_link:' || NEW.chain));
  SELECT seq, mac INTO head_seq, head_mac FROM mg_audit_link WHERE chain = NEW.chain
    ORDER BY seq DESC LIMIT 1;
  IF NEW.seq <> COALESCE(head_seq, 0) + 1 OR NEW.prev_mac IS DISTINCT FROM head_mac THEN
    RAISE EXCEPTION 'mg_audit_link is append-only in order: link seq % of chain % does not follow the head '
      '(seq %)', NEW.seq, NEW.chain, COALESCE(head_seq, 0);
  END IF;
  RETURN NEW;
END""",
    "mg_status_event_in_order": """
DECLARE last_seq integer; last_hash text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('mg_status_event:' || NEW.model_id::text));
  SELECT seq, hash INTO last_seq, last_hash FROM mg_status_event WHERE model_id = NEW.model_id
    ORDER BY seq DESC LIMIT 1;
  IF NEW.seq <> COALESCE(last_seq, 0) + 1 OR NEW.prev_hash IS DISTINCT FROM last_hash THEN
    RAISE EXCEPTION 'mg_status_event is append-only in order: event seq % of model % does not follow the '
      'last event (seq %)', NEW.seq, NEW.model_id, COALESCE(last_seq, 0);
  END IF;
  RETURN NEW;
END""",
    "mg_approval_decided_once": """
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'mg_approval rows are never deleted (approval %)', OLD.jira_key;
  END IF;
  IF OLD.state <> 'OPEN' OR NEW.kind <> OLD.kind OR NEW.jira_key <> OLD.jira_key
     OR NEW.model_id IS DISTINCT FROM OLD.model_id OR NEW.use_case_id IS DISTINCT FROM OLD.use_case_id THEN
    RAISE EXCEPTION 'mg_approval: approval % is immutable (% ): a decided approval never changes and an open '
      'one is decided once', OLD.jira_key, OLD.state;
  END IF;
  RETURN NEW;
END""",
    "mg_audit_append_only": """
BEGIN
  RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP;
END""",
}

_POSTGRES_TRIGGERS = (
    ("mg_audit_link_in_order", "BEFORE INSERT ON mg_audit_link FOR EACH ROW", "mg_audit_link_in_order"),
    (
        "mg_audit_link_append_only",
        "BEFORE UPDATE OR DELETE ON mg_audit_link FOR EACH ROW",
        "mg_audit_append_only",
    ),
    ("mg_status_event_in_order", "BEFORE INSERT ON mg_status_event FOR EACH ROW", "mg_status_event_in_order"),
    (
        "mg_approval_decided_once",
        "BEFORE UPDATE OR DELETE ON mg_approval FOR EACH ROW",
        "mg_approval_decided_once",
    ),
    *(
        (f"{table}_no_truncate", f"BEFORE TRUNCATE ON {table} FOR EACH STATEMENT", "mg_audit_append_only")
        for table in _TRUNCATE_GUARDED
    ),
)


def _create_guards() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name, body in _SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    elif dialect == "postgresql":
        for name, body in _POSTGRES_FUNCTIONS.items():
            op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $${body}$$")
        for name, when, function in _POSTGRES_TRIGGERS:
            op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION {function}()")


def _drop_guards() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif dialect == "postgresql":
        for name, when, _function in _POSTGRES_TRIGGERS:
            table = when.split(" ON ")[1].split()[0]
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for name in _POSTGRES_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
