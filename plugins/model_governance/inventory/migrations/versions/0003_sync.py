"""lifecycle sync: per-registry watermarks, sync issues, message failures, implementation run ids

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("mg_model", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mlc_run_id", sa.String(length=250), nullable=True))
        batch_op.add_column(sa.Column("mlc_run_started_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "mg_sync_failure",
        sa.Column("id", _ID, nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("business_entity_id", _ID, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("dead_lettered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_entity_id"],
            ["mg_business_entity.id"],
            name=op.f("fk_mg_sync_failure_business_entity_id_mg_business_entity"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mg_sync_failure")),
        sa.UniqueConstraint("message_id", name=op.f("uq_mg_sync_failure_message_id")),
    )
    op.create_table(
        "mg_sync_watermark",
        sa.Column("id", _ID, nullable=False),
        sa.Column("business_entity_id", _ID, nullable=False),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_incremental_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_full_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["business_entity_id"],
            ["mg_business_entity.id"],
            name=op.f("fk_mg_sync_watermark_business_entity_id_mg_business_entity"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mg_sync_watermark")),
        sa.UniqueConstraint("business_entity_id", name=op.f("uq_mg_sync_watermark_business_entity_id")),
    )
    op.create_table(
        "mg_sync_issue",
        sa.Column("id", _ID, nullable=False),
        sa.Column("dedup_key", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("business_entity_id", _ID, nullable=True),
        sa.Column("model_id", _ID, nullable=True),
        sa.Column("package_arn", sa.String(length=2048), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["business_entity_id"],
            ["mg_business_entity.id"],
            name=op.f("fk_mg_sync_issue_business_entity_id_mg_business_entity"),
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["mg_model.id"], name=op.f("fk_mg_sync_issue_model_id_mg_model")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mg_sync_issue")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_mg_sync_issue_dedup_key")),
    )
    with op.batch_alter_table("mg_sync_issue", schema=None) as batch_op:
        batch_op.create_index("ix_mg_sync_issue_open", ["resolved_at", "business_entity_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_mg_sync_issue_model_id"), ["model_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mg_sync_issue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mg_sync_issue_model_id"))
        batch_op.drop_index("ix_mg_sync_issue_open")
    op.drop_table("mg_sync_issue")
    op.drop_table("mg_sync_watermark")
    op.drop_table("mg_sync_failure")
    with op.batch_alter_table("mg_model", schema=None) as batch_op:
        batch_op.drop_column("mlc_run_started_at")
        batch_op.drop_column("mlc_run_id")
