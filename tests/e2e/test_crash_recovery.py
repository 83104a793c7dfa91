"""Two replicas on PostgreSQL with S3 state; one is killed -9 (with its Terraform and provider, as a
container dies) at each moment of a provision — waiting at the workload's door before Terraform,
while the plan holds the state lock, while the apply holds it. The next provision through the
survivor succeeds as soon as the dead replica's lease has run out, deploys the newest bytes, and
leaves no lock behind — no human runs ``terraform force-unlock``.

Every moment is reached deterministically: the stand-in provider holds the run at a gate
(``tests.support.gate``) and the test waits for the observable event (the gate reached, the lock
object present, a phase in the task's logs), never for a guessed duration."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from service.engine.locks import advisory_lock_id
from service.store.database import normalise_url
from service.store.replicas import terraform_who
from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key
from tests.support.gate import Gate
from tests.support.postgres import postgres_url
from tests.support.processes import wait_finished, wait_logged, wait_until

pytestmark = pytest.mark.e2e
LEASE = "3"
DAG_KEY = "dags/finance_invoices_1_my_dag.py"
STATE = "mwaa-sp/finance/invoices/1/airflow-workload/terraform.tfstate"


class Setup:
    def __init__(self, service_factory: Any, s3: Any, schema: str, tmp_path: Path, **extra: str) -> None:
        self.s3 = s3
        self.bucket, self.states = f"mwaa-{uuid.uuid4().hex[:12]}", f"states-{uuid.uuid4().hex[:10]}"
        s3.create_bucket(Bucket=self.bucket)
        s3.create_bucket(Bucket=self.states)
        self.spec = WorkloadSpec(bucket=self.bucket)
        self.body = request(descriptor(self.spec))
        self.gate = Gate(tmp_path / "gate")
        self.settings = {
            "database_url": postgres_url(schema),
            "state_backend": "s3",
            "state_bucket": self.states,
            "async": "true",
            "task_lease": LEASE,
            **extra,
        }
        self.doomed = service_factory(gate=self.gate, **self.settings)
        self.survivor = service_factory(gate=self.gate, **self.settings)

    def stage(self, content: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=staged_key(self.spec), Body=content)

    def start(self, replica: Any, operation: str = "provision") -> str:
        response = httpx.post(f"{replica.url}/v1/{operation}", json=self.body, timeout=60)
        assert response.status_code == 202, response.text
        return str(response.json())

    def status_url(self, replica: Any, token: str) -> str:
        return f"{replica.url}/v1/provision/{token}/status"

    def provision(self, replica: Any) -> dict[str, Any]:
        return wait_finished(self.status_url(replica, self.start(replica)))

    def deployed(self) -> bytes:
        return bytes(self.s3.get_object(Bucket=self.bucket, Key=DAG_KEY)["Body"].read())

    def lock(self) -> dict[str, Any] | None:
        try:
            return dict(json.loads(self.s3.get_object(Bucket=self.states, Key=f"{STATE}.tflock")["Body"].read()))
        except self.s3.exceptions.NoSuchKey:
            return None


@pytest.mark.parametrize("moment", ["door", "plan", "apply"])
def test_kill_9_at_each_moment_then_the_survivor_provisions(
    moment: str, service_factory: Any, s3: Any, postgres_schema: str, tmp_path: Path
) -> None:
    env = Setup(service_factory, s3, postgres_schema, tmp_path)
    env.stage(b"v = 1\n")
    assert env.provision(env.survivor)["status"] == "COMPLETED"
    env.stage(b"v = 2\n")

    outsider = sa.create_engine(normalise_url(postgres_url(postgres_schema)))
    try:
        with outsider.connect() as held:
            if moment == "door":
                # Another process holds the workload's door: the doomed replica's task waits there.
                held.execute(
                    sa.text("SELECT pg_advisory_lock(:id)"),
                    {"id": advisory_lock_id("finance/invoices/1/airflow-workload")},
                )
                held.commit()
            else:
                env.gate.hold(moment)
            token = env.start(env.doomed)
            if moment == "door":
                wait_logged(env.status_url(env.doomed, token), "waiting for the workload's lock")
            else:
                env.gate.wait_reached(moment)
                lock = env.lock()
                assert lock is not None, "Terraform holds no state lock at this moment"
                assert lock["Operation"] == {"plan": "OperationTypePlan", "apply": "OperationTypeApply"}[moment]
                assert lock["Who"] == terraform_who()  # what the service recorded as its own
            env.doomed.kill_replica()
            env.gate.release(moment)
            if moment == "door":
                held.execute(sa.text("SELECT pg_advisory_unlock_all()"))
                held.commit()
    finally:
        outsider.dispose()
    if moment != "door":
        assert env.lock() is not None, "the killed run's lock should be left behind"

    # The next provision through the survivor waits for the dead replica's lease, then succeeds.
    answer = env.provision(env.survivor)
    assert answer["status"] == "COMPLETED", answer
    assert env.deployed() == b"v = 2\n"
    assert env.lock() is None
    if moment != "door":
        released = [e["message"] for e in answer["logs"] if "released state lock" in e["message"]]
        assert released, answer["logs"]
        assert "lost its process (lease expired)" in released[0]
    dead = wait_finished(env.status_url(env.survivor, token), 60, "the dead replica's task stayed RUNNING")
    assert dead["status"] == "FAILED"
    assert "replica running this task stopped" in dead["result"]


def test_a_foreign_lock_is_respected_and_reported(
    service_factory: Any, s3: Any, postgres_schema: str, tmp_path: Path
) -> None:
    env = Setup(service_factory, s3, postgres_schema, tmp_path, lock_timeout="3")
    env.stage(b"v = 1\n")
    assert env.provision(env.survivor)["status"] == "COMPLETED"
    env.stage(b"v = 2\n")
    now = "2026-01-01T00:00:00Z"
    cases = [
        {"ID": "an-engineer", "Operation": "OperationTypeApply", "Who": "operator@laptop", "Created": now},
        # Our own user@host, but at a time no run of the service covers: an engineer on the same host.
        {"ID": "same-host", "Operation": "OperationTypeApply", "Who": terraform_who(), "Created": now},
    ]
    for foreign in cases:
        s3.put_object(
            Bucket=env.states, Key=f"{STATE}.tflock", Body=json.dumps(foreign | {"Version": "1.15.5"}).encode()
        )
        answer = env.provision(env.survivor)
        assert answer["status"] == "FAILED", answer
        assert f"state is locked by {foreign['Who']} (OperationTypeApply, lock ID {foreign['ID']}" in answer["result"]
        assert "not a run of this service: it was left alone" in answer["result"]
        kept = env.lock()
        assert kept is not None
        assert kept["ID"] == foreign["ID"]
        assert env.deployed() == b"v = 1\n"
    s3.delete_object(Bucket=env.states, Key=f"{STATE}.tflock")
    assert env.provision(env.survivor)["status"] == "COMPLETED"
    assert env.deployed() == b"v = 2\n"


def test_reconcile_on_one_replica_and_provision_on_the_other(
    service_factory: Any, s3: Any, postgres_schema: str, tmp_path: Path
) -> None:
    """Both succeed in some order; the newest staged bytes end deployed."""
    env = Setup(service_factory, s3, postgres_schema, tmp_path)
    env.stage(b"v = 1\n")
    assert env.provision(env.doomed)["status"] == "COMPLETED"
    for first in ("reconcile", "provision"):
        s3.put_object(Bucket=env.bucket, Key=DAG_KEY, Body=b"tampered = True\n")  # drift behind Terraform's back
        newest = f"v = {uuid.uuid4().hex[:6]!r}\n".encode()
        env.stage(newest)
        gate_phase = "plan"
        env.gate.hold(gate_phase)
        if first == "reconcile":
            run = httpx.post(f"{env.doomed.url}/drift-runs", json={"reconcile": True, "thorough": True}, timeout=60)
            run_id = run.json()["id"]
            env.gate.wait_reached(gate_phase)
            token = env.start(env.survivor)
            wait_logged(env.status_url(env.survivor, token), "waiting for the workload's lock")
        else:
            token = env.start(env.survivor)
            env.gate.wait_reached(gate_phase)
            run_id = httpx.post(f"{env.doomed.url}/drift-runs", json={"reconcile": True}, timeout=60).json()["id"]
        env.gate.release(gate_phase)
        provisioned = wait_finished(env.status_url(env.survivor, token))
        assert provisioned["status"] == "COMPLETED", provisioned
        report = _drift_run(env.doomed.url, run_id)
        assert report["status"] == "COMPLETED", report
        assert report["report"]["workloads"][0]["status"] != "error", report
        assert env.deployed() == newest, first
        assert env.lock() is None


def _drift_run(url: str, run_id: str, timeout: float = 300) -> dict[str, Any]:
    return wait_finished(f"{url}/drift-runs/{run_id}", timeout, message="the drift run stayed RUNNING")


def test_a_drift_run_whose_replica_dies_ends_within_the_lease(
    service_factory: Any, s3: Any, postgres_schema: str, tmp_path: Path
) -> None:
    env = Setup(service_factory, s3, postgres_schema, tmp_path)
    env.stage(b"v = 1\n")
    assert env.provision(env.survivor)["status"] == "COMPLETED"
    env.gate.hold("read")
    run_id = httpx.post(f"{env.doomed.url}/drift-runs", json={"thorough": True}, timeout=60).json()["id"]
    env.gate.wait_reached("read")
    env.doomed.kill_replica()
    env.gate.release("read")
    body = _drift_run(env.survivor.url, run_id, timeout=60)
    assert body["status"] == "FAILED"
    assert "replica running this drift run stopped" in body["report"]["error"]
    # The workload is not wedged: a drift run through the survivor completes.
    again = httpx.post(f"{env.survivor.url}/drift-runs", json={"thorough": True}, timeout=60).json()["id"]
    assert _drift_run(env.survivor.url, again)["status"] == "COMPLETED"
    assert env.lock() is None


def test_a_replica_process_killed_alone_leaves_no_terraform_behind(
    service_factory: Any, s3: Any, postgres_schema: str, tmp_path: Path
) -> None:
    """Only the service's own process is killed (an OOM kill, say): its Terraform child loses its
    lifeline, is interrupted like Ctrl-C, and releases the state lock itself — no orphaned apply
    goes on holding the workload."""
    env = Setup(service_factory, s3, postgres_schema, tmp_path)
    env.stage(b"v = 1\n")
    env.gate.hold("apply")
    token = env.start(env.doomed)
    env.gate.wait_reached("apply")
    assert env.lock() is not None
    env.doomed.proc.kill()  # SIGKILL to the service process only; Terraform and the provider live on
    env.doomed.proc.wait()
    wait_until(lambda: env.lock() is None, timeout=120, what="the orphaned run releasing its state lock")
    env.gate.release("apply")
    dead = wait_finished(env.status_url(env.survivor, token), 60, "the dead replica's task stayed RUNNING")
    assert dead["status"] == "FAILED"
    assert env.provision(env.survivor)["status"] == "COMPLETED"
    assert env.deployed() == b"v = 1\n"
