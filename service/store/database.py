"""Engine creation from the standard URL forms; the driver is picked here, not by the user."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from service.errors import ConfigurationError

MIGRATIONS = Path(__file__).with_name("migrations")
log = logging.getLogger("mwaa_sp.store")
T = TypeVar("T")
_WARN_EVERY_S = 30.0
_BACKOFF_MAX_S = 5.0


_POSTGRES_CONNECT = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 3,
    "keepalives_count": 3,
    "tcp_user_timeout": 20_000,
}


def unreachable(exc: BaseException) -> bool:
    """A database error that says nothing about the write itself: the database did not answer
    (a stopped server, a dropped connection, a locked SQLite file)."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def until_answered(write: Callable[[], T], what: str) -> T:
    """``write``, retried while the database does not answer: a task's final status must land, or
    its token would stay RUNNING with nobody left to end it (a replica's lease upkeep would fail it,
    contradicting what its run did)."""
    delay, warned = 0.2, float("-inf")
    while True:
        try:
            return write()
        except SQLAlchemyError as exc:
            if not unreachable(exc):
                raise
            if time.monotonic() - warned > _WARN_EVERY_S:
                warned = time.monotonic()
                log.warning("database unreachable; retrying", extra={"write": what, "error": str(exc).split("\n")[0]})
            time.sleep(delay)
            delay = min(delay * 2, _BACKOFF_MAX_S)


def normalise_url(url: str) -> str:
    """``postgresql://`` / ``postgres://`` → psycopg 3; sqlite stays as it is."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; several replicas starting at once serialise on the database."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727001)")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    try:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(conn, _record):  # type: ignore[no-untyped-def]
                # WAL lets status polls read while a task writes.
                cursor = conn.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.close()

        else:
            # A dead server or a dropped route must surface as an error within seconds, not hang a
            # thread (or a held lock's watchdog) on a socket that never answers.
            engine = create_engine(url, pool_pre_ping=True, connect_args=_POSTGRES_CONNECT)
        migrate(engine)
    except (SQLAlchemyError, OSError) as exc:
        raise ConfigurationError(f"database {url.split('@')[-1]} is not usable: {exc}") from exc
    return engine
