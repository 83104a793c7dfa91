"""A replica killed mid-apply: its tasks fail with a reason once their lease runs out (never RUNNING
forever), finished tokens still answer after the restart, and the next provision succeeds."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key
from tests.support.gate import Gate
from tests.support.processes import wait_finished, wait_until

pytestmark = pytest.mark.e2e


def _status(url: str) -> dict[str, Any]:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_kill_9_mid_apply_then_restart(service_factory: Any, s3: Any, tmp_path: Path) -> None:
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    first, second = WorkloadSpec(name="done", dag_name="done.py", bucket=bucket), WorkloadSpec(bucket=bucket)
    for spec in (first, second):
        s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"x = 1\n")
    data = tmp_path / "shared-data"
    settings = {"async": "true", "task_lease": "3"}
    gate = Gate(tmp_path / "gate")
    service = service_factory(data_dir=data, gate=gate, **settings)

    done = httpx.post(f"{service.url}/v1/provision", json=request(descriptor(first, second)), timeout=60).json()
    wait_finished(f"{service.url}/v1/provision/{done}/status")

    body = request(descriptor(first, second, provision=1))
    gate.hold("apply")
    inflight = httpx.post(f"{service.url}/v1/provision", json=body, timeout=60).json()
    gate.wait_reached("apply")  # Terraform is applying now, whatever this machine's speed
    assert _status(f"{service.url}/v1/provision/{inflight}/status")["status"] == "RUNNING"
    service.kill_replica()
    gate.release("apply")

    restarted = service_factory(data_dir=data, **settings)
    assert _status(f"{restarted.url}/v1/provision/{done}/status")["status"] == "COMPLETED"
    answer = wait_finished(f"{restarted.url}/v1/provision/{inflight}/status", 60, "an abandoned task stayed RUNNING")
    assert answer["status"] == "FAILED"
    assert "replica running this task stopped" in answer["result"]

    again = httpx.post(f"{restarted.url}/v1/provision", json=body, timeout=60).json()
    answer = wait_finished(f"{restarted.url}/v1/provision/{again}/status")
    assert answer["status"] == "COMPLETED", answer
    assert s3.get_object(Bucket=bucket, Key="dags/finance_invoices_1_my_dag.py")["Body"].read() == b"x = 1\n"


def test_graceful_shutdown_lets_running_terraform_finish(service_factory: Any, s3: Any, tmp_path: Path) -> None:
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    spec = WorkloadSpec(bucket=bucket)
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"x = 2\n")
    data = tmp_path / "graceful"
    gate = Gate(tmp_path / "gate")
    gate.hold("apply")
    service = service_factory(data_dir=data, gate=gate, **{"async": "true"})
    token = httpx.post(f"{service.url}/v1/provision", json=request(descriptor(spec)), timeout=60).json()
    gate.wait_reached("apply")
    assert _status(f"{service.url}/v1/provision/{token}/status")["status"] == "RUNNING"
    service.proc.terminate()  # SIGTERM: stop accepting, let the apply finish
    wait_until(lambda: "draining: running tasks may finish" in service.log_path.read_text())
    gate.release("apply")
    assert service.proc.wait(timeout=120) == 0  # an orderly stop
    assert "Application shutdown complete" in service.log_path.read_text()
    assert s3.get_object(Bucket=bucket, Key="dags/finance_invoices_1_my_dag.py")["Body"].read() == b"x = 2\n"
    restarted = service_factory(data_dir=data, **{"async": "true"})
    assert _status(f"{restarted.url}/v1/provision/{token}/status")["status"] == "COMPLETED"


def test_a_state_left_empty_by_a_crash_mid_write_is_recovered(service_factory: Any, s3: Any, tmp_path: Path) -> None:
    """A replica killed while Terraform rewrote a local state leaves it empty. Terraform reads that as
    no state; the next provision adopts the workload's own objects (tagged with its id) and goes on."""
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    spec = WorkloadSpec(bucket=bucket)
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"x = 1\n")
    data = tmp_path / "data"
    service = service_factory(data_dir=data)
    body = request(descriptor(spec))
    assert httpx.post(f"{service.url}/v1/provision", json=body, timeout=300).status_code == 200
    state = data / "states" / "mwaa-sp" / "finance" / "invoices" / "1" / "airflow-workload" / "terraform.tfstate"
    state.write_bytes(b"")  # what a kill between Terraform's truncate and write leaves
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"x = 2\n")
    again = httpx.post(f"{service.url}/v1/provision", json=body, timeout=300)
    assert again.status_code == 200, again.text
    assert again.json()["info"]["privateInfo"]["planSummary"]["import"] == 2
    assert s3.get_object(Bucket=bucket, Key="dags/finance_invoices_1_my_dag.py")["Body"].read() == b"x = 2\n"
