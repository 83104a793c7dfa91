"""Leases: proof of life for this process, its tasks and its drift runs, and the upkeep that fails
what dead processes left RUNNING.

Every ``lease / 4`` seconds (at least once a second) the upkeep renews this process's replica row
and the tasks and drift runs it is running now; a service replica also fails tasks and drift runs
whose owner stopped renewing them (any replica may: the first one to notice), and prunes old rows.
Leases are judged by the database's clock.

A replica that could not reach the database itself for longer than a lease judges nobody until
one more lease has passed: after a database outage every lease looks expired, and the replicas
still running their tasks must first get the chance to renew them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from service.store.drift_runs import DriftRunStore
from service.store.replicas import ReplicaStore
from service.store.runs import RunStore
from service.store.tasks import TaskStore

log = logging.getLogger("mwaa_sp.leases")


class Leases:
    def __init__(
        self,
        replicas: ReplicaStore,
        tasks: TaskStore,
        drift_runs: DriftRunStore,
        runs: RunStore,
        *,
        lease_s: int,
        retention_days: int,
        abandoned: Callable[[str], object],
        upkeep: bool,
    ) -> None:
        self.replicas = replicas
        self.tasks = tasks
        self.drift_runs = drift_runs
        self.runs = runs
        self.lease = timedelta(seconds=lease_s)
        self.retention = timedelta(days=retention_days)
        self.abandoned = abandoned
        self.upkeep = upkeep
        """A service replica fails what dead processes left RUNNING; a CLI command only renews."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reached_at = time.monotonic()
        """When this process last reached the database (monotonic)."""
        self._judge_from = 0.0

    def tick(self) -> None:
        self.replicas.renew()
        self.tasks.renew()
        self.drift_runs.renew()
        reached, self._reached_at = self._reached_at, time.monotonic()
        if self._reached_at - reached > self.lease.total_seconds():
            self._judge_from = self._reached_at + self.lease.total_seconds()
            log.warning("the database was out of reach for longer than a lease: judging no lease for one more")
        if not self.upkeep or time.monotonic() < self._judge_from:
            return
        failed = self.tasks.fail_expired(self.lease, self.abandoned)
        if failed:
            log.warning("failed tasks abandoned by a stopped replica", extra={"tokens": len(failed)})
        runs = self.drift_runs.fail_expired(self.lease)
        if runs:
            log.warning("failed drift runs abandoned by a stopped replica", extra={"runs": len(runs)})
        pruned = self.tasks.prune(self.retention)
        if pruned:
            log.info("pruned finished tasks", extra={"count": pruned})
        self.runs.prune(self.retention)
        self.replicas.prune(self.retention)

    def start(self) -> None:
        self.replicas.register()

        def loop() -> None:
            while True:
                try:
                    self.tick()
                except Exception:
                    log.exception("lease upkeep failed")
                if self._stop.wait(max(1.0, self.lease.total_seconds() / 4)):
                    return

        self._thread = threading.Thread(target=loop, name="mwaa-sp-leases", daemon=True)
        self._thread.start()

    def stop(self, *, drained: bool) -> None:
        """Stop renewing. Drained (nothing runs any more), the process gives its own lease up at
        once. Not drained (shutdown past its grace), it gives up its unfinished tasks' and drift
        runs' leases, so another replica fails them now — but keeps its own lease to expire by
        itself: its interrupted Terraform runs are still stopping and releasing their state locks."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if drained:
            self.replicas.release()
        else:
            self.tasks.release_leases()
            self.drift_runs.release_leases()
