"""The Terraform state lock a task's run held, so a lock left by a dead run can be proven ownerless.

Revision ID: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("lock_id", sa.String(64), nullable=True))
        batch.create_index("ix_tasks_lock_id", ["lock_id"])


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_index("ix_tasks_lock_id")
        batch.drop_column("lock_id")
