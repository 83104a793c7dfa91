"""Airflow access grants per workload (updateacl).

Revision ID: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "acl_grants",
        sa.Column("workload_key", sa.String(512), primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("principal", sa.String(256), primary_key=True),
        sa.Column("policy_name", sa.String(128), primary_key=True),
        sa.Column("component_id", sa.String(512), nullable=False),
        sa.Column("arn", sa.String(1024), nullable=False),
    )
    op.create_index("ix_acl_grants_component_id", "acl_grants", ["component_id"])


def downgrade() -> None:
    op.drop_index("ix_acl_grants_component_id", "acl_grants")
    op.drop_table("acl_grants")
