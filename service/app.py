"""``create_app(settings)``: the one place that lists routes, dependencies, the failure mapping and the
lifespan (start-up, drain at shutdown)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from litestar import Litestar, Request, Response
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from service import __version__
from service.api import session
from service.api.acl import AclController
from service.api.body import BODY_TIMEOUT_STATE, too_large
from service.api.bulkheads import Bulkheads
from service.api.docs import OfflineSwaggerUI
from service.api.failures import failure_of
from service.api.health import MiscController
from service.api.middleware import RequestMiddleware
from service.api.provisioning import ProvisioningController
from service.api.registry import RegistryController
from service.api.reverse import ReverseProvisioningController
from service.api.workloads import WorkloadsController
from service.operations.platform import PlatformOperations
from service.settings import Settings
from service.store.sessions import SessionStore
from service.ui import UiController, error_page
from service.wiring import Components, build, readiness

log = logging.getLogger("mwaa_sp.app")


def _answer_failure(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Every failure, through the one mapping: a page under /ui (a person is reading), the contract's
    error body elsewhere."""
    if session.is_ui(request.url.path):
        return error_page(request, failure_of(exc), exc)
    # The contract has no 413: a body over MWAA_SP_MAX_BODY_BYTES is invalid input, naming ``body``.
    failure = failure_of(too_large(request) if isinstance(exc, RequestEntityTooLarge) else exc)
    return Response(failure.body, status_code=failure.status)


def _scheduled_drift(operations: PlatformOperations, interval_s: int) -> Callable[[], None]:
    """MWAA_SP_DRIFT_INTERVAL: a drift run of every workload once per interval, by one replica of all."""

    def step() -> None:
        run_id = operations.scheduled_drift_run(interval_s)
        if run_id:
            log.info("scheduled drift run started", extra={"run": run_id})

    return step


def create_app(settings: Settings, components: Components | None = None) -> Litestar:
    parts = components or build(settings)
    bulkheads = Bulkheads()
    probes = readiness(settings, parts.engine)
    sessions = SessionStore(parts.engine)

    def _startup() -> None:
        parts.leases.start()
        parts.background.once("warm", parts.compiler.warm)
        if parts.buckets.everything:
            log.warning(
                "every bucket is allowed: set MWAA_SP_ALLOWED_BUCKETS (or MWAA_SP_MWAA_ENVIRONMENT) so that "
                "descriptors can name only the MWAA environment's bucket"
            )
        if settings.drift_interval_s:
            interval = settings.drift_interval_s
            # Each replica asks often; its turn is decided in the database, once per interval for all.
            parts.background.loop(
                "drift-schedule", min(1.0, interval / 4), _scheduled_drift(parts.operations, interval)
            )

    def _shutdown() -> None:
        # Uvicorn has stopped accepting requests; running Terraform gets the grace period to finish,
        # with its leases still renewed meanwhile.
        log.info("draining: running tasks may finish", extra={"grace_s": settings.shutdown_grace_s})
        parts.background.stopping.set()  # no new scheduled run starts while the rest drains
        deadline = time.monotonic() + settings.shutdown_grace_s
        drained = parts.door.shutdown(settings.shutdown_grace_s)
        drained = parts.background.shutdown(max(0.0, deadline - time.monotonic())) and drained
        parts.leases.stop(drained=drained)
        bulkheads.shutdown()
        parts.compiler.close()
        if not drained:
            log.warning("stopped with unfinished tasks; their leases are released")

    return Litestar(
        route_handlers=[
            ProvisioningController,
            AclController,
            ReverseProvisioningController,
            WorkloadsController,
            RegistryController,
            MiscController,
            UiController,
        ],
        dependencies={
            "launcher": Provide(lambda: parts.launcher, use_cache=True, sync_to_thread=False),
            "settings": Provide(lambda: parts.settings, use_cache=True, sync_to_thread=False),
            "operations": Provide(lambda: parts.operations, use_cache=True, sync_to_thread=False),
            "reverse": Provide(lambda: parts.reverse, use_cache=True, sync_to_thread=False),
            "access": Provide(lambda: parts.access, use_cache=True, sync_to_thread=False),
            "airflow": Provide(lambda: parts.airflow, use_cache=True, sync_to_thread=False),
            "rebuilder": Provide(lambda: parts.rebuilder, use_cache=True, sync_to_thread=False),
            "bulkheads": Provide(lambda: bulkheads, use_cache=True, sync_to_thread=False),
            "readiness": Provide(lambda: probes, use_cache=True, sync_to_thread=False),
            "sessions": Provide(lambda: sessions, use_cache=True, sync_to_thread=False),
        },
        exception_handlers={Exception: _answer_failure},
        # Litestar refuses a body over the cap as it is read: api.body.read_body (for our parsers) and
        # _handle_http (for any body Litestar reads itself) make that the contract's 400 naming `body`.
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="mwaa-sp: MWAA Specific Provisioner",
            version=__version__,
            path="/swagger",
            # Swagger UI from the installed package (nothing from a CDN) and the document itself.
            render_plugins=[OfflineSwaggerUI(), JsonRenderPlugin()],
            description=(
                "The Witboost Specific Provisioner contract (interface specification 2.2.0): its operations, "
                "schemas and status codes, as this service answers them; plus the platform engineers' "
                "registry, plan and drift endpoints."
            ),
        ),
        middleware=[
            DefineMiddleware(
                RequestMiddleware,
                tokens=settings.tokens,
                sessions=sessions,
                trusted_proxies=settings.trusted_proxies,
            )
        ],
        # Logging is ours (service.logs: one JSON object a line); Litestar must not install its own.
        logging_config=None,
        on_startup=[_startup],
        on_shutdown=[_shutdown],
        state=State({BODY_TIMEOUT_STATE: settings.body_timeout_s}),
    )
