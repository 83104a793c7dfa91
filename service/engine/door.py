"""The workload's one door: every Terraform run on a workload passes through here.

Inside a process, a workload's jobs run one at a time in submission order on a bounded pool (a
busy workload's later jobs wait in its own FIFO without holding a pool thread, so other workloads
keep running). Around each job the door also holds the workload's **cross-process lock**, so that
other threads, other processes (a CLI command beside the service) and other replicas wait their turn:

- PostgreSQL: a session advisory lock per workload, granted in arrival order, released by the
  server itself when the holder's connection dies (a killed replica leaves nothing behind);
- SQLite (one host): an OS file lock under ``<data dir>/locks``, released by the kernel when the
  holder dies.

A lock held through a connection dies with it, and its holder must find out before it writes: a
watchdog pings the connection every second and marks the lock **lost** the moment it fails (a
running Terraform command is then stopped, see ``service.engine.runner``). Each entry also takes
the workload's next **generation** (``service.store.fences``): writes of the holder check it, so a
stale holder's writes are refused even if it did not notice in time. A holder that lost its lock
may take it again (:meth:`DoorPass.ensure_held`) only if nobody entered in between.

A job receives a :class:`DoorPass`; working directories (``service.engine.workspace``) are only opened
with one, so no Terraform run can happen outside the door.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from service.errors import LockLost
from service.metrics import DOOR_JOBS, LOCK_WAIT
from service.store.fences import Fence, FenceStore

log = logging.getLogger("mwaa_sp.door")
T = TypeVar("T")
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


@dataclass(frozen=True)
class DoorPass:
    """Proof that the holder is inside the door of ``key`` (only the door makes these)."""

    key: str
    _token: object
    held: Held = field(default_factory=lambda: Held(""), compare=False)
    fence: Fence | None = None
    _fences: FenceStore | None = field(default=None, compare=False, repr=False)

    def ensure_held(self) -> None:
        """Before applying or recording: still the holder (checked now)? A lost lock is taken again
        only when free and nobody entered since (same generation); otherwise :class:`LockLost`."""
        self.held.confirm()
        if not self.held.lost.is_set():
            return
        if self.held.reacquire() and (
            self.fence is None or self._fences is None or self._fences.current(self.key) == self.fence.generation
        ):
            log.warning("workload lock taken again", extra={"workload": self.key})
            return
        raise LockLost(f"the lock of workload {self.key} was lost ({self.held.reason}) and could not be taken again")


class CrossProcessLocks(Protocol):
    def hold(self, key: str, waiting: Waiting) -> AbstractContextManager[Held]: ...


def advisory_lock_id(key: str) -> int:
    """A stable signed 64-bit id for ``pg_advisory_lock``."""
    return int.from_bytes(hashlib.sha256(f"workload:{key}".encode()).digest()[:8], "big", signed=True)


def _describe(exc: BaseException) -> str:
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
            raise LockLost(f"the database could not be reached to take the workload's lock: {_describe(exc)}") from exc
        try:
            if not connection.execute(text("SELECT pg_try_advisory_lock(:id)"), self.params).scalar():
                waiting()
                connection.execute(text("SELECT pg_advisory_lock(:id)"), self.params)
            connection.commit()
        except SQLAlchemyError as exc:
            _close(connection)
            raise LockLost(
                f"the database connection was lost while waiting for the workload's lock: {_describe(exc)}"
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
                self.held.mark_lost(f"its database connection died: {_describe(exc)}")
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


class AdvisoryLocks:
    def __init__(self, engine: Engine, ping_s: float = PING_S) -> None:
        self.engine = engine
        self.ping_s = ping_s

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


_Job = tuple[Callable[[DoorPass], Any], "Future[Any]", Waiting, Callable[[], None]]


class WorkloadDoor:
    def __init__(self, max_parallel: int, locks: CrossProcessLocks, fences: FenceStore | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix="mwaa-sp-door")
        self._locks = locks
        self._fences = fences
        self._guard = threading.Lock()
        self._idle = threading.Condition(self._guard)
        self._queues: dict[str, deque[_Job]] = {}
        self._token = object()

    def submit(self, key: str, job: Callable[[DoorPass], T], waiting: Waiting | None = None) -> Future[T]:
        """Queue ``job`` behind the workload's earlier jobs; it runs holding the workload's lock."""
        return self.enqueue(key, job, waiting)[0]

    def enqueue(
        self,
        key: str,
        job: Callable[[DoorPass], T],
        waiting: Waiting | None = None,
        entered: Callable[[], None] = lambda: None,
    ) -> tuple[Future[T], int]:
        """:meth:`submit`, also saying how many of the workload's jobs this process runs before it.
        ``entered`` is called the moment the lock is held, before the generation is written: reads
        that must see what the last holder left can start there and overlap that write."""
        future: Future[T] = Future()
        entry: _Job = (job, future, waiting or (lambda: None), entered)
        DOOR_JOBS.labels("queued").inc()
        with self._guard:
            queue = self._queues.get(key)
            if queue is not None:
                queue.append(entry)
                return future, len(queue)
            self._queues[key] = deque()
        self._start(key, entry)
        return future, 0

    def run(self, key: str, job: Callable[[DoorPass], T], waiting: Waiting | None = None) -> T:
        """Submit and wait (must not be called from a job of the same workload: it would wait for itself)."""
        return self.submit(key, job, waiting).result()

    def _start(self, key: str, entry: _Job) -> None:
        job, future, waiting, entered = entry

        def run() -> None:
            DOOR_JOBS.labels("queued").dec()
            DOOR_JOBS.labels("running").inc()
            try:
                if future.set_running_or_notify_cancel():
                    asked = time.monotonic()
                    with self._locks.hold(key, waiting) as held:
                        LOCK_WAIT.labels("workload").observe(time.monotonic() - asked)
                        entered()
                        fence = self._enter(key)
                        future.set_result(job(DoorPass(key, self._token, held, fence, self._fences)))
            except BaseException as exc:  # noqa: BLE001 - handed to whoever awaits the future
                future.set_exception(exc)
            finally:
                DOOR_JOBS.labels("running").dec()
                self._next(key)

        self._pool.submit(run)

    def _next(self, key: str) -> None:
        with self._guard:
            queue = self._queues[key]
            if not queue:
                del self._queues[key]
                self._idle.notify_all()
                return
            entry = queue.popleft()
        self._start(key, entry)

    @contextmanager
    def exclusive(self, door_pass: DoorPass, key: str) -> Iterator[DoorPass]:
        """A second lock, taken from inside a workload's door (always after it, and several in sorted
        order, so two holders never wait for each other): for what spans workloads — an IAM
        principal's one policy, which several workloads' grants make. It yields a pass of its own,
        with its own generation, so the principal's working directory opens with it."""
        self.check(door_pass, door_pass.key)
        with self._locks.hold(key, lambda: None) as held:
            yield DoorPass(key, self._token, held, self._enter(key), self._fences)

    def _enter(self, key: str) -> Fence | None:
        """The generation of a lock just taken. A waiter's lock can be granted as the database goes
        down (the holder's session ended first): with no generation there is no entry, and the job
        fails as one whose wait was cut short, not as an internal error."""
        if self._fences is None:
            return None
        try:
            return self._fences.advance(key)
        except SQLAlchemyError as exc:
            raise LockLost(
                "the database connection was lost while waiting for the workload's lock (it was granted "
                f"as the database went down, and its generation could not be taken): {_describe(exc)}"
            ) from exc

    def check(self, door_pass: DoorPass, key: str) -> None:
        """Refuse a pass that this door did not issue, or that is for another workload."""
        if door_pass._token is not self._token or door_pass.key != key:  # noqa: SLF001 - our own token
            raise RuntimeError(f"a Terraform run on {key} outside its workload's door")

    def drain(self, grace_s: float) -> bool:
        """Wait up to ``grace_s`` for every queued and running job; True when all finished."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._queues, timeout=grace_s)

    def shutdown(self, grace_s: float | None = None) -> bool:
        """Stop taking work; let what runs finish (within ``grace_s`` if given). True when drained."""
        drained = True if grace_s is None else self.drain(grace_s)
        self._pool.shutdown(wait=grace_s is None, cancel_futures=False)
        return drained
