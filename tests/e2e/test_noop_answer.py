"""An unchanged provision answers before its bookkeeping (the outcome's time in the registry, the
task's end): a replica killed in between, with that write held on a row lock of PostgreSQL, has
already answered ``COMPLETED``; it leaves the registry as the last apply wrote it, its task's row to
lease expiry, and the next provision — on another replica — is the no-op again."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from service.store.database import normalise_url
from tests.support.descriptors import WorkloadSpec, component_id, descriptor, request, staged_key
from tests.support.postgres import postgres_url
from tests.support.processes import wait_finished, wait_until

pytestmark = pytest.mark.e2e
DEADLINE_S = 120.0


def _provision(replica: Any, spec: WorkloadSpec, timeout: float = DEADLINE_S) -> dict[str, Any]:
    answer = httpx.post(f"{replica.url}/v1/provision", json=request(descriptor(spec)), timeout=timeout)
    assert answer.status_code == 200, answer.text
    body = dict(answer.json())
    assert body["status"] == "COMPLETED", body
    return body


def test_a_replica_killed_between_a_no_ops_answer_and_its_bookkeeping(
    service_factory: Any, s3: Any, postgres_schema: str, tmp_path: Path
) -> None:
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    spec = WorkloadSpec(bucket=bucket)
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"x = 1\n")
    url = postgres_url(postgres_schema)
    # Sync mode (the default); one data directory, so the survivor sees the same local state.
    settings = {"data_dir": tmp_path / "data", "database_url": url, "task_lease": "3"}
    doomed = service_factory(**settings)
    assert _provision(doomed, spec)["info"]["privateInfo"]["noOpVerifiedWithoutTerraform"] is False

    engine = sa.create_engine(normalise_url(url))
    try:
        with engine.connect() as holder:
            held = holder.begin()
            row = sa.text("SELECT last_at FROM workloads WHERE component_id = :id FOR UPDATE")
            before = holder.execute(row, {"id": component_id(spec)}).scalar_one()
            me = holder.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()

            # Its write of the outcome waits on the row held here; the answer does not.
            answered = _provision(doomed, spec, timeout=30)
            assert answered["info"]["privateInfo"]["noOpVerifiedWithoutTerraform"] is True

            def write_waiting() -> bool:
                with engine.connect() as look:
                    blocked = look.execute(
                        sa.text("SELECT count(*) FROM pg_stat_activity WHERE :me = ANY(pg_blocking_pids(pid))"),
                        {"me": me},
                    ).scalar_one()
                return int(blocked) > 0

            wait_until(write_waiting, DEADLINE_S, "the no-op's write waiting on the held row")
            doomed.kill_replica()
            held.rollback()

        with engine.connect() as look:
            after = look.execute(row, {"id": component_id(spec)}).scalar_one()
            status = look.execute(sa.text("SELECT last_status FROM workloads")).scalar_one()
            tasks = look.execute(sa.text("SELECT token, status FROM tasks ORDER BY created_at")).all()
    finally:
        engine.dispose()
    assert (after, status) == (before, "COMPLETED")  # as the last apply wrote it
    assert [t.status for t in tasks] == ["COMPLETED", "RUNNING"]

    survivor = service_factory(**settings)
    ended = wait_finished(f"{survivor.url}/v1/provision/{tasks[1].token}/status", DEADLINE_S)
    assert ended["status"] == "FAILED", ended  # by lease expiry: no sync caller holds this token
    assert "stopped before it finished" in ended["result"]
    assert _provision(survivor, spec)["info"]["privateInfo"]["noOpVerifiedWithoutTerraform"] is True
