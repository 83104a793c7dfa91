"""The one owner of work the service does beside its requests: bounded pools by name (async
validations, reverse provisionings, drift runs, S3 reads) and long-lived loops (the drift schedule,
warming the DAG compilers). At shutdown it stops the loops and lets queued and running work finish
within the grace; what is left past it is abandoned (its tasks are failed by their leases)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

log = logging.getLogger("mwaa_sp.background")
T = TypeVar("T")


class Background:
    def __init__(self) -> None:
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._threads: list[threading.Thread] = []
        self._pending: set[Future[Any]] = set()
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        """Set at shutdown: loops end, and nothing new is accepted."""

    def pool(self, name: str, workers: int) -> ThreadPoolExecutor:
        """The bounded pool ``name`` (made on first use with ``workers`` threads)."""
        with self._lock:
            if name not in self._pools:
                self._pools[name] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"mwaa-sp-{name}")
            return self._pools[name]

    def submit(self, name: str, workers: int, call: Callable[[], T]) -> Future[T]:
        """Run ``call`` on the pool ``name``; it counts as work to drain at shutdown."""
        future = self.pool(name, workers).submit(call)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)

    def loop(self, name: str, period_s: float, step: Callable[[], None]) -> None:
        """Call ``step`` every ``period_s`` until shutdown; a failing step is logged, the loop goes on."""

        def run() -> None:
            while not self.stopping.wait(period_s):
                try:
                    step()
                except Exception:
                    log.exception("background loop %s failed", name)

        self._start(name, run)

    def once(self, name: str, call: Callable[[], None]) -> None:
        """Run ``call`` once on a thread of its own (warming up), not waited for at shutdown."""
        self._start(name, call)

    def _start(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=f"mwaa-sp-{name}", daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def shutdown(self, grace_s: float) -> bool:
        """Stop the loops, let submitted work finish within ``grace_s``; whether everything did."""
        self.stopping.set()
        deadline = time.monotonic() + grace_s
        with self._lock:
            pending, pools = list(self._pending), list(self._pools.values())
        for future in pending:
            try:
                future.exception(timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                break
        for pool in pools:
            pool.shutdown(wait=False, cancel_futures=False)
        with self._lock:
            left = [f for f in self._pending if not f.done()]
        if left:
            log.warning("stopped with %d background job(s) unfinished", len(left))
        return not left
