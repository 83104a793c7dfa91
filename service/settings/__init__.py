"""Configuration: one frozen object, read once from the environment and passed down explicitly, and
the per-concern slices of it each part is given (AWS access, state storage, rendering, Airflow access).

Nothing reads ``os.environ`` at import time, so tests build their own ``Settings`` and several apps
with different settings can live in one process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from service import resources
from service.errors import ConfigurationError
from service.settings.environment import (
    SCOPES,
    AirflowCheckMode,
    ApiToken,
    Boto3Credentials,
    BucketEncryption,
    Scope,
    StateBackendKind,
    airflow_check,
    api_tokens,
    boolean,
    integer,
    listed,
    log_level,
    networks,
    quotas,
    secret,
    tokens,
)

__all__ = [
    "SCOPES",
    "AirflowAccess",
    "AirflowCheckMode",
    "AirflowChecking",
    "ApiToken",
    "AwsAccess",
    "Boto3Credentials",
    "BucketEncryption",
    "Rendering",
    "Scope",
    "Settings",
    "StateBackendKind",
    "StateStorage",
    "api_tokens",
    "log_level",
]


@dataclass(frozen=True)
class AwsAccess:
    """How the service's own AWS calls are made (boto3: S3, IAM, STS, MWAA)."""

    region: str
    s3_endpoint: str | None
    iam_endpoint: str | None
    sts_endpoint: str | None
    mwaa_endpoint: str | None
    emulator: bool
    credentials: tuple[str, str] | None = field(default=None, repr=False)

    @property
    def boto3_credentials(self) -> Boto3Credentials:
        if self.credentials is None:
            return {}
        key, secret_key = self.credentials
        return {"aws_access_key_id": key, "aws_secret_access_key": secret_key}


@dataclass(frozen=True)
class StateStorage:
    """Where Terraform keeps states: the backend, its bucket and prefix, or the local directory."""

    kind: StateBackendKind
    bucket: str | None
    prefix: str
    region: str
    local_root: Path
    max_bytes: int


@dataclass(frozen=True)
class Rendering:
    """What a rendered root module is made from, besides the workload."""

    templates_dir: Path
    module_dir: Path
    state_backend: StateBackendKind
    emulator: bool
    region: str
    max_retries: int | None
    bucket_encryption: BucketEncryption = "auto"


@dataclass(frozen=True)
class AirflowChecking:
    """The post-deploy check: what a finding does, how long to wait for Airflow's parse, how often to ask."""

    mode: AirflowCheckMode
    timeout_s: int
    interval_s: int


@dataclass(frozen=True)
class AirflowAccess:
    """updateacl: the MWAA environment, the Airflow role, how refs become IAM principals, IAM's quotas."""

    environment: str | None
    region: str
    airflow_role: str
    user_principal: str
    group_principal: str
    principal_mapper: str | None
    inline_quota: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Settings:
    """Every knob of the service. Field docs are the README's settings table."""

    host: str = "127.0.0.1"
    """MWAA_SP_HOST: address the HTTP server binds to."""
    port: int = 8093
    """MWAA_SP_PORT: HTTP port (8093 is the port Witboost's Postman collection uses)."""
    data_dir: Path = field(default_factory=lambda: Path("data").resolve())
    """MWAA_SP_DATA_DIR: working directories, local states, the SQLite database, the provider mirror."""
    state_backend: StateBackendKind = "local"
    """MWAA_SP_STATE_BACKEND: ``local`` (files under the data dir) or ``s3``."""
    state_bucket: str | None = None
    """MWAA_SP_STATE_BUCKET: bucket of the S3 state backend (required when the backend is ``s3``)."""
    state_prefix: str = "mwaa-sp"
    """MWAA_SP_STATE_PREFIX: first segment of every state key."""
    database_url: str | None = None
    """MWAA_SP_DATABASE_URL: task/workload store; default ``sqlite:///<data dir>/mwaa-sp.db``."""
    async_mode: bool = False
    """MWAA_SP_ASYNC: provision/unprovision answer 202 with a token instead of waiting."""
    sandbox: bool = False
    """MWAA_SP_SANDBOX: stand-in AWS provider and, without AWS_ENDPOINT_URL_S3, an embedded S3 emulator."""
    max_parallel: int = 2
    """MWAA_SP_MAX_PARALLEL: Terraform runs for different workloads at once (Terraform is CPU-bound)."""
    max_body_bytes: int = 5 * 1024 * 1024
    """MWAA_SP_MAX_BODY_BYTES: largest accepted request body."""
    max_dag_bytes: int = 50 * 1024 * 1024
    """MWAA_SP_MAX_DAG_BYTES: largest staged DAG object the service will deploy."""
    aws_region: str = "us-east-1"
    """AWS_REGION (or AWS_DEFAULT_REGION): region for the provider, the S3 backend and boto3."""
    aws_max_retries: int | None = None
    """MWAA_SP_AWS_MAX_RETRIES: retries of the provider's AWS calls (unset: the provider's default, 25)."""
    s3_endpoint: str | None = None
    """AWS_ENDPOINT_URL_S3: S3 endpoint override honoured by boto3, the provider and the S3 backend
    (an emulator, or production's VPC endpoint: it changes only where requests go)."""
    bucket_encryption: BucketEncryption = "auto"
    """MWAA_SP_BUCKET_ENCRYPTION: ``auto`` (GetBucketEncryption per bucket), ``sse-s3`` (S3's ETag is the
    MD5 of the bytes) or ``kms`` (SSE-KMS, DSSE-KMS or SSE-C: the ETag is opaque, changes are tracked by
    ``source_hash``)."""
    emulator: bool = False
    """MWAA_SP_EMULATOR: the endpoints are an AWS emulator (sandbox, tests): path-style S3 and none of
    the STS/IMDS/account checks only AWS answers. Off, production credential chains (IMDS, IRSA, SSO) work."""
    templates_dir: Path = resources.TEMPLATES / "terraform"
    """MWAA_SP_TEMPLATES_DIR: Jinja2 templates of the per-workload root module."""
    module_dir: Path = resources.TERRAFORM / "workload"
    """MWAA_SP_MODULE_DIR: the static Terraform module that deploys one workload."""
    require_reviewed_plan: bool = False
    """MWAA_SP_REQUIRE_REVIEWED_PLAN: apply only a plan equal to one reviewed earlier (validate or speculative)."""
    drift_ignore: tuple[str, ...] = ()
    """MWAA_SP_DRIFT_IGNORE: comma-separated workload ids or S3 key globs whose drift is known and accepted."""
    drift_interval_s: int = 0
    """MWAA_SP_DRIFT_INTERVAL: seconds between in-service drift checks of every workload (0: off)."""
    terraform_timeout_s: int = 900
    """MWAA_SP_TERRAFORM_TIMEOUT: seconds one Terraform command may run before it is stopped and the task fails."""
    shutdown_grace_s: int = 300
    """MWAA_SP_SHUTDOWN_GRACE: seconds running Terraform may take to finish when the service stops."""
    lock_timeout_s: int = 120
    """MWAA_SP_LOCK_TIMEOUT: seconds Terraform waits for a state lock another process holds."""
    task_retention_days: int = 30
    """MWAA_SP_TASK_RETENTION_DAYS: finished tasks are kept this long, then pruned."""
    api_tokens: tuple[str, ...] = ()
    """MWAA_SP_API_TOKENS (or MWAA_SP_API_TOKENS_FILE): comma-separated ``name:scope:secret`` bearer tokens
    (a bare secret: an ``admin`` token); when set, every endpoint but /health and /ready needs one."""
    task_lease_s: int = 60
    """MWAA_SP_TASK_LEASE: seconds a RUNNING task survives without its replica renewing it."""
    tf_cli_config_file: Path | None = None
    """TF_CLI_CONFIG_FILE: Terraform CLI config (e.g. a provider mirror); the sandbox writes its own."""
    iam_endpoint: str | None = None
    """AWS_ENDPOINT_URL_IAM: IAM endpoint override (emulators), for boto3 and the provider."""
    sts_endpoint: str | None = None
    """AWS_ENDPOINT_URL_STS: STS endpoint override (emulators), for boto3 and the provider."""
    mwaa_endpoint: str | None = None
    """AWS_ENDPOINT_URL_MWAA: MWAA API endpoint override (GetEnvironment, for the Airflow UI link)."""
    mwaa_environment: str | None = None
    """MWAA_SP_MWAA_ENVIRONMENT: the MWAA environment's name; updateacl needs it."""
    airflow_check: AirflowCheckMode = "off"
    """MWAA_SP_AIRFLOW_CHECK: after an apply that changed the DAG, ask the environment's Airflow (InvokeRestApi)
    whether it loaded it — ``off``, ``warn`` (COMPLETED with the finding), ``fail`` (FAILED with Airflow's
    error) or ``rollback`` (as fail, and the previous DAG applied again); default ``fail`` when
    MWAA_SP_MWAA_ENVIRONMENT is set, else ``off``."""
    airflow_check_timeout_s: int = 600
    """MWAA_SP_AIRFLOW_CHECK_TIMEOUT: seconds to wait for Airflow to parse the deployed file (MWAA's sync, then
    Airflow's folder listing and parse intervals: a new file may wait for a 300 s listing)."""
    airflow_check_interval_s: int = 10
    """MWAA_SP_AIRFLOW_CHECK_INTERVAL: seconds between two questions to Airflow while waiting."""
    acl_airflow_role: str = "Viewer"
    """MWAA_SP_ACL_AIRFLOW_ROLE: Airflow role granted; may use {domain}, {data_product}, {major}, {component}."""
    acl_user_principal: str = "user:{user}"
    """MWAA_SP_ACL_USER_PRINCIPAL: IAM principal of a user ref; {user} is name@domain, {name} and {domain} too."""
    acl_group_principal: str = "group:{group}"
    """MWAA_SP_ACL_GROUP_PRINCIPAL: IAM principal of a group ref (role:AWSReservedSSO_{group} on Identity Center)."""
    acl_principal_mapper: str | None = None
    """MWAA_SP_ACL_PRINCIPAL_MAPPER: name of a ``mwaa_sp.principal_mappers`` entry point replacing the templates."""
    iam_inline_quota: tuple[tuple[str, int], ...] = ()
    """MWAA_SP_IAM_INLINE_QUOTA: characters of inline policy a principal may hold in all, by kind, e.g.
    ``user=2048,group=5120,role=10240`` (IAM's quotas, the default); set lower to leave room for other
    inline policies an organisation adds."""
    allowed_buckets: tuple[str, ...] | None = None
    """MWAA_SP_ALLOWED_BUCKETS: comma-separated bucket names or globs descriptors may name (unset: the MWAA
    environment's source bucket when MWAA_SP_MWAA_ENVIRONMENT is set, the sandbox's bucket, else every
    bucket). The state bucket is always refused."""
    compile_workers: int = 2
    """MWAA_SP_COMPILE_WORKERS: DAG compile checks at once, each in a warm child capped at 1 GiB and 20 s."""
    plan_retention: int = 20
    """MWAA_SP_PLAN_RETENTION: stored plans kept per workload (the last applied one and a plan the review
    gate may still need are kept besides)."""
    trusted_proxies: tuple[str, ...] = ()
    """MWAA_SP_TRUSTED_PROXIES: comma-separated addresses or networks of the reverse proxies whose
    X-Forwarded-For/-Proto/-Host are believed; from anyone else those headers are ignored."""
    header_timeout_s: int = 10
    """MWAA_SP_HEADER_TIMEOUT: seconds a connection may take to send a request's headers (idle included)."""
    body_timeout_s: int = 60
    """MWAA_SP_BODY_TIMEOUT: seconds a request may take to send its body."""
    log_level: str = "INFO"
    """MWAA_SP_LOG_LEVEL: DEBUG, INFO, WARNING, ERROR or CRITICAL."""
    migrate: bool = True
    """MWAA_SP_MIGRATE: ``serve`` brings the database to this release's schema at start; ``false`` (an init
    container runs ``mwaa-sp db upgrade``) makes it refuse a database that is not at it. No other command
    ever migrates."""
    lock_check_s: int = 1
    """MWAA_SP_LOCK_CHECK_INTERVAL: seconds between checks that a held workload lock's database connection
    is alive (PostgreSQL): how late a lost lock stops Terraform. It is also checked before every apply and
    every record."""
    ready_timeout_s: int = 5
    """MWAA_SP_READY_TIMEOUT: seconds /ready waits for the database and the S3 endpoint."""
    aws_credentials: tuple[str, str] | None = field(default=None, repr=False)
    """Not read from the environment: an AWS emulator's (access key id, secret access key), which the
    sandbox passes explicitly to boto3 and Terraform; unset, the usual credential chain applies."""

    @property
    def tokens(self) -> tuple[ApiToken, ...]:
        return api_tokens(self.api_tokens)

    @property
    def boto3_credentials(self) -> Boto3Credentials:
        return self.aws.boto3_credentials

    @property
    def aws(self) -> AwsAccess:
        return AwsAccess(
            self.aws_region,
            self.s3_endpoint,
            self.iam_endpoint,
            self.sts_endpoint,
            self.mwaa_endpoint,
            self.emulator,
            self.aws_credentials,
        )

    @property
    def states(self) -> StateStorage:
        return StateStorage(
            self.state_backend,
            self.state_bucket,
            self.state_prefix,
            self.aws_region,
            self.data_dir / "states",
            self.max_dag_bytes * 4,
        )

    @property
    def rendering(self) -> Rendering:
        return Rendering(
            self.templates_dir,
            self.module_dir,
            self.state_backend,
            self.emulator,
            self.aws_region,
            self.aws_max_retries,
            self.bucket_encryption,
        )

    @property
    def airflow_checking(self) -> AirflowChecking:
        return AirflowChecking(self.airflow_check, self.airflow_check_timeout_s, self.airflow_check_interval_s)

    @property
    def airflow_access(self) -> AirflowAccess:
        return AirflowAccess(
            self.mwaa_environment,
            self.aws_region,
            self.acl_airflow_role,
            self.acl_user_principal,
            self.acl_group_principal,
            self.acl_principal_mapper,
            self.iam_inline_quota,
        )

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'mwaa-sp.db'}"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``MWAA_SP_*`` plus the standard ``AWS_*``/``TF_*`` variables; reject bad values early."""
        env = os.environ if env is None else env
        backend = env.get("MWAA_SP_STATE_BACKEND", "local").strip().lower()
        if backend not in ("local", "s3"):
            raise ConfigurationError(f"MWAA_SP_STATE_BACKEND must be 'local' or 's3', got {backend!r}")
        state_bucket = env.get("MWAA_SP_STATE_BUCKET") or None
        if backend == "s3" and not state_bucket:
            raise ConfigurationError("MWAA_SP_STATE_BACKEND=s3 needs MWAA_SP_STATE_BUCKET")
        prefix = env.get("MWAA_SP_STATE_PREFIX", "mwaa-sp").strip("/")
        if not prefix or ".." in prefix.split("/"):
            raise ConfigurationError("MWAA_SP_STATE_PREFIX must be a non-empty relative key prefix")
        encryption = env.get("MWAA_SP_BUCKET_ENCRYPTION", "auto").strip().lower()
        if encryption not in ("auto", "sse-s3", "kms"):
            raise ConfigurationError(f"MWAA_SP_BUCKET_ENCRYPTION must be 'auto', 'sse-s3' or 'kms', got {encryption!r}")
        defaults = cls()
        tf_cli = env.get("TF_CLI_CONFIG_FILE")
        return cls(
            host=env.get("MWAA_SP_HOST", defaults.host),
            port=integer(env, "MWAA_SP_PORT", defaults.port),
            data_dir=Path(env.get("MWAA_SP_DATA_DIR", "data")).resolve(),
            state_backend=backend,  # type: ignore[arg-type]
            state_bucket=state_bucket,
            state_prefix=prefix,
            database_url=secret(env, "MWAA_SP_DATABASE_URL") or None,
            async_mode=boolean(env, "MWAA_SP_ASYNC", False),
            sandbox=boolean(env, "MWAA_SP_SANDBOX", False),
            max_parallel=integer(env, "MWAA_SP_MAX_PARALLEL", defaults.max_parallel),
            max_body_bytes=integer(env, "MWAA_SP_MAX_BODY_BYTES", defaults.max_body_bytes),
            max_dag_bytes=integer(env, "MWAA_SP_MAX_DAG_BYTES", defaults.max_dag_bytes),
            aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or defaults.aws_region,
            s3_endpoint=env.get("AWS_ENDPOINT_URL_S3") or None,
            emulator=boolean(env, "MWAA_SP_EMULATOR", False),
            bucket_encryption=encryption,  # type: ignore[arg-type]
            aws_max_retries=integer(env, "MWAA_SP_AWS_MAX_RETRIES", 0, minimum=0)
            if env.get("MWAA_SP_AWS_MAX_RETRIES")
            else None,
            templates_dir=Path(env.get("MWAA_SP_TEMPLATES_DIR", str(defaults.templates_dir))),
            module_dir=Path(env.get("MWAA_SP_MODULE_DIR", str(defaults.module_dir))),
            tf_cli_config_file=Path(tf_cli) if tf_cli else None,
            iam_endpoint=env.get("AWS_ENDPOINT_URL_IAM") or None,
            sts_endpoint=env.get("AWS_ENDPOINT_URL_STS") or None,
            mwaa_endpoint=env.get("AWS_ENDPOINT_URL_MWAA") or None,
            mwaa_environment=env.get("MWAA_SP_MWAA_ENVIRONMENT") or None,
            airflow_check=airflow_check(env),
            airflow_check_timeout_s=integer(env, "MWAA_SP_AIRFLOW_CHECK_TIMEOUT", defaults.airflow_check_timeout_s),
            airflow_check_interval_s=integer(env, "MWAA_SP_AIRFLOW_CHECK_INTERVAL", defaults.airflow_check_interval_s),
            acl_airflow_role=env.get("MWAA_SP_ACL_AIRFLOW_ROLE") or defaults.acl_airflow_role,
            acl_user_principal=env.get("MWAA_SP_ACL_USER_PRINCIPAL") or defaults.acl_user_principal,
            acl_group_principal=env.get("MWAA_SP_ACL_GROUP_PRINCIPAL") or defaults.acl_group_principal,
            acl_principal_mapper=env.get("MWAA_SP_ACL_PRINCIPAL_MAPPER") or None,
            require_reviewed_plan=boolean(env, "MWAA_SP_REQUIRE_REVIEWED_PLAN", False),
            drift_ignore=tuple(p.strip() for p in env.get("MWAA_SP_DRIFT_IGNORE", "").split(",") if p.strip()),
            drift_interval_s=integer(env, "MWAA_SP_DRIFT_INTERVAL", 0, minimum=0),
            terraform_timeout_s=integer(env, "MWAA_SP_TERRAFORM_TIMEOUT", defaults.terraform_timeout_s),
            shutdown_grace_s=integer(env, "MWAA_SP_SHUTDOWN_GRACE", defaults.shutdown_grace_s, minimum=0),
            lock_timeout_s=integer(env, "MWAA_SP_LOCK_TIMEOUT", defaults.lock_timeout_s, minimum=0),
            task_retention_days=integer(env, "MWAA_SP_TASK_RETENTION_DAYS", defaults.task_retention_days),
            api_tokens=tokens(env),
            task_lease_s=integer(env, "MWAA_SP_TASK_LEASE", defaults.task_lease_s, minimum=2),
            allowed_buckets=listed(env, "MWAA_SP_ALLOWED_BUCKETS"),
            iam_inline_quota=quotas(env, "MWAA_SP_IAM_INLINE_QUOTA"),
            compile_workers=integer(env, "MWAA_SP_COMPILE_WORKERS", defaults.compile_workers),
            plan_retention=integer(env, "MWAA_SP_PLAN_RETENTION", defaults.plan_retention),
            trusted_proxies=networks(env, "MWAA_SP_TRUSTED_PROXIES"),
            header_timeout_s=integer(env, "MWAA_SP_HEADER_TIMEOUT", defaults.header_timeout_s),
            body_timeout_s=integer(env, "MWAA_SP_BODY_TIMEOUT", defaults.body_timeout_s),
            ready_timeout_s=integer(env, "MWAA_SP_READY_TIMEOUT", defaults.ready_timeout_s),
            lock_check_s=integer(env, "MWAA_SP_LOCK_CHECK_INTERVAL", defaults.lock_check_s),
            migrate=boolean(env, "MWAA_SP_MIGRATE", True),
            log_level=log_level(env),
        )
