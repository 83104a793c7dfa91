"""Plan-time behaviour of ``aws_s3_object``: configuration validation and the planned state.

The real ``aws_s3_object`` is a Terraform Plugin SDKv2 resource. SDKv2 uses the "legacy type system":
plans are computed as flatmap diffs (``""``, ``false``, ``{}`` and null are the same thing), planned
values of non-computed attributes may differ from the configuration, and the applied state may
differ from the plan (Terraform only logs that). The behaviour users see — which attributes are
``(known after apply)``, the stale ``etag`` in update plans, ``force_destroy = false`` on create,
"No changes" for an unchanged configuration — follows from those rules plus the resource's
CustomizeDiff, so this module reproduces them rather than the framework's simpler planning.

Behaviour notes come from ``shared/terraform/aws_s3_object_notes.md``; comments say which rule a
piece of code reproduces.

Room: ``mwaa_sp_standin`` (distribution ``mwaa-sp-standin``, ``standin/``): sandbox and tests only, never production.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tf.iface import PlanContext
from tf.schema import Attribute
from tf.types import Unknown
from tf.utils import Diagnostics

from mwaa_sp_standin.schema import RESOURCE_ATTRIBUTES
from mwaa_sp_standin.values import (
    State,
    contains_unknown,
    go_quote_list,
    has_zero_value,
    known,
    override_flat,
    parse_rfc3339,
    sdk_equal,
)

if TYPE_CHECKING:
    from mwaa_sp_standin.aws_provider import AwsStandinProvider

__all__ = [
    "ATTRS",
    "FORCE_NEW",
    "MAX_OBJECT_TAGS",
    "UPLOAD_TRIGGERS",
    "StandinPlanContext",
    "complete_state",
    "merged_tags",
    "plan_change",
    "validate_config",
]

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

ATTRS: dict[str, Attribute] = {a.name: a for a in RESOURCE_ATTRIBUTES}

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


@dataclass
class StandinPlanContext(PlanContext):  # type: ignore[misc]  # tf is untyped
    """PlanContext plus what SDKv2's planning needs and the framework does not pass on."""

    config: dict[str, Any] = field(default_factory=dict)
    requires_replace: list[list[str]] = field(default_factory=list)


def complete_state(state: Mapping[str, Any]) -> State:
    """Every attribute and block of the schema present (Terraform decodes whole objects)."""
    out: State = {k: state.get(k) for k in ATTRS}
    out["override_provider"] = list(state.get("override_provider") or [])
    return out


# --------------------------------------------------------------------------------------------------
# Validation (ValidateResourceConfig, after the framework's own schema checks)
# --------------------------------------------------------------------------------------------------


def validate_config(diags: Diagnostics, config: Mapping[str, Any]) -> None:
    """The resource's own checks: ConflictsWith, enumerations, ARNs, dates, metadata and tag limits."""

    def val(name: str) -> Any:
        return known(config, name)

    def conflict(name: str, others: Iterable[str]) -> None:
        # Like SDKv2's ConflictsWith: an unknown value may still become null, so it is skipped.
        if val(name) is None:
            return
        for other in others:
            if val(other) is not None:
                diags.add_error("Conflicting configuration arguments", f'"{name}": conflicts with {other}', path=[name])

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
                f"expected {name} to be one of {go_quote_list(allowed)}, got {value}",
                path=[name],
            )

    kms = val("kms_key_id")
    if kms and not (kms.startswith("arn:") and len(kms.split(":", 5)) == 6):
        diags.add_error(f'"kms_key_id" ({kms}) is an invalid ARN', path=["kms_key_id"])

    date = val("object_lock_retain_until_date")
    if date:
        try:
            parse_rfc3339(date)
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


# --------------------------------------------------------------------------------------------------
# Plan (SDKv2 diff + resourceObjectCustomizeDiff + tags/region interceptors)
# --------------------------------------------------------------------------------------------------


def plan_change(provider: AwsStandinProvider, ctx: PlanContext, current: State | None, planned: State) -> State | None:
    """The planned state of :meth:`S3Object.plan <mwaa_sp_standin.s3_object.S3Object.plan>`."""
    config: dict[str, Any] = ctx.config if isinstance(ctx, StandinPlanContext) else planned
    if current is None:
        return _plan_create(provider, config)

    prior = complete_state(current)
    out = dict(prior)
    changed: set[str] = set()
    for name, attr in ATTRS.items():
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
    if override_flat(prior["override_provider"]) != override_flat(config.get("override_provider")):
        out["override_provider"] = list(config.get("override_provider") or [])
        changed.add("override_provider")

    # 6.x region interceptor: unset means the provider region; a different region replaces.
    region_changed = False
    wanted_region = config.get("region") or provider.region
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
        return _plan_create(provider, config)

    if changed & set(UPLOAD_TRIGGERS):
        out["version_id"] = Unknown
    if "source_hash" in changed:
        out["etag"] = Unknown
        out["version_id"] = Unknown
    out["tags_all"] = _plan_tags_all(provider, config, prior, tags_changed="tags" in changed)
    return out


def _plan_create(provider: AwsStandinProvider, config: Mapping[str, Any]) -> State:
    out: State = {}
    for name, attr in ATTRS.items():
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
    out["region"] = config.get("region") or provider.region or Unknown
    out["tags_all"] = _plan_tags_all(provider, config, None, tags_changed=bool(config.get("tags")))
    return out


def merged_tags(provider: AwsStandinProvider, tags: Mapping[str, str] | None, override_provider: Any) -> dict[str, str]:
    merged = provider.default_tags_for(override_provider)
    merged.update(tags or {})
    return provider.without_ignored(merged)


def _plan_tags_all(
    provider: AwsStandinProvider, config: Mapping[str, Any], prior: State | None, tags_changed: bool
) -> Any:
    """``tags_all`` as verify.SetTagsDiff plans it (known merged map, else unknown or kept)."""
    tags = config.get("tags")
    if contains_unknown(tags):
        return Unknown
    all_tags = merged_tags(provider, tags, config.get("override_provider"))
    kept = prior.get("tags_all") if prior is not None else None
    if tags_changed:
        result = kept
        if has_zero_value(tags or {}):
            result = Unknown
        if all_tags and (not has_zero_value(tags or {}) or not has_zero_value(all_tags)):
            result = all_tags
        if not all_tags:
            result = Unknown
    elif all_tags and not has_zero_value(all_tags):
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
