"""The rows this process is running now — tasks or drift runs — and the only leases it renews.

Renewing every RUNNING row a replica id ever owned kept a row alive whose run was lost (its final
write skipped by some path): a token RUNNING for good. A row is renewed from the moment this process
creates it until it writes its final status, and not a moment longer."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from service.store.clock import sql_now

GONE = datetime(1970, 1, 1, tzinfo=UTC)
"""A heartbeat that expires at once (a lease given up)."""


class Running:
    def __init__(self, model: Any, key: InstrumentedAttribute[str]) -> None:
        self._model = model
        self._key = key
        self._ids: set[str] = set()
        self._guard = threading.Lock()

    def add(self, row_id: str) -> None:
        with self._guard:
            self._ids.add(row_id)

    def discard(self, row_id: str) -> None:
        with self._guard:
            self._ids.discard(row_id)

    def __contains__(self, row_id: object) -> bool:
        with self._guard:
            return row_id in self._ids

    def renew(self, engine: Engine) -> int:
        """Stamp the rows this process runs with the database's time now."""
        return self._stamp(engine, None)

    def release(self, engine: Engine) -> int:
        """Give their leases up at once (shutdown past its grace): another replica fails them now."""
        return self._stamp(engine, GONE)

    def _stamp(self, engine: Engine, moment: datetime | None) -> int:
        with self._guard:
            ids = list(self._ids)
        if not ids:
            return 0
        with Session(engine) as session, session.begin():
            result = session.execute(
                update(self._model)
                .where(self._key.in_(ids), self._model.status == "RUNNING")
                .values(heartbeat_at=sql_now(session) if moment is None else moment)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]
