"""The post-deploy check (``service.operations.airflow_check`` through task launching), against a fake
Terraform and a pretend Airflow that parses what is in the fake bucket: each MWAA_SP_AIRFLOW_CHECK
mode on a good and a broken DAG, rollback to the previous version and of a first deployment, a slow
or unreachable Airflow, unprovision, and the no-op that asks nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.contract.models import DescriptorKind, ProvisioningRequest, ProvisioningStatus
from service.errors import AirflowRejected
from tests.support.descriptors import WorkloadSpec, descriptor
from tests.support.harness import BUCKET, Harness, harness

GOOD = b"from airflow.sdk import DAG\nx = 1\n"
BETTER = b"from airflow.sdk import DAG\nx = 2\n"
BROKEN = b"import not_installed_pkg\nfrom airflow.sdk import DAG\n"
SPEC = WorkloadSpec()


def _checking(mode: str, timeout_s: int = 30) -> dict[str, Any]:
    return {
        "mwaa_environment": "env",
        "airflow_check": mode,
        "airflow_check_timeout_s": timeout_s,
        "airflow_check_interval_s": 1,
    }


def _run(h: Harness, dag: bytes, kind: str = "provision") -> tuple[ProvisioningStatus, BaseException | None]:
    workload = h.stage(SPEC, dag)
    request = ProvisioningRequest(DescriptorKind.COMPONENT_DESCRIPTOR, descriptor(SPEC), False)
    token, future = h.parts.launcher.start(kind, request)  # type: ignore[arg-type]
    try:
        future.result(120)
        raised = None
    except Exception as exc:  # noqa: BLE001 - the task's FAILED status is what is checked
        raised = exc
    assert workload.deployed_key == "dags/finance_invoices_1_my_dag.py"
    # An unchanged provision answers before its task's row ends: read the row once its job is done.
    assert h.parts.door.drain(120)
    return h.parts.launcher.status(token), raised


def _deployed(h: Harness) -> bytes | None:
    found = h.s3.objects.get((BUCKET, "dags/finance_invoices_1_my_dag.py"))
    return None if found is None else found.body


def _phase(status: ProvisioningStatus, phase: str) -> str:
    return "\n".join(e.message for e in status.logs if e.phase == phase)


def test_a_good_dag_completes_with_airflows_view(tmp_path: Path) -> None:
    with harness(tmp_path, **_checking("fail")) as h:
        status, _ = _run(h, GOOD)
        assert status.status == "COMPLETED", status.result
        public = status.info.public_info  # type: ignore[union-attr]
        assert public["airflowStatus"]["value"] == "Airflow 3.0.6 loaded DAG finance_invoices_1_my_dag (paused)"
        assert public["airflowVersion"]["value"] == "3.0.6"
        assert public["airflowPaused"]["value"] == "yes"
        assert public["airflowNextRun"] == {"type": "date", "label": "Next run", "value": "2026-12-06T05:05:00+00:00"}
        waiting = (
            "waiting for Airflow 3.0.6 to parse finance_invoices_1_my_dag.py (REST API v2, its parsed source compared)"
        )
        assert waiting in _phase(status, "airflow")
        file_errors = {"order_by": "-timestamp", "limit": "100", "filename_pattern": "finance_invoices_1_my_dag.py"}
        assert h.mwaa.asked[:2] == [
            ("/importErrors", file_errors),  # before the apply: what Airflow said of the file then
            ("/dags", {"dag_id_pattern": "finance_invoices_1_my_dag", "limit": "100"}),
        ]
        assert ("/dagSources/finance_invoices_1_my_dag", {}) in h.mwaa.asked


def test_a_dag_airflow_cannot_import_fails_quoting_airflow_and_stays_deployed_under_fail(tmp_path: Path) -> None:
    with harness(tmp_path, **_checking("fail")) as h:
        status, raised = _run(h, BROKEN)
        assert isinstance(raised, AirflowRejected)
        assert status.status == "FAILED"
        assert "cannot import the deployed DAG" in status.result
        assert "ModuleNotFoundError: No module named 'not_installed_pkg'" in status.result
        assert "ModuleNotFoundError" in _phase(status, "airflow")
        assert _deployed(h) == BROKEN
        # Provisioned again unchanged, it is checked again (the last operation failed): FAILED again.
        again, _ = _run(h, BROKEN)
        assert again.status == "FAILED"
        assert "not_installed_pkg" in again.result


def test_warn_completes_with_the_finding(tmp_path: Path) -> None:
    with harness(tmp_path, **_checking("warn")) as h:
        status, raised = _run(h, BROKEN)
        assert raised is None
        assert status.status == "COMPLETED"
        finding = status.info.public_info["airflowStatus"]["value"]  # type: ignore[union-attr]
        assert (
            finding == "Airflow 3.0.6 cannot import the DAG: ModuleNotFoundError: No module named 'not_installed_pkg'"
        )


def test_rollback_applies_the_previous_dag_again_and_stores_the_plan(tmp_path: Path) -> None:
    with harness(tmp_path, **_checking("rollback")) as h:
        assert _run(h, GOOD)[0].status == "COMPLETED"
        status, _ = _run(h, BROKEN)
        assert status.status == "FAILED"
        assert "Rolled back: the previous DAG was applied again" in status.result
        assert _deployed(h) == GOOD
        plans = h.parts.operations.plans_of("urn:dmb:cmp:finance:invoices:1:airflow-workload").items
        assert [p.kind for p in plans[:3]] == ["rollback", "provision", "provision"]
        assert plans[0].applied
        # The next good version deploys and is checked as usual.
        assert _run(h, BETTER)[0].status == "COMPLETED"
        assert _deployed(h) == BETTER


def test_the_old_file_parsed_again_after_the_apply_is_not_taken_for_the_new_one(tmp_path: Path) -> None:
    """MWAA's sync lags: Airflow parses the previous (good) file again after the apply. The broken
    version is still found broken, never "loaded" on the strength of a parse time."""
    with harness(tmp_path, **_checking("fail")) as h:
        assert _run(h, GOOD)[0].status == "COMPLETED"
        h.mwaa.stale_parses = 3
        status, raised = _run(h, BROKEN)
        assert h.mwaa.stale_parses == 0  # the stale parses were seen
        assert isinstance(raised, AirflowRejected), status.result
        assert "earlier version of finance_invoices_1_my_dag.py" in _phase(status, "airflow")
        assert "ModuleNotFoundError" in status.result


def test_the_old_import_error_parsed_again_after_the_apply_is_not_taken_for_the_fix(tmp_path: Path) -> None:
    """The broken version stays deployed (``fail``); its fix is provisioned while Airflow re-parses
    the broken file: the repeated import error is the old file's, and the fix completes."""
    with harness(tmp_path, **_checking("fail")) as h:
        assert _run(h, BROKEN)[0].status == "FAILED"
        h.mwaa.stale_parses = 3
        status, raised = _run(h, GOOD)
        assert h.mwaa.stale_parses == 0
        assert raised is None, status.result
        assert status.status == "COMPLETED", status.result
        assert "still reports the import error of the file before the apply" in _phase(status, "airflow")


def test_a_dag_whose_source_airflow_does_not_give_is_never_taken_for_loaded(tmp_path: Path) -> None:
    with harness(tmp_path, **_checking("fail", timeout_s=2)) as h:
        h.mwaa.sources_missing = True
        status, raised = _run(h, GOOD)
        assert isinstance(raised, AirflowRejected)
        assert "within 2 s (MWAA_SP_AIRFLOW_CHECK_TIMEOUT)" in status.result
        assert "gives no source for it yet" in status.result
        assert ("/dagSources/finance_invoices_1_my_dag", {}) in h.mwaa.asked


def test_rollback_of_a_first_deployment_removes_it(tmp_path: Path) -> None:
    with harness(tmp_path, **_checking("rollback")) as h:
        status, _ = _run(h, BROKEN)
        assert status.status == "FAILED"
        assert "Rolled back: the first deployment was removed" in status.result
        assert _deployed(h) is None


def test_an_airflow_that_never_parses_fails_naming_the_timeout(tmp_path: Path) -> None:
    with harness(tmp_path, **_checking("fail", timeout_s=2)) as h:
        h.mwaa.parse_after = 10_000
        status, _ = _run(h, GOOD)
        assert status.status == "FAILED"
        assert "within 2 s (MWAA_SP_AIRFLOW_CHECK_TIMEOUT)" in status.result
        assert _deployed(h) == GOOD


@pytest.mark.parametrize("mode", ["warn", "fail"])
def test_an_unreachable_airflow_is_a_clear_finding(tmp_path: Path, mode: str) -> None:
    with harness(tmp_path, **_checking(mode, timeout_s=2)) as h:
        h.mwaa.unreachable = True
        status, _ = _run(h, GOOD)
        assert status.status == ("COMPLETED" if mode == "warn" else "FAILED")
        assert "Connect timeout" in _phase(status, "airflow")
        assert "MWAA_SP_AIRFLOW_CHECK_TIMEOUT" in _phase(status, "airflow")


def test_unprovision_confirms_the_dag_is_gone_from_airflow(tmp_path: Path) -> None:
    with harness(tmp_path, **_checking("fail")) as h:
        assert _run(h, GOOD)[0].status == "COMPLETED"
        status, _ = _run(h, GOOD, "unprovision")
        assert status.status == "COMPLETED"
        assert "Airflow no longer lists DAG finance_invoices_1_my_dag" in status.result


def test_an_unchanged_provision_asks_airflow_nothing(tmp_path: Path) -> None:
    with harness(tmp_path, **_checking("fail")) as h:
        assert _run(h, GOOD)[0].status == "COMPLETED"
        asked = len(h.mwaa.asked)
        status, _ = _run(h, GOOD)
        assert status.status == "COMPLETED"
        assert len(h.mwaa.asked) == asked
        assert "airflowStatus" not in status.info.public_info  # type: ignore[operator,union-attr]


def test_off_asks_nothing(tmp_path: Path) -> None:
    with harness(tmp_path, **_checking("off")) as h:
        assert _run(h, BROKEN)[0].status == "COMPLETED"
        assert h.mwaa.asked == []


def test_a_drift_run_reports_a_dag_airflow_cannot_import_beside_its_s3_verdict(tmp_path: Path) -> None:
    with harness(tmp_path, **_checking("fail")) as h:
        assert _run(h, GOOD)[0].status == "COMPLETED"
        entries = h.parts.operations.select([], None)
        [fine] = h.parts.operations.drift(entries, thorough=False, reconcile=False)
        assert (fine.status, fine.airflow_error) == ("in_sync", None)
        # Broken behind Terraform's back (same tags): drifted in S3, and Airflow cannot import it.
        key = (BUCKET, "dags/finance_invoices_1_my_dag.py")
        h.s3.put(*key, BROKEN, h.s3.objects[key].tags)
        [broken] = h.parts.operations.drift(entries, thorough=False, reconcile=False)
        assert broken.status == "drifted"
        assert broken.airflow_error is not None
        assert broken.airflow_error.endswith("ModuleNotFoundError: No module named 'not_installed_pkg'")
        assert h.mwaa.asked[-1][0] == "/importErrors"


def test_a_drift_run_says_when_airflow_could_not_be_asked(tmp_path: Path) -> None:
    with harness(tmp_path, **_checking("warn", timeout_s=2)) as h:
        assert _run(h, GOOD)[0].status == "COMPLETED"
        h.mwaa.unreachable = True
        [verdict] = h.parts.operations.drift(h.parts.operations.select([], None), thorough=False, reconcile=False)
        assert verdict.status == "in_sync"
        assert verdict.airflow_error is not None
        assert verdict.airflow_error.startswith("Airflow could not be asked")


def test_rollback_never_removes_what_an_unchanged_provision_did_not_apply(tmp_path: Path) -> None:
    """A change rolled back when Airflow does not answer; then an unchanged provision (checked again,
    since the last operation failed) that fails its check applied nothing, and removes nothing."""
    with harness(tmp_path, **_checking("rollback", timeout_s=2)) as h:
        first, _ = _run(h, GOOD)
        assert first.status == "COMPLETED"
        h.mwaa.unreachable = True
        changed, _ = _run(h, BETTER)
        assert "Rolled back: the previous DAG was applied again" in changed.result
        assert _deployed(h) == GOOD
        # The staged DAG is GOOD again: nothing to apply, but the last operation failed, so it is checked.
        again, _ = _run(h, GOOD)
        assert again.status == "FAILED"
        assert "Rolled back" not in again.result
        assert _deployed(h) == GOOD
