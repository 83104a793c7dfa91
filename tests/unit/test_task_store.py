from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from service.errors import TokenUnknown
from service.store import clock
from service.store.database import open_database
from service.store.models import TaskRow
from service.store.tasks import TaskStore


def _stores(tmp_path: Path) -> tuple[TaskStore, TaskStore]:
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}", upgrade=True)
    return TaskStore(engine, owner="alive"), TaskStore(engine, owner="dead")


def test_status_transitions_are_owned_by_the_store(tmp_path: Path) -> None:
    store, _ = _stores(tmp_path)
    token = store.create("provision", "urn:x", {"status": "RUNNING"})
    assert store.get(token, ["provision"]).status == "RUNNING"
    store.finish(token, "COMPLETED", {"status": "COMPLETED"})
    assert store.get(token, ["provision", "unprovision"]).body == {"status": "COMPLETED"}
    with pytest.raises(ValueError, match="already finished"):
        store.finish(token, "FAILED", {})
    with pytest.raises(TokenUnknown):
        store.get(token, ["validate"])
    with pytest.raises(TokenUnknown):
        store.get("nope", ["provision"])


def test_expired_leases_fail_only_the_dead_replicas_tasks(tmp_path: Path) -> None:
    alive, dead = _stores(tmp_path)
    mine = alive.create("provision", "urn:a", {})
    orphan = dead.create("validate", None, {})
    time.sleep(0.3)
    alive.renew()
    failed = alive.fail_expired(timedelta(seconds=0.2), lambda kind: {"status": "FAILED", "kind": kind})
    assert failed == [orphan]
    assert alive.get(orphan, ["validate"]).body == {"status": "FAILED", "kind": "validate"}
    assert alive.get(mine, ["provision"]).status == "RUNNING"


def test_finished_tasks_are_pruned_after_retention(tmp_path: Path) -> None:
    store, _ = _stores(tmp_path)
    old, fresh, running = (store.create("provision", None, {}) for _ in range(3))
    store.finish(old, "COMPLETED", {})
    time.sleep(0.3)
    store.finish(fresh, "FAILED", {})
    assert store.prune(timedelta(seconds=0.2)) == 1
    with pytest.raises(TokenUnknown):
        store.get(old, ["provision"])
    assert store.get(fresh, ["provision"]).status == "FAILED"
    assert store.get(running, ["provision"]).status == "RUNNING"


def test_released_leases_expire_at_once(tmp_path: Path) -> None:
    leaving, other = _stores(tmp_path)
    token = leaving.create("provision", "urn:a", {})
    assert other.fail_expired(timedelta(seconds=60), lambda kind: {"status": "FAILED"}) == []
    assert leaving.release_leases() == 1
    assert other.fail_expired(timedelta(seconds=60), lambda kind: {"status": "FAILED"}) == [token]


def _age(store: TaskStore, token: str, seconds: float) -> None:
    """Move a task's last renewal into the past (as if its replica had been silent that long)."""
    import sqlalchemy as sa

    from service.store.clock import local_now
    from service.store.models import TaskRow

    with store.engine.begin() as conn:
        conn.execute(
            sa.update(TaskRow)
            .where(TaskRow.token == token)
            .values(heartbeat_at=local_now() - timedelta(seconds=seconds))
        )


def test_only_work_running_in_this_process_is_renewed(tmp_path: Path) -> None:
    """A RUNNING row of this replica's id that this process does not run (its run was lost, or a
    previous process of the same replica left it) is not renewed: it expires and ends."""
    engine = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}", upgrade=True)
    before, now_running = TaskStore(engine, owner="replica-a"), TaskStore(engine, owner="replica-a")
    lost = before.create("provision", "urn:a", {})
    live = now_running.create("provision", "urn:b", {})
    _age(now_running, lost, 120)
    _age(now_running, live, 120)
    assert now_running.renew() == 1
    assert now_running.fail_expired(timedelta(seconds=60), lambda kind: {"status": "FAILED"}) == [lost]
    assert now_running.get(live, ["provision"]).status == "RUNNING"
    now_running.finish(live, "COMPLETED", {})
    assert now_running.renew() == 0
    assert not now_running.running_here(live)


def test_the_runs_own_outcome_replaces_a_failure_by_lease_expiry(tmp_path: Path) -> None:
    owner, judge = _stores(tmp_path)
    token = owner.create("provision", "urn:a", {})
    _age(owner, token, 120)
    assert judge.fail_expired(timedelta(seconds=60), lambda kind: {"status": "FAILED", "why": "lease"}) == [token]
    owner.finish(token, "COMPLETED", {"status": "COMPLETED"})
    assert owner.get(token, ["provision"]).body == {"status": "COMPLETED"}
    with pytest.raises(ValueError, match="already finished"):
        owner.finish(token, "FAILED", {})  # a final status of the run itself is final


def test_the_final_write_waits_for_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The database does not answer the first writes: the outcome still lands, once it does."""
    import sqlalchemy as sa

    from service.store import database

    store, _ = _stores(tmp_path)
    token = store.create("provision", "urn:a", {})
    real, calls = store._finish, []  # noqa: SLF001 - the one write the retry wraps

    def flaky(*args: object) -> None:
        calls.append(args)
        if len(calls) < 3:
            raise sa.exc.OperationalError("UPDATE tasks", {}, Exception("server closed the connection"))
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "_finish", flaky)
    monkeypatch.setattr(database.time, "sleep", lambda s: None)
    store.finish(token, "FAILED", {"status": "FAILED"})
    assert len(calls) == 3
    assert store.get(token, ["provision"]).body == {"status": "FAILED"}


def test_statements_built_once_stamp_each_execution_with_its_own_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's statements are built when it is made; their time is taken when each one runs."""
    store, _ = _stores(tmp_path)
    created, finished = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    monkeypatch.setattr(clock, "local_now", lambda: created)
    token = store.create("provision", "urn:a", {})
    monkeypatch.setattr(clock, "local_now", lambda: finished)
    store.finish(token, "COMPLETED", {})
    with Session(store.engine) as session:
        row = session.get(TaskRow, token)
        assert row is not None
        assert (row.created_at, row.heartbeat_at, row.updated_at) == (created, created, finished)
