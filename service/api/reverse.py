"""``/v1/reverse-provisioning`` and its status poll (contract 2.2.0)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK

from service.api.body import read_body
from service.api.provisioning import _token
from service.reverse import ReverseProvisioner
from service.settings import Settings


class ReverseProvisioningController(Controller):
    path = "/"

    @post("/v1/reverse-provisioning", summary="Import a DAG already deployed on MWAA: updates for its catalog-info")
    async def reverse_provisioning(
        self,
        request: Request,  # type: ignore[type-arg]
        reverse: NamedDependency[ReverseProvisioner],
        settings: NamedDependency[Settings],
    ) -> Response[Any]:
        raw = await read_body(request, settings.max_body_bytes)
        token, future = await asyncio.to_thread(reverse.start, raw)
        if settings.async_mode:
            return _token(token)
        return Response(await asyncio.wrap_future(future), status_code=HTTP_200_OK)

    @get("/v1/reverse-provisioning/{token:str}/status", summary="Status of a reverse provisioning")
    async def reverse_provisioning_status(
        self, token: FromPath[str], reverse: NamedDependency[ReverseProvisioner]
    ) -> dict[str, Any]:
        return await asyncio.to_thread(reverse.status_of, token)
