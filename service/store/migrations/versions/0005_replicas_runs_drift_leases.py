"""Replicas with leases, Terraform run intents, drift runs owned and leased like tasks.

Replaces the polled lock IDs of 0004: a state lock is now proven the service's own from what
Terraform writes into it (Who, Created, Operation) and the intent recorded before each run.

Revision ID: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "replicas",
        sa.Column("replica_id", sa.String(64), primary_key=True),
        sa.Column("who", sa.String(256), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_replicas_heartbeat_at", "replicas", ["heartbeat_at"])
    op.create_table(
        "terraform_runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("workload_key", sa.String(512), nullable=False),
        sa.Column("root", sa.String(32), nullable=False),
        sa.Column("command", sa.String(16), nullable=False),
        sa.Column("replica_id", sa.String(64), nullable=False),
        sa.Column("who", sa.String(256), nullable=False),
        sa.Column("task", sa.String(64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
    )
    op.create_index("ix_terraform_runs_workload_key", "terraform_runs", ["workload_key"])
    with op.batch_alter_table("drift_runs") as batch:
        batch.add_column(sa.Column("owner", sa.String(64), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("options", sa.Text, nullable=False, server_default="{}"))
    with op.batch_alter_table("tasks") as batch:
        batch.drop_index("ix_tasks_lock_id")
        batch.drop_column("lock_id")


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("lock_id", sa.String(64), nullable=True))
        batch.create_index("ix_tasks_lock_id", ["lock_id"])
    with op.batch_alter_table("drift_runs") as batch:
        batch.drop_column("options")
        batch.drop_column("heartbeat_at")
        batch.drop_column("owner")
    op.drop_index("ix_terraform_runs_workload_key", "terraform_runs")
    op.drop_table("terraform_runs")
    op.drop_index("ix_replicas_heartbeat_at", "replicas")
    op.drop_table("replicas")
