"""The task store: the only owner of task status transitions (RUNNING → COMPLETED | FAILED)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from service.errors import TokenUnknown
from service.store.models import TaskRow

TaskKind = Literal["provision", "unprovision", "validate", "reverse"]
Status = Literal["RUNNING", "COMPLETED", "FAILED"]


@dataclass(frozen=True)
class Task:
    token: str
    kind: TaskKind
    status: Status
    body: dict[str, Any]


def now() -> datetime:
    return datetime.now(UTC)


class TaskStore:
    def __init__(self, engine: Engine, owner: str | None = None) -> None:
        self.engine = engine
        self.owner = owner or secrets.token_hex(8)
        """This replica's id: it owns the tasks it starts and renews their leases."""

    def create(self, kind: TaskKind, component_id: str | None, body: dict[str, Any]) -> str:
        """A new RUNNING task, in the database before its token is returned; the token is
        unguessable (192 random bits)."""
        token = secrets.token_urlsafe(24)
        with Session(self.engine) as session, session.begin():
            session.add(
                TaskRow(
                    token=token,
                    kind=kind,
                    component_id=component_id,
                    status="RUNNING",
                    created_at=now(),
                    updated_at=now(),
                    body=json.dumps(body),
                    owner=self.owner,
                    heartbeat_at=now(),
                )
            )
        return token

    def renew(self) -> int:
        """Renew the leases of this replica's running tasks."""
        with Session(self.engine) as session, session.begin():
            result = session.execute(
                update(TaskRow)
                .where(TaskRow.owner == self.owner, TaskRow.status == "RUNNING")
                .values(heartbeat_at=now())
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def release_leases(self) -> int:
        """On shutdown past its grace period: give up this replica's leases at once, so another replica
        fails the unfinished tasks now rather than when the leases would have run out."""
        with Session(self.engine) as session, session.begin():
            result = session.execute(
                update(TaskRow)
                .where(TaskRow.owner == self.owner, TaskRow.status == "RUNNING")
                .values(heartbeat_at=datetime(1970, 1, 1, tzinfo=UTC))
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def progress(self, token: str, body: dict[str, Any]) -> None:
        """The body a RUNNING task answers with so far (its logs grow as phases start)."""
        with Session(self.engine) as session, session.begin():
            row = session.get(TaskRow, token)
            if row is not None and row.status == "RUNNING":
                row.body = json.dumps(body)
                row.updated_at = now()

    def prune(self, older_than: timedelta) -> int:
        """Delete finished tasks last updated before ``older_than`` ago (their tokens then answer 400)."""
        cutoff = now() - older_than
        with Session(self.engine) as session, session.begin():
            result = session.execute(delete(TaskRow).where(TaskRow.status != "RUNNING", TaskRow.updated_at < cutoff))
            return int(result.rowcount)  # type: ignore[attr-defined]

    def fail_expired(self, lease: timedelta, body: Callable[[str], dict[str, Any]]) -> list[str]:
        """FAIL every RUNNING task whose lease ran out (its replica died or was killed): a token
        never stays RUNNING forever. Returns the tokens failed."""
        cutoff = now() - lease
        with Session(self.engine) as session, session.begin():
            rows = session.scalars(
                select(TaskRow)
                .where(TaskRow.status == "RUNNING", TaskRow.heartbeat_at < cutoff)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                row.status, row.body, row.updated_at = "FAILED", json.dumps(body(row.kind)), now()
            return [row.token for row in rows]

    def finish(self, token: str, status: Status, body: dict[str, Any]) -> None:
        if status == "RUNNING":
            raise ValueError("a task finishes COMPLETED or FAILED")
        with Session(self.engine) as session, session.begin():
            row = session.get(TaskRow, token)
            if row is None:
                raise TokenUnknown(token)
            if row.status != "RUNNING":
                raise ValueError(f"task {token} already finished as {row.status}")
            row.status = status
            row.body = json.dumps(body)
            row.updated_at = now()

    def get(self, token: str, kinds: Iterable[TaskKind]) -> Task:
        with Session(self.engine) as session:
            row = session.get(TaskRow, token)
            if row is None or row.kind not in set(kinds):
                raise TokenUnknown(token)
            return Task(row.token, row.kind, row.status, json.loads(row.body))  # type: ignore[arg-type]
