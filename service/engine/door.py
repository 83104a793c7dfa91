"""The workload's one door: every Terraform run on a workload passes through here.

Inside a process, a workload's jobs run one at a time in submission order on a bounded pool (a
busy workload's later jobs wait in its own FIFO without holding a pool thread, so other workloads
keep running). Around each job the door also holds the workload's **cross-process lock**
(``service.engine.locks``), so that other processes and replicas wait their turn; a lock held
through a database connection can be lost, and its holder finds out before it writes.

Each entry also takes the workload's next **generation** (``service.store.fences``): writes of the
holder check it, so a stale holder's writes are refused even if it did not notice in time. A holder
that lost its lock may take it again (:meth:`DoorPass.ensure_held`) only if nobody entered in between.

A job receives a :class:`DoorPass`; working directories (``service.engine.workspace``) are only opened
with one, so no Terraform run can happen outside the door.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from service.engine.locks import CrossProcessLocks, Held, Waiting, describe
from service.errors import LockLost
from service.metrics import DOOR_JOBS, LOCK_WAIT
from service.store.fences import Fence, FenceStore

log = logging.getLogger("mwaa_sp.door")
T = TypeVar("T")


@dataclass(frozen=True)
class DoorPass:
    """Proof that the holder is inside the door of ``key`` (only the door makes these)."""

    key: str
    _token: object
    held: Held = field(default_factory=lambda: Held(""), compare=False)
    fence: Fence | None = None
    _fences: FenceStore | None = field(default=None, compare=False, repr=False)

    def entered_next_after(self, generation: int) -> bool:
        """This pass's entry was the next after ``generation`` (seen by :meth:`WorkloadDoor.quiet`):
        nobody was inside the door between that look and this entry."""
        return self.fence is not None and self.fence.generation == generation + 1

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

    def quiet(self, key: str) -> int | None:
        """The workload's generation now, if nobody is inside its door (None if someone is, or without
        generations). Reads started after this are what the last holder left if the job's pass then
        shows the next generation (:meth:`DoorPass.entered_next_after`): nobody entered in between."""
        if self._fences is None:
            return None
        with self._guard:
            if key in self._queues:  # a job of this process is queued or inside
                return None
        try:
            generation = self._fences.current(key) or 0
        except SQLAlchemyError:
            return None
        # Generation first, then the lock: whoever enters after the look takes a later generation.
        return generation if self._locks.free(key) else None

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
                f"as the database went down, and its generation could not be taken): {describe(exc)}"
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
