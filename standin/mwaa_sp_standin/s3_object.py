"""``aws_s3_object``: one S3 object managed with the real provider's semantics.

Validation and planning (the SDKv2 diff and CustomizeDiff) are in
:mod:`mwaa_sp_standin.s3_object_plan`; this module does the S3 calls of apply, read, import and
delete, and shapes the state the way SDKv2 returns it.

Behaviour notes come from ``shared/terraform/aws_s3_object_notes.md``; comments say which rule a
piece of code reproduces.

Room: ``mwaa_sp_standin`` (distribution ``mwaa-sp-standin``, ``standin/``): sandbox and tests only, never production.
"""

from __future__ import annotations

import sys
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tf.iface import (
    CreateContext,
    DeleteContext,
    ImportContext,
    PlanContext,
    ReadContext,
    Resource,
    UpdateContext,
    UpgradeContext,
)
from tf.schema import Schema
from tf.types import Map, Unknown
from tf.utils import Diagnostics

from mwaa_sp_standin.s3_calls import (
    delete_all_versions,
    is_not_found,
    object_tags,
    read_body,
    update_retention,
    update_tags,
    upload,
)
from mwaa_sp_standin.s3_object_plan import (
    ATTRS,
    MAX_OBJECT_TAGS,
    UPLOAD_TRIGGERS,
    complete_state,
    merged_tags,
    plan_change,
    validate_config,
)
from mwaa_sp_standin.schema import s3_object_schema
from mwaa_sp_standin.values import (
    StandinError,
    State,
    clean_key,
    contains_unknown,
    format_rfc3339,
    given,
    object_arn,
    parse_import_id,
    parse_rfc3339,
    sdk_equal,
    unknown_as_null,
)

if TYPE_CHECKING:
    from mwaa_sp_standin.aws_provider import AwsStandinProvider

__all__ = ["RESOURCE_TYPE", "S3Object"]

RESOURCE_TYPE = "aws_s3_object"

CHECKSUM_ATTRS = {
    "checksum_crc32": "ChecksumCRC32",
    "checksum_crc32c": "ChecksumCRC32C",
    "checksum_crc64nvme": "ChecksumCRC64NVME",
    "checksum_sha1": "ChecksumSHA1",
    "checksum_sha256": "ChecksumSHA256",
}


class S3Object(Resource):  # type: ignore[misc]  # tf is untyped
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
        validate_config(diags, config)

    # -- plan (SDKv2 diff + resourceObjectCustomizeDiff + tags/region interceptors) ----------------
    def plan(self, ctx: PlanContext, current: State | None, planned: State) -> State | None:
        return plan_change(self.provider, ctx, current, planned)

    # -- apply ---------------------------------------------------------------------------------------
    def create(self, ctx: CreateContext, planned: State) -> State | None:
        state = complete_state(planned)
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
        prior = complete_state(current)
        state = complete_state(planned)
        bucket, key = state["bucket"], clean_key(state["key"])
        try:
            if any(not sdk_equal(ATTRS[n], prior.get(n), state.get(n)) for n in UPLOAD_TRIGGERS):
                self._upload(state)
            else:
                client = self._client(state)
                if not sdk_equal(ATTRS["acl"], prior.get("acl"), state.get("acl")) and given(state, "acl"):
                    client.put_object_acl(Bucket=bucket, Key=key, ACL=state["acl"])
                if not sdk_equal(
                    ATTRS["object_lock_legal_hold_status"],
                    prior.get("object_lock_legal_hold_status"),
                    state.get("object_lock_legal_hold_status"),
                ):
                    status = given(state, "object_lock_legal_hold_status") or "OFF"
                    client.put_object_legal_hold(Bucket=bucket, Key=key, LegalHold={"Status": status})
                update_retention(client, prior, state)
                old_tags = prior.get("tags_all") or {}
                new_tags = self._resolved_tags_all(state)
                if old_tags != new_tags:
                    update_tags(client, bucket, key, old_tags, new_tags)
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
        state = complete_state(current)
        bucket, key = state["bucket"], clean_key(state["key"])
        try:
            client = self._client(state)
            if given(state, "version_id"):
                delete_all_versions(client, bucket, key, bool(state.get("force_destroy")))
            else:
                try:
                    client.delete_object(Bucket=bucket, Key=key)
                except Exception as exc:
                    if not is_not_found(exc):
                        raise
        except Exception as exc:
            ctx.diagnostics.add_error(f"deleting S3 Bucket ({bucket}) Object ({key}): {exc}")

    def read(self, ctx: ReadContext, current: State) -> State | None:
        state = complete_state(current)
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
            out[name] = state[name] if sdk_equal(ATTRS[name], state[name], value) else value
        return out

    def import_(self, ctx: ImportContext, id: str) -> State | None:  # noqa: A002 - framework signature
        try:
            bucket, key = parse_import_id(id)
        except ValueError as exc:
            ctx.diagnostics.add_error("Invalid import ID", str(exc))
            return None
        # The id a create would have given it ("<bucket>/<key>"), whichever form was imported.
        state = complete_state({"id": f"{bucket}/{key}", "bucket": bucket, "key": key, "force_destroy": False})
        state["region"] = self.provider.region
        return state

    def upgrade(self, ctx: UpgradeContext, version: int, old: State) -> State | None:
        """Schema version 0 is current; normalise to the schema (drop unknown keys, add missing)."""
        state = complete_state(old or {})
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
        return merged_tags(self.provider, state.get("tags"), state.get("override_provider"))

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
            if (value := given(state, name)) is not None:
                args[param] = value
        if given(state, "bucket_key_enabled"):
            args["BucketKeyEnabled"] = True
        if kms := given(state, "kms_key_id"):
            args["SSEKMSKeyId"] = kms
            args["ServerSideEncryption"] = "aws:kms"
        if sse := given(state, "server_side_encryption"):
            args["ServerSideEncryption"] = sse
        if metadata := given(state, "metadata"):
            args["Metadata"] = dict(metadata)
        if date := given(state, "object_lock_retain_until_date"):
            args["ObjectLockRetainUntilDate"] = parse_rfc3339(date)
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
        body = read_body(state)
        args = self._put_args(state)
        client = self._client(state)
        upload(client, state["bucket"], clean_key(state["key"]), body, args)

    def _read_remote(self, state: Mapping[str, Any]) -> State | None:
        """What Read sets (resourceObjectRead + tagging interceptor), or None when the object is gone."""
        client = self._client(state)
        bucket, key = state["bucket"], clean_key(state["key"])
        head_args: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if given(state, "checksum_algorithm"):
            head_args["ChecksumMode"] = "ENABLED"
        try:
            head = client.head_object(**head_args)
            remote_tags = object_tags(client, bucket, key)
        except Exception as exc:
            if is_not_found(exc):
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
            "object_lock_retain_until_date": format_rfc3339(head.get("ObjectLockRetainUntilDate")),
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
        for name, attr in ATTRS.items():
            if isinstance(attr.type, Map) and planned.get(name) is not Unknown:
                before, after = planned.get(name), state.get(name)
                if (before is None and after == {}) or (before == {} and after is None):
                    state[name] = before
        return complete_state(unknown_as_null(state))
