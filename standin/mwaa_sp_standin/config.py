"""The ``provider "aws"`` configuration: plan-time validation and ConfigureProvider's resolution.

:func:`validate_provider_config` is ValidateProviderConfig; :func:`resolve_provider_settings` turns
the configuration (plus the environment) into the :class:`ProviderSettings` that
:class:`~mwaa_sp_standin.aws_provider.AwsStandinProvider` builds its S3 clients from.

Room: ``mwaa_sp_standin`` (distribution ``mwaa-sp-standin``, ``standin/``): sandbox and tests only, never production.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tf.types import Unknown
from tf.utils import Diagnostics

from mwaa_sp_standin.values import go_quote_list, known, parse_go_bool

__all__ = ["DEFAULT_MAX_RETRIES", "ProviderSettings", "resolve_provider_settings", "validate_provider_config"]

DEFAULT_MAX_RETRIES = 25
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


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
    iam_endpoint: str | None = None
    skip_credentials_validation: bool = False
    skip_requesting_account_id: bool = False
    allowed_account_ids: list[str] = field(default_factory=list)
    forbidden_account_ids: list[str] = field(default_factory=list)
    process_env: dict[str, str] = field(default_factory=dict)

    def ignored(self, key: str) -> bool:
        return key in self.ignore_tag_keys or any(key.startswith(p) for p in self.ignore_tag_prefixes)


def validate_provider_config(diags: Diagnostics, config: Mapping[str, Any]) -> None:
    """Plan-time checks of the provider block (ValidateProviderConfig)."""
    if known(config, "allowed_account_ids") and known(config, "forbidden_account_ids"):
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
        value = known(config, name)
        if value is not None and value not in allowed:
            diags.add_error(
                f"expected {name} to be one of {go_quote_list(allowed)}, got {value}",
                path=[name],
            )
    skip_imds = known(config, "skip_metadata_api_check")
    if skip_imds not in (None, "") and parse_go_bool(skip_imds) is None:
        diags.add_error(
            "Invalid value",
            f'skip_metadata_api_check: expected a boolean string ("true" or "false"), got "{skip_imds}"',
            path=["skip_metadata_api_check"],
        )
    max_retries = known(config, "max_retries")
    if max_retries is not None and (max_retries < 0 or int(max_retries) != max_retries):
        diags.add_error(f"expected max_retries to be a non-negative integer, got {max_retries}", path=["max_retries"])


def resolve_provider_settings(
    diags: Diagnostics, config: Mapping[str, Any], environ: Mapping[str, str]
) -> ProviderSettings | None:
    """ConfigureProvider's resolution of region, endpoint, credentials and tag settings.

    Pure apart from the shared-config region lookup, which imports botocore only when neither the
    configuration nor the environment names a region.
    """
    profile = known(config, "profile")
    region = known(config, "region") or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if not region:
        region = _region_from_shared_config(profile, known(config, "shared_config_files"))
    if not region:
        diags.add_error(
            "Missing AWS region",
            "The provider needs a region: set `region` in the provider block, or AWS_REGION / "
            "AWS_DEFAULT_REGION, or a region in the shared config profile.",
            path=["region"],
        )
        return None
    if not known(config, "skip_region_validation") and not _REGION_RE.match(region):
        diags.add_error(f"invalid AWS Region: {region}", path=["region"])
        return None

    endpoints = _first_block(config, "endpoints") or {}
    s3_endpoint = known(endpoints, "s3") or None
    s3api = known(endpoints, "s3api") or None
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

    if known(config, "s3_us_east_1_regional_endpoint") == "legacy":
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
    if known(config, "insecure"):
        verify = False
    elif known(config, "custom_ca_bundle"):
        verify = os.path.expanduser(known(config, "custom_ca_bundle"))

    proxies = {
        scheme: value
        for scheme, name in (("http", "http_proxy"), ("https", "https_proxy"))
        if (value := known(config, name))
    }

    process_env: dict[str, str] = {}
    skip_imds = known(config, "skip_metadata_api_check")
    if skip_imds and parse_go_bool(skip_imds):
        process_env["AWS_EC2_METADATA_DISABLED"] = "true"
    if known(config, "ec2_metadata_service_endpoint"):
        process_env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = known(config, "ec2_metadata_service_endpoint")
    if known(config, "ec2_metadata_service_endpoint_mode"):
        process_env["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"] = known(config, "ec2_metadata_service_endpoint_mode")
    if known(config, "no_proxy"):
        process_env["NO_PROXY"] = known(config, "no_proxy")
    # botocore reads one shared config / credentials file each: the first listed one is used.
    if known(config, "shared_config_files"):
        process_env["AWS_CONFIG_FILE"] = os.path.expanduser(known(config, "shared_config_files")[0])
    if known(config, "shared_credentials_files"):
        process_env["AWS_SHARED_CREDENTIALS_FILE"] = os.path.expanduser(known(config, "shared_credentials_files")[0])

    max_retries = known(config, "max_retries")
    return ProviderSettings(
        region=region,
        s3_endpoint=s3_endpoint,
        s3_use_path_style=bool(known(config, "s3_use_path_style")),
        default_tags=default_tags,
        ignore_tag_keys=frozenset(ignore.get("keys") or ()),
        ignore_tag_prefixes=tuple(ignore.get("key_prefixes") or ()),
        access_key=known(config, "access_key") or None,
        secret_key=known(config, "secret_key") or None,
        token=known(config, "token") or None,
        profile=profile or None,
        max_retries=DEFAULT_MAX_RETRIES if max_retries is None else int(max_retries),
        retry_mode=known(config, "retry_mode") or None,
        verify=verify,
        proxies=proxies,
        user_agent=list(known(config, "user_agent") or []),
        use_dualstack_endpoint=bool(known(config, "use_dualstack_endpoint")),
        use_fips_endpoint=bool(known(config, "use_fips_endpoint")),
        assume_role=[r for r in (known(config, "assume_role") or []) if r],
        assume_role_with_web_identity=_first_block(config, "assume_role_with_web_identity"),
        sts_region=known(config, "sts_region") or None,
        sts_endpoint=known(endpoints, "sts") or environ.get("AWS_ENDPOINT_URL_STS") or None,
        iam_endpoint=known(endpoints, "iam") or environ.get("AWS_ENDPOINT_URL_IAM") or None,
        skip_credentials_validation=bool(known(config, "skip_credentials_validation")),
        skip_requesting_account_id=bool(known(config, "skip_requesting_account_id")),
        allowed_account_ids=list(known(config, "allowed_account_ids") or []),
        forbidden_account_ids=list(known(config, "forbidden_account_ids") or []),
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
