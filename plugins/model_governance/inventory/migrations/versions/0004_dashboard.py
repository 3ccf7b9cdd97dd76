"""dashboard: indexes for the overview's counts per SageMaker stage and its overdue approvals

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mg_model", schema=None) as batch_op:
        batch_op.create_index("ix_mg_model_stage", ["sagemaker_stage"], unique=False)
    with op.batch_alter_table("mg_approval", schema=None) as batch_op:
        batch_op.create_index("ix_mg_approval_state_created", ["state", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mg_approval", schema=None) as batch_op:
        batch_op.drop_index("ix_mg_approval_state_created")
    with op.batch_alter_table("mg_model", schema=None) as batch_op:
        batch_op.drop_index("ix_mg_model_stage")
