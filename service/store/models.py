"""Tables. Schema changes go through Alembic migrations (service/store/migrations)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Float, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import false as sql_false
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on every database: SQLite stores no time zone and hands naive
    values back, which read as local time would be off by the host's UTC offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(UTC)
            return value.replace(tzinfo=None) if dialect.name == "sqlite" else value
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class TaskRow(Base):
    __tablename__ = "tasks"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    component_id: Mapped[str | None] = mapped_column(String(512), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    body: Mapped[str] = mapped_column(Text, default="{}")
    """The status body Witboost polls for, as JSON."""
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The replica running the task."""
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    """Renewed while the owner runs it; a RUNNING task whose lease ran out is failed by any replica."""
    ended_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    """Who wrote the final status: ``owner`` (the replica that ran it) or ``lease`` (another replica,
    after the owner's lease ran out; the owner's own outcome, once it can write it, replaces that)."""


class WorkloadRow(Base):
    __tablename__ = "workloads"
    # Pages of the registry: last touched first, walked by this index (service.store.pages).
    __table_args__ = (
        Index("ix_workloads_page", text("last_at DESC"), text("component_id DESC")),
        Index("ix_workloads_dp_page", "data_product_id", text("last_at DESC"), text("component_id DESC")),
    )

    component_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    workload_key: Mapped[str] = mapped_column(String(512), unique=True)
    data_product_id: Mapped[str] = mapped_column(String(512), default="")
    major: Mapped[str] = mapped_column(String(16), default="")
    bucket: Mapped[str] = mapped_column(String(64))
    dag_key: Mapped[str] = mapped_column(String(1024))
    descriptor_key: Mapped[str] = mapped_column(String(1024))
    state_key: Mapped[str] = mapped_column(String(1024))
    module_version: Mapped[str | None] = mapped_column(String(80), nullable=True)
    """Service version and digest of the static module the last apply used."""
    deployed: Mapped[bool] = mapped_column(Boolean, default=False)
    inputs_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """Digest of the rendered module (config, tfvars, artifacts) of the last successful apply."""
    state_fingerprint: Mapped[str | None] = mapped_column(String(128), nullable=True)
    objects: Mapped[str | None] = mapped_column(Text, nullable=True)
    """JSON fingerprints of the deployed objects as Terraform left them."""
    last_operation: Mapped[str | None] = mapped_column(String(16), nullable=True)
    last_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    last_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    plan_summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_plan_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    drift_status: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    """in_sync | drifted | missing | error, from the last drift check."""
    drift_report: Mapped[str | None] = mapped_column(Text, nullable=True)
    drift_checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class DriftCheckRow(Base):
    """One drift verdict of one workload, kept for its history (the newest few per workload)."""

    __tablename__ = "drift_checks"

    check_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    component_id: Mapped[str] = mapped_column(String(512), index=True)
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16))
    report: Mapped[str] = mapped_column(Text, default="{}")


class PlanRow(Base):
    """A plan as platform engineers review it: Terraform's text and JSON, the summary, the DAG diff."""

    __tablename__ = "plans"
    __table_args__ = (Index("ix_plans_page", "component_id", text("created_at DESC"), text("plan_id DESC")),)

    plan_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    component_id: Mapped[str] = mapped_column(String(512), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    """provision | unprovision | speculative | reconcile"""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    applied: Mapped[bool] = mapped_column(Boolean, default=False)
    add: Mapped[int] = mapped_column(Integer, default=0)
    change: Mapped[int] = mapped_column(Integer, default=0)
    destroy: Mapped[int] = mapped_column(Integer, default=0)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    """Existing objects the plan imports (adoption of a DAG deployed before this service)."""
    dag_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    changes_digest: Mapped[str] = mapped_column(String(64), default="")
    """Digest of the planned resource changes (addresses, actions, planned values)."""
    plan_file: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    """Terraform's saved plan; text and JSON are rendered from it when first read."""
    rendered: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str] = mapped_column(Text, default="")
    plan_json: Mapped[str] = mapped_column(Text, default="{}")
    dag_diff: Mapped[str] = mapped_column(Text, default="")
    drifted_since_apply: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sql_false())
    """When planned, the deployed DAG was not what the last apply left (its diff runs from the former)."""
    requested_by: Mapped[str | None] = mapped_column(String(256), nullable=True)
    """Who asked for a speculative plan (a token's name, ``cli:user@host``): only such a plan, a
    person's, satisfies MWAA_SP_REQUIRE_REVIEWED_PLAN."""


class DriftRunRow(Base):
    __tablename__ = "drift_runs"
    __table_args__ = (Index("ix_drift_runs_page", text("created_at DESC"), text("run_id DESC")),)

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    """RUNNING | COMPLETED | FAILED"""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[str] = mapped_column(Text, default="{}")
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The replica running the drift run; its lease is renewed like a task's."""
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    options: Mapped[str] = mapped_column(Text, default="{}")
    """What was asked: workloads, dataProduct, thorough, reconcile."""
    trigger: Mapped[str] = mapped_column(String(16), default="request", server_default="request")
    """schedule (MWAA_SP_DRIFT_INTERVAL, one replica per interval) | request (API, web view, CLI)"""


class ReplicaRow(Base):
    """A process that runs Terraform (a service replica or a CLI command) and its lease."""

    __tablename__ = "replicas"

    replica_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    who: Mapped[str] = mapped_column(String(256))
    """``user@host`` as Terraform writes it into the state locks this process takes."""
    kind: Mapped[str] = mapped_column(String(16))
    """service | cli"""
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class TerraformRunRow(Base):
    """Intent, recorded before every Terraform command: who runs what on which workload, and when.
    A state lock is proven to be the service's own by matching it against these rows."""

    __tablename__ = "terraform_runs"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workload_key: Mapped[str] = mapped_column(String(512), index=True)
    root: Mapped[str] = mapped_column(String(32))
    command: Mapped[str] = mapped_column(String(16))
    replica_id: Mapped[str] = mapped_column(String(64))
    who: Mapped[str] = mapped_column(String(256))
    task: Mapped[str | None] = mapped_column(String(64), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    clock_offset_s: Mapped[float] = mapped_column(Float, default=0.0)
    """The recording process's clock minus the database's, when the run began: Terraform writes a lock's
    ``Created`` with the process's clock, the run's window is in the database's."""


class GrantRow(Base):
    """Who a workload lets sign in to its MWAA environment: one row per (principal, Airflow role ARN).
    ``policy_name`` is ``mwaa-sp-airflow`` (one policy per principal), or the earlier layout's
    per-ARN name until the workload's next updateacl retires it."""

    __tablename__ = "acl_grants"

    workload_key: Mapped[str] = mapped_column(String(512), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    principal: Mapped[str] = mapped_column(String(256), primary_key=True)
    policy_name: Mapped[str] = mapped_column(String(128), primary_key=True)
    component_id: Mapped[str] = mapped_column(String(512), index=True)
    arn: Mapped[str] = mapped_column(String(1024))


class ClaimRow(Base):
    """One component per deployed S3 key: the primary key decides who owns ``(bucket, key)``."""

    __tablename__ = "key_claims"

    bucket: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(1024), primary_key=True)
    component_id: Mapped[str] = mapped_column(String(512), index=True)
    origin: Mapped[str] = mapped_column(String(16))
    """provision | adopted (an operator's explicit adoption of an object already there)"""
    claimed_by: Mapped[str] = mapped_column(String(256), default="")
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class FenceRow(Base):
    """The generation of each workload's door: advanced on every entry, checked on every fenced write."""

    __tablename__ = "workload_fences"

    workload_key: Mapped[str] = mapped_column(String(512), primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger)


class UiSessionRow(Base):
    """A web view sign-in: one row per sign-in, deleted by sign-out (so a copied cookie dies with it)."""

    __tablename__ = "ui_sessions"

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """Random, and signed into the cookie with the token (a cookie cannot name another session)."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class ScheduleRow(Base):
    """When a replica last started a scheduled job (the drift check), so that replicas start it once
    per interval between them."""

    __tablename__ = "schedules"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    holder: Mapped[str] = mapped_column(String(64), default="")
