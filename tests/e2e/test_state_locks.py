"""S3 state locks: a run's lock ID is recorded with its task; a lock left by a run whose task has
ended is released; a lock whose owner cannot be proven gone is left alone and reported."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key

pytestmark = pytest.mark.e2e
STATE = "mwaa-sp/finance/invoices/1/airflow-workload/terraform.tfstate"


def test_stale_and_foreign_state_locks(service_factory: Any, s3: Any, tmp_path: Path) -> None:
    bucket, states = f"mwaa-{uuid.uuid4().hex[:12]}", f"states-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=states)
    spec = WorkloadSpec(bucket=bucket)
    body = request(descriptor(spec))
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"v = 1\n")
    data = tmp_path / "data"
    service = service_factory(data_dir=data, state_backend="s3", state_bucket=states, lock_timeout="3")

    assert httpx.post(f"{service.url}/v1/provision", json=body, timeout=300).status_code == 200
    db = sqlite3.connect(data / "mwaa-sp.db")
    recorded = db.execute("SELECT lock_id FROM tasks WHERE kind = 'provision'").fetchall()
    assert recorded[0][0], "the run's state lock ID was not recorded with its task"

    # A lock left by a run whose task has ended (its replica died): proven ownerless, released.
    now = datetime.now(UTC).isoformat()
    db.execute(
        "INSERT INTO tasks (token, kind, status, created_at, updated_at, body, lock_id) "
        "VALUES ('dead', 'provision', 'FAILED', ?, ?, '{}', 'dead-lock-id')",
        (now, now),
    )
    db.commit()
    lock = {"ID": "dead-lock-id", "Operation": "OperationTypeApply", "Who": "ghost@gone", "Version": "1.15.5"}
    s3.put_object(Bucket=states, Key=f"{STATE}.tflock", Body=json.dumps(lock).encode())
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"v = 2\n")
    released = httpx.post(f"{service.url}/v1/provision", json=body, timeout=300)
    assert released.status_code == 200, released.text
    assert any("released state lock dead-lock-id" in e["message"] for e in released.json()["logs"])
    assert "Contents" not in s3.list_objects_v2(Bucket=states, Prefix=f"{STATE}.tflock")

    # A lock nobody can vouch for is left alone; the task fails saying the state is locked.
    foreign = lock | {"ID": "someone-else", "Who": "operator@laptop"}
    s3.put_object(Bucket=states, Key=f"{STATE}.tflock", Body=json.dumps(foreign).encode())
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"v = 3\n")
    refused = httpx.post(f"{service.url}/v1/provision", json=body, timeout=300)
    assert refused.status_code == 500
    assert "state is locked by another run" in refused.json()["error"]
    assert json.loads(s3.get_object(Bucket=states, Key=f"{STATE}.tflock")["Body"].read())["ID"] == "someone-else"
    assert s3.get_object(Bucket=bucket, Key="dags/finance_invoices_1_my_dag.py")["Body"].read() == b"v = 2\n"
    db.close()
