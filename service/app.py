"""``create_app(settings)``: the one place that wires routes, dependencies, error mapping, lifespan."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from litestar import Litestar, Request, Response
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig

from service import __version__
from service.api.middleware import RequestMiddleware
from service.api.misc import MiscController
from service.api.provisioning import ProvisioningController
from service.api.workloads import WorkloadsController
from service.engine.runner import TerraformRunner, prepare_environment
from service.errors import (
    ClientError,
    ConfigurationError,
    MwaaSpError,
    NotSupported,
    request_validation_error,
    system_error,
)
from service.operations import Operations
from service.provisioner import Provisioner
from service.s3 import S3
from service.scheduler import Scheduler
from service.settings import Settings
from service.store.database import make_engine
from service.store.plans import PlanStore
from service.store.registry import Registry
from service.store.tasks import TaskStore
from service.worker import Worker

log = logging.getLogger("mwaa_sp.app")
_NOT_SUPPORTED = "This provisioner does not offer this operation; nothing was changed."


@dataclass(frozen=True)
class Components:
    settings: Settings
    provisioner: Provisioner
    scheduler: Scheduler
    operations: Operations


def terraform_env(settings: Settings) -> dict[str, str]:
    env = {"AWS_REGION": settings.aws_region}
    if settings.s3_endpoint:
        env["AWS_ENDPOINT_URL_S3"] = settings.s3_endpoint
    if settings.tf_cli_config_file:
        env["TF_CLI_CONFIG_FILE"] = str(settings.tf_cli_config_file)
    return env


def build(settings: Settings) -> Components:
    """Everything behind the HTTP layer (the CLI uses it too)."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        probe = settings.data_dir / ".writable"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigurationError(
            f"MWAA_SP_DATA_DIR {settings.data_dir} is not a writable directory: {exc.strerror or exc}"
        ) from exc
    prepare_environment(terraform_env(settings))
    engine = make_engine(settings.effective_database_url)
    worker = Worker(
        settings,
        TerraformRunner(settings.terraform_timeout_s, settings.lock_timeout_s),
        S3(settings),
        Registry(engine),
        PlanStore(engine),
    )
    scheduler = Scheduler(settings.max_parallel)
    provisioner = Provisioner(settings, worker, TaskStore(engine), scheduler)
    return Components(settings, provisioner, scheduler, Operations(provisioner))


def _handle_ours(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, MwaaSpError)
    if isinstance(exc, ClientError):
        return Response(request_validation_error(exc), status_code=exc.status_code)
    if isinstance(exc, NotSupported):
        return Response(system_error(exc.message, [_NOT_SUPPORTED]), status_code=500)
    log.error("request failed: %s", exc.message)
    return Response(system_error(exc.message), status_code=500)


def _handle_http(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, HTTPException)
    if exc.status_code < 500:
        wrapped = ClientError(str(exc.detail))
        return Response(request_validation_error(wrapped), status_code=exc.status_code)
    return Response(system_error(str(exc.detail)), status_code=exc.status_code)


def _handle_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unexpected error", exc_info=exc)
    return Response(system_error(f"internal error: {type(exc).__name__}"), status_code=500)


def _keep_leases(provisioner: Provisioner, settings: Settings, stop: threading.Event) -> None:
    """Renew this replica's task leases, fail tasks whose replica died (at start-up too), and prune
    finished tasks past their retention."""
    lease = timedelta(seconds=settings.task_lease_s)
    retention = timedelta(days=settings.task_retention_days)
    while True:
        try:
            provisioner.tasks.renew()
            failed = provisioner.tasks.fail_expired(lease, provisioner.abandoned)
            if failed:
                log.warning("failed tasks abandoned by a stopped replica", extra={"tokens": len(failed)})
            pruned = provisioner.tasks.prune(retention)
            if pruned:
                log.info("pruned finished tasks", extra={"count": pruned})
        except Exception:
            log.exception("task upkeep failed")
        if stop.wait(max(1.0, settings.task_lease_s / 4)):
            return


def _drift_schedule(operations: Operations, interval_s: int, stop: threading.Event) -> None:
    """MWAA_SP_DRIFT_INTERVAL: check every workload periodically; verdicts land in the registry."""
    while not stop.wait(interval_s):
        try:
            verdicts = operations.drift(operations.select([], None), thorough=False, reconcile=False)
            log.info("scheduled drift check", extra={"checked": len(verdicts)})
        except Exception:
            log.exception("scheduled drift check failed")


def create_app(settings: Settings, components: Components | None = None) -> Litestar:
    parts = components or build(settings)

    stop = threading.Event()

    def _startup() -> None:
        threading.Thread(target=_keep_leases, args=(parts.provisioner, settings, stop), daemon=True).start()
        if settings.drift_interval_s:
            threading.Thread(
                target=_drift_schedule, args=(parts.operations, settings.drift_interval_s, stop), daemon=True
            ).start()

    def _shutdown() -> None:
        # Uvicorn has stopped accepting requests; running Terraform gets the grace period to finish,
        # with its leases still renewed meanwhile.
        drained = parts.scheduler.shutdown(settings.shutdown_grace_s)
        stop.set()
        if not drained:
            released = parts.provisioner.tasks.release_leases()
            log.warning("stopped with unfinished tasks; their leases are released", extra={"tasks": released})

    return Litestar(
        route_handlers=[ProvisioningController, WorkloadsController, MiscController],
        dependencies={
            "provisioner": Provide(lambda: parts.provisioner, use_cache=True, sync_to_thread=False),
            "settings": Provide(lambda: parts.settings, use_cache=True, sync_to_thread=False),
            "operations": Provide(lambda: parts.operations, use_cache=True, sync_to_thread=False),
        },
        exception_handlers={
            MwaaSpError: _handle_ours,
            HTTPException: _handle_http,
            Exception: _handle_unexpected,
        },
        # Bodies are only ever read by api.body.read_body, whose limit answers in the contract's shape.
        request_max_body_size=None,
        openapi_config=OpenAPIConfig(title="mwaa-sp: MWAA Specific Provisioner", version=__version__, path="/swagger"),
        middleware=[DefineMiddleware(RequestMiddleware, tokens=settings.api_tokens)],
        # Logging is ours (service.logs: one JSON object a line); Litestar must not install its own.
        logging_config=None,
        on_startup=[_startup],
        on_shutdown=[_shutdown],
    )
