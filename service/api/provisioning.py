"""``/v1/validate``, ``/v2/validate``, ``/v1/provision``, ``/v1/unprovision`` and the status polls."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from service.api.body import provisioning_request, read_body
from service.errors import ClientError, validation_result
from service.provisioner import Provisioner
from service.request import parse_body
from service.settings import Settings
from service.store.tasks import TaskKind


def _token(token: str) -> Response[str]:
    """The contract's 202 body is a JSON string, quotes included."""
    return Response(json.dumps(token), status_code=HTTP_202_ACCEPTED, media_type=MediaType.JSON)


class ProvisioningController(Controller):
    path = "/"

    @post("/v1/validate", status_code=HTTP_200_OK, summary="Validate a provisioning request")
    async def validate(
        self,
        request: Request,  # type: ignore[type-arg]
        provisioner: NamedDependency[Provisioner],
        settings: NamedDependency[Settings],
    ) -> dict[str, Any]:
        # The contract gives /v1/validate no 400: a malformed request is an invalid one.
        raw = await read_body(request, settings.max_body_bytes)
        try:
            parsed = parse_body(raw)
        except ClientError as exc:
            return validation_result(exc.problems)
        problems = await asyncio.to_thread(provisioner.validation_problems, parsed)
        return validation_result(problems)

    @post(
        "/v2/validate",
        status_code=HTTP_202_ACCEPTED,
        summary="Asynchronously validate a provisioning request",
    )
    async def validate_async(
        self,
        request: Request,  # type: ignore[type-arg]
        provisioner: NamedDependency[Provisioner],
        settings: NamedDependency[Settings],
    ) -> Response[str]:
        raw = await read_body(request, settings.max_body_bytes)
        token, _ = await asyncio.to_thread(provisioner.start_validation, raw)
        return _token(token)

    @get("/v2/validate/{token:str}/status", summary="Status and result of an async validation")
    async def validation_status(
        self, token: FromPath[str], provisioner: NamedDependency[Provisioner]
    ) -> dict[str, Any]:
        return await asyncio.to_thread(provisioner.status, token, ["validate"])

    async def _operate(
        self,
        kind: TaskKind,
        request: Request,  # type: ignore[type-arg]
        provisioner: NamedDependency[Provisioner],
        settings: NamedDependency[Settings],
    ) -> Response[Any]:
        parsed = await provisioning_request(request, settings.max_body_bytes)
        token, future = await asyncio.to_thread(provisioner.start, kind, parsed)
        if settings.async_mode:
            return _token(token)
        body = await asyncio.wrap_future(future)
        return Response(body, status_code=HTTP_200_OK)

    @post("/v1/provision", summary="Deploy the workload component's DAG")
    async def provision(
        self,
        request: Request,  # type: ignore[type-arg]
        provisioner: NamedDependency[Provisioner],
        settings: NamedDependency[Settings],
    ) -> Response[Any]:
        return await self._operate("provision", request, provisioner, settings)

    @post("/v1/unprovision", summary="Remove the workload component's DAG")
    async def unprovision(
        self,
        request: Request,  # type: ignore[type-arg]
        provisioner: NamedDependency[Provisioner],
        settings: NamedDependency[Settings],
    ) -> Response[Any]:
        return await self._operate("unprovision", request, provisioner, settings)

    @get("/v1/provision/{token:str}/status", summary="Status of a provision or unprovision task")
    async def provision_status(self, token: FromPath[str], provisioner: NamedDependency[Provisioner]) -> dict[str, Any]:
        return await asyncio.to_thread(provisioner.status, token, ["provision", "unprovision"])
