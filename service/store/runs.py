"""Terraform run intents: recorded *before* each Terraform command starts, ended after it stops.

With them, a state lock found later can be proven to be the service's own — its ``Who`` is the
recording process's, it was ``Created`` inside the run's window — with no window in between: the
intent exists before Terraform can take the lock.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from service.store.clock import aware, db_now, local_now, sql_now
from service.store.models import TerraformRunRow
from service.store.replicas import ReplicaStore


@dataclass(frozen=True)
class RunIntent:
    run_id: str
    workload_key: str
    root: str
    command: str
    replica_id: str
    who: str
    task: str | None
    started_at: datetime
    ended_at: datetime | None
    clock_offset_s: float = 0.0
    """The recording process's clock minus the database's: Terraform stamps its locks with the former."""


def _intent(row: TerraformRunRow) -> RunIntent:
    return RunIntent(
        run_id=row.run_id,
        workload_key=row.workload_key,
        root=row.root,
        command=row.command,
        replica_id=row.replica_id,
        who=row.who,
        task=row.task,
        started_at=aware(row.started_at),
        ended_at=aware(row.ended_at) if row.ended_at else None,
        clock_offset_s=row.clock_offset_s or 0.0,
    )


class RunStore:
    def __init__(self, engine: Engine, replica: ReplicaStore) -> None:
        self.engine = engine
        self.replica = replica

    def begin(self, workload_key: str, root: str, command: str, task: str | None) -> str:
        run_id = secrets.token_hex(12)
        with Session(self.engine) as session, session.begin():
            started = db_now(session)
            session.add(
                TerraformRunRow(
                    run_id=run_id,
                    workload_key=workload_key,
                    root=root,
                    command=command,
                    replica_id=self.replica.replica_id,
                    who=self.replica.who,
                    task=task,
                    started_at=started,
                    clock_offset_s=(local_now() - started).total_seconds(),
                )
            )
        return run_id

    def end(self, run_id: str, outcome: str) -> None:
        with Session(self.engine) as session, session.begin():
            row = session.get(TerraformRunRow, run_id)
            if row is not None:
                row.ended_at, row.outcome = sql_now(session), outcome

    def now(self) -> datetime:
        """The database's time (what intents and leases are stamped with)."""
        with Session(self.engine) as session:
            return db_now(session)

    def recent(self, workload_key: str, root: str, limit: int = 20) -> list[RunIntent]:
        """The workload's newest runs of this root module, newest first."""
        query = (
            select(TerraformRunRow)
            .where(TerraformRunRow.workload_key == workload_key, TerraformRunRow.root == root)
            .order_by(TerraformRunRow.started_at.desc())
            .limit(limit)
        )
        with Session(self.engine) as session:
            return [_intent(r) for r in session.scalars(query)]

    def prune(self, older_than: timedelta) -> int:
        with Session(self.engine) as session, session.begin():
            cutoff = db_now(session) - older_than
            result = session.execute(delete(TerraformRunRow).where(TerraformRunRow.started_at < cutoff))
            return int(result.rowcount)  # type: ignore[attr-defined]
