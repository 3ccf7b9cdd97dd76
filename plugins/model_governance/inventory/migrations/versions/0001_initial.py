"""initial inventory schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22 06:50:07.836479
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "mg_business_entity",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("aws_conn_id", sa.String(length=250), nullable=False),
        sa.Column("role_arn", sa.String(length=2048), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mg_business_entity")),
        sa.UniqueConstraint("name", name=op.f("uq_mg_business_entity_name")),
    )
    op.create_table(
        "mg_use_case",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("business_entity_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("risk_level", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=320), nullable=False),
        sa.Column("data_science_email", sa.String(length=320), nullable=True),
        sa.Column("model_type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("requested_by", sa.String(length=320), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_entity_id"],
            ["mg_business_entity.id"],
            name=op.f("fk_mg_use_case_business_entity_id_mg_business_entity"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mg_use_case")),
        sa.UniqueConstraint(
            "business_entity_id", "name", name=op.f("uq_mg_use_case_business_entity_id_name")
        ),
    )
    with op.batch_alter_table("mg_use_case", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mg_use_case_business_entity_id"), ["business_entity_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_mg_use_case_status"), ["status"], unique=False)

    op.create_table(
        "mg_model_group",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("use_case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("business_entity_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("arn", sa.String(length=2048), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_entity_id"],
            ["mg_business_entity.id"],
            name=op.f("fk_mg_model_group_business_entity_id_mg_business_entity"),
        ),
        sa.ForeignKeyConstraint(
            ["use_case_id"], ["mg_use_case.id"], name=op.f("fk_mg_model_group_use_case_id_mg_use_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mg_model_group")),
        sa.UniqueConstraint("arn", name=op.f("uq_mg_model_group_arn")),
        sa.UniqueConstraint(
            "business_entity_id", "name", name=op.f("uq_mg_model_group_business_entity_id_name")
        ),
    )
    with op.batch_alter_table("mg_model_group", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mg_model_group_business_entity_id"), ["business_entity_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_mg_model_group_use_case_id"), ["use_case_id"], unique=False)

    op.create_table(
        "mg_model",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("model_group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("package_arn", sa.String(length=2048), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=64), nullable=False),
        sa.Column("status_version", sa.Integer(), nullable=False),
        sa.Column("sagemaker_stage", sa.String(length=63), nullable=True),
        sa.Column("sagemaker_stage_status", sa.String(length=63), nullable=True),
        sa.Column("approval_status", sa.String(length=32), nullable=True),
        sa.Column("sagemaker_last_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_group_id"], ["mg_model_group.id"], name=op.f("fk_mg_model_model_group_id_mg_model_group")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mg_model")),
        sa.UniqueConstraint("model_group_id", "version", name=op.f("uq_mg_model_model_group_id_version")),
        sa.UniqueConstraint("package_arn", name=op.f("uq_mg_model_package_arn")),
    )
    with op.batch_alter_table("mg_model", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mg_model_model_group_id"), ["model_group_id"], unique=False)
        batch_op.create_index("ix_mg_model_status_group", ["status", "model_group_id"], unique=False)

    op.create_table(
        "mg_approval",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("use_case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("model_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("jira_key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=320), nullable=True),
        sa.Column("decided_by", sa.String(length=320), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_status", sa.String(length=64), nullable=True),
        sa.Column("dag_id", sa.String(length=250), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.Column("task_id", sa.String(length=250), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["mg_model.id"], name=op.f("fk_mg_approval_model_id_mg_model")),
        sa.ForeignKeyConstraint(
            ["use_case_id"], ["mg_use_case.id"], name=op.f("fk_mg_approval_use_case_id_mg_use_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mg_approval")),
        sa.UniqueConstraint("jira_key", name=op.f("uq_mg_approval_jira_key")),
    )
    with op.batch_alter_table("mg_approval", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mg_approval_model_id"), ["model_id"], unique=False)
        batch_op.create_index("ix_mg_approval_state_kind", ["state", "kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_mg_approval_use_case_id"), ["use_case_id"], unique=False)

    op.create_table(
        "mg_metric",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("model_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["mg_model.id"], name=op.f("fk_mg_metric_model_id_mg_model")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mg_metric")),
    )
    with op.batch_alter_table("mg_metric", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mg_metric_model_name_time", ["model_id", "name", "recorded_at"], unique=False
        )

    op.create_table(
        "mg_snapshot",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("model_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["model_id"], ["mg_model.id"], name=op.f("fk_mg_snapshot_model_id_mg_model")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mg_snapshot")),
        sa.UniqueConstraint("model_id", "content_hash", name=op.f("uq_mg_snapshot_model_id_content_hash")),
    )
    with op.batch_alter_table("mg_snapshot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mg_snapshot_content_hash"), ["content_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_mg_snapshot_model_id"), ["model_id"], unique=False)

    op.create_table(
        "mg_status_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("model_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=64), nullable=True),
        sa.Column("to_status", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=True),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["mg_model.id"], name=op.f("fk_mg_status_event_model_id_mg_model")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mg_status_event")),
        sa.UniqueConstraint("model_id", "seq", name=op.f("uq_mg_status_event_model_id_seq")),
    )
    with op.batch_alter_table("mg_status_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mg_status_event_model_id"), ["model_id"], unique=False)

    op.create_table(
        "mg_document",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("model_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("snapshot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=128), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["mg_model.id"], name=op.f("fk_mg_document_model_id_mg_model")),
        sa.ForeignKeyConstraint(
            ["snapshot_id"], ["mg_snapshot.id"], name=op.f("fk_mg_document_snapshot_id_mg_snapshot")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mg_document")),
        sa.UniqueConstraint(
            "model_id",
            "kind",
            "media_type",
            "sha256",
            name=op.f("uq_mg_document_model_id_kind_media_type_sha256"),
        ),
    )
    with op.batch_alter_table("mg_document", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mg_document_model_id"), ["model_id"], unique=False)

    op.create_table(
        "mg_risk_test_run",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("model_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("snapshot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("run_key", sa.String(length=512), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("report_uri", sa.String(length=2048), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["model_id"], ["mg_model.id"], name=op.f("fk_mg_risk_test_run_model_id_mg_model")
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"], ["mg_snapshot.id"], name=op.f("fk_mg_risk_test_run_snapshot_id_mg_snapshot")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mg_risk_test_run")),
        sa.UniqueConstraint("run_key", name=op.f("uq_mg_risk_test_run_run_key")),
    )
    with op.batch_alter_table("mg_risk_test_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mg_risk_test_run_model_id"), ["model_id"], unique=False)
    _create_append_only_guards()


def downgrade() -> None:
    _drop_append_only_guards()

    with op.batch_alter_table("mg_risk_test_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mg_risk_test_run_model_id"))

    op.drop_table("mg_risk_test_run")
    with op.batch_alter_table("mg_document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mg_document_model_id"))

    op.drop_table("mg_document")
    with op.batch_alter_table("mg_status_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mg_status_event_model_id"))

    op.drop_table("mg_status_event")
    with op.batch_alter_table("mg_snapshot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mg_snapshot_model_id"))
        batch_op.drop_index(batch_op.f("ix_mg_snapshot_content_hash"))

    op.drop_table("mg_snapshot")
    with op.batch_alter_table("mg_metric", schema=None) as batch_op:
        batch_op.drop_index("ix_mg_metric_model_name_time")

    op.drop_table("mg_metric")
    with op.batch_alter_table("mg_approval", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mg_approval_use_case_id"))
        batch_op.drop_index("ix_mg_approval_state_kind")
        batch_op.drop_index(batch_op.f("ix_mg_approval_model_id"))

    op.drop_table("mg_approval")
    with op.batch_alter_table("mg_model", schema=None) as batch_op:
        batch_op.drop_index("ix_mg_model_status_group")
        batch_op.drop_index(batch_op.f("ix_mg_model_model_group_id"))

    op.drop_table("mg_model")
    with op.batch_alter_table("mg_model_group", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mg_model_group_use_case_id"))
        batch_op.drop_index(batch_op.f("ix_mg_model_group_business_entity_id"))

    op.drop_table("mg_model_group")
    with op.batch_alter_table("mg_use_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mg_use_case_status"))
        batch_op.drop_index(batch_op.f("ix_mg_use_case_business_entity_id"))

    op.drop_table("mg_use_case")
    op.drop_table("mg_business_entity")


# StatusEvents are the audit trail: the database itself refuses to change or delete them, so only someone
# who can drop these triggers can tamper, and the hash chain then shows it.
_GUARDED_TABLE = "mg_status_event"


def _create_append_only_guards() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER mg_status_event_no_{action.lower()} BEFORE {action} ON {_GUARDED_TABLE} "
                "BEGIN SELECT RAISE(ABORT, 'mg_status_event is append-only'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION mg_status_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'mg_status_event is append-only'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER mg_status_event_append_only BEFORE UPDATE OR DELETE ON {_GUARDED_TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION mg_status_event_append_only()"
        )


def _drop_append_only_guards() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS mg_status_event_no_{action}")
    elif dialect == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS mg_status_event_append_only ON {_GUARDED_TABLE}")
        op.execute("DROP FUNCTION IF EXISTS mg_status_event_append_only()")
