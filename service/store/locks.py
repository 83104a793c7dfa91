"""Per-workload locks across replicas.

Inside one replica the scheduler already runs a workload's tasks one at a time. Replicas sharing a
PostgreSQL database also take a session-level advisory lock per workload for the duration of a task:
PostgreSQL queues waiters in arrival order, and a replica that dies loses its connection and with it
the lock, so nothing is left to expire. SQLite is single-host, single-replica: the scheduler suffices.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text


def lock_id(key: str) -> int:
    """A stable signed 64-bit id for ``pg_advisory_lock``."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


class WorkloadLocks:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.shared = engine.dialect.name == "postgresql"

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        if not self.shared:
            yield
            return
        with self.engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": lock_id(key)})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id(key)})
                connection.commit()
