"""``/v1/validate``, ``/v2/validate``, ``/v1/provision``, ``/v1/unprovision`` and the status polls."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import Future
from typing import Any, TypeVar

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from service.api.body import read_body
from service.api.bulkheads import Bulkheads
from service.api.openapi import documented
from service.contract import bodies
from service.contract.decode import decode
from service.contract.models import (
    ProvisioningRequest,
    ProvisioningStatus,
    ValidationResult,
    ValidationStatus,
)
from service.errors import ClientError
from service.operations.tasks import TaskLauncher
from service.settings import Settings
from service.store.tasks import TaskKind

T = TypeVar("T")

TAGS = ["SpecificProvisioner"]
TOKEN = (str, "A token to poll the task's status with (async mode, MWAA_SP_ASYNC)")
STARTED = {200: (ProvisioningStatus, "The outcome, once done (sync mode, the default)"), 202: TOKEN}


def token_response(token: str) -> Response[str]:
    """The contract's 202 body is a JSON string, quotes included."""
    return Response(json.dumps(token), status_code=HTTP_202_ACCEPTED, media_type=MediaType.JSON)


async def answer(token: str, future: Future[T], async_mode: bool) -> Response[T] | Response[str]:
    """A started task's answer: 202 with its token (MWAA_SP_ASYNC), or 200 with its outcome."""
    if async_mode:
        return token_response(token)
    return Response(await asyncio.wrap_future(future), status_code=HTTP_200_OK)


class ProvisioningController(Controller):
    path = "/"
    tags = TAGS

    @post(
        "/v1/validate",
        operation_id="validate",
        summary="Validate a provisioning request",
        **documented(
            {200: (ValidationResult, "The validation result; a malformed request is an invalid one")},
            body=ProvisioningRequest,
            errors=(500,),
        ),
    )
    async def validate(
        self,
        request: Request[Any, Any, Any],
        launcher: NamedDependency[TaskLauncher],
        bulkheads: NamedDependency[Bulkheads],
    ) -> ValidationResult:
        # The contract gives /v1/validate no 400: a malformed or oversized request is an invalid one.
        try:
            parsed = decode(await read_body(request), ProvisioningRequest)
        except ClientError as exc:
            return bodies.validation_result(exc.problems)
        problems = await bulkheads.contract.run(launcher.validation_problems, parsed)
        return bodies.validation_result(problems)

    @post(
        "/v2/validate",
        operation_id="asyncValidate",
        summary="Asynchronously validate a provisioning request",
        **documented({202: (str, "A token to poll the validation's status and result with")}, body=ProvisioningRequest),
    )
    async def validate_async(
        self,
        request: Request[Any, Any, Any],
        launcher: NamedDependency[TaskLauncher],
        bulkheads: NamedDependency[Bulkheads],
    ) -> Response[str]:
        raw = await read_body(request)
        token, _ = await bulkheads.contract.run(launcher.start_validation, raw)
        return token_response(token)

    @get(
        "/v2/validate/{token:str}/status",
        operation_id="getValidationStatus",
        summary="Status and result of an async validation",
        **documented({200: (ValidationStatus, "The validation's status; its result once COMPLETED")}),
    )
    async def validation_status(
        self,
        token: FromPath[str],
        launcher: NamedDependency[TaskLauncher],
        bulkheads: NamedDependency[Bulkheads],
    ) -> ValidationStatus:
        return await bulkheads.reads.run(launcher.validation_status, token)

    async def _operate(
        self,
        kind: TaskKind,
        request: Request[Any, Any, Any],
        launcher: TaskLauncher,
        settings: Settings,
        bulkheads: Bulkheads,
    ) -> Response[Any]:
        parsed = decode(await read_body(request), ProvisioningRequest)
        token, future = await bulkheads.contract.run(launcher.start, kind, parsed)
        return await answer(token, future, settings.async_mode)

    @post(
        "/v1/provision",
        operation_id="provision",
        summary="Deploy the workload component's DAG",
        **documented(STARTED, body=ProvisioningRequest),
    )
    async def provision(
        self,
        request: Request[Any, Any, Any],
        launcher: NamedDependency[TaskLauncher],
        settings: NamedDependency[Settings],
        bulkheads: NamedDependency[Bulkheads],
    ) -> Response[Any]:
        return await self._operate("provision", request, launcher, settings, bulkheads)

    @post(
        "/v1/unprovision",
        operation_id="unprovision",
        summary="Remove the workload component's DAG",
        **documented(STARTED, body=ProvisioningRequest),
    )
    async def unprovision(
        self,
        request: Request[Any, Any, Any],
        launcher: NamedDependency[TaskLauncher],
        settings: NamedDependency[Settings],
        bulkheads: NamedDependency[Bulkheads],
    ) -> Response[Any]:
        return await self._operate("unprovision", request, launcher, settings, bulkheads)

    @get(
        "/v1/provision/{token:str}/status",
        operation_id="getStatus",
        summary="Status of a provision or unprovision task",
        **documented({200: (ProvisioningStatus, "The task's status; its outcome once done")}),
    )
    async def provision_status(
        self,
        token: FromPath[str],
        launcher: NamedDependency[TaskLauncher],
        bulkheads: NamedDependency[Bulkheads],
    ) -> ProvisioningStatus:
        body = await bulkheads.reads.run(launcher.status, token)
        return body
