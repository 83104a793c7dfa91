"""Health, build info, and the operations this provisioner does not offer yet."""

from __future__ import annotations

from litestar import Controller, get

from service import __version__


class MiscController(Controller):
    path = "/"

    @get("/health", summary="Liveness/readiness probe")
    async def health(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/build-info", summary="Name and version of the running provisioner")
    async def build_info(self) -> dict[str, str]:
        return {"name": "mwaa-sp", "version": __version__}
