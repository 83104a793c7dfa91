"""``/v1/updateacl``: synchronous (the contract gives it no status endpoint)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK

from service.acl import AccessControl
from service.api.body import read_body
from service.settings import Settings


class AclController(Controller):
    path = "/"

    @post("/v1/updateacl", status_code=HTTP_200_OK, summary="Who may sign in to the workload's Airflow")
    async def update_acl(
        self,
        request: Request,  # type: ignore[type-arg]
        access: NamedDependency[AccessControl],
        settings: NamedDependency[Settings],
    ) -> dict[str, Any]:
        raw = await read_body(request, settings.max_body_bytes)
        return await asyncio.to_thread(access.update, raw)
