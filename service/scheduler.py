"""Runs tasks on a bounded pool, one at a time per workload, in submission order.

A busy workload's later requests wait in its own FIFO queue without holding a pool thread, so
other workloads keep running in parallel (Terraform's state lock is the last line, not the first).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

Job = tuple[Callable[[], Any], "Future[Any]"]


class Scheduler:
    def __init__(self, max_parallel: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix="mwaa-sp-task")
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queues: dict[str, deque[Job]] = {}

    def submit(self, key: str, fn: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            queue = self._queues.get(key)
            if queue is not None:
                queue.append((fn, future))
                return future
            self._queues[key] = deque()
        self._start(key, (fn, future))
        return future

    def _start(self, key: str, job: Job) -> None:
        fn, future = job

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed to whoever awaits the future
                future.set_exception(exc)
            finally:
                self._next(key)

        self._pool.submit(run)

    def _next(self, key: str) -> None:
        with self._lock:
            queue = self._queues[key]
            if not queue:
                del self._queues[key]
                self._idle.notify_all()
                return
            job = queue.popleft()
        self._start(key, job)

    def drain(self, grace_s: float) -> bool:
        """Wait up to ``grace_s`` for every queued and running job; True when all finished."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._queues, timeout=grace_s)

    def shutdown(self, grace_s: float | None = None) -> bool:
        """Stop taking work; let what runs finish (within ``grace_s`` if given). True when drained."""
        drained = True if grace_s is None else self.drain(grace_s)
        self._pool.shutdown(wait=grace_s is None, cancel_futures=False)
        return drained
