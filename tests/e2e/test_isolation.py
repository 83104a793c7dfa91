"""One data product cannot touch another's DAGs, whatever its descriptor says.

- Two data products whose sanitised names collide (``fin:inv:1`` + ``2_load.py`` and ``fin:inv_1:2``
  + ``load.py`` both deploy ``dags/fin_inv_1_2_load.py``), provisioned at the same moment on two
  replicas: one wins the key's claim, the other is refused naming the winner, while the winner is
  still planning; the loser's unprovision touches nothing of the winner's. Three rounds.
- A deployed workload re-pointed (``destinationPath``) at a key another component holds, or at an
  object tagged by another component, is refused; nothing of either moves.
- The state bucket and buckets off the allow-list are refused at validate, naming ``bucketName`` and
  saying nothing about whether the bucket exists."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.descriptors import WorkloadSpec, component_id, descriptor, request, staged_key
from tests.support.gate import Gate
from tests.support.postgres import postgres_url
from tests.support.processes import wait_finished, wait_until

pytestmark = pytest.mark.e2e
KEY = "dags/fin_inv_1_2_load.py"
FIRST = {"domain": "fin", "dp": "inv", "major": "1"}
SECOND = {"domain": "fin", "dp": "inv_1", "major": "2"}


def _bucket(s3: Any) -> str:
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    return bucket


def _body(s3: Any, bucket: str, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def test_two_data_products_racing_for_one_key_get_one_winner(
    service_factory: Any, s3: Any, postgres_schema: str, tmp_path: Path
) -> None:
    bucket, states = _bucket(s3), _bucket(s3)
    gate = Gate(tmp_path / "gate")
    settings = {
        "database_url": postgres_url(postgres_schema),
        "state_backend": "s3",
        "state_bucket": states,
        "async": "true",
    }
    replicas = [service_factory(gate=gate, **settings), service_factory(gate=gate, **settings)]
    contenders = {
        component_id(WorkloadSpec(name="loader", dag_name="2_load.py"), **FIRST): (
            WorkloadSpec(name="loader", dag_name="2_load.py", bucket=bucket),
            FIRST,
            b"print('first data product')\n",
        ),
        component_id(WorkloadSpec(name="loader", dag_name="load.py"), **SECOND): (
            WorkloadSpec(name="loader", dag_name="load.py", bucket=bucket),
            SECOND,
            b"print('second data product')\n",
        ),
    }
    for spec, where, content in contenders.values():
        s3.put_object(Bucket=bucket, Key=staged_key(spec, **where), Body=content)

    for round_number in range(3):
        _race(replicas, contenders, gate, bucket, reverse=round_number % 2 == 1)


Contenders = dict[str, tuple[WorkloadSpec, dict[str, str], bytes]]


def _send(
    component: str, replica: Any, contenders: Contenders, start: threading.Barrier, tokens: dict[str, str]
) -> None:
    spec, where, _ = contenders[component]
    start.wait()
    answer = httpx.post(f"{replica.url}/v1/provision", json=request(descriptor(spec, **where)), timeout=60)
    assert answer.status_code == 202, answer.text
    tokens[component] = f"{replica.url}/v1/provision/{answer.json()}/status"


def _race(replicas: list[Any], contenders: Contenders, gate: Gate, bucket: str, *, reverse: bool) -> None:
    """Both provisions at once, one to each replica; the winner held planning while the loser is judged."""
    gate.hold("plan")
    tokens: dict[str, str] = {}
    start = threading.Barrier(2)
    order = list(reversed(contenders)) if reverse else list(contenders)
    threads = [
        threading.Thread(target=_send, args=(c, r, contenders, start, tokens))
        for c, r in zip(order, replicas, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    gate.wait_reached("plan")
    statuses: dict[str, dict[str, Any]] = {}

    def one_refused() -> bool:
        statuses.update({c: httpx.get(url, timeout=30).json() for c, url in tokens.items()})
        return any(s["status"] == "FAILED" for s in statuses.values())

    wait_until(one_refused, what="the loser's refusal while the winner plans")
    [loser] = [c for c, s in statuses.items() if s["status"] == "FAILED"]
    [winner] = [c for c in contenders if c != loser]
    assert statuses[winner]["status"] == "RUNNING"  # still held at its plan: the refusal came first
    assert f"s3://{bucket}/{KEY} is claimed by {winner}" in statuses[loser]["result"]
    gate.release("plan")
    assert wait_finished(tokens[winner])["status"] == "COMPLETED"
    assert bytes(boto_s3(replicas).get_object(Bucket=bucket, Key=KEY)["Body"].read()) == contenders[winner][2]

    registry = httpx.get(f"{replicas[0].url}/workloads", timeout=30).json()
    deployed = {w["componentId"]: w["deployed"] for w in registry}
    assert deployed[winner] is True
    assert deployed.get(loser) is not True

    # The loser's unprovision is a no-op: the winner's DAG and descriptor stay.
    spec, where, _ = contenders[loser]
    removed = httpx.post(f"{replicas[1].url}/v1/unprovision", json=request(descriptor(spec, **where)), timeout=60)
    assert wait_finished(f"{replicas[1].url}/v1/provision/{removed.json()}/status")["status"] == "COMPLETED"
    s3 = boto_s3(replicas)
    assert bytes(s3.get_object(Bucket=bucket, Key=KEY)["Body"].read()) == contenders[winner][2]
    assert s3.head_object(Bucket=bucket, Key=KEY.replace(".py", "_descriptor.yaml"))

    # The winner leaves: its keys are free for the next round.
    spec, where, _ = contenders[winner]
    gone = httpx.post(f"{replicas[0].url}/v1/unprovision", json=request(descriptor(spec, **where)), timeout=60)
    assert wait_finished(f"{replicas[0].url}/v1/provision/{gone.json()}/status")["status"] == "COMPLETED"
    assert s3.list_objects_v2(Bucket=bucket, Prefix="dags/").get("KeyCount", 0) == 0


def boto_s3(replicas: list[Any]) -> Any:
    """A client of the replicas' own S3 endpoint."""
    import boto3

    return boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=replicas[0].env["AWS_ENDPOINT_URL_S3"],
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def test_a_workload_re_pointed_at_another_components_key_is_refused(service_factory: Any, s3: Any) -> None:
    bucket = _bucket(s3)
    mover = WorkloadSpec(name="loader", dag_name="2_load.py", bucket=bucket)
    holder = WorkloadSpec(name="loader", dag_name="load.py", bucket=bucket, destination_path="other/")
    s3.put_object(Bucket=bucket, Key=staged_key(mover, **FIRST), Body=b"print('mover')\n")
    s3.put_object(Bucket=bucket, Key=staged_key(holder, **SECOND), Body=b"print('holder')\n")
    service = service_factory()
    for spec, where in ((mover, FIRST), (holder, SECOND)):
        answer = httpx.post(f"{service.url}/v1/provision", json=request(descriptor(spec, **where)), timeout=300)
        assert answer.status_code == 200, answer.text

    # Into the folder where the other data product's colliding DAG is: claimed, so refused.
    mover.destination_path = "other/"
    refused = httpx.post(f"{service.url}/v1/provision", json=request(descriptor(mover, **FIRST)), timeout=300)
    assert refused.status_code == 400, refused.text
    assert f"s3://{bucket}/other/fin_inv_1_2_load.py is claimed by {component_id(holder, **SECOND)}" in refused.text
    validated = httpx.post(f"{service.url}/v1/validate", json=request(descriptor(mover, **FIRST)), timeout=60).json()
    assert validated["valid"] is False
    assert "is claimed by" in validated["error"]["errors"][0]

    # Into a folder where another component's object is, unknown to this service: its tag refuses it.
    tag = "witboost%3Acomponent-id=urn%3Admb%3Acmp%3Asales%3Aorders%3A2%3Ax"
    s3.put_object(Bucket=bucket, Key="third/fin_inv_1_2_load.py", Body=b"theirs\n", Tagging=tag)
    mover.destination_path = "third/"
    tagged = httpx.post(f"{service.url}/v1/provision", json=request(descriptor(mover, **FIRST)), timeout=300)
    assert tagged.status_code == 400, tagged.text
    assert "is deployed by urn:dmb:cmp:sales:orders:2:x" in tagged.text

    assert _body(s3, bucket, "other/fin_inv_1_2_load.py") == b"print('holder')\n"
    assert _body(s3, bucket, "third/fin_inv_1_2_load.py") == b"theirs\n"
    assert _body(s3, bucket, "dags/fin_inv_1_2_load.py") == b"print('mover')\n"  # the mover stayed put

    # Re-pointed at a free folder it moves, and its old keys are free again.
    mover.destination_path = "fresh/"
    moved = httpx.post(f"{service.url}/v1/provision", json=request(descriptor(mover, **FIRST)), timeout=300)
    assert moved.status_code == 200, moved.text
    assert _body(s3, bucket, "fresh/fin_inv_1_2_load.py") == b"print('mover')\n"
    assert s3.list_objects_v2(Bucket=bucket, Prefix="dags/").get("KeyCount", 0) == 0
    comer = WorkloadSpec(name="comer", dag_name="load.py", bucket=bucket)
    s3.put_object(Bucket=bucket, Key=staged_key(comer, **SECOND), Body=b"print('comer')\n")
    came = httpx.post(f"{service.url}/v1/provision", json=request(descriptor(comer, **SECOND)), timeout=300)
    assert came.status_code == 200, came.text  # the key the mover left is claimed afresh
    assert _body(s3, bucket, "dags/fin_inv_1_2_load.py") == b"print('comer')\n"


def test_the_state_bucket_and_buckets_off_the_list_are_refused_at_validate(service_factory: Any, s3: Any) -> None:
    allowed, states, foreign = _bucket(s3), _bucket(s3), _bucket(s3)
    absent = f"mwaa-{uuid.uuid4().hex[:12]}"
    service = service_factory(allowed_buckets=f"{allowed},team-*", state_backend="s3", state_bucket=states)
    for bucket, says in (
        (states, "is the bucket of the service's Terraform states; DAGs are never deployed there"),
        (foreign, "is not a bucket this service deploys to (MWAA_SP_ALLOWED_BUCKETS)"),
        (absent, "is not a bucket this service deploys to (MWAA_SP_ALLOWED_BUCKETS)"),
    ):
        spec = WorkloadSpec(bucket=bucket)
        validated = httpx.post(f"{service.url}/v1/validate", json=request(descriptor(spec)), timeout=60).json()
        assert validated == {
            "valid": False,
            "error": {"errors": [f"dataProduct.components[0].specific.bucketName: bucket '{bucket}' {says}"]},
        }
        refused = httpx.post(f"{service.url}/v1/provision", json=request(descriptor(spec)), timeout=60)
        assert refused.status_code == 400
        assert refused.json()["inputErrorField"] == "dataProduct.components[0].specific.bucketName"
    assert s3.list_objects_v2(Bucket=states).get("KeyCount", 0) == 0
    spec = WorkloadSpec(bucket=allowed)
    missing = httpx.post(f"{service.url}/v1/validate", json=request(descriptor(spec)), timeout=60).json()
    assert "staged DAG" in missing["error"]["errors"][0]  # an allowed bucket is read
