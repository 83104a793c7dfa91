"""The S3 endpoint stops in the middle of an operation: the task fails saying the endpoint was
unreachable; once it is back, the same request succeeds and nothing is duplicated."""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import Any

import boto3
import httpx
import pytest

from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key
from tests.support.gate import Gate
from tests.support.processes import free_port, stop, wait_finished, wait_http

pytestmark = pytest.mark.e2e


def _moto(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_http(f"http://127.0.0.1:{port}/moto-api/", proc)
    return proc


def _stage(endpoint: str, bucket: str, spec: WorkloadSpec) -> Any:
    s3 = boto3.client(
        "s3", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="t", aws_secret_access_key="t"
    )
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"x = 1\n")
    return s3


def test_endpoint_outage_fails_clearly_then_recovers(service_factory: Any, tmp_path: Any) -> None:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    spec = WorkloadSpec(bucket=bucket)
    moto = _moto(port)
    try:
        _stage(endpoint, bucket, spec)
        gate = Gate(tmp_path / "gate")
        gate.hold("apply")
        service = service_factory(endpoint=endpoint, gate=gate, aws_max_retries="1", **{"async": "true"})
        body = request(descriptor(spec))
        token = httpx.post(f"{service.url}/v1/provision", json=body, timeout=60).json()
        gate.wait_reached("apply")  # Terraform is applying now
        stop(moto)
        gate.release("apply")
        answer = wait_finished(f"{service.url}/v1/provision/{token}/status", 240)
        assert answer["status"] == "FAILED"
        assert "unreachable" in answer["result"]

        moto = _moto(port)  # back, empty: the emulator keeps nothing across restarts
        s3 = _stage(endpoint, bucket, spec)
        again = httpx.post(f"{service.url}/v1/provision", json=body, timeout=60).json()
        answer = wait_finished(f"{service.url}/v1/provision/{again}/status")
        assert answer["status"] == "COMPLETED", answer
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="dags/")["Contents"])
        assert keys == ["dags/finance_invoices_1_my_dag.py", "dags/finance_invoices_1_my_dag_descriptor.yaml"]
    finally:
        stop(moto)
