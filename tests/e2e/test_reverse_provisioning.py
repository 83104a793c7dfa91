"""Reverse provisioning of a DAG the older provisioner deployed: its exact original dagName and
schedule come back as catalog-info updates, Terraform's import plan is in the logs, and the next
provision adopts the DAG. Missing or already managed keys are a clear FAILED, never a 5xx. Only the
requesting data product's DAGs, in an allowed bucket, are read, and no answer carries DAG source."""

from __future__ import annotations

import hashlib
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


SECRET = "hunter2-planted-in-the-dag"
LEGACY_DAG = f"from airflow import DAG\n# deployed by the older SP\npassword = '{SECRET}'\n".encode()


def _older_provisioner_layout(s3: Any, bucket: str) -> tuple[WorkloadSpec, WorkloadSpec]:
    spec = WorkloadSpec(name="nightly", dag_name=ORIGINAL, bucket=bucket, cron="15 3 * * 1-5")
    other = WorkloadSpec(name="other", dag_name="other.py", bucket=bucket)
    data_product = yaml.safe_load(descriptor(spec, other))["dataProduct"]
    s3.put_object(Bucket=bucket, Key=OLD_DESCRIPTOR, Body=yaml.safe_dump(data_product).encode())
    s3.put_object(Bucket=bucket, Key=DEPLOYED, Body=LEGACY_DAG)
    s3.put_object(Bucket=bucket, Key="dags/finance_invoices_1_other.py", Body=b"from airflow import DAG\n")
    return spec, other


def _catalog_info(system: str = "finance.invoices.1", name: str = "finance.invoices.1.nightly") -> dict[str, Any]:
    """What Witboost sends: the component's catalog-info (a Backstage entity)."""
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name},
        "spec": {"type": "workload", "system": f"system:{system}", "domain": "domain:finance", "mesh": {}},
    }


def _body(bucket: str, key: str, catalog_info: dict[str, Any] | None = None, **params: Any) -> dict[str, Any]:
    return {
        "useCaseTemplateId": "urn:dmb:utm:mwaa-workload-template:0.0.0",
        "environment": "development",
        "params": {"bucketName": bucket, "dagKey": key, **params},
        "catalogInfo": _catalog_info() if catalog_info is None else catalog_info,
    }


def test_reverse_provisioning_recovers_the_original_and_plans_the_import(
    service_factory: Any, s3: Any, tmp_path: Any
) -> None:
    from tests.support.shared import shared_path

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
    assert "module.workload.aws_s3_object.dag_text[0] will be imported" in messages
    assert "Plan: 1 to import" in messages
    assert f"deployed DAG: {len(LEGACY_DAG)} bytes, sha256 {hashlib.sha256(LEGACY_DAG).hexdigest()}" in messages
    assert SECRET not in response.text  # no DAG source in the answer, not even in Terraform's plan
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

    nope = "dags/finance_invoices_1_nope.py"
    missing = httpx.post(f"{service.url}/v1/reverse-provisioning", json=_body(bucket, nope), timeout=300)
    assert missing.status_code == 200
    assert missing.json()["status"] == "FAILED"
    assert f"s3://{bucket}/{nope} does not exist" in missing.json()["logs"][-1]["message"]

    unknown = f"dags/finance_invoices_1_{uuid.uuid4().hex[:6]}.py"
    s3.put_object(Bucket=bucket, Key=unknown, Body=b"x = 1\n")
    orphan = httpx.post(f"{service.url}/v1/reverse-provisioning", json=_body(bucket, unknown), timeout=300).json()
    assert orphan["status"] == "FAILED"
    assert "original dagName cannot be recovered" in orphan["logs"][-1]["message"]


def test_only_the_requesting_data_products_dags_in_allowed_buckets(service_factory: Any, s3: Any) -> None:
    bucket, foreign, states = (f"mwaa-{uuid.uuid4().hex[:12]}" for _ in range(3))
    for name in (bucket, foreign, states):
        s3.create_bucket(Bucket=name)
    _older_provisioner_layout(s3, bucket)
    _older_provisioner_layout(s3, foreign)  # another team's bucket, with another team's DAG in it
    service = service_factory(allowed_buckets=bucket, state_backend="s3", state_bucket=states)
    post = f"{service.url}/v1/reverse-provisioning"

    for refused_bucket in (foreign, states, f"mwaa-{uuid.uuid4().hex[:12]}"):
        refused = httpx.post(post, json=_body(refused_bucket, DEPLOYED), timeout=60)
        assert refused.status_code == 400, refused.text
        assert refused.json()["inputErrorField"] == "params.bucketName"
        assert "exist" not in refused.text  # nothing said about whether it exists
        assert SECRET not in refused.text

    # Another data product's DAG in the allowed bucket: refused from its key alone.
    sales = httpx.post(
        post, json=_body(bucket, DEPLOYED, _catalog_info("sales.orders.2", "sales.orders.2.x")), timeout=60
    )
    assert sales.status_code == 200
    assert sales.json()["status"] == "FAILED"
    assert "is not a DAG of urn:dmb:dp:sales:orders:2" in sales.json()["logs"][-1]["message"]
    assert SECRET not in sales.text

    # The data product, but another component than the descriptor lists for this key.
    wrong = httpx.post(post, json=_body(bucket, DEPLOYED, _catalog_info(name="finance.invoices.1.other")), timeout=60)
    assert wrong.json()["status"] == "FAILED"
    assert "names a workload deployed as" in wrong.json()["logs"][-1]["message"]

    anonymous = httpx.post(post, json=_body(bucket, DEPLOYED, {}), timeout=60)
    assert anonymous.status_code == 400
    assert anonymous.json()["inputErrorField"] == "catalogInfo.spec.system"

    mine = httpx.post(post, json=_body(bucket, DEPLOYED), timeout=300)
    assert mine.json()["status"] == "COMPLETED", mine.text
    assert SECRET not in mine.text


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
