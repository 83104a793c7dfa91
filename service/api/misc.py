"""Health and build info."""

from __future__ import annotations

from litestar import Controller, get

from service import __version__
from service.api.models import BuildInfo, Health
from service.api.openapi import documented


class MiscController(Controller):
    path = "/"

    @get("/health", summary="Liveness/readiness probe", **documented({200: (Health, "Alive")}, errors=()))
    async def health(self) -> Health:
        return Health("ok")

    @get(
        "/build-info",
        summary="Name and version of the running provisioner",
        **documented({200: (BuildInfo, "What is running")}, errors=()),
    )
    async def build_info(self) -> BuildInfo:
        return BuildInfo("mwaa-sp", __version__)
