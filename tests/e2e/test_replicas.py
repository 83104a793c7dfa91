"""Two replicas sharing PostgreSQL and the S3 state bucket: a burst of provisions and unprovisions
for the same and different workloads, sent to both. Every token resolves, each workload ends as its
last request says, no Terraform lock error reaches a caller, and no state lock remains. (Kills of a
replica at each moment of a run: ``test_crash_recovery.py``.)"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key
from tests.support.postgres import postgres_url
from tests.support.processes import wait_finished, wait_logged

pytestmark = pytest.mark.e2e


def test_burst_across_two_replicas(service_factory: Any, s3: Any, postgres_schema: str) -> None:
    bucket, states = f"mwaa-{uuid.uuid4().hex[:12]}", f"states-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=states)
    settings = {
        "database_url": postgres_url(postgres_schema),
        "state_backend": "s3",
        "state_bucket": states,
        "async": "true",
        "task_lease": "3",
    }
    replicas = [service_factory(**settings), service_factory(**settings)]
    a, b = (
        WorkloadSpec(name="a", dag_name="a.py", bucket=bucket),
        WorkloadSpec(name="b", dag_name="b.py", bucket=bucket),
    )
    for spec in (a, b):
        s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=f"{spec.name} = 1\n".encode())
    burst = [  # (replica, operation, workload) in submission order
        (0, "provision", 0),
        (1, "unprovision", 0),
        (1, "provision", 1),
        (0, "provision", 0),
        (0, "provision", 1),
        (1, "unprovision", 1),
        (1, "provision", 0),
    ]
    tokens = []
    for replica, operation, index in burst:
        body = request(descriptor(a, b, provision=index))
        response = httpx.post(f"{replicas[replica].url}/v1/{operation}", json=body, timeout=60)
        assert response.status_code == 202, response.text
        tokens.append(response.json())
        # Its place in the workload's queue is fixed (queued in this replica, waiting at the
        # cross-replica lock, or inside) before the next request is sent: arrival order is defined.
        wait_logged(f"{replicas[replica].url}/v1/provision/{tokens[-1]}/status", phase="queue")
    for n, token in enumerate(tokens):
        # Any replica answers any token: poll the other one than the one that took it, half the time.
        answer = wait_finished(f"{replicas[n % 2].url}/v1/provision/{token}/status", 600)
        assert answer["status"] == "COMPLETED", answer
        assert "state lock" not in json.dumps(answer).lower()
        assert "state is locked" not in json.dumps(answer).lower()
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="dags/").get("Contents", [])}
    assert keys == {"dags/finance_invoices_1_a.py", "dags/finance_invoices_1_a_descriptor.yaml"}
    leftovers = [o["Key"] for o in s3.list_objects_v2(Bucket=states).get("Contents", [])]
    assert not [k for k in leftovers if k.endswith(".tflock")]
