"""Each workload's drift verdicts over time, not only the last one (the web view shows them).

Revision ID: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drift_checks",
        sa.Column("check_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("component_id", sa.String(512), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
    )
    op.create_index("ix_drift_checks_component_id", "drift_checks", ["component_id"])


def downgrade() -> None:
    op.drop_index("ix_drift_checks_component_id", "drift_checks")
    op.drop_table("drift_checks")
