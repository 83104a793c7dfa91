"""The lease upkeep: it renews what this process runs, fails what dead processes left RUNNING — and
after it could not reach the database itself for longer than a lease, it judges nobody for one more
lease, so that replicas still running their tasks get the chance to renew them first."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.leases import Leases
from service.store.clock import local_now
from service.store.database import open_database
from service.store.drift_runs import DriftRunStore
from service.store.models import TaskRow
from service.store.replicas import ReplicaStore
from service.store.runs import RunStore
from service.store.tasks import TaskStore

LEASE_S = 60


def _leases(engine: sa.Engine, owner: str) -> tuple[Leases, TaskStore]:
    replicas = ReplicaStore(engine, "service", owner)
    tasks = TaskStore(engine, owner)
    leases = Leases(
        replicas,
        tasks,
        DriftRunStore(engine, owner),
        RunStore(engine, replicas),
        lease_s=LEASE_S,
        retention_days=30,
        abandoned=lambda kind: {"status": "FAILED", "abandoned": kind},
        upkeep=True,
    )
    return leases, tasks


def test_a_judge_back_from_an_outage_waits_one_lease(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}", upgrade=True)
    judge, tasks = _leases(engine, "judge")
    _, other = _leases(engine, "other")
    token = other.create("provision", "urn:a", {})
    with engine.begin() as conn:  # its replica has been silent for two leases
        conn.execute(sa.update(TaskRow).values(heartbeat_at=local_now() - timedelta(seconds=2 * LEASE_S)))

    clock = [time.monotonic()]
    monkeypatch.setattr("service.leases.time.monotonic", lambda: clock[0])
    judge._reached_at = clock[0] - 3 * LEASE_S  # noqa: SLF001 - the database was out of its reach that long
    judge.tick()
    assert tasks.get(token, ["provision"]).status == "RUNNING"  # judged by nobody yet
    clock[0] += LEASE_S / 2
    judge.tick()
    assert tasks.get(token, ["provision"]).status == "RUNNING"
    clock[0] += LEASE_S
    judge.tick()  # one lease on, its replica had every chance to renew: it is judged
    assert tasks.get(token, ["provision"]).body == {"status": "FAILED", "abandoned": "provision"}


def test_an_upkeep_in_reach_judges_at_once(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}", upgrade=True)
    judge, tasks = _leases(engine, "judge")
    _, other = _leases(engine, "other")
    token = other.create("provision", "urn:a", {})
    with engine.begin() as conn:
        conn.execute(sa.update(TaskRow).values(heartbeat_at=local_now() - timedelta(seconds=2 * LEASE_S)))
    judge.tick()
    assert tasks.get(token, ["provision"]).status == "FAILED"
