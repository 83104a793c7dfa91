"""The no-op's own writes — an unchanged provision's outcome, fenced, and its task's end — on SQLite
and on PostgreSQL: the outcome lands only for the door's holder, also when an entry races the write,
and a task ends once, its own outcome replacing a failure by lease expiry."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from service.domain.deployment import Deployed
from service.domain.descriptor import parse_descriptor
from service.errors import LockLost, TokenUnknown
from service.store.clock import local_now
from service.store.database import open_database
from service.store.fences import FenceStore
from service.store.models import FenceRow, TaskRow, WorkloadRow
from service.store.registry import Registry
from service.store.tasks import TaskStore
from tests.support.descriptors import WorkloadSpec, descriptor
from tests.support.postgres import postgres_url
from tests.support.processes import wait_until

DEADLINE_S = 60.0
RECORDED = Deployed("inputs", "state", {})


def _status(registry: Registry, component_id: str) -> tuple[str | None, str | None]:
    entry = registry.get(component_id)
    return (None, None) if entry is None else (entry.last_operation, entry.last_status)


def test_an_unchanged_outcome_lands_only_for_the_holder(engine: Engine) -> None:
    registry, fences = Registry(engine), FenceStore(engine)
    workload = parse_descriptor(descriptor(WorkloadSpec()))
    held = fences.advance(workload.workload_key)
    registry.record(workload, "state", "provision", "FAILED", None, RECORDED, fence=held)

    registry.record_unchanged(workload, "state", RECORDED, fence=held)
    assert _status(registry, workload.component_id) == ("provision", "COMPLETED")

    registry.record(workload, "state", "provision", "FAILED", None, RECORDED, fence=held)
    newer = fences.advance(workload.workload_key)  # someone entered the door since
    with pytest.raises(LockLost, match=f"generation {held.generation} → {newer.generation}"):
        registry.record_unchanged(workload, "state", RECORDED, fence=held)
    assert _status(registry, workload.component_id) == ("provision", "FAILED")

    with engine.begin() as connection:  # the row went away: written whole, by the holder only
        connection.execute(sa.delete(WorkloadRow))
    with pytest.raises(LockLost):
        registry.record_unchanged(workload, "state", RECORDED, fence=held)
    assert registry.get(workload.component_id) is None
    registry.record_unchanged(workload, "state", RECORDED, fence=newer)
    entry = registry.get(workload.component_id)
    assert entry is not None
    assert (entry.last_status, entry.recorded, entry.dag_key) == ("COMPLETED", RECORDED, workload.deployed_key)


def test_an_entry_racing_the_outcome_refuses_it(request: pytest.FixtureRequest) -> None:
    """PostgreSQL: the entry's generation is written but not committed when the stale holder writes;
    the write waits on the fence's row, then sees the entry and writes nothing."""
    engine = open_database(postgres_url(request.getfixturevalue("postgres_schema")), upgrade=True)
    try:
        registry, fences = Registry(engine), FenceStore(engine)
        workload = parse_descriptor(descriptor(WorkloadSpec()))
        held = fences.advance(workload.workload_key)
        registry.record(workload, "state", "provision", "FAILED", None, RECORDED, fence=held)

        outcome: list[BaseException | None] = []

        def write() -> None:
            try:
                registry.record_unchanged(workload, "state", RECORDED, fence=held)
                outcome.append(None)
            except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
                outcome.append(exc)

        with engine.connect() as entering:
            entering.execute(
                sa.update(FenceRow)
                .where(FenceRow.workload_key == workload.workload_key)
                .values(generation=held.generation + 1)
            )  # the entry, not yet committed: it holds the fence's row
            writer = threading.Thread(target=write)
            writer.start()
            _until_blocked_by(engine, entering.scalar(sa.text("SELECT pg_backend_pid()")))
            assert not outcome
            entering.commit()
        writer.join(DEADLINE_S)
        assert len(outcome) == 1
        assert isinstance(outcome[0], LockLost)
        assert _status(registry, workload.component_id) == ("provision", "FAILED")
    finally:
        engine.dispose()


def _until_blocked_by(engine: Engine, holder: int) -> None:
    """Until some session waits for a lock that the session ``holder`` (a backend's pid) holds."""
    query = sa.text("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE :holder = ANY(pg_blocking_pids(pid)))")

    def blocked() -> bool:
        with engine.connect() as connection:
            return bool(connection.scalar(query, {"holder": holder}))

    wait_until(blocked, DEADLINE_S, "the stale holder's write waiting for the entry")


def test_a_task_ends_once_and_a_lease_failure_gives_way(engine: Engine) -> None:
    owner, judge = TaskStore(engine, owner="alive"), TaskStore(engine, owner="dead")
    token = owner.create("provision", "urn:a", {"status": "RUNNING"})
    owner.finish(token, "COMPLETED", {"status": "COMPLETED"})
    assert owner.get(token, ["provision"]).body == {"status": "COMPLETED"}
    with pytest.raises(ValueError, match="already finished"):
        owner.finish(token, "FAILED", {})
    assert owner.get(token, ["provision"]).status == "COMPLETED"
    with pytest.raises(TokenUnknown):
        owner.finish("no-such-token", "FAILED", {})

    lost = owner.create("provision", "urn:b", {})
    with engine.begin() as connection:  # its replica went silent an hour ago
        connection.execute(
            sa.update(TaskRow).where(TaskRow.token == lost).values(heartbeat_at=local_now() - timedelta(hours=1))
        )
    assert judge.fail_expired(timedelta(seconds=60), lambda kind: {"status": "FAILED"}) == [lost]
    owner.finish(lost, "COMPLETED", {"status": "COMPLETED"})  # the run's own outcome is the truth
    assert owner.get(lost, ["provision"]).status == "COMPLETED"
