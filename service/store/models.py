"""Tables. Kept deliberately flat: a task row per token, a workload row per component."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class TaskRow(Base):
    __tablename__ = "tasks"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    component_id: Mapped[str | None] = mapped_column(String(512), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body: Mapped[str] = mapped_column(Text, default="{}")
    """The status body Witboost polls for, as JSON."""


class WorkloadRow(Base):
    __tablename__ = "workloads"

    component_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    workload_key: Mapped[str] = mapped_column(String(512), unique=True)
    bucket: Mapped[str] = mapped_column(String(64))
    dag_key: Mapped[str] = mapped_column(String(1024))
    descriptor_key: Mapped[str] = mapped_column(String(1024))
    state_key: Mapped[str] = mapped_column(String(1024))
    deployed: Mapped[bool] = mapped_column(Boolean, default=False)
    inputs_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """Digest of the rendered module (config, tfvars, artifacts) of the last successful apply."""
    state_fingerprint: Mapped[str | None] = mapped_column(String(128), nullable=True)
    objects: Mapped[str | None] = mapped_column(Text, nullable=True)
    """JSON fingerprints of the deployed objects as Terraform left them."""
    last_operation: Mapped[str | None] = mapped_column(String(16), nullable=True)
    last_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    last_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    plan_summary: Mapped[str | None] = mapped_column(Text, nullable=True)
