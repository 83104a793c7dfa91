"""Engine creation from the standard URL forms; the driver is picked here, not by the user."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError

from service.errors import ConfigurationError
from service.store.models import Base


def normalise_url(url: str) -> str:
    """``postgresql://`` / ``postgres://`` → psycopg 3; sqlite stays as it is."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


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
            engine = create_engine(url, pool_pre_ping=True)
        Base.metadata.create_all(engine)
    except (SQLAlchemyError, OSError) as exc:
        raise ConfigurationError(f"database {url.split('@')[-1]} is not usable: {exc}") from exc
    return engine
