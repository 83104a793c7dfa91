"""``/v1/reverse-provisioning`` and its status poll (contract 2.2.0)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from service.api.body import read_body
from service.api.bulkheads import Bulkheads
from service.api.openapi import documented
from service.api.provisioning import TAGS, TOKEN, answer
from service.contract.decode import decode
from service.contract.models import ReverseProvisioningRequest, ReverseProvisioningStatus
from service.operations.reverse import ReverseProvisioner
from service.settings import Settings


class ReverseProvisioningController(Controller):
    path = "/"
    tags = TAGS

    @post(
        "/v1/reverse-provisioning",
        operation_id="runReverseProvisioning",
        summary="Import a DAG already deployed on MWAA: updates for its catalog-info",
        **documented(
            {200: (ReverseProvisioningStatus, "The outcome, once done (sync mode, the default)"), 202: TOKEN},
            body=ReverseProvisioningRequest,
        ),
    )
    async def reverse_provisioning(
        self,
        request: Request[Any, Any, Any],
        reverse: NamedDependency[ReverseProvisioner],
        settings: NamedDependency[Settings],
        bulkheads: NamedDependency[Bulkheads],
    ) -> Response[Any]:
        parsed = decode(await read_body(request), ReverseProvisioningRequest)
        token, future = await bulkheads.contract.run(reverse.start, parsed)
        return await answer(token, future, settings.async_mode)

    @get(
        "/v1/reverse-provisioning/{token:str}/status",
        operation_id="getReverseProvisioningStatus",
        summary="Status of a reverse provisioning",
        **documented({200: (ReverseProvisioningStatus, "The operation's status; its updates once COMPLETED")}),
    )
    async def reverse_provisioning_status(
        self,
        token: FromPath[str],
        reverse: NamedDependency[ReverseProvisioner],
        bulkheads: NamedDependency[Bulkheads],
    ) -> ReverseProvisioningStatus:
        return await bulkheads.reads.run(reverse.status_of, token)
