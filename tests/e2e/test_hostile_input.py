"""Hostile descriptor values through the running service: rejected, or deployed as inert data."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key

pytestmark = pytest.mark.e2e


def test_hostile_values_are_rejected_or_inert(service_factory: Any, s3: Any, tmp_path: Path) -> None:
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    service = service_factory()

    traversal = request(descriptor(WorkloadSpec(dag_name="../../x", bucket=bucket)))
    response = httpx.post(f"{service.url}/v1/provision", json=traversal, timeout=60)
    assert response.status_code == 400
    assert response.json()["inputErrorField"] == "dataProduct.components[0].specific.dagName"

    injection = request(descriptor(WorkloadSpec(dag_name='${file("/etc/passwd")}', bucket=bucket)))
    response = httpx.post(f"{service.url}/v1/provision", json=injection, timeout=60)
    assert response.status_code == 400

    bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "\n".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 10) + "]" for i in range(9)
    )
    response = httpx.post(f"{service.url}/v1/provision", json=request(bomb), timeout=60)
    assert response.status_code == 400
    assert "expands to more than" in response.text

    huge = request("dataProduct: {}\n#" + "x" * (10 * 1024 * 1024))
    response = httpx.post(f"{service.url}/v1/provision", json=huge, timeout=60)
    assert response.status_code == 400
    assert "too large" in response.json()["userMessage"]

    # Interpolation syntax that is a legal file name is deployed verbatim: Terraform reads it as data.
    inert = WorkloadSpec(name="inert", dag_name="${path.module}%{if true}.py", bucket=bucket)
    code = b'x = "${file(\\"/etc/passwd\\")}"\n'
    s3.put_object(Bucket=bucket, Key=staged_key(inert), Body=code)
    response = httpx.post(f"{service.url}/v1/provision", json=request(descriptor(inert)), timeout=300)
    assert response.status_code == 200, response.text
    key = "dags/finance_invoices_1___path_module___if_true_.py"
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == code
    workdir = tmp_path / "data0" / "workloads" / "finance" / "invoices" / "1" / "inert"
    tfvars = json.loads((workdir / "terraform.tfvars.json").read_text())
    assert tfvars["workload"]["dag_content"] == code.decode()
    for tf_file in workdir.rglob("*.tf"):
        assert "etc/passwd" not in tf_file.read_text()
        assert "path.module}%{" not in tf_file.read_text()
    # No rejected request wrote anything.
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert keys == {staged_key(inert), key, "dags/finance_invoices_1___path_module___if_true__descriptor.yaml"}
