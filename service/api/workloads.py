"""Platform engineers' endpoints: the workload registry, stored and speculative plans, drift runs."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED

from service.api.body import read_body
from service.api.bulkheads import Bulkheads
from service.api.openapi import documented
from service.api.scopes import require_reconcile, token_of
from service.contract.decode import decode
from service.contract.models import (
    DriftRun,
    DriftRunRequest,
    DriftRunStarted,
    Plan,
    PlanDetail,
    ProvisioningRequest,
    SpeculativePlan,
    WorkloadRecord,
)
from service.operations.platform import PlatformOperations

REGISTRY = (404, 500)
T = TypeVar("T")


class WorkloadsController(Controller):
    path = "/"
    tags = ["Operations"]

    @get(
        "/workloads",
        summary="Workloads the service manages, last touched first, a page at a time (filter by dataProduct, "
        "status, drift; the next page's address is the Link header's rel=next)",
        **documented({200: (list[WorkloadRecord], "The matching workloads")}, errors=(500,)),
    )
    async def list_workloads(
        self,
        operations: NamedDependency[PlatformOperations],
        bulkheads: NamedDependency[Bulkheads],
        request: Request[Any, Any, Any],
        data_product: Annotated[str | None, QueryParameter(name="dataProduct")] = None,
        status: FromQuery[str | None] = None,
        drift: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int | None] = None,
    ) -> Response[list[WorkloadRecord]]:
        found = await bulkheads.reads.run(operations.workloads, data_product, status, drift, cursor=cursor, limit=limit)
        return paged(request, [(entry) for entry in found.items], found.next)

    @get(
        "/workloads/{component_id:str}",
        summary="One workload: deployment, last operation, last drift check",
        **documented({200: (WorkloadRecord, "The workload")}, errors=REGISTRY),
    )
    async def show_workload(
        self,
        component_id: FromPath[str],
        operations: NamedDependency[PlatformOperations],
        bulkheads: NamedDependency[Bulkheads],
    ) -> WorkloadRecord:
        return await bulkheads.reads.run(operations.workload, component_id)

    @get(
        "/workloads/{component_id:str}/plans",
        summary="The workload's stored plans, newest first, a page at a time (Link: rel=next)",
        **documented({200: (list[Plan], "The stored plans")}, errors=REGISTRY),
    )
    async def list_plans(
        self,
        component_id: FromPath[str],
        operations: NamedDependency[PlatformOperations],
        bulkheads: NamedDependency[Bulkheads],
        request: Request[Any, Any, Any],
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int | None] = None,
    ) -> Response[list[Plan]]:
        found = await bulkheads.reads.run(operations.plans_of, component_id, cursor=cursor, limit=limit)
        return paged(request, [(plan) for plan in found.items], found.next)

    @get(
        "/workloads/{component_id:str}/plans/{plan_id:str}",
        summary="A plan: text, JSON and DAG diff",
        **documented({200: (PlanDetail, "The plan")}, errors=REGISTRY),
    )
    async def show_plan(
        self,
        component_id: FromPath[str],
        plan_id: FromPath[str],
        operations: NamedDependency[PlatformOperations],
        bulkheads: NamedDependency[Bulkheads],
    ) -> PlanDetail:
        return await bulkheads.operations.run(operations.plan, component_id, plan_id)

    @post(
        "/workloads/plan",
        summary="Speculative plan of a ProvisioningRequest; nothing applied",
        **documented({200: (SpeculativePlan, "The plan, stored for review")}, body=ProvisioningRequest),
    )
    async def speculative_plan(
        self,
        request: Request[Any, Any, Any],
        operations: NamedDependency[PlatformOperations],
        bulkheads: NamedDependency[Bulkheads],
    ) -> SpeculativePlan:
        parsed = decode(await read_body(request), ProvisioningRequest)
        token = token_of(request.scope.get("state", {}))
        who = token.name if token is not None else "anonymous (no MWAA_SP_API_TOKENS)"
        return await bulkheads.operations.run(operations.speculative_plan, parsed, who)

    @post(
        "/drift-runs",
        summary="Start a drift check; poll GET /drift-runs/{id}",
        **documented(
            {202: (DriftRunStarted, "The run's id")},
            body=DriftRunRequest,
            errors=(400, 404, 500),
        ),
    )
    async def start_drift_run(
        self,
        request: Request[Any, Any, Any],
        operations: NamedDependency[PlatformOperations],
        bulkheads: NamedDependency[Bulkheads],
    ) -> Response[DriftRunStarted]:
        options = decode(await read_body(request) or b"{}", DriftRunRequest, "drift run request")
        require_reconcile(token_of(request.scope.get("state", {})), options.reconcile)
        run_id = await bulkheads.operations.run(
            operations.start_drift_run,
            options.workloads,
            options.data_product,
            thorough=options.thorough,
            reconcile=options.reconcile,
        )
        return Response(DriftRunStarted(run_id), status_code=HTTP_202_ACCEPTED)

    @get(
        "/drift-runs",
        summary="Drift runs, newest first, a page at a time (Link: rel=next): trigger, status and counts of each",
        **documented({200: (list[DriftRun], "The drift runs")}, errors=(400, 500)),
    )
    async def list_drift_runs(
        self,
        operations: NamedDependency[PlatformOperations],
        bulkheads: NamedDependency[Bulkheads],
        request: Request[Any, Any, Any],
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int | None] = None,
    ) -> Response[list[DriftRun]]:
        found = await bulkheads.reads.run(operations.drift_runs_page, cursor=cursor, limit=limit)
        return paged(request, [(run) for run in found.items], found.next)

    @get(
        "/drift-runs/{run_id:str}",
        summary="Progress and report of a drift run",
        **documented({200: (DriftRun, "The run: its progress, and its report once done")}),
    )
    async def drift_run(
        self,
        run_id: FromPath[str],
        operations: NamedDependency[PlatformOperations],
        bulkheads: NamedDependency[Bulkheads],
    ) -> DriftRun:
        return await bulkheads.reads.run(operations.drift_run, run_id)

    @get(
        "/metrics",
        media_type=MediaType.TEXT,
        summary="Prometheus metrics: workloads by drift verdict",
        **documented({200: (str, "Prometheus text exposition")}, errors=(500,), media_type=MediaType.TEXT),
    )
    async def metrics(
        self, operations: NamedDependency[PlatformOperations], bulkheads: NamedDependency[Bulkheads]
    ) -> str:
        return await bulkheads.reads.run(operations.metrics)


def paged(request: Request[Any, Any, Any], items: list[T], next_cursor: str | None) -> Response[list[T]]:
    """A page as a JSON array; the next one's address in ``Link: <…>; rel="next"`` (RFC 8288)."""
    headers = {}
    if next_cursor is not None:
        query = {k: v for k, v in request.query_params.items() if k != "cursor"} | {"cursor": next_cursor}
        headers["link"] = f'<{request.url.path}?{urlencode(query)}>; rel="next"'
    return Response(items, headers=headers)
