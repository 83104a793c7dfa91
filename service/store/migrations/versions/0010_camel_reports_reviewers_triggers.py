"""Who asked for each plan (a review gate counts a person's speculative plan only), what started each
drift run (``schedule`` or ``request``) and when the schedule last started one, indexes for the lists'
pages, and drift verdicts stored in camelCase like every other body.

Revision ID: 0010
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_RENAMED = {"component_id": "componentId", "checked_at": "checkedAt"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _camel(verdict: Any) -> Any:
    if not isinstance(verdict, dict):
        return verdict
    return {_RENAMED.get(k, k): v for k, v in verdict.items()}


def _run_report(report: Any) -> Any:
    if isinstance(report, dict) and isinstance(report.get("workloads"), list):
        report = {**report, "workloads": [_camel(v) for v in report["workloads"]]}
    return report


def _rewrite(table: str, key: str, column: str, convert: Any) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text(f"SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL")).all()  # noqa: S608 - our own names
    for row_key, raw in rows:
        try:
            value = json.loads(raw)
        except (TypeError, ValueError):
            continue
        connection.execute(
            sa.text(f"UPDATE {table} SET {column} = :value WHERE {key} = :key"),  # noqa: S608 - our own names
            {"value": json.dumps(convert(value)), "key": row_key},
        )


def upgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("requested_by", sa.String(256), nullable=True))
        batch.add_column(sa.Column("drifted_since_apply", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("drift_runs") as batch:
        batch.add_column(sa.Column("trigger", sa.String(16), nullable=False, server_default="request"))
    op.create_table(
        "schedules",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
    )
    # Pages walk these (service.store.pages): newest first, the key breaking ties.
    op.execute(sa.text("UPDATE workloads SET last_at = :epoch WHERE last_at IS NULL").bindparams(epoch=_EPOCH))
    op.create_index("ix_workloads_page", "workloads", [sa.text("last_at DESC"), sa.text("component_id DESC")])
    with op.batch_alter_table("workloads") as batch:  # a data product's pages by the same order
        batch.drop_index("ix_workloads_data_product_id")
    op.create_index(
        "ix_workloads_dp_page", "workloads", ["data_product_id", sa.text("last_at DESC"), sa.text("component_id DESC")]
    )
    op.create_index("ix_drift_runs_page", "drift_runs", [sa.text("created_at DESC"), sa.text("run_id DESC")])
    op.create_index("ix_plans_page", "plans", ["component_id", sa.text("created_at DESC"), sa.text("plan_id DESC")])
    _rewrite("workloads", "component_id", "drift_report", _camel)
    _rewrite("drift_checks", "check_id", "report", _camel)
    _rewrite("drift_runs", "run_id", "report", _run_report)


def downgrade() -> None:
    op.drop_index("ix_plans_page", "plans")
    op.drop_index("ix_drift_runs_page", "drift_runs")
    op.drop_index("ix_workloads_dp_page", "workloads")
    with op.batch_alter_table("workloads") as batch:
        batch.create_index("ix_workloads_data_product_id", ["data_product_id"])
    op.drop_index("ix_workloads_page", "workloads")
    op.drop_table("schedules")
    with op.batch_alter_table("drift_runs") as batch:
        batch.drop_column("trigger")
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("drifted_since_apply")
        batch.drop_column("requested_by")
