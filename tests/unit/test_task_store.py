from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from service.errors import TokenUnknown
from service.store.database import make_engine
from service.store.tasks import TaskStore


def _stores(tmp_path: Path) -> tuple[TaskStore, TaskStore]:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
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
