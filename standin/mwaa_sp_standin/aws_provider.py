"""``AwsStandinProvider``: the tf ``Provider`` of the stand-in.

It configures itself from the ``provider "aws"`` block (see :mod:`mwaa_sp_standin.config`), builds
the boto3 sessions and S3 clients the resource uses (credentials, assumed roles, endpoints, retries),
and answers the provider-level tag questions (``default_tags``, ``ignore_tags``).

Room: ``mwaa_sp_standin`` (distribution ``mwaa-sp-standin``, ``standin/``): sandbox and tests only, never production.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from tf.iface import Provider
from tf.schema import Schema
from tf.utils import Diagnostics

from mwaa_sp_standin.config import ProviderSettings, resolve_provider_settings, validate_provider_config
from mwaa_sp_standin.s3_object import S3Object
from mwaa_sp_standin.schema import provider_schema
from mwaa_sp_standin.values import StandinError, duration_seconds

__all__ = ["PROVIDER_ADDRESS", "AwsStandinProvider"]

PROVIDER_ADDRESS = "registry.terraform.io/hashicorp/aws"


def _session_with(creds: Mapping[str, Any], region_name: str | None) -> Any:
    """A boto3 session with the temporary credentials an STS AssumeRole* call returned."""
    import boto3

    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=region_name,
    )


class AwsStandinProvider(Provider):  # type: ignore[misc]  # tf is untyped
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
        kwargs: dict[str, Any] = {
            "RoleArn": role["role_arn"],
            "RoleSessionName": role.get("session_name") or "terraform-provider-aws",
        }
        if role.get("duration"):
            kwargs["DurationSeconds"] = duration_seconds(role["duration"])
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
        return _session_with(creds, session.region_name)

    def _assume_web_identity(self, session: Any, role: Mapping[str, Any]) -> Any:
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
            kwargs["DurationSeconds"] = duration_seconds(role["duration"])
        if role.get("policy"):
            kwargs["Policy"] = role["policy"]
        if role.get("policy_arns"):
            kwargs["PolicyArns"] = [{"arn": a} for a in role["policy_arns"]]
        creds = self._sts(session).assume_role_with_web_identity(**kwargs)["Credentials"]
        return _session_with(creds, session.region_name)

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

    def iam(self) -> Any:
        """The IAM client (IAM is global: no region of its own, us-east-1 signing)."""
        s = self._require_settings()
        with self._lock:
            client = self._clients.get("iam")
            if client is None:
                client = self._base_session().client(
                    "iam",
                    region_name="us-east-1",
                    endpoint_url=s.iam_endpoint,
                    verify=s.verify,
                    config=self._botocore_config("us-east-1"),
                )
                self._clients["iam"] = client
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
