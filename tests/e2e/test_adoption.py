"""A DAG deployed before this service managed it — by the older provisioner or by hand — is adopted
by its first provision: imported into the workload's state (the stored plan shows the import),
then updated like any other change. An object another component deploys is never adopted."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key

pytestmark = pytest.mark.e2e
DAG_KEY = "dags/finance_invoices_1_my_dag.py"
DESCRIPTOR_KEY = "dags/finance_invoices_1_my_dag_descriptor.yaml"


def test_first_provision_adopts_what_is_already_deployed(service_factory: Any, s3: Any) -> None:
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    spec = WorkloadSpec(bucket=bucket)
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"v = 2\n")
    s3.put_object(Bucket=bucket, Key=DAG_KEY, Body=b"v = 1  # deployed by hand\n")
    service = service_factory()

    response = httpx.post(f"{service.url}/v1/provision", json=request(descriptor(spec)), timeout=300)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["info"]["privateInfo"]["planSummary"] == {"add": 1, "change": 1, "destroy": 0, "import": 1}
    assert any(f"adopted s3://{bucket}/{DAG_KEY}" in e["message"] for e in body["logs"])
    assert s3.get_object(Bucket=bucket, Key=DAG_KEY)["Body"].read() == b"v = 2\n"
    tags = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=DAG_KEY)["TagSet"]}
    assert tags["witboost:component-id"] == "urn:dmb:cmp:finance:invoices:1:airflow-workload"

    plan_id = body["info"]["privateInfo"]["planId"]
    workload = "urn:dmb:cmp:finance:invoices:1:airflow-workload"
    stored = httpx.get(f"{service.url}/workloads/{workload}/plans/{plan_id}", timeout=120).json()
    assert stored["summary"]["import"] == 1
    importing = [c for c in stored["json"]["resource_changes"] if c["change"].get("importing")]
    assert [c["address"] for c in importing] == ["module.workload.aws_s3_object.dag_text[0]"]
    assert "will be imported" in stored["text"] or "imported" in stored["text"]

    # The next provision is an ordinary one: nothing left to import.
    again = httpx.post(f"{service.url}/v1/provision", json=request(descriptor(spec)), timeout=300).json()
    assert again["info"]["privateInfo"]["planSummary"]["import"] == 0


def test_an_object_another_component_deploys_is_never_adopted(service_factory: Any, s3: Any) -> None:
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    spec = WorkloadSpec(bucket=bucket)
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"v = 2\n")
    foreign = b"other = True\n"
    s3.put_object(
        Bucket=bucket,
        Key=DAG_KEY,
        Body=foreign,
        Tagging="witboost%3Acomponent-id=urn%3Admb%3Acmp%3Afinance%3Ainvoices%3A1%3Asomeone-else",
    )
    service = service_factory()
    response = httpx.post(f"{service.url}/v1/provision", json=request(descriptor(spec)), timeout=300)
    assert response.status_code == 400
    assert "is deployed by urn:dmb:cmp:finance:invoices:1:someone-else" in response.text
    assert s3.get_object(Bucket=bucket, Key=DAG_KEY)["Body"].read() == foreign
