"""Tasks behind tokens and the workload registry (the provisioner's first schema).

Revision ID: 0001
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
        "tasks",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("component_id", sa.String(512), nullable=True, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_table(
        "workloads",
        sa.Column("component_id", sa.String(512), primary_key=True),
        sa.Column("workload_key", sa.String(512), nullable=False, unique=True),
        sa.Column("bucket", sa.String(64), nullable=False),
        sa.Column("dag_key", sa.String(1024), nullable=False),
        sa.Column("descriptor_key", sa.String(1024), nullable=False),
        sa.Column("state_key", sa.String(1024), nullable=False),
        sa.Column("deployed", sa.Boolean(), nullable=False),
        sa.Column("inputs_digest", sa.String(64), nullable=True),
        sa.Column("state_fingerprint", sa.String(128), nullable=True),
        sa.Column("objects", sa.Text(), nullable=True),
        sa.Column("last_operation", sa.String(16), nullable=True),
        sa.Column("last_status", sa.String(16), nullable=True),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("plan_summary", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("workloads")
    op.drop_table("tasks")
