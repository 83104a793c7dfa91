"""The HTTP bodies as types: Litestar writes /swagger/openapi.json from them.

The first part is the Witboost contract (interface specification 2.2.0, ``components/schemas``):
same names, same camelCase fields, same required fields and enums, so the served document can be
compared with the official one schema by schema (tests/unit/test_openapi.py does). A field the
contract marks optional is ``UNSET`` when absent: it is left out of the JSON, never ``null``.

The second part is this service's own: the platform engineers' registry, plans and drift runs.

Requests are decoded into these types (``service.contract.decode``) and every answer is built as
one of them (``service.contract.bodies``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

import msgspec
from msgspec import UNSET, Struct, UnsetType

TaskState = Literal["RUNNING", "COMPLETED", "FAILED"]


# -- the contract -------------------------------------------------------------------------------


class DescriptorKind(StrEnum):
    DATAPRODUCT_DESCRIPTOR = "DATAPRODUCT_DESCRIPTOR"
    COMPONENT_DESCRIPTOR = "COMPONENT_DESCRIPTOR"
    DATAPRODUCT_DESCRIPTOR_WITH_RESULTS = "DATAPRODUCT_DESCRIPTOR_WITH_RESULTS"


class ProvisioningRequest(Struct, rename="camel"):
    """Only ``COMPONENT_DESCRIPTOR`` is provisioned; the others are answered with the reason."""

    descriptor_kind: DescriptorKind
    descriptor: str
    remove_data: bool
    latest_enriched_descriptor: str | UnsetType = UNSET


class ProvisionInfo(Struct, rename="camel"):
    request: str
    result: str


class UpdateAclRequest(Struct, rename="camel"):
    refs: list[str]
    provision_info: ProvisionInfo


class ReverseProvisioningRequest(Struct, rename="camel"):
    """``params`` is ``{bucketName, dagKey, skipSafetyChecks?}`` for this provisioner."""

    use_case_template_id: str
    environment: str
    params: dict[str, Any] | UnsetType = UNSET
    catalog_info: dict[str, Any] | UnsetType = UNSET


class Log(Struct, rename="camel"):
    timestamp: datetime
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"]
    message: str
    phase: str | UnsetType = UNSET


class Info(Struct, rename="camel"):
    public_info: dict[str, Any]
    private_info: dict[str, Any]


class ProvisioningStatus(Struct, rename="camel"):
    status: TaskState
    result: str
    info: Info | UnsetType = UNSET
    logs: list[Log] | UnsetType = UNSET


class ValidationError(Struct, rename="camel"):
    errors: list[str]


class ValidationResult(Struct, rename="camel"):
    valid: bool
    error: ValidationError | UnsetType = UNSET


class ValidationInfo(Struct, rename="camel"):
    public_info: ValidationResult


class ValidationStatus(Struct, rename="camel"):
    status: TaskState
    info: ValidationInfo | UnsetType = UNSET


class ReverseProvisioningStatus(Struct, rename="camel"):
    status: TaskState
    updates: dict[str, Any]
    logs: list[Log] | UnsetType = UNSET


class ErrorMoreInfo(Struct, rename="camel"):
    problems: list[str]
    solutions: list[str]


class RequestValidationError(Struct, rename="camel"):
    errors: list[str]
    user_message: str | UnsetType = UNSET
    input: str | UnsetType = UNSET
    input_error_field: str | UnsetType = UNSET
    more_info: ErrorMoreInfo | UnsetType = UNSET


class SystemError(Struct, rename="camel"):  # the contract's name, though it shadows the builtin
    error: str
    user_message: str | UnsetType = UNSET
    input: str | UnsetType = UNSET
    input_error_field: str | UnsetType = UNSET
    more_info: ErrorMoreInfo | UnsetType = UNSET


# -- the platform engineers' endpoints ----------------------------------------------------------


class PlanSummary(Struct, rename="camel"):
    """What a plan changes, in objects."""

    add: int
    change: int
    destroy: int
    imported: int = msgspec.field(default=0, name="import")


class WorkloadDrift(Struct, rename="camel"):
    """The last drift check: ``in_sync``, ``drifted``, ``missing`` or ``error`` (null: never checked)."""

    status: str | None
    checked_at: str | None
    report: dict[str, Any] | None


class WorkloadRecord(Struct, rename="camel"):
    """A workload in the registry: where it is deployed, its last operation and drift check."""

    component_id: str
    data_product_id: str
    bucket: str
    dag_key: str
    descriptor_key: str
    state_key: str
    deployed: bool
    module_version: str | None
    last_operation: str | None
    last_status: str | None
    last_at: str | None
    plan_summary: PlanSummary | None
    last_plan_id: str | None
    drift: WorkloadDrift


class Plan(Struct, rename="camel"):
    """A stored plan: ``kind`` is provision, unprovision, speculative, acl, reconcile or rollback (the
    post-deploy check applied the previous DAG again); a speculative
    plan names who asked for it (``requestedBy``: a token's name, ``cli:user@host``)."""

    plan_id: str
    component_id: str
    kind: str
    created_at: str
    applied: bool
    summary: PlanSummary
    requested_by: str | None
    drifted_since_apply: bool
    """When planned, the deployed DAG was not what the last apply left: the diff runs from the former."""
    stale: bool
    """Made before a drift check found the workload changed, and never applied."""


class PlanDetail(Plan, rename="camel"):
    """A stored plan with Terraform's text and JSON and the DAG's diff."""

    text: str
    json: dict[str, Any]
    dag_diff: str
    dag_digest: str | None


class SpeculativePlan(Struct, rename="camel"):
    """A plan of a ProvisioningRequest, stored for review; nothing was applied."""

    plan_id: str
    component_id: str
    requested_by: str
    drifted_since_apply: bool
    summary: PlanSummary
    text: str
    dag_diff: str
    json: dict[str, Any]


class DriftRunRequest(Struct, rename="camel"):
    """Which workloads to check (none named: all, or all of ``dataProduct``) and how."""

    workloads: list[str] = msgspec.field(default_factory=list)
    data_product: str | None = None
    thorough: bool = False
    reconcile: bool = False


class DriftVerdict(Struct, rename="camel"):
    """One workload's drift check: ``status`` is ``in_sync``, ``drifted``, ``missing`` or ``error``;
    ``method`` ``fast`` (no Terraform needed) or ``terraform`` (a refresh-only plan)."""

    component_id: str
    status: str
    method: str
    checked_at: str
    changes: list[dict[str, Any]] = msgspec.field(default_factory=list)
    ignored: list[dict[str, Any]] = msgspec.field(default_factory=list)
    reconciled: dict[str, Any] | None = None
    error: str | None = None
    airflow_error: str | None = None
    """With the post-deploy check on: Airflow cannot import the deployed DAG (its stack trace's tail),
    whatever the S3 verdict; counted apart as ``airflow_error``."""


class DriftReport(Struct, rename="camel"):
    """A finished drift run: Terraform's detailed exit code (0 in sync, 2 drift, 1 a check failed)."""

    exit_code: int
    counts: dict[str, int]
    workloads: list[DriftVerdict]


class DriftRunStarted(Struct, rename="camel"):
    id: str


class RebuildResult(Struct, rename="camel"):
    component_ids: list[str]
    """The workloads found in the Terraform states, now in the registry."""


class DriftRunProgress(Struct, rename="camel"):
    done: int
    total: int


class DriftRun(Struct, rename="camel"):
    """``report`` is ``{exitCode, counts, workloads}`` once COMPLETED, ``{error}`` once FAILED."""

    id: str
    status: TaskState
    trigger: Literal["schedule", "request"]
    """What started it: MWAA_SP_DRIFT_INTERVAL, or a request (API, web view, CLI)."""
    progress: DriftRunProgress
    counts: dict[str, int]
    """Workloads by verdict, once it ended."""
    created_at: str
    options: DriftRunRequest
    report: dict[str, Any] | None


class Health(Struct, rename="camel"):
    status: Literal["ok"]


class ReadinessCheck(Struct, rename="camel"):
    name: str
    ok: bool
    detail: str


class Readiness(Struct, rename="camel"):
    """``ready`` only when every check passed."""

    status: Literal["ready", "not ready"]
    checks: list[ReadinessCheck]


class BuildInfo(Struct, rename="camel"):
    name: str
    version: str
