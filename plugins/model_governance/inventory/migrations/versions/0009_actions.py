"""governance actions: who asked for a hold, resume, model change, decommission or early stage, and why

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mg_governance_action",
        sa.Column("id", _ID, nullable=False),
        sa.Column("request_key", sa.String(600), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("model_id", _ID, nullable=True),
        sa.Column("use_case_id", _ID, nullable=True),
        sa.Column("requested_by", sa.String(320), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("from_status", sa.String(64), nullable=True),
        sa.Column("to_status", sa.String(64), nullable=True),
        sa.Column("dag_id", sa.String(250), nullable=True),
        sa.Column("run_id", sa.String(250), nullable=True),
        sa.Column("challenger_model_id", _ID, nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("completed_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["model_id"], ["mg_model.id"], name=op.f("fk_mg_governance_action_model_id_mg_model")
        ),
        sa.ForeignKeyConstraint(
            ["use_case_id"], ["mg_use_case.id"], name=op.f("fk_mg_governance_action_use_case_id_mg_use_case")
        ),
        sa.ForeignKeyConstraint(
            ["challenger_model_id"],
            ["mg_model.id"],
            name=op.f("fk_mg_governance_action_challenger_model_id_mg_model"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mg_governance_action")),
        sa.UniqueConstraint("request_key", name=op.f("uq_mg_governance_action_request_key")),
    )
    op.create_index("ix_mg_governance_action_model_id", "mg_governance_action", ["model_id"])
    op.create_index("ix_mg_governance_action_use_case", "mg_governance_action", ["use_case_id", "action"])


def downgrade() -> None:
    op.drop_table("mg_governance_action")
