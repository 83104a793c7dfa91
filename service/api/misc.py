"""Health, build info, and the operations this provisioner does not offer yet."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.params import FromPath

from service import __version__
from service.errors import NotSupported, TokenUnknown


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

    @post("/v1/reverse-provisioning", summary="Not supported yet")
    async def reverse_provisioning(self) -> dict[str, Any]:
        raise NotSupported("reverse provisioning is not supported yet by the MWAA provisioner")

    @get("/v1/reverse-provisioning/{token:str}/status", summary="No reverse provisioning task ever exists")
    async def reverse_provisioning_status(self, token: FromPath[str]) -> dict[str, Any]:
        raise TokenUnknown(token)
