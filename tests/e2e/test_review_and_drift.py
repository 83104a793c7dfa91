"""Platform engineers' view, end to end: stored and speculative plans, drift (fast and thorough agree),
the drift API, reconcile, the ignore list, metrics, the review gate and a registry rebuild."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key
from tests.support.postgres import postgres_url
from tests.support.processes import base_env, run_cli, wait_finished, wait_until

pytestmark = pytest.mark.e2e
DP = "urn:dmb:dp:finance:invoices:1"


def _by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {w["componentId"]: w for w in report["workloads"]}


def test_plans_drift_reconcile_and_rebuild(
    service_factory: Any, s3: Any, tmp_path: Path, moto_endpoint: str, provider_cli_config: Path
) -> None:
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    service = service_factory()
    specs = [WorkloadSpec(name=f"wl{i}", dag_name=f"dag_{i}.py", bucket=bucket) for i in range(4)]
    ids = [f"urn:dmb:cmp:finance:invoices:1:wl{i}" for i in range(4)]
    for i, spec in enumerate(specs):
        s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=f"x = {i}\n".encode())
        response = httpx.post(f"{service.url}/v1/provision", json=request(descriptor(*specs, provision=i)), timeout=300)
        assert response.status_code == 200, response.text
        assert response.json()["info"]["privateInfo"]["planId"]

    listed = httpx.get(f"{service.url}/workloads", params={"dataProduct": DP}).json()
    assert [w["componentId"] for w in listed] == ids[::-1]  # last touched first
    assert httpx.get(f"{service.url}/workloads", params={"dataProduct": "urn:dmb:dp:x:y:1"}).json() == []
    plans = httpx.get(f"{service.url}/workloads/{ids[0]}/plans").json()
    assert [(p["kind"], p["applied"], p["summary"]["add"]) for p in plans] == [("provision", True, 2)]
    stored = httpx.get(f"{service.url}/workloads/{ids[0]}/plans/{plans[0]['planId']}").json()
    assert "aws_s3_object.dag_text[0] will be created" in stored["text"]
    assert "+x = 0" in stored["dagDiff"]
    assert stored["json"]["resource_changes"]
    assert httpx.get(f"{service.url}/workloads/urn:dmb:cmp:no:such:1:wl").status_code == 404

    # A speculative plan shows the code diff and changes nothing.
    s3.put_object(Bucket=bucket, Key=staged_key(specs[0]), Body=b"x = 100\n")
    speculative = httpx.post(f"{service.url}/workloads/plan", json=request(descriptor(*specs)), timeout=300)
    assert speculative.status_code == 200, speculative.text
    assert speculative.json()["summary"] == {"add": 0, "change": 1, "destroy": 0, "import": 0}
    assert "-x = 0\n+x = 100\n" in speculative.json()["dagDiff"]
    dag0 = "dags/finance_invoices_1_dag_0.py"
    assert s3.get_object(Bucket=bucket, Key=dag0)["Body"].read() == b"x = 0\n"

    # Tamper behind Terraform's back: overwrite one, delete one, retag one, leave one.
    s3.put_object(Bucket=bucket, Key="dags/finance_invoices_1_dag_1.py", Body=b"evil = True\n")
    s3.delete_object(Bucket=bucket, Key="dags/finance_invoices_1_dag_2.py")
    s3.put_object_tagging(
        Bucket=bucket, Key="dags/finance_invoices_1_dag_3.py", Tagging={"TagSet": [{"Key": "owner", "Value": "me"}]}
    )
    env = base_env(moto_endpoint) | {
        "TF_CLI_CONFIG_FILE": str(provider_cli_config),
        "MWAA_SP_DATA_DIR": str(tmp_path / "data0"),
    }
    fast = run_cli(["drift", "--json"], env)
    assert fast.returncode == 2, fast.stdout + fast.stderr
    thorough = run_cli(["drift", "--thorough", "--json"], env)
    assert thorough.returncode == 2, thorough.stdout + thorough.stderr
    fast_v, thorough_v = _by_id(json.loads(fast.stdout)), _by_id(json.loads(thorough.stdout))
    assert {i: (v["status"], sorted(c["what"] for c in v["changes"])) for i, v in fast_v.items()} == {
        ids[0]: ("in_sync", []),
        # An overwrite replaces the bytes, and with them the content type and the tags.
        ids[1]: ("drifted", ["content", "metadata", "tags"]),
        ids[2]: ("drifted", ["deleted"]),
        ids[3]: ("drifted", ["tags"]),
    }
    assert {i: v["status"] for i, v in fast_v.items()} == {i: v["status"] for i, v in thorough_v.items()}
    assert fast_v[ids[0]]["method"] == "fast"
    assert {v["method"] for v in thorough_v.values()} == {"terraform"}
    content = next(c for c in fast_v[ids[1]]["changes"] if c["what"] == "content")
    assert content["old"] != content["new"]
    assert "checked" in fast.stderr

    markdown = run_cli(["drift", "--markdown", "--workload", ids[2]], env)
    assert markdown.returncode == 2
    assert f"| {ids[2]} | drifted | terraform | dags/finance_invoices_1_dag_2.py: deleted |" in markdown.stdout

    ignoring = run_cli(["drift", "--json", "--workload", ids[3]], env | {"MWAA_SP_DRIFT_IGNORE": ids[3]})
    assert ignoring.returncode == 0
    assert _by_id(json.loads(ignoring.stdout))[ids[3]]["ignored"][0]["what"] == "tags"

    # The API: a drift run with progress, and metrics from the registry.
    run = httpx.post(f"{service.url}/drift-runs", json={"dataProduct": DP}).json()
    body = wait_finished(f"{service.url}/drift-runs/{run['id']}", message="the drift run stayed RUNNING")
    assert body["status"] == "COMPLETED"
    assert body["progress"] == {"done": 4, "total": 4}
    assert body["report"]["exitCode"] == 2
    assert body["report"]["counts"] == {"in_sync": 1, "drifted": 3}
    metrics = httpx.get(f"{service.url}/metrics").text
    assert 'mwaa_sp_workloads_drift{verdict="drifted"} 3' in metrics

    # Reconcile restores what Terraform last applied; the next run is clean.
    reconciled = run_cli(["drift", "--reconcile", "--json"], env)
    assert reconciled.returncode == 2
    assert all(v["reconciled"] for v in json.loads(reconciled.stdout)["workloads"] if v["status"] != "in_sync")
    assert s3.get_object(Bucket=bucket, Key="dags/finance_invoices_1_dag_1.py")["Body"].read() == b"x = 1\n"
    assert s3.get_object(Bucket=bucket, Key="dags/finance_invoices_1_dag_2.py")["Body"].read() == b"x = 2\n"
    tags = s3.get_object_tagging(Bucket=bucket, Key="dags/finance_invoices_1_dag_3.py")["TagSet"]
    assert {"Key": "owner", "Value": "me"} not in tags
    clean = run_cli(["drift", "--json"], env)
    assert clean.returncode == 0, clean.stdout
    assert {v["method"] for v in json.loads(clean.stdout)["workloads"]} == {"fast"}

    # Lose the database and the working directories; the states rebuild the registry.
    fresh = tmp_path / "fresh"
    shutil.copytree(tmp_path / "data0" / "states", fresh / "states")
    assert run_cli(["db", "upgrade"], env | {"MWAA_SP_DATA_DIR": str(fresh)}).returncode == 0
    rebuilt = run_cli(["registry", "rebuild"], env | {"MWAA_SP_DATA_DIR": str(fresh)})
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert sorted(rebuilt.stdout.split()) == ids
    after = run_cli(["drift", "--json"], env | {"MWAA_SP_DATA_DIR": str(fresh)})
    assert after.returncode == 0, after.stdout + after.stderr
    assert {v["method"] for v in json.loads(after.stdout)["workloads"]} == {"terraform"}


def test_review_gate(service_factory: Any, s3: Any) -> None:
    """Only a plan a person asked for satisfies the gate: a speculative plan, stored with the name of
    the token that asked; the Coordinator's own validate plans nothing and reviews nothing."""
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    spec = WorkloadSpec(bucket=bucket)
    body = request(descriptor(spec))
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"v = 1\n")
    tokens = "witboost:coordinator:coordinator-secret-1234,alice:admin:alice-secret-12345678"
    service = service_factory(require_reviewed_plan="true", max_parallel="1", api_tokens=tokens)
    coordinator = {"Authorization": "Bearer coordinator-secret-1234"}
    alice = {"Authorization": "Bearer alice-secret-12345678"}
    workload = "urn:dmb:cmp:finance:invoices:1:airflow-workload"

    refused = httpx.post(f"{service.url}/v1/provision", json=body, headers=coordinator, timeout=300)
    assert refused.status_code == 400
    assert "no plan was reviewed" in refused.json()["userMessage"]
    assert s3.list_objects_v2(Bucket=bucket, Prefix="dags/").get("KeyCount", 0) == 0

    # The Coordinator may not review its own deployment: speculative plans are an admin's.
    beyond = httpx.post(f"{service.url}/workloads/plan", json=body, headers=coordinator, timeout=300)
    assert beyond.status_code == 403
    assert "Token witboost (coordinator) may not POST /workloads/plan" in beyond.text
    reviewed = httpx.post(f"{service.url}/workloads/plan", json=body, headers=alice, timeout=300)
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["requestedBy"] == "alice"
    accepted = httpx.post(f"{service.url}/v1/provision", json=body, headers=coordinator, timeout=300)
    assert accepted.status_code == 200, accepted.text

    # A validate is not a review: it plans nothing, and the next provision is refused.
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"v = 2\n")
    validated = httpx.post(f"{service.url}/v1/validate", json=body, headers=coordinator, timeout=300)
    assert validated.json() == {"valid": True}
    plans = httpx.get(f"{service.url}/workloads/{workload}/plans", headers=alice).json()
    assert [p["kind"] for p in plans] == ["provision", "speculative"]
    assert [p["requestedBy"] for p in plans] == [None, "alice"]
    unreviewed = httpx.post(f"{service.url}/v1/provision", json=body, headers=coordinator, timeout=300)
    assert unreviewed.status_code == 400
    assert "no plan was reviewed" in unreviewed.json()["userMessage"]

    httpx.post(f"{service.url}/workloads/plan", json=body, headers=alice, timeout=300)
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"v = 3\n")
    changed = httpx.post(f"{service.url}/v1/provision", json=body, headers=coordinator, timeout=300)
    assert changed.status_code == 400
    assert "the DAG changed since the review" in changed.json()["userMessage"]
    assert s3.get_object(Bucket=bucket, Key="dags/finance_invoices_1_my_dag.py")["Body"].read() == b"v = 1\n"


def test_token_scopes(service_factory: Any, s3: Any) -> None:
    """coordinator: the contract; reader: reads and drift checks without reconcile; admin: all; a
    bare secret (the older setting's form) is an admin."""
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    spec = WorkloadSpec(bucket=bucket)
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"v = 1\n")
    tokens = "ci:coordinator:ci-secret-123456789,cron:reader:cron-secret-123456789,legacy-secret-123456789"
    service = service_factory(api_tokens=tokens)
    as_ = {name: {"Authorization": f"Bearer {name}-secret-123456789"} for name in ("ci", "cron", "legacy")}
    body = request(descriptor(spec))

    assert httpx.post(f"{service.url}/v1/provision", json=body, headers=as_["ci"], timeout=300).status_code == 200
    assert httpx.post(f"{service.url}/v1/provision", json=body, headers=as_["cron"], timeout=60).status_code == 403
    assert httpx.get(f"{service.url}/workloads", headers=as_["ci"], timeout=60).status_code == 403
    assert httpx.get(f"{service.url}/workloads", headers=as_["cron"], timeout=60).status_code == 200
    assert httpx.get(f"{service.url}/metrics", headers=as_["cron"], timeout=60).status_code == 200
    checked = httpx.post(f"{service.url}/drift-runs", json={}, headers=as_["cron"], timeout=60)
    assert checked.status_code == 202, checked.text
    repair = httpx.post(f"{service.url}/drift-runs", json={"reconcile": True}, headers=as_["cron"], timeout=60)
    assert repair.status_code == 403
    assert "may not start a drift run with reconcile" in repair.text
    assert httpx.post(f"{service.url}/registry/rebuild", headers=as_["cron"], timeout=60).status_code == 403
    assert (
        httpx.post(f"{service.url}/drift-runs", json={"reconcile": True}, headers=as_["legacy"], timeout=60).status_code
        == 202
    )
    assert httpx.post(f"{service.url}/v1/unprovision", json=body, headers=as_["legacy"], timeout=300).status_code == 200


def test_scheduled_drift_checks_land_in_registry_and_metrics(service_factory: Any, s3: Any) -> None:
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    spec = WorkloadSpec(bucket=bucket)
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"v = 1\n")
    # A time zone far from UTC: every timestamp stored and shown is UTC all the same.
    service = service_factory(drift_interval="1", env_extra={"TZ": "America/New_York"})
    assert httpx.post(f"{service.url}/v1/provision", json=request(descriptor(spec)), timeout=300).status_code == 200
    s3.delete_object(Bucket=bucket, Key="dags/finance_invoices_1_my_dag.py")
    workload = "urn:dmb:cmp:finance:invoices:1:airflow-workload"
    wait_until(
        lambda: httpx.get(f"{service.url}/workloads/{workload}").json()["drift"]["status"] == "drifted",
        what="a scheduled drift check seeing the deleted DAG",
    )
    metrics = httpx.get(f"{service.url}/metrics").text
    assert 'mwaa_sp_workloads_drift{verdict="drifted"} 1.0' in metrics
    [last_check] = [
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("mwaa_sp_drift_last_check_timestamp_seconds ")
    ]
    assert abs(last_check - time.time()) < 120, "the newest check is off by the time zone"
    provisions = [
        line
        for line in metrics.splitlines()
        if line.startswith('mwaa_sp_operation_duration_seconds_count{operation="provision",outcome="COMPLETED"}')
    ]
    assert provisions
    assert float(provisions[0].split()[-1]) >= 1
    assert 'mwaa_sp_terraform_duration_seconds_count{command="apply",outcome="ok"}' in metrics
    assert 'mwaa_sp_drift_verdicts_total{verdict="drifted"}' in metrics
    assert 'mwaa_sp_lock_wait_seconds_count{lock="workload"}' in metrics
    drifted = httpx.get(f"{service.url}/workloads", params={"drift": "drifted"}).json()
    assert [w["componentId"] for w in drifted] == [workload]
    runs = httpx.get(f"{service.url}/drift-runs").json()
    assert runs
    assert {r["trigger"] for r in runs} == {"schedule"}


def test_one_scheduled_run_per_interval_across_two_replicas(
    service_factory: Any, s3: Any, postgres_schema: str
) -> None:
    settings = {"database_url": postgres_url(postgres_schema), "drift_interval": "10"}
    first = service_factory(**settings)
    service_factory(**settings)
    wait_until(
        lambda: sum(r["trigger"] == "schedule" for r in httpx.get(f"{first.url}/drift-runs").json()) >= 4,
        what="four scheduled drift runs",
        timeout=180,
    )
    scheduled = [r for r in httpx.get(f"{first.url}/drift-runs").json() if r["trigger"] == "schedule"]
    started = sorted(datetime.fromisoformat(r["createdAt"]) for r in scheduled)
    gaps = [(b - a).total_seconds() for a, b in zip(started, started[1:], strict=False)]
    assert min(gaps) >= 9.5, gaps  # one per interval, whichever replica started it (database clock)
    assert all(r["status"] in ("COMPLETED", "RUNNING") for r in scheduled), scheduled
    assert all(set(r) >= {"id", "trigger", "status", "counts", "createdAt"} for r in scheduled)


def test_the_review_shows_what_is_deployed_now(service_factory: Any, s3: Any) -> None:
    """After someone overwrote the deployed DAG, a speculative plan's diff runs from the intruder's
    bytes (deployed now) to the staged DAG, and the plan says it drifted since the last apply — in
    the API, the CLI and the web view; once a drift check finds the drift, an older unapplied plan
    is marked stale."""
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    spec = WorkloadSpec(bucket=bucket)
    body = request(descriptor(spec))
    workload = "urn:dmb:cmp:finance:invoices:1:airflow-workload"
    key = "dags/finance_invoices_1_my_dag.py"
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"v = 1\n")
    service = service_factory()
    assert httpx.post(f"{service.url}/v1/provision", json=body, timeout=300).status_code == 200
    early = httpx.post(f"{service.url}/workloads/plan", json=body, timeout=300).json()
    assert early["driftedSinceApply"] is False

    s3.put_object(Bucket=bucket, Key=key, Body=b"intruder = True\n")
    s3.put_object(Bucket=bucket, Key=staged_key(spec), Body=b"v = 2\n")
    plan = httpx.post(f"{service.url}/workloads/plan", json=body, timeout=300).json()
    assert plan["driftedSinceApply"] is True
    diff = plan["dagDiff"]
    assert f"--- a/{key} (deployed now)" in diff
    assert f"+++ b/{key} (staged)" in diff
    assert "-intruder = True" in diff
    assert "+v = 2" in diff
    assert "-v = 1" not in diff  # not from what the last apply left

    cli = run_cli(["show", workload, "--plan", plan["planId"]], service.env)
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.startswith("NOTE: drifted since the last apply")
    assert "-intruder = True" in cli.stdout
    page = httpx.get(f"{service.url}/ui/workloads/{workload}/plans/{plan['planId']}", timeout=60).text
    assert 'id="drifted-since-apply"' in page
    assert "intruder = True" in page

    assert httpx.get(f"{service.url}/workloads/{workload}/plans/{early['planId']}").json()["stale"] is False
    started = httpx.post(f"{service.url}/drift-runs", json={"workloads": [workload]}, timeout=60).json()
    wait_until(lambda: httpx.get(f"{service.url}/drift-runs/{started['id']}").json()["status"] == "COMPLETED")
    assert httpx.get(f"{service.url}/workloads/{workload}/plans/{early['planId']}").json()["stale"] is True
    listed = {p["planId"]: p["stale"] for p in httpx.get(f"{service.url}/workloads/{workload}/plans").json()}
    assert listed[early["planId"]] is True
    assert 'id="stale"' in httpx.get(f"{service.url}/ui/workloads/{workload}/plans/{early['planId']}").text
