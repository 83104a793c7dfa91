"""Reverse provisioning of a DAG the older provisioner deployed: its exact original dagName and
schedule come back as catalog-info updates, Terraform's import plan is in the logs, and the next
provision adopts the DAG. Missing or already managed keys are a clear FAILED, never a 5xx."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
import yaml

from tests.support.contract import assert_conforms
from tests.support.descriptors import WorkloadSpec, component_id, descriptor, request, staged_key
from tests.support.processes import wait_finished

pytestmark = pytest.mark.e2e
# Sanitising is lossy: '-' and ' ' both become '_', so the deployed name cannot give this back.
ORIGINAL = "nightly-load v2.py"
DEPLOYED = "dags/finance_invoices_1_nightly_load_v2.py"
OLD_DESCRIPTOR = "dags/finance_invoices_1_descriptor.yaml"  # the older provisioner's, per data product


def _older_provisioner_layout(s3: Any, bucket: str) -> tuple[WorkloadSpec, WorkloadSpec]:
    spec = WorkloadSpec(name="nightly", dag_name=ORIGINAL, bucket=bucket, cron="15 3 * * 1-5")
    other = WorkloadSpec(name="other", dag_name="other.py", bucket=bucket)
    data_product = yaml.safe_load(descriptor(spec, other))["dataProduct"]
    s3.put_object(Bucket=bucket, Key=OLD_DESCRIPTOR, Body=yaml.safe_dump(data_product).encode())
    s3.put_object(Bucket=bucket, Key=DEPLOYED, Body=b"from airflow import DAG\n# deployed by the older SP\n")
    s3.put_object(Bucket=bucket, Key="dags/finance_invoices_1_other.py", Body=b"from airflow import DAG\n")
    return spec, other


def _body(bucket: str, key: str, **params: Any) -> dict[str, Any]:
    return {
        "useCaseTemplateId": "urn:dmb:utm:mwaa-workload-template:0.0.0",
        "environment": "development",
        "params": {"bucketName": bucket, "dagKey": key, **params},
        "catalogInfo": {},
    }


def test_reverse_provisioning_recovers_the_original_and_plans_the_import(
    service_factory: Any, s3: Any, tmp_path: Any
) -> None:
    from tests.conftest import shared_path

    spec_file = shared_path("witboost", "interface-specification-2.2.0.yml")
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    spec, other = _older_provisioner_layout(s3, bucket)
    service = service_factory()

    response = httpx.post(f"{service.url}/v1/reverse-provisioning", json=_body(bucket, DEPLOYED), timeout=300)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert_conforms(spec_file, "/v1/reverse-provisioning", "post", 200, answer)
    assert answer["status"] == "COMPLETED", answer
    updates = answer["updates"]
    assert updates["spec.mesh.specific.dagName"] == ORIGINAL
    assert updates["spec.mesh.specific.scheduleCron"] == "15 3 * * 1-5"
    assert updates["spec.mesh.specific.bucketName"] == bucket
    assert updates["spec.mesh.specific.destinationPath"] == "dags/"
    assert updates["spec.mesh.specific.sourcePath"] == "source/"
    messages = "\n".join(e["message"] for e in answer["logs"])
    assert "will be imported" in messages or "imported" in messages
    assert "Plan: 1 to import" in messages
    assert s3.list_objects_v2(Bucket=bucket, Prefix="dags/")["KeyCount"] == 3  # nothing applied

    # The next provision adopts the DAG: same deployed key, same DAG id.
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"from airflow import DAG\n# now by mwaa-sp\n")
    provisioned = httpx.post(f"{service.url}/v1/provision", json=request(descriptor(spec)), timeout=300)
    assert provisioned.status_code == 200, provisioned.text
    assert provisioned.json()["info"]["privateInfo"]["planSummary"]["import"] == 1
    assert s3.get_object(Bucket=bucket, Key=DEPLOYED)["Body"].read() == b"from airflow import DAG\n# now by mwaa-sp\n"
    # The older provisioner's shared descriptor stays while "other" (still the older one's) uses it…
    kept = [e["message"] for e in provisioned.json()["logs"] if e["phase"] == "migrate"]
    assert kept == [f"kept s3://{bucket}/{OLD_DESCRIPTOR}: still used by {component_id(other)}"]
    # …and goes once "other" moves over too (same key, same DAG id: no downtime).
    s3.put_object(Bucket=bucket, Key=staged_key(other), Body=b"from airflow import DAG\n")
    moved = httpx.post(f"{service.url}/v1/provision", json=request(descriptor(spec, other, provision=1)), timeout=300)
    assert moved.status_code == 200, moved.text
    assert any("removed the older provisioner's shared" in e["message"] for e in moved.json()["logs"])
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=OLD_DESCRIPTOR)

    # Now it is this service's: reverse provisioning it again is refused, clearly.
    again = httpx.post(f"{service.url}/v1/reverse-provisioning", json=_body(bucket, DEPLOYED), timeout=300).json()
    assert again["status"] == "FAILED"
    assert f"is already managed by this service, as {component_id(spec)}" in again["logs"][-1]["message"]
    assert again["updates"] == {}

    missing = httpx.post(f"{service.url}/v1/reverse-provisioning", json=_body(bucket, "dags/nope.py"), timeout=300)
    assert missing.status_code == 200
    assert missing.json()["status"] == "FAILED"
    assert f"s3://{bucket}/dags/nope.py does not exist" in missing.json()["logs"][-1]["message"]

    unknown = f"dags/finance_invoices_1_{uuid.uuid4().hex[:6]}.py"
    s3.put_object(Bucket=bucket, Key=unknown, Body=b"x = 1\n")
    orphan = httpx.post(f"{service.url}/v1/reverse-provisioning", json=_body(bucket, unknown), timeout=300).json()
    assert orphan["status"] == "FAILED"
    assert "original dagName cannot be recovered" in orphan["logs"][-1]["message"]


def test_reverse_provisioning_answers_on_a_token_in_async_mode(service_factory: Any, s3: Any) -> None:
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    _older_provisioner_layout(s3, bucket)
    service = service_factory(**{"async": "true"})
    response = httpx.post(f"{service.url}/v1/reverse-provisioning", json=_body(bucket, DEPLOYED), timeout=60)
    assert response.status_code == 202
    token = response.json()
    answer = wait_finished(f"{service.url}/v1/reverse-provisioning/{token}/status")
    assert answer["status"] == "COMPLETED", answer
    assert answer["updates"]["spec.mesh.specific.dagName"] == ORIGINAL
