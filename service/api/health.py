"""Liveness, readiness and build info."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from service import __version__
from service.api.openapi import documented
from service.api.readiness import Readiness as Probes
from service.contract.models import BuildInfo, Health, Readiness, ReadinessCheck


class MiscController(Controller):
    path = "/"

    @get("/health", summary="Liveness: the process serves HTTP", **documented({200: (Health, "Alive")}, errors=()))
    async def health(self) -> Health:
        return Health("ok")

    @get(
        "/ready",
        summary="Readiness: the database and the S3 endpoint answer (each within MWAA_SP_READY_TIMEOUT)",
        **documented(
            {200: (Readiness, "Ready for work"), 503: (Readiness, "Not ready: the checks say what does not answer")},
            errors=(),
        ),
    )
    async def ready(self, readiness: NamedDependency[Probes]) -> Response[Readiness]:
        checks = await readiness.check()
        ok = all(c.ok for c in checks)
        body = Readiness("ready" if ok else "not ready", [ReadinessCheck(c.name, c.ok, c.detail) for c in checks])
        return Response(body, status_code=HTTP_200_OK if ok else HTTP_503_SERVICE_UNAVAILABLE)

    @get(
        "/build-info",
        summary="Name and version of the running provisioner",
        **documented({200: (BuildInfo, "What is running")}, errors=()),
    )
    async def build_info(self) -> BuildInfo:
        return BuildInfo("mwaa-sp", __version__)
