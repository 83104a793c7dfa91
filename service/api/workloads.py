"""Platform engineers' endpoints: the workload registry, stored and speculative plans, drift runs."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED

from service.api.body import provisioning_request, read_body
from service.errors import Problem, RequestInvalid
from service.operations import Operations
from service.settings import Settings


class WorkloadsController(Controller):
    path = "/"

    @get("/workloads", summary="Workloads the service manages (filter by dataProduct, status, drift)")
    async def list_workloads(
        self,
        operations: NamedDependency[Operations],
        data_product: Annotated[str | None, QueryParameter(name="dataProduct")] = None,
        status: FromQuery[str | None] = None,
        drift: FromQuery[str | None] = None,
    ) -> list[dict[str, Any]]:
        return await asyncio.to_thread(operations.workloads, data_product, status, drift)

    @get("/workloads/{component_id:str}", summary="One workload: deployment, last operation, last drift check")
    async def show_workload(
        self, component_id: FromPath[str], operations: NamedDependency[Operations]
    ) -> dict[str, Any]:
        return await asyncio.to_thread(operations.workload, component_id)

    @get("/workloads/{component_id:str}/plans", summary="The workload's stored plans, newest first")
    async def list_plans(
        self, component_id: FromPath[str], operations: NamedDependency[Operations]
    ) -> list[dict[str, Any]]:
        return await asyncio.to_thread(operations.plans_of, component_id)

    @get("/workloads/{component_id:str}/plans/{plan_id:str}", summary="A plan: text, JSON and DAG diff")
    async def show_plan(
        self, component_id: FromPath[str], plan_id: FromPath[str], operations: NamedDependency[Operations]
    ) -> dict[str, Any]:
        return await asyncio.to_thread(operations.plan, component_id, plan_id)

    @post("/workloads/plan", status_code=200, summary="Speculative plan of a ProvisioningRequest; nothing applied")
    async def speculative_plan(
        self,
        request: Request,  # type: ignore[type-arg]
        operations: NamedDependency[Operations],
        settings: NamedDependency[Settings],
    ) -> dict[str, Any]:
        parsed = await provisioning_request(request, settings.max_body_bytes)
        return await asyncio.to_thread(operations.speculative_plan, parsed)

    @post("/drift-runs", summary="Start a drift check; poll GET /drift-runs/{id}")
    async def start_drift_run(
        self,
        request: Request,  # type: ignore[type-arg]
        operations: NamedDependency[Operations],
        settings: NamedDependency[Settings],
    ) -> Response[dict[str, Any]]:
        raw = await read_body(request, settings.max_body_bytes)
        options = _drift_options(raw)
        run_id = await asyncio.to_thread(
            operations.start_drift_run,
            options["workloads"],
            options["dataProduct"],
            thorough=options["thorough"],
            reconcile=options["reconcile"],
        )
        return Response({"id": run_id}, status_code=HTTP_202_ACCEPTED)

    @get("/drift-runs/{run_id:str}", summary="Progress and report of a drift run")
    async def drift_run(self, run_id: FromPath[str], operations: NamedDependency[Operations]) -> dict[str, Any]:
        return await asyncio.to_thread(operations.drift_run, run_id)

    @get("/metrics", media_type=MediaType.TEXT, summary="Prometheus metrics: workloads by drift verdict")
    async def metrics(self, operations: NamedDependency[Operations]) -> str:
        return await asyncio.to_thread(operations.metrics)


def _drift_options(raw: bytes) -> dict[str, Any]:
    import json

    try:
        body = json.loads(raw or b"{}")
    except json.JSONDecodeError as exc:
        raise RequestInvalid("The body is not JSON", [Problem("body", str(exc), "Send a JSON object.")]) from exc
    if not isinstance(body, dict):
        raise RequestInvalid("The body is not a JSON object", [Problem("body", "not an object", "Send {}.")])
    options = {
        "workloads": body.get("workloads", []),
        "dataProduct": body.get("dataProduct"),
        "thorough": body.get("thorough", False),
        "reconcile": body.get("reconcile", False),
    }
    problems = []
    if not isinstance(options["workloads"], list) or not all(isinstance(w, str) for w in options["workloads"]):
        problems.append(Problem("workloads", "must be a list of component ids", 'Send ["urn:dmb:cmp:…"].'))
    if options["dataProduct"] is not None and not isinstance(options["dataProduct"], str):
        problems.append(Problem("dataProduct", "must be a data product id", 'Send "urn:dmb:dp:…".'))
    for flag in ("thorough", "reconcile"):
        if not isinstance(options[flag], bool):
            problems.append(Problem(flag, "must be true or false", "Send a JSON boolean."))
    if problems:
        raise RequestInvalid("The drift run options are not valid", problems)
    return options
