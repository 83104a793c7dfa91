"""Terraform state locks that outlive their process (the S3 backend's ``<state key>.tflock``).

A lock is proven to be the service's own from what Terraform writes into it and the intent recorded
before every run (``service.store.runs``): the lock's ``Who`` is the recording process's ``user@host``,
it was ``Created`` inside the run's window (after the intent, before the run ended or its process's
lease ran out) and its ``Operation`` is the run's command. There is no window: the intent exists
before Terraform can take the lock. Then:

- the run has ended, or its process's lease ran out → the lock is stale: released;
- the run's process still renews its lease → waited for, until the lock goes or the lease runs out;
- anything else (an engineer's own ``terraform apply``: another ``Who``, or a time no run of ours
  covers) is **never deleted**: it is reported by name, and Terraform waits for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from service.engine.state_backend import LockInfo, StateBackend
from service.store.replicas import ReplicaStore
from service.store.runs import RunIntent, RunStore

LockVerdict = Literal["ours-ended", "ours-dead", "ours-alive", "foreign"]
_OPERATIONS = {"plan": "OperationTypePlan", "apply": "OperationTypeApply"}
# Terraform stamps ``Created`` with the clock of the replica that ran it, whose offset from the
# database's clock each intent records; this only absorbs rounding and the offset's drift since.
_SKEW = timedelta(seconds=1)
_POLL_S = 0.5


@dataclass(frozen=True)
class Ownership:
    verdict: LockVerdict
    intent: RunIntent | None = None


def judge(
    lock: LockInfo, intents: list[RunIntent], last_seen: dict[str, datetime], at: datetime, lease: timedelta
) -> Ownership:
    """Whose lock this is, from the lock's own fields and the recorded run intents (pure). Every time
    is the database's but the lock's ``Created``, which each intent's clock offset brings into it."""
    if lock.created is None:
        return Ownership("foreign")
    for intent in intents:
        if intent.who != lock.who:
            continue
        expected = _OPERATIONS.get(intent.command)
        if expected and lock.operation and lock.operation != expected:
            continue
        seen = last_seen.get(intent.replica_id)
        window_end = intent.ended_at or ((seen or intent.started_at) + lease)
        created = lock.created - timedelta(seconds=intent.clock_offset_s)
        if not (intent.started_at - _SKEW <= created <= window_end + _SKEW):
            continue
        if intent.ended_at is not None:
            return Ownership("ours-ended", intent)
        if seen is None or at - seen > lease:
            return Ownership("ours-dead", intent)
        return Ownership("ours-alive", intent)
    return Ownership("foreign")


class StateLocks:
    def __init__(
        self, backend: StateBackend, runs: RunStore, replicas: ReplicaStore, lease_s: float, lock_timeout_s: float
    ) -> None:
        self.backend = backend
        self.runs = runs
        self.replicas = replicas
        self.lease = timedelta(seconds=lease_s)
        self.lock_timeout_s = lock_timeout_s

    def ownership(self, lock: LockInfo, workload_key: str, root: str) -> Ownership:
        intents = self.runs.recent(workload_key, root)
        seen = self.replicas.last_seen({i.replica_id for i in intents})
        return judge(lock, intents, seen, self.runs.now(), self.lease)

    def clear(self, state_key: str, workload_key: str, root: str, say: Callable[[str, str], None]) -> None:
        """Before a run: release a stale lock of ours; wait for a live one of ours; report others."""
        if not self.backend.locks_outlive_processes:
            return
        deadline = time.monotonic() + self.lease.total_seconds() + self.lock_timeout_s
        waiting_for: str | None = None
        while (lock := self.backend.lock(state_key)) is not None:
            owner = self.ownership(lock, workload_key, root)
            if owner.verdict in ("ours-ended", "ours-dead"):
                assert owner.intent is not None
                if self.backend.remove_lock(state_key, lock.id):
                    how = "ended" if owner.verdict == "ours-ended" else "lost its process (lease expired)"
                    say(
                        "WARNING",
                        f"released state lock {lock.id}: left by this service's {owner.intent.command} run "
                        f"{owner.intent.run_id}, which {how}",
                    )
                continue
            if owner.verdict == "foreign":
                say(
                    "WARNING",
                    f"state is locked by {lock.describe()}, which is not a run of this service: "
                    f"left alone; Terraform waits up to {self.lock_timeout_s:g} s for it",
                )
                return
            assert owner.intent is not None
            if waiting_for != lock.id:
                waiting_for = lock.id
                say(
                    "INFO",
                    f"state is locked by this service's run {owner.intent.run_id} on replica "
                    f"{owner.intent.replica_id}, still alive: waiting for it to end or for its lease to run out",
                )
            if time.monotonic() > deadline:
                return
            time.sleep(_POLL_S)

    def holder(self, state_key: str) -> LockInfo | None:
        return self.backend.lock(state_key)
