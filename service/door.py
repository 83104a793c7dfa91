"""The workload's one door: every Terraform run on a workload passes through here.

Inside a process, a workload's jobs run one at a time in submission order on a bounded pool (a
busy workload's later jobs wait in its own FIFO without holding a pool thread, so other workloads
keep running). Around each job the door also holds the workload's **cross-process lock**, so that
other threads, other processes (a CLI command beside the service) and other replicas wait their turn:

- PostgreSQL: a session advisory lock per workload, granted in arrival order, released by the
  server itself when the holder's connection dies (a killed replica leaves nothing behind);
- SQLite (one host): an OS file lock under ``<data dir>/locks``, released by the kernel when the
  holder dies.

A job receives a :class:`DoorPass`; working directories (``service.workspace``) are only opened
with one, so no Terraform run can happen outside the door.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine, text

T = TypeVar("T")
Waiting = Callable[[], None]
"""Called once when the cross-process lock is held elsewhere and the job has to wait for it."""


@dataclass(frozen=True)
class DoorPass:
    """Proof that the holder is inside the door of ``key`` (only the door makes these)."""

    key: str
    _token: object


class CrossProcessLocks(Protocol):
    def hold(self, key: str, waiting: Waiting) -> AbstractContextManager[None]: ...


def advisory_lock_id(key: str) -> int:
    """A stable signed 64-bit id for ``pg_advisory_lock``."""
    return int.from_bytes(hashlib.sha256(f"workload:{key}".encode()).digest()[:8], "big", signed=True)


class AdvisoryLocks:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def hold(self, key: str, waiting: Waiting) -> Iterator[None]:
        lock = {"id": advisory_lock_id(key)}
        with self.engine.connect() as connection:
            got = connection.execute(text("SELECT pg_try_advisory_lock(:id)"), lock).scalar()
            if not got:
                waiting()
                connection.execute(text("SELECT pg_advisory_lock(:id)"), lock)
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:id)"), lock)
                connection.commit()


class FileLocks:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        # Lock files are never removed: unlinking a lock file another process is waiting on breaks it.
        return self.directory / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.lock"

    @contextmanager
    def hold(self, key: str, waiting: Waiting) -> Iterator[None]:
        fd = os.open(self.path(key), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                waiting()
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock


def cross_process_locks(engine: Engine, data_dir: Path) -> CrossProcessLocks:
    if engine.dialect.name == "postgresql":
        return AdvisoryLocks(engine)
    return FileLocks(data_dir / "locks")


_Job = tuple[Callable[[DoorPass], Any], "Future[Any]", Waiting]


class WorkloadDoor:
    def __init__(self, max_parallel: int, locks: CrossProcessLocks) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix="mwaa-sp-door")
        self._locks = locks
        self._guard = threading.Lock()
        self._idle = threading.Condition(self._guard)
        self._queues: dict[str, deque[_Job]] = {}
        self._token = object()

    def submit(self, key: str, job: Callable[[DoorPass], T], waiting: Waiting | None = None) -> Future[T]:
        """Queue ``job`` behind the workload's earlier jobs; it runs holding the workload's lock."""
        return self.enqueue(key, job, waiting)[0]

    def enqueue(self, key: str, job: Callable[[DoorPass], T], waiting: Waiting | None = None) -> tuple[Future[T], int]:
        """:meth:`submit`, also saying how many of the workload's jobs this process runs before it."""
        future: Future[T] = Future()
        entry: _Job = (job, future, waiting or (lambda: None))
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
        job, future, waiting = entry

        def run() -> None:
            try:
                if future.set_running_or_notify_cancel():
                    with self._locks.hold(key, waiting):
                        future.set_result(job(DoorPass(key, self._token)))
            except BaseException as exc:  # noqa: BLE001 - handed to whoever awaits the future
                future.set_exception(exc)
            finally:
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
    def exclusive(self, door_pass: DoorPass, name: str) -> Iterator[None]:
        """A second, service-wide lock taken from inside a workload's door (always in that order, so
        two holders never wait for each other): for decisions spanning workloads."""
        self.check(door_pass, door_pass.key)
        with self._locks.hold(f"service:{name}", lambda: None):
            yield

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
