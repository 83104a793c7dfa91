"""The whole path through HTTP: service process → render → real Terraform → moto S3 server → back."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key
from tests.support.gate import Gate

pytestmark = pytest.mark.e2e

DAG_V1 = b"from airflow import DAG\n# version 1\n"
DAG_V2 = b"from airflow import DAG\n# version 2\n"


def _bucket(s3: Any) -> str:
    name = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def _post(url: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(url, json=body, timeout=300)


def _poll(url: str, timeout: float = 300) -> tuple[dict[str, Any], list[str]]:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = httpx.get(url, timeout=30)
        assert response.status_code == 200, response.text
        body = response.json()
        seen.append(body["status"])
        if body["status"] != "RUNNING":
            return body, seen
        time.sleep(0.2)
    raise TimeoutError(url)


def _state_present(backend: str, service_data: Path, s3: Any, state_bucket: str, key: str) -> dict[str, Any]:
    if backend == "s3":
        return json.loads(s3.get_object(Bucket=state_bucket, Key=key)["Body"].read())
    return json.loads((service_data / "states" / key).read_text())


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_validate_provision_reprovision_change_unprovision(
    backend: str, service_factory: Any, s3: Any, tmp_path: Path
) -> None:
    bucket = _bucket(s3)
    state_bucket = _bucket(s3)
    settings = {"state_backend": backend}
    if backend == "s3":
        settings["state_bucket"] = state_bucket
    service = service_factory(**settings)
    spec = WorkloadSpec(bucket=bucket)
    body = request(descriptor(spec))
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=DAG_V1)

    validated = _post(f"{service.url}/v1/validate", body)
    assert validated.status_code == 200
    assert validated.json() == {"valid": True}

    first = _post(f"{service.url}/v1/provision", body)
    assert first.status_code == 200, first.text
    status = first.json()
    assert status["status"] == "COMPLETED"
    private = status["info"]["privateInfo"]
    dag_key = "dags/finance_invoices_1_my_dag.py"
    descriptor_key = "dags/finance_invoices_1_my_dag_descriptor.yaml"
    assert private["dagKey"] == dag_key
    assert private["planSummary"] == {"add": 2, "change": 0, "destroy": 0, "import": 0}
    assert s3.get_object(Bucket=bucket, Key=dag_key)["Body"].read() == DAG_V1
    deployed_descriptor = s3.get_object(Bucket=bucket, Key=descriptor_key)["Body"].read().decode()
    assert "urn:dmb:cmp:finance:invoices:1:airflow-workload" in deployed_descriptor
    tags = s3.get_object_tagging(Bucket=bucket, Key=dag_key)["TagSet"]
    assert {
        "Key": "witboost:component-id",
        "Value": "urn:dmb:cmp:finance:invoices:1:airflow-workload",
    } in tags
    state_key = "mwaa-sp/finance/invoices/1/airflow-workload/terraform.tfstate"
    assert private["stateKey"] == state_key
    state = _state_present(backend, tmp_path / "data0", s3, state_bucket, state_key)
    assert {r["type"] for r in state["resources"]} == {"aws_s3_object"}
    assert status["info"]["publicInfo"]["dagLocation"]["value"] == f"s3://{bucket}/{dag_key}"
    modified = s3.head_object(Bucket=bucket, Key=dag_key)["LastModified"]

    again = _post(f"{service.url}/v1/provision", body)
    assert again.status_code == 200, again.text
    assert again.json()["info"]["privateInfo"]["planSummary"] == {"add": 0, "change": 0, "destroy": 0, "import": 0}
    assert s3.head_object(Bucket=bucket, Key=dag_key)["LastModified"] == modified

    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=DAG_V2)
    changed = _post(f"{service.url}/v1/provision", body)
    assert changed.status_code == 200, changed.text
    assert changed.json()["info"]["privateInfo"]["planSummary"] == {"add": 0, "change": 1, "destroy": 0, "import": 0}
    assert s3.get_object(Bucket=bucket, Key=dag_key)["Body"].read() == DAG_V2

    removed = _post(f"{service.url}/v1/unprovision", body)
    assert removed.status_code == 200, removed.text
    assert removed.json()["info"]["privateInfo"]["planSummary"] == {"add": 0, "change": 0, "destroy": 2, "import": 0}
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="dags/").get("Contents", [])
    assert listed == []
    state = _state_present(backend, tmp_path / "data0", s3, state_bucket, state_key)
    assert state["resources"] == []

    never = _post(f"{service.url}/v1/unprovision", body)
    assert never.status_code == 200
    assert never.json()["status"] == "COMPLETED"


def test_async_tokens_two_workloads_side_by_side(service_factory: Any, s3: Any) -> None:
    bucket = _bucket(s3)
    service = service_factory(**{"async": "true"})
    first = WorkloadSpec(name="ingest", dag_name="ingest.py", bucket=bucket)
    second = WorkloadSpec(name="report", dag_name="report-daily.py", bucket=bucket)
    for spec in (first, second):
        s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=DAG_V1 + spec.name.encode())

    tokens = []
    for index in (0, 1):
        response = _post(f"{service.url}/v1/provision", request(descriptor(first, second, provision=index)))
        assert response.status_code == 202, response.text
        assert isinstance(response.json(), str)
        tokens.append(response.json())
    # Two more requests for the same workload while the first may still run: serialised inside the
    # service, each answered on its own token, and no Terraform state-lock error reaches anyone.
    for _ in range(2):
        response = _post(f"{service.url}/v1/provision", request(descriptor(first, second, provision=0)))
        assert response.status_code == 202
        tokens.append(response.json())
    assert len(set(tokens)) == 4
    first_answers = []
    for token in tokens:
        body, seen = _poll(f"{service.url}/v1/provision/{token}/status")
        assert body["status"] == "COMPLETED", body
        assert "lock" not in json.dumps(body).lower()
        first_answers.append(seen[0])
    # Queued behind Terraform runs that take seconds, the later tokens cannot have been done yet.
    assert "RUNNING" in first_answers
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="dags/")["Contents"]}
    assert keys == {
        "dags/finance_invoices_1_ingest.py",
        "dags/finance_invoices_1_ingest_descriptor.yaml",
        "dags/finance_invoices_1_report_daily.py",
        "dags/finance_invoices_1_report_daily_descriptor.yaml",
    }

    response = _post(f"{service.url}/v1/unprovision", request(descriptor(first, second, provision=0)))
    assert response.status_code == 202
    body, _ = _poll(f"{service.url}/v1/provision/{response.json()}/status")
    assert body["status"] == "COMPLETED", body
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="dags/")["Contents"]}
    assert keys == {
        "dags/finance_invoices_1_report_daily.py",
        "dags/finance_invoices_1_report_daily_descriptor.yaml",
    }

    v2 = _post(f"{service.url}/v2/validate", request(descriptor(first, second, provision=1)))
    assert v2.status_code == 202
    body, _ = _poll(f"{service.url}/v2/validate/{v2.json()}/status")
    assert body == {"status": "COMPLETED", "info": {"publicInfo": {"valid": True}}}

    unknown = httpx.get(f"{service.url}/v1/provision/not-a-token/status")
    assert unknown.status_code == 400
    assert "errors" in unknown.json()
    # A validation token is not a provisioning token.
    crossed = httpx.get(f"{service.url}/v1/provision/{v2.json()}/status")
    assert crossed.status_code == 400


def test_terraform_failure_surfaces_with_terraforms_message(service_factory: Any, s3: Any) -> None:
    bucket = _bucket(s3)
    missing_state_bucket = f"missing-{uuid.uuid4().hex[:10]}"
    spec = WorkloadSpec(bucket=bucket)
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=DAG_V1)
    sync = service_factory(state_backend="s3", state_bucket=missing_state_bucket)
    response = _post(f"{sync.url}/v1/provision", request(descriptor(spec)))
    assert response.status_code == 500
    error = response.json()
    assert error["error"].startswith("terraform init failed")
    assert missing_state_bucket in error["userMessage"] or "bucket" in error["userMessage"].lower()

    async_service = service_factory(state_backend="s3", state_bucket=missing_state_bucket, **{"async": "true"})
    token = _post(f"{async_service.url}/v1/provision", request(descriptor(spec))).json()
    body, _ = _poll(f"{async_service.url}/v1/provision/{token}/status")
    assert body["status"] == "FAILED"
    assert "terraform init failed" in body["result"]
    assert body["logs"][-1]["level"] == "ERROR"
    assert s3.list_objects_v2(Bucket=bucket, Prefix="dags/").get("KeyCount", 0) == 0


def test_a_terraform_run_past_its_deadline_is_stopped(service_factory: Any, s3: Any, tmp_path: Path) -> None:
    """The apply is held at the stand-in's gate: it can only end by the deadline, on any machine."""
    bucket = _bucket(s3)
    spec = WorkloadSpec(bucket=bucket)
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=DAG_V1)
    data = tmp_path / "deadline"
    gate = Gate(tmp_path / "gate")
    gate.hold("apply")
    # Generous for init and plan on a slow machine; only the held apply can run past it.
    service = service_factory(data_dir=data, gate=gate, terraform_timeout="20")
    response = _post(f"{service.url}/v1/provision", request(descriptor(spec)))
    assert response.status_code == 500
    error = response.json()["error"]
    assert error.startswith("terraform apply failed"), error
    assert "did not finish within 20 s and was stopped" in error
    gate.wait_reached("apply", timeout=1)  # it was the apply that ran past the deadline
    service.stop()
    gate.release("apply")
    # The workload is not stuck: the interrupted run left no lock, the same request goes through.
    healthy = service_factory(data_dir=data)
    assert _post(f"{healthy.url}/v1/provision", request(descriptor(spec))).status_code == 200
    assert s3.get_object(Bucket=bucket, Key="dags/finance_invoices_1_my_dag.py")["Body"].read() == DAG_V1


def test_a_2_6_enriched_descriptor_provisions_with_its_upstream_info_beside_the_dag(
    service_factory: Any, s3: Any
) -> None:
    """Tech Adapter API 2.6: the components a workload depends on arrive with their provisioning info;
    it lands in the descriptor file beside the DAG, where the DAG code reads it."""
    import yaml

    bucket = _bucket(s3)
    service = service_factory()
    spec = WorkloadSpec(bucket=bucket)
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=DAG_V1)
    document = yaml.safe_load(descriptor(spec))
    upstream = "urn:dmb:cmp:finance:invoices:1:raw-table"
    info = {"publicInfo": {}, "privateInfo": {"jdbcUrl": "jdbc:postgresql://db.internal:5432/raw"}}
    document["dataProduct"]["components"][0]["dependsOn"] = [upstream]
    document["dataProduct"]["components"].append({"kind": "storage", "id": upstream, "info": info})
    answer = _post(f"{service.url}/v1/provision", request(yaml.safe_dump(document)))
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "COMPLETED"
    key = answer.json()["info"]["privateInfo"]["descriptorKey"]
    written = yaml.safe_load(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    [dependency] = [c for c in written["components"] if c["id"] == upstream]
    assert dependency["info"] == info
