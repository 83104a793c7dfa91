"""Engine creation from the standard URL forms; the driver is picked here, not by the user."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from service.errors import ConfigurationError, SchemaNotCurrent

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


def _alembic() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; several replicas starting at once serialise on the database."""
    from alembic import command

    config = _alembic()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727001)")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def head() -> str:
    """The newest schema revision this release knows."""
    from alembic.script import ScriptDirectory

    found = ScriptDirectory.from_config(_alembic()).get_current_head()
    assert found is not None
    return str(found)


def known(revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        return ScriptDirectory.from_config(_alembic()).get_revision(revision) is not None
    except CommandError:
        return False


def revision_of(engine: Engine) -> str | None:
    """The database's schema revision; None when it has none (an empty database). Reads only."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return None if found is None else str(found)


def require_current(engine: Engine, where: str) -> None:
    """Refuse a database that is not at this release's schema: unmigrated, older, or newer (a newer
    release migrated it; running against it would write rows this release does not understand)."""
    try:
        current = revision_of(engine)
    except SQLAlchemyError as exc:
        raise ConfigurationError(f"database {where} is not usable: {exc}") from exc
    wanted = head()
    if current == wanted:
        return
    if current is None:
        why = "has no schema"
    elif not known(current):
        why = f"is at schema {current}, newer than this release knows ({wanted})"
    else:
        why = f"is at schema {current}, older than this release's {wanted}"
    raise SchemaNotCurrent(f"database {where} {why}: run `mwaa-sp db upgrade` (with this release) first")


def make_engine(url: str) -> Engine:
    """An engine for ``url``; nothing is created or migrated by making it."""
    url = normalise_url(url)
    if url.startswith("sqlite:///"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record):  # type: ignore[no-untyped-def]
            # WAL lets status polls read while a task writes.
            cursor = conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    # A dead server or a dropped route must surface as an error within seconds, not hang a
    # thread (or a held lock's watchdog) on a socket that never answers.
    return create_engine(url, pool_pre_ping=True, connect_args=_POSTGRES_CONNECT)


def where(url: str) -> str:
    """A database's address for messages: never its credentials."""
    url = normalise_url(url)
    return url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url.split("@")[-1]


def open_database(url: str, *, upgrade: bool) -> Engine:
    """The database, migrated (``upgrade``: ``serve`` and ``mwaa-sp db upgrade``) or required to be
    at this release's schema already (every other command) — which then creates nothing, not even
    an SQLite file."""
    sqlite_path = normalise_url(url).removeprefix("sqlite:///") if normalise_url(url).startswith("sqlite:///") else None
    if sqlite_path is not None and not upgrade and not Path(sqlite_path).exists():
        raise SchemaNotCurrent(f"there is no database at {sqlite_path}: run `mwaa-sp db upgrade` first")
    try:
        if sqlite_path is not None:
            Path(sqlite_path).parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(url)
        if upgrade:
            current = revision_of(engine)
            if current is not None and not known(current):
                raise SchemaNotCurrent(
                    f"database {where(url)} is at schema {current}, newer than this release knows ({head()}): "
                    "it is not migrated back; run a release that knows it"
                )
            migrate(engine)
    except (SQLAlchemyError, OSError) as exc:
        raise ConfigurationError(f"database {where(url)} is not usable: {exc}") from exc
    if not upgrade:
        require_current(engine, where(url))
    return engine
