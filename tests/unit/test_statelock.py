"""Whose state lock is it? Judged from the lock's own fields and the run intents recorded before it."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from service.engine.state_backend import LockInfo
from service.engine.statelock import judge
from service.store.runs import RunIntent

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
WHO = "svc@replica-a"


def _intent(command: str = "apply", *, ended: datetime | None = None, started: datetime = T0) -> RunIntent:
    return RunIntent("run-1", "d/p/1/w", "workload", command, "replica-a", WHO, "task", started, ended)


def _lock(created: datetime | None, who: str = WHO, operation: str = "OperationTypeApply") -> LockInfo:
    return LockInfo("lock-1", who, operation, created, "1.15.5")


def test_a_lock_of_a_run_whose_process_is_gone_is_ours_and_dead() -> None:
    seen = {"replica-a": T0 + timedelta(seconds=5)}
    owner = judge(_lock(T0 + timedelta(seconds=2)), [_intent()], seen, T0 + timedelta(minutes=5), LEASE)
    assert owner.verdict == "ours-dead"
    assert owner.intent is not None
    assert owner.intent.run_id == "run-1"


def test_a_lock_of_a_run_still_renewing_its_lease_is_waited_for() -> None:
    now = T0 + timedelta(seconds=30)
    owner = judge(_lock(T0 + timedelta(seconds=2)), [_intent()], {"replica-a": now}, now, LEASE)
    assert owner.verdict == "ours-alive"


def test_a_lock_left_by_a_run_that_ended_is_stale() -> None:
    ended = T0 + timedelta(seconds=10)
    now = T0 + timedelta(seconds=11)
    owner = judge(_lock(T0 + timedelta(seconds=2)), [_intent(ended=ended)], {"replica-a": now}, now, LEASE)
    assert owner.verdict == "ours-ended"


@pytest.mark.parametrize(
    ("lock", "why"),
    [
        (_lock(T0 + timedelta(seconds=2), who="operator@laptop"), "another Who"),
        (_lock(T0 - timedelta(hours=1)), "created before any run of ours"),
        (_lock(T0 + timedelta(hours=1)), "created after the run's window (its replica died long before)"),
        (_lock(T0 + timedelta(seconds=2), operation="OperationTypePlan"), "not the run's operation"),
        (_lock(None), "no creation time to prove anything with"),
    ],
)
def test_anything_else_is_foreign(lock: LockInfo, why: str) -> None:
    seen = {"replica-a": T0 + timedelta(seconds=5)}
    assert judge(lock, [_intent()], seen, T0 + timedelta(minutes=5), LEASE).verdict == "foreign", why


def test_no_intent_recorded_means_foreign() -> None:
    assert judge(_lock(T0), [], {}, T0, LEASE).verdict == "foreign"


def test_terraform_lock_info_is_parsed_as_terraform_writes_it() -> None:
    raw = json.dumps(
        {
            "ID": "0b2c",
            "Operation": "OperationTypeApply",
            "Info": "",
            "Who": "root@host",
            "Version": "1.15.5",
            "Created": "2026-11-24T06:26:31.123456789Z",
            "Path": "bucket/key",
        }
    ).encode()
    info = LockInfo.parse(raw)
    assert info is not None
    assert (info.id, info.who, info.operation) == ("0b2c", "root@host", "OperationTypeApply")
    assert info.created is not None
    assert info.created.tzinfo is not None
    assert "root@host (OperationTypeApply, lock ID 0b2c, since 2026-11-24T06:26:31" in info.describe()
    assert LockInfo.parse(b"not json") is None
    assert LockInfo.parse(b'{"Who": "no id"}') is None


@pytest.mark.parametrize("offset_s", [30.0, -30.0])
def test_a_replica_whose_clock_is_off_still_proves_its_locks(offset_s: float) -> None:
    """Terraform stamps ``Created`` with the replica's clock; the intent's window is in the database's.
    The offset recorded with the intent brings the one into the other — without it, a replica 30 s
    ahead or behind would find its own lock foreign (and wait for an operator)."""
    created = T0 + timedelta(seconds=2 + offset_s)  # two seconds into the run, by the replica's clock
    ended = T0 + timedelta(seconds=10)
    skewed = dataclasses.replace(_intent(ended=ended), clock_offset_s=offset_s)
    later = T0 + timedelta(minutes=5)
    assert judge(_lock(created), [skewed], {}, later, LEASE).verdict == "ours-ended"
    assert judge(_lock(created), [_intent(ended=ended)], {}, later, LEASE).verdict == "foreign"
