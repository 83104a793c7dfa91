"""Schemas of the stand-in: the ``hashicorp/aws`` provider configuration and ``aws_s3_object``.

Every name, type and required/optional/computed flag below mirrors the real 6.x provider, as recorded
in ``shared/terraform/aws_s3_object_schema.json`` (``tests/standin/test_schema_facts.py`` compares the
two). Descriptions are short paraphrases; Terraform does not use them.

Room: ``mwaa_sp_standin`` (distribution ``mwaa-sp-standin``, ``standin/``): sandbox and tests only, never production.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from tf.gen import tfplugin_pb2 as pb
from tf.schema import Attribute, Block, NestedBlock, NestMode, Schema
from tf.types import Bool, List, Map, Number, Set, String, TfType

__all__ = [
    "RESOURCE_ATTRIBUTES",
    "Nesting",
    "NestedListOrSetBlock",
    "provider_meta_schema",
    "provider_schema",
    "s3_object_schema",
]

_STR = String()
_BOOL = Bool()
_NUM = Number()
_STR_MAP = Map(String())
_STR_SET = Set(String())
_STR_LIST = List(String())


class Nesting(Enum):
    """Nesting modes the stand-in needs; the tf framework itself only offers SET and SINGLE."""

    LIST = "list"
    SET = "set"


class NestedListOrSetBlock(NestedBlock):  # type: ignore[misc]  # tf is untyped
    """A nested block in LIST or SET mode.

    SDKv2 (which the real ``aws_s3_object`` and provider configuration use) declares most blocks as
    ``TypeList`` with ``MaxItems: 1``. Terraform treats LIST and SET blocks differently (indexing,
    ``dynamic`` blocks, plan rendering), so the mode must be the real one for modules to be valid
    against both providers.
    """

    def __init__(
        self,
        type_name: str,
        block: Block,
        nesting: Nesting,
        min_items: int | None = None,
        max_items: int | None = None,
    ) -> None:
        # NestMode.Set is only a placeholder for the base class; to_pb() below uses self.nesting.
        super().__init__(type_name, NestMode.Set, block, min_items=min_items, max_items=max_items)
        self.nesting = nesting

    def to_pb(self) -> pb.Schema.NestedBlock:
        mode = {
            Nesting.LIST: pb.Schema.NestedBlock.NestingMode.LIST,
            Nesting.SET: pb.Schema.NestedBlock.NestingMode.SET,
        }[self.nesting]
        return pb.Schema.NestedBlock(
            type_name=self.type_name,
            block=self.block.to_pb(),
            nesting=mode,
            min_items=self.min_items or 0,
            max_items=self.max_items or 0,
        )

    # Both modes travel on the wire as a list of objects; the values are plain msgpack structures,
    # so encoding and decoding are the identity (nested blocks included).
    def encode(self, value: Any) -> Any:
        return value

    def decode(self, value: Any) -> Any:
        return value

    def semantically_equal(self, a_decoded: Any, b_decoded: Any) -> bool:
        a = a_decoded or []
        b = b_decoded or []
        if self.nesting is Nesting.LIST:
            return bool(a == b)
        return len(a) == len(b) and all(x in b for x in a) and all(y in a for y in b)


def _attr(
    name: str,
    typ: TfType,
    *,
    required: bool = False,
    optional: bool = False,
    computed: bool = False,
    force_new: bool = False,
    sensitive: bool = False,
    deprecated: bool = False,
    description: str | None = None,
) -> Attribute:
    return Attribute(
        name,
        typ,
        description=description,
        required=required,
        optional=optional,
        computed=computed,
        sensitive=sensitive,
        deprecated=deprecated or None,
        requires_replace=force_new or None,
    )


def _opt(name: str, typ: TfType = _STR, description: str | None = None, **kw: Any) -> Attribute:
    return _attr(name, typ, optional=True, description=description, **kw)


def _block(
    name: str, nesting: Nesting, attrs: list[Attribute], max_items: int | None = None, **kw: Any
) -> NestedListOrSetBlock:
    return NestedListOrSetBlock(
        name,
        Block(attributes=attrs, block_types=kw.get("blocks"), description=kw.get("description")),
        nesting,
        max_items=max_items,
    )


def provider_schema() -> Schema:
    """The ``provider "aws"`` configuration block (SDKv2 schema of the real 6.x provider)."""
    attrs = [
        _opt("access_key", description="Static access key id."),
        _opt("allowed_account_ids", _STR_SET, "Only allow these account ids."),
        _opt("custom_ca_bundle", description="PEM bundle file with custom CAs."),
        _opt("ec2_metadata_service_endpoint", description="IMDS endpoint override."),
        _opt("ec2_metadata_service_endpoint_mode", description="IMDS protocol: IPv4 or IPv6."),
        _opt("forbidden_account_ids", _STR_SET, "Refuse to run against these account ids."),
        _opt("http_proxy", description="HTTP proxy URL."),
        _opt("https_proxy", description="HTTPS proxy URL."),
        _opt("insecure", _BOOL, "Skip TLS verification."),
        _opt("max_retries", _NUM, "Maximum API retries (default 25)."),
        _opt("no_proxy", description="Hosts that bypass the proxies."),
        _opt("profile", description="Shared config profile."),
        _opt("region", description="Region of all resources (else AWS_REGION / AWS_DEFAULT_REGION)."),
        _opt("retry_mode", description="standard or adaptive."),
        _opt("s3_use_path_style", _BOOL, "Path-style S3 addressing (needed by most S3 emulators)."),
        _opt(
            "s3_us_east_1_regional_endpoint",
            description="legacy or regional (deprecated).",
            deprecated=True,
        ),
        _opt("secret_key", description="Static secret access key."),
        _opt("shared_config_files", _STR_LIST, "Shared config files."),
        _opt("shared_credentials_files", _STR_LIST, "Shared credentials files."),
        _opt("skip_credentials_validation", _BOOL, "Skip the STS GetCallerIdentity check."),
        _opt("skip_metadata_api_check", _STR, "Nullable bool as a string: 'true' disables IMDS."),
        _opt("skip_region_validation", _BOOL, "Skip static validation of the region name."),
        _opt("skip_requesting_account_id", _BOOL, "Do not look up the account id."),
        _opt("sts_region", description="Region of STS calls."),
        _opt("tag_policy_compliance", description="error, warning or disabled."),
        _opt("token", description="Session token."),
        _opt("token_bucket_rate_limiter_capacity", _NUM, "Client-side rate limiter capacity."),
        _opt("use_dualstack_endpoint", _BOOL, "Resolve dual-stack endpoints."),
        _opt("use_fips_endpoint", _BOOL, "Resolve FIPS endpoints."),
        _opt("user_agent", _STR_LIST, "Extra User-Agent product tokens."),
    ]
    blocks = [
        _block(
            "assume_role",
            Nesting.LIST,
            [
                _opt("duration"),
                _opt("external_id"),
                _opt("policy"),
                _opt("policy_arns", _STR_SET),
                _opt("role_arn"),
                _opt("session_name"),
                _opt("source_identity"),
                _opt("tags", _STR_MAP),
                _opt("transitive_tag_keys", _STR_SET),
            ],
        ),
        _block(
            "assume_role_with_web_identity",
            Nesting.LIST,
            [
                _opt("duration"),
                _opt("policy"),
                _opt("policy_arns", _STR_SET),
                _opt("role_arn"),
                _opt("session_name"),
                _opt("web_identity_token"),
                _opt("web_identity_token_file"),
            ],
            max_items=1,
        ),
        _block("default_tags", Nesting.LIST, [_opt("tags", _STR_MAP)], max_items=1),
        # The real block has one optional string per AWS service (hundreds); the stand-in declares
        # the ones the facts list: the S3 endpoint, its alias, and the STS/IAM ones used by auth.
        _block(
            "endpoints",
            Nesting.SET,
            [_opt("s3"), _opt("s3api"), _opt("s3control"), _opt("sts"), _opt("iam")],
        ),
        _block(
            "ignore_tags",
            Nesting.LIST,
            [_opt("keys", _STR_SET), _opt("key_prefixes", _STR_SET)],
            max_items=1,
        ),
    ]
    return Schema(version=0, attributes=attrs, block_types=blocks)


def provider_meta_schema() -> pb.Schema:
    """``provider_meta "aws" { user_agent = [...] }`` as the real provider declares it."""
    return Schema(version=0, attributes=[_opt("user_agent", _STR_LIST)]).to_pb()


# aws_s3_object. The order follows the facts file; flags are (required, optional, computed, force_new).
RESOURCE_ATTRIBUTES: list[Attribute] = [
    _attr("id", _STR, computed=True, description='"<bucket>/<key>" (the key as configured).'),
    _attr(
        "region",
        _STR,
        optional=True,
        computed=True,
        force_new=True,
        description="Defaults to the provider region.",
    ),
    _attr("bucket", _STR, required=True, force_new=True),
    _attr("key", _STR, required=True, force_new=True),
    _opt("acl", computed=True, description="Canned ACL; never read back."),
    _attr("arn", _STR, computed=True),
    _opt("bucket_key_enabled", _BOOL, computed=True),
    _opt("cache_control"),
    _opt("checksum_algorithm", description="CRC32, CRC32C, CRC64NVME, SHA1 or SHA256."),
    _attr("checksum_crc32", _STR, computed=True),
    _attr("checksum_crc32c", _STR, computed=True),
    _attr("checksum_crc64nvme", _STR, computed=True),
    _attr("checksum_sha1", _STR, computed=True),
    _attr("checksum_sha256", _STR, computed=True),
    _opt("content", description="UTF-8 body; not read back."),
    _opt("content_base64", description="Base64 body; not read back."),
    _opt("content_disposition"),
    _opt("content_encoding"),
    _opt("content_language"),
    _opt("content_type", computed=True),
    _opt("etag", computed=True, description="S3 ETag without quotes; a configured value is a trigger."),
    _opt("force_destroy", _BOOL, description="Default false."),
    _opt("kms_key_id", computed=True),
    _opt("metadata", _STR_MAP, description="User metadata; keys must be lowercase."),
    _opt("object_lock_legal_hold_status"),
    _opt("object_lock_mode"),
    _opt("object_lock_retain_until_date"),
    _opt("server_side_encryption", computed=True),
    _opt("source", description="Local file path; only the path is stored."),
    _opt("source_hash", description="Opaque re-upload trigger kept in state."),
    _opt("storage_class", computed=True),
    _opt("tags", _STR_MAP),
    _opt("tags_all", _STR_MAP, computed=True),
    _attr("version_id", _STR, computed=True),
    _opt("website_redirect"),
]


def _override_provider_block() -> NestedListOrSetBlock:
    default_tags = _block(
        "default_tags",
        Nesting.LIST,
        [_opt("tags", _STR_MAP, "Must be empty: only suppression of provider default_tags exists.")],
        max_items=1,
    )
    return _block("override_provider", Nesting.LIST, [], max_items=1, blocks=[default_tags])


def s3_object_schema() -> Schema:
    """Schema of ``aws_s3_object`` (schema version 0, like the real resource)."""
    return Schema(version=0, attributes=list(RESOURCE_ATTRIBUTES), block_types=[_override_provider_block()])
