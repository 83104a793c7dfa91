"""The post-deploy check against a real Apache Airflow 3 (API server and DAG processor, started here),
behind an MWAA API test double over real HTTP that syncs the bucket's ``dags/`` into Airflow's DAG
folder: a good DAG completes with Airflow's view; one that compiles but cannot import fails quoting
Airflow (``fail``), is rolled back to the previous version that Airflow loads again (``rollback``), or
completes with the finding (``warn``); the old file parsed again before MWAA's sync is not taken for
the new one; unprovision confirms the DAG left Airflow's list; an Airflow
that does not answer is a FAILED naming the timeout, never a hang."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.airflow import Airflow
from tests.support.descriptors import WorkloadSpec, descriptor, request, staged_key
from tests.support.mwaa_double import MwaaDouble
from tests.support.processes import task, wait_finished, wait_until

pytestmark = pytest.mark.e2e
ENVIRONMENT = "loop-env"
TIMEOUT_S = 240


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Airflow]:
    with Airflow(tmp_path_factory.mktemp("airflow")) as running:
        yield running


@pytest.fixture
def world(airflow: Airflow, s3: Any, service_factory: Any) -> Iterator[Any]:
    """A bucket of its own, the double syncing it into Airflow, and a function starting the service."""
    bucket = f"mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    with MwaaDouble(ENVIRONMENT, airflow.url, airflow.version, s3, bucket, airflow.dags_folder) as double:

        def start(mode: str, timeout_s: int = TIMEOUT_S, endpoint: str | None = None) -> Any:
            return service_factory(
                mwaa_environment=ENVIRONMENT,
                airflow_check=mode,
                airflow_check_timeout=str(timeout_s),
                airflow_check_interval="1",
                env_extra={"AWS_ENDPOINT_URL_MWAA": endpoint or double.url, "MWAA_SP_ASYNC": "true"},
            )

        yield bucket, double, start
        double.sync()  # what the test left is removed from Airflow's folder with the bucket's objects


def _dag(dag_id: str, marker: str, broken: bool = False) -> bytes:
    head = "import not_installed_pkg\n" if broken else ""
    return (
        f"{head}from datetime import datetime\nfrom airflow.sdk import DAG\n"
        f"with DAG({dag_id!r}, schedule='5 5 * * *', start_date=datetime(2024, 1, 1), catchup=False, "
        f"description={marker!r}):\n    pass\n"
    ).encode()


def _provision(service: Any, s3: Any, spec: WorkloadSpec, dag: bytes, kind: str = "provision") -> dict[str, Any]:
    s3.put_object(Bucket=spec.bucket, Key=staged_key(spec), Body=dag)
    response = httpx.post(f"{service.url}/v1/{kind}", json=request(descriptor(spec)), timeout=60)
    assert response.status_code == 202, response.text
    return wait_finished(f"{service.url}/v1/provision/{response.json()}/status", timeout=TIMEOUT_S + 120)


def _spec(bucket: str) -> tuple[WorkloadSpec, str]:
    name = f"d{uuid.uuid4().hex[:8]}"
    return WorkloadSpec(name=name, dag_name=f"{name}.py", bucket=bucket), f"finance_invoices_1_{name}"


def test_a_good_dag_completes_with_airflows_view_and_leaves_with_unprovision(
    world: Any, s3: Any, airflow: Airflow
) -> None:
    bucket, double, start = world
    service = start("fail")
    spec, dag_id = _spec(bucket)
    body = _provision(service, s3, spec, _dag(dag_id, "v1"))
    assert body["status"] == "COMPLETED", body
    public = body["info"]["publicInfo"]
    assert public["airflowStatus"]["value"] == f"Airflow {airflow.version} loaded DAG {dag_id} (paused)"
    assert public["airflowVersion"]["value"] == airflow.version
    assert public["airflowNextRun"]["type"] == "date"
    assert any(e["phase"] == "airflow" and "its parsed source compared" in e["message"] for e in body["logs"])
    assert any(call["Path"] == f"/dagSources/{dag_id}" for call in double.invoked)
    listed = airflow.dag(dag_id)
    assert listed is not None
    assert listed["description"] == "v1"
    assert all(len(call["Path"]) <= 64 for call in double.invoked)

    gone = _provision(service, s3, spec, b"", "unprovision")
    assert gone["status"] == "COMPLETED", gone
    assert f"Airflow no longer lists DAG {dag_id}" in gone["result"]
    assert airflow.dag(dag_id) is None


def test_a_dag_that_cannot_import_fails_quoting_airflow(world: Any, s3: Any, airflow: Airflow) -> None:
    bucket, _, start = world
    service = start("fail")
    spec, dag_id = _spec(bucket)
    body = _provision(service, s3, spec, _dag(dag_id, "v1", broken=True))
    assert body["status"] == "FAILED", body
    assert f"Airflow {airflow.version} cannot import the deployed DAG" in body["result"]
    assert "ModuleNotFoundError: No module named 'not_installed_pkg'" in body["result"]
    assert any("not_installed_pkg" in e["message"] for e in body["logs"] if e["phase"] == "airflow")


def test_rollback_deploys_the_previous_version_again_and_airflow_loads_it(
    world: Any, s3: Any, airflow: Airflow
) -> None:
    bucket, _, start = world
    service = start("rollback")
    spec, dag_id = _spec(bucket)
    assert _provision(service, s3, spec, _dag(dag_id, "good"))["status"] == "COMPLETED"
    body = _provision(service, s3, spec, _dag(dag_id, "bad", broken=True))
    assert body["status"] == "FAILED", body
    assert "not_installed_pkg" in body["result"]
    assert "Rolled back: the previous DAG was applied again" in body["result"]
    deployed = s3.get_object(Bucket=bucket, Key=f"dags/{dag_id}.py")["Body"].read()
    assert deployed == _dag(dag_id, "good")
    plans = httpx.get(f"{service.url}/workloads/urn:dmb:cmp:finance:invoices:1:{spec.name}/plans", timeout=30).json()
    assert plans[0]["kind"] == "rollback"
    assert plans[0]["applied"] is True

    def loaded_again() -> bool:
        dag = airflow.dag(dag_id)
        return dag is not None and dag["description"] == "good" and dag["has_import_errors"] is False

    wait_until(loaded_again, timeout=TIMEOUT_S, what="Airflow loading the rolled-back DAG")


def _lagging(
    service: Any,
    s3: Any,
    spec: WorkloadSpec,
    dag: bytes,
    double: MwaaDouble,
    stale: Callable[[datetime], bool],
    sign: str,
) -> dict[str, Any]:
    """Provision ``dag`` while MWAA's sync is held back, until ``stale(applied)`` — Airflow has
    parsed the old file again after the apply — and the check has said ``sign`` of it (or ended):
    it must still be RUNNING then. The sync is let go and the task's final body returned."""
    with double.sync_held():
        s3.put_object(Bucket=spec.bucket, Key=staged_key(spec), Body=dag)
        response = httpx.post(f"{service.url}/v1/provision", json=request(descriptor(spec)), timeout=60)
        assert response.status_code == 202, response.text
        status_url = f"{service.url}/v1/provision/{response.json()}/status"

        def said(text: str) -> bool:
            return any(e["phase"] == "airflow" and text in e["message"] for e in task(status_url)["logs"])

        wait_until(lambda: said("waiting for Airflow"), timeout=TIMEOUT_S, what="the check starting after the apply")
        applied = datetime.now(UTC)
        wait_until(lambda: stale(applied), timeout=TIMEOUT_S, what="Airflow parsing the old file after the apply")
        seen = lambda: said(sign) or task(status_url)["status"] != "RUNNING"  # noqa: E731
        wait_until(seen, timeout=TIMEOUT_S, what=f"the check saying {sign!r}")
        assert task(status_url)["status"] == "RUNNING", "the old file, parsed again, was taken for the new one"
    return wait_finished(status_url, timeout=TIMEOUT_S + 120)


def _after(stamp: object, applied: datetime) -> bool:
    return isinstance(stamp, str) and datetime.fromisoformat(stamp.replace("Z", "+00:00")) > applied


def test_the_old_file_parsed_again_before_the_sync_is_not_taken_for_the_new_one(
    world: Any, s3: Any, airflow: Airflow
) -> None:
    """MWAA's sync lags behind the apply (held here until Airflow has parsed the old file again after
    the apply ended): a parse after the apply is not proof; Airflow's parsed source is."""
    bucket, double, start = world
    service = start("fail")
    spec, dag_id = _spec(bucket)
    assert _provision(service, s3, spec, _dag(dag_id, "good"))["status"] == "COMPLETED"

    def parsed_again(applied: datetime) -> bool:
        dag = airflow.dag(dag_id)
        return dag is not None and _after(dag.get("last_parsed_time"), applied)

    body = _lagging(service, s3, spec, _dag(dag_id, "bad", broken=True), double, parsed_again, "earlier version")
    assert body["status"] == "FAILED", body
    assert "ModuleNotFoundError: No module named 'not_installed_pkg'" in body["result"]


def test_the_old_import_error_recorded_again_before_the_sync_is_not_taken_for_the_fix(
    world: Any, s3: Any, airflow: Airflow
) -> None:
    """A broken version stays deployed (``fail``); while MWAA's sync lags behind its fix, Airflow
    records the old file's import error again after the apply: that is not the fix's verdict."""
    bucket, double, start = world
    service = start("fail")
    spec, dag_id = _spec(bucket)
    assert _provision(service, s3, spec, _dag(dag_id, "bad", broken=True))["status"] == "FAILED"

    def recorded_again(applied: datetime) -> bool:
        return _after(airflow.import_error_at(f"{dag_id}.py"), applied)

    body = _lagging(service, s3, spec, _dag(dag_id, "fixed"), double, recorded_again, "before the apply")
    assert body["status"] == "COMPLETED", body
    listed = airflow.dag(dag_id)
    assert listed is not None
    assert listed["description"] == "fixed"


def test_warn_completes_with_the_finding(world: Any, s3: Any) -> None:
    bucket, _, start = world
    service = start("warn")
    spec, dag_id = _spec(bucket)
    body = _provision(service, s3, spec, _dag(dag_id, "v1", broken=True))
    assert body["status"] == "COMPLETED", body
    assert "No module named 'not_installed_pkg'" in body["info"]["publicInfo"]["airflowStatus"]["value"]


def test_an_airflow_that_does_not_answer_fails_naming_the_timeout(
    world: Any, s3: Any, tmp_path: Path, airflow: Airflow
) -> None:
    bucket, double, start = world
    # The environment's Airflow does not answer: a double forwarding to a port nobody listens on.
    dead = MwaaDouble(ENVIRONMENT, "http://127.0.0.1:9", airflow.version, s3, bucket, tmp_path / "unused")
    with dead:
        service = start("fail", timeout_s=5, endpoint=dead.url)
        spec, dag_id = _spec(bucket)
        body = _provision(service, s3, spec, _dag(dag_id, "v1"))
    assert body["status"] == "FAILED", body
    assert "within 5 s (MWAA_SP_AIRFLOW_CHECK_TIMEOUT)" in body["result"]
    assert "InternalServerException" in body["result"]


def test_a_drift_run_reports_a_dag_broken_behind_our_back(world: Any, s3: Any, airflow: Airflow) -> None:
    bucket, _, start = world
    service = start("fail")
    spec, dag_id = _spec(bucket)
    assert _provision(service, s3, spec, _dag(dag_id, "good"))["status"] == "COMPLETED"
    key = f"dags/{dag_id}.py"
    s3.put_object(Bucket=bucket, Key=key, Body=_dag(dag_id, "<b>intruder</b>", broken=True))

    def airflow_sees_it_broken() -> bool:
        errors = httpx.get(f"{airflow.url}/api/v2/importErrors", headers=airflow.auth(), timeout=10).json()
        return any(e["filename"].endswith(f"{dag_id}.py") for e in errors["import_errors"])

    wait_until(airflow_sees_it_broken, timeout=TIMEOUT_S, what="Airflow recording the import error")
    component = f"urn:dmb:cmp:finance:invoices:1:{spec.name}"
    run = httpx.post(f"{service.url}/drift-runs", json={"workloads": [component]}, timeout=60).json()
    body = wait_finished(f"{service.url}/drift-runs/{run['id']}")
    assert body["status"] == "COMPLETED", body
    [verdict] = body["report"]["workloads"]
    assert verdict["status"] == "drifted"
    assert "No module named 'not_installed_pkg'" in verdict["airflowError"]
    assert body["report"]["counts"]["airflow_error"] == 1
    page = httpx.get(f"{service.url}/ui/drift-runs/{run['id']}", timeout=30)
    assert page.status_code == 200
    assert 'data-verdict="airflow_error"' in page.text
    assert "No module named &#39;not_installed_pkg&#39;" in page.text


def test_invoke_rest_api_relays_airflows_answers_and_keeps_mwaas_limits(world: Any, airflow: Airflow) -> None:
    """The adapter against the double, as boto3 speaks to MWAA: Airflow's 404 comes back as an answer
    (RestApiClientException parsed), a path past 64 characters is refused before anything is sent."""
    from service.aws.mwaa import MwaaEnvironment

    _, double, _ = world
    environment = MwaaEnvironment(
        ENVIRONMENT, "us-east-1", double.url, {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
    )
    assert environment.describe()["AirflowVersion"] == airflow.version
    missing = environment.invoke_rest_api("/dags/no_such_dag", {})
    assert missing.status == 404
    assert "no_such_dag" in str(missing.body), missing.body
    listed = environment.invoke_rest_api("/dags", {"limit": "1"})
    assert listed.status == 200
    assert "total_entries" in listed.body
    sent = len(double.invoked)
    with pytest.raises(ValueError, match="1 to 64"):
        environment.invoke_rest_api("/dags/" + "d" * 59, {})
    assert len(double.invoked) == sent
