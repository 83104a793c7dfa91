"""Every answer body, built from typed outcomes: the one place their shapes live.

Marketplace shows ``publicInfo`` entries shaped ``{type: string|link|date, label, value, href?}``;
``privateInfo`` is stored with the deployed descriptor but not shown. Tasks keep their body as JSON
(:func:`stored`) and are read back into these types (:func:`read`), so a stored body that no longer
fits its type is a 500, never an answer outside the contract.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import msgspec
from msgspec import UNSET, Struct

from service.contract.models import (
    DriftReport,
    DriftRun,
    DriftRunProgress,
    DriftRunRequest,
    DriftVerdict,
    ErrorMoreInfo,
    Info,
    Log,
    Plan,
    PlanDetail,
    PlanSummary,
    ProvisioningStatus,
    RequestValidationError,
    ReverseProvisioningStatus,
    SpeculativePlan,
    SystemError,
    TaskState,
    ValidationError,
    ValidationInfo,
    ValidationResult,
    ValidationStatus,
    WorkloadDrift,
    WorkloadRecord,
)
from service.domain.airflow_view import Seen
from service.domain.deployment import ChangeSummary
from service.domain.drift import Verdict
from service.domain.review import PlanArtifact
from service.domain.workload import Workload
from service.errors import Problem
from service.store.drift_runs import DriftRunRecord
from service.store.plans import PlanRendering, StoredPlan

S = TypeVar("S", bound=Struct)
Entries = Sequence[Mapping[str, str]]
"""A journal's entries: ``{timestamp, level, message, phase}``."""


def stored(body: Struct) -> dict[str, Any]:
    """A body as JSON-ready builtins, the way a task row keeps it."""
    found: dict[str, Any] = msgspec.to_builtins(body)
    return found


def read(model: type[S], body: Mapping[str, Any]) -> S:
    """A stored body as its type (keys the type does not declare are left out)."""
    return msgspec.convert(body, model)


def logs(entries: Entries) -> list[Log]:
    return msgspec.convert(list(entries), list[Log])


def _string(label: str, value: str) -> dict[str, str]:
    return {"type": "string", "label": label, "value": value}


# -- provision, unprovision, updateacl ---------------------------------------------------------------


def provisioned(
    workload: Workload,
    *,
    state_backend: str,
    state_key: str,
    etag: str | None,
    version_id: str | None,
    summary: ChangeSummary,
    plan_id: str | None,
    no_op_without_terraform: bool,
    journal: Entries,
    airflow_url: str | None = None,
    airflow: Seen | None = None,
) -> ProvisioningStatus:
    uri = f"s3://{workload.bucket}/{workload.deployed_key}"
    console = f"https://s3.console.aws.amazon.com/s3/object/{workload.bucket}?prefix={quote(workload.deployed_key)}"
    dag_id = (
        {"type": "link", "label": "Airflow DAG id", "value": workload.dag_id, "href": airflow_url}
        if airflow_url
        else _string("Airflow DAG id", workload.dag_id)
    )
    public = {
        "dagLocation": {"type": "link", "label": "DAG location", "value": uri, "href": console},
        "airflowDagFile": _string("Airflow DAG file", workload.deployed_file),
        "airflowDagId": dag_id,
        "descriptorLocation": _string("Descriptor location", f"s3://{workload.bucket}/{workload.descriptor_key}"),
        "schedule": _string("Schedule", workload.schedule_cron),
        "deployedAt": {"type": "date", "label": "Deployed at", "value": datetime.now(UTC).isoformat()},
    }
    if airflow is not None:
        public |= _airflow(airflow)
    private = {
        "bucket": workload.bucket,
        "dagKey": workload.deployed_key,
        "descriptorKey": workload.descriptor_key,
        "etag": etag,
        "versionId": version_id,
        "stateBackend": state_backend,
        "stateKey": state_key,
        "planSummary": summary.as_dict(),
        "planId": plan_id,
        "noOpVerifiedWithoutTerraform": no_op_without_terraform,
    }
    return ProvisioningStatus("COMPLETED", f"DAG deployed to {uri} ({summary})", Info(public, private), logs(journal))


def _airflow(seen: Seen) -> dict[str, Any]:
    """Airflow's view of the DAG for ``publicInfo``: loaded or not, paused or not, its next run."""
    shown: dict[str, Any] = {"airflowStatus": _string("Airflow", seen.finding)}
    if seen.version:
        shown["airflowVersion"] = _string("Airflow version", seen.version)
    if seen.dag is not None:
        shown["airflowPaused"] = _string("Paused in Airflow", "yes" if seen.dag.is_paused else "no")
        if seen.dag.next_run:
            shown["airflowNextRun"] = {"type": "date", "label": "Next run", "value": seen.dag.next_run}
    return shown


def unprovisioned(
    workload: Workload,
    state_key: str,
    summary: ChangeSummary,
    plan_id: str | None,
    journal: Entries,
    airflow: str | None = None,
) -> ProvisioningStatus:
    """``airflow``: whether Airflow still lists the DAG, when the environment was asked."""
    where = f"s3://{workload.bucket}/{workload.deployed_key}"
    result = (
        f"DAG removed from {where} ({summary})" if summary.destroy else f"Nothing to remove: {where} is not deployed"
    )
    if airflow:
        result = f"{result}; {airflow}"
    public = {"airflowStatus": _string("Airflow", airflow)} if airflow else {}
    private = {"stateKey": state_key, "planSummary": summary.as_dict(), "planId": plan_id}
    return ProvisioningStatus("COMPLETED", result, Info(public, private), logs(journal))


def access_granted(
    workload: Workload, arn: str, principals: Sequence[str], plan_ids: Sequence[str], journal: Entries
) -> ProvisioningStatus:
    """updateacl's answer: who may sign in to Airflow, as which role."""
    role = arn.rsplit("/", 1)[-1]
    who = ", ".join(principals) or "nobody"
    public = {
        "airflowAccess": _string("Airflow access", who),
        "airflowRole": _string("Airflow role", role),
    }
    private = {
        "roleArn": arn,
        "principals": list(principals),
        "planId": plan_ids[-1] if plan_ids else None,
        "planIds": list(plan_ids),
    }
    result = f"{who} may sign in to Airflow as {role} for {workload.component_id}"
    return ProvisioningStatus("COMPLETED", result, Info(public, private), logs(journal))


def running(journal: Entries = ()) -> ProvisioningStatus:
    """A task still running, with the logs of the phases it went through so far."""
    return ProvisioningStatus("RUNNING", "", Info({}, {}), logs(journal))


def failed(message: str, journal: Entries, phase: str = "error") -> ProvisioningStatus:
    entry = Log(datetime.now(UTC), "ERROR", message, phase)
    return ProvisioningStatus("FAILED", message, Info({}, {"error": message}), [*logs(journal), entry])


# -- errors ------------------------------------------------------------------------------------------


def request_validation_error(message: str, problems: Sequence[Problem]) -> RequestValidationError:
    """The contract's ``RequestValidationError``: every problem, the first one's field."""
    rendered = [p.render() for p in problems]
    solutions = list(dict.fromkeys(p.solution for p in problems))
    first = problems[0].field if problems and problems[0].field else UNSET
    return RequestValidationError(
        errors=rendered or [message],
        user_message=message,
        input_error_field=first,
        more_info=ErrorMoreInfo(rendered or [message], solutions),
    )


def system_error(message: str, solutions: Sequence[str] = ()) -> SystemError:
    """The contract's ``SystemError``."""
    advice = list(solutions) or ["Retry later; if it persists, contact the platform team."]
    return SystemError(error=message, user_message=message, more_info=ErrorMoreInfo([message], advice))


# -- validation --------------------------------------------------------------------------------------


def validation_result(problems: Sequence[Problem]) -> ValidationResult:
    """``valid`` and, when invalid, every problem."""
    if not problems:
        return ValidationResult(True)
    return ValidationResult(False, ValidationError([p.render() for p in problems]))


def validation(status: TaskState, result: ValidationResult | None) -> ValidationStatus:
    """``ValidationStatus``: the ``ValidationResult`` travels in ``info.publicInfo``."""
    return ValidationStatus(status, UNSET if result is None else ValidationInfo(result))


# -- reverse provisioning ----------------------------------------------------------------------------


def reverse(status: TaskState, updates: Mapping[str, Any], journal: Entries) -> ReverseProvisioningStatus:
    """``updates`` is always an object."""
    return ReverseProvisioningStatus(status, dict(updates), logs(journal))


# -- the platform engineers' bodies ------------------------------------------------------------------


def summary(counts: Mapping[str, int] | ChangeSummary) -> PlanSummary:
    found = counts.as_dict() if isinstance(counts, ChangeSummary) else counts
    return PlanSummary(found["add"], found["change"], found["destroy"], found.get("import", 0))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def workload_record(
    *,
    component_id: str,
    data_product_id: str,
    bucket: str,
    dag_key: str,
    descriptor_key: str,
    state_key: str,
    deployed: bool,
    module_version: str | None,
    last_operation: str | None,
    last_status: str | None,
    last_at: datetime | None,
    plan_summary: Mapping[str, int] | None,
    last_plan_id: str | None,
    drift_status: str | None,
    drift_checked_at: datetime | None,
    drift_report: dict[str, Any] | None,
) -> WorkloadRecord:
    """A workload in the registry, as GET /workloads answers it."""
    return WorkloadRecord(
        component_id=component_id,
        data_product_id=data_product_id,
        bucket=bucket,
        dag_key=dag_key,
        descriptor_key=descriptor_key,
        state_key=state_key,
        deployed=deployed,
        module_version=module_version,
        last_operation=last_operation,
        last_status=last_status,
        last_at=_iso(last_at),
        plan_summary=summary(plan_summary) if plan_summary else None,
        last_plan_id=last_plan_id,
        drift=WorkloadDrift(drift_status, _iso(drift_checked_at), drift_report),
    )


def speculative_plan(plan_id: str, component_id: str, requested_by: str, artifact: PlanArtifact) -> SpeculativePlan:
    return SpeculativePlan(
        plan_id=plan_id,
        component_id=component_id,
        requested_by=requested_by,
        drifted_since_apply=artifact.drifted_since_apply,
        summary=summary(artifact.summary),
        text=artifact.text,
        dag_diff=artifact.dag_diff,
        json=artifact.plan_json,
    )


def plan(stored_plan: StoredPlan, *, stale: bool) -> Plan:
    return Plan(
        plan_id=stored_plan.plan_id,
        component_id=stored_plan.component_id,
        kind=stored_plan.kind,
        created_at=stored_plan.created_at.isoformat(),
        applied=stored_plan.applied,
        summary=summary(stored_plan.summary),
        requested_by=stored_plan.requested_by,
        drifted_since_apply=stored_plan.drifted_since_apply,
        stale=stale,
    )


def plan_detail(stored_plan: StoredPlan, rendering: PlanRendering, *, stale: bool) -> PlanDetail:
    listed = plan(stored_plan, stale=stale)
    return PlanDetail(
        **{f: getattr(listed, f) for f in listed.__struct_fields__},
        text=rendering.text,
        json=rendering.plan_json,
        dag_diff=rendering.dag_diff,
        dag_digest=rendering.dag_digest,
    )


def drift_report(verdicts: Sequence[DriftVerdict], exit_code: int) -> DriftReport:
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.status] = counts.get(v.status, 0) + 1
        if v.airflow_error:
            counts["airflow_error"] = counts.get("airflow_error", 0) + 1
    return DriftReport(exit_code, counts, list(verdicts))


def drift_run(record: DriftRunRecord) -> DriftRun:
    return DriftRun(
        id=record.run_id,
        status=record.status,  # type: ignore[arg-type]
        trigger=record.trigger,  # type: ignore[arg-type]
        progress=DriftRunProgress(record.done, record.total),
        counts=(record.report or {}).get("counts") or {},
        created_at=record.created_at.isoformat(),
        options=msgspec.convert(record.options, DriftRunRequest),
        report=record.report,
    )


def verdict(found: Verdict) -> DriftVerdict:
    return DriftVerdict(
        component_id=found.component_id,
        status=found.status,
        method=found.method,
        checked_at=found.checked_at,
        changes=list(found.changes),
        ignored=list(found.ignored),
        reconciled=found.reconciled,
        error=found.error,
        airflow_error=found.airflow_error,
    )
