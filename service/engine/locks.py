"""The cross-process locks the workload's door holds (``service.engine.door``), so that other threads,
other processes (a CLI command beside the service) and other replicas wait their turn:

- PostgreSQL: a session advisory lock per workload, granted in arrival order, released by the
  server itself when the holder's connection dies (a killed replica leaves nothing behind);
- SQLite (one host): an OS file lock under ``<data dir>/locks``, released by the kernel when the
  holder dies.

A lock held through a connection dies with it, and its holder must find out before it writes: a
watchdog pings the connection every second and marks the lock **lost** the moment it fails (a
running Terraform command is then stopped, see ``service.engine.runner``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from service.errors import LockLost

log = logging.getLogger("mwaa_sp.door")
Waiting = Callable[[], None]
"""Called once when the cross-process lock is held elsewhere and the job has to wait for it."""
PING_S = 1.0
"""How often a held advisory lock's connection is checked (how late a lost lock can be noticed)."""


class Held:
    """A cross-process lock as held by this process: :attr:`lost` is set the moment it died."""

    def __init__(
        self,
        key: str,
        reacquire: Callable[[Held], bool] | None = None,
        confirm: Callable[[], None] | None = None,
    ) -> None:
        self.key = key
        self.lost = threading.Event()
        self.reason = ""
        self._reacquire = reacquire
        self._confirm = confirm

    def is_set(self) -> bool:
        """For Terraform's runner: stop the command, the lock is gone."""
        return self.lost.is_set()

    def mark_lost(self, reason: str) -> None:
        if not self.lost.is_set():
            self.reason = reason
            self.lost.set()
            log.error("workload lock lost", extra={"workload": self.key, "reason": reason})

    def reacquire(self) -> bool:
        """Try once, without waiting, to hold the lock again (after it was lost)."""
        return self._reacquire is not None and self._reacquire(self)

    def confirm(self) -> None:
        """Check the lock now rather than at the watchdog's next ping (marks it lost if it died)."""
        if self._confirm is not None and not self.lost.is_set():
            self._confirm()


class CrossProcessLocks(Protocol):
    def hold(self, key: str, waiting: Waiting) -> AbstractContextManager[Held]: ...

    def free(self, key: str) -> bool:
        """Nobody holds the lock exclusively at this moment (a glance: it may be taken the next instant)."""
        ...


def advisory_lock_id(key: str) -> int:
    """A stable signed 64-bit id for ``pg_advisory_lock``."""
    return int.from_bytes(hashlib.sha256(f"workload:{key}".encode()).digest()[:8], "big", signed=True)


def advisory_lock_parts(key: str) -> tuple[int, int]:
    """How ``pg_locks`` shows the workload's advisory lock: (``classid``, ``objid``), the high and low
    32 bits of its id (``objsubid`` 1)."""
    lock_id = advisory_lock_id(key)
    return (lock_id >> 32) & 0xFFFFFFFF, lock_id & 0xFFFFFFFF


def describe(exc: BaseException) -> str:
    """A database error in one line, at most 300 characters (for a journal or a log)."""
    cause = getattr(exc, "orig", None) or exc
    return " ".join(str(cause).split())[:300] or type(cause).__name__


class _AdvisoryHold:
    """One held advisory lock: its connection and the watchdog pinging it."""

    def __init__(self, engine: Engine, key: str, ping_s: float) -> None:
        self.engine = engine
        self.params = {"id": advisory_lock_id(key)}
        self.ping_s = ping_s
        self.held = Held(key, self._reacquire, self._confirm)
        self._connection: Connection | None = None
        self._using = threading.Lock()
        """The watchdog and :meth:`_confirm` take turns on the connection."""
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None

    def acquire(self, waiting: Waiting) -> None:
        try:
            connection = self.engine.connect()
        except SQLAlchemyError as exc:
            raise LockLost(f"the database could not be reached to take the workload's lock: {describe(exc)}") from exc
        try:
            if not connection.execute(text("SELECT pg_try_advisory_lock(:id)"), self.params).scalar():
                waiting()
                connection.execute(text("SELECT pg_advisory_lock(:id)"), self.params)
            connection.commit()
        except SQLAlchemyError as exc:
            _close(connection)
            raise LockLost(
                f"the database connection was lost while waiting for the workload's lock: {describe(exc)}"
            ) from exc
        self._watch(connection)

    def _watch(self, connection: Connection) -> None:
        self._connection = connection
        self._stop = threading.Event()
        self._watchdog = threading.Thread(target=self._ping, args=(connection, self._stop), daemon=True)
        self._watchdog.start()

    def _ping(self, connection: Connection, stop: threading.Event) -> None:
        while not stop.wait(self.ping_s) and self._check(connection):
            pass

    def _check(self, connection: Connection) -> bool:
        with self._using:
            try:
                connection.execute(text("SELECT 1"))
                connection.commit()
            except SQLAlchemyError as exc:
                self.held.mark_lost(f"its database connection died: {describe(exc)}")
                return False
        return True

    def _confirm(self) -> None:
        connection = self._connection
        if connection is not None:
            self._check(connection)

    def _reacquire(self, held: Held) -> bool:
        self._halt()
        try:
            connection = self.engine.connect()
        except SQLAlchemyError:
            return False
        try:
            got = bool(connection.execute(text("SELECT pg_try_advisory_lock(:id)"), self.params).scalar())
            connection.commit()
        except SQLAlchemyError:
            got = False
        if not got:
            _close(connection)
            return False
        held.lost.clear()
        self._watch(connection)
        return True

    def _halt(self) -> None:
        self._stop.set()
        if self._watchdog is not None and self._watchdog is not threading.current_thread():
            self._watchdog.join()
        connection, self._connection = self._connection, None
        if connection is not None:
            _close(connection)

    def release(self) -> None:
        self._stop.set()
        if self._watchdog is not None:
            self._watchdog.join()
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if not self.held.lost.is_set():
            with contextlib.suppress(SQLAlchemyError):
                connection.execute(text("SELECT pg_advisory_unlock(:id)"), self.params)
                connection.commit()
        _close(connection)  # a dead connection's lock is gone with it


def _close(connection: Connection) -> None:
    with contextlib.suppress(SQLAlchemyError):
        connection.close()


_ADVISORY_HELD = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND mode = 'ExclusiveLock' AND granted"
    " AND objsubid = 1"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND classid = CAST(:high AS oid) AND objid = CAST(:low AS oid))"
)
"""A bigint advisory lock shows in ``pg_locks`` as its high and low 32 bits (``objsubid`` 1)."""


class AdvisoryLocks:
    def __init__(self, engine: Engine, ping_s: float = PING_S) -> None:
        self.engine = engine
        self.ping_s = ping_s

    def free(self, key: str) -> bool:
        high, low = advisory_lock_parts(key)
        try:
            with self.engine.connect() as connection:
                held = connection.scalar(_ADVISORY_HELD, {"high": high, "low": low})
        except SQLAlchemyError:
            return False  # unknown: the caller takes the lock and reads under it
        return not held

    @contextmanager
    def hold(self, key: str, waiting: Waiting) -> Iterator[Held]:
        holding = _AdvisoryHold(self.engine, key, self.ping_s)
        holding.acquire(waiting)
        try:
            yield holding.held
        finally:
            holding.release()


class FileLocks:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        # Lock files are never removed: unlinking a lock file another process is waiting on breaks it.
        return self.directory / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.lock"

    def free(self, key: str) -> bool:
        # The glance takes the lock shared for two system calls: an exclusive taker at that very
        # instant waits that long (and its journal says it waited). flock has no test-only call.
        try:
            fd = os.open(self.path(key), os.O_RDONLY)
        except FileNotFoundError:
            return True  # never taken on this host
        except OSError:
            return False  # unknown: the caller takes the lock and reads under it
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # refused while anyone holds it exclusively
        except OSError:
            return False
        finally:
            os.close(fd)  # and any shared lock with it
        return True

    @contextmanager
    def hold(self, key: str, waiting: Waiting, *, shared: bool = False) -> Iterator[Held]:
        """An OS lock: released by the kernel when the holder dies, never lost while it lives."""
        fd = os.open(self.path(key), os.O_RDWR | os.O_CREAT, 0o600)
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        try:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
            except BlockingIOError:
                waiting()
                fcntl.flock(fd, mode)
            yield Held(key)
        finally:
            os.close(fd)  # releases the lock


def cross_process_locks(engine: Engine, data_dir: Path, ping_s: float = PING_S) -> CrossProcessLocks:
    if engine.dialect.name == "postgresql":
        return AdvisoryLocks(engine, ping_s)
    return FileLocks(data_dir / "locks")
