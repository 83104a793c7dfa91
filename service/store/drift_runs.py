"""Drift runs: durable like tasks — a row before the id is returned, owned by the replica running
it, its lease renewed while it runs. A run whose replica died ends FAILED with a reason once its
lease runs out, by whichever replica notices; never RUNNING forever.

Scheduled runs (MWAA_SP_DRIFT_INTERVAL) are drift runs too (``trigger: schedule``), started by one
replica per interval: every replica asks, the ``schedules`` row decides (an atomic update, by the
database's clock), and none starts while the previous scheduled run still runs."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.errors import TokenUnknown
from service.store import pages
from service.store.clock import db_now, sql_now
from service.store.database import until_answered
from service.store.models import DriftRunRow, ScheduleRow
from service.store.pages import Page
from service.store.running import Running

ABANDONED = (
    "the service replica running this drift run stopped before it finished; verdicts already "
    "reached are in the registry — start the run again"
)


@dataclass(frozen=True)
class DriftRunRecord:
    run_id: str
    status: str
    done: int
    total: int
    created_at: datetime
    options: dict[str, Any]
    report: dict[str, Any] | None
    trigger: str = "request"


def _run(row: DriftRunRow) -> DriftRunRecord:
    return DriftRunRecord(
        run_id=row.run_id,
        status=row.status,
        done=row.done,
        total=row.total,
        created_at=row.created_at,
        options=json.loads(row.options or "{}"),
        report=json.loads(row.report) if row.status != "RUNNING" else None,
        trigger=row.trigger or "request",
    )


class DriftRunStore:
    def __init__(self, engine: Engine, owner: str) -> None:
        self.engine = engine
        self.owner = owner
        self._running = Running(DriftRunRow, DriftRunRow.run_id)

    def create(self, total: int, options: dict[str, Any], trigger: str = "request") -> str:
        run_id = secrets.token_urlsafe(16)
        with Session(self.engine) as session, session.begin():
            stamp = sql_now(session)
            session.add(
                DriftRunRow(
                    run_id=run_id,
                    status="RUNNING",
                    created_at=stamp,
                    updated_at=stamp,
                    total=total,
                    owner=self.owner,
                    heartbeat_at=stamp,
                    options=json.dumps(options),
                    trigger=trigger,
                )
            )
        self._running.add(run_id)
        return run_id

    def progress(self, run_id: str, done: int) -> None:
        with Session(self.engine) as session, session.begin():
            row = session.get(DriftRunRow, run_id)
            if row is not None and row.status == "RUNNING":
                row.done, row.updated_at = done, sql_now(session)

    def finish(self, run_id: str, status: str, report: dict[str, Any]) -> None:
        """The run's outcome, retried until the database answers (it replaces an expiry's failure)."""

        def write() -> None:
            with Session(self.engine) as session, session.begin():
                row = session.get(DriftRunRow, run_id, with_for_update=True)
                if row is not None and (row.status == "RUNNING" or row.owner == self.owner):
                    row.status, row.report, row.updated_at = status, json.dumps(report), sql_now(session)

        try:
            until_answered(write, f"final status of drift run {run_id[:6]}")
        finally:
            self._running.discard(run_id)

    def get(self, run_id: str) -> DriftRunRecord:
        with Session(self.engine) as session:
            row = session.get(DriftRunRow, run_id)
            if row is None:
                raise TokenUnknown(run_id)
            return _run(row)

    def page(self, *, cursor: str | None = None, limit: int | None = None) -> Page[DriftRunRecord]:
        """The newest runs first, a page at a time."""
        query = select(DriftRunRow)
        return pages.read(
            self.engine, query, DriftRunRow.created_at, DriftRunRow.run_id, _run, cursor=cursor, limit=limit
        )

    def claim_schedule(self, interval: timedelta, name: str = "drift") -> bool:
        """Whether this replica starts the scheduled run now: the interval has passed since the last
        one started (by the database's clock) and no scheduled run still runs. Atomic: of replicas
        asking at once, one is told yes."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        with Session(self.engine) as session, session.begin():
            now = db_now(session)
            session.execute(
                dialect.insert(ScheduleRow)
                .values(name=name, last_started_at=now - interval - timedelta(seconds=1), holder="")
                .on_conflict_do_nothing(index_elements=["name"])
            )
            still_running = (
                select(DriftRunRow.run_id)
                .where(DriftRunRow.trigger == "schedule", DriftRunRow.status == "RUNNING")
                .exists()
            )
            claimed = session.execute(
                update(ScheduleRow)
                .where(ScheduleRow.name == name, ScheduleRow.last_started_at <= now - interval, ~still_running)
                .values(last_started_at=now, holder=self.owner)
            )
            return bool(claimed.rowcount)  # type: ignore[attr-defined]

    def renew(self) -> None:
        self._running.renew(self.engine)

    def release_leases(self) -> None:
        self._running.release(self.engine)

    def fail_expired(self, lease: timedelta) -> list[str]:
        with Session(self.engine) as session, session.begin():
            cutoff = db_now(session) - lease
            rows = session.scalars(
                select(DriftRunRow)
                # Runs from before leases existed have no heartbeat: nobody will finish them either.
                .where(
                    DriftRunRow.status == "RUNNING",
                    or_(DriftRunRow.heartbeat_at.is_(None), DriftRunRow.heartbeat_at < cutoff),
                )
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                row.status, row.updated_at = "FAILED", sql_now(session)
                row.report = json.dumps({"error": ABANDONED})
            return [row.run_id for row in rows]
