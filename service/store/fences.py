"""Fencing tokens: a generation per workload, advanced each time someone enters the workload's door.

A cross-process lock held through a database connection dies with that connection; its holder may
not notice at once, and another replica may enter meanwhile. So each entry takes a new generation,
and every write that belongs to the holder of the door (the registry record, key claims, grants)
checks, in its own transaction, that the generation is still the one it entered with: a stale
holder's writes are refused with :class:`~service.errors.LockLost` instead of overwriting the
newer holder's.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.errors import LockLost
from service.store.models import FenceRow


@dataclass(frozen=True)
class Fence:
    """The generation the holder of ``workload_key``'s door entered with."""

    workload_key: str
    generation: int


class FenceStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        # Core, built once: every door entry runs it, and nothing here needs an object.
        self._advance = (
            dialect.insert(FenceRow)
            .values(workload_key=bindparam("key"), generation=1)
            .on_conflict_do_update(index_elements=["workload_key"], set_={"generation": FenceRow.generation + 1})
            .returning(FenceRow.generation)
        )

    def advance(self, workload_key: str) -> Fence:
        """Enter: the workload's next generation (the only writer of generations)."""
        with self.engine.begin() as connection:
            generation = int(connection.execute(self._advance, {"key": workload_key}).scalar_one())
        return Fence(workload_key, generation)

    def current(self, workload_key: str) -> int | None:
        with self.engine.connect() as connection:
            return connection.scalar(_CURRENT, {"key": workload_key})


_CURRENT = select(FenceRow.generation).where(FenceRow.workload_key == bindparam("key"))
_CURRENT_FOR_UPDATE = _CURRENT.with_for_update()


def check_fence(session: Session | Connection, fence: Fence | None) -> None:
    """Inside a write's transaction: refuse it when someone entered the door after ``fence``'s holder.
    ``FOR UPDATE`` makes a concurrent entry wait for this write, or this write see the entry."""
    if fence is None:
        return
    current = session.scalar(_CURRENT_FOR_UPDATE, {"key": fence.workload_key})
    if current != fence.generation:
        raise LockLost(
            f"the lock of workload {fence.workload_key} was lost and taken by another run (generation "
            f"{fence.generation} → {current}): this run's write was refused"
        )
