"""lifecycle sync: per-registry watermarks and sync issues

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
