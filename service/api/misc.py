"""Health, build info, and the operations this provisioner does not offer yet."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post

from service import __version__
from service.errors import NotSupported


class MiscController(Controller):
    path = "/"

    @get("/health", summary="Liveness/readiness probe")
    async def health(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/build-info", summary="Name and version of the running provisioner")
    async def build_info(self) -> dict[str, str]:
        return {"name": "mwaa-sp", "version": __version__}

    @post("/v1/updateacl", summary="Not supported yet")
    async def update_acl(self) -> dict[str, Any]:
        raise NotSupported("updateacl is not supported yet by the MWAA provisioner: a DAG grants no access")
