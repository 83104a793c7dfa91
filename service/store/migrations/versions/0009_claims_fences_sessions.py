"""Isolation and task lifecycle: key claims, door generations, web view sessions, who ended a task,
and the clock offset of each Terraform run.

Claims are filled from the workloads already deployed, the first row of a key winning (two deployed
workloads on one key can only be the collision this change exists to prevent; the other is logged).

Revision ID: 0009
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

log = logging.getLogger("mwaa_sp.migrations")


def upgrade() -> None:
    op.create_table(
        "key_claims",
        sa.Column("bucket", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(1024), primary_key=True),
        sa.Column("component_id", sa.String(512), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("claimed_by", sa.String(256), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_key_claims_component_id", "key_claims", ["component_id"])
    op.create_table(
        "workload_fences",
        sa.Column("workload_key", sa.String(512), primary_key=True),
        sa.Column("generation", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "ui_sessions",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ui_sessions_expires_at", "ui_sessions", ["expires_at"])
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("ended_by", sa.String(16), nullable=True))
    with op.batch_alter_table("terraform_runs") as batch:
        batch.add_column(sa.Column("clock_offset_s", sa.Float(), nullable=False, server_default="0"))

    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT component_id, bucket, dag_key, descriptor_key, last_at FROM workloads "
            "WHERE deployed = :yes ORDER BY last_at, component_id"
        ),
        {"yes": True},
    ).all()
    owners: dict[tuple[str, str], str] = {}
    for component_id, bucket, dag_key, descriptor_key, last_at in rows:
        for key in (dag_key, descriptor_key):
            owner = owners.setdefault((bucket, key), component_id)
            if owner != component_id:
                log.warning(
                    "s3://%s/%s is deployed by %s and %s: claimed for %s", bucket, key, owner, component_id, owner
                )
                continue
            connection.execute(
                sa.text(
                    "INSERT INTO key_claims (bucket, key, component_id, origin, claimed_by, claimed_at) "
                    "VALUES (:bucket, :key, :component, 'provision', 'migration 0009', :at)"
                ),
                {"bucket": bucket, "key": key, "component": component_id, "at": last_at or datetime.now(UTC)},
            )


def downgrade() -> None:
    with op.batch_alter_table("terraform_runs") as batch:
        batch.drop_column("clock_offset_s")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("ended_by")
    op.drop_index("ix_ui_sessions_expires_at", "ui_sessions")
    op.drop_table("ui_sessions")
    op.drop_table("workload_fences")
    op.drop_index("ix_key_claims_component_id", "key_claims")
    op.drop_table("key_claims")
