"""A replica whose clock runs 30 s ahead fails nobody's live work: leases are judged by the
database's clock, not by each replica's own.

The skewed replica runs under libfaketime (Debian's ``faketime``, which ``.ci/run`` installs); the
test first proves the skew took (its log stamps run 30 s ahead), then holds another replica's apply
at the stand-in's gate until the skewed one has renewed its own lease — so run its upkeep, judging
every lease — long past the moment its own clock would call the held task's lease expired."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from service.store.database import normalise_url
from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key
from tests.support.gate import Gate
from tests.support.postgres import postgres_url
from tests.support.processes import wait_finished, wait_until
from tests.support.real_parts import missing

pytestmark = pytest.mark.e2e
LEASE_S = 5
SKEW_S = 30


def _libfaketime() -> Path:
    found = sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))
    if not found:
        missing("libfaketime is not installed: install Debian's faketime to run this test (.ci/run does)")
    return found[0]


def _first_stamp(log: Path) -> datetime:
    first = json.loads(log.read_text().splitlines()[0])
    return datetime.fromisoformat(first["ts"])


def test_a_replica_thirty_seconds_ahead_fails_nobodys_live_work(
    service_factory: Any, s3: Any, postgres_schema: str, tmp_path: Path
) -> None:
    library = _libfaketime()
    bucket, states = (f"mwaa-{uuid.uuid4().hex[:12]}" for _ in range(2))
    s3.create_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=states)
    gate = Gate(tmp_path / "gate")
    settings = {
        "database_url": postgres_url(postgres_schema),
        "state_backend": "s3",
        "state_bucket": states,
        "async": "true",
        "task_lease": str(LEASE_S),
    }
    honest = service_factory(gate=gate, **settings)
    before = datetime.now(UTC)
    ahead = service_factory(
        gate=gate,
        env_extra={"LD_PRELOAD": str(library), "FAKETIME": f"+{SKEW_S}s", "FAKETIME_DONT_FAKE_MONOTONIC": "1"},
        **settings,
    )
    assert _first_stamp(ahead.log_path) > before + timedelta(seconds=SKEW_S - 5), "the skew did not take"

    spec = WorkloadSpec(bucket=bucket)
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"v = 1\n")
    gate.hold("apply")
    started = httpx.post(f"{honest.url}/v1/provision", json=request(descriptor(spec)), timeout=60)
    status = f"{honest.url}/v1/provision/{started.json()}/status"
    gate.wait_reached("apply")

    engine = sa.create_engine(normalise_url(postgres_url(postgres_schema)))
    try:
        with engine.connect() as conn:
            held_since = conn.execute(sa.text("SELECT clock_timestamp()")).scalar_one()

        def ahead_judged_later() -> bool:
            """The skewed replica renewed its own lease (its upkeep ran, judging every lease) two
            leases after the apply was held, by the database's clock."""
            with engine.connect() as conn:
                renewed = conn.execute(
                    sa.text("SELECT heartbeat_at FROM replicas WHERE pid = :pid"), {"pid": ahead.proc.pid}
                ).scalar_one()
            return bool(renewed > held_since + timedelta(seconds=2 * LEASE_S))

        wait_until(ahead_judged_later, what="the skewed replica's upkeep, two leases on", timeout=120)
    finally:
        engine.dispose()
    assert httpx.get(status, timeout=30).json()["status"] == "RUNNING"  # nobody failed the live apply

    gate.release("apply")
    ended = wait_finished(status)
    assert ended["status"] == "COMPLETED", ended
    assert s3.get_object(Bucket=bucket, Key="dags/finance_invoices_1_my_dag.py")["Body"].read() == b"v = 1\n"
