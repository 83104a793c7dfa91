"""Plan artifacts, drift runs, and what the registry needs for review and drift detection.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workloads") as batch:
        batch.add_column(sa.Column("data_product_id", sa.String(512), nullable=False, server_default=""))
        batch.add_column(sa.Column("major", sa.String(16), nullable=False, server_default=""))
        batch.add_column(sa.Column("module_version", sa.String(80), nullable=True))
        batch.add_column(sa.Column("last_plan_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("drift_status", sa.String(16), nullable=True))
        batch.add_column(sa.Column("drift_report", sa.Text(), nullable=True))
        batch.add_column(sa.Column("drift_checked_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_workloads_data_product_id", ["data_product_id"])
        batch.create_index("ix_workloads_drift_status", ["drift_status"])
    op.create_table(
        "plans",
        sa.Column("plan_id", sa.String(64), primary_key=True),
        sa.Column("component_id", sa.String(512), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("add", sa.Integer(), nullable=False),
        sa.Column("change", sa.Integer(), nullable=False),
        sa.Column("destroy", sa.Integer(), nullable=False),
        sa.Column("dag_digest", sa.String(64), nullable=True),
        sa.Column("changes_digest", sa.String(64), nullable=False),
        sa.Column("plan_file", sa.LargeBinary(), nullable=True),
        sa.Column("rendered", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("plan_json", sa.Text(), nullable=False),
        sa.Column("dag_diff", sa.Text(), nullable=False),
    )
    op.create_table(
        "drift_runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("drift_runs")
    op.drop_table("plans")
    with op.batch_alter_table("workloads") as batch:
        batch.drop_index("ix_workloads_drift_status")
        batch.drop_index("ix_workloads_data_product_id")
        for column in (
            "drift_checked_at",
            "drift_report",
            "drift_status",
            "last_plan_id",
            "module_version",
            "major",
            "data_product_id",
        ):
            batch.drop_column(column)
