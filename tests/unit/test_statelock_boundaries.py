"""The state-lock judge at every edge of its window, with several runs in every order, and the loop
that acts on its verdicts (``StateLocks.clear``) driven through fakes: a scripted backend, a fixed
database clock and a fake monotonic clock, so nothing sleeps and nothing touches S3 or a database.

The window of a run, in the database's time: from ``started_at - 1 s`` to the run's end ``+ 1 s``,
the end being ``ended_at``, else the replica's last lease renewal ``+ lease``, else ``started_at +
lease``. Both edges are inclusive; a microsecond outside is foreign."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from service.engine import statelock
from service.engine.state_backend import LockInfo
from service.engine.statelock import StateLocks, judge
from service.store.runs import RunIntent

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
WHO = "svc@replica-a"
US = timedelta(microseconds=1)


def _s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def _run(
    run_id: str = "run-1",
    *,
    who: str = WHO,
    command: str = "apply",
    replica: str = "replica-a",
    started: datetime = T0,
    ended: datetime | None = None,
    offset: float = 0.0,
) -> RunIntent:
    return RunIntent(run_id, "d/p/1/w", "workload", command, replica, who, "task", started, ended, offset)


def _lock(
    created: datetime | None, who: str = WHO, operation: str = "OperationTypeApply", lock_id: str = "lock-1"
) -> LockInfo:
    return LockInfo(lock_id, who, operation, created, "1.15.5")


# -- one run: each edge of its window ------------------------------------------------------------

ENDED = T0 + _s(10)
SEEN = T0 + _s(30)
LATER = T0 + _s(40)  # the lease of a replica seen at SEEN still runs at LATER


@pytest.mark.parametrize(
    ("created", "ended", "seen", "verdict"),
    [
        # the start edge: one second of skew before the intent, inclusive
        pytest.param(T0 - _s(1), ENDED, SEEN, "ours-ended", id="ended-start-edge-inclusive"),
        pytest.param(T0 - _s(1) - US, ENDED, SEEN, "foreign", id="ended-start-edge-past"),
        pytest.param(T0, ENDED, SEEN, "ours-ended", id="ended-at-the-intent"),
        # the end edge of an ended run: its end plus one second, inclusive
        pytest.param(ENDED + _s(1), ENDED, SEEN, "ours-ended", id="ended-end-edge-inclusive"),
        pytest.param(ENDED + _s(1) + US, ENDED, SEEN, "foreign", id="ended-end-edge-past"),
        # a run still going: its window ends a lease after the replica was last seen
        pytest.param(SEEN + LEASE + _s(1), None, SEEN, "ours-alive", id="alive-end-edge-inclusive"),
        pytest.param(SEEN + LEASE + _s(1) + US, None, SEEN, "foreign", id="alive-end-edge-past"),
        pytest.param(T0 + LEASE + _s(1) + US, None, SEEN, "ours-alive", id="alive-past-start-plus-lease"),
        pytest.param(T0 - _s(1), None, SEEN, "ours-alive", id="alive-start-edge-inclusive"),
        pytest.param(T0 - _s(1) - US, None, SEEN, "foreign", id="alive-start-edge-past"),
        # a replica never seen: the window ends a lease after the intent
        pytest.param(T0 + LEASE + _s(1), None, None, "ours-dead", id="unseen-end-edge-inclusive"),
        pytest.param(T0 + LEASE + _s(1) + US, None, None, "foreign", id="unseen-end-edge-past"),
        pytest.param(T0 - _s(1), None, None, "ours-dead", id="unseen-start-edge-inclusive"),
        pytest.param(T0 - _s(1) - US, None, None, "foreign", id="unseen-start-edge-past"),
    ],
)
def test_the_window_of_one_run(created: datetime, ended: datetime | None, seen: datetime | None, verdict: str) -> None:
    intent = _run(ended=ended)
    last_seen = {} if seen is None else {"replica-a": seen}
    owner = judge(_lock(created), [intent], last_seen, LATER, LEASE)
    assert owner.verdict == verdict
    assert owner.intent is (None if verdict == "foreign" else intent)


@pytest.mark.parametrize(
    ("at", "verdict"),
    [
        pytest.param(SEEN, "ours-alive", id="just-renewed"),
        pytest.param(SEEN + LEASE, "ours-alive", id="exactly-one-lease-since-renewal"),
        pytest.param(SEEN + LEASE + US, "ours-dead", id="one-microsecond-past-the-lease"),
    ],
)
def test_the_lease_edge_decides_alive_or_dead(at: datetime, verdict: str) -> None:
    intent = _run()
    owner = judge(_lock(T0 + _s(2)), [intent], {"replica-a": SEEN}, at, LEASE)
    assert (owner.verdict, owner.intent) == (verdict, intent)


def test_a_run_that_ended_is_ended_even_while_its_replica_lives() -> None:
    intent = _run(ended=ENDED)
    owner = judge(_lock(T0 + _s(2)), [intent], {"replica-a": LATER}, LATER, LEASE)
    assert (owner.verdict, owner.intent) == ("ours-ended", intent)


def test_the_runs_own_replica_is_the_one_whose_lease_counts() -> None:
    intent = _run(replica="replica-b")
    owner = judge(_lock(T0 + _s(2)), [intent], {"replica-a": LATER}, LATER, LEASE)
    assert (owner.verdict, owner.intent) == ("ours-dead", intent)
    owner = judge(_lock(T0 + _s(2)), [intent], {"replica-b": LATER, "replica-a": T0}, LATER, LEASE)
    assert (owner.verdict, owner.intent) == ("ours-alive", intent)


@pytest.mark.parametrize("offset", [30.0, -30.0, 0.5])
@pytest.mark.parametrize(
    ("shift", "verdict"),
    [
        pytest.param(-_s(1), "ours-ended", id="start-edge"),
        pytest.param(-_s(1) - US, "foreign", id="before-start-edge"),
        pytest.param(ENDED - T0 + _s(1), "ours-ended", id="end-edge"),
        pytest.param(ENDED - T0 + _s(1) + US, "foreign", id="after-end-edge"),
    ],
)
def test_the_clock_offset_moves_both_edges(offset: float, shift: timedelta, verdict: str) -> None:
    """``Created`` is the replica's clock: the intent's offset brings it into the database's."""
    created = T0 + shift + _s(offset)
    intent = _run(ended=ENDED, offset=offset)
    assert judge(_lock(created), [intent], {}, LATER, LEASE).verdict == verdict


# -- the lock's Who and Operation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "operation", "verdict"),
    [
        pytest.param("plan", "OperationTypePlan", "ours-ended", id="plan-plan"),
        pytest.param("plan", "OperationTypeApply", "foreign", id="plan-apply"),
        pytest.param("apply", "OperationTypeApply", "ours-ended", id="apply-apply"),
        pytest.param("apply", "OperationTypePlan", "foreign", id="apply-plan"),
        pytest.param("apply", "", "ours-ended", id="apply-no-operation-written"),
        pytest.param("plan", "", "ours-ended", id="plan-no-operation-written"),
        pytest.param("state-rm", "OperationTypeInvalid", "ours-ended", id="state-rm-any-operation"),
        pytest.param("state-rm", "OperationTypeApply", "ours-ended", id="state-rm-apply-operation"),
    ],
)
def test_the_operation_must_be_the_runs_command(command: str, operation: str, verdict: str) -> None:
    intent = _run(command=command, ended=ENDED)
    owner = judge(_lock(T0 + _s(2), operation=operation), [intent], {}, LATER, LEASE)
    assert owner.verdict == verdict


@pytest.mark.parametrize(
    "who",
    [
        pytest.param("operator@laptop", id="another-host"),
        pytest.param("svc@replica-a ", id="trailing-space"),
        pytest.param("SVC@replica-a", id="case"),
        pytest.param("", id="empty"),
    ],
)
def test_only_the_exact_who_is_ours(who: str) -> None:
    owner = judge(_lock(T0 + _s(2), who=who), [_run(ended=ENDED)], {}, LATER, LEASE)
    assert (owner.verdict, owner.intent) == ("foreign", None)


def test_a_lock_without_a_creation_time_is_foreign_whatever_the_runs() -> None:
    runs = [_run("run-1"), _run("run-2", ended=ENDED)]
    owner = judge(_lock(None), runs, {"replica-a": LATER}, LATER, LEASE)
    assert (owner.verdict, owner.intent) == ("foreign", None)


# -- several runs: a run that does not match never ends the search ------------------------------

MATCH = _run("match", ended=ENDED)
NOT_MATCHING = {
    "another-who": _run("x", who="operator@laptop", ended=ENDED),
    "another-operation": _run("x", command="plan", ended=ENDED),
    "before-its-window": _run("x", started=T0 + _s(5), ended=ENDED),
    "after-its-window": _run("x", started=T0 - _s(100), ended=T0 - _s(50)),
}


@pytest.mark.parametrize("reason", list(NOT_MATCHING))
@pytest.mark.parametrize("matching_first", [True, False], ids=["matching-first", "matching-last"])
def test_a_non_matching_run_is_skipped_in_any_order(reason: str, matching_first: bool) -> None:
    other = NOT_MATCHING[reason]
    runs = [MATCH, other] if matching_first else [other, MATCH]
    owner = judge(_lock(T0 + _s(2)), runs, {}, LATER, LEASE)
    assert (owner.verdict, owner.intent) == ("ours-ended", MATCH)
    assert judge(_lock(T0 + _s(2)), [other], {}, LATER, LEASE).verdict == "foreign"


def test_three_non_matching_runs_before_the_match() -> None:
    runs = [*NOT_MATCHING.values(), _run("alive")]
    owner = judge(_lock(T0 + _s(2)), runs, {"replica-a": LATER}, LATER, LEASE)
    assert owner.verdict == "ours-alive"
    assert owner.intent is runs[-1]


@pytest.mark.parametrize(
    ("order", "verdict", "run_id"),
    [
        pytest.param(("ended", "alive"), "ours-ended", "ended", id="ended-first"),
        pytest.param(("alive", "ended"), "ours-alive", "alive", id="alive-first"),
        pytest.param(("dead", "alive"), "ours-dead", "dead", id="dead-first"),
        pytest.param(("alive", "dead"), "ours-alive", "alive", id="alive-before-dead"),
    ],
)
def test_of_several_covering_runs_the_first_listed_is_judged(order: tuple[str, str], verdict: str, run_id: str) -> None:
    """``RunStore.recent`` lists the newest first: the newest run that covers the lock decides."""
    runs = {
        "ended": _run("ended", ended=ENDED),
        "alive": _run("alive", replica="replica-a"),
        "dead": _run("dead", replica="replica-gone"),
    }
    owner = judge(_lock(T0 + _s(2)), [runs[k] for k in order], {"replica-a": LATER}, LATER, LEASE)
    assert owner.verdict == verdict
    assert owner.intent is runs[run_id]


# -- StateLocks.clear: what it does with each verdict ---------------------------------------------


@dataclass
class _Backend:
    script: list[LockInfo | None]
    outlive: bool = True
    removable: bool = True
    asked: list[str] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def locks_outlive_processes(self) -> bool:
        return self.outlive

    def lock(self, key: str) -> LockInfo | None:
        self.asked.append(key)
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def remove_lock(self, key: str, lock_id: str) -> bool:
        self.removed.append((key, lock_id))
        return self.removable


@dataclass
class _Runs:
    intents: list[RunIntent]
    at: datetime = LATER
    asked: list[tuple[str, str]] = field(default_factory=list)

    def recent(self, workload_key: str, root: str) -> list[RunIntent]:
        self.asked.append((workload_key, root))
        return self.intents

    def now(self) -> datetime:
        return self.at


@dataclass
class _Replicas:
    seen: dict[str, datetime]
    asked: list[set[str]] = field(default_factory=list)

    def last_seen(self, ids: set[str]) -> dict[str, datetime]:
        self.asked.append(ids)
        return {k: v for k, v in self.seen.items() if k in ids}


class _Clock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[Any] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(statelock, "time", SimpleNamespace(monotonic=fake.monotonic, sleep=fake.sleep))
    return fake


def _locks(
    backend: _Backend,
    intents: list[RunIntent],
    seen: dict[str, datetime] | None = None,
    lease_s: float = 60,
    timeout_s: float = 120,
) -> tuple[StateLocks, _Runs, _Replicas]:
    runs, replicas = _Runs(intents), _Replicas(seen or {})
    locks = StateLocks(backend, runs, replicas, lease_s, timeout_s)  # type: ignore[arg-type]
    return locks, runs, replicas


def _clear(locks: StateLocks) -> list[tuple[str, str]]:
    said: list[tuple[str, str]] = []
    locks.clear("states/w.tfstate", "d/p/1/w", "workload", lambda level, text: said.append((level, text)))
    return said


STALE = _lock(T0 + _s(2), lock_id="stale-1")


def test_clear_does_nothing_where_locks_die_with_their_process(clock: _Clock) -> None:
    backend = _Backend([STALE, None], outlive=False)
    locks, _, _ = _locks(backend, [_run(ended=ENDED)])
    assert _clear(locks) == []
    assert (backend.asked, backend.removed, clock.sleeps) == ([], [], [])


def test_clear_returns_at_once_when_there_is_no_lock(clock: _Clock) -> None:
    backend = _Backend([None])
    locks, runs, _ = _locks(backend, [_run(ended=ENDED)])
    assert _clear(locks) == []
    assert backend.asked == ["states/w.tfstate"]
    assert (runs.asked, backend.removed, clock.sleeps) == ([], [], [])


@pytest.mark.parametrize(
    ("intent", "seen", "how"),
    [
        pytest.param(_run("run-7", ended=ENDED), {}, "ended", id="ended"),
        pytest.param(_run("run-7"), {}, "lost its process (lease expired)", id="never-seen"),
        pytest.param(
            _run("run-7"), {"replica-a": SEEN - LEASE - _s(11)}, "lost its process (lease expired)", id="dead"
        ),
    ],
)
def test_clear_releases_a_stale_lock_of_ours_and_says_whose(
    clock: _Clock, intent: RunIntent, seen: dict[str, datetime], how: str
) -> None:
    backend = _Backend([STALE, None])
    locks, runs, replicas = _locks(backend, [intent], seen)
    assert _clear(locks) == [
        ("WARNING", f"released state lock stale-1: left by this service's apply run run-7, which {how}")
    ]
    assert backend.removed == [("states/w.tfstate", "stale-1")]
    assert backend.asked == ["states/w.tfstate", "states/w.tfstate"]
    assert runs.asked == [("d/p/1/w", "workload")]
    assert replicas.asked == [{"replica-a"}]
    assert clock.sleeps == []


def test_clear_says_nothing_when_another_process_removed_the_lock_first(clock: _Clock) -> None:
    backend = _Backend([STALE, None], removable=False)
    locks, _, _ = _locks(backend, [_run(ended=ENDED)])
    assert _clear(locks) == []
    assert backend.removed == [("states/w.tfstate", "stale-1")]
    assert len(backend.asked) == 2


def test_clear_looks_again_after_a_release_and_reports_the_next_lock(clock: _Clock) -> None:
    foreign = _lock(T0 + _s(2), who="operator@laptop", lock_id="theirs")
    backend = _Backend([STALE, foreign])
    locks, _, _ = _locks(backend, [_run(ended=ENDED)], timeout_s=2.5)
    said = _clear(locks)
    assert [level for level, _ in said] == ["WARNING", "WARNING"]
    assert said[1][1] == (
        f"state is locked by {foreign.describe()}, which is not a run of this service: "
        "left alone; Terraform waits up to 2.5 s for it"
    )
    assert backend.removed == [("states/w.tfstate", "stale-1")]


@pytest.mark.parametrize(("timeout_s", "shown"), [(120, "120"), (2.5, "2.5"), (0, "0")])
def test_clear_leaves_a_foreign_lock_alone_and_names_it(clock: _Clock, timeout_s: float, shown: str) -> None:
    foreign = _lock(T0 - _s(3600), lock_id="theirs")
    backend = _Backend([foreign])
    locks, _, _ = _locks(backend, [_run(ended=ENDED)], timeout_s=timeout_s)
    assert _clear(locks) == [
        (
            "WARNING",
            "state is locked by svc@replica-a (OperationTypeApply, lock ID theirs, since 2026-11-24T11:00:00+00:00), "
            f"which is not a run of this service: left alone; Terraform waits up to {shown} s for it",
        )
    ]
    assert (backend.asked, backend.removed, clock.sleeps) == (["states/w.tfstate"], [], [])


@pytest.mark.parametrize("lock_id", ["live-1", ""])
def test_clear_waits_for_a_live_lock_of_ours_saying_so_once(clock: _Clock, lock_id: str) -> None:
    live = _lock(T0 + _s(2), lock_id=lock_id)
    backend = _Backend([live, live, live, None])
    locks, _, _ = _locks(backend, [_run("run-9", replica="replica-a")], {"replica-a": LATER})
    assert _clear(locks) == [
        (
            "INFO",
            "state is locked by this service's run run-9 on replica replica-a, still alive: "
            "waiting for it to end or for its lease to run out",
        )
    ]
    assert clock.sleeps == [0.5, 0.5, 0.5]
    assert backend.removed == []


def test_clear_says_so_again_for_another_live_lock(clock: _Clock) -> None:
    first, second = _lock(T0 + _s(2), lock_id="live-1"), _lock(T0 + _s(3), lock_id="live-2")
    backend = _Backend([first, first, second, None])
    locks, _, _ = _locks(backend, [_run("run-9")], {"replica-a": LATER})
    assert [level for level, _ in _clear(locks)] == ["INFO", "INFO"]
    assert clock.sleeps == [0.5, 0.5, 0.5]


@pytest.mark.parametrize(
    ("lease_s", "timeout_s", "polls"),
    [
        # deadline = start + lease + timeout; it gives up only once the clock is past it
        pytest.param(2, 1, 7, id="lease-2-timeout-1"),
        pytest.param(1, 2, 7, id="lease-1-timeout-2"),
        pytest.param(0, 0, 1, id="no-time-at-all"),
    ],
)
def test_clear_gives_up_waiting_only_past_lease_plus_timeout(
    clock: _Clock, lease_s: float, timeout_s: float, polls: int
) -> None:
    live = _lock(T0 + _s(2), lock_id="live-1")
    backend = _Backend([live])
    # seen at the database's now: alive whatever the lease
    locks, _, _ = _locks(backend, [_run("run-9")], {"replica-a": LATER}, lease_s=lease_s, timeout_s=timeout_s)
    said = _clear(locks)
    assert [level for level, _ in said] == ["INFO"]
    assert clock.sleeps == [0.5] * polls
    assert clock.now == 1000.0 + 0.5 * polls


def test_holder_is_the_backends_lock_of_that_state(clock: _Clock) -> None:
    backend = _Backend([STALE])
    locks, _, _ = _locks(backend, [])
    assert locks.holder("states/other.tfstate") is STALE
    assert backend.asked == ["states/other.tfstate"]


def test_ownership_judges_with_the_database_clock_and_the_lease(clock: _Clock) -> None:
    backend = _Backend([None])
    intent = _run("run-3", replica="replica-b")
    locks, runs, replicas = _locks(backend, [intent], {"replica-b": SEEN}, lease_s=10)
    runs.at = SEEN + _s(10)
    owner = locks.ownership(_lock(T0 + _s(2)), "d/p/1/w", "workload")
    assert (owner.verdict, owner.intent) == ("ours-alive", intent)
    runs.at = SEEN + _s(10) + US
    assert locks.ownership(_lock(T0 + _s(2)), "d/p/1/w", "workload").verdict == "ours-dead"
    assert locks.ownership(_lock(SEEN + _s(11) + US), "d/p/1/w", "workload").verdict == "foreign"
    assert runs.asked == [("d/p/1/w", "workload")] * 3
    assert replicas.asked == [{"replica-b"}] * 3
