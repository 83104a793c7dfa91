"""The task store: the only owner of task status transitions (RUNNING → COMPLETED | FAILED).

Every task ends. A replica renews the lease only of tasks it is running *now* (the ones it created
and has not finished), so a task whose run was lost — whatever the path — stops being renewed and
is failed by whichever replica notices, by the database's clock. The run's own final status is
written with retries until the database answers, and it replaces a failure written meanwhile by
lease expiry: the token ends telling what the run really did.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec
from sqlalchemy import Engine, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from service.errors import TokenUnknown
from service.store.clock import db_now, local_now, sql_now, stamp
from service.store.database import until_answered
from service.store.models import TaskRow
from service.store.running import Running

TaskKind = Literal["provision", "unprovision", "validate", "reverse"]
Status = Literal["RUNNING", "COMPLETED", "FAILED"]
log = logging.getLogger("mwaa_sp.tasks")


@dataclass(frozen=True)
class Task:
    token: str
    kind: TaskKind
    status: Status
    body: dict[str, Any]


def now() -> datetime:
    """This process's clock, for what no other replica judges (kept for callers that stamp bodies)."""
    return local_now()


class TaskStore:
    def __init__(self, engine: Engine, owner: str | None = None) -> None:
        self.engine = engine
        self.owner = owner or secrets.token_hex(8)
        """This replica's id: it owns the tasks it starts and renews their leases while it runs them."""
        self._running = Running(TaskRow, TaskRow.token)
        # Built once: every provision, validate and no-op runs these, and building a statement
        # (its values coerced, its cache key computed) cost more than executing it.
        now = stamp(engine)
        columns = ("token", "kind", "component_id", "status", "body", "owner")
        self._insert = insert(TaskRow).values(
            {c: bindparam(c) for c in columns} | {"created_at": now, "updated_at": now, "heartbeat_at": stamp(engine)}
        )
        self._status = (
            select(TaskRow.status, TaskRow.ended_by).where(TaskRow.token == bindparam("token")).with_for_update()
        )
        self._end = (
            update(TaskRow)
            .where(TaskRow.token == bindparam("of"))
            .values(status=bindparam("to"), body=bindparam("body"), ended_by="owner", updated_at=stamp(engine))
        )

    def create(self, kind: TaskKind, component_id: str | None, body: object) -> str:
        """A new RUNNING task, in the database before its token is returned; the token is
        unguessable (192 random bits). The caller must end it (:meth:`finish`)."""
        token = secrets.token_urlsafe(24)
        values = {"token": token, "kind": kind, "component_id": component_id, "status": "RUNNING", "owner": self.owner}
        with self.engine.begin() as connection:
            connection.execute(self._insert, values | {"body": _encoded(body)})
        self._running.add(token)
        return token

    def running_here(self, token: str) -> bool:
        """Whether this process started ``token`` and has not finished it yet."""
        return token in self._running

    def renew(self) -> int:
        """Renew the leases of the tasks this process is running now, and of no other."""
        return self._running.renew(self.engine)

    def release_leases(self) -> int:
        """On shutdown past its grace period: give up this process's leases at once, so another
        replica fails the unfinished tasks now rather than when the leases would have run out."""
        return self._running.release(self.engine)

    def progress(self, token: str, body: object) -> None:
        """The body a RUNNING task answers with so far (its logs grow as phases start)."""
        with Session(self.engine) as session, session.begin():
            row = session.get(TaskRow, token)
            if row is not None and row.status == "RUNNING":
                row.body = _encoded(body)
                row.updated_at = sql_now(session)

    def prune(self, older_than: timedelta) -> int:
        """Delete finished tasks last updated before ``older_than`` ago (their tokens then answer 400)."""
        with Session(self.engine) as session, session.begin():
            cutoff = db_now(session) - older_than
            result = session.execute(delete(TaskRow).where(TaskRow.status != "RUNNING", TaskRow.updated_at < cutoff))
            return int(result.rowcount)  # type: ignore[attr-defined]

    def fail_expired(self, lease: timedelta, body: Callable[[str], object]) -> list[str]:
        """FAIL every RUNNING task whose lease ran out by the database's clock (its replica died, or
        lost it): a token never stays RUNNING forever. Returns the tokens failed."""
        with Session(self.engine) as session, session.begin():
            cutoff = db_now(session) - lease
            rows = session.scalars(
                select(TaskRow)
                .where(TaskRow.status == "RUNNING", TaskRow.heartbeat_at < cutoff)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                row.status, row.body, row.ended_by = "FAILED", _encoded(body(row.kind)), "lease"
                row.updated_at = sql_now(session)
            return [row.token for row in rows]

    def finish(self, token: str, status: Status, body: object) -> None:
        """The task's outcome, retried until the database answers. It replaces a failure that lease
        expiry wrote meanwhile (the run's own outcome is the truth), never another final status."""
        if status == "RUNNING":
            raise ValueError("a task finishes COMPLETED or FAILED")
        try:
            until_answered(lambda: self._finish(token, status, body), f"final status of task {token[:6]}")
        finally:
            self._running.discard(token)

    def _finish(self, token: str, status: Status, body: object) -> None:
        with self.engine.begin() as connection:
            row = connection.execute(self._status, {"token": token}).first()
            if row is None:
                raise TokenUnknown(token)
            if row.status != "RUNNING":
                if row.ended_by != "lease":
                    raise ValueError(f"task {token} already finished as {row.status}")
                log.warning(
                    "task failed by lease expiry while its run went on; its own outcome replaces that",
                    extra={"token": token[:6], "status": status},
                )
            connection.execute(self._end, {"of": token, "to": status, "body": _encoded(body)})

    def get(self, token: str, kinds: Iterable[TaskKind]) -> Task:
        with Session(self.engine) as session:
            row = session.get(TaskRow, token)
            if row is None or row.kind not in set(kinds):
                raise TokenUnknown(token)
            return Task(row.token, row.kind, row.status, json.loads(row.body))  # type: ignore[arg-type]


def _encoded(body: object) -> str:
    """A body (a contract type, or JSON-ready builtins) as the row keeps it."""
    return msgspec.json.encode(body).decode()
