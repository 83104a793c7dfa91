"""The workload's one door: FIFO per workload inside a process, parallel across workloads, and a
cross-process lock (file lock on SQLite, advisory lock on PostgreSQL) other processes wait on."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.engine.door import DoorPass, WorkloadDoor
from service.engine.locks import AdvisoryLocks, FileLocks
from service.store.database import normalise_url
from tests.support.postgres import postgres_url

DEADLINE = 30.0


def _door(tmp_path: Path, max_parallel: int) -> WorkloadDoor:
    return WorkloadDoor(max_parallel, FileLocks(tmp_path / "locks"))


def test_one_workload_runs_in_submission_order_one_at_a_time(tmp_path: Path) -> None:
    door = _door(tmp_path, 4)
    inside = 0
    peak = 0
    order: list[int] = []
    guard = threading.Lock()
    gate = threading.Event()

    def job(n: int) -> int:
        nonlocal inside, peak
        with guard:
            inside += 1
            peak = max(peak, inside)
        gate.wait(DEADLINE)  # the first job holds the door until every other job is queued
        with guard:
            inside -= 1
            order.append(n)
        return n

    futures = [door.submit("same", lambda _p, n=n: job(n)) for n in range(6)]
    gate.set()
    assert [f.result(timeout=DEADLINE) for f in futures] == list(range(6))
    assert order == list(range(6))
    assert peak == 1
    door.shutdown()


def test_different_workloads_run_in_parallel(tmp_path: Path) -> None:
    door = _door(tmp_path, 2)
    barrier = threading.Barrier(2, timeout=DEADLINE)
    # Both jobs must be inside at once for the barrier to open; serial execution would time out.
    futures = [door.submit(key, lambda _p: barrier.wait()) for key in ("a", "b")]
    assert sorted(f.result(timeout=DEADLINE) for f in futures) == [0, 1]
    door.shutdown()


def test_a_failure_does_not_block_the_queue(tmp_path: Path) -> None:
    door = _door(tmp_path, 1)

    def boom(_p: DoorPass) -> None:
        raise RuntimeError("boom")

    failed = door.submit("k", boom)
    after = door.submit("k", lambda _p: "ran")
    assert isinstance(failed.exception(timeout=DEADLINE), RuntimeError)
    assert after.result(timeout=DEADLINE) == "ran"
    door.shutdown()


def test_a_pass_is_only_good_for_its_own_door_and_workload(tmp_path: Path) -> None:
    door, other = _door(tmp_path, 1), _door(tmp_path / "other", 1)
    issued = door.run("a", lambda p: p)
    door.check(issued, "a")
    with pytest.raises(RuntimeError, match="outside its workload's door"):
        door.check(issued, "b")
    with pytest.raises(RuntimeError, match="outside its workload's door"):
        other.check(issued, "a")
    with pytest.raises(RuntimeError, match="outside its workload's door"):
        door.check(DoorPass("a", object()), "a")


def test_shutdown_waits_for_running_work_within_its_grace(tmp_path: Path) -> None:
    door = _door(tmp_path, 1)
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def job(_p: DoorPass) -> None:
        started.set()
        release.wait(DEADLINE)
        finished.set()

    door.submit("k", job)
    assert started.wait(DEADLINE)
    threading.Thread(target=release.set).start()
    assert door.shutdown(grace_s=DEADLINE) is True
    assert finished.is_set()


def test_shutdown_gives_up_after_its_grace(tmp_path: Path) -> None:
    door = _door(tmp_path, 1)
    release = threading.Event()
    door.submit("k", lambda _p: release.wait(DEADLINE))
    assert door.shutdown(grace_s=0.2) is False
    release.set()


_CONTENDER = """
import sys, time
from pathlib import Path
from service.engine.locks import FileLocks
locks = FileLocks(Path(sys.argv[1]))
with locks.hold("workload/a", lambda: print("waiting", flush=True)):
    print("inside", flush=True)
"""


def test_another_process_waits_at_the_file_lock(tmp_path: Path) -> None:
    """SQLite, one host: a CLI process beside the service waits its turn for the workload."""
    locks = FileLocks(tmp_path / "locks")
    with locks.hold("workload/a", lambda: pytest.fail("nobody else holds it")):
        proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", _CONTENDER, str(tmp_path / "locks")], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "waiting"  # blocked on our lock, and said so
        assert proc.poll() is None
    assert proc.stdout.readline().strip() == "inside"  # got it once we let go
    assert proc.wait(timeout=DEADLINE) == 0
    proc.stdout.close()


def test_a_killed_holder_releases_the_file_lock(tmp_path: Path) -> None:
    holder = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom pathlib import Path\nfrom service.engine.locks import FileLocks\n"
            "with FileLocks(Path(sys.argv[1])).hold('w', lambda: None):\n"
            "    print('held', flush=True); time.sleep(600)\n",
            str(tmp_path / "locks"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    waited = threading.Event()
    got = threading.Event()

    def contend() -> None:
        with FileLocks(tmp_path / "locks").hold("w", waited.set):
            got.set()

    threading.Thread(target=contend, daemon=True).start()
    assert waited.wait(DEADLINE)
    holder.kill()
    holder.wait()
    holder.stdout.close()
    assert got.wait(DEADLINE), "the lock of a killed process was not released"


def test_advisory_lock_across_connections(postgres_schema: str) -> None:
    engine = sa.create_engine(normalise_url(postgres_url(postgres_schema)))
    locks = AdvisoryLocks(engine)
    waited, got = threading.Event(), threading.Event()
    try:
        with locks.hold("workload/a", lambda: pytest.fail("nobody else holds it")):

            def contend() -> None:
                with AdvisoryLocks(engine).hold("workload/a", waited.set):
                    got.set()

            thread = threading.Thread(target=contend, daemon=True)
            thread.start()
            assert waited.wait(DEADLINE)
            assert not got.is_set()
        assert got.wait(DEADLINE)
        thread.join(DEADLINE)
        with locks.hold("workload/b", lambda: pytest.fail("another workload's lock is separate")):
            pass
    finally:
        engine.dispose()


def test_an_uncontended_lock_never_reports_waiting(tmp_path: Path) -> None:
    locks = FileLocks(tmp_path / "locks")
    calls: list[float] = []
    with locks.hold("k", lambda: calls.append(time.monotonic())):
        pass
    assert calls == []


def _pg(schema: str) -> sa.Engine:
    from service.store.database import open_database

    return open_database(postgres_url(schema), upgrade=True)


def _kill_backends_holding(engine: sa.Engine, key: str) -> int:
    """What a database restart does to the holder: its session (and so its advisory lock) ends."""
    from service.engine.locks import advisory_lock_parts

    classid, objid = advisory_lock_parts(key)
    with engine.begin() as conn:
        pids = (
            conn.execute(
                sa.text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND objid = :objid AND classid = :classid"
                ),
                {"objid": objid, "classid": classid},
            )
            .scalars()
            .all()
        )
        for pid in pids:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    return len(pids)


def test_a_holder_learns_when_its_lock_dies_and_cannot_write_after_another_entered(postgres_schema: str) -> None:
    from service.errors import LockLost
    from service.store.claims import ClaimStore
    from service.store.fences import FenceStore

    engine = _pg(postgres_schema)
    try:
        door = WorkloadDoor(2, AdvisoryLocks(engine, ping_s=0.1), FenceStore(engine))
        inside, go_on = threading.Event(), threading.Event()
        passes: list[DoorPass] = []

        def holder(door_pass: DoorPass) -> str:
            passes.append(door_pass)
            inside.set()
            go_on.wait(DEADLINE)
            door_pass.ensure_held()  # someone else entered meanwhile: refused
            return "wrote"

        first = door.submit("w", holder)
        assert inside.wait(DEADLINE)
        assert _kill_backends_holding(engine, "w") == 1
        assert passes[0].held.lost.wait(DEADLINE), "the watchdog did not notice the dead connection"
        assert "database connection died" in passes[0].held.reason
        # The lock is free now: another process enters the door (and takes the next generation)…
        other = WorkloadDoor(1, AdvisoryLocks(engine, ping_s=0.1), FenceStore(engine))
        entered = other.submit("w", lambda p: p.fence)
        second_fence = entered.result(timeout=DEADLINE)
        assert second_fence is not None
        assert passes[0].fence is not None
        assert second_fence.generation == passes[0].fence.generation + 1
        go_on.set()
        with pytest.raises(LockLost, match="could not be taken again"):
            first.result(timeout=DEADLINE)
        # …and a write fenced with the first holder's generation is refused.
        with pytest.raises(LockLost):
            ClaimStore(engine).claim("urn:dmb:cmp:a:b:1:c", "bucket", ["k"], fence=passes[0].fence)
        door.shutdown()
        other.shutdown()
    finally:
        engine.dispose()


def test_a_holder_whose_lock_died_takes_it_again_when_nobody_entered(postgres_schema: str) -> None:
    from service.store.fences import FenceStore

    engine = _pg(postgres_schema)
    try:
        door = WorkloadDoor(1, AdvisoryLocks(engine, ping_s=0.1), FenceStore(engine))

        def holder(door_pass: DoorPass) -> tuple[bool, bool]:
            from service.engine.locks import advisory_lock_id

            _kill_backends_holding(engine, "w")
            assert door_pass.held.lost.wait(DEADLINE)
            door_pass.ensure_held()  # free, and the same generation: held again
            # Held again means held: another session cannot take it while the job runs.
            with engine.connect() as conn:
                taken = conn.execute(sa.text("SELECT pg_try_advisory_lock(:id)"), {"id": advisory_lock_id("w")})
                return door_pass.held.lost.is_set(), bool(taken.scalar())

        assert door.submit("w", holder).result(timeout=DEADLINE) == (False, False)
        door.shutdown()
    finally:
        engine.dispose()


def test_a_waiter_whose_connection_dies_fails_with_the_reason(postgres_schema: str) -> None:
    from service.engine.locks import advisory_lock_id
    from service.errors import LockLost

    engine = _pg(postgres_schema)
    try:
        with engine.connect() as held:
            held.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": advisory_lock_id("w")})
            held.commit()
            waiting = threading.Event()
            door = WorkloadDoor(1, AdvisoryLocks(engine, ping_s=0.1))
            future = door.submit("w", lambda _p: "entered", waiting.set)
            assert waiting.wait(DEADLINE)
            with engine.begin() as conn:  # the waiter's session ends, as in a database restart
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    )
                )
            with pytest.raises(LockLost, match="lost while waiting for the workload's lock"):
                future.result(timeout=DEADLINE)
            door.shutdown()
    finally:
        engine.dispose()


def test_a_lock_granted_as_the_database_goes_down_is_no_entry(tmp_path: Path) -> None:
    """The holder's session ends first, so the waiter's lock is granted, then its generation cannot
    be written: the job never runs and fails as a wait cut short (not as an internal error)."""
    from service.errors import LockLost
    from service.store.fences import FenceStore
    from service.store.models import FenceRow

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'gone.db'}")  # no tables: every write fails
    door = WorkloadDoor(1, FileLocks(tmp_path / "locks"), FenceStore(engine))
    ran = threading.Event()
    try:
        future = door.submit("w", lambda _p: ran.set())
        with pytest.raises(
            LockLost, match="lost while waiting for the workload's lock .*generation could not be taken"
        ):
            future.result(timeout=DEADLINE)
        assert not ran.is_set()
        # The lock was let go: with the database back, the next job enters, with the first generation.
        FenceRow.__table__.create(engine)
        assert door.submit("w", lambda p: p.fence and p.fence.generation).result(timeout=DEADLINE) == 1
    finally:
        door.shutdown()
        engine.dispose()


def test_entered_is_called_once_the_lock_is_held_before_the_job(tmp_path: Path) -> None:
    door = _door(tmp_path, 1)
    calls: list[str] = []
    try:
        gate = threading.Event()
        first, _ = door.enqueue("w", lambda _p: gate.wait(DEADLINE))
        second, ahead = door.enqueue("w", lambda _p: calls.append("job"), entered=lambda: calls.append("entered"))
        assert ahead == 1
        assert calls == []  # queued behind the first job: not entered yet
        gate.set()
        second.result(timeout=DEADLINE)
        assert first.result(timeout=DEADLINE) is True
        assert calls == ["entered", "job"]
    finally:
        door.shutdown()


def _fenced(tmp_path: Path, max_parallel: int = 2) -> tuple[WorkloadDoor, sa.Engine]:
    from service.store.database import open_database
    from service.store.fences import FenceStore

    engine = open_database(f"sqlite:///{tmp_path / 'fences.db'}", upgrade=True)
    return WorkloadDoor(max_parallel, FileLocks(tmp_path / "locks"), FenceStore(engine)), engine


def test_quiet_gives_the_generation_only_while_nobody_is_inside(tmp_path: Path) -> None:
    """What a provision reads on arrival is kept only if nobody was inside the door then, nor
    entered before it: the generation seen, then the entry that is the very next one."""
    door, engine = _fenced(tmp_path)
    try:
        assert door.quiet("w") == 0  # never entered
        assert door.run("w", lambda p: p.fence and p.fence.generation) == 1
        # A job's result comes before it leaves the door (its lock released): wait for that each time.
        assert door.drain(DEADLINE)
        assert door.quiet("w") == 1
        inside, leave = threading.Event(), threading.Event()
        held = door.submit("w", lambda _p: (inside.set(), leave.wait(DEADLINE)))
        assert inside.wait(DEADLINE)
        assert door.quiet("w") is None  # a job of this process is inside
        assert door.quiet("other") == 0  # another workload's door is its own
        leave.set()
        held.result(timeout=DEADLINE)
        assert door.drain(DEADLINE)
        assert door.quiet("w") == 2
        # Another process inside (its file lock): not quiet either.
        with FileLocks(tmp_path / "locks").hold("w", lambda: pytest.fail("nobody else holds it")):
            assert door.quiet("w") is None
        seen = door.quiet("w")
        assert seen == 2
        assert door.run("w", lambda p: p.entered_next_after(seen)) is True
        # Someone entered between the look and the entry: what was read then may be stale.
        assert door.drain(DEADLINE)
        seen = door.quiet("w")
        assert seen == 3
        door.run("w", lambda _p: None)
        assert door.run("w", lambda p: p.entered_next_after(seen)) is False
    finally:
        door.shutdown()
        engine.dispose()


def test_quiet_without_generations_is_never_quiet(tmp_path: Path) -> None:
    door = _door(tmp_path, 1)
    try:
        assert door.quiet("w") is None  # nothing to check an entry against: read inside the door
        assert door.run("w", lambda p: p.entered_next_after(0)) is False
    finally:
        door.shutdown()


def test_an_advisory_lock_held_by_another_session_is_not_free(postgres_schema: str) -> None:
    import uuid

    from service.engine.locks import advisory_lock_id

    engine = _pg(postgres_schema)
    key = f"workload/{uuid.uuid4().hex}"  # advisory locks are per database, not per schema
    locks = AdvisoryLocks(engine)
    try:
        assert locks.free(key)
        with engine.connect() as other:
            other.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": advisory_lock_id(key)})
            assert not locks.free(key)
            assert locks.free(f"{key}-another")
            other.execute(sa.text("SELECT pg_advisory_unlock(:id)"), {"id": advisory_lock_id(key)})
        assert locks.free(key)
        with locks.hold(key, lambda: pytest.fail("nobody else holds it")):
            assert not locks.free(key)
        assert locks.free(key)
    finally:
        engine.dispose()
