"""An object already at a workload's key becomes the workload's only with proof — its component tag,
the older provisioner's descriptor of *this* data product listing *this* component, or an operator's
audited ``mwaa-sp adopt`` — and is then imported by its first provision (the stored plan shows the
import). Anything else is refused by name and never overwritten: not a DAG put there by hand, not
another component's, not another data product's legacy DAG whose sanitised name collides."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
import yaml

from tests.support.descriptors import WorkloadSpec, component_id, descriptor, request, staged_key
from tests.support.processes import run_cli

pytestmark = pytest.mark.e2e
DAG_KEY = "dags/finance_invoices_1_my_dag.py"
COMPONENT = "urn:dmb:cmp:finance:invoices:1:airflow-workload"


def _bucket(s3: Any) -> str:
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    return bucket


def _provision(service: Any, spec: WorkloadSpec, **where: str) -> httpx.Response:
    return httpx.post(f"{service.url}/v1/provision", json=request(descriptor(spec, **where)), timeout=300)


def _body(s3: Any, bucket: str, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def test_a_dag_put_there_by_hand_is_refused_until_an_operator_adopts_it(service_factory: Any, s3: Any) -> None:
    bucket = _bucket(s3)
    spec = WorkloadSpec(bucket=bucket)
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"v = 2\n")
    s3.put_object(Bucket=bucket, Key=DAG_KEY, Body=b"v = 1  # deployed by hand\n")
    service = service_factory()

    refused = _provision(service, spec)
    assert refused.status_code == 400, refused.text
    answer = refused.json()
    assert answer["inputErrorField"] == "dataProduct.components[0].specific.dagName"
    assert f"s3://{bucket}/{DAG_KEY} already exists and nothing proves it is {COMPONENT}'s" in answer["errors"][0]
    assert f"mwaa-sp adopt {COMPONENT} s3://{bucket}/{DAG_KEY}" in answer["moreInfo"]["solutions"][0]
    assert _body(s3, bucket, DAG_KEY) == b"v = 1  # deployed by hand\n"
    validated = httpx.post(f"{service.url}/v1/validate", json=request(descriptor(spec)), timeout=60).json()
    assert validated == {"valid": False, "error": {"errors": answer["errors"]}}  # validate says so first

    adopted = run_cli(
        ["adopt", COMPONENT, f"s3://{bucket}/{DAG_KEY}", "--reason", "our DAG, copied by hand"], service.env
    )
    assert adopted.returncode == 0, adopted.stderr
    assert "its next provision imports it" in adopted.stdout
    audit = [line for line in adopted.stderr.splitlines() if '"operator adoption"' in line]
    assert len(audit) == 1
    assert '"audit": true' in audit[0]
    assert "our DAG, copied by hand" in audit[0]

    response = _provision(service, spec)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["info"]["privateInfo"]["planSummary"] == {"add": 1, "change": 1, "destroy": 0, "import": 1}
    assert any(
        f"adopted s3://{bucket}/{DAG_KEY}" in e["message"] and "adopted for this component by" in e["message"]
        for e in body["logs"]
    )
    assert _body(s3, bucket, DAG_KEY) == b"v = 2\n"
    tags = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=DAG_KEY)["TagSet"]}
    assert tags["witboost:component-id"] == COMPONENT

    plan_id = body["info"]["privateInfo"]["planId"]
    stored = httpx.get(f"{service.url}/workloads/{COMPONENT}/plans/{plan_id}", timeout=120).json()
    assert stored["summary"]["import"] == 1
    importing = [c for c in stored["json"]["resource_changes"] if c["change"].get("importing")]
    assert [c["address"] for c in importing] == ["module.workload.aws_s3_object.dag_text[0]"]
    again = _provision(service, spec).json()  # an ordinary provision now: nothing left to import
    assert again["info"]["privateInfo"]["planSummary"]["import"] == 0


def test_an_operator_cannot_adopt_a_key_another_component_holds(service_factory: Any, s3: Any) -> None:
    bucket = _bucket(s3)
    spec = WorkloadSpec(bucket=bucket)
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"v = 1\n")
    service = service_factory()
    assert _provision(service, spec).status_code == 200
    other = "urn:dmb:cmp:finance:invoices:1:someone-else"
    refused = run_cli(["adopt", other, f"s3://{bucket}/{DAG_KEY}", "--reason", "mine"], service.env)
    assert refused.returncode == 64
    assert f"is claimed by {COMPONENT}" in refused.stderr


def test_an_object_another_component_deploys_is_never_adopted(service_factory: Any, s3: Any) -> None:
    bucket = _bucket(s3)
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
    response = _provision(service, spec)
    assert response.status_code == 400
    assert "is deployed by urn:dmb:cmp:finance:invoices:1:someone-else" in response.text
    assert _body(s3, bucket, DAG_KEY) == foreign


def test_a_legacy_dag_of_another_data_product_is_not_taken_over(service_factory: Any, s3: Any) -> None:
    """``fin:inv_1:2`` + ``load.py`` (the older provisioner's, with its descriptor beside it) and
    ``fin:inv:1`` + ``2_load.py`` deploy to the same file: the newcomer is refused, the victim's DAG
    and descriptor stay byte for byte, the newcomer's unprovision touches neither — and the victim's
    own first provision adopts its DAG, proven by its descriptor."""
    bucket = _bucket(s3)
    victim = WorkloadSpec(name="loader", dag_name="load.py", bucket=bucket)
    victim_where = {"domain": "fin", "dp": "inv_1", "major": "2"}
    attacker = WorkloadSpec(name="loader", dag_name="2_load.py", bucket=bucket)
    attacker_where = {"domain": "fin", "dp": "inv", "major": "1"}
    key, shared = "dags/fin_inv_1_2_load.py", "dags/fin_inv_1_2_descriptor.yaml"
    legacy_dag = b"from airflow import DAG\n# the victim's, deployed by the older provisioner\n"
    legacy_descriptor = yaml.safe_dump(yaml.safe_load(descriptor(victim, **victim_where))["dataProduct"]).encode()
    s3.put_object(Bucket=bucket, Key=key, Body=legacy_dag)
    s3.put_object(Bucket=bucket, Key=shared, Body=legacy_descriptor)
    s3.put_object(Bucket=bucket, Key=staged_key(attacker, **attacker_where), Body=b"print('takeover')\n")
    service = service_factory()

    refused = _provision(service, attacker, **attacker_where)
    assert refused.status_code == 400, refused.text
    message = refused.json()["errors"][0]
    assert (
        f"s3://{bucket}/{key} already exists and nothing proves it is {component_id(attacker, **attacker_where)}'s"
        in message
    )
    assert f"the older provisioner's descriptor s3://{bucket}/dags/fin_inv_1_descriptor.yaml" in message
    unprovisioned = httpx.post(
        f"{service.url}/v1/unprovision", json=request(descriptor(attacker, **attacker_where)), timeout=300
    )
    assert unprovisioned.status_code == 200, unprovisioned.text
    assert _body(s3, bucket, key) == legacy_dag
    assert _body(s3, bucket, shared) == legacy_descriptor

    s3.put_object(Bucket=bucket, Key=staged_key(victim, **victim_where), Body=b"print('v2 of the victim')\n")
    adopted = _provision(service, victim, **victim_where)
    assert adopted.status_code == 200, adopted.text
    assert adopted.json()["info"]["privateInfo"]["planSummary"]["import"] == 1
    assert any(
        f"listed in the older provisioner's descriptor s3://{bucket}/{shared}" in e["message"]
        for e in adopted.json()["logs"]
    )
    assert _body(s3, bucket, key) == b"print('v2 of the victim')\n"
    # The shared descriptor listed no other workload still on the older provisioner: it is retired.
    assert s3.list_objects_v2(Bucket=bucket, Prefix=shared).get("KeyCount", 0) == 0
