"""Time across replicas is the database's time.

Leases, heartbeats and expiry are judged by one clock, the database's (``clock_timestamp()`` on
PostgreSQL), so a replica whose own clock runs ahead or behind neither fails another's live work
nor keeps a dead one's alive. SQLite serves one host, whose processes share its clock: there the
time is the process's own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BindParameter, Connection, Engine, bindparam, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import Function


def local_now() -> datetime:
    """This process's clock (for what only this process reads, never for leases)."""
    return datetime.now(UTC)


def _is_postgres(bind: Engine | Connection | Session) -> bool:
    engine = bind if isinstance(bind, Engine | Connection) else bind.get_bind()
    return engine.dialect.name == "postgresql"


def sql_now(bind: Engine | Connection | Session) -> Any:
    """A value for a timestamp column that the database evaluates (PostgreSQL), or this host's time."""
    return func.clock_timestamp() if _is_postgres(bind) else local_now()


def stamp(engine: Engine) -> Function[Any] | BindParameter[Any]:
    """:func:`sql_now` for a statement built once and executed many times: the database's clock
    (PostgreSQL), or this host's read afresh at each execution (SQLite)."""
    if engine.dialect.name == "postgresql":
        return func.clock_timestamp()
    return bindparam("now", callable_=_now_here, unique=True)


def _now_here() -> datetime:
    return local_now()  # looked up at each execution, as sql_now does (a test may set the clock)


def db_now(session: Session) -> datetime:
    """The database's time now, as an aware UTC datetime."""
    if not _is_postgres(session):
        return local_now()
    value = session.execute(select(func.clock_timestamp())).scalar_one()
    return aware(value)


def aware(moment: datetime) -> datetime:
    """SQLite hands naive datetimes back; every time stored here is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
