"""monitoring and revalidation: monitoring findings (one per model and breach kind), revalidation schedule

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mg_monitoring_finding",
        sa.Column("id", _ID, nullable=False),
        sa.Column("model_id", _ID, nullable=False),
        sa.Column("kind", sa.String(128), nullable=False),
        sa.Column("open_key", sa.String(200), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("direction", sa.String(32), nullable=True),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("breaches", sa.Integer(), nullable=False),
        sa.Column("first_seen", _TIME, nullable=False),
        sa.Column("last_seen", _TIME, nullable=False),
        sa.Column("cleared_at", _TIME, nullable=True),
        sa.Column("cleared_value", sa.Float(), nullable=True),
        sa.Column("jira_key", sa.String(64), nullable=True),
        sa.Column("jira_breaches", sa.Integer(), nullable=False),
        sa.Column("jira_closed", sa.Boolean(), nullable=False),
        sa.Column("owner_notified", sa.Boolean(), nullable=False),
        sa.Column("action", sa.String(200), nullable=True),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["mg_model.id"], name=op.f("fk_mg_monitoring_finding_model_id_mg_model")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mg_monitoring_finding")),
        sa.UniqueConstraint("open_key", name=op.f("uq_mg_monitoring_finding_open_key")),
    )
    op.create_index("ix_mg_monitoring_finding_model_id", "mg_monitoring_finding", ["model_id"])
    op.create_index("ix_mg_monitoring_finding_state", "mg_monitoring_finding", ["state", "first_seen"])
    op.create_table(
        "mg_revalidation_schedule",
        sa.Column("id", _ID, nullable=False),
        sa.Column("model_id", _ID, nullable=False),
        sa.Column("due_at", _TIME, nullable=False),
        sa.Column("interval_days", sa.Integer(), nullable=False),
        sa.Column("last_revalidated_at", _TIME, nullable=True),
        sa.Column("approval_jira_key", sa.String(64), nullable=True),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["mg_model.id"], name=op.f("fk_mg_revalidation_schedule_model_id_mg_model")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mg_revalidation_schedule")),
        sa.UniqueConstraint("model_id", name=op.f("uq_mg_revalidation_schedule_model_id")),
    )
    op.create_index("ix_mg_revalidation_schedule_due", "mg_revalidation_schedule", ["due_at"])
    op.create_table(
        "mg_revalidation",
        sa.Column("id", _ID, nullable=False),
        sa.Column("model_id", _ID, nullable=False),
        sa.Column("run_key", sa.String(512), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("due_at", _TIME, nullable=False),
        sa.Column("risk_test_run_key", sa.String(512), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("document_uri", sa.String(2048), nullable=True),
        sa.Column("jira_key", sa.String(64), nullable=True),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("decided_at", _TIME, nullable=True),
        sa.Column("valid_until", _TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["model_id"], ["mg_model.id"], name=op.f("fk_mg_revalidation_model_id_mg_model")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mg_revalidation")),
        sa.UniqueConstraint("run_key", name=op.f("uq_mg_revalidation_run_key")),
    )
    op.create_index("ix_mg_revalidation_model_id", "mg_revalidation", ["model_id"])


def downgrade() -> None:
    op.drop_table("mg_revalidation")
    op.drop_table("mg_revalidation_schedule")
    op.drop_table("mg_monitoring_finding")
