"""Validate (v1 and v2) and provision refuse a DAG Airflow cannot load; nothing unloadable reaches
the DAG folder, and a packaged DAG that is fine deploys."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.support.archives import zip_of
from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key
from tests.support.processes import wait_finished

pytestmark = pytest.mark.e2e
FIELD = "dataProduct.components[0].specific.dagName"


def test_unloadable_dags_are_refused_everywhere(service_factory: Any, s3: Any) -> None:
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    service = service_factory()
    broken = WorkloadSpec(name="broken", dag_name="broken.py", bucket=bucket)
    s3.put_object(Bucket=bucket, Key=staged_key(broken), Body=b"from airflow import DAG\n\nwith DAG(:\n    pass\n")
    body = request(descriptor(broken))

    v1 = httpx.post(f"{service.url}/v1/validate", json=body, timeout=120).json()
    assert v1["valid"] is False
    [error] = v1["error"]["errors"]
    assert error.startswith(f"{FIELD}: the staged DAG s3://{bucket}/source/finance.invoices.1.broken.py")
    assert "does not compile (line 3)" in error

    token = httpx.post(f"{service.url}/v2/validate", json=body, timeout=60).json()
    v2 = wait_finished(f"{service.url}/v2/validate/{token}/status")
    assert v2["info"]["publicInfo"] == v1

    refused = httpx.post(f"{service.url}/v1/provision", json=body, timeout=300)
    assert refused.status_code == 400
    assert refused.json()["inputErrorField"] == FIELD

    not_a_zip = WorkloadSpec(name="zipped", dag_name="zipped.zip", bucket=bucket)
    s3.put_object(Bucket=bucket, Key=staged_key(not_a_zip), Body=b"x = 1\n")
    zipped_body = request(descriptor(not_a_zip))
    refused_zip = httpx.post(f"{service.url}/v1/provision", json=zipped_body, timeout=300)
    assert refused_zip.status_code == 400
    assert "is not a zip archive" in refused_zip.text
    s3.put_object(Bucket=bucket, Key=staged_key(not_a_zip), Body=zip_of({"pkg/dag.py": b"x = 1\n"}))
    nested = httpx.post(f"{service.url}/v1/validate", json=zipped_body, timeout=120).json()
    assert "has no .py file at its root" in nested["error"]["errors"][0]
    assert s3.list_objects_v2(Bucket=bucket, Prefix="dags/").get("KeyCount", 0) == 0  # nothing reached the folder

    package = zip_of({"zipped.py": b"from airflow import DAG\n", "helpers/util.py": b"x = 1\n"})
    s3.put_object(Bucket=bucket, Key=staged_key(not_a_zip), Body=package)
    assert httpx.post(f"{service.url}/v1/validate", json=zipped_body, timeout=120).json() == {"valid": True}
    deployed = httpx.post(f"{service.url}/v1/provision", json=zipped_body, timeout=300)
    assert deployed.status_code == 200, deployed.text
    assert s3.get_object(Bucket=bucket, Key="dags/finance_invoices_1_zipped.zip")["Body"].read() == package
