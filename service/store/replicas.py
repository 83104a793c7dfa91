"""Processes that run Terraform — service replicas and CLI commands — and their leases.

Each renews its row while it lives. A process whose lease ran out is gone (killed, crashed, its node
lost): the state locks its Terraform runs left can be proven stale (``service.engine.statelock``).
"""

from __future__ import annotations

import getpass
import os
import secrets
import socket
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from service.store.clock import aware, db_now, sql_now
from service.store.models import ReplicaRow

_GONE = datetime(1970, 1, 1, tzinfo=UTC)


def terraform_who() -> str:
    """``user@host``, exactly as Terraform writes ``Who`` into the state locks this process takes
    (Go's ``user.Current().Username`` and ``os.Hostname()``)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = ""
    return f"{user}@{socket.gethostname()}"


class ReplicaStore:
    def __init__(self, engine: Engine, kind: str, replica_id: str | None = None) -> None:
        self.engine = engine
        self.kind = kind
        self.replica_id = replica_id or secrets.token_hex(8)
        self.who = terraform_who()

    def register(self) -> None:
        self.renew()

    def renew(self) -> None:
        """Say this process is alive (creating its row the first time)."""
        with Session(self.engine) as session, session.begin():
            row = session.get(ReplicaRow, self.replica_id)
            stamp = sql_now(session)
            if row is None:
                row = ReplicaRow(replica_id=self.replica_id, who=self.who, kind=self.kind, pid=os.getpid())
                row.started_at = stamp
                session.add(row)
            row.heartbeat_at = stamp

    def release(self) -> None:
        """Give the lease up at once (a clean exit, or a shutdown past its grace)."""
        with Session(self.engine) as session, session.begin():
            row = session.get(ReplicaRow, self.replica_id)
            if row is not None:
                row.heartbeat_at = _GONE

    def last_seen(self, replica_ids: set[str]) -> dict[str, datetime]:
        with Session(self.engine) as session:
            rows = session.query(ReplicaRow).filter(ReplicaRow.replica_id.in_(replica_ids)).all()
            return {r.replica_id: aware(r.heartbeat_at) for r in rows}

    def prune(self, older_than: timedelta) -> int:
        with Session(self.engine) as session, session.begin():
            cutoff = db_now(session) - older_than
            result = session.execute(delete(ReplicaRow).where(ReplicaRow.heartbeat_at < cutoff))
            return int(result.rowcount)  # type: ignore[attr-defined]
