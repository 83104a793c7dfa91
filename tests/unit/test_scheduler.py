from __future__ import annotations

import threading
import time

from service.scheduler import Scheduler


def test_one_workload_runs_in_submission_order_one_at_a_time() -> None:
    scheduler = Scheduler(max_parallel=4)
    running = 0
    peak = 0
    order: list[int] = []
    lock = threading.Lock()

    def job(n: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1
            order.append(n)
        return n

    futures = [scheduler.submit("same", lambda n=n: job(n)) for n in range(6)]
    assert [f.result(timeout=10) for f in futures] == list(range(6))
    assert order == list(range(6))
    assert peak == 1
    scheduler.shutdown()


def test_different_workloads_run_in_parallel() -> None:
    scheduler = Scheduler(max_parallel=2)
    barrier = threading.Barrier(2, timeout=5)
    # Both jobs must be inside at once for the barrier to open; serial execution would time out.
    futures = [scheduler.submit(key, barrier.wait) for key in ("a", "b")]
    assert sorted(f.result(timeout=10) for f in futures) == [0, 1]
    scheduler.shutdown()


def test_a_failure_does_not_block_the_queue() -> None:
    scheduler = Scheduler(max_parallel=1)

    def boom() -> None:
        raise RuntimeError("boom")

    failed = scheduler.submit("k", boom)
    after = scheduler.submit("k", lambda: "ran")
    assert isinstance(failed.exception(timeout=5), RuntimeError)
    assert after.result(timeout=5) == "ran"
    scheduler.shutdown()


def test_shutdown_waits_for_running_work_within_its_grace() -> None:
    scheduler = Scheduler(max_parallel=1)
    finished = threading.Event()

    def slow() -> None:
        time.sleep(0.3)
        finished.set()

    scheduler.submit("k", slow)
    assert scheduler.shutdown(grace_s=5) is True
    assert finished.is_set()


def test_shutdown_gives_up_after_its_grace() -> None:
    scheduler = Scheduler(max_parallel=1)
    release = threading.Event()
    scheduler.submit("k", lambda: release.wait(5))
    started = time.monotonic()
    assert scheduler.shutdown(grace_s=0.2) is False
    assert time.monotonic() - started < 2
    release.set()
