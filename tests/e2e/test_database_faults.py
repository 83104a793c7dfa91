"""Every task ends, and a lock held through a connection is never trusted after it died — on a
PostgreSQL server each test starts for itself, so it can stop it and start it again.

- The database stops while a provision is held in its apply, and stays down past the task's lease:
  the replica finds its workload lock dead, stops Terraform before it wrote anything, and once the
  database is back the token ends ``FAILED`` naming the lost lock — as S3 says, the old DAG is still
  there. The next provision completes and the registry says deployed.
- The same with the lock's loss noticed only after the apply (the lock check slowed to an hour): the
  DAG was deployed, so the token ends ``COMPLETED``; the check before recording finds the lock dead,
  and the record is written only after the lock is taken again, nobody having entered meanwhile.
- A restart while one replica holds a workload (held in apply) and another waits for it: both tasks
  end with their reason, and the waiter never got inside (the stand-in's gate counts who reached
  the apply) — never two inside at once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.descriptors import WorkloadSpec, component_id, descriptor, request, staged_key
from tests.support.gate import Gate
from tests.support.postgres import Cluster
from tests.support.processes import wait_finished, wait_logged, wait_until

pytestmark = pytest.mark.e2e
LEASE = "3"
DAG_KEY = "dags/finance_invoices_1_my_dag.py"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    server = Cluster()
    try:
        yield server
    finally:
        server.destroy()


class Estate:
    def __init__(self, s3: Any, tmp_path: Path) -> None:
        self.s3 = s3
        self.bucket, self.states = (f"mwaa-{uuid.uuid4().hex[:12]}" for _ in range(2))
        s3.create_bucket(Bucket=self.bucket)
        s3.create_bucket(Bucket=self.states)
        self.spec = WorkloadSpec(bucket=self.bucket)
        self.gate = Gate(tmp_path / "gate")

    def settings(self, cluster: Cluster, **extra: str) -> dict[str, str]:
        return {
            "database_url": cluster.url,
            "state_backend": "s3",
            "state_bucket": self.states,
            "async": "true",
            "task_lease": LEASE,
            **extra,
        }

    def stage(self, content: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=staged_key(self.spec), Body=content)

    def deployed(self) -> bytes:
        return bytes(self.s3.get_object(Bucket=self.bucket, Key=DAG_KEY)["Body"].read())

    def start(self, replica: Any) -> str:
        answer = httpx.post(f"{replica.url}/v1/provision", json=request(descriptor(self.spec)), timeout=60)
        assert answer.status_code == 202, answer.text
        return f"{replica.url}/v1/provision/{answer.json()}/status"

    def held_in_apply(self, replica: Any) -> str:
        """v1 deployed, then a provision of v2 held in its apply (the stand-in's gate): its status URL."""
        self.stage(b"v = 1\n")
        assert wait_finished(self.start(replica))["status"] == "COMPLETED"
        self.stage(b"v = 2\n")
        self.gate.hold("apply")
        status = self.start(replica)
        self.gate.wait_reached("apply")
        return status

    def registry_row(self, replica: Any) -> dict[str, Any]:
        return dict(httpx.get(f"{replica.url}/workloads/{component_id(self.spec)}", timeout=30).json())


def _log(replica: Any) -> str:
    return str(replica.log_path.read_text())


def _down_past_the_lease(replica: Any) -> None:
    """Observed, not slept: the replica's lease upkeep failed often enough (every lease/4, at least
    every second) that the task's lease of 3 s ran out, and its final write is waiting."""
    wait_until(
        lambda: "database unreachable; retrying" in _log(replica), what="the final write waiting for the database"
    )
    wait_until(lambda: _log(replica).count("lease upkeep failed") >= 4, what="the database down past the lease")


def test_the_database_stops_while_a_provision_is_held_in_apply(
    service_factory: Any, s3: Any, tmp_path: Path, cluster: Cluster
) -> None:
    estate = Estate(s3, tmp_path)
    replica = service_factory(gate=estate.gate, **estate.settings(cluster))
    status = estate.held_in_apply(replica)

    cluster.stop()
    wait_until(lambda: "workload lock lost" in _log(replica), what="the replica noticing its dead lock")
    _down_past_the_lease(replica)
    cluster.start()

    ended = wait_finished(status)
    assert ended["status"] == "FAILED", ended
    assert "the workload's lock was lost" in ended["result"]
    assert estate.deployed() == b"v = 1\n"  # the token agrees with S3: nothing was applied
    estate.gate.release("apply")

    again = wait_finished(estate.start(replica))
    assert again["status"] == "COMPLETED", again
    assert estate.deployed() == b"v = 2\n"
    row = estate.registry_row(replica)
    assert row["deployed"] is True
    assert row["lastStatus"] == "COMPLETED"


def test_a_lock_lost_during_the_apply_is_taken_again_before_recording(
    service_factory: Any, s3: Any, tmp_path: Path, cluster: Cluster
) -> None:
    estate = Estate(s3, tmp_path)
    # The watchdog looks only once an hour: the loss is noticed by the check before recording.
    replica = service_factory(gate=estate.gate, **estate.settings(cluster, lock_check_interval="3600"))
    status = estate.held_in_apply(replica)

    cluster.stop()
    estate.gate.release("apply")  # the apply completes with the database gone
    _down_past_the_lease(replica)
    cluster.start()

    ended = wait_finished(status)
    assert ended["status"] == "COMPLETED", ended
    assert estate.deployed() == b"v = 2\n"  # the token agrees with S3: the DAG was deployed
    log = _log(replica)
    assert log.index("workload lock lost") < log.index("workload lock taken again")
    assert estate.registry_row(replica)["deployed"] is True

    again = wait_finished(estate.start(replica))
    assert again["status"] == "COMPLETED", again
    assert again["info"]["privateInfo"]["noOpVerifiedWithoutTerraform"] is True  # recorded, fingerprints too


def test_a_restart_while_one_replica_holds_and_another_waits(
    service_factory: Any, s3: Any, tmp_path: Path, cluster: Cluster
) -> None:
    estate = Estate(s3, tmp_path)
    holder = service_factory(gate=estate.gate, **estate.settings(cluster))
    waiter = service_factory(gate=estate.gate, **estate.settings(cluster))
    held = estate.held_in_apply(holder)
    waiting = estate.start(waiter)
    wait_logged(waiting, "waiting for the workload's lock")
    inside = sorted(p.name for p in estate.gate.root.glob("reached-apply-*"))
    assert len(inside) == 1

    cluster.stop()
    cluster.start()

    held_ended, waiter_ended = wait_finished(held), wait_finished(waiting)
    assert held_ended["status"] == "FAILED", held_ended
    assert "the workload's lock was lost" in held_ended["result"]
    assert waiter_ended["status"] == "FAILED", waiter_ended
    assert "lost while waiting for the workload's lock" in waiter_ended["result"]
    # Nobody else reached the apply: the waiter never got inside, before or after the restart.
    assert sorted(p.name for p in estate.gate.root.glob("reached-apply-*")) == inside
    assert estate.deployed() == b"v = 1\n"

    estate.gate.release("apply")
    assert wait_finished(estate.start(waiter))["status"] == "COMPLETED"
    assert estate.deployed() == b"v = 2\n"
