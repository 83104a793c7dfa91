"""The stand-in ``hashicorp/aws`` provider: configuration, ``aws_s3_object`` and the gRPC servicer.

The real ``aws_s3_object`` is a Terraform Plugin SDKv2 resource. SDKv2 uses the "legacy type system":
plans are computed as flatmap diffs (``""``, ``false``, ``{}`` and null are the same thing), planned
values of non-computed attributes may differ from the configuration, and the applied state may
differ from the plan (Terraform only logs that). The behaviour users see — which attributes are
``(known after apply)``, the stale ``etag`` in update plans, ``force_destroy = false`` on create,
"No changes" for an unchanged configuration — follows from those rules plus the resource's
CustomizeDiff, so this module reproduces them rather than the framework's simpler planning.

Behaviour notes come from ``shared/terraform/aws_s3_object_notes.md``; comments say which rule a
piece of code reproduces.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import sys
import threading
import traceback
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from tf.gen import tfplugin_pb2 as pb
from tf.iface import (
    CreateContext,
    DeleteContext,
    ImportContext,
    PlanContext,
    Provider,
    ReadContext,
    Resource,
    UpdateContext,
    UpgradeContext,
)
from tf.provider import ProviderServicer
from tf.schema import Attribute, Schema
from tf.types import Bool, Map, Unknown
from tf.utils import Diagnostics, read_dynamic_value, to_dynamic_value

from service.standin.schema import (
    RESOURCE_ATTRIBUTES,
    provider_meta_schema,
    provider_schema,
    s3_object_schema,
)

__all__ = [
    "PROVIDER_ADDRESS",
    "AwsStandinProvider",
    "ProviderSettings",
    "S3Object",
    "StandinPlanContext",
    "StandinServicer",
    "clean_key",
    "parse_import_id",
]

PROVIDER_ADDRESS = "registry.terraform.io/hashicorp/aws"
RESOURCE_TYPE = "aws_s3_object"

State = dict[str, Any]

# The AWS SDK v2 upload manager's default part size; larger bodies go multipart (etag "<md5>-<n>").
PART_SIZE = 5 * 1024 * 1024
DEFAULT_MAX_RETRIES = 25
MAX_OBJECT_TAGS = 10

# Attributes whose change makes Update upload the object again (hasObjectContentChanges).
UPLOAD_TRIGGERS = (
    "bucket_key_enabled",
    "cache_control",
    "checksum_algorithm",
    "content_base64",
    "content_disposition",
    "content_encoding",
    "content_language",
    "content_type",
    "content",
    "etag",
    "kms_key_id",
    "metadata",
    "server_side_encryption",
    "source",
    "source_hash",
    "storage_class",
    "website_redirect",
)
FORCE_NEW = ("bucket", "key")  # plus "region", handled by its own CustomizeDiff rule

_ATTRS: dict[str, Attribute] = {a.name: a for a in RESOURCE_ATTRIBUTES}
_BLOCK_NAMES = ("override_provider",)
_ALL_KEYS = (*_ATTRS, *_BLOCK_NAMES)

ACL_VALUES = (
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
)
CHECKSUM_ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
CHECKSUM_ATTRS = {
    "checksum_crc32": "ChecksumCRC32",
    "checksum_crc32c": "ChecksumCRC32C",
    "checksum_crc64nvme": "ChecksumCRC64NVME",
    "checksum_sha1": "ChecksumSHA1",
    "checksum_sha256": "ChecksumSHA256",
}
LEGAL_HOLD_VALUES = ("ON", "OFF")
LOCK_MODE_VALUES = ("GOVERNANCE", "COMPLIANCE")
SSE_VALUES = ("AES256", "aws:fsx", "aws:kms", "aws:kms:dsse")
STORAGE_CLASSES = (
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "OUTPOSTS",
    "GLACIER_IR",
    "SNOW",
    "EXPRESS_ONEZONE",
    "FSX_OPENZFS",
)
_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


# --------------------------------------------------------------------------------------------------
# Small pure helpers (unit-tested directly)
# --------------------------------------------------------------------------------------------------


def clean_key(key: str) -> str:
    """The key S3 API calls use: drop one leading "./", all leading "/", collapse runs of "/".

    The state keeps the key as configured; only API calls use the cleaned form (SDK v1 compatible).
    """
    if key.startswith("./"):
        key = key[2:]
    return re.sub(r"/+", "/", key.lstrip("/"))


def parse_import_id(import_id: str) -> tuple[str, str]:
    """``bucket/key`` or ``s3://bucket/key`` → (bucket, key); split at the first "/"."""
    rest = import_id.removeprefix("s3://")
    bucket, sep, key = rest.partition("/")
    if not sep or not bucket or not key:
        raise ValueError(f"id {import_id} should be in format <bucket>/<key> or s3://<bucket>/<key>")
    return bucket, key


def partition_of(region: str) -> str:
    for prefix, partition in (
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
        ("us-isof-", "aws-iso-f"),
    ):
        if region.startswith(prefix):
            return partition
    return "aws"


def object_arn(region: str, bucket: str, key: str) -> str:
    """``arn:<partition>:s3:::<bucket>/<cleaned key>``; an access-point ARN bucket gets "/<key>"."""
    if bucket.startswith("arn:"):
        return f"{bucket}/{clean_key(key)}"
    return f"arn:{partition_of(region)}:s3:::{bucket}/{clean_key(key)}"


def contains_unknown(value: Any) -> bool:
    if value is Unknown:
        return True
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(contains_unknown(v) for v in value)
    return False


def unknown_as_null(value: Any) -> Any:
    """SDKv2 turns whatever is still unknown after apply into null (cty.UnknownAsNull)."""
    if value is Unknown:
        return None
    if isinstance(value, dict):
        return {k: unknown_as_null(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unknown_as_null(v) for v in value]
    return value


def _flat(attr: Attribute, value: Any) -> Any:
    """A value as SDKv2's flatmap sees it: null equals the type's zero value."""
    if isinstance(attr.type, Map):
        return dict(value or {})
    if isinstance(attr.type, Bool):
        return bool(value)
    return "" if value is None else value


def sdk_equal(attr: Attribute, a: Any, b: Any) -> bool:
    """Equality under the legacy SDK's rules ("" == null, false == null, {} == null)."""
    if contains_unknown(a) or contains_unknown(b):
        return False
    return bool(_flat(attr, a) == _flat(attr, b))


def _override_flat(value: Any) -> list[Any]:
    """``override_provider`` normalised the way the SDK compares nested lists."""
    out = []
    for item in value or []:
        dts = [{"tags": dict((dt or {}).get("tags") or {})} for dt in (item or {}).get("default_tags") or []]
        out.append({"default_tags": dts})
    return out


def _given(state: Mapping[str, Any], name: str) -> Any:
    """SDKv2 ``d.GetOk``: the value if it is set and not the zero value, else None."""
    value = state.get(name)
    if value is Unknown or value in (None, "", False) or value == {}:
        return None
    return value


def _has_zero_value(tags: Mapping[str, Any]) -> bool:
    return any(v is None or v == "" for v in tags.values())


def _go_quote_list(values: Iterable[str]) -> str:
    return "[" + " ".join(f'"{v}"' for v in values) + "]"


def _parse_go_bool(value: str) -> bool | None:
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    return None


def _parse_rfc3339(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))


def _format_rfc3339(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")


def _duration_seconds(value: str) -> int:
    """Go duration strings as used by assume_role ("1h", "15m", "1h30m")."""
    if not value or _DURATION_RE.sub("", value):
        raise ValueError(f"invalid duration {value!r}")
    scale = {"h": 3600, "m": 60, "s": 1}
    return int(sum(float(n) * scale[u] for n, u in _DURATION_RE.findall(value)))


# --------------------------------------------------------------------------------------------------
# Provider configuration
# --------------------------------------------------------------------------------------------------


def _known(config: Mapping[str, Any], name: str) -> Any:
    value = config.get(name)
    return None if value is Unknown else value


def _first_block(config: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    value = config.get(name)
    if not value or value is Unknown:
        return None
    first = value[0]
    return first if isinstance(first, dict) else None


@dataclass
class ProviderSettings:
    """The resolved ``provider "aws"`` configuration (what ConfigureProvider computed)."""

    region: str
    s3_endpoint: str | None = None
    s3_use_path_style: bool = False
    default_tags: dict[str, str] = field(default_factory=dict)
    ignore_tag_keys: frozenset[str] = frozenset()
    ignore_tag_prefixes: tuple[str, ...] = ()
    access_key: str | None = None
    secret_key: str | None = None
    token: str | None = None
    profile: str | None = None
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_mode: str | None = None
    verify: bool | str | None = None
    proxies: dict[str, str] = field(default_factory=dict)
    user_agent: list[str] = field(default_factory=list)
    use_dualstack_endpoint: bool = False
    use_fips_endpoint: bool = False
    assume_role: list[dict[str, Any]] = field(default_factory=list)
    assume_role_with_web_identity: dict[str, Any] | None = None
    sts_region: str | None = None
    sts_endpoint: str | None = None
    skip_credentials_validation: bool = False
    skip_requesting_account_id: bool = False
    allowed_account_ids: list[str] = field(default_factory=list)
    forbidden_account_ids: list[str] = field(default_factory=list)
    process_env: dict[str, str] = field(default_factory=dict)

    def ignored(self, key: str) -> bool:
        return key in self.ignore_tag_keys or any(key.startswith(p) for p in self.ignore_tag_prefixes)


def validate_provider_config(diags: Diagnostics, config: Mapping[str, Any]) -> None:
    """Plan-time checks of the provider block (ValidateProviderConfig)."""
    if _known(config, "allowed_account_ids") and _known(config, "forbidden_account_ids"):
        for a, b in (
            ("allowed_account_ids", "forbidden_account_ids"),
            ("forbidden_account_ids", "allowed_account_ids"),
        ):
            diags.add_error("Conflicting configuration arguments", f'"{a}": conflicts with {b}', path=[a])
    enums = {
        "retry_mode": ("standard", "adaptive"),
        "ec2_metadata_service_endpoint_mode": ("IPv4", "IPv6"),
        "s3_us_east_1_regional_endpoint": ("legacy", "regional"),
        "tag_policy_compliance": ("error", "warning", "disabled"),
    }
    for name, allowed in enums.items():
        value = _known(config, name)
        if value is not None and value not in allowed:
            diags.add_error(
                f"expected {name} to be one of {_go_quote_list(allowed)}, got {value}",
                path=[name],
            )
    skip_imds = _known(config, "skip_metadata_api_check")
    if skip_imds not in (None, "") and _parse_go_bool(skip_imds) is None:
        diags.add_error(
            "Invalid value",
            f'skip_metadata_api_check: expected a boolean string ("true" or "false"), got "{skip_imds}"',
            path=["skip_metadata_api_check"],
        )
    max_retries = _known(config, "max_retries")
    if max_retries is not None and (max_retries < 0 or int(max_retries) != max_retries):
        diags.add_error(f"expected max_retries to be a non-negative integer, got {max_retries}", path=["max_retries"])


def resolve_provider_settings(
    diags: Diagnostics, config: Mapping[str, Any], environ: Mapping[str, str]
) -> ProviderSettings | None:
    """ConfigureProvider's resolution of region, endpoint, credentials and tag settings.

    Pure apart from the shared-config region lookup, which imports botocore only when neither the
    configuration nor the environment names a region.
    """
    profile = _known(config, "profile")
    region = _known(config, "region") or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if not region:
        region = _region_from_shared_config(profile, _known(config, "shared_config_files"))
    if not region:
        diags.add_error(
            "Missing AWS region",
            "The provider needs a region: set `region` in the provider block, or AWS_REGION / "
            "AWS_DEFAULT_REGION, or a region in the shared config profile.",
            path=["region"],
        )
        return None
    if not _known(config, "skip_region_validation") and not _REGION_RE.match(region):
        diags.add_error(f"invalid AWS Region: {region}", path=["region"])
        return None

    endpoints = _first_block(config, "endpoints") or {}
    s3_endpoint = _known(endpoints, "s3") or None
    s3api = _known(endpoints, "s3api") or None
    if s3_endpoint and s3api:
        diags.add_warning(
            "Multiple endpoints for s3",
            'The endpoints "s3" and "s3api" are aliases of one service; using "s3".',
            path=["endpoints"],
        )
    s3_endpoint = s3_endpoint or s3api
    if not s3_endpoint:
        # AWS_ENDPOINT_URL_S3 wins over the two deprecated variables; boto3 would read it itself too.
        for var in ("AWS_ENDPOINT_URL_S3", "TF_AWS_S3_ENDPOINT", "AWS_S3_ENDPOINT"):
            if environ.get(var):
                s3_endpoint = environ[var]
                break

    if _known(config, "s3_us_east_1_regional_endpoint") == "legacy":
        diags.add_warning(
            "Deprecated value",
            's3_us_east_1_regional_endpoint = "legacy": support for the global S3 endpoint is deprecated.',
            path=["s3_us_east_1_regional_endpoint"],
        )

    # default_tags: TF_AWS_DEFAULT_TAGS_<name> environment variables, overridden by the block.
    default_tags = {
        var.removeprefix("TF_AWS_DEFAULT_TAGS_"): value
        for var, value in environ.items()
        if var.startswith("TF_AWS_DEFAULT_TAGS_") and len(var) > len("TF_AWS_DEFAULT_TAGS_")
    }
    default_tags.update((_first_block(config, "default_tags") or {}).get("tags") or {})
    ignore = _first_block(config, "ignore_tags") or {}

    verify: bool | str | None = None
    if _known(config, "insecure"):
        verify = False
    elif _known(config, "custom_ca_bundle"):
        verify = os.path.expanduser(_known(config, "custom_ca_bundle"))

    proxies = {
        scheme: value
        for scheme, name in (("http", "http_proxy"), ("https", "https_proxy"))
        if (value := _known(config, name))
    }

    process_env: dict[str, str] = {}
    skip_imds = _known(config, "skip_metadata_api_check")
    if skip_imds and _parse_go_bool(skip_imds):
        process_env["AWS_EC2_METADATA_DISABLED"] = "true"
    if _known(config, "ec2_metadata_service_endpoint"):
        process_env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = _known(config, "ec2_metadata_service_endpoint")
    if _known(config, "ec2_metadata_service_endpoint_mode"):
        process_env["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"] = _known(config, "ec2_metadata_service_endpoint_mode")
    if _known(config, "no_proxy"):
        process_env["NO_PROXY"] = _known(config, "no_proxy")
    # botocore reads one shared config / credentials file each: the first listed one is used.
    if _known(config, "shared_config_files"):
        process_env["AWS_CONFIG_FILE"] = os.path.expanduser(_known(config, "shared_config_files")[0])
    if _known(config, "shared_credentials_files"):
        process_env["AWS_SHARED_CREDENTIALS_FILE"] = os.path.expanduser(_known(config, "shared_credentials_files")[0])

    max_retries = _known(config, "max_retries")
    return ProviderSettings(
        region=region,
        s3_endpoint=s3_endpoint,
        s3_use_path_style=bool(_known(config, "s3_use_path_style")),
        default_tags=default_tags,
        ignore_tag_keys=frozenset(ignore.get("keys") or ()),
        ignore_tag_prefixes=tuple(ignore.get("key_prefixes") or ()),
        access_key=_known(config, "access_key") or None,
        secret_key=_known(config, "secret_key") or None,
        token=_known(config, "token") or None,
        profile=profile or None,
        max_retries=DEFAULT_MAX_RETRIES if max_retries is None else int(max_retries),
        retry_mode=_known(config, "retry_mode") or None,
        verify=verify,
        proxies=proxies,
        user_agent=list(_known(config, "user_agent") or []),
        use_dualstack_endpoint=bool(_known(config, "use_dualstack_endpoint")),
        use_fips_endpoint=bool(_known(config, "use_fips_endpoint")),
        assume_role=[r for r in (_known(config, "assume_role") or []) if r],
        assume_role_with_web_identity=_first_block(config, "assume_role_with_web_identity"),
        sts_region=_known(config, "sts_region") or None,
        sts_endpoint=_known(endpoints, "sts") or environ.get("AWS_ENDPOINT_URL_STS") or None,
        skip_credentials_validation=bool(_known(config, "skip_credentials_validation")),
        skip_requesting_account_id=bool(_known(config, "skip_requesting_account_id")),
        allowed_account_ids=list(_known(config, "allowed_account_ids") or []),
        forbidden_account_ids=list(_known(config, "forbidden_account_ids") or []),
        process_env=process_env,
    )


def _region_from_shared_config(profile: str | None, config_files: list[str] | None) -> str | None:
    try:
        import botocore.session  # lazy: only needed when no region is configured anywhere

        session = botocore.session.Session(profile=profile)
        if config_files:
            session.set_config_variable("config_file", os.path.expanduser(config_files[0]))
        region = session.get_config_variable("region")
        return str(region) if region else None
    except Exception:
        return None


class StandinError(Exception):
    """An error with the summary/detail of the diagnostic the real provider would report."""

    def __init__(self, summary: str, detail: str = "", path: list[Any] | None = None) -> None:
        super().__init__(summary)
        self.summary = summary
        self.detail = detail
        self.path = path


class AwsStandinProvider(Provider):  # type: ignore[misc, unused-ignore]  # tf is untyped
    """``registry.terraform.io/hashicorp/aws`` with the one resource the service uses."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.settings: ProviderSettings | None = None
        self._lock = threading.Lock()
        self._session: Any = None
        self._clients: dict[str, Any] = {}

    # -- tf.iface.Provider ------------------------------------------------------------------------
    def get_model_prefix(self) -> str:
        return "aws_"

    def full_name(self) -> str:
        return PROVIDER_ADDRESS

    def get_provider_schema(self, diags: Diagnostics) -> Schema:
        return provider_schema()

    def get_data_sources(self) -> list[Any]:
        return []

    def get_resources(self) -> list[Any]:
        return [S3Object]

    def validate_config(self, diags: Diagnostics, config: dict[str, Any]) -> None:
        validate_provider_config(diags, config or {})

    def configure_provider(self, diags: Diagnostics, config: dict[str, Any]) -> None:
        settings = resolve_provider_settings(diags, config or {}, self.environ)
        if settings is None:
            return
        # These variables are read by botocore inside this provider process only.
        os.environ.update(settings.process_env)
        self.settings = settings
        if not settings.skip_credentials_validation or not settings.skip_requesting_account_id:
            self._validate_credentials(diags)

    # -- clients -----------------------------------------------------------------------------------
    @property
    def region(self) -> str | None:
        return self.settings.region if self.settings else None

    def _require_settings(self) -> ProviderSettings:
        if self.settings is None:
            raise StandinError("Provider not configured", "ConfigureProvider did not succeed.")
        return self.settings

    def _botocore_config(self, region: str) -> Any:
        from botocore.config import Config

        s = self._require_settings()
        retries: Any = {"max_attempts": s.max_retries, "mode": s.retry_mode or "standard"}
        return Config(
            region_name=region,
            retries=retries,
            s3={"addressing_style": "path" if s.s3_use_path_style else "auto"},
            proxies=s.proxies or None,
            user_agent_extra=" ".join(s.user_agent) or None,
            use_dualstack_endpoint=s.use_dualstack_endpoint or None,
            use_fips_endpoint=s.use_fips_endpoint or None,
        )

    def _base_session(self) -> Any:
        """The boto3 session with the configured credentials (and assumed roles), built once."""
        if self._session is not None:
            return self._session
        import boto3  # lazy: boto3 costs ~0.5 s to import and only resource operations need it

        s = self._require_settings()
        session = boto3.session.Session(
            aws_access_key_id=s.access_key,
            aws_secret_access_key=s.secret_key,
            aws_session_token=s.token,
            profile_name=s.profile,
            region_name=s.region,
        )
        if s.assume_role_with_web_identity:
            session = self._assume_web_identity(session, s.assume_role_with_web_identity)
        for role in s.assume_role:
            if role.get("role_arn"):
                session = self._assume_role(session, role)
        self._session = session
        return session

    def _sts(self, session: Any) -> Any:
        s = self._require_settings()
        region = s.sts_region or s.region
        return session.client(
            "sts",
            region_name=region,
            endpoint_url=s.sts_endpoint,
            config=self._botocore_config(region),
            verify=s.verify,
        )

    def _assume_role(self, session: Any, role: Mapping[str, Any]) -> Any:
        import boto3

        kwargs: dict[str, Any] = {
            "RoleArn": role["role_arn"],
            "RoleSessionName": role.get("session_name") or "terraform-provider-aws",
        }
        if role.get("duration"):
            kwargs["DurationSeconds"] = _duration_seconds(role["duration"])
        if role.get("external_id"):
            kwargs["ExternalId"] = role["external_id"]
        if role.get("policy"):
            kwargs["Policy"] = role["policy"]
        if role.get("policy_arns"):
            kwargs["PolicyArns"] = [{"arn": a} for a in role["policy_arns"]]
        if role.get("source_identity"):
            kwargs["SourceIdentity"] = role["source_identity"]
        if role.get("tags"):
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in role["tags"].items()]
        if role.get("transitive_tag_keys"):
            kwargs["TransitiveTagKeys"] = list(role["transitive_tag_keys"])
        creds = self._sts(session).assume_role(**kwargs)["Credentials"]
        return boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=session.region_name,
        )

    def _assume_web_identity(self, session: Any, role: Mapping[str, Any]) -> Any:
        import boto3

        token = role.get("web_identity_token")
        if not token and role.get("web_identity_token_file"):
            with open(os.path.expanduser(role["web_identity_token_file"]), encoding="utf-8") as fh:
                token = fh.read().strip()
        kwargs: dict[str, Any] = {
            "RoleArn": role.get("role_arn") or "",
            "RoleSessionName": role.get("session_name") or "terraform-provider-aws",
            "WebIdentityToken": token or "",
        }
        if role.get("duration"):
            kwargs["DurationSeconds"] = _duration_seconds(role["duration"])
        if role.get("policy"):
            kwargs["Policy"] = role["policy"]
        if role.get("policy_arns"):
            kwargs["PolicyArns"] = [{"arn": a} for a in role["policy_arns"]]
        creds = self._sts(session).assume_role_with_web_identity(**kwargs)["Credentials"]
        return boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=session.region_name,
        )

    def _validate_credentials(self, diags: Diagnostics) -> None:
        """STS GetCallerIdentity, as the real provider does unless both skip_* flags are set."""
        s = self._require_settings()
        try:
            with self._lock:
                session = self._base_session()
            identity = self._sts(session).get_caller_identity()
        except Exception as exc:
            diags.add_error("Invalid provider configuration", f"retrieving caller identity from STS: {exc}")
            return
        account = str(identity.get("Account", ""))
        if s.allowed_account_ids and account not in s.allowed_account_ids:
            diags.add_error(f"AWS account ID not allowed: {account}", path=["allowed_account_ids"])
        if account in s.forbidden_account_ids:
            diags.add_error(f"AWS account ID not allowed: {account}", path=["forbidden_account_ids"])

    def s3(self, region: str | None = None) -> Any:
        """The S3 client for ``region`` (default: the provider region); one per region and process."""
        s = self._require_settings()
        region = region or s.region
        with self._lock:
            client = self._clients.get(region)
            if client is None:
                client = self._base_session().client(
                    "s3",
                    region_name=region,
                    endpoint_url=s.s3_endpoint,
                    verify=s.verify,
                    config=self._botocore_config(region),
                )
                self._clients[region] = client
            return client

    # -- tags ----------------------------------------------------------------------------------------
    def default_tags_for(self, override_provider: Any) -> dict[str, str]:
        """Provider default tags, unless the resource's ``override_provider { default_tags {} }`` is set."""
        for item in override_provider or []:
            if item and item.get("default_tags"):
                return {}
        return dict(self.settings.default_tags) if self.settings else {}

    def without_ignored(self, tags: Mapping[str, str]) -> dict[str, str]:
        s = self.settings
        return {k: v for k, v in tags.items() if not (s and s.ignored(k))}


# --------------------------------------------------------------------------------------------------
# aws_s3_object
# --------------------------------------------------------------------------------------------------


@dataclass
class StandinPlanContext(PlanContext):  # type: ignore[misc, unused-ignore]
    """PlanContext plus what SDKv2's planning needs and the framework does not pass on."""

    config: dict[str, Any] = field(default_factory=dict)
    requires_replace: list[list[str]] = field(default_factory=list)


def _complete(state: Mapping[str, Any]) -> State:
    """Every attribute and block of the schema present (Terraform decodes whole objects)."""
    out: State = {k: state.get(k) for k in _ATTRS}
    out["override_provider"] = list(state.get("override_provider") or [])
    return out


def _client_error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", "")) or None
    return None


def _is_not_found(exc: BaseException) -> bool:
    return _client_error_code(exc) in _NOT_FOUND_CODES


class S3Object(Resource):  # type: ignore[misc, unused-ignore]
    """``aws_s3_object``: one S3 object managed with the real provider's semantics."""

    def __init__(self, provider: AwsStandinProvider) -> None:
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return "s3_object"

    @classmethod
    def get_schema(cls) -> Schema:
        return s3_object_schema()

    # -- validation --------------------------------------------------------------------------------
    def validate(self, diags: Diagnostics, type_name: str, config: dict[str, Any]) -> None:
        super().validate(diags, type_name, config)

        def val(name: str) -> Any:
            return _known(config, name)

        def conflict(name: str, others: Iterable[str]) -> None:
            # Like SDKv2's ConflictsWith: an unknown value may still become null, so it is skipped.
            if val(name) is None:
                return
            for other in others:
                if val(other) is not None:
                    diags.add_error(
                        "Conflicting configuration arguments", f'"{name}": conflicts with {other}', path=[name]
                    )

        conflict("content", ("source", "content_base64"))
        conflict("content_base64", ("source", "content"))
        conflict("source", ("content", "content_base64"))
        conflict("etag", ("kms_key_id",))
        conflict("kms_key_id", ("etag",))

        for name in ("bucket", "key"):
            if val(name) == "":
                diags.add_error(f"{name} must not be empty, got ", path=[name])

        enums: dict[str, tuple[str, ...]] = {
            "acl": ACL_VALUES,
            "checksum_algorithm": CHECKSUM_ALGORITHMS,
            "object_lock_legal_hold_status": LEGAL_HOLD_VALUES,
            "object_lock_mode": LOCK_MODE_VALUES,
            "server_side_encryption": SSE_VALUES,
            "storage_class": STORAGE_CLASSES,
        }
        for name, allowed in enums.items():
            value = val(name)
            if value is not None and value not in allowed:
                diags.add_error(
                    f"expected {name} to be one of {_go_quote_list(allowed)}, got {value}",
                    path=[name],
                )

        kms = val("kms_key_id")
        if kms and not (kms.startswith("arn:") and len(kms.split(":", 5)) == 6):
            diags.add_error(f'"kms_key_id" ({kms}) is an invalid ARN', path=["kms_key_id"])

        date = val("object_lock_retain_until_date")
        if date:
            try:
                _parse_rfc3339(date)
            except ValueError as exc:
                diags.add_error(
                    f'expected "object_lock_retain_until_date" to be a valid RFC3339 date, got "{date}": {exc}',
                    path=["object_lock_retain_until_date"],
                )

        metadata = val("metadata")
        if isinstance(metadata, dict):
            for k in metadata:
                if k != k.lower():
                    diags.add_error(f'Metadata must be lowercase only. Offending key: "{k}"', path=["metadata"])

        tags = val("tags")
        if isinstance(tags, dict) and len(tags) > MAX_OBJECT_TAGS:
            diags.add_error(
                "Too many tags",
                f"Object tags cannot be greater than {MAX_OBJECT_TAGS} (S3 limit); got {len(tags)}.",
                path=["tags"],
            )

        override = config.get("override_provider")
        if isinstance(override, list):
            for i, item in enumerate(override):
                for j, dt in enumerate((item or {}).get("default_tags") or []):
                    dt_tags = (dt or {}).get("tags")
                    if isinstance(dt_tags, dict) and dt_tags:
                        diags.add_error(
                            f"expected the number of items in tags to be between 0 and 0, got {len(dt_tags)}",
                            path=["override_provider", (i,), "default_tags", (j,), "tags"],
                        )

    # -- plan (SDKv2 diff + resourceObjectCustomizeDiff + tags/region interceptors) ----------------
    def plan(self, ctx: PlanContext, current: State | None, planned: State) -> State | None:
        config: dict[str, Any] = ctx.config if isinstance(ctx, StandinPlanContext) else planned
        if current is None:
            return self._plan_create(config)

        prior = _complete(current)
        out = dict(prior)
        changed: set[str] = set()
        for name, attr in _ATTRS.items():
            if attr.computed and not attr.optional:
                continue  # computed-only: kept unless CustomizeDiff below says otherwise
            value = config.get(name)
            if value is None:
                if attr.computed:
                    continue  # Optional+Computed removed from config: the SDK keeps the old value
                value = False if name == "force_destroy" else None  # Default: false
            if not sdk_equal(attr, prior.get(name), value):
                out[name] = value
                changed.add(name)
        if _override_flat(prior["override_provider"]) != _override_flat(config.get("override_provider")):
            out["override_provider"] = list(config.get("override_provider") or [])
            changed.add("override_provider")

        # 6.x region interceptor: unset means the provider region; a different region replaces.
        region_changed = False
        wanted_region = config.get("region") or self.provider.region
        if wanted_region is None:
            pass  # no provider region known: nothing to compare with, keep the prior value
        elif prior.get("region") in (None, ""):
            out["region"] = wanted_region  # a state from before 6.0 gets the region, in place
        elif wanted_region is Unknown or wanted_region != prior["region"]:
            region_changed = True

        replace = [[name] for name in FORCE_NEW if name in changed]
        if region_changed:
            replace.append(["region"])
        if replace:
            # SDKv2 re-diffs a replacement against an empty state: the plan is a create plan.
            if isinstance(ctx, StandinPlanContext):
                ctx.requires_replace.extend(replace)
            return self._plan_create(config)

        if changed & set(UPLOAD_TRIGGERS):
            out["version_id"] = Unknown
        if "source_hash" in changed:
            out["etag"] = Unknown
            out["version_id"] = Unknown
        out["tags_all"] = self._plan_tags_all(config, prior, tags_changed="tags" in changed)
        return out

    def _plan_create(self, config: Mapping[str, Any]) -> State:
        out: State = {}
        for name, attr in _ATTRS.items():
            value = config.get(name)
            if attr.computed and not attr.optional:
                out[name] = Unknown
            elif value is not None:
                out[name] = value
            elif attr.computed:
                out[name] = Unknown  # SetUnknowns: Optional+Computed without config
            else:
                out[name] = False if name == "force_destroy" else None
        out["override_provider"] = list(config.get("override_provider") or [])
        out["region"] = config.get("region") or self.provider.region or Unknown
        out["tags_all"] = self._plan_tags_all(config, None, tags_changed=bool(config.get("tags")))
        return out

    def _merged_tags(self, tags: Mapping[str, str] | None, override_provider: Any) -> dict[str, str]:
        merged = self.provider.default_tags_for(override_provider)
        merged.update(tags or {})
        return self.provider.without_ignored(merged)

    def _plan_tags_all(self, config: Mapping[str, Any], prior: State | None, tags_changed: bool) -> Any:
        """``tags_all`` as verify.SetTagsDiff plans it (known merged map, else unknown or kept)."""
        tags = config.get("tags")
        if contains_unknown(tags):
            return Unknown
        all_tags = self._merged_tags(tags, config.get("override_provider"))
        kept = prior.get("tags_all") if prior is not None else None
        if tags_changed:
            result = kept
            if _has_zero_value(tags or {}):
                result = Unknown
            if all_tags and (not _has_zero_value(tags or {}) or not _has_zero_value(all_tags)):
                result = all_tags
            if not all_tags:
                result = Unknown
        elif all_tags and not _has_zero_value(all_tags):
            result = all_tags
        elif all_tags and kept != all_tags:
            result = Unknown
        else:
            result = kept
        if result is None and prior is None:
            return Unknown  # computed and null on create: (known after apply)
        if isinstance(result, dict) and prior is not None and result == prior.get("tags_all"):
            return prior.get("tags_all")
        return result

    # -- apply ---------------------------------------------------------------------------------------
    def create(self, ctx: CreateContext, planned: State) -> State | None:
        state = _complete(planned)
        try:
            self._upload(state)
            state["id"] = f"{state['bucket']}/{state['key']}"  # the key exactly as configured
            remote = self._read_remote(state)
        except StandinError as exc:
            ctx.diagnostics.add_error(exc.summary, exc.detail, path=exc.path)
            return None
        except Exception as exc:
            ctx.diagnostics.add_error(f"uploading S3 Object ({state['key']}) to Bucket ({state['bucket']}): {exc}")
            return None
        if remote is None:
            ctx.diagnostics.add_error(f"reading S3 Object ({state['id']}): empty result after create")
            return None
        return self._after_apply(state, remote)

    def update(self, ctx: UpdateContext, current: State, planned: State) -> State | None:
        prior = _complete(current)
        state = _complete(planned)
        bucket, key = state["bucket"], clean_key(state["key"])
        try:
            if any(not sdk_equal(_ATTRS[n], prior.get(n), state.get(n)) for n in UPLOAD_TRIGGERS):
                self._upload(state)
            else:
                client = self._client(state)
                if not sdk_equal(_ATTRS["acl"], prior.get("acl"), state.get("acl")) and _given(state, "acl"):
                    client.put_object_acl(Bucket=bucket, Key=key, ACL=state["acl"])
                if not sdk_equal(
                    _ATTRS["object_lock_legal_hold_status"],
                    prior.get("object_lock_legal_hold_status"),
                    state.get("object_lock_legal_hold_status"),
                ):
                    status = _given(state, "object_lock_legal_hold_status") or "OFF"
                    client.put_object_legal_hold(Bucket=bucket, Key=key, LegalHold={"Status": status})
                self._update_retention(client, prior, state)
                old_tags = prior.get("tags_all") or {}
                new_tags = self._resolved_tags_all(state)
                if old_tags != new_tags:
                    self._update_tags(client, bucket, key, old_tags, new_tags)
            remote = self._read_remote(state)
        except StandinError as exc:
            ctx.diagnostics.add_error(exc.summary, exc.detail, path=exc.path)
            return current
        except Exception as exc:
            ctx.diagnostics.add_error(f"updating S3 Object ({state['id']}): {exc}")
            return current
        if remote is None:
            ctx.diagnostics.add_error(f"reading S3 Object ({state['id']}): object not found after update")
            return current
        return self._after_apply(state, remote)

    def delete(self, ctx: DeleteContext, current: State) -> None:
        state = _complete(current)
        bucket, key = state["bucket"], clean_key(state["key"])
        try:
            client = self._client(state)
            if _given(state, "version_id"):
                self._delete_all_versions(client, bucket, key, bool(state.get("force_destroy")))
            else:
                try:
                    client.delete_object(Bucket=bucket, Key=key)
                except Exception as exc:
                    if not _is_not_found(exc):
                        raise
        except Exception as exc:
            ctx.diagnostics.add_error(f"deleting S3 Bucket ({bucket}) Object ({key}): {exc}")

    def read(self, ctx: ReadContext, current: State) -> State | None:
        state = _complete(current)
        try:
            remote = self._read_remote(state)
        except Exception as exc:
            ctx.diagnostics.add_error(f"reading S3 Object ({state.get('id')}): {exc}")
            return current
        if remote is None:
            # The object (or its bucket) is gone: drop it from state; the next plan creates it.
            print(f"[WARN] S3 Object ({state.get('id')}) not found, removing from state", file=sys.stderr)
            return None
        out = dict(state)
        for name, value in remote.items():
            # Keep the prior representation when the SDK would see no difference ("" vs null,
            # {} vs null), so a refresh of an untouched object is byte-for-byte a no-op.
            out[name] = state[name] if sdk_equal(_ATTRS[name], state[name], value) else value
        return out

    def import_(self, ctx: ImportContext, id: str) -> State | None:  # noqa: A002 - framework signature
        try:
            bucket, key = parse_import_id(id)
        except ValueError as exc:
            ctx.diagnostics.add_error("Invalid import ID", str(exc))
            return None
        # The id a create would have given it ("<bucket>/<key>"), whichever form was imported.
        state = _complete({"id": f"{bucket}/{key}", "bucket": bucket, "key": key, "force_destroy": False})
        state["region"] = self.provider.region
        return state

    def upgrade(self, ctx: UpgradeContext, version: int, old: State) -> State | None:
        """Schema version 0 is current; normalise to the schema (drop unknown keys, add missing)."""
        state = _complete(old or {})
        if state["force_destroy"] is None:
            state["force_destroy"] = False
        return state

    # -- S3 operations ----------------------------------------------------------------------------------
    def _client(self, state: Mapping[str, Any]) -> Any:
        region = state.get("region")
        return self.provider.s3(region if isinstance(region, str) and region else None)

    def _resolved_tags_all(self, state: Mapping[str, Any]) -> dict[str, str]:
        """The tags an apply writes: planned tags_all, or the merge when it was unknown."""
        tags_all = state.get("tags_all")
        if isinstance(tags_all, dict) and not contains_unknown(tags_all):
            return dict(tags_all)
        return self._merged_tags(state.get("tags"), state.get("override_provider"))

    def _body(self, state: Mapping[str, Any]) -> bytes:
        if source := _given(state, "source"):
            path = os.path.expanduser(source)
            try:
                with open(path, "rb") as fh:
                    return fh.read()
            except OSError as exc:
                raise StandinError(f"opening S3 object source ({path}): {exc}", path=["source"]) from exc
        if content := _given(state, "content"):
            return str(content).encode("utf-8")
        if content_b64 := _given(state, "content_base64"):
            try:
                return base64.b64decode(content_b64, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise StandinError(f"decoding content_base64: {exc}", path=["content_base64"]) from exc
        return b""

    def _put_args(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """PutObject parameters from the planned state, with d.GetOk semantics (zero = unset)."""
        args: dict[str, Any] = {}
        simple = {
            "acl": "ACL",
            "cache_control": "CacheControl",
            "checksum_algorithm": "ChecksumAlgorithm",
            "content_disposition": "ContentDisposition",
            "content_encoding": "ContentEncoding",
            "content_language": "ContentLanguage",
            "content_type": "ContentType",
            "object_lock_legal_hold_status": "ObjectLockLegalHoldStatus",
            "object_lock_mode": "ObjectLockMode",
            "storage_class": "StorageClass",
            "website_redirect": "WebsiteRedirectLocation",
        }
        for name, param in simple.items():
            if (value := _given(state, name)) is not None:
                args[param] = value
        if _given(state, "bucket_key_enabled"):
            args["BucketKeyEnabled"] = True
        if kms := _given(state, "kms_key_id"):
            args["SSEKMSKeyId"] = kms
            args["ServerSideEncryption"] = "aws:kms"
        if sse := _given(state, "server_side_encryption"):
            args["ServerSideEncryption"] = sse
        if metadata := _given(state, "metadata"):
            args["Metadata"] = dict(metadata)
        if date := _given(state, "object_lock_retain_until_date"):
            args["ObjectLockRetainUntilDate"] = _parse_rfc3339(date)
        tags = {k: v for k, v in self._resolved_tags_all(state).items() if not k.startswith("aws:")}
        if len(tags) > MAX_OBJECT_TAGS:
            raise StandinError(
                f"uploading S3 Object ({state['key']}): InvalidTag: Object tags cannot be greater than "
                f"{MAX_OBJECT_TAGS} (got {len(tags)} after merging provider default_tags)",
                path=["tags_all"],
            )
        if tags:
            args["Tagging"] = urllib.parse.urlencode(sorted(tags.items()))
        lock = ("ObjectLockLegalHoldStatus", "ObjectLockMode", "ObjectLockRetainUntilDate")
        if any(p in args for p in lock) and "ChecksumAlgorithm" not in args:
            args["ChecksumAlgorithm"] = "CRC32"  # S3 requires a checksum with Object Lock parameters
        if "ContentType" not in args:
            # The Go SDK sends this default for a blob payload without ContentType; S3 stores it.
            args["ContentType"] = "application/octet-stream"
        return args

    def _upload(self, state: Mapping[str, Any]) -> None:
        body = self._body(state)
        args = self._put_args(state)
        client = self._client(state)
        bucket, key = state["bucket"], clean_key(state["key"])
        if len(body) <= PART_SIZE:
            client.put_object(Bucket=bucket, Key=key, Body=body, **args)
            return
        # Like the SDK's upload manager: 5 MiB parts, so the ETag is "<md5 of part md5s>-<parts>".
        upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, **args)["UploadId"]
        part_args = {"ChecksumAlgorithm": args["ChecksumAlgorithm"]} if "ChecksumAlgorithm" in args else {}
        try:
            parts = []
            for number, offset in enumerate(range(0, len(body), PART_SIZE), start=1):
                part = client.upload_part(
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=body[offset : offset + PART_SIZE],
                    **part_args,
                )
                entry = {"ETag": part["ETag"], "PartNumber": number}
                entry.update({k: v for k, v in part.items() if k.startswith("Checksum") and k != "ChecksumType"})
                parts.append(entry)
            client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except Exception:
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            raise

    def _update_retention(self, client: Any, prior: State, state: State) -> None:
        mode_attr, date_attr = _ATTRS["object_lock_mode"], _ATTRS["object_lock_retain_until_date"]
        if sdk_equal(mode_attr, prior.get("object_lock_mode"), state.get("object_lock_mode")) and sdk_equal(
            date_attr, prior.get("object_lock_retain_until_date"), state.get("object_lock_retain_until_date")
        ):
            return
        bucket, key = state["bucket"], clean_key(state["key"])
        old_date = _given(prior, "object_lock_retain_until_date")
        new_date = _given(state, "object_lock_retain_until_date")
        retention: dict[str, Any] = {}
        if mode := _given(state, "object_lock_mode"):
            retention["Mode"] = mode
        if new_date:
            retention["RetainUntilDate"] = _parse_rfc3339(new_date)
        # Clearing the date or moving it earlier needs the governance bypass.
        bypass = bool(old_date) and (not new_date or _parse_rfc3339(new_date) < _parse_rfc3339(old_date))
        extra = {"BypassGovernanceRetention": True} if bypass else {}
        client.put_object_retention(Bucket=bucket, Key=key, Retention=retention, **extra)

    def _remote_tags(self, client: Any, bucket: str, key: str) -> dict[str, str]:
        tag_set = client.get_object_tagging(Bucket=bucket, Key=key).get("TagSet", [])
        return {t["Key"]: t["Value"] for t in tag_set}

    def _update_tags(self, client: Any, bucket: str, key: str, old: Mapping[str, str], new: Mapping[str, str]) -> None:
        """ObjectUpdateTags: write ``new`` plus tags nobody manages (ignored/system), or delete all."""
        remote = self._remote_tags(client, bucket, key)
        unmanaged = {k: v for k, v in remote.items() if k not in old and k not in new}
        if new or unmanaged:
            if len({**new, **unmanaged}) > MAX_OBJECT_TAGS:
                raise StandinError(
                    f"updating tags of S3 Object ({bucket}/{key}): InvalidTag: Object tags cannot be "
                    f"greater than {MAX_OBJECT_TAGS}",
                    path=["tags_all"],
                )
            tag_set = [{"Key": k, "Value": v} for k, v in {**unmanaged, **new}.items()]
            client.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": tag_set})
        elif old:
            client.delete_object_tagging(Bucket=bucket, Key=key)

    def _delete_all_versions(self, client: Any, bucket: str, key: str, force: bool) -> None:
        """Delete every version and delete marker of exactly ``key`` (state had a version_id)."""
        paginator = client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=bucket, Prefix=key):
            for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                if entry.get("Key") != key:
                    continue
                version = entry["VersionId"]
                try:
                    client.delete_object(Bucket=bucket, Key=key, VersionId=version)
                except Exception as exc:
                    if _is_not_found(exc):
                        continue
                    if not force:
                        raise
                    # force_destroy: lift a legal hold and bypass governance retention, then retry.
                    try:
                        client.put_object_legal_hold(
                            Bucket=bucket, Key=key, VersionId=version, LegalHold={"Status": "OFF"}
                        )
                    except Exception as hold_exc:
                        print(f"[WARN] lifting legal hold on {key}@{version}: {hold_exc}", file=sys.stderr)
                    client.delete_object(Bucket=bucket, Key=key, VersionId=version, BypassGovernanceRetention=True)

    def _read_remote(self, state: Mapping[str, Any]) -> State | None:
        """What Read sets (resourceObjectRead + tagging interceptor), or None when the object is gone."""
        client = self._client(state)
        bucket, key = state["bucket"], clean_key(state["key"])
        head_args: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if _given(state, "checksum_algorithm"):
            head_args["ChecksumMode"] = "ENABLED"
        try:
            head = client.head_object(**head_args)
            remote_tags = self._remote_tags(client, bucket, key)
        except Exception as exc:
            if _is_not_found(exc):
                return None
            raise
        region = state.get("region") if isinstance(state.get("region"), str) else None
        out: State = {
            "arn": object_arn(region or self.provider.region or "", bucket, state["key"]),
            "bucket_key_enabled": bool(head.get("BucketKeyEnabled", False)),
            "cache_control": head.get("CacheControl", ""),
            "content_disposition": head.get("ContentDisposition", ""),
            "content_encoding": head.get("ContentEncoding", ""),
            "content_language": head.get("ContentLanguage", ""),
            "content_type": head.get("ContentType", ""),
            "etag": str(head.get("ETag", "")).strip('"'),
            "metadata": dict(head.get("Metadata") or {}),
            "object_lock_legal_hold_status": head.get("ObjectLockLegalHoldStatus", ""),
            "object_lock_mode": head.get("ObjectLockMode", ""),
            "object_lock_retain_until_date": _format_rfc3339(head.get("ObjectLockRetainUntilDate")),
            "server_side_encryption": head.get("ServerSideEncryption", ""),
            "storage_class": head.get("StorageClass") or "STANDARD",
            "version_id": head.get("VersionId", ""),
            "website_redirect": head.get("WebsiteRedirectLocation", ""),
        }
        for attr, header in CHECKSUM_ATTRS.items():
            out[attr] = head.get(header, "")
        if head.get("SSEKMSKeyId"):
            out["kms_key_id"] = head["SSEKMSKeyId"]

        # Tagging interceptor: tags_all = remote tags without system/ignored ones; tags = those
        # minus provider default tags (same key and value), unless the prior state has the key.
        tags_all = self.provider.without_ignored({k: v for k, v in remote_tags.items() if not k.startswith("aws:")})
        defaults = self.provider.default_tags_for(state.get("override_provider"))
        prior_value = state.get("tags")
        prior_tags: dict[str, Any] = prior_value if isinstance(prior_value, dict) else {}
        out["tags_all"] = tags_all
        out["tags"] = {
            k: v for k, v in tags_all.items() if not (k in defaults and defaults[k] == v and k not in prior_tags)
        }
        return out

    def _after_apply(self, planned: State, remote: State) -> State:
        """The state SDKv2 returns after Create/Update: planned values overlaid with what Read set."""
        state = dict(planned)
        state.update(remote)
        # normalizeNullValues(apply=true): null vs empty collections follow the plan.
        for name, attr in _ATTRS.items():
            if isinstance(attr.type, Map) and planned.get(name) is not Unknown:
                before, after = planned.get(name), state.get(name)
                if (before is None and after == {}) or (before == {} and after is None):
                    state[name] = before
        return _complete(unknown_as_null(state))


# --------------------------------------------------------------------------------------------------
# gRPC servicer
# --------------------------------------------------------------------------------------------------


# msgpack's encoding of nil: a null object (the resource is gone / to be destroyed).
_NULL_OBJECT = b"\xc0"


def encode_value(value: Any) -> pb.DynamicValue:
    """A DynamicValue for Terraform (msgpack; unknown values as cty's unknown extension)."""
    if value is None:
        return pb.DynamicValue(msgpack=_NULL_OBJECT)
    return to_dynamic_value(value)


_T = TypeVar("_T")


def _guarded(response_cls: Callable[..., _T]) -> Callable[[Callable[..., _T]], Callable[..., _T]]:
    """Turn an unexpected exception into an error diagnostic instead of a bare gRPC failure."""

    def decorator(method: Callable[..., _T]) -> Callable[..., _T]:
        def wrapper(self: Any, request: Any, context: Any) -> _T:
            try:
                return method(self, request, context)
            except Exception as exc:
                traceback.print_exc()
                diags = Diagnostics().add_error(
                    "Stand-in provider internal error",
                    f"{type(exc).__name__}: {exc} (in {method.__name__})",
                )
                return response_cls(diagnostics=diags.to_pb())

        wrapper.__name__ = method.__name__
        wrapper.__doc__ = method.__doc__
        return wrapper

    return decorator


class StandinServicer(ProviderServicer):  # type: ignore[misc, unused-ignore]
    """tf's ProviderServicer with the resource lifecycle done the way SDKv2 providers do it.

    Fixes over tf 1.2.0: the create plan goes through the resource's plan() (the framework plans
    creates itself and never asks the resource); PlanResourceChange gets the configuration and
    returns requires_replace from the resource; Plan/Apply responses set ``legacy_type_system`` like
    every SDKv2 resource (Terraform then tolerates the stale-etag plan and force_destroy's default);
    destroy plans (plan_destroy capability) are answered; provider_meta has the real schema; states
    are always complete objects.
    """

    def __init__(self, app: AwsStandinProvider) -> None:
        super().__init__(app)
        self._schema_response: pb.GetProviderSchema.Response | None = None

    def _resource(self, type_name: str) -> S3Object:
        klass = self._get_res_cls(type_name)
        inst = self.app.new_resource(klass)
        if not isinstance(inst, S3Object):
            raise TypeError(f"unexpected resource class for {type_name}: {type(inst).__name__}")
        return inst

    def GetMetadata(self, request: pb.GetMetadata.Request, context: Any) -> Any:
        return pb.GetMetadata.Response(
            server_capabilities=pb.ServerCapabilities(plan_destroy=True, get_provider_schema_optional=True),
            resources=[pb.GetMetadata.ResourceMetadata(type_name=RESOURCE_TYPE)],
        )

    def GetProviderSchema(self, request: pb.GetProviderSchema.Request, context: Any) -> Any:
        if self._schema_response is None:
            self._schema_response = pb.GetProviderSchema.Response(
                provider=provider_schema().to_pb(),
                provider_meta=provider_meta_schema(),
                resource_schemas={RESOURCE_TYPE: s3_object_schema().to_pb()},
                data_source_schemas={},
                server_capabilities=pb.ServerCapabilities(plan_destroy=True, get_provider_schema_optional=True),
            )
        return self._schema_response

    # The framework's versions of these three re-raise exceptions as bare gRPC errors.
    @_guarded(pb.ValidateProviderConfig.Response)
    def ValidateProviderConfig(self, request: pb.ValidateProviderConfig.Request, context: Any) -> Any:
        return super().ValidateProviderConfig(request, context)

    @_guarded(pb.ConfigureProvider.Response)
    def ConfigureProvider(self, request: pb.ConfigureProvider.Request, context: Any) -> Any:
        return super().ConfigureProvider(request, context)

    @_guarded(pb.ValidateResourceConfig.Response)
    def ValidateResourceConfig(self, request: pb.ValidateResourceConfig.Request, context: Any) -> Any:
        return super().ValidateResourceConfig(request, context)

    @_guarded(pb.UpgradeResourceState.Response)
    def UpgradeResourceState(self, request: pb.UpgradeResourceState.Request, context: Any) -> Any:
        diags = Diagnostics()
        if not request.raw_state.json:
            diags.add_error(
                "UpgradeResourceState from a flatmap state is not supported",
                "The state was written by Terraform < 0.12; re-import the object.",
            )
            return pb.UpgradeResourceState.Response(diagnostics=diags.to_pb())
        import json

        old = json.loads(request.raw_state.json)
        inst = self._resource(request.type_name)
        state = inst.upgrade(UpgradeContext(diags, request.type_name), request.version, old)
        return pb.UpgradeResourceState.Response(upgraded_state=encode_value(state), diagnostics=diags.to_pb())

    @_guarded(pb.ReadResource.Response)
    def ReadResource(self, request: pb.ReadResource.Request, context: Any) -> Any:
        diags = Diagnostics()
        current = read_dynamic_value(request.current_state)
        if current is None:
            return pb.ReadResource.Response(new_state=encode_value(None), diagnostics=diags.to_pb())
        new_state = self._resource(request.type_name).read(ReadContext(diags, request.type_name), current)
        return pb.ReadResource.Response(
            new_state=encode_value(None if new_state is None else _complete(new_state)),
            diagnostics=diags.to_pb(),
            private=request.private,
        )

    @_guarded(pb.PlanResourceChange.Response)
    def PlanResourceChange(self, request: pb.PlanResourceChange.Request, context: Any) -> Any:
        diags = Diagnostics()
        prior = read_dynamic_value(request.prior_state)
        proposed = read_dynamic_value(request.proposed_new_state)
        config = read_dynamic_value(request.config) or {}
        if proposed is None:
            # Destroy plan: nothing to decide (the SDK returns the proposed null as is).
            return pb.PlanResourceChange.Response(
                planned_state=encode_value(None),
                planned_private=request.prior_private,
                legacy_type_system=True,
            )
        ctx = StandinPlanContext(diags, request.type_name, changed_fields=set(), config=config)
        planned = self._resource(request.type_name).plan(ctx, prior, proposed)
        if planned is None or diags.has_errors():
            return pb.PlanResourceChange.Response(diagnostics=diags.to_pb(), legacy_type_system=True)
        if prior is not None and not ctx.requires_replace and _complete(planned) == _complete(prior):
            # No diff: SDKv2 answers with the prior state itself, so Terraform sees "No changes".
            planned_state = request.prior_state
        else:
            planned_state = encode_value(_complete(planned))
        return pb.PlanResourceChange.Response(
            planned_state=planned_state,
            requires_replace=[
                pb.AttributePath(steps=[pb.AttributePath.Step(attribute_name=p[0])]) for p in ctx.requires_replace
            ],
            planned_private=request.prior_private,
            diagnostics=diags.to_pb(),
            legacy_type_system=True,
        )

    @_guarded(pb.ApplyResourceChange.Response)
    def ApplyResourceChange(self, request: pb.ApplyResourceChange.Request, context: Any) -> Any:
        diags = Diagnostics()
        type_name = request.type_name
        prior = read_dynamic_value(request.prior_state)
        planned = read_dynamic_value(request.planned_state)
        inst = self._resource(type_name)
        new_state: State | None
        if planned is None:
            if prior is not None:
                inst.delete(DeleteContext(diags, type_name), prior)
            new_state = None if not diags.has_errors() else prior
        elif prior is None:
            new_state = inst.create(CreateContext(diags, type_name), planned)
        else:
            new_state = inst.update(UpdateContext(diags, type_name), prior, planned)
        return pb.ApplyResourceChange.Response(
            new_state=encode_value(None if new_state is None else _complete(unknown_as_null(new_state))),
            private=request.planned_private,
            diagnostics=diags.to_pb(),
            legacy_type_system=True,
        )

    @_guarded(pb.ImportResourceState.Response)
    def ImportResourceState(self, request: pb.ImportResourceState.Request, context: Any) -> Any:
        diags = Diagnostics()
        state = self._resource(request.type_name).import_(ImportContext(diags, request.type_name), request.id)
        imported = (
            [pb.ImportResourceState.ImportedResource(type_name=request.type_name, state=encode_value(state))]
            if state is not None and not diags.has_errors()
            else []
        )
        return pb.ImportResourceState.Response(imported_resources=imported, diagnostics=diags.to_pb())
