"""A KMS-encrypted MWAA bucket: S3's ETag is not the MD5 of the bytes there (moto is made to answer
like AWS, see tests.support.moto_server), so change detection must not compare MD5s with ETags."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/0b4f2c1e-1111-2222-3333-444455556666"
DAG = b"from airflow import DAG\n# the deployed bytes\n"


def _kms_bucket(s3: Any) -> str:
    bucket = f"mwaa-kms-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KMS_KEY}}]
        },
    )
    return bucket


def _plan(url: str, body: dict[str, object]) -> dict[str, int]:
    response = httpx.post(f"{url}/workloads/plan", json=body, timeout=300)
    assert response.status_code == 200, response.text
    return dict(response.json()["summary"])


def _drift(url: str, **options: object) -> dict[str, Any]:
    run_id = httpx.post(f"{url}/drift-runs", json=options, timeout=60).json()["id"]
    seen: dict[str, Any] = {}

    def ended() -> bool:
        seen.update(httpx.get(f"{url}/drift-runs/{run_id}", timeout=30).json())
        return bool(seen["status"] != "RUNNING")

    wait_until(ended, what="the drift run's end")
    return seen


def test_unchanged_provision_is_a_no_op_and_drift_is_still_seen(service_factory: Any, s3: Any) -> None:
    bucket = _kms_bucket(s3)
    spec = WorkloadSpec(bucket=bucket)
    body = request(descriptor(spec))
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=DAG)
    service = service_factory()

    provisioned = httpx.post(f"{service.url}/v1/provision", json=body, timeout=300)
    assert provisioned.status_code == 200, provisioned.text
    dag_key = provisioned.json()["info"]["privateInfo"]["dagKey"]
    deployed = s3.head_object(Bucket=bucket, Key=dag_key)
    # What production sees, or the rest proves nothing: KMS-encrypted, ETag not the MD5.
    assert deployed["ServerSideEncryption"] == "aws:kms"
    assert deployed["ETag"].strip('"') != hashlib.md5(DAG).hexdigest()
    assert s3.get_object(Bucket=bucket, Key=dag_key)["Body"].read() == DAG

    # Terraform itself (a speculative plan never takes the no-op fast path): nothing to do.
    assert _plan(service.url, body) == {"add": 0, "change": 0, "destroy": 0, "import": 0}
    again = httpx.post(f"{service.url}/v1/provision", json=body, timeout=300)
    assert again.status_code == 200, again.text
    assert s3.head_object(Bucket=bucket, Key=dag_key)["ETag"] == deployed["ETag"], "the DAG was uploaded again"

    # A changed DAG is still deployed.
    changed = DAG + b"# changed\n"
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=changed)
    assert _plan(service.url, body)["change"] == 1
    assert httpx.post(f"{service.url}/v1/provision", json=body, timeout=300).status_code == 200
    assert s3.get_object(Bucket=bucket, Key=dag_key)["Body"].read() == changed

    # Overwritten behind Terraform's back: drift sees it, and a reconcile puts our bytes back.
    # Same tags and content type: only the bytes differ, so no other attribute triggers a re-upload.
    tags = s3.get_object_tagging(Bucket=bucket, Key=dag_key)["TagSet"]
    s3.put_object(
        Bucket=bucket,
        Key=dag_key,
        Body=b"print('not ours')\n",
        ContentType="text/x-python",
        Tagging="&".join(f"{quote(t['Key'], safe='')}={quote(t['Value'], safe='')}" for t in tags),
    )
    report = _drift(service.url, thorough=True)
    (verdict,) = report["report"]["workloads"]
    assert verdict["status"] == "drifted", verdict
    assert [(c["key"], c["what"], c["tracking"]) for c in verdict["changes"]] == [(dag_key, "content", "source_hash")]
    reconciled = _drift(service.url, thorough=True, reconcile=True)
    assert reconciled["report"]["workloads"][0]["reconciled"] is not None
    assert s3.get_object(Bucket=bucket, Key=dag_key)["Body"].read() == changed
    assert _drift(service.url, thorough=True)["report"]["workloads"][0]["status"] == "in_sync"


def test_md5_etags_on_a_kms_bucket_re_upload_on_every_plan(service_factory: Any, s3: Any) -> None:
    """The failure the detection prevents, made visible: told the bucket has MD5 ETags, Terraform
    finds a change in every plan of an unchanged workload."""
    bucket = _kms_bucket(s3)
    spec = WorkloadSpec(bucket=bucket)
    body = request(descriptor(spec))
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=DAG)
    service = service_factory(bucket_encryption="sse-s3")
    assert httpx.post(f"{service.url}/v1/provision", json=body, timeout=300).status_code == 200
    assert _plan(service.url, body)["change"] == 2  # the DAG and the descriptor beside it
