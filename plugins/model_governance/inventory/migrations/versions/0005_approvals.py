"""approvals: separation of duties (Jira account ids of the people excluded from a gate, justifications)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mg_approval", schema=None) as batch_op:
        batch_op.add_column(sa.Column("excluded", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("decided_by_account", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("justification", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("refusals", sa.JSON(), nullable=True))
        batch_op.create_index("ix_mg_approval_decided_by_account", ["decided_by_account"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mg_approval", schema=None) as batch_op:
        batch_op.drop_index("ix_mg_approval_decided_by_account")
        batch_op.drop_column("refusals")
        batch_op.drop_column("justification")
        batch_op.drop_column("decided_by_account")
        batch_op.drop_column("excluded")
